"""The organisation a new thing is for, as a body names it: only a system administrator needs to
(anyone else's things are of their own organisation; naming another is refused by the use case)."""
from __future__ import annotations

from marshmallow import fields, validate

from shared.openapi import checked
from shared.packs import KEY_PATTERN


def Org() -> fields.String:  # noqa: N802  (a field, like marshmallow's)
    return fields.String(allow_none=True, load_default=None,
                         validate=[validate.Length(min=1, max=50),
                                   validate.Regexp(KEY_PATTERN, error="not an organisation's key")],
                         metadata={"pattern": KEY_PATTERN, **checked(
                             "required of a system administrator; anyone else's is their own organisation",
                             description="the organisation (its pack's key, e.g. sesao-sc) this is for")})


def OrgOut() -> fields.String:  # noqa: N802
    """The organisation a thing is of, in an answer (read-only: set when it is made)."""
    return fields.String(dump_only=True, metadata={"description": "the organisation (its pack's key) this is of"})
