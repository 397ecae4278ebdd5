"""schemathesis over every service's OpenAPI document, in process (issue 13, item 5): every
operation of the four services gets requests the document allows and requests it does not, signed
in as a system administrator (who may reach every route), on the real database. Each answer must
not be a server error, must be one the document lists with the body and content type it says,
a request the document allows must not be refused, and one it does not allow must be.

"Not refused" is read as the document says: a rule a JSON schema cannot say (a date not before
another, an id that names an existing vendor) is written on its field as ``x-checked``, and a 422
naming only such fields is the documented answer. A thing the URL names that does not exist is a
404, as for any id.

Bounded and repeatable: a fixed number of examples per operation, derandomized (the same requests
on every run), no deadline. What it found is pinned by plain tests in tests/test_hostile_input.py
and the services' own tests, so that a regression is caught even if these examples change."""
from __future__ import annotations

import functools
import random

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import CheckContext
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (RejectedPositiveData, allow_header_conformance, negative_data_rejection,
                                               positive_data_acceptance, unsupported_method)

from shared.config import SERVICES

EXAMPLES = 10  # per operation and generation mode: about a minute for the four services' 76 operations
PASSWORD = "correct horse battery"


def thai_tax_id(first12: str) -> str:
    """The Revenue Department's check digit on the first twelve digits."""
    total = sum(int(digit) * (13 - i) for i, digit in enumerate(first12))
    return first12 + str((11 - total % 11) % 10)


# the documents' own string formats, so that a generated valid value is valid
schemathesis.openapi.format("thai-tax-id", st.from_regex(r"\A[0-9]{12}\Z").map(thai_tax_id))


@functools.cache
def _app(service: str):
    from sopdesk.gateway import create_service

    return create_service(service)


CONFIG = schemathesis.Config.from_dict({
    # NUL is no text (shared/inputs.py refuses it, as every document's description says)
    "generation": {"max-examples": EXAMPLES, "deterministic": True, "mode": "all", "allow-x00": False},
})


def _schema(service: str):
    return schemathesis.openapi.from_wsgi(f"/{service}/openapi.json", _app(service), config=CONFIG)


SCHEMAS = {service: _schema(service) for service in SERVICES}
DOCUMENTS = {service: schema.raw_schema for service, schema in SCHEMAS.items()}


def _resolve(document: dict, node: dict | None) -> dict:
    while isinstance(node, dict) and "$ref" in node:
        node = functools.reduce(lambda at, key: at[key], node["$ref"].lstrip("#/").split("/"), document)
    return node or {}


def _field_schema(document: dict, operation: dict, name: str) -> dict:
    """The schema of the field a 422 names (dotted: ``rebalance.0.amount``), in the body or a parameter."""
    for parameter in operation.get("parameters", []):
        parameter = _resolve(document, parameter)
        if parameter.get("name") == name:
            return _resolve(document, parameter.get("schema"))
    for content in operation.get("requestBody", {}).get("content", {}).values():
        node = _resolve(document, content.get("schema"))
        for part in name.split("."):
            if node.get("type") == "array":
                node = _resolve(document, node.get("items"))
                if part.isdigit():
                    continue
            node = _resolve(document, node.get("properties", {}).get(part))
        if node:
            return node
    return {}


def documented_refusals_only(ctx: CheckContext, response, case) -> bool | None:
    """schemathesis's positive_data_acceptance, but a 422 on fields whose rule the document states
    (``x-checked``) is the documented answer, not a refusal of valid data."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if response.status_code != 422:
            raise
        service = case.operation.path.strip("/").split("/")[0]
        document = DOCUMENTS[service]
        operation = document["paths"][case.operation.path][case.method.lower()]
        errors = (response.json() or {}).get("errors") or {}
        # a field the body's schema does not describe (an SOP's own form field, a CSV's line) is
        # documented by the body's own x-checked
        body_rule = {"x-checked": True} if "x-checked" in operation.get("requestBody", {}) else {}
        unstated = [name for name in errors
                    if "x-checked" not in (_field_schema(document, operation, name) or body_rule)]
        if errors and not unstated:
            return None
        raise


@pytest.fixture
def staff_headers(clean, monkeypatch):
    """A system administrator's bearer token (every route, every organisation), and no rate limit."""
    import shared.config
    from services.assignment.handlers import directory
    from shared.auth import issue_token
    from shared.config import get_settings

    monkeypatch.setattr(shared.config, "_settings",
                        get_settings().with_changes(rate_limit="100000/minute", track_rate_limit="100000/minute"))
    user = directory.add_user("fuzz-sysadmin", PASSWORD, ["sysadmin"], display_name="fuzz",
                              email="fuzz@office.example")
    random.seed(0)
    return {"Authorization": f"Bearer {issue_token(directory.staff_of(user))}"}


# Checked: not a server error; the status, content type, headers and body as documented; valid
# data accepted (documented_refusals_only). Not held to:
# * negative_data_rejection: the services read input leniently on purpose (a form's "1" or "on" is
#   true, a number may come as its string, unknown fields are dropped), so some requests outside
#   the document are accepted; such requests are still sent, and must not be a server error;
# * unsupported_method and allow_header_conformance: an asset's tag may hold slashes (a
#   ``<path:tag>`` route), so /procurement/assets/import, export.csv and .../loans/<id>/return
#   also match the asset's own route for the methods it has (a wrong method reaches the asset's
#   view and is refused there, with a 404 or 422, not a 405).
EXCLUDED = [positive_data_acceptance, negative_data_rejection, unsupported_method, allow_header_conformance]


def _json_documented(case) -> bool:
    body = case.operation.definition.raw.get("requestBody", {})
    return "application/json" in body.get("content", {})


@schemathesis.pytest.parametrize(**SCHEMAS)
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_its_document_says(case, staff_headers):
    if case.media_type not in (None, "application/json") and _json_documented(case):
        return  # a form cannot say null: the JSON body says the same (see request_body in procurement)
    case.call_and_validate(headers=staff_headers, excluded_checks=EXCLUDED,
                           additional_checks=[documented_refusals_only])


# ---------------------------------------------------------------------------------------------
# what the fuzzing found, pinned by plain requests


def test_a_multipart_part_whose_name_is_a_bare_cr_is_left_out_not_a_server_error(client, staff_headers):
    body = (b'--b\r\nContent-Disposition: form-data; name="\r"\r\n\r\nnull\r\n'
            b'--b\r\nContent-Disposition: form-data; name="kind"\r\n\r\ndelivery\r\n--b--\r\n')
    response = client.post("/procurement/projects/1/documents", data=body,
                           headers={**staff_headers, "Content-Type": "multipart/form-data; boundary=b"})
    assert response.status_code == 404, response.get_data(as_text=True)[:300]  # no such project: not a 500


def test_a_vendor_id_filter_below_any_id_is_refused_on_its_field_not_by_the_database(client, staff_headers):
    response = client.get("/procurement/assets?vendor_id=-1352138542856", headers=staff_headers)
    assert response.status_code == 422 and "vendor_id" in response.get_json()["errors"], response.get_json()


def test_a_tax_id_with_its_check_digit_is_taken_as_the_document_says(client, staff_headers):
    body = {"name": "0", "tax_id": thai_tax_id("000000000000"), "contacts": [], "org": "sesao-sc"}  # a sysadmin names it
    assert body["tax_id"] == "0000000000001"
    assert client.post("/procurement/vendors", json=body, headers=staff_headers).status_code == 201
    wrong = client.post("/procurement/vendors", json={**body, "tax_id": "0000000000000"}, headers=staff_headers)
    assert wrong.status_code == 422 and "tax_id" in wrong.get_json()["errors"]


def _property(service: str, component: str, name: str) -> dict:
    return DOCUMENTS[service]["components"]["schemas"][component]["properties"][name]


def test_the_documents_say_what_the_code_enforces():
    # money is the string it is given out as, with its pattern; a decimal share too
    for component, name in (("ContractSummary", "amount"), ("Totals", "fines"), ("Milestone", "share_percent")):
        assert _property("procurement", component, name)["type"] == "string", (component, name)
    amount = _property("procurement", "ContractCreate", "amount")
    assert amount["type"] == "string" and amount["pattern"] and "x-checked" in amount
    # the consent rule, the tax-id check, a nested object that may be null (not any object)
    assert _property("intake", "SubmitRequest", "consent")["enum"] == [True]
    tax_id = _property("procurement", "VendorIn", "tax_id")
    assert (tax_id["format"], tax_id["pattern"]) == ("thai-tax-id", "^[0-9]{13}$") and "check digit" in tax_id["x-checked"]
    assert _property("procurement", "ProjectCreate", "officer_contact") == {
        "allOf": [{"$ref": "#/components/schemas/ProjectContact"}], "nullable": True, "default": None}
    # a page route says it answers HTML; NUL is no text, in every document
    track = DOCUMENTS["intake"]["paths"]["/intake/track/{code}"]["get"]["responses"]
    assert set(track["404"]["content"]) == {"text/html", "application/json"}
    assert all("NUL" in document["info"]["description"] for document in DOCUMENTS.values())
