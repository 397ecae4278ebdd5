"""Names, subjects and addresses from forms can never add a header or a recipient: a line
break in a name or subject is written as a space inside one encoded header line, and anything
but one plain address is refused (the email goes dead at once, without retries)."""
import pytest

from services.notify.adapters.bus import bus
from services.notify.tests.factory import REQUESTER, case_event, contact, deliveries, opened, sent, step, submitted
from shared.config import get_settings

INJECTED = "\r\nBcc: victim@evil.example"


def header_lines(mail) -> list[str]:
    """The header section as sent (the listener's own X-Catcher lines left out)."""
    head = mail.raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    return [line for line in head.split("\r\n") if not line.startswith("X-Catcher-")]


def assert_nothing_added(mail, recipient):
    assert mail.envelope_to == (recipient,)
    message = mail.message
    assert message.get_all("Bcc") is None and message.get_all("Cc") is None
    assert not any(line.lower().startswith(("bcc:", "cc:")) for line in header_lines(mail))
    assert [a.addr_spec for a in message["To"].addresses] == [recipient]
    assert "victim@evil.example" not in mail.envelope_from


@pytest.mark.parametrize("language", ["th", "en"])
def test_a_name_with_a_line_break_stays_a_name(clean, mailbox, language):
    # intake refuses such names; notify does not rely on that
    code = "SD-INJEC-00001"
    bus.consume(submitted(code, name="Manee" + INJECTED, language=language))
    bus.consume(opened(code))
    delivery, mail = sent(mailbox, "received")
    assert_nothing_added(mail, REQUESTER)
    assert mail.message["To"].addresses[0].display_name == "Manee Bcc: victim@evil.example"
    assert len(mailbox.all()) == 1


def test_a_subject_with_a_line_break_stays_one_subject(clean, mailbox):
    code = "SD-INJEC-00002"
    subject = "จอฟ้า" + INJECTED + "\r\nX-Evil: 1"
    somchai = contact("somchai", "somchai@office.example", "en")
    bus.consume(submitted(code, subject=subject))
    bus.consume(case_event("case.step_started", code, subject=subject,
                           step=step(assignee="somchai", assignee_contact=somchai)))
    delivery, mail = sent(mailbox, "assigned")
    assert_nothing_added(mail, "somchai@office.example")
    assert mail.message.get_all("X-Evil") is None
    assert str(mail.message["Subject"]).endswith("· จอฟ้า Bcc: victim@evil.example X-Evil: 1")
    assert delivery.subject == str(mail.message["Subject"])
    assert "victim@evil.example" in mail.text()  # still said, as text of the body


@pytest.mark.parametrize("address", [
    "manee@example.org, victim@evil.example",
    "manee@example.org victim@evil.example",
    "manee@example.org;victim@evil.example",
    "Manee <manee@example.org>",
    "manee@example.org>\r\nRCPT TO:<victim@evil.example",
    '"manee,victim"@example.org',
])
def test_an_address_that_is_not_one_plain_address_is_refused(clean, mailbox, address):
    code = "SD-INJEC-00003"
    bus.consume(submitted(code, email=address))
    bus.consume(opened(code))
    [delivery] = deliveries()
    assert get_settings().max_retries > 1
    assert delivery.status == "dead" and delivery.attempts == 1  # refused at once: no retry would mend it
    assert delivery.last_error.startswith("BadAddress")
    [letter] = bus.dead_letters()
    assert letter.envelope["delivery_id"] == delivery.id
    assert mailbox.all() == []


def test_a_staff_address_with_a_second_address_is_refused(clean, mailbox):
    bad = contact("somchai", "somchai@office.example,victim@evil.example")
    good = contact("head1", "head1@office.example")
    bus.consume(case_event("sla.breached", "SD-INJEC-00004", deadline="case", missed_due_at="2026-11-20T09:30:00+00:00",
                           subject="s", step=None, heads=["somchai", "head1"], head_contacts=[bad, good]))
    status = {d.recipient: d.status for d in deliveries()}
    assert status == {bad["email"]: "dead", "head1@office.example": "sent"}
    [mail] = mailbox.all()
    assert_nothing_added(mail, "head1@office.example")


def test_any_subject_name_and_body_read_back_as_written():
    """The email as notify writes it (``mailer.build_message``, not the email package's generator)
    read back by the email package's own parser: any subject, name and body come back as written
    (a subject or name on one line), no encoded word is longer than RFC 2047's 75 characters or
    splits a character, and no header line is longer than 78."""
    import base64
    import email
    import email.policy
    import re

    from hypothesis import given, settings as hypothesis_settings, strategies as st

    from services.notify.adapters import mailer

    text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)

    @hypothesis_settings(max_examples=300, deadline=None, derandomize=True)  # the same examples every run
    @given(subject=text, name=text, plain=text, html=text)
    def read_back(subject, name, plain, html):
        raw = mailer.build_message(get_settings(), message_id="<m-1@sopdesk>", recipient="manee@example.org",
                                   recipient_name=name, subject=subject, text=plain, html=html)
        head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
        subject_lines = re.search(r"^Subject: .*?(?=\r\n\S)", head, re.S | re.M).group(0).split("\r\n")
        assert all(len(line) <= 78 for line in subject_lines)
        for word in re.findall(r"=\?utf-8\?b\?([^?]*)\?=", "\r\n".join(subject_lines)):
            assert len(word) + 12 <= 75
            base64.b64decode(word).decode("utf-8")  # whole characters: raises if one is split
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert str(message["Subject"]) == mailer.header_text(subject)
        [to] = message["To"].addresses
        # a name is a phrase: a reader takes each run of white space in it for one space
        assert re.sub(r"\s+", " ", to.display_name) == re.sub(r"\s+", " ", mailer.header_text(name, 200))
        assert to.addr_spec == "manee@example.org"
        assert message["Message-ID"] == "<m-1@sopdesk>" and message.get_all("Bcc") is None
        assert message.get_body(("plain",)).get_content() == plain
        assert message.get_body(("html",)).get_content() == html

    read_back()
