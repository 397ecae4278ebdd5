"""The traffic log on the real database and the real command (issue 13, item 4): requests to the
services land in their own logs without credentials, ``sopdesk traffic verify`` passes and then
names the row an UPDATE changed or a DELETE removed, the export writes a period's rows, and the
purge removes the old rows while the chain still verifies."""
from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone

from sqlalchemy import text

from shared import db, traffic_log
from shared.config import get_settings
from sopdesk.cli import main as sopdesk

SECRET = "tracking-secret-0123456789"


def engine(service: str):
    return db.get_engine(service, get_settings().database_url(service))


def rows(service: str) -> list[dict]:
    traffic_log.flush()  # the rows this process's requests handed to their writers
    with engine(service).connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text("SELECT * FROM traffic ORDER BY id"))]


def run(conn_sql: str, service: str = "intake", **params) -> None:
    with engine(service).begin() as conn:
        conn.execute(text(conn_sql), params)


def written_at(service: str, when: datetime, path: str = "/intake/old") -> None:
    traffic_log.record(service, {"at": when, "source": "192.0.2.1", "account": "", "method": "GET", "path": path,
                                 "status": 200, "bytes": 10})


def test_requests_to_two_services_land_in_their_own_logs_without_credentials(client, staff_token):
    client.get(f"/intake/track/SD-NOPE?token={SECRET}&lang=en", headers={"X-Forwarded-For": "203.0.113.7"})
    answer = client.get("/assignment/cases?limit=5", headers={"Authorization": f"Bearer {staff_token}"})
    assert answer.status_code == 200

    intake = rows("intake")
    assert len(intake) == 1
    track = intake[0]
    assert track["path"] == "/intake/track/SD-NOPE?lang=en"
    assert track["method"] == "GET" and track["status"] in (403, 404) and track["account"] == ""
    assert track["source"] == "203.0.113.7"  # as the app sees it behind the proxy (ProxyFix, one hop)
    assert track["bytes"] and track["bytes"] > 0
    assert datetime.now(timezone.utc) - track["at"] < timedelta(minutes=1)

    assignment = [r for r in rows("assignment") if r["path"].startswith("/assignment/cases")]
    assert len(assignment) == 1
    assert assignment[0]["account"] == "tester" and assignment[0]["status"] == 200
    assert assignment[0]["path"] == "/assignment/cases?limit=5"
    assert rows("notify") == [] and rows("procurement") == []  # each service its own log

    everything = repr(intake) + repr(rows("assignment"))
    assert SECRET not in everything and staff_token not in everything and "Bearer" not in everything


def test_a_request_refused_by_the_app_is_logged_with_its_status(client):
    client.post("/intake/requests", data=b"\xff\xfe", headers={"Content-Type": "application/json"})
    (row,) = rows("intake")
    assert row["method"] == "POST" and row["path"] == "/intake/requests" and 400 <= row["status"] < 500


def test_verify_passes_then_names_the_row_an_update_changed_and_the_row_a_delete_removed(client, capsys):
    for n in range(6):
        client.get(f"/intake/nothing-here-{n}")
    assert sopdesk(["traffic", "verify"]) == 0
    out = capsys.readouterr().out
    assert "intake: intact, 6 rows, 1 to 6" in out

    third = next(r for r in rows("intake") if r["seq"] == 3)
    run("UPDATE traffic SET account = 'someone' WHERE seq = 3")
    assert sopdesk(["traffic", "verify", "--service", "intake"]) == 1
    assert f"intake: TAMPERED at row 3 (id {third['id']})" in capsys.readouterr().err

    run("UPDATE traffic SET account = '' WHERE seq = 3")  # as it was
    assert sopdesk(["traffic", "verify", "--service", "intake"]) == 0
    capsys.readouterr()

    run("DELETE FROM traffic WHERE seq = 4")
    assert sopdesk(["traffic", "verify"]) == 1
    err = capsys.readouterr().err
    assert "intake: TAMPERED at row 5" in err and "row 4 removed before it" in err


def test_verify_finds_rows_removed_from_the_end_and_a_row_inserted(client, capsys):
    for n in range(4):
        client.get(f"/intake/nothing-here-{n}")
    assert sopdesk(["traffic", "verify", "--service", "intake"]) == 0
    run("DELETE FROM traffic WHERE seq = 4")
    assert sopdesk(["traffic", "verify", "--service", "intake"]) == 1
    assert "row 4 removed from the end" in capsys.readouterr().err

    run("INSERT INTO traffic (at, source, account, method, path, status, bytes, seq, hash) "
        "SELECT at, source, account, method, path, status, bytes, 4, hash FROM traffic WHERE seq = 3")
    assert sopdesk(["traffic", "verify", "--service", "intake"]) == 1
    assert "TAMPERED at row 4" in capsys.readouterr().err


def test_the_export_writes_the_rows_of_the_period_by_bangkok_days(clean, tmp_path, capsys):
    bangkok = timezone(timedelta(hours=7))
    written_at("intake", datetime(2026, 11, 30, 23, 59, tzinfo=bangkok), "/intake/before")
    written_at("intake", datetime(2026, 12, 1, 0, 0, tzinfo=bangkok), "/intake/first-day")
    written_at("procurement", datetime(2026, 12, 2, 23, 59, 59, tzinfo=bangkok), "/procurement/last-day")
    written_at("intake", datetime(2026, 12, 3, 0, 0, tzinfo=bangkok), "/intake/after")
    out = tmp_path / "traffic.csv"

    assert sopdesk(["traffic", "export", "--since", "2026-12-01", "--until", "2026-12-02", "--out", str(out)]) == 0
    assert "exported 2 requests" in capsys.readouterr().err
    with out.open(encoding="utf-8-sig", newline="") as f:
        exported = list(csv.DictReader(f))
    assert [(r["service"], r["path"]) for r in exported] == [("intake", "/intake/first-day"),
                                                             ("procurement", "/procurement/last-day")]
    assert exported[0]["time"] == "2026-12-01T00:00:00+07:00"
    assert exported[0]["source"] == "192.0.2.1" and exported[0]["status"] == "200" and len(exported[0]["hash"]) == 64


def test_the_purge_removes_rows_past_the_retention_and_the_chain_still_verifies(client, capsys):
    now = datetime.now(timezone.utc)
    for days in (120, 100, 91):
        written_at("intake", now - timedelta(days=days))
    written_at("intake", now - timedelta(days=89))
    client.get("/intake/nothing-here")
    assert get_settings().traffic_log_days == 90

    assert sopdesk(["traffic", "purge", "--service", "intake"]) == 0
    assert "intake: 3 rows older than 90 days purged; the chain starts at 4" in capsys.readouterr().out
    kept = rows("intake")
    assert [r["seq"] for r in kept] == [4, 5] and all(now - r["at"] < timedelta(days=90) for r in kept)
    assert sopdesk(["traffic", "verify", "--service", "intake"]) == 0
    capsys.readouterr()

    run("UPDATE traffic SET status = 200 WHERE seq = 5")
    assert sopdesk(["traffic", "verify", "--service", "intake"]) == 1
    assert "TAMPERED at row 5" in capsys.readouterr().err
    run("DELETE FROM traffic WHERE seq = 4")  # an old-looking row removed as if purged: the start says otherwise
    assert sopdesk(["traffic", "verify", "--service", "intake"]) == 1
    assert "row 4 removed before it" in capsys.readouterr().err


def test_the_beat_links_the_new_rows_every_minute_and_purges_daily():
    from shared.celery_app import celery_config

    schedule = celery_config(get_settings())["beat_schedule"]
    for service in ("intake", "assignment", "notify", "procurement"):
        assert schedule[f"{service}.link_traffic"]["schedule"] == 60
        assert schedule[f"{service}.purge_traffic"]["schedule"] == 24 * 3600
        assert schedule[f"{service}.purge_traffic"]["options"]["queue"] == service


def test_the_purge_task_removes_what_is_past_the_retention(clean):
    from services.notify.entrypoints import tasks  # noqa: F401  (registers notify's tasks)
    from shared.celery_app import celery

    service = "notify"

    written_at(service, datetime.now(timezone.utc) - timedelta(days=95), "/notify/old")
    written_at(service, datetime.now(timezone.utc), "/notify/new")
    celery.tasks[f"{service}.purge_traffic"]()
    assert [r["path"] for r in rows(service)] == ["/notify/new"]
    assert traffic_log.verify(service).broken is None


def test_the_writer_writes_every_row_it_was_given_many_to_a_statement(clean):
    """A request hands its row to its process's writer; the rows of a moment go in one statement,
    every one of them, in the order they were given."""
    given = 2 * traffic_log.Writer.MAX_ROWS + 7  # more than two statements' worth
    start = datetime(2026, 11, 2, 3, 0, tzinfo=timezone.utc)
    writer = traffic_log.writer("intake")
    assert traffic_log.writer("intake") is writer  # one per service and process
    for n in range(given):
        writer.add({"at": start + timedelta(seconds=n), "source": "192.0.2.9", "account": "", "method": "GET",
                    "path": f"/intake/track/{n}", "status": 200, "bytes": n})
    assert traffic_log.flush()
    written = rows("intake")
    assert [row["path"] for row in written] == [f"/intake/track/{n}" for n in range(given)]
    assert [row["bytes"] for row in written] == list(range(given))
    # fewer transactions than rows: each statement wrote many (its rows share its xmin)
    with engine("intake").connect() as conn:
        transactions = conn.execute(text("SELECT count(DISTINCT xmin::text) FROM traffic")).scalar_one()
    assert transactions < given / 10, transactions
