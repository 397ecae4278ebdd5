"""What intake's tests share: each test's own files folder (so files on disk can be counted),
settings changed for one test, sopdesk's CSRF token taken from a real page, counts of everything
a rejected post must not leave behind, and a case moved along through the real engine."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

import shared.config
from services.intake.adapters.bus import bus
from services.intake.adapters.models import Answer, Attachment, Outbox, Request, SurveyAnswer
from shared.config import get_settings
from sopdesk.testing import drain

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def settings(monkeypatch):
    """Change settings for one test: ``settings(rate_limit="2/minute")``."""

    def change(**changes):
        monkeypatch.setattr(shared.config, "_settings", get_settings().with_changes(**changes))
        return get_settings()

    return change


@pytest.fixture(autouse=True)
def files_dir(tmp_path, settings) -> Path:
    """Every intake test keeps its uploads in its own folder."""
    folder = tmp_path / "files"
    settings(files_dir=folder)
    return folder


def files_on_disk(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def counts() -> dict:
    with bus.session() as session:
        return {name: session.scalar(select(func.count()).select_from(model))
                for name, model in (("requests", Request), ("outbox", Outbox), ("attachments", Attachment),
                                    ("answers", Answer), ("surveys", SurveyAnswer))}


NOTHING = {"requests": 0, "outbox": 0, "attachments": 0, "answers": 0, "surveys": 0}


def csrf_from(client, url: str, headers: dict | None = None) -> str:
    """The CSRF token of a sopdesk page (the test client keeps the session cookie it sets)."""
    page = client.get(url, headers=headers or {})
    assert page.status_code == 200, page.status_code
    match = CSRF.search(page.get_data(as_text=True))
    assert match, "the page has no CSRF token"
    return match.group(1)


def post_json(client, url: str, body, headers: dict | None = None):
    return client.post(url, data=json.dumps(body), headers={"Content-Type": "application/json", **(headers or {})})


def act(client, token: str, code: str, step: str, outcome: str, note: str | None = None, **extra) -> None:
    """A staff action through the assignment API, then every queue worked (the real engine)."""
    body = {"step": step, "outcome": outcome, **extra}
    if note:
        body["note"] = note
    response = post_json(client, f"/assignment/cases/{code}/actions", body, {"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_json()
    drain()
