"""What every service's OpenAPI document says beyond what apispec reads off the marshmallow
fields, so that the document says what the code enforces (tests/test_openapi_fuzz.py holds each
service to its document):

* a decimal given out as a string (``fields.Decimal(as_string=True)``: money "12500.00", a
  share "33.33") is documented as the string it is (``type: string, format: decimal``, with a
  pattern), not as a number;
* a rule a JSON schema cannot say (a date not before another, an id that must name an existing
  vendor) is written on its field as ``x-checked`` with ``checked(...)``: a 422 naming that field
  is then the documented answer to a request the schema alone would allow;
* a route that answers a page documents ``text/html`` beside (or instead of) JSON: ``html(...)``;
* no text holds a NUL (U+0000) or is not Unicode (shared/inputs.py): every document says so.
"""
from __future__ import annotations

from marshmallow import fields

DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
TEXT_RULE = ("No text anywhere (path, query, fields, JSON keys and values) may hold a NUL character "
             "(U+0000) or be other than Unicode (UTF-8): such a request is refused with a 422 naming the "
             "field (a 400 for the path) and nothing is stored.")
HTML = {"schema": {"type": "string"}}


def checked(rule: str, **metadata) -> dict:
    """A field's metadata saying a rule the server checks that its schema cannot say (422 when broken)."""
    description = metadata.pop("description", "")
    return {**metadata, "description": f"{description}; {rule}" if description else rule, "x-checked": rule}


def what_the_code_takes(converter, field, ret=None, **kwargs) -> dict:
    """apispec attribute function (run after apispec's own): a Decimal field given out as a
    string is a string; a nested object that may be null is that object or null (apispec writes
    ``anyOf: [the object, any object]``, which lets ``{}`` through)."""
    if ret is not None and isinstance(field, fields.Nested) and field.allow_none and len(ret.get("anyOf", [])) == 2:
        target, other = sorted(ret["anyOf"], key=lambda schema: "$ref" not in schema)
        if other == {"type": "object", "nullable": True} and "$ref" in target:
            del ret["anyOf"]
            return {"allOf": [target], "nullable": True}
    if not isinstance(field, fields.Decimal) or not field.as_string:
        return {}
    documented = {"type": "string", "format": "decimal"}
    if "pattern" not in field.metadata:
        documented["pattern"] = DECIMAL_PATTERN
    for bound in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if ret is not None and bound not in field.metadata:  # a string has no numeric bounds
            ret.pop(bound, None)
    return documented


def html(blp, *statuses: int, description: str | None = None, json=None):
    """Decorator: the route answers these statuses with an HTML page for a browser, and with
    ``json`` (a schema) to a client asking for JSON (``Accept: application/json``, or a JSON body)."""
    responses = {}
    for status in statuses:
        responses[str(status)] = {"content": {"text/html": HTML}}
        if json is not None:
            responses[str(status)]["content"]["application/json"] = {"schema": json}
        if description:
            responses[str(status)]["description"] = description
    return blp.doc(responses=responses)


def download(blp, description: str = "the file, as a download (its own content type)"):
    """Decorator: the route answers 200 with a file of any kind."""
    return blp.doc(responses={"200": {"description": description,
                                      "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}})


def install(api) -> None:
    """Wire the above into a service's ``flask_smorest.Api`` (before its blueprints are registered)."""
    api.ma_plugin.converter.add_attribute_function(what_the_code_takes)
    info = api.spec.options.setdefault("info", {})
    info["description"] = (info.get("description", "") + " " + TEXT_RULE).strip()
