"""Signed-cookie sessions with the serializer kept (``shared.web.SessionInterface``)."""
from flask import Flask, session

from shared.web import SessionInterface


def _app(key: str) -> Flask:
    app = Flask(__name__)
    app.secret_key = key
    app.session_interface = SessionInterface()

    @app.post("/in")
    def sign_in():
        session["who"] = "staff"
        return ""

    @app.get("/who")
    def who():
        return session.get("who", "nobody")

    return app


def test_the_serializer_is_made_once_per_key_and_anew_when_the_key_changes():
    app = _app("the first key")
    client = app.test_client()
    client.post("/in")
    assert client.get("/who").text == "staff"
    made = app.session_interface.get_signing_serializer(app)
    assert app.session_interface.get_signing_serializer(app) is made
    app.secret_key = "the second key"  # rotated: a cookie signed with the first no longer opens
    assert client.get("/who").text == "nobody"
    app.config["SECRET_KEY_FALLBACKS"] = ["the first key"]  # unless the first is kept as a fallback
    assert client.get("/who").text == "staff"
    assert app.session_interface.get_signing_serializer(app) is not made
