"""Configuration from environment variables, read in one place.

Every variable the product understands is listed in ``ENV_VARS`` with its meaning, so that the
README, docker-compose.yml and the tests can check they name only real settings.
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import quote

from shared.workcal import DEFAULT_OFFICE_HOURS, format_office_hours, parse_office_hours

SERVICES = ("intake", "assignment", "notify", "procurement")

ENV_VARS: dict[str, str] = {
    "SOPDESK_PORT": "port of the embedded default (sopdesk up); default 8000",
    "SOPDESK_HOST": "address the embedded default listens on; default 127.0.0.1",
    "SOPDESK_DATA_DIR": "where the embedded default keeps its PostgreSQL cluster, broker, uploads and mail; default ./var",
    "SOPDESK_DEMO_DATA": "'off' keeps sopdesk up from loading the demo data (sopdesk demo) on a data folder's first start; default on (embedded default only, never production)",
    "SOPDESK_PUBLIC_URL": "base URL used in links in emails; default http://127.0.0.1:<port>",
    "SOPDESK_ENV": "'embedded' (the default of sopdesk up) or 'production'",
    "SECRET_KEY": "signs staff tokens and tracking links; required in production",
    "DATABASE_URL": "PostgreSQL URL shared by the services, each in its own schema; unset: the embedded PostgreSQL of sopdesk up",
    "SOPDESK_INTAKE_DATABASE_URL": "overrides DATABASE_URL for intake",
    "SOPDESK_ASSIGNMENT_DATABASE_URL": "overrides DATABASE_URL for assignment",
    "SOPDESK_NOTIFY_DATABASE_URL": "overrides DATABASE_URL for notify",
    "SOPDESK_PROCUREMENT_DATABASE_URL": "overrides DATABASE_URL for procurement",
    "REDIS_URL": "the Celery broker (Redis); unset: the embedded Redis of sopdesk up",
    "SOPDESK_VISIBILITY_TIMEOUT": "seconds before a task whose worker died is delivered again; default 300",
    "SOPDESK_SWEEP_SECONDS": "how often the outbox, delivery and missed-deadline (SLA) sweeps run; default 10",
    "SOPDESK_REDELIVER_SECONDS": "seconds after which an event its subscriber has not confirmed is sent again (then twice that, up to an hour); default the visibility timeout plus one sweep",
    "SOPDESK_MAX_RETRIES": "attempts of an event handler or email before its dead letter; default 8",
    "SOPDESK_RETRY_BACKOFF_MAX": "longest wait between two attempts, seconds; default 600",
    "SOPDESK_DELIVERY_CLAIM_SECONDS": "how long a sending worker holds an email before another may retry it; default 120",
    "SMTP_HOST": "SMTP relay; default localhost (the embedded mail catcher in sopdesk up)",
    "SMTP_PORT": "SMTP port; default 1025",
    "SMTP_SECURITY": "none, starttls or ssl; default none",
    "SMTP_USERNAME": "SMTP login user (optional)",
    "SMTP_PASSWORD": "SMTP login password (optional)",
    "SMTP_TIMEOUT": "seconds to wait for the SMTP server; default 30",
    "MAIL_FROM": "sender address of every email; default sopdesk@localhost",
    "SOPDESK_TOKEN_HOURS": "lifetime of staff bearer tokens; default 12",
    "SOPDESK_OFFICE_HOURS": "office hours of working days, Bangkok time, that SLA deadlines count; default 08:30-16:30",
    "SOPDESK_ALLOWED_ORIGINS": "other web sites (e.g. https://www.school.ac.th) whose forms may post requests, comma separated",
    "SOPDESK_RATE_LIMIT": "posts (requests, answers, surveys) one address may make; default 20/minute",
    "SOPDESK_TRACK_RATE_LIMIT": "tracking-page reads one address may make; default 120/minute",
    "SOPDESK_FILES_DIR": "where uploaded files are kept, never served directly; default <data dir>/files",
    "SOPDESK_MAX_UPLOAD_MB": "largest file a requester may upload, in MB; default 10",
    "SOPDESK_DAILY_SUMMARY_AT": "Bangkok time on working days when staff get their open-work summary; default 07:30",
    "SOPDESK_PRIVACY_CONTACT": "whom requesters ask about their personal data, shown in the privacy notice",
    "SOPDESK_RETENTION_YEARS": "how long requests are kept after closing, stated in the privacy notice; default 5",
    "SOPDESK_MILESTONE_REMINDER_DAYS": "working days before a contract milestone falls due when the officer and the inspection committee are reminded, comma separated; default 5,1",
    "SOPDESK_REMINDERS_AT": "Bangkok time on working days from when milestone reminders and overdue notices go out; default 08:30",
    "SOPDESK_TRAFFIC_LOG_DAYS": "days every request's traffic data (Computer Crime Act s.26) is kept before the daily purge; at least 90, default 90",
    # sign-in with the organisation's directory (README: Sign-in); local accounts always work
    "SOPDESK_DIRECTORY_MAP": "a YAML file saying which directory groups or claims give which roles and unit; required with LDAP or OpenID Connect",
    "SOPDESK_LDAP_URL": "the LDAP or Active Directory server, ldap://host:389 or ldaps://host:636; unset: no LDAP sign-in",
    "SOPDESK_LDAP_BIND_DN": "the account sopdesk searches the directory with, e.g. cn=sopdesk,ou=services,dc=example,dc=ac,dc=th (unset: anonymous)",
    "SOPDESK_LDAP_BIND_PASSWORD": "that account's password",
    "SOPDESK_LDAP_USER_BASE": "where people are searched, e.g. ou=people,dc=example,dc=ac,dc=th; required with SOPDESK_LDAP_URL",
    "SOPDESK_LDAP_USER_FILTER": "how a username is found, {username} standing for it; default (uid={username}); Active Directory (sAMAccountName={username})",
    "SOPDESK_LDAP_GROUP_BASE": "where groups are searched for the person as member, uniqueMember or memberUid (besides the person's memberOf); unset: memberOf only",
    "SOPDESK_LDAP_CA_FILE": "the certificate authority (PEM) that signed the ldaps:// server's certificate, when it is not one the system trusts",
    "SOPDESK_OIDC_ISSUER": "the OpenID Connect provider, e.g. https://accounts.google.com or https://login.microsoftonline.com/<tenant>/v2.0; unset: no OpenID sign-in",
    "SOPDESK_OIDC_CLIENT_ID": "sopdesk's client id at the provider",
    "SOPDESK_OIDC_CLIENT_SECRET": "sopdesk's client secret at the provider",
    "SOPDESK_OIDC_SCOPES": "scopes asked for; default 'openid email profile'",
    "SOPDESK_OIDC_NAME": "the provider's name on the login page's button, e.g. Google or Microsoft; default OpenID",
    "SOPDESK_LOGIN_FAILURES": "failed logins one account may have in the window before it is refused for the rest of it; default 5",
    "SOPDESK_LOGIN_ADDRESS_FAILURES": "failed logins one address may make in the window (an office behind one address shares it); default 20",
    "SOPDESK_LOGIN_FAILURE_MINUTES": "the window of those counts, from the first failure, in minutes; default 15",
}


def _int(env: dict, name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    env: str = "embedded"
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("var")
    public_url: str = "http://127.0.0.1:8000"
    secret_key: str = ""
    database_urls: dict[str, str] = field(default_factory=dict)
    embedded_postgres: bool = False  # some service uses the embedded PostgreSQL of sopdesk up
    broker_url: str = ""
    visibility_timeout: int = 300
    redeliver_seconds: int = 310
    sweep_seconds: int = 10
    max_retries: int = 8
    retry_backoff_max: int = 600
    delivery_claim_seconds: int = 120
    smtp_host: str = "localhost"
    smtp_port: int = 1025
    smtp_security: str = "none"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_timeout: int = 30
    mail_from: str = "sopdesk@localhost"
    token_hours: int = 12
    office_hours: str = DEFAULT_OFFICE_HOURS
    allowed_origins: tuple[str, ...] = ()
    rate_limit: str = "20/minute"
    track_rate_limit: str = "120/minute"
    files_dir: Path = Path("var/files")
    max_upload_mb: int = 10
    daily_summary_at: str = "07:30"
    privacy_contact: str = ""
    retention_years: int = 5
    milestone_reminder_days: tuple[int, ...] = (5, 1)
    reminders_at: str = "08:30"
    traffic_log_days: int = 90
    directory_map: Path | None = None
    ldap_url: str = ""
    ldap_bind_dn: str = ""
    ldap_bind_password: str = ""
    ldap_user_base: str = ""
    ldap_user_filter: str = "(uid={username})"
    ldap_group_base: str = ""
    ldap_ca_file: Path | None = None
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_scopes: str = "openid email profile"
    oidc_name: str = "OpenID"
    login_failures: int = 5
    login_address_failures: int = 20
    login_failure_minutes: int = 15

    @property
    def delivery_promise_seconds(self) -> float:
        """How long an event may stay unconfirmed by a healthy subscriber: by then it has been
        sent, its task restored by the broker if its worker died, and sent again if that failed."""
        return self.redeliver_seconds + 2 * self.sweep_seconds

    @property
    def embedded(self) -> bool:
        return self.env == "embedded"

    def database_url(self, service: str) -> str:
        return self.database_urls[service]

    def with_changes(self, **changes) -> "Settings":
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: dict | None = None) -> "Settings":
        env = dict(os.environ if environ is None else environ)
        mode = env.get("SOPDESK_ENV", "embedded")
        if mode not in ("embedded", "production"):
            raise ConfigError(f"SOPDESK_ENV must be 'embedded' or 'production', got {mode!r}")
        data_dir = Path(env.get("SOPDESK_DATA_DIR", "var")).resolve()
        port = _int(env, "SOPDESK_PORT", 8000)
        host = env.get("SOPDESK_HOST", "127.0.0.1")
        shared_db = env.get("DATABASE_URL", "")
        database_urls = {}
        embedded_postgres = False
        for service in SERVICES:
            url = env.get(f"SOPDESK_{service.upper()}_DATABASE_URL") or shared_db
            if not url:
                if mode == "production":
                    raise ConfigError("DATABASE_URL is required in production")
                url = embedded_postgres_url(data_dir)  # where sopdesk up runs it; nothing is started here
                embedded_postgres = True
            if url.split("://", 1)[0].split("+", 1)[0] not in ("postgres", "postgresql"):
                name = f"SOPDESK_{service.upper()}_DATABASE_URL" if env.get(f"SOPDESK_{service.upper()}_DATABASE_URL") \
                    else "DATABASE_URL"
                raise ConfigError(f"{name} must be a PostgreSQL URL (postgresql://user:password@host:5432/db), "
                                  f"got {url.split(':', 1)[0]!r}")
            database_urls[service] = normalise_database_url(url)
        broker_url = env.get("REDIS_URL", "")
        if not broker_url:
            if mode == "production":
                raise ConfigError("REDIS_URL is required in production")
            broker_url = f"redis+socket://{data_dir / 'broker' / 'redis.sock'}"
        if mode == "production" and not env.get("SOPDESK_PUBLIC_URL"):
            raise ConfigError("SOPDESK_PUBLIC_URL is required in production (links in emails use it)")
        secret_key = env.get("SECRET_KEY", "")
        if not secret_key:
            if mode == "production":
                raise ConfigError("SECRET_KEY is required in production")
            secret_key = _embedded_secret(data_dir)
        security = env.get("SMTP_SECURITY", "none").lower()
        if security not in ("none", "starttls", "ssl"):
            raise ConfigError(f"SMTP_SECURITY must be none, starttls or ssl, got {security!r}")
        office_hours = env.get("SOPDESK_OFFICE_HOURS") or DEFAULT_OFFICE_HOURS
        try:
            office_hours = format_office_hours(*parse_office_hours(office_hours))
        except ValueError as exc:
            raise ConfigError(f"SOPDESK_OFFICE_HOURS: {exc}") from exc
        for name, default in (("SOPDESK_RATE_LIMIT", "20/minute"), ("SOPDESK_TRACK_RATE_LIMIT", "120/minute")):
            try:
                parse_rate(env.get(name) or default)
            except ValueError as exc:
                raise ConfigError(f"{name}: {exc}") from exc
        summary_at = env.get("SOPDESK_DAILY_SUMMARY_AT") or "07:30"
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", summary_at):
            raise ConfigError(f"SOPDESK_DAILY_SUMMARY_AT must be HH:MM, got {summary_at!r}")
        reminders_at = env.get("SOPDESK_REMINDERS_AT") or "08:30"
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", reminders_at):
            raise ConfigError(f"SOPDESK_REMINDERS_AT must be HH:MM, got {reminders_at!r}")
        reminder_days = parse_reminder_days(env.get("SOPDESK_MILESTONE_REMINDER_DAYS") or "5,1")
        origins = []
        for origin in (env.get("SOPDESK_ALLOWED_ORIGINS") or "").split(","):
            origin = origin.strip().rstrip("/")
            if not origin:
                continue
            if not re.fullmatch(r"https?://[A-Za-z0-9.\-]+(:\d+)?", origin):
                raise ConfigError(f"SOPDESK_ALLOWED_ORIGINS: {origin!r} is not an origin like https://www.example.ac.th")
            origins.append(origin.lower())
        traffic_log_days = _int(env, "SOPDESK_TRAFFIC_LOG_DAYS", 90)
        if traffic_log_days < 90:  # the Computer Crime Act's s.26: at least 90 days
            raise ConfigError(f"SOPDESK_TRAFFIC_LOG_DAYS must be at least 90 (the Computer Crime Act), "
                              f"got {traffic_log_days}")
        visibility_timeout = _int(env, "SOPDESK_VISIBILITY_TIMEOUT", 300)
        sweep_seconds = _int(env, "SOPDESK_SWEEP_SECONDS", 10)
        signin = sign_in_settings(env)
        return cls(
            env=mode,
            host=host,
            port=port,
            data_dir=data_dir,
            public_url=env.get("SOPDESK_PUBLIC_URL", f"http://{host}:{port}").rstrip("/"),
            secret_key=secret_key,
            database_urls=database_urls,
            embedded_postgres=embedded_postgres,
            broker_url=broker_url,
            visibility_timeout=visibility_timeout,
            redeliver_seconds=_int(env, "SOPDESK_REDELIVER_SECONDS", visibility_timeout + sweep_seconds),
            sweep_seconds=sweep_seconds,
            max_retries=_int(env, "SOPDESK_MAX_RETRIES", 8),
            retry_backoff_max=_int(env, "SOPDESK_RETRY_BACKOFF_MAX", 600),
            delivery_claim_seconds=_int(env, "SOPDESK_DELIVERY_CLAIM_SECONDS", 120),
            smtp_host=env.get("SMTP_HOST", "localhost"),
            smtp_port=_int(env, "SMTP_PORT", 1025),
            smtp_security=security,
            smtp_username=env.get("SMTP_USERNAME", ""),
            smtp_password=env.get("SMTP_PASSWORD", ""),
            smtp_timeout=_int(env, "SMTP_TIMEOUT", 30),
            mail_from=env.get("MAIL_FROM", "sopdesk@localhost"),
            token_hours=_int(env, "SOPDESK_TOKEN_HOURS", 12),
            office_hours=office_hours,
            allowed_origins=tuple(origins),
            rate_limit=env.get("SOPDESK_RATE_LIMIT") or "20/minute",
            track_rate_limit=env.get("SOPDESK_TRACK_RATE_LIMIT") or "120/minute",
            files_dir=Path(env.get("SOPDESK_FILES_DIR") or data_dir / "files").resolve(),
            max_upload_mb=_int(env, "SOPDESK_MAX_UPLOAD_MB", 10),
            daily_summary_at=summary_at,
            privacy_contact=env.get("SOPDESK_PRIVACY_CONTACT", ""),
            retention_years=_int(env, "SOPDESK_RETENTION_YEARS", 5),
            milestone_reminder_days=reminder_days,
            reminders_at=reminders_at,
            traffic_log_days=traffic_log_days,
            **signin,
        )


def sign_in_settings(env: dict) -> dict:
    """The settings of signing in with a directory (LDAP / Active Directory, OpenID Connect) and
    of the failed-login throttle, checked here; the map file's contents are checked when the
    assignment service starts (services/assignment/domain/signin.py)."""
    found: dict = {}
    ldap_url = (env.get("SOPDESK_LDAP_URL") or "").strip()
    if ldap_url:
        if not re.fullmatch(r"ldaps?://[A-Za-z0-9.\-\[\]:]+/?", ldap_url):
            raise ConfigError(f"SOPDESK_LDAP_URL must be ldap://host[:port] or ldaps://host[:port], got {ldap_url!r}")
        if not (env.get("SOPDESK_LDAP_USER_BASE") or "").strip():
            raise ConfigError("SOPDESK_LDAP_USER_BASE is required with SOPDESK_LDAP_URL (where people are searched)")
        user_filter = (env.get("SOPDESK_LDAP_USER_FILTER") or "(uid={username})").strip()
        if "{username}" not in user_filter or not (user_filter.startswith("(") and user_filter.endswith(")")):
            raise ConfigError(f"SOPDESK_LDAP_USER_FILTER must be an LDAP filter in parentheses with {{username}}, "
                              f"e.g. (sAMAccountName={{username}}), got {user_filter!r}")
        if env.get("SOPDESK_LDAP_BIND_DN") and not env.get("SOPDESK_LDAP_BIND_PASSWORD"):
            raise ConfigError("SOPDESK_LDAP_BIND_PASSWORD is required with SOPDESK_LDAP_BIND_DN")
        ca_file = env.get("SOPDESK_LDAP_CA_FILE") or ""
        if ca_file and not Path(ca_file).is_file():
            raise ConfigError(f"SOPDESK_LDAP_CA_FILE: no file {ca_file}")
        found.update(ldap_url=ldap_url.rstrip("/"), ldap_bind_dn=env.get("SOPDESK_LDAP_BIND_DN", ""),
                     ldap_bind_password=env.get("SOPDESK_LDAP_BIND_PASSWORD", ""),
                     ldap_user_base=env["SOPDESK_LDAP_USER_BASE"].strip(), ldap_user_filter=user_filter,
                     ldap_group_base=(env.get("SOPDESK_LDAP_GROUP_BASE") or "").strip(),
                     ldap_ca_file=Path(ca_file) if ca_file else None)
    issuer = (env.get("SOPDESK_OIDC_ISSUER") or "").strip().rstrip("/")
    if issuer:
        loopback = re.fullmatch(r"http://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(/.*)?", issuer)
        if not (issuer.startswith("https://") or loopback):
            raise ConfigError(f"SOPDESK_OIDC_ISSUER must be an https:// URL, got {issuer!r}")
        for name in ("SOPDESK_OIDC_CLIENT_ID", "SOPDESK_OIDC_CLIENT_SECRET"):
            if not env.get(name):
                raise ConfigError(f"{name} is required with SOPDESK_OIDC_ISSUER")
        scopes = " ".join((env.get("SOPDESK_OIDC_SCOPES") or "openid email profile").split())
        if "openid" not in scopes.split():
            raise ConfigError(f"SOPDESK_OIDC_SCOPES must include openid, got {scopes!r}")
        found.update(oidc_issuer=issuer, oidc_client_id=env["SOPDESK_OIDC_CLIENT_ID"],
                     oidc_client_secret=env["SOPDESK_OIDC_CLIENT_SECRET"], oidc_scopes=scopes,
                     oidc_name=(env.get("SOPDESK_OIDC_NAME") or "OpenID").strip()[:40])
    map_file = env.get("SOPDESK_DIRECTORY_MAP") or ""
    if map_file:
        if not Path(map_file).is_file():
            raise ConfigError(f"SOPDESK_DIRECTORY_MAP: no file {map_file}")
        found["directory_map"] = Path(map_file).resolve()
    elif ldap_url or issuer:
        raise ConfigError("SOPDESK_DIRECTORY_MAP is required with SOPDESK_LDAP_URL or SOPDESK_OIDC_ISSUER "
                          "(which groups give which roles and unit)")
    for name, key, default in (("SOPDESK_LOGIN_FAILURES", "login_failures", 5),
                               ("SOPDESK_LOGIN_ADDRESS_FAILURES", "login_address_failures", 20),
                               ("SOPDESK_LOGIN_FAILURE_MINUTES", "login_failure_minutes", 15)):
        found[key] = _int(env, name, default)
        if found[key] < 1:
            raise ConfigError(f"{name} must be at least 1, got {found[key]}")
    return found


def parse_reminder_days(text: str) -> tuple[int, ...]:
    """``"5,1"`` -> (5, 1): distinct working-day counts from 1 to 60, largest first."""
    try:
        days = {int(part) for part in text.split(",") if part.strip()}
    except ValueError:
        raise ConfigError(f"SOPDESK_MILESTONE_REMINDER_DAYS must be whole numbers separated by commas, got {text!r}") from None
    if not days or any(d < 1 or d > 60 for d in days):
        raise ConfigError(f"SOPDESK_MILESTONE_REMINDER_DAYS must be numbers from 1 to 60, got {text!r}")
    return tuple(sorted(days, reverse=True))


RATE_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def parse_rate(text: str) -> tuple[int, int]:
    """'20/minute' -> (20, 60): so many per window of so many seconds."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(second|minute|hour|day)\s*", text or "")
    if not match or int(match.group(1)) < 1:
        raise ValueError(f"write it as N/second, N/minute, N/hour or N/day, got {text!r}")
    return int(match.group(1)), RATE_UNITS[match.group(2)]


EMBEDDED_PG_DATABASE = "sopdesk"
EMBEDDED_PG_USER = "sopdesk"
_SOCKET_PATH_MAX = 100  # a Unix socket's path is limited to 107 bytes; keep a margin


def embedded_postgres_socket_dir(data_dir: Path) -> Path:
    """Where the embedded PostgreSQL of ``data_dir`` puts its socket: beside its cluster, or a
    folder in /tmp named after the data folder when that path is too long for a socket."""
    folder = Path(data_dir) / "postgres"
    if len(os.fsencode(str(folder / ".s.PGSQL.5432"))) <= _SOCKET_PATH_MAX:
        return folder
    return Path("/tmp") / f"sopdesk-pg-{hashlib.sha256(os.fsencode(str(data_dir))).hexdigest()[:12]}"


def embedded_postgres_url(data_dir: Path) -> str:
    """The URL of the embedded PostgreSQL of ``data_dir`` (its Unix socket, no TCP port)."""
    host = quote(str(embedded_postgres_socket_dir(data_dir)), safe="/")
    return f"postgresql+psycopg://{EMBEDDED_PG_USER}@/{EMBEDDED_PG_DATABASE}?host={host}"


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever scheme the operator wrote."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _embedded_secret(data_dir: Path) -> str:
    """The embedded default keeps one random key in its data folder, so that links in emails
    keep working across restarts. Never used in production, where SECRET_KEY is required."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(key)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path.read_text().strip()


_settings: Settings | None = None


def get_settings() -> Settings:
    """The process's settings, read from the environment once."""
    global _settings
    if _settings is None:
        _settings = Settings.from_env()
    return _settings


def set_settings(settings: Settings | None) -> None:
    """Replace the process's settings (the embedded runner and tests build their own)."""
    global _settings
    _settings = settings
