"""Asset CSV files on real PostgreSQL: a large file imports whole; a file with bad rows reports
exactly those rows (by line) and imports nothing; create and upsert; export and import back;
the command line (with its progress bar) and the HTTP import and export."""
from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from services.procurement.adapters.bus import bus
from services.procurement.adapters.models import AccessLog, Asset, Vendor
from services.procurement.handlers import csvio, vendors
from services.procurement.handlers.commands import RegisterVendor
from services.procurement.tests.test_vendors import people, tax_id  # noqa: F401  (fixture)
from shared.auth import Staff

ROOT = Path(__file__).resolve().parents[3]
ORG = "sesao-sc"  # the organisation whose register the files go into
SUPPLIES = Staff(user_id="", username="sup-test", roles=("supplies",), org=ORG)
HEADER = list(csvio.COLUMNS)


@pytest.fixture
def two_vendors(clean) -> list[str]:
    ids = [tax_id(101), tax_id(202)]
    for n, tid in enumerate(ids):
        vendors.create_vendor(SUPPLIES, RegisterVendor(name=f"ผู้ขาย {n}", tax_id=tid))
    return ids


def row(i: int, vendor: str = "", **changes) -> dict:
    """Row ``i``: Thai Buddhist-era dates on even rows, ISO on odd rows (the same days)."""
    thai = i % 2 == 0
    values = {"tag": f"7440-001-{i:05d}/2566", "kind": "computer" if i % 3 else "printer",
              "model": f"รุ่น {i % 7}", "serial": f"SN{i:06d}", "location": f"ห้อง {i % 40}",
              "holder": f"เจ้าหน้าที่ {i}", "vendor_tax_id": vendor,
              "acquired_on": "15/03/2566" if thai else "2023-03-15",
              "price": f"{10000 + i}.50", "warranty_ends_on": "14/03/2569" if thai else "2026-03-14",
              "ownership": "leased" if i % 5 == 0 else "owned", "status": "in_use"}
    values.update(changes)
    return values


def to_csv(rows: list[dict], header: list[str] = HEADER, bom: bool = True) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + out.getvalue()).encode("utf-8")


def asset_count() -> int:
    with bus.session() as session:
        return session.scalar(select(func.count()).select_from(Asset))


def test_two_thousand_rows_import_whole(two_vendors):
    rows = [row(i, two_vendors[i % 2] if i % 4 else "") for i in range(1, 2001)]
    seen: list[tuple[str, int, int]] = []
    result = csvio.import_assets(to_csv(rows), org=ORG,
                                 progress=lambda stage, done, total: seen.append((stage, done, total)))
    assert result.ok, [r.text() for r in result.rejected[:5]]
    assert (result.rows, result.created, result.updated) == (2000, 2000, 0)
    assert asset_count() == 2000
    # progress went through both stages to the end
    assert ("validating", 2000, 2000) in seen and ("writing", 2000, 2000) in seen
    validating = [done for stage, done, _ in seen if stage == "validating"]
    assert validating == sorted(validating) and len(validating) > 10
    with bus.session() as session:
        by_tag = {a.tag: a for a in session.scalars(select(Asset))}
        vendor_ids = dict(session.execute(select(Vendor.tax_id, Vendor.id)).all())
    for i in (1, 2, 4, 5, 1999, 2000):  # Thai and ISO dates are the same days
        asset = by_tag[f"7440-001-{i:05d}/2566"]
        assert (asset.acquired_on, asset.warranty_ends_on) == (date(2023, 3, 15), date(2026, 3, 14))
        assert asset.price == Decimal(f"{10000 + i}.50") and asset.holder == f"เจ้าหน้าที่ {i}"
        assert asset.vendor_id == (vendor_ids[two_vendors[i % 2]] if i % 4 else None)
        assert asset.ownership == ("leased" if i % 5 == 0 else "owned") and asset.status == "in_use"


def test_bad_rows_are_each_reported_and_nothing_is_imported(two_vendors):
    rows = [row(i, two_vendors[0]) for i in range(1, 51)]
    rows[9]["price"] = "12,500"  # line 11: a thousands separator
    rows[19]["vendor_tax_id"] = tax_id(303)  # line 21: a valid tax id of no registered vendor
    rows[29]["tag"] = rows[2]["tag"]  # line 31: the tag of line 4 again
    data = to_csv(rows)
    result = csvio.import_assets(data, org=ORG)
    assert not result.ok and result.rows == 50
    assert [(r.line, r.tag, sorted(r.errors)) for r in result.rejected] == [
        (11, rows[9]["tag"], ["price"]), (21, rows[19]["tag"], ["vendor_tax_id"]), (31, rows[2]["tag"], ["tag"])]
    assert "line 4" in result.rejected[2].errors["tag"][0]
    assert asset_count() == 0

    # one record over several lines (a quoted cell with a line break): line numbers stay the file's
    rows = [row(1, model="รุ่น\nสองบรรทัด"), row(2), row(3, acquired_on="31/02/2566", ownership="rented")]
    result = csvio.import_assets(to_csv(rows), org=ORG)
    [bad] = result.rejected
    assert (bad.line, sorted(bad.errors)) == (5, ["acquired_on", "ownership"])
    # a short tag-less row, an unknown status, a row with a cell too many
    text = to_csv([row(1)]).decode("utf-8") + ",computer\r\n" + ",".join(row(3, status="lost").values()) + "\r\n" \
        + ",".join(row(4).values()) + ",extra\r\n"
    result = csvio.import_assets(text.encode("utf-8"), org=ORG)
    assert [(r.line, sorted(r.errors)) for r in result.rejected] == [(3, ["tag"]), (4, ["status"]), (5, ["_schema"])]
    assert asset_count() == 0


def test_file_level_problems():
    for data, word in ((b"", "empty"), (to_csv([row(1)], header=HEADER + ["colour"]), "colour"),
                       (to_csv([row(1)], header=["kind", "model"]), "tag"),
                       ("tag,kind\nPC-1,เครื่องพิมพ์\n".encode("cp874"), "UTF-8")):
        result = csvio.import_assets(data, org=ORG)
        [problem] = result.rejected
        assert problem.line == 1 and word in problem.text(), problem.text()
    assert asset_count() == 0


def test_create_then_upsert(two_vendors):
    assert csvio.import_assets(to_csv([row(i) for i in range(1, 6)]), org=ORG).ok
    # create again: every row's tag is registered already
    again = csvio.import_assets(to_csv([row(i) for i in range(1, 6)]), org=ORG)
    assert [r.line for r in again.rejected] == [2, 3, 4, 5, 6]
    assert all("upsert" in r.errors["tag"][0] for r in again.rejected)
    # upsert the columns the file has: a new location, a vendor, a new asset; the holder is kept
    changed = [row(i, vendor=two_vendors[1], location="คลังพัสดุ") for i in (2, 3)] + [row(9)]
    result = csvio.import_assets(to_csv(changed, header=["tag", "kind", "location", "vendor_tax_id"]),
                                 mode="upsert", org=ORG)
    assert result.ok and (result.created, result.updated) == (1, 2)
    with bus.session() as session:
        by_tag = {a.tag: a for a in session.scalars(select(Asset))}
        vendor_id = session.scalar(select(Vendor.id).where(Vendor.tax_id == two_vendors[1]))
    two = by_tag[row(2)["tag"]]
    assert (two.location, two.vendor_id, two.holder, two.price) == ("คลังพัสดุ", vendor_id, "เจ้าหน้าที่ 2",
                                                                   Decimal("10002.50"))
    assert by_tag[row(1)["tag"]].location == row(1)["location"]
    assert by_tag[row(9)["tag"]].holder == "" and len(by_tag) == 6


def test_export_imports_back_the_same(two_vendors):
    rows = [row(i, two_vendors[i % 2] if i % 3 else "", price="" if i == 4 else row(i)["price"],
                warranty_ends_on="" if i == 5 else row(i)["warranty_ends_on"],
                status="retired" if i == 6 else "in_use") for i in range(1, 41)]
    assert csvio.import_assets(to_csv(rows), org=ORG).ok
    exported = csvio.export_text(SUPPLIES)
    assert exported.startswith("\ufeff" + ",".join(HEADER) + "\r\n")
    parsed = list(csv.DictReader(io.StringIO(exported.removeprefix("\ufeff"))))
    assert len(parsed) == 40
    first = next(p for p in parsed if p["tag"] == row(2)["tag"])
    assert (first["acquired_on"], first["warranty_ends_on"], first["price"]) == ("2023-03-15", "2026-03-14",
                                                                              "10002.50")
    with bus.session() as session:
        assert session.scalar(select(func.count()).select_from(AccessLog).where(
            AccessLog.record == "asset_register")) == 1  # the export showed holders: logged
        session.execute(delete(Asset))
        session.commit()
    assert csvio.import_assets(exported.encode("utf-8"), org=ORG).ok
    assert csvio.export_text(SUPPLIES) == exported


def _sopdesk(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sopdesk.cli", *args], cwd=ROOT, env=dict(os.environ),
                          capture_output=True, text=True, timeout=300)


def test_command_line_import_with_progress_and_report(two_vendors, tmp_path):
    good = tmp_path / "assets.csv"
    good.write_bytes(to_csv([row(i, two_vendors[0]) for i in range(1, 1201)]))
    done = _sopdesk("assets", "import", str(good), "--org", ORG)
    assert done.returncode == 0, done.stderr
    assert "1,200 rows" in done.stdout and "1,200 created" in done.stdout
    progress = done.stderr.splitlines()
    assert any(line.startswith("validating") and "100%" in line and "1,200/1,200" in line for line in progress)
    assert any(line.startswith("validating") and " 50%" in line for line in progress)
    assert any(line.startswith("writing") and "100%" in line for line in progress)
    assert asset_count() == 1200

    bad = tmp_path / "bad.csv"
    bad.write_bytes(to_csv([row(i) for i in range(2001, 2011)] + [row(2011, price="abc"), row(2012, status="x")]))
    failed = _sopdesk("assets", "import", str(bad), "--org", ORG)
    assert failed.returncode == 1
    assert [line.split(" ")[1] for line in failed.stdout.splitlines()] == ["12", "13"]
    assert "nothing imported" in failed.stderr and "2 of 12 rows rejected" in failed.stderr
    report = tmp_path / "report.txt"
    failed = _sopdesk("assets", "import", str(bad), "--org", ORG, "--report", str(report), "--quiet")
    assert failed.returncode == 1 and failed.stdout == "" and "validating" not in failed.stderr
    assert report.read_text(encoding="utf-8").splitlines()[0].startswith("line 12 (7440-001-02011/2566): price:")
    assert asset_count() == 1200

    # upsert through the command line; then the export writes them all
    upsert = tmp_path / "upsert.csv"
    upsert.write_bytes(to_csv([row(1, location="ห้องใหม่")], header=["tag", "kind", "location"], bom=False))
    assert _sopdesk("assets", "import", str(upsert), "--org", ORG, "--mode", "upsert").returncode == 0
    out = tmp_path / "export.csv"
    exported = _sopdesk("assets", "export", str(out))
    assert exported.returncode == 0 and "1,200 assets" in exported.stdout
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == ",".join(HEADER) and len(lines) == 1201
    assert any(line.startswith(row(1)["tag"] + ",computer,") and ",ห้องใหม่," in line for line in lines)
    missing = _sopdesk("assets", "import", str(tmp_path / "nope.csv"), "--org", ORG)
    assert missing.returncode == 2


def test_http_import_and_export(client, people, two_vendors):
    headers = people.headers("sup")
    data = to_csv([row(i, two_vendors[1]) for i in range(1, 31)])
    response = client.post("/procurement/assets/import", headers=headers,
                           data={"file": (io.BytesIO(data), "assets.csv", "text/csv"), "mode": "create"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"mode": "create", "rows": 30, "created": 30, "updated": 0}

    bad = to_csv([row(i) for i in range(31, 36)] + [row(36, warranty_ends_on="2569/11/18")])
    response = client.post("/procurement/assets/import", headers={**headers, "Accept-Language": "en"},
                           data={"file": (io.BytesIO(bad), "bad.csv", "text/csv")})
    body = response.get_json()
    assert response.status_code == 422 and body["message"] == "Nothing was imported: 1 rows are wrong."
    assert body["rejected"] == [{"line": 7, "tag": row(36)["tag"], "errors": {"warranty_ends_on": [
        "not a date: write 2026-11-18 or 18/11/2569 (Buddhist era)"]}}]
    response = client.post("/procurement/assets/import", headers=headers, data={"mode": "create"})
    assert response.status_code == 422 and "file" in response.get_json()["errors"]
    response = client.post("/procurement/assets/import", headers=headers,
                           data={"file": (io.BytesIO(data), "a.csv"), "mode": "replace"})
    assert response.status_code == 422 and "mode" in response.get_json()["errors"]
    response = client.post("/procurement/assets/import", headers=people.headers("off"),
                           data={"file": (io.BytesIO(bad), "bad.csv")})
    assert response.status_code == 403
    assert asset_count() == 30

    response = client.get("/procurement/assets/export.csv", headers=people.headers("boss"))
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data().decode("utf-8")
    assert text.startswith("\ufeff" + ",".join(HEADER)) and len(text.splitlines()) == 31
    assert client.get("/procurement/assets/export.csv", headers=people.headers("clerk")).status_code == 403
    spec = client.get("/procurement/openapi.json").get_json()
    assert {"/procurement/assets/import", "/procurement/assets/{tag}/loans", "/procurement/vendors/{vendor_id}",
            "/procurement/claims"} <= set(spec["paths"])
