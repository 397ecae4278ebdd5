"""CPU per email of notify's sending (issue 11), measured, not asserted: not a test.

    .venv/bin/python bench/notify_send.py [--emails 500] [--batch 1 5 20] [--sweep]

It creates its own database on the PostgreSQL server (``--admin-url``, else ``BENCH_ADMIN_URL``,
else postgres@127.0.0.1:5432), migrates notify only, starts ``bench/smtp_sink.py`` as its own
process (so the SMTP server's CPU is not counted), writes ``--emails`` "received" deliveries with
the real handlers (one email per ``case.opened`` event, untimed), then sends them the way the
worker does after consuming events: ``send_for_batch(events)`` with ``--batch`` events at a time
(the code before the batch path had ``send_for_event(event)``, one event at a time: it is used
when ``send_for_batch`` does not exist, so the same script measures both). ``--sweep`` also
times ``sweep_deliveries()`` over as many pending deliveries.

For each run it prints this process's CPU (``time.process_time``: the notify worker's share),
the CPU of the PostgreSQL backends serving the measurement database (from /proc, same machine),
both per email, and the wall time. The database is dropped at the end. Other work on the machine
adds noise: compare runs made one after the other.
"""
from __future__ import annotations

import argparse
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the checkout this file is in, before any installed copy


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _backend_ticks(admin, database: str) -> int:
    """utime + stime of every backend connected to ``database``, in clock ticks."""
    total = 0
    for (pid,) in admin.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,)).fetchall():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emails", type=int, default=500)
    parser.add_argument("--batch", type=int, nargs="+", default=[1])
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--admin-url", default=os.environ.get("BENCH_ADMIN_URL")
                        or "postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    import psycopg

    database = f"sopdesk_measure_{uuid.uuid4().hex[:10]}"
    parts = urlsplit(args.admin_url)
    db_url = urlunsplit(parts._replace(path=f"/{database}"))
    tmp = Path(tempfile.mkdtemp(prefix="sopdesk-measure-"))
    port = _free_port()
    os.environ.update({
        "SOPDESK_ENV": "production", "DATABASE_URL": db_url, "REDIS_URL": "redis://127.0.0.1:6379/0",
        "SECRET_KEY": secrets.token_urlsafe(32), "SOPDESK_DATA_DIR": str(tmp / "data"),
        "SOPDESK_PUBLIC_URL": "http://127.0.0.1:8000", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port),
        "SMTP_TIMEOUT": "10", "MAIL_FROM": "sopdesk@test.example",
    })
    admin = psycopg.connect(args.admin_url, autocommit=True)
    admin.execute(f'CREATE DATABASE "{database}"')
    sink_out = tmp / "sink.jsonl"
    sink = subprocess.Popen([sys.executable, str(ROOT / "bench" / "smtp_sink.py"), str(port), str(sink_out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("the SMTP sink did not start")
                time.sleep(0.1)
        return _measure(args, admin, database, sink_out)
    finally:
        sink.terminate()
        sink.wait(10)
        from shared import db

        db.dispose_engines()
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()


def _measure(args, admin, database: str, sink_out: Path) -> int:
    from sqlalchemy import func, select

    from services.notify.adapters.bus import bus
    from services.notify.adapters.models import Delivery
    from services.notify.handlers import emails as handlers
    from services.notify.tests.factory import opened, submitted
    from shared import migrations
    from shared.events import Event

    migrations.upgrade("notify")
    batched = getattr(handlers, "send_for_batch", None)
    print(f"code: {Path(handlers.__file__).resolve()}; "
          f"{'send_for_batch(events)' if batched else 'send_for_event(event), one event at a time'}")

    def write(count: int, tag: str) -> list[Event]:
        """``count`` requesters and their case.opened events, with one received delivery each."""
        events = []
        with bus.unit_of_work() as uow:
            for i in range(count):
                code = f"SD-{tag}-{i:05d}"
                requester = submitted(code, email=f"m{i}.{tag.lower()}@example.org")
                handlers.remember_requester(uow, Event.from_envelope(requester))
                uow.session.flush()
                event = Event.from_envelope(opened(code))
                handlers.write_received(uow, event)
                events.append(event)
            uow.commit()
        return events

    def send(events: list[Event], batch: int) -> None:
        for start in range(0, len(events), batch):
            chunk = events[start:start + batch]
            if batched:
                batched(chunk)
            else:
                for event in chunk:
                    handlers.send_for_event(event)

    def sent_count() -> int:
        with bus.session() as session:
            return session.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == "sent"))

    def timed(label: str, emails: int, run) -> None:
        before_sent = sent_count()
        ticks = os.sysconf("SC_CLK_TCK")
        pg0, cpu0, wall0 = _backend_ticks(admin, database), time.process_time(), time.perf_counter()
        run()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        pg = (_backend_ticks(admin, database) - pg0) / ticks
        done = sent_count() - before_sent
        print(f"{label:<28} {done:>4}/{emails} sent  worker {cpu * 1000 / emails:6.2f} CPU-ms/email  "
              f"postgres {pg * 1000 / emails:5.2f} CPU-ms/email  wall {wall * 1000 / emails:6.2f} ms/email")

    warm = write(args.warmup, "WARM")
    send(warm, 1)  # imports, template compilation, pools: not counted
    for batch in args.batch:
        if batch > 1 and not batched:
            print(f"batch {batch}: no batch path in this code, skipped")
            continue
        events = write(args.emails, f"B{batch:03d}")
        timed(f"after-batch, {batch} event(s)", args.emails, lambda: send(events, batch))
    if args.sweep:
        events = write(args.emails, "SWEEP")

        def sweep_all():
            while handlers.sweep_deliveries():
                pass

        timed("sweep_deliveries()", args.emails, sweep_all)
    caught = sink_out.read_text().splitlines() if sink_out.exists() else []
    print(f"the SMTP sink caught {len(caught)} emails")
    return 0


if __name__ == "__main__":
    sys.exit(main())
