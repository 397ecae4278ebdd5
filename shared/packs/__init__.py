"""SOP packs: one YAML file per organisation's manual, validated and read into plain data.

A pack declares its SOPs; an SOP declares its request form, an optional case-level deadline and
its steps; a step declares who acts (roles), its target, what it waits on, the documents it
expects, the values its actor enters, whether the requester is told, and its outcomes, each
leading to a next step (or ending the case), possibly through conditional branches on the
values entered. A pack and each SOP may list the indicators (ตัวชี้วัด) and targets (ค่าเป้าหมาย)
its manual states (``Indicator``). Every service reads packs through this module; the engine that
runs them lives in ``services/assignment``. No SOP is written in Python: the shipped packs are the
YAML files beside this module.

Errors name the file, the line and what is wrong (``PackError``).
"""
from __future__ import annotations

import functools
import hashlib
import operator
import re
from calendar import monthrange
from collections import deque
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml
from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate, validates_schema

from shared import i18n
from shared.workcal import fiscal_year_be, fiscal_year_bounds

PACK_DIR = Path(__file__).parent
KEY_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
KEY = validate.Regexp(KEY_PATTERN, error="use lower-case letters, digits and '-' only")

# The catalog's roles (../shared/SOP-CATALOG.md). ``team`` is the working team a head appoints
# for one case; ``requester`` acts through intake (the form, the tracking page), never logs in.
ROLES = (
    "requester", "intake-clerk", "officer", "head", "subhead", "director", "deputy-director", "expert",
    "supplies", "finance", "tor-committee", "procurement-committee", "inspection-committee", "team",
    "vendor", "admin", "privacy-officer", "sysadmin",
)
# What a step can wait on. ``requester`` pauses the case's clock until the requester answers;
# the procurement waits resume when procurement's event arrives.
WAITS = ("requester", "vendor", "procurement-delivery", "procurement-contract")
# The event from another service that ends each wait (None: a person ends it by acting).
WAIT_EVENTS = {"procurement-delivery": "procurement.delivered", "procurement-contract": "procurement.contract_completed",
               "requester": "request.answered", "vendor": None}
RESULTS = ("completed", "rejected", "withdrawn")
# A step several people decide together (``role: {all_of: [head, subhead]}``: each listed role
# decides, in any order; ``role: {in_order: [director, deputy-director]}``: each in turn). A plain
# list of roles (``role: [head, subhead]``) is any one of them, as ever.
APPROVALS = ("all_of", "in_order")
# roles that cannot share a joint decision: the requester and vendors act through others, a team is per case
NOT_APPROVERS = ("requester", "vendor", "team")
OUTCOME_KINDS = ("forward", "return", "reject")
INPUT_TYPES = ("text", "textarea", "number", "date", "datetime", "email", "select", "url", "file")
# What a ``file`` field may take (``accept``). Intake maps each kind to content types and checks
# the file's own bytes, never only its name.
FILE_KINDS = ("pdf", "image", "word", "excel", "text")
# Names every request has already (intake's own fields): an SOP's form may not reuse them.
RESERVED_FORM_NAMES = ("sop", "requester_name", "requester_email", "requester_phone", "requester_unit", "subject",
                       "details", "consent", "language", "received_at", "channel", "csrf_token", "token")

# A pack's or an SOP's indicators (ตัวชี้วัด) and what each measures: the mean satisfaction score
# (1-5), the percent of answers scoring 4 or 5, the percent of closed cases closed by their
# deadline, the percent of done steps done by their due time (with ``step``: that step's), and the
# count of cases completed in the fiscal year ("1 ระบบ").
INDICATOR_KINDS = ("satisfaction_mean", "satisfied_share", "on_time_cases", "on_time_steps", "completed")
# the range each kind's target is checked against: (low, high, whole numbers only)
INDICATOR_RANGES = {"satisfaction_mean": (1, 5, False), "satisfied_share": (0, 100, False),
                    "on_time_cases": (0, 100, False), "on_time_steps": (0, 100, False),
                    "completed": (0, None, True)}

TARGET_PATTERN = re.compile(r"^(?P<low>\d+)(?:\s*-\s*(?P<high>\d+))?\s+(?P<unit>minutes?|hours?|days?)$")
UNTIL_PATTERN = re.compile(r"^until\s+(?P<input>[a-z][a-z0-9_]*)$")


class TextsField(fields.Dict):
    """A text in Thai and English: ``{th: ..., en: ...}`` (Thai required)."""

    def __init__(self, required_th: bool = True, **kwargs):
        super().__init__(keys=fields.String(validate=validate.OneOf(("th", "en"))),
                         values=fields.String(validate=validate.Length(min=1, max=2000)), **kwargs)
        self.required_th = required_th

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        if self.required_th and not result.get("th"):
            raise ValidationError("needs a Thai text (th)")
        return result


@dataclass(frozen=True)
class Target:
    """A step's or a case's target. ``fixed``: ``low``-``high`` ``unit`` of working time (the upper
    bound is the deadline, the lower the expectation); ``by-assignee``: the assignee sets it when
    the step starts; ``until``: the moment an earlier step's actor entered (``input``);
    ``none``: the manual gives no target."""

    kind: str = "none"
    unit: str | None = None
    low: int | None = None
    high: int | None = None
    input: str | None = None

    @classmethod
    def parse(cls, text: str | None) -> "Target":
        if text is None or str(text).strip() in ("", "none", "ongoing"):
            return cls()
        text = str(text).strip()
        if text == "by-assignee":
            return cls(kind="by-assignee")
        until = UNTIL_PATTERN.match(text)
        if until:
            return cls(kind="until", input=until["input"])
        match = TARGET_PATTERN.match(text)
        if not match:
            raise ValueError(f"target {text!r}: write e.g. '10 minutes', '1-2 days', '3 hours', 'by-assignee', "
                             f"'until <input>', or leave it out")
        low, high = int(match["low"]), int(match["high"] or match["low"])
        if high < low:
            raise ValueError(f"target {text!r}: the upper bound is below the lower")
        unit = match["unit"].rstrip("s") + "s"
        return cls(kind="fixed", unit=unit, low=low, high=high)

    @property
    def is_set(self) -> bool:
        return self.kind != "none"

    def text(self, lang: str = "th") -> str:
        if self.kind == "fixed":
            units = {"th": {"minutes": "นาที", "hours": "ชั่วโมง", "days": "วันทำการ"},
                     "en": {"minutes": "minutes", "hours": "hours", "days": "working days"}}[lang if lang == "en" else "th"]
            amount = str(self.low) if self.low == self.high else f"{self.low}-{self.high}"
            return f"{amount} {units[self.unit]}"
        if self.kind == "by-assignee":
            return "ผู้รับผิดชอบกำหนด" if lang != "en" else "set by the assignee"
        if self.kind == "until":
            return "ตามเวลาที่นัดไว้" if lang != "en" else "by the promised time"
        return "—"


class TargetField(fields.Field):
    def _deserialize(self, value, attr, data, **kwargs):
        if value is not None and not isinstance(value, (str, int)):
            raise ValidationError("a target is a text such as '1-2 days'")
        try:
            return Target.parse(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


# how long a missed deadline waits at the heads before the director hears (escalation): whole
# working days, "1 day", "2 days" or "2 working days"
ESCALATE_AFTER_PATTERN = re.compile(r"^(?P<days>\d+)\s+(?:working\s+)?days?$")
DEFAULT_ESCALATE_AFTER = 1


class WorkingDaysField(fields.Field):
    """``escalate_after`` of a pack or an SOP: whole working days, at least one ("1 day")."""

    def _deserialize(self, value, attr, data, **kwargs):
        match = ESCALATE_AFTER_PATTERN.match(str(value).strip()) if isinstance(value, (str, int)) else None
        if isinstance(value, int) and not isinstance(value, bool):
            match = ESCALATE_AFTER_PATTERN.match(f"{value} days")
        if not match or int(match["days"]) < 1:
            raise ValidationError("whole working days, at least one: '1 day', '2 days'")
        return int(match["days"])


class ChoiceField(fields.Field):
    """A select's choice: the value itself (``licensed``), or ``{value: licensed, label: {th, en}}``
    when people should read something else than the value that is stored and sent."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and value.strip():
            return {"value": value, "label": {}}
        if isinstance(value, dict):
            unknown = set(value) - {"value", "label"}
            if unknown:
                raise ValidationError(f"a choice has value and label only, not {', '.join(sorted(unknown))}")
            if not isinstance(value.get("value"), str) or not value["value"].strip():
                raise ValidationError("a choice needs a value (text)")
            label = TextsField(required_th=True).deserialize(value.get("label") or {"th": value["value"]})
            return {"value": value["value"], "label": label}
        raise ValidationError("a choice is a text, or a mapping with value and label {th, en}")


class InputSchema(Schema):
    """A value a form or a step's actor fills in. ``file`` is for an SOP's form only (a step's
    papers are its ``documents``): ``accept`` names the kinds of file allowed, ``multiple`` allows
    more than one."""

    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]*$",
                                                                  error="lower-case letters, digits and _ only"))
    type = fields.String(required=True, validate=validate.OneOf(INPUT_TYPES))
    required = fields.Boolean(load_default=False)
    max_length = fields.Integer(load_default=2000, validate=validate.Range(min=1, max=20000))
    label = TextsField(required=True)
    help = TextsField(load_default=dict)
    choices = fields.List(ChoiceField(), load_default=list)
    accept = fields.List(fields.String(validate=validate.OneOf(FILE_KINDS)), load_default=None,
                         validate=validate.Length(min=1, error="name at least one kind of file"))
    multiple = fields.Boolean(load_default=None)

    @validates_schema
    def _select_has_choices(self, data, **_):
        if data.get("type") == "select" and not data.get("choices"):
            raise ValidationError("a select needs choices", "choices")
        if data.get("type") != "select" and data.get("choices"):
            raise ValidationError("only a select has choices", "choices")
        values = [c["value"] for c in data.get("choices") or []]
        if len(values) != len(set(values)):
            raise ValidationError("a choice's value appears twice", "choices")

    @validates_schema
    def _file_options(self, data, **_):
        if data.get("type") != "file":
            for option in ("accept", "multiple"):
                if data.get(option) is not None:
                    raise ValidationError(f"{option} is for a file field only", option)


class DocumentSchema(Schema):
    """A paper a step expects, handed in as a file (a paper reference may go with it). With
    ``to_requester`` the file is the requester's to download once the step is done (the result
    of their request: a report, their access details)."""

    class Meta:
        unknown = RAISE

    key = fields.String(required=True, validate=KEY)
    title = TextsField(required=True)
    required = fields.Boolean(load_default=False)
    to_requester = fields.Boolean(load_default=False)


MESSAGE_RULES = ("optional", "required")


class NotifyRequesterField(fields.Field):
    """``notify_requester``: ``true`` (the requester is emailed when the step is done; the actor
    may write them a message), or ``{message: required}`` when the manual has the step tell the
    requester something in words ("แจ้ง... สรุปผล"): the step is not done without it. Loaded as
    ``{notify: bool, message: "optional" | "required"}``."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            return {"notify": value, "message": "optional"}
        if isinstance(value, dict):
            unknown = set(value) - {"message"}
            if unknown:
                raise ValidationError(f"notify_requester takes message only, not {', '.join(sorted(unknown))}")
            if value.get("message", "optional") not in MESSAGE_RULES:
                raise ValidationError(f"message is one of {', '.join(MESSAGE_RULES)}")
            return {"notify": True, "message": value.get("message", "optional")}
        raise ValidationError("true, false, or {message: required}")


class ConditionSchema(Schema):
    """``{input: estimate_days, gt: 1}``: one comparison of a value the actor entered."""

    class Meta:
        unknown = RAISE

    input = fields.String(required=True)
    gt = fields.Float()
    ge = fields.Float()
    lt = fields.Float()
    le = fields.Float()
    eq = fields.Raw()

    @validates_schema
    def _one_comparison(self, data, **_):
        ops = [op for op in ("gt", "ge", "lt", "le", "eq") if op in data]
        if len(ops) != 1:
            raise ValidationError("give exactly one of gt, ge, lt, le, eq", "input")


class BranchSchema(Schema):
    class Meta:
        unknown = RAISE

    if_ = fields.Nested(ConditionSchema, data_key="if", required=True)
    to = fields.String(required=True, allow_none=True)


class OutcomeSchema(Schema):
    """Where an outcome leads: ``to`` a step (or ``null`` to end the case with ``result``)."""

    class Meta:
        unknown = RAISE

    to = fields.String(required=True, allow_none=True)
    kind = fields.String(validate=validate.OneOf(OUTCOME_KINDS))
    result = fields.String(validate=validate.OneOf(RESULTS))
    label = TextsField(load_default=dict, required_th=False)
    note_required = fields.Boolean(load_default=False)
    branches = fields.List(fields.Nested(BranchSchema), load_default=list)


class OutcomeField(fields.Field):
    """An outcome is either the next step's key (or null) or a mapping (``OutcomeSchema``)."""

    def deserialize(self, value, attr=None, data=None, **kwargs):
        if value is None:  # null: the outcome ends the case
            return OutcomeSchema().load({"to": None})
        return super().deserialize(value, attr, data, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if value is None or isinstance(value, str):
            return OutcomeSchema().load({"to": value})
        if isinstance(value, dict):
            return OutcomeSchema().load(value)
        raise ValidationError("an outcome is a step key, null (end), or a mapping with 'to'")


class RegisterSchema(Schema):
    """A register a step records in (e.g. ทะเบียนบันทึกปัญหา): its ``key`` (unique in the pack) and
    title; the register is the list of the cases that passed the step."""

    class Meta:
        unknown = RAISE

    key = fields.String(required=True, validate=KEY)
    title = TextsField(required=True)


class IndicatorSchema(Schema):
    """An indicator (ตัวชี้วัด) and its target (ค่าเป้าหมาย) as the manual states them: ``kind`` says
    what is measured (``INDICATOR_KINDS``); ``target`` is left out when the manual names the
    indicator without a figure, and is checked against the kind's range (a mean 1-5, a share
    0-100 percent, a count a whole number from 0); ``step`` narrows ``on_time_steps`` to one step of
    the SOP; ``unit`` is what a count counts (``{th: ระบบ, en: systems}``); ``source`` where the
    manual states it."""

    class Meta:
        unknown = RAISE

    key = fields.String(required=True, validate=KEY)
    kind = fields.String(required=True, validate=validate.OneOf(INDICATOR_KINDS))
    title = TextsField(required=True)
    target = fields.Raw(load_default=None, allow_none=True)
    step = fields.String(load_default=None, validate=KEY)
    unit = TextsField(load_default=dict)
    source = fields.String(load_default="", validate=validate.Length(max=2000))

    @validates_schema
    def _target_fits_kind(self, data, **_):
        target, kind = data.get("target"), data.get("kind")
        if target is None or kind not in INDICATOR_RANGES:
            return
        low, high, whole = INDICATOR_RANGES[kind]
        number = isinstance(target, (int, float)) and not isinstance(target, bool)
        if not number or (whole and not isinstance(target, int)):
            raise ValidationError(f"a {kind} target is {'a whole number' if whole else 'a number'}", "target")
        if target < low or (high is not None and target > high):
            span = f"{low} or more" if high is None else f"from {low} to {high}"
            raise ValidationError(f"a {kind} target is {span}, not {target}", "target")

    @validates_schema
    def _options_fit_kind(self, data, **_):
        if data.get("step") is not None and data.get("kind") != "on_time_steps":
            raise ValidationError("step is for an on_time_steps indicator only", "step")
        if data.get("unit") and data.get("kind") != "completed":
            raise ValidationError("unit is for a count (completed) only", "unit")


def _check_indicators(items: list, steps: list | None = None) -> None:
    """An indicator list: unique keys; ``step`` names a step of the SOP (``steps``), and none at
    pack level (``steps`` is None). Raises with the faulty item's field, so the error names its
    line."""
    errors: dict = {}
    seen = set()
    for index, item in enumerate(items or []):
        if item["key"] in seen:
            errors.setdefault(index, {}).setdefault("key", []).append(f"indicator {item['key']} appears twice")
        seen.add(item["key"])
        step = item.get("step")
        if step is None:
            continue
        if steps is None:
            errors.setdefault(index, {}).setdefault("step", []).append(
                "a pack's indicators cover all its SOPs: name a step in an SOP's own indicators")
        elif step not in steps:
            errors.setdefault(index, {}).setdefault("step", []).append(f"{step} is not a step of this SOP")
    if errors:
        raise ValidationError(errors, "indicators")


class StepSchema(Schema):
    class Meta:
        unknown = RAISE

    key = fields.String(required=True, validate=KEY)
    title = TextsField(required=True)
    role = fields.Raw(required=True)
    target = TargetField(load_default=Target())
    wait = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(WAITS))
    documents = fields.List(fields.Nested(DocumentSchema), load_default=list)
    inputs = fields.List(fields.Nested(InputSchema), load_default=list)
    appoints_team = fields.Boolean(load_default=False)
    # the input naming the asset tag of a machine the step lends (a loan in procurement's register)
    lends = fields.String(load_default=None)
    # the register the step records in (ทะเบียน...): the list of cases that passed the step
    register = fields.Nested(RegisterSchema, load_default=None)

    @validates_schema
    def _lends_an_input(self, data, **_):
        name = data.get("lends")
        if name is not None and name not in [i["name"] for i in data.get("inputs") or [] if i["type"] == "text"]:
            raise ValidationError(f"lends names a text input of this step (the lent machine's asset tag), "
                                  f"not {name}", "lends")
    notify_requester = NotifyRequesterField(load_default=lambda: {"notify": False, "message": "optional"})
    outcomes = fields.Dict(keys=fields.String(validate=KEY), values=OutcomeField(), required=True,
                           validate=validate.Length(min=1))

    @validates_schema
    def _no_file_inputs(self, data, **_):
        for index, item in enumerate(data.get("inputs") or []):
            if item.get("type") == "file":
                raise ValidationError({index: {"type": ["a file is asked for only in an SOP's form; "
                                                        "a step records its papers as documents"]}}, "inputs")

    @validates_schema
    def _outcomes_labelled(self, data, **_):
        """Every outcome people choose has words in both languages: its own ``label``, or, for the
        common ones (``done``, ``pass``, ``approve`` ...), the shared ``outcome.<key>`` words. A
        button never shows a key."""
        unlabelled = [key for key, outcome in (data.get("outcomes") or {}).items()
                      if not _outcome_label(key, outcome.get("label"))]
        if unlabelled:
            raise ValidationError(f"give {', '.join(unlabelled)} a label {{th, en}}: only the common outcomes "
                                  f"({', '.join(common_outcomes())}) have words of their own", "outcomes")

    @validates_schema
    def _roles_known(self, data, **_):
        roles = data.get("role")
        if isinstance(roles, dict):
            _check_approval(roles, data)
            roles = next(iter(roles.values()))
        roles = [roles] if isinstance(roles, str) else roles
        if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
            raise ValidationError("a role, a list of roles (any one of them), {all_of: [roles]} or "
                                  "{in_order: [roles]}", "role")
        unknown = [r for r in roles if r not in ROLES]
        if unknown:
            raise ValidationError(f"unknown role {', '.join(unknown)}; the roles are {', '.join(ROLES)}", "role")


SCHEDULE_EVERY = ("year", "quarter", "month")


class ScheduleOnSchema(Schema):
    """The planned day in its period: ``day`` of the month, in the period's ``fiscal_month`` (a year:
    1 = October .. 12 = September, the Thai fiscal year) or ``month`` (a quarter: its 1st, 2nd or
    3rd month). A day past the month's end is its last day."""

    class Meta:
        unknown = RAISE

    fiscal_month = fields.Integer(strict=True, validate=validate.Range(min=1, max=12))
    month = fields.Integer(strict=True, validate=validate.Range(min=1, max=3))
    day = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=1, max=31))


class _EverySchema(Schema):
    class Meta:
        unknown = RAISE

    every = fields.String(required=True, validate=validate.OneOf(SCHEDULE_EVERY))
    on = fields.Nested(ScheduleOnSchema, load_default=None)

    @pre_load
    def _on_is_a_key(self, data, **_):
        """YAML 1.1 reads a bare ``on:`` key as the boolean true: it is the ``on`` of the pack."""
        if isinstance(data, dict) and True in data and "on" not in data:
            data = {("on" if key is True else key): value for key, value in data.items()}
        return data
    day = fields.Integer(strict=True, load_default=None, validate=validate.Range(min=1, max=31))

    @validates_schema
    def _on_fits_every(self, data, **_):
        on, every = data.get("on") or {}, data.get("every")
        if data.get("day") is not None and on:
            raise ValidationError("give the day in on, or day alone, not both", "day")
        if "fiscal_month" in on and every and every != "year":
            raise ValidationError("fiscal_month is for a yearly schedule (every: year)", "on")
        if "month" in on and every and every != "quarter":
            raise ValidationError("month (of the quarter) is for a quarterly schedule (every: quarter)", "on")


class PerAssetSchema(_EverySchema):
    """Preventive maintenance: one case per asset of ``kind`` in procurement's register, each period."""

    kind = fields.String(required=True, validate=KEY)


class ScheduleSchema(_EverySchema):
    """Planned work: ``{every: year, on: {fiscal_month: 1, day: 1}}``, ``{every: quarter}``,
    ``{every: month, day: 1}``, or ``{per_asset: {kind: computer, every: year}}``."""

    every = fields.String(validate=validate.OneOf(SCHEDULE_EVERY))
    per_asset = fields.Nested(PerAssetSchema, load_default=None)

    @validates_schema
    def _every_or_per_asset(self, data, **_):
        if data.get("per_asset") and (data.get("every") or data.get("on") or data.get("day") is not None):
            raise ValidationError("a per-asset schedule gives every, on and day inside per_asset", "per_asset")
        if not data.get("per_asset") and not data.get("every"):
            raise ValidationError("say how often: every (year, quarter, month), or per_asset", "every")


def _check_approval(role: dict, step: dict) -> None:
    """``{all_of: [...]}`` or ``{in_order: [...]}``: two or more staff roles, each once, on a step
    that waits on nobody (its people decide it)."""
    if len(role) != 1 or next(iter(role)) not in APPROVALS:
        raise ValidationError("a joint decision is {all_of: [roles]} (every role decides, any order) or "
                              "{in_order: [roles]} (each in turn)", "role")
    roles = next(iter(role.values()))
    if not isinstance(roles, list) or len(roles) < 2 or not all(isinstance(r, str) for r in roles):
        raise ValidationError("a joint decision names two or more roles", "role")
    if len(set(roles)) != len(roles):
        raise ValidationError("a role appears twice in the joint decision", "role")
    odd = [r for r in roles if r in NOT_APPROVERS]
    if odd:
        raise ValidationError(f"{', '.join(odd)} cannot take part in a joint decision", "role")
    if step.get("wait"):
        raise ValidationError("a step its people decide together waits on nobody", "wait")


def _declared_kind(outcome: dict, index: int, steps: list, keys: list) -> str:
    """An outcome's kind as ``Sop.outcome_kind`` decides it, over the loaded YAML (the default path)."""
    if outcome.get("kind"):
        return outcome["kind"]
    if outcome.get("result") == "rejected":
        return "reject"
    to = outcome["to"]
    if to is not None and to in keys and (keys.index(to) <= index or steps[keys.index(to)]["wait"] == "requester"):
        return "return"
    return "forward"


def _role_names(role) -> list:
    """The roles a step names, whatever its form (one, any of a list, all_of, in_order)."""
    if isinstance(role, dict):
        role = next(iter(role.values()), [])
    return [role] if isinstance(role, str) else list(role or [])


class SopSchema(Schema):
    class Meta:
        unknown = RAISE

    number = fields.String(load_default="")
    title = TextsField(required=True)
    summary = TextsField(load_default=dict)
    requester = fields.Boolean(load_default=False)
    deadline = TargetField(load_default=Target())
    # working days from telling the heads of a missed deadline to telling the director (escalation)
    escalate_after = WorkingDaysField(load_default=None)
    form = fields.List(fields.Nested(InputSchema), load_default=list)
    steps = fields.List(fields.Nested(StepSchema), required=True, validate=validate.Length(min=1))
    schedule = fields.Nested(ScheduleSchema, load_default=None)
    indicators = fields.List(fields.Nested(IndicatorSchema), load_default=list)

    @validates_schema
    def _indicators(self, data, **_):
        _check_indicators(data.get("indicators"), [step["key"] for step in data.get("steps") or []])

    @validates_schema
    def _planned_work(self, data, **_):
        """Planned work opens with no requester: its first step is not the requester's, and an
        SOP with a schedule takes no request form (nobody fills it)."""
        if not data.get("schedule"):
            return
        first = (data.get("steps") or [{}])[0]
        roles = first.get("role")
        if roles == "requester" or roles == ["requester"]:
            raise ValidationError("planned work has no requester: its first step cannot be the requester's",
                                  "schedule")

    @validates_schema
    def _form_names(self, data, **_):
        errors: dict = {}
        seen = set()
        for index, item in enumerate(data.get("form") or []):
            name = item["name"]
            if name in RESERVED_FORM_NAMES:
                errors.setdefault(index, {}).setdefault("name", []).append(
                    f"{name} is a field every request has already; choose another name")
            if name in seen:
                errors.setdefault(index, {}).setdefault("name", []).append(f"{name} appears twice in the form")
            seen.add(name)
        if errors:
            raise ValidationError(errors, "form")

    @validates_schema
    def _steps_hang_together(self, data, **_):
        """Cross-references inside one SOP: unique keys, outcomes and branches lead to steps,
        conditions use the step's inputs, ``until`` names an earlier datetime input, team steps
        follow a step that appoints the team, every step is reachable and can reach an end."""
        steps = data["steps"]
        keys = [step["key"] for step in steps]
        errors: dict = {}

        def fail(index, field_name, message, outcome=None):
            where = errors.setdefault("steps", {}).setdefault(index, {})
            if outcome is not None:  # point at the outcome's own line
                where = where.setdefault(field_name, {})
                field_name = outcome
            where.setdefault(field_name, []).append(message)

        seen = set()
        for index, key in enumerate(keys):
            if key in seen:
                fail(index, "key", f"step {key} appears twice")
            seen.add(key)
        datetime_inputs = {i["name"] for s in steps for i in s["inputs"] if i["type"] == "datetime"}
        appoints = [i for i, s in enumerate(steps) if s["appoints_team"]]
        for index, step in enumerate(steps):
            roles = _role_names(step["role"])
            if "team" in roles and not (appoints and appoints[0] < index):
                fail(index, "role", "a team step needs an earlier step with appoints_team: true")
            if step["wait"] == "requester" and roles != ["requester"]:
                fail(index, "wait", "a step that waits on the requester has role: requester")
            if step["target"].kind == "until" and step["target"].input not in datetime_inputs:
                fail(index, "target", f"until {step['target'].input}: no step has a datetime input of that name")
            input_names = {i["name"] for i in step["inputs"]}
            for name, outcome in step["outcomes"].items():
                targets = [outcome["to"]] + [b["to"] for b in outcome["branches"]]
                for target in targets:
                    if target is not None and target not in keys:
                        fail(index, "outcomes", f"{name}: leads to unknown step {target}", name)
                for branch in outcome["branches"]:
                    if branch["if_"]["input"] not in input_names:
                        fail(index, "outcomes", f"{name}: the branch tests {branch['if_']['input']}, "
                                                f"which is not one of this step's inputs", name)
                if outcome["to"] is None and outcome.get("kind") == "return":
                    fail(index, "outcomes", f"{name}: a return must lead to a step", name)
            if isinstance(step["role"], dict):
                approving = [name for name, outcome in step["outcomes"].items()
                             if _declared_kind(outcome, index, steps, keys) == "forward"]
                if len(approving) != 1:
                    fail(index, "outcomes", "a joint decision has exactly one approving outcome (the others "
                                            f"refuse: a return or a rejection); here {len(approving)}")
        if errors:
            raise ValidationError(errors)
        # every step reachable from the first, and an end reachable from every step
        edges = {s["key"]: {t for o in s["outcomes"].values() for t in [o["to"]] + [b["to"] for b in o["branches"]]}
                 for s in steps}
        reachable, todo = {keys[0]}, deque([keys[0]])
        while todo:
            for nxt in edges[todo.popleft()]:
                if nxt is not None and nxt not in reachable:
                    reachable.add(nxt)
                    todo.append(nxt)
        ends = {k for k, targets in edges.items() if None in targets}
        changed = True
        while changed:
            changed = False
            for key, targets in edges.items():
                if key not in ends and targets & ends:
                    ends.add(key)
                    changed = True
        for index, key in enumerate(keys):
            if key not in reachable:
                fail(index, "key", f"step {key} cannot be reached from the first step")
            elif key not in ends:
                fail(index, "outcomes", f"from step {key} no outcome ever reaches an end")
        if errors:
            raise ValidationError(errors)


class PackSchema(Schema):
    class Meta:
        unknown = RAISE

    pack = fields.String(required=True, validate=KEY)
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    organisation = TextsField(required=True)
    escalate_after = WorkingDaysField(load_default=None)  # every SOP's, unless it says its own
    sops = fields.Dict(keys=fields.String(validate=KEY), values=fields.Nested(SopSchema), required=True,
                       validate=validate.Length(min=1))
    # the organisation's indicators, over all its SOPs
    indicators = fields.List(fields.Nested(IndicatorSchema), load_default=list)

    @validates_schema
    def _indicators(self, data, **_):
        _check_indicators(data.get("indicators"))

    @validates_schema
    def _numbers_unique(self, data, **_):
        """Two SOPs of one manual never share a number (the manual's own numbering, e.g. 6.7)."""
        seen: dict[str, str] = {}
        errors: dict = {}
        for key, sop in (data.get("sops") or {}).items():
            number = (sop.get("number") or "").strip()
            if not number:
                continue
            if number in seen:
                errors.setdefault(key, {}).setdefault("number", []).append(
                    f"number {number} is {seen[number]}'s already: two SOPs of one pack never share a number")
            else:
                seen[number] = key
        if errors:
            raise ValidationError(errors, "sops")


# ---------------------------------------------------------------------------------------------
# The plain data the rest of the product uses


@dataclass(frozen=True)
class FormField:
    name: str
    type: str
    required: bool
    max_length: int
    label: dict
    choices: tuple[str, ...]  # a select's values (what is stored and sent)
    help: dict = field(default_factory=dict)
    choice_labels: dict = field(default_factory=dict)  # value -> {th, en}, where the pack gives labels
    accept: tuple[str, ...] = ()  # a file field's kinds (FILE_KINDS)
    multiple: bool = False  # a file field that takes several files

    def choice_label(self, value: str, lang: str) -> str:
        """What people read for a select's value (the value itself when the pack gives no label)."""
        texts = self.choice_labels.get(value)
        if not texts:
            return value
        return texts.get(lang) or texts.get("th") or value


_OPS = {"gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le, "eq": operator.eq}


@dataclass(frozen=True)
class Condition:
    input: str
    op: str
    value: Any

    def holds(self, values: dict) -> bool:
        if self.input not in values or values[self.input] in (None, ""):
            return False
        actual = values[self.input]
        if self.op != "eq":
            try:
                actual = float(actual)
            except (TypeError, ValueError):
                return False
        return bool(_OPS[self.op](actual, self.value))


@dataclass(frozen=True)
class Branch:
    condition: Condition
    to: str | None


@dataclass(frozen=True)
class Outcome:
    key: str
    to: str | None
    kind: str
    result: str | None
    label: dict
    note_required: bool
    branches: tuple[Branch, ...]

    def next_step(self, values: dict) -> str | None:
        """The step this outcome leads to, given the values the actor entered."""
        for branch in self.branches:
            if branch.condition.holds(values):
                return branch.to
        return self.to

    @property
    def destinations(self) -> tuple[str | None, ...]:
        return tuple(dict.fromkeys([b.to for b in self.branches] + [self.to]))


@dataclass(frozen=True)
class Document:
    key: str
    title: dict
    required: bool
    to_requester: bool = False


@dataclass(frozen=True)
class Step:
    key: str
    title: dict
    roles: tuple[str, ...]
    target: Target
    wait: str | None
    documents: tuple[Document, ...]
    inputs: tuple[FormField, ...]
    appoints_team: bool
    notify_requester: bool
    outcomes: dict[str, Outcome]
    message_required: bool = False  # ``notify_requester: {message: required}``: the step tells them in words
    lends: str | None = None  # the input whose asset tag the step lends (``case.asset_lent``)
    register: dict | None = None  # {key, title}: the register the step records in (its cases)

    # ``all_of`` or ``in_order``: every role of ``roles`` decides (see ``APPROVALS``); None: any one does
    approval: str | None = None

    @property
    def role(self) -> str:
        """The first role named (the one the manual's table shows first)."""
        return self.roles[0]

    @property
    def is_requester_step(self) -> bool:
        return self.roles == ("requester",)

    @property
    def joint(self) -> bool:
        """Several people decide it together (``all_of`` or ``in_order``)."""
        return self.approval is not None


@dataclass(frozen=True)
class Indicator:
    """An indicator (ตัวชี้วัด) of a pack or an SOP and its target (ค่าเป้าหมาย): see
    ``INDICATOR_KINDS``. ``target`` None: the manual names the indicator but states no figure."""

    key: str
    kind: str
    title: dict
    target: float | int | None = None
    step: str | None = None  # on_time_steps: this step's only
    unit: dict = field(default_factory=dict)  # what a count (completed) counts, {th, en}
    source: str = ""  # where the manual states it

    def met(self, actual) -> bool | None:
        """Whether ``actual`` reaches the target (for every kind, at least the target); None when
        there is no target or no actual figure."""
        if self.target is None or actual is None:
            return None
        return actual >= self.target


@dataclass(frozen=True)
class Period:
    """One period of planned work: ``key`` names it (``2570`` a fiscal year, ``2570-Q2`` its second
    quarter, ``2570-M03`` its third month, December), ``start``-``end`` its days, ``planned_on`` the
    day the pack plans (the case opens on the first working day from it)."""

    key: str
    start: date
    end: date
    planned_on: date
    label: dict


@dataclass(frozen=True)
class Schedule:
    """When planned work opens: ``every`` year, quarter or month of the Thai fiscal year (1 October
    to 30 September) on ``day`` of the period's ``fiscal_month`` (a year; 1 = October) or ``month``
    (a quarter: 1-3); ``per_asset``: the kind of asset each case is for (preventive maintenance:
    one case per asset of that kind, each period)."""

    every: str
    day: int = 1
    fiscal_month: int = 1
    month: int = 1
    per_asset: str | None = None

    def period(self, today: date) -> Period:
        """The period ``today`` is in."""
        fy = fiscal_year_be(today)
        fy_start, fy_end = fiscal_year_bounds(fy)
        index = (today.month - 10) % 12 + 1  # the fiscal month: October is 1
        if self.every == "year":
            first, months, planned_month, key = 1, 12, self.fiscal_month, str(fy)
            label = {"th": f"ปีงบประมาณ {fy}", "en": f"fiscal year {fy}"}
        elif self.every == "quarter":
            quarter = (index - 1) // 3 + 1
            first, months, planned_month, key = (quarter - 1) * 3 + 1, 3, (quarter - 1) * 3 + self.month, \
                f"{fy}-Q{quarter}"
            label = {"th": f"ไตรมาสที่ {quarter} ปีงบประมาณ {fy}", "en": f"quarter {quarter} of fiscal year {fy}"}
        else:
            first, months, planned_month, key = index, 1, index, f"{fy}-M{index:02d}"
            label = {"th": f"เดือนที่ {index} ปีงบประมาณ {fy}", "en": f"month {index} of fiscal year {fy}"}
        start = _fiscal_month_day(fy_start, first, 1)
        end = _fiscal_month_day(fy_start, first + months - 1, 31)
        return Period(key=key, start=start, end=min(end, fy_end), planned_on=_fiscal_month_day(fy_start,
                      planned_month, self.day), label=label)

    def due(self, today: date, next_working_day) -> list[Period]:
        """The periods whose case opens by ``today``: this period's, once its planned day's first
        working day (``next_working_day``, from the working calendar) has come, and the last
        period's when its planned day fell so late that its working day is in this period. An
        earlier period's is never opened late."""
        current = self.period(today)
        previous = self.period(current.start - timedelta(days=1))
        out = []
        opens = next_working_day(previous.planned_on)
        if previous.end < opens <= today:
            out.append(previous)
        if next_working_day(current.planned_on) <= today:
            out.append(current)
        return out


def _fiscal_month_day(fy_start: date, fiscal_month: int, day: int) -> date:
    """Day ``day`` (the month's last, if it has fewer) of fiscal month ``fiscal_month`` (1 = October)
    of the fiscal year starting ``fy_start``."""
    month0 = fy_start.month - 1 + fiscal_month - 1
    year, month = fy_start.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day, monthrange(year, month)[1]))


def _schedule(data: dict | None) -> Schedule | None:
    if not data:
        return None
    kind = None
    if data.get("per_asset"):
        kind, data = data["per_asset"]["kind"], data["per_asset"]
    on = data.get("on") or {}
    day = data.get("day") if data.get("day") is not None else on.get("day", 1)
    return Schedule(every=data["every"], day=day, fiscal_month=on.get("fiscal_month", 1), month=on.get("month", 1),
                    per_asset=kind)


@dataclass(frozen=True)
class Sop:
    pack: str
    key: str
    number: str
    title: dict
    summary: dict
    requester: bool
    deadline: Target
    form: tuple[FormField, ...]
    steps: tuple[Step, ...]
    pack_version: int
    schedule: Schedule | None = None  # planned work: when beat opens its cases (no requester)
    # working days a missed deadline waits at the heads before the director hears (escalation)
    escalate_after: int = DEFAULT_ESCALATE_AFTER
    indicators: tuple[Indicator, ...] = ()  # the SOP's own indicators and targets

    @property
    def full_key(self) -> str:
        return f"{self.pack}/{self.key}"

    @property
    def first_step(self) -> Step:
        return self.steps[0]

    def step(self, key: str) -> Step:
        for step in self.steps:
            if step.key == key:
                return step
        raise KeyError(key)

    def position(self, key: str) -> int:
        for index, step in enumerate(self.steps):
            if step.key == key:
                return index
        raise KeyError(key)

    def outcome_kind(self, step_key: str, outcome: Outcome, to: str | None) -> str:
        """forward, return (back to an earlier step, or to the requester for correction) or reject."""
        if outcome.kind:
            return outcome.kind
        if outcome.result == "rejected":
            return "reject"
        if self.step(step_key).wait == "requester":
            return "forward"  # the requester's answer hands the case back: not another return
        if to is not None and (self.position(to) <= self.position(step_key) or self.step(to).wait == "requester"):
            return "return"
        return "forward"

    def approving_outcome(self, step_key: str) -> str | None:
        """The one outcome of a joint step that approves (every other refuses: a return or a
        rejection); None for a step one person decides."""
        step = self.step(step_key)
        if not step.joint:
            return None
        return next(key for key, outcome in step.outcomes.items()
                    if self.outcome_kind(step_key, outcome, outcome.to) == "forward")


@dataclass(frozen=True)
class Pack:
    key: str
    version: int
    organisation: dict
    sops: dict[str, Sop]
    checksum: str = ""
    source: str = ""
    indicators: tuple[Indicator, ...] = ()  # the organisation's, over all its SOPs


class PackError(ValueError):
    """A pack that does not validate; the message names the file, the line and what is wrong."""


def _fields(items: list[dict]) -> tuple[FormField, ...]:
    return tuple(FormField(name=f["name"], type=f["type"], required=f["required"], max_length=f["max_length"],
                           label=f.get("label") or {}, choices=tuple(c["value"] for c in f["choices"]),
                           help=f.get("help") or {},
                           choice_labels={c["value"]: c["label"] for c in f["choices"] if c["label"]},
                           accept=tuple(f.get("accept") or (FILE_KINDS if f["type"] == "file" else ())),
                           multiple=bool(f.get("multiple")))
                 for f in items)


def common_outcomes() -> list[str]:
    """The outcome keys that have shared words (``outcome.<key>`` in shared's catalogue)."""
    return sorted(key.split(".", 1)[1] for key in i18n.MESSAGES if key.startswith("outcome."))


def _outcome_label(key: str, label: dict | None) -> dict:
    """An outcome's words: the pack's own label, else the shared words for a common outcome, with
    each language the pack leaves out taken from them too; empty when there is no Thai text (a
    label's English is optional, as for every text of a pack)."""
    shared_words = i18n.MESSAGES.get(f"outcome.{key}") or {}
    words = {**shared_words, **{lang: text for lang, text in (label or {}).items() if text}}
    return words if words.get(i18n.DEFAULT_LANGUAGE) else {}


def _outcome(key: str, data: dict) -> Outcome:
    branches = []
    for branch in data["branches"]:
        cond = branch["if_"]
        op = next(op for op in ("gt", "ge", "lt", "le", "eq") if op in cond)
        branches.append(Branch(Condition(cond["input"], op, cond[op]), branch["to"]))
    result = data.get("result") or ("completed" if data["to"] is None else None)
    return Outcome(key=key, to=data["to"], kind=data.get("kind") or "", result=result,
                   label=_outcome_label(key, data.get("label")) or data.get("label") or {},
                   note_required=data["note_required"], branches=tuple(branches))


def _indicator_data(items: list[dict]) -> tuple[Indicator, ...]:
    out = []
    for item in items or []:
        target = item.get("target")
        if target is not None:
            target = int(target) if item["kind"] == "completed" else float(target)
        out.append(Indicator(key=item["key"], kind=item["kind"], title=item["title"], target=target,
                             step=item.get("step"), unit=item.get("unit") or {}, source=item.get("source") or ""))
    return tuple(out)


def _build(data: dict, checksum: str = "", source: str = "") -> Pack:
    sops = {}
    for key, sop in data["sops"].items():
        steps = tuple(
            Step(key=s["key"], title=s["title"], roles=tuple(_role_names(s["role"])),
                 approval=next(iter(s["role"])) if isinstance(s["role"], dict) else None,
                 target=s["target"], wait=s["wait"],
                 documents=tuple(Document(d["key"], d["title"], d["required"], d["to_requester"])
                                 for d in s["documents"]),
                 inputs=_fields(s["inputs"]), appoints_team=s["appoints_team"], lends=s["lends"],
                 register=s["register"],
                 notify_requester=s["notify_requester"]["notify"],
                 message_required=s["notify_requester"]["message"] == "required",
                 outcomes={name: _outcome(name, o) for name, o in s["outcomes"].items()})
            for s in sop["steps"])
        sops[key] = Sop(pack=data["pack"], key=key, number=sop["number"], title=sop["title"],
                        summary=sop.get("summary") or {}, requester=sop["requester"], deadline=sop["deadline"],
                        form=_fields(sop["form"]), steps=steps, pack_version=data["version"],
                        schedule=_schedule(sop.get("schedule")),
                        escalate_after=(sop.get("escalate_after") or data.get("escalate_after")
                                        or DEFAULT_ESCALATE_AFTER),
                        indicators=_indicator_data(sop.get("indicators")))
    return Pack(key=data["pack"], version=data["version"], organisation=data["organisation"], sops=sops,
                checksum=checksum, source=source, indicators=_indicator_data(data.get("indicators")))


# ---------------------------------------------------------------------------------------------
# Reading YAML with line numbers, so that an error says where it is


def _line_index(node, path=(), index=None) -> dict:
    """Map every path in the YAML document (tuple of keys / list indexes) to its 1-based line."""
    index = {} if index is None else index
    index.setdefault(path, node.start_mark.line + 1)  # a key's own line, not its value's
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            index[path + (key,)] = key_node.start_mark.line + 1
            _line_index(value_node, path + (key,), index)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_index(item, path + (i,), index)
    return index


def _flatten(messages, path=()) -> list[tuple[tuple, str]]:
    out = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key in ("value", "_schema"):  # marshmallow's Dict value errors and schema-level errors
                out.extend(_flatten(value, path))
            else:
                out.extend(_flatten(value, path + (key,)))
    elif isinstance(messages, list):
        for item in messages:
            out.extend(_flatten(item, path))
    else:
        out.append((path, str(messages)))
    return out


def _nearest_line(lines: dict, path: tuple) -> int | None:
    path = tuple(int(p) if isinstance(p, str) and p.isdigit() else p for p in path)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())


# libyaml's safe loader where PyYAML was built with it (a tenth of the time: every process that
# starts reads the five packs), else PyYAML's own
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_pack(text: str, source: str = "<pack>") -> Pack:
    """Validate a pack's YAML text; raise ``PackError`` listing every problem as
    ``file:line: where: what``."""
    try:
        node = yaml.compose(text, Loader=_YAML_LOADER)
        raw = yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        raise PackError(f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from exc
    if not isinstance(raw, dict) or node is None:
        raise PackError(f"{source}:1: a pack is a mapping with pack, version, organisation and sops")
    lines = _line_index(node)
    try:
        data = PackSchema().load(raw)
    except ValidationError as exc:
        problems = []
        for path, message in _flatten(exc.messages):
            line = _nearest_line(lines, path)
            where = ".".join(str(p) for p in path) or "(top)"
            problems.append(f"{source}:{line}: {where}: {message}")
        raise PackError("\n".join(problems)) from exc
    checksum = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return _build(data, checksum=checksum, source=text)


def load_pack(path: Path) -> Pack:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PackError(f"{path}: cannot read: {exc}") from exc
    return parse_pack(text, source=str(path))


@functools.lru_cache(maxsize=1)
def builtin_packs() -> dict[str, Pack]:
    packs = {}
    for path in sorted(PACK_DIR.glob("*.yaml")):
        pack = load_pack(path)
        packs[pack.key] = pack
    return packs


def find_sop(full_key: str) -> Sop | None:
    """An SOP of the shipped packs by ``pack/sop`` key (the engine reads loaded versions instead)."""
    pack_key, _, sop_key = (full_key or "").partition("/")
    pack = builtin_packs().get(pack_key)
    return pack.sops.get(sop_key) if pack else None


def requester_sops() -> list[Sop]:
    return [sop for pack in builtin_packs().values() for sop in pack.sops.values() if sop.requester]


def walk_paths(sop: Sop, max_visits: int = 2) -> list[list[tuple[str, str, str | None]]]:
    """Every path through an SOP from its first step to an end, as lists of
    ``(step, outcome, next step)``, taking each branch and each loop at most ``max_visits`` times per
    step. Conditional branches count as separate paths (their condition is in ``branch_values``)."""
    paths: list = []

    def go(step_key: str, visits: dict, trail: list):
        step = sop.step(step_key)
        for name, outcome in step.outcomes.items():
            for destination in outcome.destinations:
                hop = (step_key, name, destination)
                if destination is None:
                    paths.append(trail + [hop])
                    continue
                if visits.get(destination, 0) >= max_visits:
                    continue
                go(destination, {**visits, destination: visits.get(destination, 0) + 1}, trail + [hop])

    go(sop.first_step.key, {sop.first_step.key: 1}, [])
    return paths


def branch_values(outcome: Outcome, destination: str | None) -> dict:
    """Values for an outcome's inputs that make it lead to ``destination`` (for tests and demos)."""
    for branch in outcome.branches:
        if branch.to == destination:
            cond = branch.condition
            nudge = {"gt": 1, "ge": 0, "lt": -1, "le": 0, "eq": 0}[cond.op]
            return {cond.input: cond.value if cond.op == "eq" else cond.value + nudge}
    values = {}
    for branch in outcome.branches:  # the default path: every condition false
        cond = branch.condition
        nudge = {"gt": -1, "ge": -1, "lt": 1, "le": 1, "eq": None}[cond.op]
        values[cond.input] = "__none__" if nudge is None else cond.value + nudge
    return values
