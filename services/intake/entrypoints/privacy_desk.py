"""The privacy officer's pages (Thai and English), on intake, which knows requesters: find a person
by email or phone among their organisation's requests (asked by a form post, so that the address
never rides in a URL, a log line or the traffic log), ask for their data to be erased (every
service anonymises its part and confirms; the request shows its 30-day deadline and who has
confirmed), follow the erasure requests, and read who read whose personal data in every service
(the access-log page asks each service's ``/access-log``). The full export of a person's data is
the command ``sopdesk privacy export`` (it reads all four services)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from services.intake.adapters.bus import bus
from services.intake.adapters.models import AccessLog
from services.intake.handlers import erasure as handlers
from services.intake.handlers import notice_words, privacy
from shared import dates, i18n
from shared.audit import RECORD_KINDS, log_access
from shared.auth import page_required
from shared.config import SERVICES, get_settings
from shared.packs import requester_sops
from shared.privacy import normal_email, normal_phone

privacy_desk = Blueprint("privacy_desk", __name__, url_prefix="/intake/privacy")
OFFICERS = ("privacy-officer",)  # administrators and system administrators pass any role check


def _refused(status: int):
    lang = i18n.current_language()
    return render_template("intake/message.html", title=i18n.translate("pdpa.refused.title", lang),
                           message=i18n.translate("pdpa.refused.roles", lang), back="/assignment/desk"), status


def _org(staff):
    """The organisation a privacy officer works for; None (every one) for a system administrator."""
    return None if staff.sees_all else staff.org


def _visible(staff, erasure) -> bool:
    return staff.sees_all or erasure.org == staff.org or (erasure.org is None and _codes_of(staff, erasure))


def _codes_of(staff, erasure) -> list[str]:
    """The tracking codes of an erasure the caller may see: the retention job's erasures span
    every organisation, and an officer sees their own organisation's codes among them."""
    if staff.sees_all or erasure.org == staff.org:
        return erasure.tracking_codes
    orgs = handlers.orgs_of_codes(erasure.tracking_codes)
    return [code for code in erasure.tracking_codes if orgs.get(code) == staff.org]


@privacy_desk.route("")
@page_required(*OFFICERS, refused=_refused)
def home(staff):
    shown = [(e, _codes_of(staff, e)) for e in handlers.erasures(_org(staff))]
    return render_template("intake/privacy.html", staff=staff, erasures=[(e, codes) for e, codes in shown if codes],
                           services=SERVICES, found=None, errors={})


@privacy_desk.route("/find", methods=["POST"])
@page_required(*OFFICERS, refused=_refused)
def find(staff):
    lang = i18n.current_language()
    email, phone = (request.form.get("email") or "").strip(), (request.form.get("phone") or "").strip()
    errors = {}
    if not normal_email(email) and not normal_phone(phone):
        errors["email"] = [i18n.translate("pdpa.find.need_one", lang)]
    found = [] if errors else handlers.find(email or None, phone or None, _org(staff))
    if found:  # the list shows whose requests these are: a read of their data
        with bus.session() as session:
            log_access(session, AccessLog, staff, "request", [f.tracking_code for f in found],
                       "privacy officer: find a person", org=_org(staff))
            session.commit()
    shown = [(e, _codes_of(staff, e)) for e in handlers.erasures(_org(staff))]
    return render_template("intake/privacy.html", staff=staff, erasures=[(e, c) for e, c in shown if c],
                           services=SERVICES, found=found, email=email, phone=phone, errors=errors), \
        (422 if errors else 200)


@privacy_desk.route("/erase", methods=["POST"])
@page_required(*OFFICERS, refused=_refused)
def erase(staff):
    lang = i18n.current_language()
    email, phone = (request.form.get("email") or "").strip(), (request.form.get("phone") or "").strip()
    errors = {}
    if request.form.get("confirm") != "yes":
        errors["confirm"] = [i18n.translate("pdpa.erase.confirm_first", lang)]
    if not normal_email(email) and not normal_phone(phone):
        errors["email"] = [i18n.translate("pdpa.find.need_one", lang)]
    erasure = None if errors else handlers.request_erasure(email or None, phone or None, _org(staff),
                                                           by=staff.username)
    if erasure is None:
        found = None
        if "email" not in errors:  # shown again, with what was missing said at the erase form
            found = handlers.find(email or None, phone or None, _org(staff))
            if not found and "confirm" not in errors:
                errors["email"] = [i18n.translate("pdpa.find.none", lang)]
        shown = [(e, _codes_of(staff, e)) for e in handlers.erasures(_org(staff))]
        return render_template("intake/privacy.html", staff=staff, erasures=[(e, c) for e, c in shown if c],
                               services=SERVICES, found=found, email=email, phone=phone, errors=errors), 422
    return redirect(url_for("privacy_desk.erasure_page", erasure_id=erasure.id, lang=lang), code=303)


@privacy_desk.route("/erasures/<erasure_id>")
@page_required(*OFFICERS, refused=_refused)
def erasure_page(staff, erasure_id: str):
    found = handlers.erasure(erasure_id)
    if found is None or not _visible(staff, found):
        abort(404)  # another organisation's request is not found
    return render_template("intake/privacy_erasure.html", erasure=found, codes=_codes_of(staff, found),
                           services=SERVICES)


@privacy_desk.route("/access-log")
@page_required(*OFFICERS, refused=_refused)
def access_log(staff):
    """Filters read here (dates as people type them, the Buddhist era in Thai); the rows come
    from each service's own ``/access-log``, asked by the page with the same sign-in."""
    lang = i18n.current_language()
    errors, query = {}, {}
    for name in ("since", "until"):
        raw = (request.args.get(name) or "").strip()
        if raw:
            try:
                query[name] = dates.parse_date(raw).isoformat()
            except ValueError:
                errors[name] = [i18n.translate("pdpa.log.bad_date", lang)]
    for name in ("actor", "record_id"):
        raw = (request.args.get(name) or "").strip()[:100]
        if raw:
            query[name] = raw
    return render_template("intake/access_log.html", services=SERVICES, query=query, errors=errors,
                           record_kinds=RECORD_KINDS,
                           values={k: request.args.get(k, "") for k in ("since", "until", "actor", "record_id")}), \
        (422 if errors else 200)


# ---------------------------------------------------------------------------------------------
# the organisation's own words in its privacy notice (its administrators and privacy officers)


def _notice_org(staff) -> str:
    """The organisation whose notice the page is about: one's own; a system administrator names
    one (``?org=``, or the form's). Another organisation's, or none: not found."""
    asked = (request.values.get("org") or "").strip()
    if staff.sees_all:
        if not asked or asked not in {sop.pack for sop in requester_sops()}:
            abort(404)
        return asked
    if not staff.org or (asked and asked != staff.org):
        abort(404)
    return staff.org


def _notice_page(staff, org: str, words, errors: dict | None = None, status: int = 200):
    lang = i18n.current_language()
    sop = next((s for s in requester_sops() if s.pack == org), None)
    notice = privacy.notice_for(sop, get_settings(), words) if sop is not None and not errors else None
    return render_template("intake/privacy_notice.html", staff=staff, org=org, words=words, errors=errors or {},
                           sop=sop, notice=notice, lang=lang, contact_max=notice_words.CONTACT_MAX,
                           extra_max=notice_words.EXTRA_MAX), status


@privacy_desk.route("/notice", methods=["GET", "POST"])
@page_required(*OFFICERS, refused=_refused)
def notice(staff):
    """The words of the organisation's privacy notice: whom to ask, and a paragraph of its own."""
    org = _notice_org(staff)
    if request.method == "GET":
        return _notice_page(staff, org, notice_words.words_of(org, fresh=True))
    lang = i18n.current_language()
    given = {name: request.form.get(name, "") for name in ("contact", "extra_th", "extra_en")}
    found = notice_words.problems(given["contact"].strip(), given["extra_th"].strip(), given["extra_en"].strip())
    if found:
        errors = {name: [i18n.translate(key, lang, **values)] for name, (key, values) in found.items()}
        return _notice_page(staff, org, notice_words.Words(**given), errors, 422)
    notice_words.change(staff.username, org, **given)
    flash(i18n.translate("notice.saved", lang))
    return redirect(url_for("privacy_desk.notice", org=org if staff.sees_all else None))
