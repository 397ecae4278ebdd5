"""The privacy officer's reading of a service's access log (``shared.audit``): who read whose
personal data, when, from where and why; filterable by period, reader, kind of record and record,
as JSON or as a CSV file. Every service registers ``access_log_blueprint`` (``GET
/<service>/access-log``); an organisation's privacy officer (and its administrators) read their
organisation's rows, a system administrator every row. Reading the log is itself logged."""
from __future__ import annotations

import csv
import io
from datetime import datetime, time, timedelta

from flask import Response, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import false, select

from shared.audit import log_access
from shared.auth import current_staff, staff_required
from shared.i18n import BANGKOK
from shared.inputs import Offset
from shared.web import FieldErrorsSchema

COLUMNS = ("at", "service", "actor", "actor_roles", "address", "org", "record", "record_id", "purpose")


class AccessLogQuerySchema(Schema):
    since = fields.Date(metadata={"description": "from this day (Bangkok), inclusive"})
    until = fields.Date(metadata={"description": "to this day (Bangkok), inclusive"})
    actor = fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "who read"})
    record = fields.String(validate=validate.Length(min=1, max=100),
                           metadata={"description": "the kind of record read: case, attachment, message, ..."})
    record_id = fields.String(validate=validate.Length(min=1, max=100),
                              metadata={"description": "one record: a tracking code, a file's id, ..."})
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv")),
                           metadata={"description": "json, or csv for a file (UTF-8 with BOM)"})
    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=5000))
    offset = Offset()


class AccessLogEntrySchema(Schema):
    at = fields.AwareDateTime(required=True)
    service = fields.String(required=True)
    actor = fields.String(required=True, metadata={"description": "the staff member (cli:<login> for a command)"})
    actor_roles = fields.String(required=True)
    address = fields.String(allow_none=True, metadata={"description": "from where: an address, or 'command line'"})
    org = fields.String(allow_none=True, metadata={"description": "the organisation whose data was read"})
    record = fields.String(required=True)
    record_id = fields.String(required=True)
    purpose = fields.String(required=True)


def rows_for(session, model, staff, since=None, until=None, actor=None, record=None, record_id=None,
             limit: int = 200, offset: int = 0) -> list:
    """The log's rows ``staff`` may read (their organisation's; every row for a system
    administrator), newest first, filtered."""
    query = select(model).order_by(model.at.desc(), model.id).limit(limit).offset(offset)
    if not staff.sees_all:
        query = query.where(model.org == staff.org if staff.org else false())
    if since is not None:
        query = query.where(model.at >= datetime.combine(since, time(), BANGKOK))
    if until is not None:
        query = query.where(model.at < datetime.combine(until + timedelta(days=1), time(), BANGKOK))
    for column, value in ((model.actor, actor), (model.record, record), (model.record_id, record_id)):
        if value:
            query = query.where(column == value)
    return list(session.scalars(query))


def as_dicts(service: str, rows) -> list[dict]:
    return [{"at": row.at, "service": service, "actor": row.actor, "actor_roles": row.actor_roles,
             "address": row.address, "org": row.org, "record": row.record, "record_id": row.record_id,
             "purpose": row.purpose} for row in rows]


def to_csv(entries: list[dict]) -> str:
    """The rows as a CSV file Excel opens in Thai (UTF-8 with a BOM), times in Bangkok."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for entry in entries:
        writer.writerow([entry["at"].astimezone(BANGKOK).isoformat() if column == "at" else (entry[column] or "")
                         for column in COLUMNS])
    return out.getvalue()


def access_log_blueprint(service: str, model, bus) -> Blueprint:
    """``GET /<service>/access-log`` for ``service``, whose log is ``model`` (its ``AccessLog``)."""
    blp = Blueprint(f"{service}_access_log", __name__, url_prefix=f"/{service}",
                    description="Who read whose personal data (PDPA): the privacy officer's")

    @blp.route("/access-log")
    @staff_required("privacy-officer")
    @blp.doc(security=[{"bearer": []}],
             summary="Who read whose personal data in this service, when, from where and why (newest first): "
                     "the caller's organisation's (every organisation's for a system administrator); "
                     "format=csv for a file. The read is logged too",
             responses={"200": {"content": {"application/json": {"schema": AccessLogEntrySchema(many=True)},
                                            "text/csv": {"schema": {"type": "string"}}}}})
    @blp.arguments(AccessLogQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, AccessLogEntrySchema(many=True))
    @blp.alt_response(401, schema=FieldErrorsSchema)
    @blp.alt_response(403, schema=FieldErrorsSchema, description="privacy officers and administrators only")
    def access_log(format: str = "json", **filters):
        staff = current_staff()
        with bus.session() as session:
            entries = as_dicts(service, rows_for(session, model, staff, **filters))
            shown = ",".join(f"{k}={v}" for k, v in sorted(filters.items()) if v not in (None, ""))
            log_access(session, model, staff, "access_log", request.path, f"read of the access log ({shown})"[:200])
            session.commit()
        if format == "csv":
            return Response(to_csv(entries), mimetype="text/csv",
                            headers={"Content-Disposition": f'attachment; filename="{service}-access-log.csv"',
                                     "Cache-Control": "private, no-store"})
        return entries

    return blp
