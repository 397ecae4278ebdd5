"""The asset register as a CSV file: import (all or nothing) and export (the same columns, so an
exported file imports back).

The file
  * UTF-8, with or without a byte-order mark (Excel's "CSV UTF-8" writes one; the export writes
    one too, so Excel shows Thai correctly). Comma separated, a header row first.
  * Columns (header names, any order): ``tag, kind, model, serial, location, holder,
    vendor_tax_id, acquired_on, price, warranty_ends_on, ownership, status``. ``tag`` and
    ``kind`` are required; the others may be left out of the header. An unknown column is an
    error (a misspelt one would otherwise be dropped without a word).
  * Dates (``acquired_on``, ``warranty_ends_on``): ISO ``2026-11-18``, or Thai day/month/year in
    the Buddhist era ``18/11/2569`` (a year from 2400 on is read as Buddhist era; ``18/11/2026``
    works too). The export writes ISO.
  * ``price``: baht with up to two decimals (``12500`` or ``12500.00``), no thousands separators.
  * ``ownership``: ``owned`` (default) or ``leased``; ``status``: ``in_use`` (default),
    ``in_repair``, ``retired``; ``on_loan`` only for an asset that is on loan already (loans are
    recorded through the API, never by a file).
  * ``vendor_tax_id``: 13 digits of a vendor registered already.

Modes
  * ``create`` (default): every row is a new asset; a tag registered already is an error.
  * ``upsert``: a row whose tag is registered updates that asset (the columns the file has; an
    empty cell empties the field or sets its default), the others are created.

All or nothing: every row is validated first (the marshmallow ``AssetCsvRowSchema``, duplicate
tags inside the file, unknown vendors, registered tags in ``create`` mode); if any row is bad,
nothing is written and each bad row is reported with its line number (the header is line 1) and
its fields' messages. Good files are written in bulk, in chunks, in one transaction.

Organisations: a file is imported into one organisation's register (``org``: the importing
person's, or the one a system administrator or the command line names); its tags and vendors'
tax ids are looked up in that register only. The export writes the register of the organisation
the person sees (every organisation's for a system administrator, or the one named).
"""
from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from marshmallow import ValidationError
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from services.procurement.adapters.bus import bus
from services.procurement.adapters.models import AccessLog, Asset, Vendor
from shared.said import Said
from services.procurement.handlers.common import of_org, org_for_new, utc_now
from services.procurement.schemas.assets import AssetCsvRowSchema
from shared.audit import log_access
from shared.auth import Staff

COLUMNS = ("tag", "kind", "model", "serial", "location", "holder", "vendor_tax_id", "acquired_on", "price",
           "warranty_ends_on", "ownership", "status")
REQUIRED_COLUMNS = ("tag", "kind")
MODES = ("create", "upsert")
CHUNK = 1000
FILE_LINE = 1  # file-level problems (encoding, header) are reported on the header's line

Progress = Callable[[str, int, int], None]  # (stage, done, total): stages "validating", "writing"


@dataclass
class RowError:
    line: int
    tag: str | None
    errors: dict[str, list[str]]

    def as_dict(self) -> dict:
        return {"line": self.line, "tag": self.tag, "errors": self.errors}

    def text(self) -> str:
        where = f"line {self.line}" + (f" ({self.tag})" if self.tag else "")
        return where + ": " + "; ".join(f"{name}: {' '.join(messages)}" if name != "_schema" else " ".join(messages)
                                        for name, messages in self.errors.items())


@dataclass
class ImportResult:
    mode: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    rejected: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejected

    def as_dict(self) -> dict:
        return {"mode": self.mode, "rows": self.rows, "created": self.created, "updated": self.updated,
                "rejected": [r.as_dict() for r in self.rejected]}


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


def _decode(source) -> str:
    if hasattr(source, "read"):
        source = source.read()
    if isinstance(source, str):
        return source.removeprefix("\ufeff")
    return bytes(source).decode("utf-8-sig")


def _read(text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the records, each with the line it starts on (a quoted cell may hold line
    breaks, so records and lines differ)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    records: list[tuple[int, list[str]]] = []
    last_line = 0
    for cells in reader:
        start = last_line + 1
        last_line = reader.line_num
        if not cells or all(not c.strip() for c in cells):
            continue  # blank lines are no rows
        if header is None:
            header = [c.strip().lower() for c in cells]
            continue
        records.append((start, cells))
    return header or [], records


def _check_header(header: list[str]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not header:
        return {"_schema": ["the file is empty: a header row is needed"]}
    unknown = [c for c in header if c not in COLUMNS]
    if unknown:
        errors["header"] = [Said("csv_unknown_columns", f"unknown columns: {', '.join(unknown)} (the columns are "
                                  f"{', '.join(COLUMNS)})", unknown=", ".join(unknown), columns=", ".join(COLUMNS))]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        errors.setdefault("header", []).append(Said("csv_missing_columns", f"missing columns: {', '.join(missing)}",
                                                         missing=", ".join(missing)))
    doubled = sorted({c for c in header if header.count(c) > 1})
    if doubled:
        errors.setdefault("header", []).append(Said("csv_doubled_columns", f"columns given twice: {', '.join(doubled)}",
                                                         doubled=", ".join(doubled)))
    return errors


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def org_of(staff: Staff, named: str | None = None) -> str:
    """The organisation whose register ``staff`` imports into (422 on ``org`` when a system
    administrator names none, or someone names another than their own)."""
    return org_for_new(staff, named)


def import_assets(source, mode: str = "create", progress: Progress | None = None, now: datetime | None = None,
                  chunk: int = CHUNK, *, org: str) -> ImportResult:
    """Validate every row of an asset CSV (bytes, text or a binary file) against ``org``'s
    register, then write them all in one transaction, or, if any row is bad, write nothing and
    report the bad rows."""
    if mode not in MODES:
        raise ValueError(f"mode is one of {', '.join(MODES)}")
    if not org:
        raise ValueError("an import is into one organisation's register: org")
    progress = progress or _no_progress
    now = utc_now(now)
    result = ImportResult(mode=mode)
    try:
        text = _decode(source)
    except UnicodeDecodeError as exc:
        result.rejected.append(RowError(FILE_LINE, None, {"_schema": [
            Said("csv_not_utf8", f"the file is not UTF-8 text (byte {exc.start}): save it as CSV UTF-8",
                 byte=exc.start)]}))
        return result
    try:
        header, records = _read(text)
    except csv.Error as exc:
        result.rejected.append(RowError(FILE_LINE, None, {"_schema": [Said("csv_not_csv", f"not a CSV file: {exc}", problem=str(exc))]}))
        return result
    header_errors = _check_header(header)
    if header_errors:
        result.rejected.append(RowError(FILE_LINE, None, header_errors))
        return result
    total = len(records)
    result.rows = total
    if total == 0:
        return result

    # 1. each row on its own: cells, then the schema
    schema = AssetCsvRowSchema()
    errors: dict[int, dict[str, list[str]]] = {}
    tags: dict[int, str | None] = {}
    rows: list[tuple[int, dict]] = []
    first_line_of: dict[str, int] = {}
    width = len(header)
    step = max(1, total // 200)
    progress("validating", 0, total)
    for done, (line, cells) in enumerate(records, 1):
        raw = dict(zip(header, cells))
        tag = (raw.get("tag") or "").strip() or None
        tags[line] = tag
        if len(cells) > width:
            errors[line] = {"_schema": [Said("csv_cells", f"{len(cells)} cells, but the header has {width} columns",
                                                 cells=len(cells), width=width)]}
        else:
            try:
                rows.append((line, schema.load(raw)))
            except ValidationError as exc:
                errors[line] = {name: [str(m) for m in (msgs if isinstance(msgs, list) else [msgs])]
                                for name, msgs in exc.messages.items()}
        if tag is not None:
            if tag in first_line_of:
                errors.setdefault(line, {}).setdefault("tag", []).append(
                    Said("csv_tag_twice", f"the tag is on line {first_line_of[tag]} already", line=first_line_of[tag]))
            else:
                first_line_of[tag] = line
        if done % step == 0 or done == total:
            progress("validating", done, total)

    # 2. against the register: vendors by tax id, tags registered already
    good = [(line, row) for line, row in rows if line not in errors]
    vendor_ids: dict[str, int] = {}
    existing: dict[str, tuple[int, str]] = {}
    with bus.session() as session:
        tax_ids = sorted({row["vendor_tax_id"] for _, row in good if row.get("vendor_tax_id")})
        for part in _chunks(tax_ids, chunk):
            vendor_ids.update(session.execute(select(Vendor.tax_id, Vendor.id).where(Vendor.org == org,
                                                                              Vendor.tax_id.in_(part))).all())
        for part in _chunks([row["tag"] for _, row in good], chunk):
            for asset_id, tag, status in session.execute(
                    select(Asset.id, Asset.tag, Asset.status).where(Asset.org == org, Asset.tag.in_(part))):
                existing[tag] = (asset_id, status)
    for line, row in good:
        problems: dict[str, list[str]] = {}
        if row.get("vendor_tax_id") and row["vendor_tax_id"] not in vendor_ids:
            problems["vendor_tax_id"] = ["no vendor with this tax id is registered"]
        registered = existing.get(row["tag"])
        if registered is not None and mode == "create":
            problems["tag"] = ["an asset with this tag is registered already (import with mode upsert to update it)"]
        elif registered is not None and "status" in header:
            was = registered[1]
            if was == "on_loan" and row["status"] != "on_loan":
                problems["status"] = ["the asset is on loan: record its return first"]
            elif was != "on_loan" and row["status"] == "on_loan":
                problems["status"] = ["on_loan is set by recording a loan, not by a file"]
        elif row["status"] == "on_loan":
            problems["status"] = ["on_loan is set by recording a loan, not by a file"]
        if problems:
            errors[line] = problems
    if errors:
        result.rejected = [RowError(line, tags.get(line), errors[line]) for line in sorted(errors)]
        return result

    # 3. all good: write them in bulk, in one transaction
    present = set(header)
    inserts: list[dict] = []
    updates: list[dict] = []
    for _, row in good:
        values = {name: row[name] for name in COLUMNS if name not in ("tag", "vendor_tax_id")}
        values["vendor_id"] = vendor_ids.get(row["vendor_tax_id"]) if row.get("vendor_tax_id") else None
        registered = existing.get(row["tag"])
        if registered is None:
            inserts.append({"org": org, "tag": row["tag"], **values, "note": "", "created_at": now, "updated_at": now})
        else:
            changed = {name: value for name, value in values.items()
                       if name in present or (name == "vendor_id" and "vendor_tax_id" in present)}
            updates.append({"id": registered[0], **changed, "updated_at": now})
    written = 0
    progress("writing", 0, total)
    with bus.unit_of_work() as uow:
        try:
            # a Core insert of the table: one multi-row INSERT per chunk (the ORM's bulk insert
            # splits a chunk wherever the set of empty columns changes from one row to the next)
            for part in _chunks(inserts, chunk):
                uow.session.execute(insert(Asset.__table__), part)
                written += len(part)
                progress("writing", written, total)
            for part in _chunks(updates, chunk):
                uow.session.execute(update(Asset), part)
                written += len(part)
                progress("writing", written, total)
            uow.commit()
        except IntegrityError:
            uow.rollback()
            result.rejected.append(RowError(FILE_LINE, None, {"_schema": [
                "a tag of the file was registered by someone else meanwhile; nothing was imported: try again"]}))
            return result
    result.created, result.updated = len(inserts), len(updates)
    return result


# ---------------------------------------------------------------------------------------------
# export


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def export_rows(staff: Staff, purpose: str = "asset register: CSV export",
                org: str | None = None) -> Iterable[list[str]]:
    """The header, then every asset ``staff`` sees (of ``org`` only, when given) by tag, as CSV
    cells. The export shows holders: it is logged."""
    yield list(COLUMNS)
    query = (select(Asset.tag, Asset.kind, Asset.model, Asset.serial, Asset.location, Asset.holder, Vendor.tax_id,
                    Asset.acquired_on, Asset.price, Asset.warranty_ends_on, Asset.ownership, Asset.status)
             .outerjoin(Vendor, Vendor.id == Asset.vendor_id).order_by(Asset.tag, Asset.org))
    query = of_org(query, Asset.org, staff)
    if org:
        query = query.where(Asset.org == org)
    with bus.session() as session:
        log_access(session, AccessLog, staff, "asset_register", "export", purpose)
        session.commit()
        for row in session.execute(query.execution_options(yield_per=2000)):
            yield [_cell(v) for v in row]


def export_text(staff: Staff, purpose: str = "asset register: CSV export", org: str | None = None) -> str:
    """The whole register as CSV text, starting with a byte-order mark (Excel reads Thai then)."""
    out = io.StringIO(newline="")
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    for cells in export_rows(staff, purpose, org):
        writer.writerow(cells)
    return out.getvalue()


def export_file(path, staff: Staff, purpose: str = "asset register: CSV export", org: str | None = None) -> int:
    """Write the register to ``path`` (UTF-8 with a byte-order mark); returns the assets written."""
    count = -1
    with open(path, "w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        for cells in export_rows(staff, purpose, org):
            writer.writerow(cells)
            count += 1
    return count
