"""The access log as a privacy officer reads it: who read whose personal data, when, from where
and why, in every service (``GET /<service>/access-log``, as JSON or CSV), their organisation's
only; and the same for all four services at once from the command line, which logs its own
read. Lists and commands are reads too."""
from __future__ import annotations

import csv
import io

from sopdesk.cli import main
from sopdesk.testing import make_staff
from tests.test_walls import HOME, OTHER, PDF, build_world


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def test_a_privacy_officer_reads_who_read_their_organisation_s_data_and_from_where(client):
    world = build_world(client)
    code, file_id = world.values["code"], world.values["file_id"]
    _, head = make_staff("reader-head", ["head"], HOME)
    _, root = make_staff("root", ["sysadmin"], None)
    _, outsider = make_staff("up-admin", ["admin"], OTHER)
    _, privacy = make_staff("onesqa-privacy", ["privacy-officer"], HOME)
    _, up_privacy = make_staff("up-privacy", ["privacy-officer"], OTHER)
    _, officer = make_staff("onesqa-officer-x", ["officer"], HOME)

    # reads: the system administrator reads the case and its file, lists the cases; someone of
    # another organisation is turned away (nothing to log: they read nothing)
    at_desk = {"REMOTE_ADDR": "192.0.2.7"}  # the reader's address, as the server sees it
    assert client.get(f"/assignment/cases/{code}", headers=bearer(root), environ_base=at_desk).status_code == 200
    assert client.get(f"/intake/requests/{code}/files/{file_id}", headers=bearer(root), environ_base=at_desk).data == PDF
    assert code in client.get("/assignment/cases", headers=bearer(root), environ_base=at_desk).get_data(as_text=True)
    assert client.get(f"/assignment/cases/{code}", headers=bearer(outsider)).status_code == 404

    # the organisation's privacy officer sees those reads, with where they came from; another
    # organisation's privacy officer sees none of them; an officer may not read the log at all
    rows = client.get(f"/assignment/access-log?actor=root&record_id={code}", headers=bearer(privacy)).get_json()
    assert [(r["actor"], r["record"], r["record_id"], r["org"], r["address"]) for r in rows] == [
        ("root", "case", code, HOME, "192.0.2.7"), ("root", "case", code, HOME, "192.0.2.7")]
    assert {r["purpose"] for r in rows} == {"staff list of cases", "staff read of a case"}
    [download] = client.get("/intake/access-log?actor=root", headers=bearer(privacy)).get_json()
    assert (download["record"], download["record_id"], download["org"]) == ("attachment", file_id, HOME)
    assert client.get("/assignment/access-log?actor=up-admin", headers=bearer(privacy)).get_json() == []
    for service in ("intake", "assignment", "notify"):
        seen = client.get(f"/{service}/access-log", headers=bearer(up_privacy)).get_data(as_text=True)
        assert code not in seen and file_id not in seen, service
    assert client.get("/assignment/access-log", headers=bearer(officer)).status_code == 403
    assert client.get("/assignment/access-log", headers=bearer(head)).status_code == 403

    # filtered by record, and as a CSV file Excel opens in Thai
    answer = client.get(f"/assignment/access-log?record_id={code}&format=csv", headers=bearer(privacy))
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    text = answer.get_data(as_text=True)
    assert text.startswith("\ufeff")
    table = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert {(r["actor"], r["record_id"]) for r in table} >= {("root", code)}
    assert all(r["record_id"] == code for r in table) and all(r["at"].endswith("+07:00") for r in table)

    # reading the log is itself a logged read
    reads = client.get("/assignment/access-log?record=access_log", headers=bearer(privacy)).get_json()
    assert {r["actor"] for r in reads} == {"onesqa-privacy"} and len(reads) >= 3


def test_the_command_line_exports_every_service_s_reads_and_logs_its_own(client, tmp_path, capsys):
    world = build_world(client)
    code, file_id = world.values["code"], world.values["file_id"]
    _, admin = make_staff("onesqa-admin", ["admin"], HOME)
    assert client.get(f"/assignment/cases/{code}", headers=bearer(admin)).status_code == 200
    assert client.get(f"/intake/requests/{code}/files/{file_id}", headers=bearer(admin)).data == PDF

    out = tmp_path / "reads.csv"
    assert main(["access-log", "export", "--org", HOME, "--out", str(out)]) == 0
    table = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8").lstrip("\ufeff"))))
    mine = {(r["service"], r["record"], r["record_id"]) for r in table if r["actor"] == "onesqa-admin"}
    assert mine == {("assignment", "case", code), ("intake", "attachment", file_id)}
    assert all(r["org"] == HOME for r in table)
    assert main(["access-log", "export", "--org", OTHER, "--out", str(out)]) == 0
    assert code not in out.read_text(encoding="utf-8")

    # each service's log says the command read it, from the command line
    _, privacy = make_staff("onesqa-privacy", ["privacy-officer"], HOME)
    rows = client.get("/intake/access-log?record=access_log", headers=bearer(privacy)).get_json()
    exported = [r for r in rows if r["actor"].startswith("cli:")]
    assert exported and exported[0]["address"] == "command line" and "access-log export" in exported[0]["purpose"]
    assert main(["access-log", "export", "--since", "2569-13-01"]) == 2
    assert "--since" in capsys.readouterr().err
