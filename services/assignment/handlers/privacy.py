"""The PDPA's rights as assignment answers them: what it holds of a person's cases (for the
export), and their erasure when intake asks (``privacy.erasure_requested``): the requester's name,
what they wrote (subject, details, form fields, answers), their files' names and their words in
staff notes become ``shared.privacy.ERASED``; the case, its steps, dates, outcomes and the
satisfaction score stay, so that reports count them still. Confirmed by
``privacy.assignment_erased``."""
from __future__ import annotations

from sqlalchemy import select

from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import Case, CaseStep, SurveyScore, TrailEntry
from shared import db
from shared.events import Event
from shared.messaging import NotReady, UnitOfWork
from shared.privacy import ERASED, Needles, plain, scrub, scrub_messages


def person_data(codes: list[str]) -> dict:
    """The cases with these tracking codes, their steps and trail, and the scores given."""
    with bus.session() as session:
        cases = []
        for case in session.scalars(select(Case).where(Case.tracking_code.in_(codes)).order_by(Case.opened_at)):
            cases.append({
                **plain(case),
                "steps": [plain(s) for s in session.scalars(select(CaseStep).where(CaseStep.case_id == case.id)
                                                             .order_by(CaseStep.position))],
                "trail": [plain(t) for t in session.scalars(select(TrailEntry).where(TrailEntry.case_id == case.id)
                                                             .order_by(TrailEntry.id))],
            })
        scores = [plain(s) for s in session.scalars(select(SurveyScore).where(SurveyScore.tracking_code.in_(codes)))]
        return {"cases": cases, "survey_scores": scores}


def erase(uow: UnitOfWork, codes: list[str]) -> int:
    """Anonymise the cases with these codes and the envelopes that carry them; rows changed."""
    session = uow.session
    cases = list(session.scalars(select(Case).where(Case.tracking_code.in_(codes)).with_for_update()))
    needles = Needles([case.requester_name for case in cases])
    rows = 0
    for case in cases:
        case.requester_name = case.subject = case.details = ERASED
        case.fields = scrub({"fields": case.fields or {}}, needles)["fields"]
        case.values = scrub(case.values or {}, needles, by_key=False)
        case.attachments = [{**item, "name": ERASED} if isinstance(item, dict) else item
                            for item in (case.attachments or [])]
        rows += 1
        for step in session.scalars(select(CaseStep).where(CaseStep.case_id == case.id)):
            if step.note and needles.found_in(step.note):
                step.note = needles.sub(step.note)
                rows += 1
        for entry in session.scalars(select(TrailEntry).where(TrailEntry.case_id == case.id)):
            # what the requester wrote (an answer) is theirs; what staff wrote keeps its words but theirs
            note = ERASED if entry.actor == "requester" and entry.note else needles.sub(entry.note or "") or entry.note
            data = scrub(entry.data or {}, needles, by_key=entry.actor == "requester")
            if note != entry.note or data != (entry.data or {}):
                entry.note, entry.data = note, data
                rows += 1
    for score in session.scalars(select(SurveyScore).where(SurveyScore.tracking_code.in_(codes))):
        if score.comment:
            score.comment = ERASED  # the score stays: it counts in the reports
            rows += 1
    rows += scrub_messages(session, bus, codes, needles)
    return rows


@bus.handles("privacy.erasure_requested")
def on_erasure_requested(uow: UnitOfWork, event: Event) -> None:
    codes = list(event.payload["tracking_codes"])
    opened = set(uow.session.scalars(select(Case.tracking_code).where(Case.tracking_code.in_(codes))))
    if set(codes) - opened and event.payload.get("reason") != "retention":  # old cases are all there
        # a request erased before its case opened here (its request.submitted still on the way):
        # erased once the case is open, or its data would come in after the erasure
        raise NotReady(f"cases not opened yet: {', '.join(sorted(set(codes) - opened))}")
    rows = erase(uow, codes)
    uow.emit("privacy.assignment_erased", {"request_id": event.payload["request_id"], "service": "assignment",
                                           "rows": rows, "erased_at": db.utcnow().isoformat()})
