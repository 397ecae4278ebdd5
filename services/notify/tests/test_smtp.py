"""SMTP as configured (SMTP_SECURITY none, starttls or ssl; SMTP_USERNAME/SMTP_PASSWORD), each
against a real aiosmtpd server started here: TLS with a self-signed certificate made for the
test and trusted through SSL_CERT_FILE (as an operator trusts a private CA), login with an
authenticator. A server that is not trusted, or a wrong password, is never sent to: the email
is retried with backoff and ends as a dead letter."""
import datetime
import ipaddress
import ssl
from contextlib import contextmanager

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.notify.adapters.bus import bus
from services.notify.handlers import emails as handlers
from services.notify.tests.factory import REQUESTER, deliveries, exhaust_retries, mail_of, opened, sent, submitted
from shared.config import get_settings, set_settings
from shared.mailcatcher import MailStore, free_port

USER, PASSWORD = "notify-relay", "correct horse battery staple"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 and localhost: (certificate file, key file)."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sopdesk test SMTP")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "smtp.pem", folder / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@pytest.fixture
def tls(certificate, monkeypatch):
    """The server side's TLS context; the client (notify) trusts the certificate."""
    cert_file, key_file = certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context


class Recorder:
    """An SMTP handler keeping each message and how its session was made (TLS, login)."""

    def __init__(self, store: MailStore) -> None:
        self.store = store
        self.sessions: list[dict] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        login = session.auth_data.login if session.authenticated else None
        self.sessions.append({"cipher": server.transport.get_extra_info("cipher"), "login": login,
                              "connection": server})  # aiosmtpd makes one SMTP object per connection
        self.store.add(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content)
        return "250 Message accepted"


def authenticator(server, session, envelope, mechanism, auth_data):
    if (auth_data.login, auth_data.password) == (USER.encode(), PASSWORD.encode()):
        return AuthResult(success=True, auth_data=auth_data)
    return AuthResult(success=False, handled=False)  # the server answers 535


@contextmanager
def smtp_server(tmp_path, security, **smtp_settings):
    """A real SMTP server on a free port, and notify's settings pointing at it."""
    recorder = Recorder(MailStore(tmp_path / "mail"))
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, **smtp_settings)
    controller.start()
    original = get_settings()
    set_settings(original.with_changes(smtp_host="127.0.0.1", smtp_port=port, smtp_security=security,
                                       smtp_timeout=5, smtp_username="", smtp_password=""))
    try:
        yield recorder
    finally:
        set_settings(original)
        controller.stop()


def use(**changes):
    set_settings(get_settings().with_changes(**changes))


def send_received(code):
    bus.consume(submitted(code))
    bus.consume(opened(code))


def test_plain_smtp(clean, tmp_path):
    with smtp_server(tmp_path, "none") as server:
        send_received("SD-SMTP0-00001")
        delivery, mail = sent(server.store, "received")
    assert mail.envelope_to == (REQUESTER,) and mail.envelope_from == "sopdesk@test.example"
    assert [s["cipher"] for s in server.sessions] == [None]


def test_starttls(clean, tmp_path, tls):
    with smtp_server(tmp_path, "starttls", tls_context=tls, require_starttls=True) as server:
        send_received("SD-SMTP1-00001")
        delivery, mail = sent(server.store, "received")
    [session] = server.sessions
    assert session["cipher"] is not None and session["login"] is None
    assert "ครูมานี มีนา" in mail.text()


def test_a_server_that_wants_starttls_refuses_plain_smtp(clean, mailbox, tmp_path, tls):
    with smtp_server(tmp_path, "none", tls_context=tls, require_starttls=True) as server:
        send_received("SD-SMTP2-00001")
    [delivery] = deliveries()
    assert delivery.status == "pending" and "STARTTLS" in delivery.last_error
    assert server.store.all() == []


def test_implicit_tls(clean, tmp_path, tls):
    with smtp_server(tmp_path, "ssl", ssl_context=tls) as server:
        send_received("SD-SMTP3-00001")
        delivery, mail = sent(server.store, "received")
    assert server.sessions[0]["cipher"] is not None


def test_a_certificate_nobody_trusts_is_never_sent_to(clean, tmp_path, tls, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE")
    with smtp_server(tmp_path, "starttls", tls_context=tls) as server:
        send_received("SD-SMTP4-00001")
    [delivery] = deliveries()
    assert delivery.status == "pending" and "CERTIFICATE_VERIFY_FAILED" in delivery.last_error
    assert server.store.all() == []


def test_login_over_starttls(clean, tmp_path, tls):
    with smtp_server(tmp_path, "starttls", tls_context=tls, require_starttls=True, authenticator=authenticator,
                     auth_required=True) as server:
        use(smtp_username=USER, smtp_password=PASSWORD)
        send_received("SD-SMTP5-00001")
        delivery, mail = sent(server.store, "received")
    [session] = server.sessions
    assert session["login"] == USER.encode() and session["cipher"] is not None


def test_one_tls_session_with_one_login_carries_batch_after_batch(clean, tmp_path, tls):
    with smtp_server(tmp_path, "starttls", tls_context=tls, require_starttls=True, authenticator=authenticator,
                     auth_required=True) as server:
        use(smtp_username=USER, smtp_password=PASSWORD)
        send_received("SD-SMTP9-00001")
        send_received("SD-SMTP9-00002")
        assert [d.status for d in deliveries()] == ["sent", "sent"]
    first, second = server.sessions
    assert first["connection"] is second["connection"]  # STARTTLS and the login once, for both
    assert first["cipher"] is not None and first["login"] == second["login"] == USER.encode()


def test_a_server_that_wants_a_login_refuses_mail_without_one(clean, tmp_path, tls):
    with smtp_server(tmp_path, "starttls", tls_context=tls, authenticator=authenticator,
                     auth_required=True) as server:
        send_received("SD-SMTP6-00001")
    [delivery] = deliveries()
    assert delivery.status == "pending" and "530" in delivery.last_error
    assert server.store.all() == []


def test_a_wrong_password_is_retried_then_dead(clean, tmp_path, tls):
    with smtp_server(tmp_path, "starttls", tls_context=tls, authenticator=authenticator,
                     auth_required=True) as server:
        use(smtp_username=USER, smtp_password="wrong password")
        send_received("SD-SMTP7-00001")
        [delivery] = deliveries()
        assert delivery.status == "pending" and delivery.attempts == 1
        assert delivery.last_error.startswith("SMTPAuthenticationError")
        assert delivery.next_attempt_at > delivery.created_at  # a backoff before the next attempt
        exhaust_retries()
        [delivery] = deliveries()
        assert delivery.status == "dead" and delivery.attempts == get_settings().max_retries
        [letter] = bus.dead_letters()
        assert letter.task == "notify.deliver" and letter.envelope["delivery_id"] == delivery.id
        assert "SMTPAuthenticationError" in letter.error
        assert server.store.all() == []
        use(smtp_password=PASSWORD)  # the operator fixes the password and replays: same Message-ID
        assert handlers.redeliver(delivery.id) == "sent"
        assert mail_of(server.store, delivery).envelope_to == (REQUESTER,)
