"""Procurement's API for vendors, the asset register (with loans, claims, CSV import and export).
Thin: parse with the schemas, call ``vendors`` / ``assets`` / ``csvio``, answer."""
from __future__ import annotations

from flask import Response, jsonify, request
from flask_smorest import Blueprint

from services.procurement import assets, csvio, vendors
from services.procurement.asset_schemas import (AssetDetailSchema, AssetInSchema, AssetPageSchema, AssetPatchSchema,
                                                AssetQuerySchema, ClaimQuerySchema, ClaimSchema, ContactInSchema,
                                                ContactSchema, ImportFormSchema, ImportResultSchema, LoanInSchema,
                                                LoanReturnSchema, LoanSchema, VendorDetailSchema, VendorInSchema,
                                                VendorPageSchema, VendorPatchSchema, VendorQuerySchema)
from services.procurement.errors import ProcurementError
from shared import i18n
from shared.auth import current_staff, staff_required
from shared.web import FieldErrorsSchema, error_response

blp = Blueprint("procurement_assets", __name__, url_prefix="/procurement",
                description="Vendors and their contacts; the asset register, its loans, claims and CSV files")

READ = assets.READ_ROLES
WRITE = assets.WRITE_ROLES
LOANS = assets.LOAN_ROLES
BEARER = [{"bearer": []}]


def _failed(exc: ProcurementError):
    return error_response(exc.status, exc.errors, exc.message)


# --- vendors ------------------------------------------------------------------------------------


@blp.route("/vendors")
@staff_required(*READ)
@blp.doc(security=BEARER, summary="Vendors by name (q: part of the name or the start of the tax id)")
@blp.arguments(VendorQuerySchema, location="query", as_kwargs=True)
@blp.response(200, VendorPageSchema)
@blp.alt_response(401, schema=FieldErrorsSchema)
@blp.alt_response(403, schema=FieldErrorsSchema)
def vendor_list(**filters):
    return vendors.list_vendors(**filters)


@blp.route("/vendors", methods=["POST"])
@staff_required(*WRITE)
@blp.doc(security=BEARER, summary="Register a vendor (with its contacts)")
@blp.arguments(VendorInSchema)
@blp.response(201, VendorDetailSchema)
@blp.alt_response(401, schema=FieldErrorsSchema)
@blp.alt_response(403, schema=FieldErrorsSchema)
@blp.alt_response(409, schema=FieldErrorsSchema, description="a vendor with this tax id is registered")
@blp.alt_response(422, schema=FieldErrorsSchema)
def vendor_create(data):
    try:
        return vendors.create_vendor(current_staff(), data)
    except ProcurementError as exc:
        return _failed(exc)


@blp.route("/vendors/<int:vendor_id>")
@staff_required(*READ)
@blp.doc(security=BEARER, summary="A vendor with its contacts (the read is logged), contracts, quotes and claims")
@blp.response(200, VendorDetailSchema)
@blp.alt_response(401, schema=FieldErrorsSchema)
@blp.alt_response(403, schema=FieldErrorsSchema)
@blp.alt_response(404, schema=FieldErrorsSchema)
def vendor_read(vendor_id: int):
    try:
        return vendors.vendor_detail(current_staff(), vendor_id)
    except ProcurementError as exc:
        return _failed(exc)


@blp.route("/vendors/<int:vendor_id>", methods=["PATCH"])
@staff_required(*WRITE)
@blp.doc(security=BEARER, summary="Change a vendor")
@blp.arguments(VendorPatchSchema)
@blp.response(200, VendorDetailSchema)
@blp.alt_response(401, schema=FieldErrorsSchema)
@blp.alt_response(403, schema=FieldErrorsSchema)
@blp.alt_response(404, schema=FieldErrorsSchema)
@blp.alt_response(409, schema=FieldErrorsSchema)
@blp.alt_response(422, schema=FieldErrorsSchema)
def vendor_update(data, vendor_id: int):
    try:
        return vendors.update_vendor(current_staff(), vendor_id, data)
    except ProcurementError as exc:
        return _failed(exc)


@blp.route("/vendors/<int:vendor_id>/contacts", methods=["POST"])
@staff_required(*WRITE)
@blp.doc(security=BEARER, summary="Add a contact person to a vendor")
@blp.arguments(ContactInSchema)
@blp.response(201, ContactSchema)
@blp.alt_response(401, schema=FieldErrorsSchema)
@blp.alt_response(403, schema=FieldErrorsSchema)
@blp.alt_response(404, schema=FieldErrorsSchema)
@blp.alt_response(422, schema=FieldErrorsSchema)
def contact_add(data, vendor_id: int):
    try:
        return vendors.add_contact(current_staff(), vendor_id, data)
    except ProcurementError as exc:
        return _failed(exc)


@blp.route("/vendors/<int:vendor_id>/contacts/<int:contact_id>", methods=["DELETE"])
@staff_required(*WRITE)
@blp.doc(security=BEARER, summary="Remove a contact person of a vendor")
@blp.response(204)
@blp.alt_response(401, schema=FieldErrorsSchema)
@blp.alt_response(403, schema=FieldErrorsSchema)
@blp.alt_response(404, schema=FieldErrorsSchema)
def contact_delete(vendor_id: int, contact_id: int):
    try:
        vendors.delete_contact(current_staff(), vendor_id, contact_id)
    except ProcurementError as exc:
        return _failed(exc)
    return None


# --- assets -------------------------------------------------------------------------------------


@blp.route("/assets")
@staff_required(*READ)
@blp.doc(security=BEARER, summary="The asset register, a page at a time, with the total the filters match")
@blp.arguments(AssetQuerySchema, location="query", as_kwargs=True)
@blp.response(200, AssetPageSchema)
@blp.alt_response(401, schema=FieldErrorsSchema)
@blp.alt_response(403, schema=FieldErrorsSchema)
def asset_list(**filters):
    return assets.list_assets(current_staff(), **filters)


@blp.route("/assets", methods=["POST"])
@staff_required(*WRITE)
@blp.doc(security=BEARER, summary="Register an asset (vendor by vendor_id or vendor_tax_id)")
@blp.arguments(AssetInSchema)
@blp.response(201, AssetDetailSchema)
@blp.alt_response(401, schema=FieldErrorsSchema)
@blp.alt_response(403, schema=FieldErrorsSchema)
@blp.alt_response(409, schema=FieldErrorsSchema, description="the tag is registered already")
@blp.alt_response(422, schema=FieldErrorsSchema)
def asset_create(data):
    try:
        return assets.create_asset(current_staff(), data)
    except ProcurementError as exc:
        return _failed(exc)


@blp.route("/assets/export.csv")
@staff_required(*READ)
@blp.doc(security=BEARER, summary="The whole register as CSV (UTF-8 with a byte-order mark; the import's columns)",
         responses={"200": {"description": "text/csv", "content": {"text/csv": {}}}})
@blp.alt_response(401, schema=FieldErrorsSchema)
@blp.alt_response(403, schema=FieldErrorsSchema)
def asset_export():
    text = csvio.export_text(current_staff(), "asset register: CSV export over HTTP")
    return Response(text.encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Type": "text/csv; charset=utf-8",
                             "Content-Disposition": 'attachment; filename="assets.csv"',
                             "X-Content-Type-Options": "nosniff"})


@blp.route("/assets/import", methods=["POST"])
@staff_required(*WRITE)
@blp.doc(security=BEARER,
         summary="Import an asset CSV (multipart field `file`): all rows or none",
         description="Columns, dates (ISO or Thai 18/11/2569) and the modes are those of `sopdesk assets import`. "
                     "A file with any bad row imports nothing: 422 with `rejected`, each row's line number "
                     "(the header is line 1) and its fields' messages.",
         requestBody={"required": True, "content": {"multipart/form-data": {"schema": {
             "type": "object", "required": ["file"],
             "properties": {"file": {"type": "string", "format": "binary"},
                            "mode": {"type": "string", "enum": ["create", "upsert"], "default": "create"}}}}}})
@blp.arguments(ImportFormSchema, location="form")
@blp.response(200, ImportResultSchema)
@blp.alt_response(401, schema=FieldErrorsSchema)
@blp.alt_response(403, schema=FieldErrorsSchema)
@blp.alt_response(422, schema=FieldErrorsSchema, description="bad rows (nothing was imported), or no file")
def asset_import(form):
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return error_response(422, {"file": ["send the CSV file as the multipart field `file`"]})
    result = csvio.import_assets(upload.stream, mode=form["mode"])
    if not result.ok:
        lang = i18n.current_language()
        count = len(result.rejected)
        body = {"code": 422, "status": "Unprocessable Entity",
                "message": (f"ไม่ได้นำเข้าข้อมูลใดเลย: มี {count} แถวที่ไม่ถูกต้อง" if lang == "th"
                            else f"Nothing was imported: {count} rows are wrong."),
                "errors": {f"line {r.line}": [r.text()] for r in result.rejected},
                "rejected": [r.as_dict() for r in result.rejected]}
        response = jsonify(body)
        response.status_code = 422
        return response
    return {"mode": result.mode, "rows": result.rows, "created": result.created, "updated": result.updated}


@blp.route("/assets/<path:tag>")
@staff_required(*READ)
@blp.doc(security=BEARER, summary="An asset by tag, with its open loan and its claims")
@blp.response(200, AssetDetailSchema)
@blp.alt_response(401, schema=FieldErrorsSchema)
@blp.alt_response(403, schema=FieldErrorsSchema)
@blp.alt_response(404, schema=FieldErrorsSchema)
def asset_read(tag: str):
    try:
        return assets.asset_detail(current_staff(), tag)
    except ProcurementError as exc:
        return _failed(exc)


@blp.route("/assets/<path:tag>", methods=["PATCH"])
@staff_required(*LOANS)
@blp.doc(security=BEARER, summary="Change an asset (an officer: only status in_use/in_repair and note)")
@blp.arguments(AssetPatchSchema)
@blp.response(200, AssetDetailSchema)
@blp.alt_response(401, schema=FieldErrorsSchema)
@blp.alt_response(403, schema=FieldErrorsSchema)
@blp.alt_response(404, schema=FieldErrorsSchema)
@blp.alt_response(409, schema=FieldErrorsSchema, description="on loan, or retired")
@blp.alt_response(422, schema=FieldErrorsSchema)
def asset_update(data, tag: str):
    try:
        return assets.update_asset(current_staff(), tag, data)
    except ProcurementError as exc:
        return _failed(exc)


@blp.route("/assets/<path:tag>/loans")
@staff_required(*READ)
@blp.doc(security=BEARER, summary="The loans of an asset, newest first (borrowers: the read is logged)")
@blp.response(200, LoanSchema(many=True))
@blp.alt_response(401, schema=FieldErrorsSchema)
@blp.alt_response(403, schema=FieldErrorsSchema)
@blp.alt_response(404, schema=FieldErrorsSchema)
def loan_list(tag: str):
    try:
        return assets.list_loans(current_staff(), tag)
    except ProcurementError as exc:
        return _failed(exc)


@blp.route("/assets/<path:tag>/loans", methods=["POST"])
@staff_required(*LOANS)
@blp.doc(security=BEARER, summary="Lend an asset in use (it goes on_loan; one open loan per asset)")
@blp.arguments(LoanInSchema)
@blp.response(201, LoanSchema)
@blp.alt_response(401, schema=FieldErrorsSchema)
@blp.alt_response(403, schema=FieldErrorsSchema)
@blp.alt_response(404, schema=FieldErrorsSchema)
@blp.alt_response(409, schema=FieldErrorsSchema, description="not in use: on loan, in repair or retired")
@blp.alt_response(422, schema=FieldErrorsSchema)
def loan_create(data, tag: str):
    try:
        return assets.lend(current_staff(), tag, data)
    except ProcurementError as exc:
        return _failed(exc)


@blp.route("/assets/<path:tag>/loans/<int:loan_id>/return", methods=["POST"])
@staff_required(*LOANS)
@blp.doc(security=BEARER, summary="Record the return of a loan (the asset is in use again)")
@blp.arguments(LoanReturnSchema)
@blp.response(200, LoanSchema)
@blp.alt_response(401, schema=FieldErrorsSchema)
@blp.alt_response(403, schema=FieldErrorsSchema)
@blp.alt_response(404, schema=FieldErrorsSchema)
@blp.alt_response(409, schema=FieldErrorsSchema, description="returned already")
@blp.alt_response(422, schema=FieldErrorsSchema)
def loan_return(data, tag: str, loan_id: int):
    try:
        return assets.return_loan(current_staff(), tag, loan_id, data)
    except ProcurementError as exc:
        return _failed(exc)


# --- claims -------------------------------------------------------------------------------------


@blp.route("/claims")
@staff_required(*READ)
@blp.doc(security=BEARER, summary="Warranty and lease claims on vendors, newest first")
@blp.arguments(ClaimQuerySchema, location="query", as_kwargs=True)
@blp.response(200, ClaimSchema(many=True))
@blp.alt_response(401, schema=FieldErrorsSchema)
@blp.alt_response(403, schema=FieldErrorsSchema)
def claim_list(**filters):
    return assets.list_claims(**filters)
