"""What the traffic log costs a request (issue 13, item 4).

    .venv/bin/python bench/traffic_log.py [--requests 2000] [--admin-url URL] [--keep]

Creates its own database ``sopdesk_bench_traffic`` (dropped first, and at the end unless ``--keep``)
on the server ``--admin-url`` names (default postgres@127.0.0.1:5432), migrates intake, and times:

* ``record``: the row's one INSERT alone (``shared.traffic_log.record``);
* a whole request through intake's app (a 404 page: routing, error handler, headers, no other
  database work) with the traffic hook, then the same app with the hook taken out;
* ``link`` of the rows written, and ``verify`` of the chain.

Last line: ``RESULT record_us=... request_with_us=... request_without_us=... link_rows_per_s=...``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def per_call_us(fn, number: int, repeat: int = 5) -> float:
    return statistics.median(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    import psycopg

    name = "sopdesk_bench_traffic"
    with psycopg.connect(args.admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ.update({"SOPDESK_ENV": "embedded", "DATABASE_URL": args.admin_url.rsplit("/", 1)[0] + f"/{name}",
                       "SOPDESK_DATA_DIR": "/tmp/sopdesk-bench-traffic"})
    try:
        from shared import db, migrations, traffic_log
        from sopdesk.gateway import create_service

        migrations.upgrade("intake")
        row = {"at": db.utcnow(), "source": "127.0.0.1", "account": "", "method": "POST",
               "path": "/intake/requests", "status": 201, "bytes": 412}
        n = args.requests // 5
        record_us = per_call_us(lambda: traffic_log.record("intake", row), n)

        app = create_service("intake")
        client = app.test_client()
        with_us = per_call_us(lambda: client.get("/intake/no-such-page"), n)
        hooks = app.after_request_funcs[None]
        hooks[:] = [f for f in hooks if f.__name__ != "traffic_recorded"]
        without_us = per_call_us(lambda: client.get("/intake/no-such-page"), n)

        started = time.perf_counter()
        linked = traffic_log.link("intake")
        link_s = time.perf_counter() - started
        started = time.perf_counter()
        verdict = traffic_log.verify("intake")
        verify_s = time.perf_counter() - started
        print(f"record (one INSERT): {record_us:.0f} us")
        print(f"a 404 through intake's app: {with_us:.0f} us with the traffic hook, {without_us:.0f} us without")
        print(f"link: {linked:,} rows in {link_s:.2f} s; verify: {verdict.rows:,} rows in {verify_s:.2f} s "
              f"({'intact' if verdict.broken is None else verdict.broken})")
        print(f"RESULT record_us={record_us:.0f} request_with_us={with_us:.0f} request_without_us={without_us:.0f} "
              f"link_rows_per_s={linked / link_s:.0f} verify_rows_per_s={verdict.rows / verify_s:.0f}")
        return 0 if verdict.broken is None else 1
    finally:
        from shared import db

        db.dispose_engines()
        if not args.keep:
            with psycopg.connect(args.admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
