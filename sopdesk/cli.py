"""The ``sopdesk`` command: the embedded default, migrations, accounts, workers, dead letters."""
from __future__ import annotations

import argparse
import json
import sys

from shared.config import SERVICES


def _cmd_up(args) -> int:
    from sopdesk.embedded import run_embedded

    try:
        return run_embedded()
    except KeyboardInterrupt:  # Ctrl-C before anything started: nothing to stop, nothing to show
        return 130


def _cmd_migrate(args) -> int:
    from shared import migrations

    services = args.service or SERVICES
    for service in services:
        migrations.upgrade(service)
        print(f"{service}: at {migrations.current(service)}")
    if "assignment" in services and not args.no_packs:
        # the packs shipped with this release; one already loaded is left as it is
        from services.assignment.adapters.packstore import load_builtin_packs

        for result in load_builtin_packs():
            print(f"pack {result}")
    return 0


def _cmd_revision(args) -> int:
    from shared import migrations

    migrations.revision(args.service, args.message, autogenerate=not args.empty)
    return 0


def _cmd_users_add(args) -> int:
    from services.assignment.handlers.directory import DirectoryError, add_user

    try:
        user = add_user(args.username, args.password, args.role, display_name=args.name or "", email=args.email,
                        unit=args.unit, language=args.language)
    except DirectoryError as exc:
        print(f"sopdesk users add: {exc}", file=sys.stderr)
        return 2
    print(f"added {user.username} ({', '.join(user.role_names)})")
    return 0


def _cmd_users_move(args) -> int:
    from services.assignment.handlers.directory import DirectoryError, move_user

    try:
        staff = move_user(args.username, args.unit)
    except DirectoryError as exc:
        print(f"sopdesk users move: {exc}", file=sys.stderr)
        return 2
    print(f"{staff.username}: unit {staff.unit} of {staff.org}")
    return 0


def _cmd_users_announce(args) -> int:
    from services.assignment.handlers.directory import announce_all

    print(f"announced {announce_all()} staff accounts (staff.person_changed)")
    return 0


def _cmd_worker(args) -> int:
    queues = ",".join(args.queues or SERVICES)
    argv = ["worker", "-Q", queues, "--loglevel", args.loglevel, "--concurrency", str(args.concurrency),
            "--pool", args.pool, "--without-gossip", "--without-mingle"]
    if args.hostname:
        argv += ["--hostname", args.hostname]
    # the worker's own exit status: a node that stopped on an unrecoverable error (kombu once
    # fell over closing a connection to a restarted Redis) exits 1, so that a supervisor that
    # restarts on failure (systemd's Restart=on-failure) starts it again; worker_main returned 0
    return _celery_command(argv)


def _cmd_beat(args) -> int:
    argv = ["beat", "--loglevel", args.loglevel]
    if args.schedule:
        argv += ["--schedule", args.schedule]
    return _celery_command(argv)


def _celery_command(argv: list[str]) -> int:
    """Run a celery command and return its exit status. ``Celery.start`` drops it: click's main,
    run with standalone_mode=False, returns the status of ``ctx.exit(code)`` instead of raising."""
    from celery.bin.celery import celery as command
    from click.exceptions import Exit

    from sopdesk.worker import celery

    command.params[0].default = celery
    try:
        code = command.main(args=argv, standalone_mode=False)
    except Exit as exc:
        code = exc.exit_code
    finally:
        command.params[0].default = None
    return code if isinstance(code, int) else 0


def _bus(service: str):
    import importlib

    return importlib.import_module(f"services.{service}.adapters.bus").bus


def _models(service: str):
    import importlib

    return importlib.import_module(f"services.{service}.adapters.models")


def _cmd_dead_list(args) -> int:
    from shared.audit import command_line_reader, log_access

    rows = []
    for service in args.service or SERVICES:
        letters = _bus(service).dead_letters(include_replayed=args.all)
        if letters:  # their errors may name people (an address refused): a read of personal data
            with _bus(service).session() as session:
                log_access(session, _models(service).AccessLog, command_line_reader(), "dead_letter",
                           [letter.id for letter in letters], "sopdesk dead-letters list")
                session.commit()
        for letter in letters:
            rows.append({"service": service, "id": letter.id, "task": letter.task, "event_id": letter.event_id,
                         "event_type": letter.event_type, "attempts": letter.attempts,
                         "created_at": letter.created_at.isoformat(),
                         "replayed_at": letter.replayed_at.isoformat() if letter.replayed_at else None,
                         "error": letter.error})
    print(json.dumps(rows, ensure_ascii=False, indent=2))
    return 0


def _cmd_access_log_export(args) -> int:
    """Every service's access log for a period (``--org`` one organisation's), newest first, as
    one CSV file; the read is logged in each service."""
    from datetime import date

    from shared.access_log import as_dicts, rows_for, to_csv
    from shared.audit import command_line_reader, log_access
    from shared.auth import Staff

    try:
        since = date.fromisoformat(args.since) if args.since else None
        until = date.fromisoformat(args.until) if args.until else None
    except ValueError as exc:
        print(f"sopdesk access-log export: --since/--until: {exc} (YYYY-MM-DD)", file=sys.stderr)
        return 2
    reader = command_line_reader()
    # whoever runs commands on the server reads every organisation's (as a system administrator),
    # or one organisation's
    scope = Staff(user_id="", username=reader.username, roles=("sysadmin",) if not args.org else ("privacy-officer",),
                  org=args.org)
    entries = []
    for service in SERVICES:
        model = _models(service).AccessLog
        with _bus(service).session() as session:
            found = as_dicts(service, rows_for(session, model, scope, since=since, until=until, actor=args.actor,
                                               record_id=args.record_id, limit=10_000_000))
            log_access(session, model, reader, "access_log", "export",
                       f"sopdesk access-log export {args.since or ''}..{args.until or ''} {args.org or 'all'}",
                       org=args.org)
            session.commit()
        entries.extend(found)
    entries.sort(key=lambda e: e["at"], reverse=True)
    text = to_csv(entries)
    if args.out:
        with open(args.out, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        print(f"{len(entries)} reads written to {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def _cmd_dead_replay(args) -> int:
    try:
        _bus(args.service).replay_dead_letter(args.id)
    except (LookupError, ValueError) as exc:
        print(f"sopdesk dead-letters replay: {exc}", file=sys.stderr)
        return 2
    print(f"replayed {args.id}")
    return 0


def _cmd_doctor(args) -> int:
    """What each service's events still owe to each subscriber, and for how long. Exits 1 when
    anything has been owed longer than the delivery promise (a subscriber down, failing, or far
    behind), 2 when a service's database cannot be read."""
    from shared.config import get_settings

    settings = get_settings()
    promise = settings.delivery_promise_seconds
    older_than = promise if args.older_than is None else args.older_than
    report, late, unreadable = [], 0, 0
    for service in args.service or SERVICES:
        bus = _bus(service)
        try:
            bus.absorb_confirmations()  # count only what is really still owed
            owed = bus.owed(older_than_seconds=older_than, limit=args.limit)
            dead = len(bus.dead_letters())
        except Exception as exc:
            unreadable += 1
            report.append({"service": service, "error": f"{type(exc).__name__}: {exc}"})
            continue
        late += sum(1 for e in owed.events if e.age_seconds > promise)
        report.append({
            "service": service,
            "owed": {name: {"count": s.count, "oldest_seconds": round(s.oldest_seconds, 1)}
                     for name, s in sorted(owed.by_subscriber.items())},
            "dead_letters": dead,
            "events": [{"subscriber": e.subscriber, "event_id": e.event_id, "type": e.type,
                        "tracking_code": e.correlation_id, "age_seconds": round(e.age_seconds, 1),
                        "sends": e.sends} for e in owed.events],
        })
    if args.json:
        print(json.dumps({"promise_seconds": promise, "late": late, "services": report},
                         ensure_ascii=False, indent=2))
    else:
        print(f"delivery promise: {promise:g} s (redelivery after {settings.redeliver_seconds} s, "
              f"sweeps every {settings.sweep_seconds} s); listing what is owed for over {older_than:g} s")
        for entry in report:
            if "error" in entry:
                print(f"{entry['service']}: cannot read ({entry['error']})")
                continue
            owed = ", ".join(f"{name} {o['count']} (oldest {o['oldest_seconds']:g} s)"
                             for name, o in entry["owed"].items()) or "nothing"
            print(f"{entry['service']}: owes {owed}; {entry['dead_letters']} dead letters")
            for e in entry["events"]:
                print(f"  {e['age_seconds']:>9.1f} s  to {e['subscriber']:<12} {e['type']:<32} "
                      f"{e['tracking_code'] or '-':<16} sent {e['sends']}x  {e['event_id']}")
        print("late: " + (f"{late} events owed longer than the promise" if late else "none"))
    if unreadable:
        return 2
    return 1 if late else 0


def _cmd_events_catalogue(args) -> int:
    """The event catalogue as Markdown (``docs/events.md`` is this, committed), to standard output
    or ``--out``."""
    from shared.event_catalogue import render_markdown

    text = render_markdown()
    if args.out:
        with open(args.out, "w", encoding="utf-8") as out:
            out.write(text)
    else:
        sys.stdout.write(text)
    return 0


def _cmd_packs_check(args) -> int:
    from shared.packs import PackError, load_pack

    failed = 0
    for path in args.files:
        try:
            pack = load_pack(path)
        except (PackError, OSError) as exc:
            print(f"{exc}", file=sys.stderr)
            failed += 1
            continue
        print(f"{path}: pack {pack.key} v{pack.version}, {len(pack.sops)} SOPs, valid")
    return 1 if failed else 0


def _cmd_packs_load(args) -> int:
    from services.assignment.adapters.packstore import load_pack_file
    from shared.packs import PackError

    failed = 0
    for path in args.files:
        try:
            print(load_pack_file(path, loaded_by="sopdesk packs load"))
        except PackError as exc:
            print(f"{exc}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


def _cmd_units_add(args) -> int:
    from services.assignment.handlers.directory import DirectoryError, add_unit

    try:
        unit = add_unit(args.key, args.pack, args.name, args.name_en or "")
    except DirectoryError as exc:
        print(f"sopdesk units add: {exc}", file=sys.stderr)
        return 2
    print(f"unit {unit.key} ({unit.pack})")
    return 0


def _cmd_delegate(args) -> int:
    from datetime import date

    from services.assignment.handlers.directory import DirectoryError, delegate

    try:
        row = delegate(args.away, args.to, date.fromisoformat(args.starts), date.fromisoformat(args.ends),
                       created_by="sopdesk users delegate", note=args.note or "")
    except (DirectoryError, ValueError) as exc:
        print(f"sopdesk users delegate: {exc}", file=sys.stderr)
        return 2
    print(f"{args.to} acts for {args.away} from {row.starts_on} to {row.ends_on}")
    return 0


def _cmd_holidays(args) -> int:
    from services.assignment.handlers import calendar_admin

    try:
        if args.holidays_command == "list":
            for day, name, source in calendar_admin.year(args.year):
                print(f"{day.isoformat()}  {source:8}  {name}")
        else:
            print(calendar_admin.change(args.holidays_command, args.day, args.name or "", "sopdesk holidays"))
    except ValueError as exc:
        print(f"sopdesk holidays: {exc}", file=sys.stderr)
        return 2
    return 0


class _ProgressBar:
    """A progress bar on stderr for long commands: redrawn in place on a terminal; on a pipe or a
    log, a line every tenth of the way (so a log shows that it moved, without a flood)."""

    def __init__(self, stream=None, width: int = 30) -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.stage: str | None = None
        self.shown = -1

    def __call__(self, stage: str, done: int, total: int) -> None:
        percent = 100 if not total else int(done * 100 / total)
        step = 1 if self.tty else 10
        if stage == self.stage and (percent // step == self.shown // step) and done != total:
            return
        if stage != self.stage and self.stage is not None and self.tty:
            self.stream.write("\n")
        self.stage, self.shown = stage, percent
        filled = percent * self.width // 100
        text = f"{stage:<10} [{'#' * filled}{'.' * (self.width - filled)}] {percent:3d}% {done:,}/{total:,}"
        if self.tty:
            self.stream.write("\r" + text + ("\n" if done == total and stage == "writing" else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


def _cli_staff(command: str):
    from shared.auth import Staff

    return Staff(user_id="", username=f"sopdesk {command}", roles=("operator",))


def _cmd_privacy_export(args) -> int:
    from pathlib import Path

    from sopdesk.privacy import export

    if not (args.email or args.phone):
        print("sopdesk privacy export: --email or --phone is needed", file=sys.stderr)
        return 2
    done = export(args.email, args.phone, args.org)
    Path(args.out).write_bytes(done.content)
    print(f"{len(done.tracking_codes)} requests ({', '.join(done.tracking_codes) or 'none'}) written to {args.out}")
    return 0


def _cmd_privacy_erase(args) -> int:
    from services.intake.handlers.erasure import request_erasure

    if not (args.email or args.phone):
        print("sopdesk privacy erase: --email or --phone is needed", file=sys.stderr)
        return 2
    erasure = request_erasure(args.email, args.phone, args.org, "sopdesk privacy erase")
    if erasure is None:
        print("no request of that person: nothing to erase")
        return 1
    print(f"erasure {erasure.id}: {len(erasure.tracking_codes)} requests ({', '.join(erasure.tracking_codes)}); "
          f"intake erased, waiting on {', '.join(erasure.waiting_on)}; due {erasure.due_on.isoformat()}")
    return 0


def _cmd_privacy_requests(args) -> int:
    from services.intake.handlers.erasure import erasures

    for e in erasures(args.org):
        state = f"done {e.completed_at.isoformat()}" if e.completed_at else f"waiting on {', '.join(e.waiting_on)}"
        print(f"{e.id}  {e.reason:9}  {e.requested_at.isoformat()}  due {e.due_on.isoformat()}  "
              f"{len(e.tracking_codes)} cases  {state}")
    return 0


def _cmd_privacy_retention(args) -> int:
    from services.intake.handlers.erasure import erase_past_retention

    erasure = erase_past_retention()
    print(f"erasure {erasure.id}: {len(erasure.tracking_codes)} cases past retention" if erasure
          else "no case past retention")
    return 0


def _cmd_assets_import(args) -> int:
    from services.procurement.handlers import csvio

    try:
        with open(args.file, "rb") as source:
            data = source.read()
    except OSError as exc:
        print(f"sopdesk assets import: {exc}", file=sys.stderr)
        return 2
    result = csvio.import_assets(data, mode=args.mode, progress=None if args.quiet else _ProgressBar(), org=args.org)
    if result.ok:
        print(f"imported {result.rows:,} rows ({args.mode}): {result.created:,} created, {result.updated:,} updated")
        return 0
    lines = [r.text() for r in result.rejected]
    if args.report:
        with open(args.report, "w", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")
    else:
        print("\n".join(lines))
    print(f"sopdesk assets import: nothing imported: {len(result.rejected):,} of {result.rows:,} rows rejected"
          + (f" (report in {args.report})" if args.report else ""), file=sys.stderr)
    return 1


def _cmd_assets_export(args) -> int:
    from services.procurement.handlers import csvio

    try:
        # the operator of the machine: every organisation's register, or the one --org names
        from dataclasses import replace

        staff = replace(_cli_staff("assets export"), roles=("operator", "sysadmin"))
        count = csvio.export_file(args.file, staff, "asset register: CSV export (command line)", org=args.org)
    except OSError as exc:
        print(f"sopdesk assets export: {exc}", file=sys.stderr)
        return 2
    print(f"exported {count:,} assets to {args.file}")
    return 0


def _cmd_traffic_verify(args) -> int:
    from shared import traffic_log

    broken = False
    for service in args.service or SERVICES:
        verdict = traffic_log.verify(service)
        print(verdict, file=sys.stderr if verdict.broken else sys.stdout)
        broken = broken or verdict.broken is not None
    return 1 if broken else 0


def _bangkok_day(text: str, option: str):
    """A YYYY-MM-DD as the start of that day in Bangkok (an authority asks by Thai dates)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    try:
        day = datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise SystemExit(f"sopdesk traffic export: {option} must be YYYY-MM-DD (Christian era), got {text!r}")
    return day.replace(tzinfo=ZoneInfo("Asia/Bangkok"))


TRAFFIC_COLUMNS = ("service", "seq", "time", "source", "account", "method", "path", "status", "bytes", "hash")


def _cmd_traffic_export(args) -> int:
    import csv
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from shared import traffic_log

    since = _bangkok_day(args.since, "--since")
    until = _bangkok_day(args.until, "--until") + timedelta(days=1)  # the last day whole
    if until <= since:
        print("sopdesk traffic export: --until is before --since", file=sys.stderr)
        return 2
    bangkok = ZoneInfo("Asia/Bangkok")
    out = open(args.out, "w", newline="", encoding="utf-8-sig") if args.out else sys.stdout
    count = 0
    try:
        writer = csv.writer(out)
        writer.writerow(TRAFFIC_COLUMNS)
        for service in args.service or SERVICES:
            for row in traffic_log.export(service, since, until):
                writer.writerow((service, row.seq, row.at.astimezone(bangkok).isoformat(), row.source, row.account,
                                 row.method, row.path, row.status, "" if row.bytes is None else row.bytes, row.hash))
                count += 1
    finally:
        if args.out:
            out.close()
    print(f"exported {count:,} requests from {args.since} to {args.until} (Bangkok days, inclusive)"
          + (f" to {args.out}" if args.out else ""), file=sys.stderr)
    return 0


def _cmd_traffic_purge(args) -> int:
    from shared import traffic_log
    from shared.config import get_settings

    days = get_settings().traffic_log_days
    for service in args.service or SERVICES:
        purged = traffic_log.purge(service, days)
        print(f"{service}: {purged.rows:,} rows older than {days} days purged; the chain starts at {purged.start_seq}")
    return 0


def _demo_allowed(command: str) -> bool:
    """The demo data is the embedded default's only: never loaded into (or removed from) production."""
    from shared.config import get_settings

    if get_settings().embedded:
        return True
    print(f"sopdesk demo {command}: the demo data is for the embedded default only (sopdesk up); this is a "
          "production configuration (SOPDESK_ENV=production)", file=sys.stderr)
    return False


def _cmd_demo_load(args) -> int:
    from sopdesk import demo

    if not _demo_allowed("load"):
        return 2
    path = demo.manifest_path()
    if args.first_start and demo.read_manifest(path) is not None:
        return 0  # this data folder has had its demo (perhaps removed since: it stays removed)
    try:
        loaded = demo.load(timeout=args.timeout)
    except demo.DemoError as exc:
        print(f"sopdesk demo load: {exc}", file=sys.stderr)
        return 1
    found = demo.find().counts()
    what = ", ".join(f"{n} {kind}" for kind, n in found.items())
    print(f"sopdesk demo: {'loaded' if loaded.made else 'already loaded, nothing to do'}: the demo data of "
          f"{demo.DEMO_ORG} ({what}); `sopdesk demo remove` removes it (record: {path})", flush=True)
    return 0


def _cmd_demo_remove(args) -> int:
    from sopdesk import demo

    if not _demo_allowed("remove"):
        return 2
    removed = demo.remove(timeout=args.timeout)
    if not removed:
        print("sopdesk demo: no demo data here: nothing to remove")
        return 0
    print("sopdesk demo: removed " + ", ".join(f"{n} {kind}" for kind, n in removed.counts().items())
          + "; `sopdesk demo load` loads it again")
    return 0


def _cmd_demo_status(args) -> int:
    from sopdesk import demo

    record = demo.read_manifest(demo.manifest_path())
    print(json.dumps({"present": demo.find().counts(), "record": record}, ensure_ascii=False, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sopdesk", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start the whole product on the embedded default")
    up.set_defaults(func=_cmd_up)

    migrate = sub.add_parser("migrate", help="bring the services' databases to the newest revision")
    migrate.add_argument("--service", action="append", choices=SERVICES)
    migrate.add_argument("--no-packs", action="store_true", help="do not load the shipped SOP packs")
    migrate.set_defaults(func=_cmd_migrate)

    dbp = sub.add_parser("db", help="developer commands for the migrations")
    dbsub = dbp.add_subparsers(dest="db_command", required=True)
    rev = dbsub.add_parser("revision", help="write a new Alembic revision for one service")
    rev.add_argument("--service", required=True, choices=SERVICES)
    rev.add_argument("-m", "--message", required=True)
    rev.add_argument("--empty", action="store_true", help="do not autogenerate")
    rev.set_defaults(func=_cmd_revision)

    users = sub.add_parser("users", help="staff accounts")
    usub = users.add_subparsers(dest="users_command", required=True)
    add = usub.add_parser("add", help="add a staff account")
    add.add_argument("--username", required=True)
    add.add_argument("--password", required=True)
    add.add_argument("--role", action="append", required=True, help="repeat for several roles")
    add.add_argument("--name", help="display name")
    add.add_argument("--email", help="where sopdesk sends their work: assigned, approvals, overdue, daily summary")
    add.add_argument("--language", choices=("th", "en"), default="th", help="language of their emails; default th")
    add.add_argument("--unit", help="the unit's key (sopdesk units add): every account but a sysadmin's belongs to "
                                    "one, and through it to its organisation")
    add.set_defaults(func=_cmd_users_add)
    move = usub.add_parser("move", help="move a staff account to another unit (and so perhaps another organisation)")
    move.add_argument("--username", required=True)
    move.add_argument("--unit", required=True)
    move.set_defaults(func=_cmd_users_move)
    ann = usub.add_parser("announce", help="tell the other services who every staff account is and of which "
                                           "organisation (after an upgrade; each change is announced anyway)")
    ann.set_defaults(func=_cmd_users_announce)
    dele = usub.add_parser("delegate", help="someone away: another acts for them (dates inclusive)")
    dele.add_argument("--away", required=True, help="username of the person away")
    dele.add_argument("--to", required=True, help="username of the person acting for them")
    dele.add_argument("--starts", required=True, help="YYYY-MM-DD")
    dele.add_argument("--ends", required=True, help="YYYY-MM-DD")
    dele.add_argument("--note")
    dele.set_defaults(func=_cmd_delegate)

    units = sub.add_parser("units", help="units of an organisation")
    unsub = units.add_subparsers(dest="units_command", required=True)
    uadd = unsub.add_parser("add", help="add or rename a unit")
    uadd.add_argument("--key", required=True)
    uadd.add_argument("--pack", required=True, help="the organisation's pack, e.g. sesao-sc")
    uadd.add_argument("--name", required=True, help="Thai name")
    uadd.add_argument("--name-en")
    uadd.set_defaults(func=_cmd_units_add)

    hol = sub.add_parser("holidays", help="days off beyond the Thai holiday library (cabinet-announced)")
    hsub = hol.add_subparsers(dest="holidays_command", required=True)
    hlist = hsub.add_parser("list", help="the year's days off and where each comes from")
    hlist.add_argument("--year", type=int, required=True, help="CE year, e.g. 2026")
    hlist.set_defaults(func=_cmd_holidays)
    for verb, text in (("add", "add a day off"), ("remove", "make a library holiday a working day"),
                       ("reset", "forget an admin change for a day")):
        h = hsub.add_parser(verb, help=text)
        h.add_argument("day", help="YYYY-MM-DD")
        h.add_argument("--name", help="what the day is (Thai)")
        h.set_defaults(func=_cmd_holidays)

    worker = sub.add_parser("worker", help="a Celery worker for some or all service queues")
    worker.add_argument("--queues", action="append", choices=SERVICES)
    worker.add_argument("--concurrency", type=int, default=2)
    worker.add_argument("--pool", default="prefork", choices=("prefork", "solo", "threads"))
    worker.add_argument("--loglevel", default="INFO")
    worker.add_argument("--hostname")
    worker.set_defaults(func=_cmd_worker)

    beat = sub.add_parser("beat", help="the periodic scheduler (outbox and delivery sweeps)")
    beat.add_argument("--loglevel", default="INFO")
    beat.add_argument("--schedule", help="where beat keeps its schedule file")
    beat.set_defaults(func=_cmd_beat)

    doctor = sub.add_parser("doctor", help="events each service still owes its subscribers, and for how long "
                                              "(exit 1 when any is older than the delivery promise)")
    doctor.add_argument("--service", action="append", choices=SERVICES)
    doctor.add_argument("--older-than", type=float, default=None,
                        help="list events owed for more than this many seconds (default: the promise)")
    doctor.add_argument("--limit", type=int, default=50, help="at most this many events listed per service")
    doctor.add_argument("--json", action="store_true")
    doctor.set_defaults(func=_cmd_doctor)

    dead = sub.add_parser("dead-letters", help="events and emails that failed every attempt")
    dsub = dead.add_subparsers(dest="dead_command", required=True)
    dlist = dsub.add_parser("list")
    dlist.add_argument("--service", action="append", choices=SERVICES)
    dlist.add_argument("--all", action="store_true", help="include replayed ones")
    dlist.set_defaults(func=_cmd_dead_list)
    replay = dsub.add_parser("replay")
    replay.add_argument("--service", required=True, choices=SERVICES)
    replay.add_argument("id")
    replay.set_defaults(func=_cmd_dead_replay)

    assets = sub.add_parser("assets", help="procurement's asset register (ครุภัณฑ์) as CSV files")
    asub = assets.add_subparsers(dest="assets_command", required=True)
    aimp = asub.add_parser(
        "import", help="import an asset CSV: every row or none",
        description="Columns (header row): tag, kind, model, serial, location, holder, vendor_tax_id, acquired_on, "
                    "price, warranty_ends_on, ownership (owned|leased), status (in_use|in_repair|retired). UTF-8, "
                    "with or without a byte-order mark. Dates ISO (2026-11-18) or Thai day/month/Buddhist-era year "
                    "(18/11/2569). If any row is bad nothing is imported, and each bad row is reported with its line "
                    "number (the header is line 1); the exit status is then 1.")
    aimp.add_argument("file")
    aimp.add_argument("--org", required=True, help="the organisation (its pack's key, e.g. sesao-sc) whose register "
                                                   "the file goes into")
    aimp.add_argument("--mode", choices=("create", "upsert"), default="create",
                      help="create: every row is a new asset, a registered tag is an error (default); "
                           "upsert: a registered tag is updated")
    aimp.add_argument("--report", help="write the rejected rows to this file instead of stdout")
    aimp.add_argument("--quiet", action="store_true", help="no progress bar")
    aimp.set_defaults(func=_cmd_assets_import)
    aexp = asub.add_parser("export", help="write the whole register as CSV (the import's columns, UTF-8 with BOM)")
    aexp.add_argument("file")
    aexp.add_argument("--org", help="only this organisation's register (else every organisation's)")
    aexp.set_defaults(func=_cmd_assets_export)

    events = sub.add_parser("events", help="the events the services publish")
    esub = events.add_subparsers(dest="events_command", required=True)
    ecat = esub.add_parser("catalogue", help="every event type, version, producer, consumers and payload fields, "
                                             "as Markdown (docs/events.md)")
    ecat.add_argument("--out", help="write it to this file instead of standard output")
    ecat.set_defaults(func=_cmd_events_catalogue)

    alog = sub.add_parser("access-log", help="who read whose personal data (PDPA), every service's log")
    alsub = alog.add_subparsers(dest="access_log_command", required=True)
    alexp = alsub.add_parser("export", help="one CSV file of every service's reads of a period, newest first (the "
                                            "export is logged too)")
    alexp.add_argument("--since", help="YYYY-MM-DD, Bangkok, inclusive")
    alexp.add_argument("--until", help="YYYY-MM-DD, Bangkok, inclusive")
    alexp.add_argument("--org", help="one organisation's (its pack key); every organisation's when not given")
    alexp.add_argument("--actor", help="one reader's")
    alexp.add_argument("--record-id", help="one record's reads (a tracking code, a file's id, ...)")
    alexp.add_argument("--out", help="the file; standard output when not given")
    alexp.set_defaults(func=_cmd_access_log_export)

    traffic = sub.add_parser("traffic", help="the traffic log every service keeps (the Computer Crime Act, s.26)")
    tsub = traffic.add_subparsers(dest="traffic_command", required=True)
    tver = tsub.add_parser("verify", help="check each service's hash chain; exit 1 naming the first row changed, "
                                          "inserted or removed")
    tver.add_argument("--service", action="append", choices=SERVICES)
    tver.set_defaults(func=_cmd_traffic_verify)
    texp = tsub.add_parser("export", help="the requests of a period as CSV, for an authority's request")
    texp.add_argument("--since", required=True, help="first day, YYYY-MM-DD, Bangkok time")
    texp.add_argument("--until", required=True, help="last day (included), YYYY-MM-DD, Bangkok time")
    texp.add_argument("--out", help="write to this file (UTF-8 with BOM) instead of standard output")
    texp.add_argument("--service", action="append", choices=SERVICES)
    texp.set_defaults(func=_cmd_traffic_export)
    tpur = tsub.add_parser("purge", help="remove rows older than SOPDESK_TRAFFIC_LOG_DAYS now (beat does it daily)")
    tpur.add_argument("--service", action="append", choices=SERVICES)
    tpur.set_defaults(func=_cmd_traffic_purge)

    demo = sub.add_parser("demo", help="the embedded default's demo data (assets, vendors, a project and contract, "
                                       "cases) of the demo organisation; never in production")
    dsub2 = demo.add_subparsers(dest="demo_command", required=True)
    dload = dsub2.add_parser("load", help="load the demo data; what is there already is left as it is (loading "
                                          "twice makes nothing twice). Needs sopdesk up (its worker) running")
    dload.add_argument("--first-start", action="store_true",
                       help="only if this data folder never had it (what sopdesk up does on its first start; a "
                            "demo removed stays removed)")
    dload.add_argument("--timeout", type=float, default=120.0,
                       help="seconds to wait for the worker to carry each event it needs; default 120")
    dload.set_defaults(func=_cmd_demo_load)
    drem = dsub2.add_parser("remove", help="remove every demo thing (marked (ทดลอง) / DEMO-, recorded in "
                                           "demo-data.json) from every service, and nothing else; harmless twice")
    drem.add_argument("--timeout", type=float, default=30.0,
                      help="seconds to wait first for the events still owed between the services; default 30")
    drem.set_defaults(func=_cmd_demo_remove)
    dstat = dsub2.add_parser("status", help="how many demo things are there, and the record of the last load")
    dstat.set_defaults(func=_cmd_demo_status)

    privacy = sub.add_parser("privacy", help="the PDPA's rights: a person's data exported or erased")
    prsub = privacy.add_subparsers(dest="privacy_command", required=True)
    pexp = prsub.add_parser("export", help="a ZIP of everything every service holds about a person "
                                           "(person.json, summary.txt in Thai and English, their files)")
    pera = prsub.add_parser("erase", help="erase a person's data in every service (intake now, the others by event)")
    for p in (pexp, pera):
        p.add_argument("--email")
        p.add_argument("--phone")
        p.add_argument("--org", help="only this organisation's requests (default: every organisation)")
    pexp.add_argument("--out", required=True)
    pexp.set_defaults(func=_cmd_privacy_export)
    pera.set_defaults(func=_cmd_privacy_erase)
    preq = prsub.add_parser("requests", help="erasure requests: deadline and which services confirmed")
    preq.add_argument("--org")
    preq.set_defaults(func=_cmd_privacy_requests)
    pret = prsub.add_parser("retention", help="erase the cases closed more than SOPDESK_RETENTION_YEARS ago "
                                              "(beat does it daily)")
    pret.set_defaults(func=_cmd_privacy_retention)

    packs = sub.add_parser("packs", help="SOP packs")
    psub = packs.add_subparsers(dest="packs_command", required=True)
    check = psub.add_parser("check", help="validate pack files")
    check.add_argument("files", nargs="+")
    check.set_defaults(func=_cmd_packs_check)
    load = psub.add_parser("load", help="load or upgrade packs (cases already running keep their version)")
    load.add_argument("files", nargs="+")
    load.set_defaults(func=_cmd_packs_load)
    return parser


def _database_problem() -> str | None:
    """Why the command cannot reach its database, in one line, when that is known before it tries:
    a bad setting, or the embedded PostgreSQL (which only ``sopdesk up`` runs) not running."""
    from shared.config import ConfigError, get_settings

    try:
        settings = get_settings()
    except ConfigError as exc:
        return str(exc)
    if not (settings.embedded and settings.embedded_postgres):
        return None
    from shared.pgserver import EmbeddedPostgres

    if EmbeddedPostgres.of(settings).answers():
        return None
    return (f"the embedded PostgreSQL of {settings.data_dir} is not running: start `sopdesk up` "
            f"(with the same SOPDESK_DATA_DIR) first, or set DATABASE_URL")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.func not in (_cmd_up, _cmd_packs_check, _cmd_events_catalogue):  # the others all work on a database
        problem = _database_problem()
        if problem:
            print(f"sopdesk {args.command}: {problem}", file=sys.stderr)
            return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
