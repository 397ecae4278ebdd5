"""A local mail catcher for the embedded default: a real SMTP server (aiosmtpd) that keeps every
message it receives as an .eml file, and a small web inbox that shows them at ``/mail/``.
Tests use the same server as their SMTP listener."""
from __future__ import annotations

import email
import email.policy
import html
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from aiosmtpd.controller import Controller
from werkzeug.wrappers import Request, Response


@dataclass(frozen=True)
class CaughtMail:
    key: str
    envelope_from: str
    envelope_to: tuple[str, ...]
    raw: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)

    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part else ""

    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part else ""


class MailStore:
    """Messages as files in one folder, written atomically, read in arrival order."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def add(self, envelope_from: str, envelope_to: list[str], raw: bytes) -> str:
        with self._lock:  # keys sort in arrival order
            key = f"{len(list(self.folder.glob('*.eml'))) + 1:08d}-{uuid.uuid4().hex[:8]}"
        header = f"X-Catcher-From: {envelope_from}\r\nX-Catcher-To: {', '.join(envelope_to)}\r\n".encode()
        tmp = self.folder / f".{key}.tmp"
        tmp.write_bytes(header + raw)
        os.replace(tmp, self.folder / f"{key}.eml")
        return key

    def all(self) -> list[CaughtMail]:
        mails = []
        for path in sorted(self.folder.glob("*.eml")):
            data = path.read_bytes()
            parsed = email.message_from_bytes(data, policy=email.policy.default)
            mails.append(CaughtMail(
                key=path.stem,
                envelope_from=str(parsed.get("X-Catcher-From", "")),
                envelope_to=tuple(a.strip() for a in str(parsed.get("X-Catcher-To", "")).split(",") if a.strip()),
                raw=data,
            ))
        return mails

    def get(self, key: str) -> CaughtMail | None:
        if not key.replace("-", "").isalnum():
            return None
        return next((m for m in self.all() if m.key == key), None)

    def clear(self) -> None:
        for path in self.folder.glob("*.eml"):
            path.unlink()


class _Handler:
    def __init__(self, store: MailStore) -> None:
        self.store = store

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.store.add(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class MailCatcher:
    """An SMTP server on ``host:port`` that stores into ``store``. ``port=0`` picks a free port."""

    def __init__(self, store: MailStore, host: str = "127.0.0.1", port: int = 1025, handler=None) -> None:
        self.store = store
        self.port = port or free_port(host)
        self.controller = Controller(handler or _Handler(store), hostname=host, port=self.port)

    def start(self) -> "MailCatcher":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


def inbox_app(settings):
    """The web inbox at /mail/: a list of caught messages and each one's text and HTML."""
    store = MailStore(settings.data_dir / "mail")

    def app(environ, start_response):
        request = Request(environ)
        parts = [p for p in request.path.split("/") if p]
        if len(parts) == 1:
            rows = "".join(
                f"<tr><td><a href='/mail/{m.key}'>{html.escape(str(m.message.get('Subject', '')))}</a></td>"
                f"<td>{html.escape(', '.join(m.envelope_to))}</td><td>{html.escape(str(m.message.get('Date', '')))}</td></tr>"
                for m in reversed(store.all())
            )
            body = (f"<h1>Local mail catcher · กล่องจดหมายทดสอบ</h1><p>Every email sopdesk sends in the embedded "
                    f"default lands here; nothing leaves this machine.</p><table border=1 cellpadding=6>"
                    f"<tr><th>Subject</th><th>To</th><th>Date</th></tr>{rows}</table>")
            return _page(body)(environ, start_response)
        mail = store.get(parts[1]) if len(parts) == 2 else None
        if mail is None:
            return _page("<h1>Not found</h1>", 404)(environ, start_response)
        message = mail.message
        headers = "".join(f"<tr><th>{h}</th><td>{html.escape(str(message.get(h, '')))}</td></tr>"
                          for h in ("From", "To", "Subject", "Date", "Message-ID"))
        body = (f"<p><a href='/mail/'>← inbox</a></p><table>{headers}</table><h2>Text</h2>"
                f"<pre style='white-space:pre-wrap'>{html.escape(mail.text())}</pre><h2>HTML</h2>"
                f"<iframe sandbox style='width:100%;height:28rem;border:1px solid #ccc' "
                f"srcdoc=\"{html.escape(mail.html(), quote=True)}\"></iframe>")
        return _page(body)(environ, start_response)

    return app


def _page(body: str, status: int = 200) -> Response:
    page = (f"<!doctype html><html lang='th'><head><meta charset='utf-8'><title>sopdesk mail</title>"
            f"<style>body{{font-family:Sarabun,Loma,sans-serif;max-width:60rem;margin:1rem auto}}"
            f"th{{text-align:left}}</style></head><body>{body}</body></html>")
    return Response(page, status=status, content_type="text/html; charset=utf-8")
