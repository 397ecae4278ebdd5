"""Rendering an email from its templates and sending it over SMTP as configured.

Form input can never add a header or a recipient: a display name or subject is written on one
line (any line break or control character becomes a space, and the email package encodes what
is left), and a recipient must be exactly one plain address, else the email is refused
(``BadAddress``) and never sent. Values from configuration pass ``_single_line``."""
from __future__ import annotations

import atexit
import base64
import logging
import os
import re
import smtplib
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.utils import formataddr, formatdate, parseaddr
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.notify import messages  # noqa: F401  (registers the subjects)
from shared import i18n
from shared.config import Settings

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "email"
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
    if not isinstance(value, str):
        raise BadAddress(f"not one plain email address: {value!r}")
    return _checked_address(value)


@lru_cache(maxsize=4096)
def _checked_address(value: str) -> str:
    """``mailbox_address`` of a string; kept per process (the email package's parser is the
    costliest part of writing an email, and each is checked twice: message and envelope). A
    refused address raises each time: only good ones are kept."""
    if not _ADDRESS.fullmatch(value) or len(value) > 254:
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
                  subject: str, text: str, html: str) -> bytes:
    """The email as it goes over SMTP, as its bytes: text and HTML alternatives in UTF-8 (base64).
    The subject is RFC 2047 encoded as a whole (``encoded_words``), so Thai and spaces survive the
    folding of the line; the recipient's name is written as a quoted string or one encoded word,
    never as addresses. Written here rather than by the email package's MIME
    objects and generator, which cost the notify worker a quarter of its CPU for the same bytes;
    every email the tests catch is read back with the email package's own parser."""
    boundary = f"sopdesk.{uuid.uuid4().hex}"  # '.' is not in base64's alphabet: never in a part
    # a name is one encoded word however long (readers join the words of a name with spaces)
    to = formataddr((header_text(recipient_name, 200), mailbox_address(recipient)), charset="utf-8")
    sender = _single_line(settings.mail_from)
    if not sender.isascii():
        sender = formataddr(parseaddr(sender), charset="utf-8")
    head = (f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n'
            f"MIME-Version: 1.0\r\n"
            f"Message-ID: {_single_line(message_id)}\r\n"
            f"Date: {formatdate(localtime=False, usegmt=True)}\r\n"
            f"From: {sender}\r\n"
            f"To: {to}\r\n"
            f"Subject: {encoded_words(header_text(subject))}\r\n"
            f"Auto-Submitted: auto-generated\r\n\r\n")
    parts = [head.encode("ascii")]
    for kind, body in (("plain", text), ("html", html)):
        parts.append(f'--{boundary}\r\nContent-Type: text/{kind}; charset="utf-8"\r\nMIME-Version: 1.0\r\n'
                     f"Content-Transfer-Encoding: base64\r\n\r\n".encode("ascii"))
        parts.append(base64.encodebytes(body.encode("utf-8")).replace(b"\n", b"\r\n"))
    parts.append(f"--{boundary}--\r\n".encode("ascii"))
    return b"".join(parts)


# the UTF-8 bytes one encoded word carries: base64 of 42 bytes is 56 characters, so a word is 68
# ("=?utf-8?b?" and "?="), and a header's first line ("Subject: ", "To: ") stays within 78
_WORD_BYTES = 42


def encoded_words(value: str) -> str:
    """``value`` as RFC 2047 encoded words (UTF-8, base64), a character never split between two,
    one word per line of the folded header (the space between encoded words is not text)."""
    data = value.encode("utf-8")
    words, start = [], 0
    while start < len(data):
        end = min(start + _WORD_BYTES, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # inside a character: cut before it
            end -= 1
        words.append(f"=?utf-8?b?{base64.b64encode(data[start:end]).decode('ascii')}?=")
        start = end
    return "\r\n ".join(words)


# --- SMTP sessions -------------------------------------------------------------------------------
#
# A worker keeps its SMTP session open from one batch of emails to the next, instead of a new
# connection (TCP, greeting, EHLO, STARTTLS, login) per email. Sessions are kept per process and
# per settings: a process that forks (Celery's prefork pool) never uses or ends its parent's
# session: the child finds it keyed by another pid, closes its own copy of the socket without a
# QUIT (which would end the parent's session) and opens its own.

# a session goes back to the pool for the next batch unless it has carried this many messages
# (some relays limit messages per connection) or sat idle this long (servers end idle sessions
# after a few minutes; a new one is better than a first command that fails)
MESSAGES_PER_SESSION = 100
IDLE_SECONDS = 60.0
IDLE_SESSIONS_KEPT = 4  # per process: a threads pool sends in several sessions at once


# what smtplib raises when the server answered (a refusal; smtplib closes the connection on a 421)
# or the connection ended: the session's state is known
_ANSWERED = (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException, smtplib.SMTPServerDisconnected)


def _session_key(settings: Settings) -> tuple:
    return (os.getpid(), settings.smtp_host, settings.smtp_port, settings.smtp_security,
            settings.smtp_username, settings.smtp_password, settings.smtp_timeout, settings.mail_from)


def envelope_from(settings: Settings) -> str:
    return Address(addr_spec=settings.mail_from.split("<")[-1].strip(" >")).addr_spec


class SmtpSession:
    """One SMTP connection as configured, for many messages. ``smtp_security`` is none, starttls
    or ssl; TLS checks the server's certificate against the system's trusted authorities (a
    private CA: point ``SSL_CERT_FILE`` at it). It connects on the first ``send``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.key = _session_key(settings)
        self.pid = os.getpid()
        self.client: smtplib.SMTP | None = None
        self.messages = 0  # accepted on the current connection
        self.connections = 0  # connections this session has opened
        self.idle_since = time.monotonic()
        self._from: str | None = None
        self.connect_failed = False  # the last send could not open a session

    @property
    def open(self) -> bool:
        """Connected, as far as this side knows (a server may have ended it since)."""
        return self.client is not None and self.client.sock is not None and self.pid == os.getpid()

    def _connect(self) -> None:
        settings = self.settings
        self.client = None
        self.connect_failed = True
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
        except BaseException:
            client.close()
            raise
        self.client = client
        self.connect_failed = False
        self.messages = 0
        self.connections += 1

    def send(self, message: bytes, recipient: str) -> None:
        """Hand one message to the SMTP server; raises on any refusal. After a failure, ``open``
        says whether the session goes on (the server refused this message, the next may go)
        and ``connect_failed`` whether no session could be had at all (the server is away, its
        certificate is not trusted, the login was refused).

        A session that was open before this call and turns out to have been ended (the server
        closed it while idle or restarted, or the connection dropped) is opened again once and
        the message sent on the new one. A drop after the server took the whole message but
        before its answer arrived makes that a second copy, with the same Message-ID: the
        at-least-once of every email."""
        self.connect_failed = False
        to_addrs = [mailbox_address(recipient)]
        if self._from is None:
            self._from = envelope_from(self.settings)
        if self.pid != os.getpid():  # the parent's session, inherited through a fork: not ours
            self.discard()
            self.pid = os.getpid()
        if self.messages >= MESSAGES_PER_SESSION:
            self.quit()
        reused = self.open
        if not reused:
            self._connect()
        try:
            self._transmit(message, to_addrs)
        except _ANSWERED as exc:
            if self.open or not reused:
                raise
            log.info("SMTP session to %s:%s ended (%s): sending on a new one",
                     self.settings.smtp_host, self.settings.smtp_port, exc)
            self._connect()
            self._transmit(message, to_addrs)

    def _transmit(self, message: bytes, to_addrs: list[str]) -> None:
        try:
            self.client.sendmail(self._from, to_addrs, message)
        except _ANSWERED:
            if self.open:  # refused: no transaction may stay open for the next message
                try:
                    self.client.rset()
                except (smtplib.SMTPException, OSError):
                    self.discard()
            raise
        except BaseException:
            # anything else (a timeout in the middle of a message, an interruption, a bug) leaves
            # the conversation where nobody knows: that connection is never used again
            self.discard()
            raise
        self.messages += 1

    def quit(self) -> None:
        """End the session politely (QUIT), or just close it when the server is gone already."""
        client, self.client = self.client, None
        if client is None:
            return
        if self.pid != os.getpid():
            client.close()
            return
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):  # the connection is gone already
            client.close()

    def discard(self) -> None:
        """Close this process's copy of the socket without a word to the server: after a fork
        the parent's session goes on (a QUIT from here would end it)."""
        client, self.client = self.client, None
        if client is not None:
            client.close()


_pool: dict[tuple, list[SmtpSession]] = {}
_pool_pid = os.getpid()
_pool_lock = threading.Lock()


def _forget_inherited() -> None:
    """In a child after a fork: drop the parent's sessions (call with the lock held)."""
    global _pool_pid
    if _pool_pid != os.getpid():
        for sessions in _pool.values():
            for session in sessions:
                session.discard()
        _pool.clear()
        _pool_pid = os.getpid()


def _after_fork_in_child() -> None:
    global _pool_lock
    _pool_lock = threading.Lock()  # another thread may have held it at the fork
    _forget_inherited()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _checkout(settings: Settings) -> SmtpSession:
    key = _session_key(settings)
    stale: list[SmtpSession] = []
    with _pool_lock:
        _forget_inherited()
        for other in [k for k in _pool if k != key]:  # the settings changed: the old server is done with
            stale.extend(_pool.pop(other))
        idle = _pool.get(key)
        session = idle.pop() if idle else None
    for old in stale:
        old.quit()
    if session is None:
        return SmtpSession(settings)
    if time.monotonic() - session.idle_since > IDLE_SECONDS:
        session.quit()  # it connects again on its first send
    return session


def _checkin(session: SmtpSession) -> None:
    session.idle_since = time.monotonic()
    if session.open:
        with _pool_lock:
            idle = _pool.setdefault(session.key, [])
            if _pool_pid == session.pid == os.getpid() and len(idle) < IDLE_SESSIONS_KEPT:
                idle.append(session)
                return
    session.quit()


@contextmanager
def smtp_session(settings: Settings) -> Iterator[SmtpSession]:
    """An SMTP session of this process for ``settings``, for one batch of emails: an idle one
    kept from an earlier batch, else a new one (it connects on its first ``send``). Given back
    after the batch while it is open."""
    session = _checkout(settings)
    try:
        yield session
    finally:
        _checkin(session)


def close_sessions() -> None:
    """End this process's idle sessions (at exit; tests)."""
    with _pool_lock:
        _forget_inherited()
        sessions = [s for idle in _pool.values() for s in idle]
        _pool.clear()
    for session in sessions:
        session.quit()


atexit.register(close_sessions)
