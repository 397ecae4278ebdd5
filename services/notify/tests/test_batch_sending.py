"""Emails sent in batches over one SMTP session, against real SMTP servers started here (the
mail catcher's aiosmtpd, with a handler that numbers the connections mail arrives on and can
refuse a recipient, drop a connection, or go away) and the real PostgreSQL.

The events' emails are written by notify's own handlers without sending (what a consumed batch
leaves behind), then ``send_for_batch`` sends them, as the bus calls it after each batch."""
from __future__ import annotations

import email
import os
from datetime import timedelta

import pytest
from sqlalchemy import update

from services.notify.adapters import mailer
from services.notify.adapters.bus import bus
from services.notify.adapters.models import Delivery
from services.notify.handlers import emails as handlers
from services.notify.tests.factory import case_event, contact, deliveries, exhaust_retries, mail_of, opened, submitted
from shared import db
from shared.config import get_settings, set_settings
from shared.events import Event
from shared.mailcatcher import MailCatcher, MailStore


class CountingHandler:
    """Keeps each message (in ``store``) and the number of the connection it came on
    (``arrivals``: (connection, Message-ID) in order). ``refuse``: recipients answered 550.
    ``drop_at``: the n-th message of the server's life is not taken: its connection is cut
    before any answer; with ``gone_after_drop`` the server also stops listening then."""

    def __init__(self, store: MailStore, refuse=(), drop_at: int | None = None, gone_after_drop: bool = False):
        self.store = store
        self.refuse = set(refuse)
        self.drop_at = drop_at
        self.gone_after_drop = gone_after_drop
        self.controller = None
        self.connections = 0
        self.messages = 0
        self.arrivals: list[tuple[int, str]] = []

    def _connection(self, server) -> int:
        number = getattr(server, "sopdesk_connection", None)  # one aiosmtpd SMTP object per connection
        if number is None:
            self.connections += 1
            number = server.sopdesk_connection = self.connections
        return number

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        self._connection(server)
        if address in self.refuse:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        number = self._connection(server)
        self.messages += 1
        if self.messages == self.drop_at:
            if self.gone_after_drop:
                self.controller.server.close()  # no new connections from now on
            server.transport.abort()  # cut: the answer below is never written
            return "451 never sent"
        raw = envelope.original_content or envelope.content
        self.store.add(envelope.mail_from, list(envelope.rcpt_tos), raw)
        self.arrivals.append((number, str(email.message_from_bytes(raw)["Message-ID"])))
        return "250 Message accepted"

    def connection_of(self, delivery) -> list[int]:
        """The connections the delivery's email arrived on (one per copy)."""
        return [number for number, message_id in self.arrivals if message_id == delivery.message_id]


@pytest.fixture
def smtp_server(clean, tmp_path):
    """start(**options) -> a CountingHandler whose server notify now sends to."""
    original = get_settings()
    catchers = []

    def start(**options) -> CountingHandler:
        handler = CountingHandler(MailStore(tmp_path / f"mail-{len(catchers)}"), **options)
        catcher = MailCatcher(handler.store, port=0, handler=handler).start()
        handler.controller = catcher.controller
        catchers.append(catcher)
        set_settings(original.with_changes(smtp_host="127.0.0.1", smtp_port=catcher.port, smtp_security="none",
                                           smtp_timeout=5, smtp_username="", smtp_password=""))
        return handler

    yield start
    set_settings(original)
    mailer.close_sessions()
    for catcher in catchers:
        catcher.stop()


def written(*envelopes) -> list[Event]:
    """The events, handled by notify's handlers in one transaction: their emails written as
    delivery rows, none sent yet (what a consumed batch leaves for ``send_for_batch``)."""
    writers = {"request.submitted": handlers.remember_requester, "case.opened": handlers.write_received,
               "sla.breached": handlers.write_overdue}
    events = [Event.from_envelope(envelope) for envelope in envelopes]
    with bus.unit_of_work() as uow:
        for event in events:
            writers[event.type](uow, event)
            uow.session.flush()
        uow.commit()
    return events


def requesters(*codes) -> list[dict]:
    """request.submitted and case.opened of each case, each requester at their own address."""
    envelopes = []
    for n, code in enumerate(codes):
        envelopes += [submitted(code, email=f"requester{n}@example.org"), opened(code)]
    return envelopes


def overdue(code, *addresses) -> dict:
    """A missed case deadline told to the heads at ``addresses``."""
    heads = [contact(f"head{n}", address) for n, address in enumerate(addresses)]
    return case_event("sla.breached", code, deadline="case", missed_due_at="2026-11-27T09:30:00+00:00",
                      subject="จอฟ้า", step=None, heads=[h["username"] for h in heads], head_contacts=heads)


def by_status() -> dict[str, list[Delivery]]:
    found: dict[str, list[Delivery]] = {}
    for delivery in deliveries():
        found.setdefault(delivery.status, []).append(delivery)
    return found


def backoff_passed() -> None:
    with bus.session() as session:
        session.execute(update(Delivery).where(Delivery.status == "pending")
                        .values(next_attempt_at=db.utcnow() - timedelta(seconds=1)))
        session.commit()


def test_the_emails_of_a_batch_of_events_go_over_one_connection_kept_for_the_next(smtp_server):
    server = smtp_server()
    events = written(*requesters("SD-BATCH-00001", "SD-BATCH-00002", "SD-BATCH-00003"),
                     overdue("SD-BATCH-00001", "head1@office.example", "head2@office.example"))
    handlers.send_for_batch(events)
    rows = deliveries()
    assert len(rows) == 5 and {d.status for d in rows} == {"sent"}
    assert all(d.attempts == 1 and d.sent_at and d.claimed_until is None for d in rows)
    assert all(server.connection_of(d) == [1] for d in rows)  # each once, all on one connection
    # the next batch, through the bus as the consumer runs it, on the same connection
    bus.consume(submitted("SD-BATCH-00004", email="requester4@example.org"))
    bus.consume(opened("SD-BATCH-00004"))
    [later] = [d for d in deliveries() if d.correlation_id == "SD-BATCH-00004"]
    assert later.status == "sent" and server.connection_of(later) == [1]
    assert server.connections == 1 and len(server.arrivals) == 6
    assert handlers.send_for_batch(events) is None and len(server.arrivals) == 6  # a repeat sends nothing


def test_a_session_is_renewed_after_so_many_messages(smtp_server, monkeypatch):
    monkeypatch.setattr(mailer, "MESSAGES_PER_SESSION", 2)
    server = smtp_server()
    handlers.send_for_batch(written(*requesters(*(f"SD-RENEW-0000{n}" for n in range(5)))))
    assert {d.status for d in deliveries()} == {"sent"}
    assert [number for number, _ in server.arrivals] == [1, 1, 2, 2, 3]


def test_a_connection_dropped_mid_batch_is_opened_again_for_the_rest(smtp_server):
    server = smtp_server(drop_at=2)  # the second message's connection is cut before any answer
    handlers.send_for_batch(written(*requesters(*(f"SD-DROPS-0000{n}" for n in range(4)))))
    rows = deliveries()
    assert {d.status for d in rows} == {"sent"} and all(d.attempts == 1 for d in rows)
    assert sorted(len(server.connection_of(d)) for d in rows) == [1, 1, 1, 1]  # none lost, none twice
    assert [number for number, _ in server.arrivals] == [1, 2, 2, 2]
    assert server.connections == 2


def test_a_server_gone_mid_batch_leaves_the_rest_pending_for_a_retry(smtp_server, mailbox):
    server = smtp_server(drop_at=2, gone_after_drop=True)
    handlers.send_for_batch(written(*requesters(*(f"SD-GONE0-0000{n}" for n in range(4)))))
    found = by_status()
    assert len(found["sent"]) == 1 and len(found["pending"]) == 3 and set(found) == {"sent", "pending"}
    for delivery in found["pending"]:  # one attempt each, retried after a backoff, not dead
        assert delivery.attempts == 1 and delivery.claimed_until is None
        assert delivery.last_error.startswith("ConnectionRefusedError")
        assert delivery.next_attempt_at > db.utcnow()
    assert bus.dead_letters() == [] and len(server.arrivals) == 1
    set_settings(get_settings().with_changes(smtp_port=int(os.environ["SMTP_PORT"])))  # a server is back
    assert handlers.sweep_deliveries() == 0  # the backoff holds
    backoff_passed()
    assert handlers.sweep_deliveries() == 3
    for delivery in found["pending"]:
        assert mail_of(mailbox, delivery)  # each once, with its own Message-ID
    assert {d.status for d in deliveries()} == {"sent"} and len(mailbox.all()) == 3


def test_a_refused_recipient_fails_only_its_own_email(smtp_server):
    server = smtp_server(refuse={"requester1@example.org"})
    handlers.send_for_batch(written(*requesters("SD-REFUS-00000", "SD-REFUS-00001", "SD-REFUS-00002")))
    found = by_status()
    [refused] = found["pending"]
    assert refused.recipient == "requester1@example.org" and refused.attempts == 1
    assert refused.last_error.startswith("SMTPRecipientsRefused") and "550" in refused.last_error
    assert len(found["sent"]) == 2 and all(server.connection_of(d) == [1] for d in found["sent"])
    assert server.connections == 1  # the session went on after the refusal
    exhaust_retries()  # refused every time: a dead letter for that email alone
    [dead] = by_status()["dead"]
    assert dead.id == refused.id and dead.attempts == get_settings().max_retries
    [letter] = bus.dead_letters()
    assert letter.envelope["delivery_id"] == refused.id
    assert len(by_status()["sent"]) == 2 and len(server.arrivals) == 2


def test_an_email_that_can_never_render_is_dead_at_once_and_the_rest_go(smtp_server):
    server = smtp_server()
    events = written(*requesters("SD-PERMA-00000", "SD-PERMA-00001"))
    broken = deliveries()[0]
    with bus.session() as session:  # a template that does not exist (a LookupError): no retry mends it
        session.execute(update(Delivery).where(Delivery.id == broken.id).values(template="no_such_template"))
        session.commit()
    handlers.send_for_batch(events)
    found = by_status()
    [dead] = found["dead"]
    assert dead.id == broken.id and dead.attempts == 1 and "no_such_template" in dead.last_error
    [sent] = found["sent"]
    assert server.connection_of(sent) == [1]
    [letter] = bus.dead_letters()
    assert letter.envelope["delivery_id"] == broken.id


def test_each_email_is_marked_sent_as_soon_as_the_server_has_it(smtp_server, monkeypatch):
    """A worker killed in a batch, after the server took its second email and before notify
    marked it: the first is marked sent already and never goes again; the second (the one
    email of the window) goes again with its Message-ID, and the third once, after the claim."""
    server = smtp_server()
    events = written(*requesters("SD-KILLD-00000", "SD-KILLD-00001", "SD-KILLD-00002"))
    send = mailer.SmtpSession.send
    taken = []

    def killed_after_the_second(self, message, recipient):
        send(self, message, recipient)
        taken.append(recipient)
        if len(taken) == 2:
            raise SystemExit("killed")  # not an Exception: nothing in notify catches it

    monkeypatch.setattr(mailer.SmtpSession, "send", killed_after_the_second)
    with pytest.raises(SystemExit):
        handlers.send_for_batch(events)
    monkeypatch.setattr(mailer.SmtpSession, "send", send)
    found = by_status()
    [first] = found["sent"]
    assert len(found["sending"]) == 2 and len(server.arrivals) == 2
    assert handlers.sweep_deliveries() == 0  # claimed: nobody takes them before the claim runs out
    with bus.session() as session:
        session.execute(update(Delivery).where(Delivery.status == "sending")
                        .values(claimed_until=db.utcnow() - timedelta(seconds=1)))
        session.commit()
    assert handlers.sweep_deliveries() == 2
    rows = deliveries()
    assert {d.status for d in rows} == {"sent"}
    copies = sorted(len(server.connection_of(d)) for d in rows)
    assert copies == [1, 1, 2] and len(server.connection_of(first)) == 1
    assert all(d.attempts == (1 if d.id == first.id else 2) for d in rows)


def test_emails_not_started_while_enough_of_the_claim_was_left_go_back_to_pending(smtp_server, monkeypatch):
    server = smtp_server()
    events = written(*requesters("SD-SHORT-00000", "SD-SHORT-00001"))
    monkeypatch.setattr(handlers, "CLAIM_SHARE_TO_START", 1.0)  # as if the whole claim had passed
    handlers.send_for_batch(events)
    rows = deliveries()
    assert {d.status for d in rows} == {"pending"} and server.arrivals == []
    assert all(d.attempts == 0 and d.claimed_until is None and d.next_attempt_at <= db.utcnow() for d in rows)
    monkeypatch.undo()
    assert handlers.sweep_deliveries() == 2  # due at once, for the next sweep
    assert all(d.attempts == 1 for d in deliveries()) and len(server.arrivals) == 2


def test_a_forked_child_never_uses_or_ends_its_parents_session(smtp_server):
    """Celery's prefork pool forks worker processes. The child opens its own session; the
    parent's goes on (the child neither sends on it nor QUITs it). The child does no database
    work here: only SMTP, through the same pool of sessions the sending uses."""
    server = smtp_server()
    settings = get_settings()

    def message(name):
        return mailer.build_message(settings, message_id=f"<{name}@test>", recipient="someone@example.org",
                                    recipient_name="Someone", subject=name, text="t", html="<p>t</p>")

    with mailer.smtp_session(settings) as parent:
        parent.send(message("parent-1"), "someone@example.org")
    pid = os.fork()
    if pid == 0:  # the child
        code = 3
        try:
            with mailer.smtp_session(settings) as child:
                code = 2 if child is parent else 1
                child.send(message("child"), "someone@example.org")
                code = 0 if child.connections == 1 and not parent.open else 4
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    with mailer.smtp_session(settings) as again:
        assert again is parent and again.open
        again.send(message("parent-2"), "someone@example.org")
    assert parent.connections == 1  # still the first connection: the child did not end it
    assert server.arrivals == [(1, "<parent-1@test>"), (2, "<child@test>"), (1, "<parent-2@test>")]
