"""Rendering an email from its templates and sending it over SMTP as configured.

Every header value passes ``_single_line``: a name, subject or address taken from a form can
never add a header or a recipient."""
from __future__ import annotations

import smtplib
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from shared import i18n
from shared.config import Settings

TEMPLATES = Path(__file__).parent / "templates" / "email"

_env = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


class HeaderInjection(ValueError):
    pass


def _single_line(value: str) -> str:
    if any(ch in value for ch in "\r\n\x00\u2028\u2029\x0b\x0c\x85"):
        raise HeaderInjection(f"line break in a header value: {value!r}")
    return value


def render(template: str, language: str, context: dict) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of one email."""
    values = dict(context)
    values["lang"] = language
    values["t"] = lambda key, **kw: i18n.translate(key, language, **kw)
    values["pick"] = lambda texts: i18n.pick(texts, language)
    subject = i18n.translate(f"email.{template}.subject", language, **context)
    text = _env.get_template(f"{template}.{language}.txt").render(values)
    html = _env.get_template(f"{template}.{language}.html").render(values)
    return subject, text, html


def build_message(settings: Settings, *, message_id: str, recipient: str, recipient_name: str,
                  subject: str, text: str, html: str) -> EmailMessage:
    message = EmailMessage()
    message["Message-ID"] = _single_line(message_id)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["From"] = _single_line(settings.mail_from)
    message["To"] = Address(display_name=_single_line(recipient_name or ""), addr_spec=_single_line(recipient))
    message["Subject"] = _single_line(subject)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def send(settings: Settings, message: EmailMessage, recipient: str) -> None:
    """Hand one message to the SMTP server; raises on any refusal."""
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
        client.send_message(message, from_addr=envelope_from, to_addrs=[_single_line(recipient)])
    finally:
        try:
            client.quit()
        except smtplib.SMTPException:
            client.close()
