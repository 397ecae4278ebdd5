"""One error family, mapped to HTTP in one place: every kind of refusal has its status in
``shared.web.STATUS_OF``, and any service answers a refusal its view lets through with that status
and the field messages, the same JSON body as every other error answer."""
from __future__ import annotations

import pytest

from shared import errors
from shared.web import STATUS_OF


def _kinds(cls=errors.Refusal):
    for sub in cls.__subclasses__():
        yield sub
        yield from _kinds(sub)


def test_every_kind_of_refusal_has_one_http_status():
    declared = {cls for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, errors.Refusal)}
    for cls in declared | set(_kinds()):
        assert cls.kind in STATUS_OF, f"{cls.__name__} ({cls.kind}) has no HTTP status"
    # the statuses the API documents: a body it cannot read, a person not allowed, nothing there,
    # a state that forbids it now, a value that is wrong
    assert STATUS_OF == {"bad_request": 400, "forbidden": 403, "not_found": 404, "conflict": 409, "invalid": 422}


def test_a_refusal_with_only_a_message_files_it_under_the_whole_request():
    refusal = errors.Conflict("the contract is already signed")
    assert refusal.errors == {"_schema": ["the contract is already signed"]}
    assert refusal.message == "the contract is already signed" == str(refusal)


def test_a_refusal_with_only_field_messages_takes_the_first_as_its_message():
    refusal = errors.Invalid(errors={"due_on": ["before the signing date", "not a working day"],
                                     "amount": ["more than the contract"]})
    assert refusal.message == "before the signing date"
    assert refusal.errors["amount"] == ["more than the contract"]


@pytest.mark.parametrize("cls, status", [(errors.BadRequest, 400), (errors.Forbidden, 403), (errors.NotFound, 404),
                                         (errors.Conflict, 409), (errors.Invalid, 422)])
def test_a_view_that_lets_a_refusal_through_answers_with_its_status_and_fields(cls, status):
    from flask_smorest import Blueprint

    from shared.web import create_service_app

    blp = Blueprint("refusing", __name__, url_prefix="/refusing")

    @blp.route("/")
    def refuse():
        raise cls(errors={"field": ["why, in words"]})

    app = create_service_app("intake", "intake", [blp])
    response = app.test_client().get("/refusing/")
    assert response.status_code == status
    body = response.get_json()
    assert body["code"] == status and body["errors"] == {"field": ["why, in words"]}
    assert body["message"] == "why, in words"
