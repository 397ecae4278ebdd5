"""How fast does an asset CSV import? (The issue: 10,000 rows in seconds, with a progress bar.)

    .venv/bin/python bench/asset_import.py [--rows 10000] [--admin-url URL] [--keep]

Creates its own PostgreSQL database (``sopdesk_bench_assets``, dropped first if it exists) on the
server ``DATABASE_URL`` names, or ``--admin-url``, or postgres@127.0.0.1:5432, as the tests do;
builds procurement's schema with the real migrations, registers five vendors, generates ``--rows``
rows (half with Thai Buddhist-era dates, three quarters with a vendor), and times the real
``csvio.import_assets`` (the progress bar of ``sopdesk assets import`` on stderr): validating and
writing separately, then the whole, as rows/s. Then it checks that every row is there, times an
upsert of the same file, a file with three bad rows among the good (rejected whole: nothing may
change) and the export. The database is dropped at the end unless ``--keep``.
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_NAME = "sopdesk_bench_assets"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--admin-url", default=os.environ.get("DATABASE_URL")
                        or "postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a PostgreSQL URL allowed to create databases (default: DATABASE_URL, else localhost)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15",
                        help="only for the settings; the import sends no events")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser.parse_args(argv)


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def generate(rows: int, tax_ids: list[str], bad_lines: tuple[int, ...] = ()) -> bytes:
    from services.procurement.handlers.csvio import COLUMNS

    out = io.StringIO(newline="")
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for i in range(1, rows + 1):
        thai = i % 2 == 0
        price = f"{8000 + (i * 37) % 90000}.{i % 100:02d}"
        cells = [f"7440-{i % 1000:03d}-{i:06d}/2567", ("computer", "notebook", "printer", "projector")[i % 4],
                 f"รุ่น {i % 50}", f"SN{i:08d}", f"อาคาร {i % 5} ห้อง {i % 60}", f"เจ้าหน้าที่ {i % 300}",
                 tax_ids[i % len(tax_ids)] if i % 4 else "",
                 "01/10/2566" if thai else "2023-10-01", price,
                 "30/09/2569" if thai else "2026-09-30", "leased" if i % 10 == 0 else "owned", "in_use"]
        if i + 1 in bad_lines:  # the header is line 1: row i is on line i + 1
            cells[8] = "12,500"  # a thousands separator: not a price
        writer.writerow(cells)
    return out.getvalue().encode("utf-8")


def main(argv=None) -> int:
    args = parse_args(argv)
    admin_url = args.admin_url.replace("postgresql+psycopg://", "postgresql://").replace("postgres://",
                                                                                       "postgresql://")
    url = with_database(admin_url, DB_NAME)
    os.environ.update({
        "SOPDESK_ENV": "production",
        "DATABASE_URL": url,
        "REDIS_URL": args.redis_url,
        "SECRET_KEY": secrets.token_urlsafe(32),
        "SOPDESK_PUBLIC_URL": "http://127.0.0.1:8000",
        "SOPDESK_DATA_DIR": tempfile.mkdtemp(prefix="sopdesk-bench-"),
    })

    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')

    # sopdesk reads its settings now, from the environment set above
    from sqlalchemy import func, select

    from services.procurement.adapters.bus import bus
    from services.procurement.adapters.models import Asset
    from services.procurement.handlers import csvio, vendors
    from services.procurement.handlers.commands import RegisterVendor
    from shared import db, migrations
    from shared.auth import Staff
    from sopdesk.cli import _ProgressBar

    ok = True
    try:
        migrations.upgrade("procurement")
        org = "sesao-sc"  # the register of one organisation, the supplies officer's own
        staff = Staff(user_id="", username="bench", roles=("supplies",), org=org)
        tax_ids = []
        for n in range(5):
            first = f"{105536000100 + n:012d}"
            tax_ids.append(first + str(vendors.tax_id_check_digit(first)))
            vendors.create_vendor(staff, RegisterVendor(name=f"ผู้ขาย {n}", tax_id=tax_ids[-1]))
        data = generate(args.rows, tax_ids)
        print(f"database {DB_NAME}: procurement migrated; {args.rows:,} rows, {len(data) / 1e6:.1f} MB of CSV",
              flush=True)

        marks: dict[str, float] = {}
        bar = _ProgressBar()

        def progress(stage: str, done: int, total: int) -> None:
            marks.setdefault(f"{stage}-start", time.perf_counter())
            if done == total:
                marks[f"{stage}-end"] = time.perf_counter()
            bar(stage, done, total)

        started = time.perf_counter()
        result = csvio.import_assets(data, progress=progress, org=org)
        seconds = time.perf_counter() - started
        with bus.session() as session:
            stored = session.scalar(select(func.count()).select_from(Asset))
        ok &= result.ok and result.created == args.rows and stored == args.rows
        validate_s = marks["validating-end"] - started
        write_s = marks["writing-end"] - marks["writing-start"]
        print(f"create: {args.rows:,} rows in {seconds:.2f} s = {args.rows / seconds:,.0f} rows/s "
              f"(validating {validate_s:.2f} s incl. reading, checking vendors/tags "
              f"{marks['writing-start'] - validate_s - started:.2f} s, writing {write_s:.2f} s); stored {stored:,}",
              flush=True)

        started = time.perf_counter()
        result = csvio.import_assets(data, mode="upsert", progress=bar, org=org)
        upsert_s = time.perf_counter() - started
        ok &= result.ok and result.updated == args.rows
        print(f"upsert: {args.rows:,} rows updated in {upsert_s:.2f} s = {args.rows / upsert_s:,.0f} rows/s",
              flush=True)

        bad = generate(args.rows, tax_ids, bad_lines=(101, args.rows // 2, args.rows))
        started = time.perf_counter()
        result = csvio.import_assets(bad, mode="upsert", progress=bar, org=org)
        bad_s = time.perf_counter() - started
        lines = [r.line for r in result.rejected]
        ok &= lines == [101, args.rows // 2, args.rows]
        print(f"bad file: rejected lines {lines} in {bad_s:.2f} s; nothing written", flush=True)

        started = time.perf_counter()
        text = csvio.export_text(staff, "benchmark")
        export_s = time.perf_counter() - started
        ok &= len(text.splitlines()) == args.rows + 1
        print(f"export: {args.rows:,} rows in {export_s:.2f} s", flush=True)
        print(f"RESULT rows={args.rows} import_s={seconds:.2f} rows_per_s={args.rows / seconds:.0f} "
              f"upsert_s={upsert_s:.2f} bad_file_s={bad_s:.2f} export_s={export_s:.2f} ok={ok}")
    finally:
        db.dispose_engines()
        if not args.keep:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
