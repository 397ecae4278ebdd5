"""The pure rules of erasure (shared.privacy): what is erased of an envelope, by key when it is
about the person's case and by their own words anywhere, types kept; the deadline; the
person's reference."""
from datetime import date, datetime, timezone

from shared.privacy import ERASED, Needles, due_on, normal_phone, person_ref, scrub, scrub_envelope

CODES = frozenset({"SD-AAAAA-BBBBB"})
WORDS = Needles(["ครูมานี ศรีสุข", "manee@school.example", "081-234-5678", "0812345678", "ab", None])


def submitted(code: str) -> dict:
    return {"id": "e1", "type": "request.submitted", "correlation_id": code, "payload": {
        "tracking_code": code, "subject": "จอดับ", "details": "ติดต่อครูมานี ศรีสุข", "fields": {"asset_tag": "A-1", "n": 2},
        "requester": {"name": "ครูมานี ศรีสุข", "email": "Manee@School.example", "phone": "081-234-5678",
                      "unit": "โรงเรียนบ้านนา"},
        "attachments": [{"id": "f1", "name": "จอดับ.png", "size": 10}], "sop": "sesao-sc/repair"}}


def test_an_envelope_about_the_persons_case_loses_what_they_wrote_and_who_they_are_but_not_the_rest():
    clean = scrub_envelope(submitted("SD-AAAAA-BBBBB"), CODES, WORDS)
    payload = clean["payload"]
    assert payload["subject"] == payload["details"] == ERASED
    assert payload["requester"] == {"name": ERASED, "email": ERASED, "phone": ERASED, "unit": "โรงเรียนบ้านนา"}
    assert payload["fields"] == {"asset_tag": ERASED, "n": 2}
    assert payload["attachments"] == [{"id": "f1", "name": ERASED, "size": 10}]
    assert payload["sop"] == "sesao-sc/repair" and clean["correlation_id"] == "SD-AAAAA-BBBBB"


def test_another_case_keeps_its_words_and_loses_only_the_persons_own_wherever_they_appear():
    other = submitted("SD-OTHER-00000")
    other["payload"]["details"] = "แจ้งแทนครูมานี ศรีสุข (MANEE@school.example)"
    payload = scrub_envelope(other, CODES, WORDS)["payload"]
    assert payload["subject"] == "จอดับ"
    assert payload["details"] == f"แจ้งแทน{ERASED} ({ERASED})"
    assert payload["requester"]["unit"] == "โรงเรียนบ้านนา"


def test_needles_ignore_short_and_missing_words_and_match_whatever_the_case():
    assert WORDS.words == sorted(WORDS.words, key=len, reverse=True)  # the longest first
    assert "ab" not in WORDS.words
    assert WORDS.sub("call 0812345678 or ab") == f"call {ERASED} or ab"
    assert not Needles([]) and Needles([]).sub("x") == "x"
    assert scrub({"note": 3, "list": ["081-234-5678"]}, WORDS, by_key=False) == {"note": 3, "list": [ERASED]}


def test_the_answer_is_due_thirty_days_after_the_bangkok_day_of_the_request():
    assert due_on(datetime(2026, 12, 20, 18, 30, tzinfo=timezone.utc)) == date(2027, 1, 20)  # 01:30 on the 21st
    assert due_on(datetime(2026, 12, 20, 9, 0, tzinfo=timezone.utc)) == date(2027, 1, 19)


def test_a_person_is_referred_to_by_a_keyed_digest_never_by_their_email():
    ref = person_ref(" Manee@School.example ", None, "secret")
    assert ref == person_ref("manee@school.example", "000", "secret") and "manee" not in ref
    assert ref != person_ref("manee@school.example", None, "another secret")
    assert person_ref(None, "081-234-5678", "k") == person_ref("", "0812345678", "k")
    assert normal_phone("+66 81 234 5678") == "66812345678"
