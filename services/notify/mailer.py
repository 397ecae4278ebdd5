"""Rendering an email from its templates and sending it over SMTP as configured.

Form input can never add a header or a recipient: a display name or subject is written on one
line (any line break or control character becomes a space, and the email package encodes what
is left), and a recipient must be exactly one plain address, else the email is refused
(``BadAddress``) and never sent. Values from configuration pass ``_single_line``."""
from __future__ import annotations

import re
import smtplib
import ssl
from datetime import datetime, timezone
from email.errors import HeaderParseError
from email.header import Header
from email.headerregistry import Address
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.notify import messages  # noqa: F401  (registers the subjects)
from shared import i18n
from shared.config import Settings

TEMPLATES = Path(__file__).parent / "templates" / "email"
SUBJECT_MAX = 250

_env = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

_BREAKS = "\r\n\x00\u2028\u2029\x0b\x0c\x85"
_UNSAFE_RUN = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")
# one plain address: local@domain, nothing else (no display name, no second address, no quoting)
_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@"
                      r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*")


class HeaderInjection(ValueError):
    """A header value would have spanned lines (and so added headers): never sent."""


class BadAddress(HeaderInjection):
    """A recipient that is not exactly one plain address (a comma, a second address, a name)."""


def _single_line(value: str) -> str:
    if any(ch in value for ch in _BREAKS):
        raise HeaderInjection(f"line break in a header value: {value!r}")
    return value


def header_text(value: str | None, limit: int = SUBJECT_MAX) -> str:
    """A name or subject that came from a form, as one header line: runs of line breaks and
    control characters become one space; longer than ``limit`` is cut with an ellipsis."""
    text = _UNSAFE_RUN.sub(" ", value or "").strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def mailbox_address(value: str) -> str:
    """``value`` when it is exactly one plain address; otherwise ``BadAddress``."""
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value) or len(value) > 254:
        raise BadAddress(f"not one plain email address: {value!r}")
    try:
        parsed = Address(addr_spec=value)
    except (ValueError, IndexError, HeaderParseError) as exc:
        raise BadAddress(f"not one plain email address: {value!r}") from exc
    if parsed.addr_spec != value:
        raise BadAddress(f"not one plain email address: {value!r}")
    return value


def _when(value: str | None, language: str, with_time: bool = True) -> str:
    """An ISO time from an event as people read it (Bangkok time; Buddhist era in Thai)."""
    if not value:
        return "-"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return i18n.format_datetime(moment, language, with_time=with_time)


def render(template: str, language: str, context: dict) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of one email. A {"th", "en"} value of the context is picked
    in ``language`` for the subject."""
    values = dict(context)
    values["lang"] = language
    values["t"] = lambda key, **kw: i18n.translate(key, language, **kw)
    values["pick"] = lambda texts: i18n.pick(texts, language)
    values["when"] = lambda value, with_time=True: _when(value, language, with_time)
    subject_values = {key: i18n.pick(value, language) if isinstance(value, dict) else value
                      for key, value in context.items()}
    subject = i18n.translate(f"email.{template}.subject", language, **subject_values)
    text = _env.get_template(f"{template}.{language}.txt").render(values)
    html = _env.get_template(f"{template}.{language}.html").render(values)
    return subject, text, html


def build_message(settings: Settings, *, message_id: str, recipient: str, recipient_name: str,
                  subject: str, text: str, html: str) -> Message:
    """The email as it goes over SMTP: text and HTML alternatives in UTF-8. The subject and the
    recipient's name are RFC 2047 encoded as a whole (``Header``), so Thai and spaces survive
    any folding of the line (the newer ``EmailMessage`` folder drops a space between two encoded
    words); the name is written as a quoted string or one encoded word, never as addresses."""
    message = MIMEMultipart("alternative")
    message["Message-ID"] = _single_line(message_id)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["From"] = _single_line(settings.mail_from)
    message["To"] = formataddr((header_text(recipient_name, 200), mailbox_address(recipient)), charset="utf-8")
    message["Subject"] = Header(header_text(subject), "utf-8")
    message["Auto-Submitted"] = "auto-generated"
    message.attach(MIMEText(text, "plain", "utf-8"))
    message.attach(MIMEText(html, "html", "utf-8"))
    return message


def send(settings: Settings, message: Message, recipient: str) -> None:
    """Hand one message to the SMTP server; raises on any refusal. ``smtp_security`` is none,
    starttls or ssl; TLS checks the server's certificate against the system's trusted
    authorities (a private CA: point ``SSL_CERT_FILE`` at it)."""
    timeout = settings.smtp_timeout
    if settings.smtp_security == "ssl":
        client = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=timeout,
                                  context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
    try:
        if settings.smtp_security == "starttls":
            client.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            client.login(settings.smtp_username, settings.smtp_password)
        envelope_from = Address(addr_spec=settings.mail_from.split("<")[-1].strip(" >")).addr_spec
        client.send_message(message, from_addr=envelope_from, to_addrs=[mailbox_address(recipient)])
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):  # the connection is gone already
            client.close()
