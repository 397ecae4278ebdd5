"""Notify's web edge: the mail log for staff."""
from flask_smorest import Blueprint

from services.notify import handlers
from services.notify.schemas import MessageQuerySchema, MessageSchema
from shared.auth import current_staff, staff_required
from shared.web import FieldErrorsSchema

blp = Blueprint("notify", __name__, url_prefix="/notify", description="Email out")


@blp.route("/messages")
@staff_required()
@blp.doc(security=[{"bearer": []}], summary="What was sent, when, to whom, for which event, and its status")
@blp.arguments(MessageQuerySchema, location="query", as_kwargs=True)
@blp.response(200, MessageSchema(many=True))
@blp.alt_response(401, schema=FieldErrorsSchema)
def messages(**filters):
    return handlers.list_messages(current_staff(), **filters)
