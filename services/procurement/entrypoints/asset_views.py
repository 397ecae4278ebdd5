"""Procurement's API for vendors, the asset register (with loans, claims, CSV import and export).
Thin: parse with the schemas, call ``vendors`` / ``assets`` / ``csvio``, answer."""
from __future__ import annotations

from flask import Response, jsonify, request
from flask_smorest import Blueprint

from services.procurement.entrypoints.web import SECURITY, alt_responses, answers
from services.procurement.handlers import assets, csvio, vendors
from services.procurement.handlers.commands import (AddContact, LendAsset, RegisterAsset, RegisterVendor, ReturnLoan,
                                                    UpdateAsset, UpdateVendor, from_loaded)
from services.procurement.schemas.assets import (AssetDetailSchema, ImportRefusedSchema, AssetInSchema, AssetPageSchema, AssetPatchSchema,
                                                 AssetQuerySchema, ClaimQuerySchema, ClaimSchema, ContactInSchema,
                                                 ContactSchema, ImportFormSchema, ImportResultSchema, LoanInSchema,
                                                 LoanReturnSchema, LoanSchema, VendorDetailSchema, VendorInSchema,
                                                 VendorPageSchema, VendorPatchSchema, VendorQuerySchema)
from shared import i18n
from shared.auth import current_staff, staff_required
from shared.web import error_response

blp = Blueprint("procurement_assets", __name__, url_prefix="/procurement",
                description="Vendors and their contacts; the asset register, its loans, claims and CSV files")

READ = assets.READ_ROLES
WRITE = assets.WRITE_ROLES
LOANS = assets.LOAN_ROLES


# --- vendors ------------------------------------------------------------------------------------


@blp.route("/vendors")
@staff_required(*READ)
@blp.doc(security=SECURITY, summary="Vendors by name (q: part of the name or the start of the tax id)")
@blp.arguments(VendorQuerySchema, location="query", as_kwargs=True)
@blp.response(200, VendorPageSchema)
@alt_responses(blp, 401, 403)
def vendor_list(**filters):
    return vendors.list_vendors(current_staff(), **filters)


@blp.route("/vendors", methods=["POST"])
@staff_required(*WRITE)
@blp.doc(security=SECURITY, summary="Register a vendor (with its contacts)")
@blp.arguments(VendorInSchema)
@blp.response(201, VendorDetailSchema)
@alt_responses(blp, 401, 403, (409, "a vendor with this tax id is registered"), 422)
@answers
def vendor_create(data):
    return vendors.create_vendor(current_staff(), from_loaded(RegisterVendor, data))


@blp.route("/vendors/<int:vendor_id>")
@staff_required(*READ)
@blp.doc(security=SECURITY, summary="A vendor with its contacts (the read is logged), contracts, quotes and claims")
@blp.response(200, VendorDetailSchema)
@alt_responses(blp, 401, 403, 404)
@answers
def vendor_read(vendor_id: int):
    return vendors.vendor_detail(current_staff(), vendor_id)


@blp.route("/vendors/<int:vendor_id>", methods=["PATCH"])
@staff_required(*WRITE)
@blp.doc(security=SECURITY, summary="Change a vendor")
@blp.arguments(VendorPatchSchema)
@blp.response(200, VendorDetailSchema)
@alt_responses(blp, 401, 403, 404, 409, 422)
@answers
def vendor_update(data, vendor_id: int):
    return vendors.update_vendor(current_staff(), vendor_id, from_loaded(UpdateVendor, data))


@blp.route("/vendors/<int:vendor_id>/contacts", methods=["POST"])
@staff_required(*WRITE)
@blp.doc(security=SECURITY, summary="Add a contact person to a vendor")
@blp.arguments(ContactInSchema)
@blp.response(201, ContactSchema)
@alt_responses(blp, 401, 403, 404, 422)
@answers
def contact_add(data, vendor_id: int):
    return vendors.add_contact(current_staff(), vendor_id, from_loaded(AddContact, data))


@blp.route("/vendors/<int:vendor_id>/contacts/<int:contact_id>", methods=["DELETE"])
@staff_required(*WRITE)
@blp.doc(security=SECURITY, summary="Remove a contact person of a vendor")
@blp.response(204)
@alt_responses(blp, 401, 403, 404)
@answers
def contact_delete(vendor_id: int, contact_id: int):
    vendors.delete_contact(current_staff(), vendor_id, contact_id)
    return None


# --- assets -------------------------------------------------------------------------------------


@blp.route("/assets")
@staff_required(*READ)
@blp.doc(security=SECURITY, summary="The asset register, a page at a time, with the total the filters match")
@blp.arguments(AssetQuerySchema, location="query", as_kwargs=True)
@blp.response(200, AssetPageSchema)
@alt_responses(blp, 401, 403)
def asset_list(**filters):
    return assets.list_assets(current_staff(), **filters)


@blp.route("/assets", methods=["POST"])
@staff_required(*WRITE)
@blp.doc(security=SECURITY, summary="Register an asset (vendor by vendor_id or vendor_tax_id)")
@blp.arguments(AssetInSchema)
@blp.response(201, AssetDetailSchema)
@alt_responses(blp, 401, 403, (409, "the tag is registered already"), 422)
@answers
def asset_create(data):
    return assets.create_asset(current_staff(), from_loaded(RegisterAsset, data))


@blp.route("/assets/export.csv")
@staff_required(*READ)
@blp.doc(security=SECURITY, summary="The whole register as CSV (UTF-8 with a byte-order mark; the import's columns)",
         responses={"200": {"description": "text/csv", "content": {"text/csv": {}}}})
@alt_responses(blp, 401, 403)
def asset_export():
    text = csvio.export_text(current_staff(), "asset register: CSV export over HTTP")
    return Response(text.encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Type": "text/csv; charset=utf-8",
                             "Content-Disposition": 'attachment; filename="assets.csv"',
                             "X-Content-Type-Options": "nosniff"})


@blp.route("/assets/import", methods=["POST"])
@staff_required(*WRITE)
@blp.doc(security=SECURITY,
         summary="Import an asset CSV (multipart field `file`): all rows or none",
         description="Columns, dates (ISO or Thai 18/11/2569) and the modes are those of `sopdesk assets import`. "
                     "A file with any bad row imports nothing: 422 with `rejected`, each row's line number "
                     "(the header is line 1) and its fields' messages.",
         requestBody={"required": True, "x-checked": "the file is an asset CSV (UTF-8, the columns named); a 422 "
                                                     "names each bad line (`line N`)",
                      "content": {"multipart/form-data": {"schema": {
             "type": "object", "required": ["file"],
             "properties": {"file": {"type": "string", "format": "binary",
                                     "x-checked": "required: a form without the file is refused"},
                            "mode": {"type": "string", "enum": ["create", "upsert"], "default": "create"}}}}}})
@blp.arguments(ImportFormSchema, location="form")
@blp.response(200, ImportResultSchema)
@alt_responses(blp, 401, 403)
@blp.alt_response(422, schema=ImportRefusedSchema, description="bad rows (nothing was imported), or no file")
def asset_import(form):
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return error_response(422, {"file": ["send the CSV file as the multipart field `file`"]})
    result = csvio.import_assets(upload.stream, mode=form["mode"], org=csvio.org_of(current_staff(), form.get("org")))
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
@blp.doc(security=SECURITY, summary="An asset by tag, with its open loan and its claims")
@blp.response(200, AssetDetailSchema)
@alt_responses(blp, 401, 403, 404)
@answers
def asset_read(tag: str):
    return assets.asset_detail(current_staff(), tag)


@blp.route("/assets/<path:tag>", methods=["PATCH"])
@staff_required(*LOANS)
@blp.doc(security=SECURITY, summary="Change an asset (an officer: only status in_use/in_repair and note)")
@blp.arguments(AssetPatchSchema)
@blp.response(200, AssetDetailSchema)
@alt_responses(blp, 401, 403, 404, (409, "on loan, or retired"), 422)
@answers
def asset_update(data, tag: str):
    return assets.update_asset(current_staff(), tag, from_loaded(UpdateAsset, data))


@blp.route("/assets/<path:tag>/loans")
@staff_required(*READ)
@blp.doc(security=SECURITY, summary="The loans of an asset, newest first (borrowers: the read is logged)")
@blp.response(200, LoanSchema(many=True))
@alt_responses(blp, 401, 403, 404)
@answers
def loan_list(tag: str):
    return assets.list_loans(current_staff(), tag)


@blp.route("/assets/<path:tag>/loans", methods=["POST"])
@staff_required(*LOANS)
@blp.doc(security=SECURITY, summary="Lend an asset in use (it goes on_loan; one open loan per asset)")
@blp.arguments(LoanInSchema)
@blp.response(201, LoanSchema)
@alt_responses(blp, 401, 403, 404, (409, "not in use: on loan, in repair or retired"), 422)
@answers
def loan_create(data, tag: str):
    return assets.lend(current_staff(), tag, from_loaded(LendAsset, data))


@blp.route("/assets/<path:tag>/loans/<int:loan_id>/return", methods=["POST"])
@staff_required(*LOANS)
@blp.doc(security=SECURITY, summary="Record the return of a loan (the asset is in use again)")
@blp.arguments(LoanReturnSchema)
@blp.response(200, LoanSchema)
@alt_responses(blp, 401, 403, 404, (409, "returned already"), 422)
@answers
def loan_return(data, tag: str, loan_id: int):
    return assets.return_loan(current_staff(), tag, loan_id, from_loaded(ReturnLoan, data))


# --- claims -------------------------------------------------------------------------------------


@blp.route("/claims")
@staff_required(*READ)
@blp.doc(security=SECURITY, summary="Warranty and lease claims on vendors, newest first")
@blp.arguments(ClaimQuerySchema, location="query", as_kwargs=True)
@blp.response(200, ClaimSchema(many=True))
@alt_responses(blp, 401, 403)
def claim_list(**filters):
    return assets.list_claims(current_staff(), **filters)
