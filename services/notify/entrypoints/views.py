"""Notify's web edge: the mail log for staff, and dead letters for admins."""
from flask_smorest import Blueprint, abort
from kombu.exceptions import OperationalError

from services.notify.handlers import emails as handlers
from services.notify.schemas import DeadLetterQuerySchema, DeadLetterSchema, MessageQuerySchema, MessageSchema
from shared.auth import ORG_WIDE_ROLES, current_staff, staff_required
from shared.web import FieldErrorsSchema

blp = Blueprint("notify", __name__, url_prefix="/notify", description="Email out")


@blp.route("/messages")
@staff_required(*ORG_WIDE_ROLES)
@blp.doc(security=[{"bearer": []}], summary="What was sent, when, to whom, for which event, and its status: the "
                                             "mail of the caller's organisation, for those who see all of it "
                                             "(administrators, director and deputies, privacy officer)")
@blp.arguments(MessageQuerySchema, location="query", as_kwargs=True)
@blp.response(200, MessageSchema(many=True))
@blp.alt_response(401, schema=FieldErrorsSchema)
@blp.alt_response(403, schema=FieldErrorsSchema)
def messages(**filters):
    return handlers.list_messages(current_staff(), **filters)


@blp.route("/dead-letters")
@staff_required("admin")
@blp.doc(security=[{"bearer": []}], summary="Events and emails that failed every attempt (admin)")
@blp.arguments(DeadLetterQuerySchema, location="query", as_kwargs=True)
@blp.response(200, DeadLetterSchema(many=True))
@blp.alt_response(401, schema=FieldErrorsSchema)
@blp.alt_response(403, schema=FieldErrorsSchema)
def dead_letters(include_replayed=False):
    return handlers.list_dead_letters(current_staff(), include_replayed=include_replayed)


@blp.route("/dead-letters/<letter_id>/replay", methods=["POST"])
@staff_required("admin")
@blp.doc(security=[{"bearer": []}],
         summary="Run a dead letter's task again (an email goes out with the same Message-ID) (admin)")
@blp.response(202, DeadLetterSchema)
@blp.alt_response(401, schema=FieldErrorsSchema)
@blp.alt_response(403, schema=FieldErrorsSchema)
@blp.alt_response(404, schema=FieldErrorsSchema)
@blp.alt_response(409, schema=FieldErrorsSchema, description="replayed already")
@blp.alt_response(503, schema=FieldErrorsSchema, description="the broker is down; nothing changed")
def replay_dead_letter(letter_id):
    try:
        return handlers.replay_dead_letter(current_staff(), letter_id)
    except LookupError:
        abort(404, message=f"no dead letter {letter_id}")
    except ValueError as exc:
        abort(409, message=str(exc))
    except OperationalError:
        abort(503, message="the broker is not answering; the dead letter is unchanged, try again")
