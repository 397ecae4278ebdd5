"""shared/inputs.py's pure parts, no database: what is not text in a string, a JSON body at any
depth, a query string or a form (urlencoded or multipart, files left alone), and the bounds of ids
and offsets."""
from __future__ import annotations

import pytest
from marshmallow import Schema, ValidationError
from werkzeug.exceptions import NotFound
from werkzeug.routing import Map, Rule
from werkzeug.test import EnvironBuilder

from shared.inputs import (INTEGER_MAX, NOT_TEXT, NUL, BoundedIntegerConverter, Id, NotText, Offset, TextRequest,
                           json_problems, not_utf8_fields, pairs_problems, text_problem)


@pytest.mark.parametrize("value,problem", [("", None), ("ครูสมชาย", None), ("line\nbreak\t", None),
                                           ("a\x00b", NUL), ("\ud800", NOT_TEXT), ("ok \udfff", NOT_TEXT),
                                           ("\U0001F600", None)])
def test_text_problem(value, problem):
    assert text_problem(value) == problem


def test_json_problems_are_found_at_any_depth_by_their_path():
    body = {"sop": "sesao-sc/repair", "fields": {"asset_tag": "A\x00", "ok": "fine"},
            "milestones": [{"title": "งวด 1"}, {"title": "\ud83d"}], "x\x00": 1, "n": 5, "flag": None}
    assert json_problems(body) == {"fields.asset_tag": NUL, "milestones.1.title": NOT_TEXT, "x\\x00": NUL}
    assert json_problems({"a": ["b", {"c": ["d"]}], "e": 1.5, "f": True}) == {}
    assert json_problems("\x00") == {"_schema": NUL}


def test_json_problems_walk_deep_nesting_without_recursion():
    body = value = {}
    for _ in range(5000):
        value["a"] = {}
        value = value["a"]
    value["z"] = "\x00"
    found = json_problems(body)
    assert list(found.values()) == [NUL] and list(found)[0].endswith(".a.z")


def test_pairs_problems_name_the_field_whose_name_or_value_is_not_text():
    assert pairs_problems([("q", "ok"), ("correlation_id", "SD-\x00"), ("a\x00", "v"), ("s", "\udfff")]) == {
        "correlation_id": NUL, "a\\x00": NUL, "s": NOT_TEXT}
    assert pairs_problems([("details", "พิมพ์ไม่ออก")]) == {}


@pytest.mark.parametrize("body,bad", [
    (b"details=%FF%FE&subject=ok", ["details"]),
    (b"subject=" + "เครื่องพิมพ์".encode("tis-620") + b"&x=1", ["subject"]),  # raw bytes, not percent-encoded
    (b"%FF=1", ["\\xff"]),
    (b"details=%E0%B8%9E%E0%B8%B4&a+b=c+d&empty=", []),  # UTF-8 Thai, '+' for spaces, a blank field
    (b"", []),
])
def test_not_utf8_fields_of_a_urlencoded_body(body, bad):
    assert not_utf8_fields(body) == bad


def _request(**kwargs) -> TextRequest:
    return TextRequest(EnvironBuilder(method="POST", **kwargs).get_environ())


def test_a_urlencoded_form_that_is_not_utf8_is_refused_each_time_it_is_read():
    request = _request(data=b"a=1&details=%FF%FE", content_type="application/x-www-form-urlencoded")
    for _ in range(2):
        with pytest.raises(NotText) as refused:
            request.form
        assert refused.value.problems == {"details": NOT_TEXT} and refused.value.code == 400
    good = _request(data="details=%E0%B8%9E&x=a%2Bb".encode(), content_type="application/x-www-form-urlencoded")
    assert good.form.to_dict() == {"details": "พ", "x": "a+b"}


def _multipart(parts: list[tuple[str, bytes, str | None]], boundary: str = "b0undary") -> bytes:
    out = b""
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def test_multipart_text_fields_are_read_strictly_and_files_are_left_alone():
    binary = b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe\x00"  # not UTF-8, NULs: a file's own business
    body = _multipart([("subject", "จอฟ้า".encode(), None), ("photos", binary, "a.png"), ("n", b"1", None)])
    request = _request(data=body, content_type="multipart/form-data; boundary=b0undary")
    assert request.form.to_dict() == {"subject": "จอฟ้า", "n": "1"}
    assert request.files["photos"].read() == binary

    bad = _multipart([("subject", "จอฟ้า".encode("tis-620"), None), ("photos", binary, "a.png")])
    request = _request(data=bad, content_type="multipart/form-data; boundary=b0undary")
    with pytest.raises(NotText) as refused:
        request.form
    assert refused.value.problems == {"subject": NOT_TEXT}


def test_the_int_converter_takes_what_an_integer_column_holds():
    urls = Map([Rule("/vendors/<int:vendor_id>", endpoint="vendor"),
                Rule("/pages/<int(min=1, max=9):n>", endpoint="page")],
               converters={"int": BoundedIntegerConverter}).bind("sopdesk.example")
    assert urls.match(f"/vendors/{INTEGER_MAX}") == ("vendor", {"vendor_id": INTEGER_MAX})
    assert urls.match("/vendors/0") == ("vendor", {"vendor_id": 0})
    for too_big in (INTEGER_MAX + 1, 2**63, 10**30):
        with pytest.raises(NotFound):
            urls.match(f"/vendors/{too_big}")
    assert urls.match("/pages/9") == ("page", {"n": 9})  # a rule's own bounds still count
    with pytest.raises(NotFound):
        urls.match("/pages/10")


def test_ids_and_offsets_are_bounded_to_the_column():
    schema = Schema.from_dict({"vendor_id": Id(required=True), "offset": Offset()})()
    assert schema.load({"vendor_id": INTEGER_MAX}) == {"vendor_id": INTEGER_MAX, "offset": 0}
    for bad, field in (({"vendor_id": INTEGER_MAX + 1}, "vendor_id"), ({"vendor_id": 0}, "vendor_id"),
                       ({"vendor_id": 1, "offset": 2**63}, "offset"), ({"vendor_id": 1, "offset": -1}, "offset")):
        with pytest.raises(ValidationError) as refused:
            schema.load(bad)
        assert set(refused.value.messages) == {field}
