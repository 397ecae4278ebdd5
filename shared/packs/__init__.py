"""SOP packs: one YAML file per organisation's manual, read into plain data.

This is the minimal reader the walking skeleton needs (SOP titles, request forms, the steps and
where each outcome leads). Intake builds its forms from it and assignment opens cases at an SOP's
first step; the full engine (targets, waits, versions, ``sopdesk packs``) grows from here.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import yaml
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

PACK_DIR = Path(__file__).parent
KEY = validate.Regexp(r"^[a-z0-9][a-z0-9-]*$")
TEXTS = fields.Dict(keys=fields.String(validate=validate.OneOf(("th", "en"))), values=fields.String())


class FormFieldSchema(Schema):
    name = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]*$"))
    type = fields.String(required=True, validate=validate.OneOf(("text", "textarea", "date", "email", "select")))
    required = fields.Boolean(load_default=False)
    max_length = fields.Integer(load_default=2000, validate=validate.Range(min=1, max=20000))
    label = TEXTS
    choices = fields.List(fields.String(), load_default=list)


class StepSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    key = fields.String(required=True, validate=KEY)
    title = TEXTS
    role = fields.String(required=True)
    wait = fields.String(load_default=None)
    notify_requester = fields.Boolean(load_default=False)
    outcomes = fields.Dict(keys=fields.String(validate=KEY), values=fields.String(allow_none=True),
                           required=True, validate=validate.Length(min=1))


class SopSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    number = fields.String(load_default="")
    title = TEXTS
    requester = fields.Boolean(load_default=False)
    form = fields.List(fields.Nested(FormFieldSchema), load_default=list)
    steps = fields.List(fields.Nested(StepSchema), required=True, validate=validate.Length(min=1))

    @validates_schema
    def _outcomes_lead_to_steps(self, data, **_):
        keys = [step["key"] for step in data["steps"]]
        if len(keys) != len(set(keys)):
            raise ValidationError("step keys must be unique", "steps")
        for step in data["steps"]:
            for outcome, target in step["outcomes"].items():
                if target is not None and target not in keys:
                    raise ValidationError(f"step {step['key']}: outcome {outcome} leads to unknown step {target}",
                                          "steps")


class PackSchema(Schema):
    pack = fields.String(required=True, validate=KEY)
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    organisation = TEXTS
    sops = fields.Dict(keys=fields.String(validate=KEY), values=fields.Nested(SopSchema), required=True)


@dataclass(frozen=True)
class FormField:
    name: str
    type: str
    required: bool
    max_length: int
    label: dict
    choices: tuple[str, ...]


@dataclass(frozen=True)
class Step:
    key: str
    title: dict
    role: str
    wait: str | None
    notify_requester: bool
    outcomes: dict


@dataclass(frozen=True)
class Sop:
    pack: str
    key: str
    number: str
    title: dict
    requester: bool
    form: tuple[FormField, ...]
    steps: tuple[Step, ...]
    pack_version: int

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


@dataclass(frozen=True)
class Pack:
    key: str
    version: int
    organisation: dict
    sops: dict[str, Sop]


class PackError(ValueError):
    """A pack file that does not validate; the message names the file and what is wrong."""


def load_pack(path: Path) -> Pack:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PackError(f"{path}: not valid YAML: {exc}") from exc
    try:
        data = PackSchema().load(raw)
    except ValidationError as exc:
        raise PackError(f"{path}: {exc.messages}") from exc
    sops = {}
    for key, sop in data["sops"].items():
        sops[key] = Sop(
            pack=data["pack"],
            key=key,
            number=sop["number"],
            title=sop.get("title") or {},
            requester=sop["requester"],
            form=tuple(FormField(name=f["name"], type=f["type"], required=f["required"],
                                 max_length=f["max_length"], label=f.get("label") or {},
                                 choices=tuple(f["choices"])) for f in sop["form"]),
            steps=tuple(Step(key=s["key"], title=s.get("title") or {}, role=s["role"], wait=s["wait"],
                             notify_requester=s["notify_requester"], outcomes=dict(s["outcomes"]))
                        for s in sop["steps"]),
            pack_version=data["version"],
        )
    return Pack(key=data["pack"], version=data["version"], organisation=data.get("organisation") or {}, sops=sops)


@functools.lru_cache(maxsize=1)
def builtin_packs() -> dict[str, Pack]:
    packs = {}
    for path in sorted(PACK_DIR.glob("*.yaml")):
        pack = load_pack(path)
        packs[pack.key] = pack
    return packs


def find_sop(full_key: str) -> Sop | None:
    pack_key, _, sop_key = (full_key or "").partition("/")
    pack = builtin_packs().get(pack_key)
    return pack.sops.get(sop_key) if pack else None


def requester_sops() -> list[Sop]:
    return [sop for pack in builtin_packs().values() for sop in pack.sops.values() if sop.requester]
