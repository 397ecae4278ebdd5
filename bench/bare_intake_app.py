"""The ceiling bench/intake_post.py measures intake's POST against: a bare Flask + SQLAlchemy app
that takes the same JSON repair request and inserts one row per POST into a table with intake's
columns, and answers 201 with a tracking code, nothing more (no schema, no rate limit, no outbox,
no broker).

    gunicorn 'bench.bare_intake_app:create_app()'     (BARE_DATABASE_URL names its database)
"""
from __future__ import annotations

import os
import secrets
import uuid
from datetime import datetime, timezone

from flask import Flask, jsonify, request
from sqlalchemy import JSON, Boolean, DateTime, String, Text, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

REQUIRED = ("sop", "requester_name", "requester_email", "requester_unit", "subject", "details")
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class Base(DeclarativeBase):
    pass


class BareRequest(Base):
    __tablename__ = "bare_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tracking_code: Mapped[str] = mapped_column(String(32), unique=True)
    sop: Mapped[str] = mapped_column(String(100), index=True)
    requester_name: Mapped[str] = mapped_column(String(200))
    requester_email: Mapped[str] = mapped_column(String(254))
    requester_phone: Mapped[str | None] = mapped_column(String(40))
    requester_unit: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    details: Mapped[str] = mapped_column(Text)
    form_fields: Mapped[dict] = mapped_column(JSON)
    language: Mapped[str] = mapped_column(String(2))
    consent: Mapped[bool] = mapped_column(Boolean)
    channel: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(20))


def database_url() -> str:
    return os.environ["BARE_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)


def create_table() -> None:
    engine = create_engine(database_url())
    Base.metadata.create_all(engine)
    engine.dispose()


def create_app() -> Flask:
    app = Flask(__name__)
    engine = create_engine(database_url(), pool_size=5, max_overflow=5)
    Session = sessionmaker(engine, expire_on_commit=False)

    @app.post("/intake/requests")
    def submit():
        data = request.get_json(silent=True)
        if not isinstance(data, dict) or any(not data.get(k) for k in REQUIRED) or data.get("consent") is not True:
            return jsonify({"message": "missing fields"}), 422
        now = datetime.now(timezone.utc)
        code = "SD-" + "".join(secrets.choice(ALPHABET) for _ in range(10))
        fields = {k: v for k, v in data.items() if k not in REQUIRED and k != "consent"}
        with Session() as session:
            session.add(BareRequest(
                id=str(uuid.uuid4()), tracking_code=code, sop=data["sop"], requester_name=data["requester_name"],
                requester_email=data["requester_email"], requester_phone=data.get("requester_phone"),
                requester_unit=data["requester_unit"], subject=data["subject"], details=data["details"],
                form_fields=fields, language="th", consent=True, channel="api", received_at=now, created_at=now,
                status="submitted"))
            session.commit()
        return jsonify({"tracking_code": code, "status_url": f"/intake/track/{code}"}), 201

    return app
