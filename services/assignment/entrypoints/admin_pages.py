"""The administration pages, for an organisation's administrators (a system administrator for
every organisation): its people (add, change roles, unit, email, language, switch off and on, a new
password, or the word that a directory account signs in there), its units (add, rename), its
delegations (add, end), the holiday calendar every organisation shares (the year's list, a day
off added, a holiday worked, a change undone), the working hours and reminder times in force (configuration,
shown), and the trail of every change made here. Thin: the forms are read here, the use cases in
``handlers.directory`` and ``handlers.calendar_admin`` decide, and each writes its change and its
trail entry (``handlers.admin_trail``) in one transaction. Another organisation's person, unit,
delegation or trail is not found (404)."""
from __future__ import annotations

import functools
import json
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select

from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import CalendarDay, OrgSettings, Unit, User
from services.assignment.handlers import admin_trail, calendar_admin, directory
from services.assignment.handlers.engine import office_hours_of
from services.assignment.handlers.directory import DirectoryError, NotInOrganisation
from shared import dates, i18n
from shared.auth import SYSADMIN, page_required
from shared.config import get_settings
from shared.packs import ROLES

admin_pages = Blueprint("admin", __name__, url_prefix="/assignment/desk/admin")

ADMINS = ("admin",)  # and a system administrator, who passes every guard
# the roles a staff account may hold (a requester, a vendor and a case's team are not accounts)
STAFF_ROLES = tuple(r for r in ROLES if r not in ("requester", "vendor", "team", SYSADMIN))
PER_PAGE = 50


def admin_page(view):
    """A page of these: signed in as an administrator (``page_required``), and still one: an
    account switched off or no longer an administrator is refused at once (403), not only when
    its token expires."""

    @functools.wraps(view)
    def checked(staff, *args, **kwargs):
        if directory.no_longer_holds(staff, (*ADMINS, SYSADMIN)):
            abort(403)
        return view(staff, *args, **kwargs)

    return page_required(*ADMINS)(checked)


def _lang() -> str:
    return i18n.current_language()


def _t(message: str, /, **values) -> str:
    """A message in the page's language; its values may be called anything (``key`` too)."""
    text = i18n.translate(message, _lang())
    return text.format(**values) if values else text


def _orgs() -> list[str]:
    """The organisations a system administrator may choose: those with units, and the packs loaded."""
    from services.assignment.adapters import packstore

    with bus.session() as session:
        found = set(session.scalars(select(Unit.pack).distinct()))
    return sorted(found | set(packstore.latest_versions()))


def _org(staff) -> str | None:
    """The organisation a page is about: ``?org=`` (or the form's), else the administrator's own.
    An administrator of one organisation naming another gets 404; a system administrator names
    any (None until they choose)."""
    asked = (request.args.get("org") or request.form.get("org") or "").strip() or None
    if staff.sees_all:
        if asked is not None and asked not in _orgs():
            abort(404)
        return asked
    if staff.org is None or (asked is not None and asked != staff.org):
        abort(404)
    return staff.org


def _need_org(staff) -> str:
    org = _org(staff)
    if org is None:  # a system administrator who has not chosen yet
        abort(redirect(url_for("admin.home")))
    return org


def _within(staff) -> str | None:
    """What the use cases are to keep to: the administrator's organisation (None: every one)."""
    return None if staff.sees_all else staff.org


def _page_number() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


def _refused(exc: DirectoryError) -> dict[str, list[str]]:
    return {exc.field: [exc.said(_lang())]}


def _units(org: str | None) -> list[Unit]:
    with bus.session() as session:
        found = directory.units_of_org(session, org)
        session.expunge_all()
    return found


def _form() -> dict:
    return {key: value for key, value in request.form.items() if key != "csrf_token"}


# ---------------------------------------------------------------------------------------------
# the home page: the organisation, what may be done, and the settings in force


@admin_pages.route("")
@admin_page
def home(staff):
    return _home(staff, _org(staff))


def _home(staff, org: str | None, errors: dict | None = None, typed: str | None = None, status: int = 200,
          typed_reminders: dict | None = None):
    settings = get_settings()
    own_hours = own = None
    if org is not None:
        with bus.session() as session:
            own_hours = office_hours_of(session, org)
            own = session.get(OrgSettings, org)
    own_at = own.reminders_at if own is not None else None
    own_days = ", ".join(str(d) for d in own.reminder_days) if own is not None and own.reminder_days else ""
    reminders_form = typed_reminders if typed_reminders is not None else {"reminders_at": own_at or "",
                                                                          "reminder_days": own_days}
    return render_template("assignment/admin/home.html", staff=staff, org=org,
                           orgs=_orgs() if staff.sees_all else [org],
                           office_hours=own_hours or settings.office_hours, own_hours=own_hours,
                           configured_hours=settings.office_hours, errors=errors or {},
                           typed_hours=typed if typed is not None else (own_hours or ""),
                           reminders_at=own_at or settings.reminders_at, own_reminders=bool(own_at or own_days),
                           reminder_days=own_days or ", ".join(str(d) for d in settings.milestone_reminder_days),
                           configured_reminders=(settings.reminders_at,
                                                 ", ".join(str(d) for d in settings.milestone_reminder_days)),
                           reminders_form=reminders_form,
                           privacy_contact=settings.privacy_contact, retention_years=settings.retention_years), status


@admin_pages.route("/office-hours", methods=["POST"])
@admin_page
def office_hours(staff):
    """The organisation's office hours (blank: the configuration's), counted from now on."""
    org = _need_org(staff)
    typed = request.form.get("office_hours") or ""
    try:
        directory.set_office_hours(org, typed, by=staff.username)
    except DirectoryError as exc:
        return _home(staff, org, _refused(exc), typed, 422)
    flash(_t("admin.office_hours.saved"))
    return redirect(url_for("admin.home", org=org if staff.sees_all else None))


@admin_pages.route("/reminders", methods=["POST"])
@admin_page
def reminders(staff):
    """When the organisation's milestone reminders go out and how many working days ahead
    (blank: the configuration's); procurement, which sends them, hears of it."""
    org = _need_org(staff)
    typed = {"reminders_at": request.form.get("reminders_at") or "", "reminder_days": request.form.get("reminder_days") or ""}
    try:
        directory.set_reminders(org, typed["reminders_at"], typed["reminder_days"], by=staff.username)
    except DirectoryError as exc:
        return _home(staff, org, _refused(exc), status=422, typed_reminders=typed)
    flash(_t("admin.reminders.saved"))
    return redirect(url_for("admin.home", org=org if staff.sees_all else None))


# ---------------------------------------------------------------------------------------------
# people


@admin_pages.route("/people")
@admin_page
def people(staff):
    org = _need_org(staff)
    q = (request.args.get("q") or "").strip()[:100]
    number = _page_number()
    rows, total = directory.list_people(org, number, PER_PAGE, q=q)
    return render_template("assignment/admin/people.html", staff=staff, org=org, people=rows, total=total, q=q,
                           page=number, pages=max(1, -(-total // PER_PAGE)))


def _roles_offered(staff) -> tuple[str, ...]:
    return STAFF_ROLES + ((SYSADMIN,) if staff.sees_all else ())


@admin_pages.route("/people/new", methods=["GET", "POST"])
@admin_page
def person_new(staff):
    org = _need_org(staff)
    errors, values = {}, {"language": "th", "roles": []}
    if request.method == "POST":
        values = {**_form(), "roles": request.form.getlist("roles")}
        person = {"username": (values.get("username") or "").strip(), "password": values.get("password") or "",
                  "roles": values["roles"], "display_name": (values.get("display_name") or "").strip(),
                  "email": (values.get("email") or "").strip() or None,
                  "unit": (values.get("unit") or "").strip() or None, "language": values.get("language") or ""}
        refusals = directory.new_person_refusals(**person, grant_sysadmin=staff.sees_all)
        if not set(values["roles"]) <= set(_roles_offered(staff)):  # a role this page does not offer
            unknown = ", ".join(sorted(set(values["roles"]) - set(_roles_offered(staff))))
            refusals.insert(0, DirectoryError("roles: unknown", "admin.err.role_unknown", roles=unknown))
        if not refusals:
            try:  # the unit is one of the organisation the page is about (``within``)
                directory.add_user(**person, by=staff.username, within=org, grant_sysadmin=staff.sees_all)
            except DirectoryError as exc:  # the username taken, the unit not the organisation's
                refusals = [exc]
        for refusal in refusals:  # each field's first
            errors.setdefault(refusal.field, [refusal.said(_lang())])
        if not refusals:
            flash(_t("admin.person.added", username=person["username"]))
            return redirect(url_for("admin.people", org=org))
    return render_template("assignment/admin/person_new.html", staff=staff, org=org, units=_units(org),
                           roles=_roles_offered(staff), errors=errors, values=values), 422 if errors else 200


def _person_or_404(staff, username: str) -> dict:
    try:
        return directory.read_person(username, _within(staff))
    except NotInOrganisation:
        abort(404)


@admin_pages.route("/person", methods=["GET", "POST"])
@admin_page
def person(staff):
    """One person's page: their details (a POST changes them), switching off, a new password."""
    username = (request.args.get("username") or "").strip()
    found = _person_or_404(staff, username)
    errors: dict = {}
    values = {**found, "email": found["email"] or ""}
    if request.method == "POST":
        values = {**_form(), "roles": request.form.getlist("roles")}
        changes = {"language": values.get("language") or ""}
        if found["source"] == "local":
            changes.update(display_name=(values.get("display_name") or "").strip(),
                           email=(values.get("email") or "").strip() or None,
                           roles=values["roles"], unit=(values.get("unit") or "").strip() or None)
        try:
            offered = set(_roles_offered(staff)) | set(found["roles"])
            if not set(values["roles"]) <= offered:
                raise DirectoryError("roles: unknown", "admin.err.role_unknown", roles=", ".join(values["roles"]))
            directory.update_user(username, staff.username, _within(staff), grant_sysadmin=staff.sees_all, **changes)
        except NotInOrganisation:
            abort(404)
        except DirectoryError as exc:
            errors = _refused(exc)
        else:
            flash(_t("admin.person.saved", username=username))
            return redirect(url_for("admin.person", username=username))
    return _person_page(staff, found, errors, values, 422 if errors else 200)


def _person_page(staff, found: dict, errors: dict, values: dict, status: int):
    return render_template("assignment/admin/person.html", staff=staff, person=found, org=found["org"],
                           units=_units(found["org"] if found["org"] else None if staff.sees_all else staff.org),
                           roles=_roles_offered(staff) + tuple(r for r in found["roles"] if r not in _roles_offered(staff)),
                           errors=errors, values=values), status


@admin_pages.route("/person/active", methods=["POST"])
@admin_page
def person_active(staff):
    username = (request.args.get("username") or "").strip()
    found = _person_or_404(staff, username)
    wanted = request.form.get("active")
    try:
        if wanted not in ("0", "1"):
            raise DirectoryError("active: on or off", "admin.err.active")
        directory.set_active(username, wanted == "1", staff.username, _within(staff))
    except NotInOrganisation:
        abort(404)
    except DirectoryError as exc:
        return _person_page(staff, found, _refused(exc), {**found, "email": found["email"] or ""}, 422)
    flash(_t("admin.person.enabled", username=username) if wanted == "1"
          else _t("admin.person.disabled", username=username))
    return redirect(url_for("admin.person", username=username))


@admin_pages.route("/person/password", methods=["POST"])
@admin_page
def person_password(staff):
    username = (request.args.get("username") or "").strip()
    found = _person_or_404(staff, username)
    password = request.form.get("password") or ""
    try:
        if password != (request.form.get("password_again") or ""):
            raise DirectoryError("password_again: not the same", "admin.err.password_again")
        directory.set_password(username, password, staff.username, _within(staff))
    except NotInOrganisation:
        abort(404)
    except DirectoryError as exc:
        return _person_page(staff, found, _refused(exc), {**found, "email": found["email"] or ""}, 422)
    flash(_t("admin.person.password_set", username=username))
    return redirect(url_for("admin.person", username=username))


# ---------------------------------------------------------------------------------------------
# units


def _units_page(staff, org: str, errors: dict | None = None, values: dict | None = None, status: int = 200):
    with bus.session() as session:
        counts = dict(session.execute(
            select(User.unit, func.count()).join(Unit, Unit.key == User.unit)
            .where(Unit.pack == org, User.active.is_(True)).group_by(User.unit)).all())
    return render_template("assignment/admin/units.html", staff=staff, org=org, units=_units(org), counts=counts,
                           errors=errors or {}, values=values or {}), status


@admin_pages.route("/units")
@admin_page
def units(staff):
    return _units_page(staff, _need_org(staff))


@admin_pages.route("/units", methods=["POST"])
@admin_page
def unit_add(staff):
    org = _need_org(staff)
    values = _form()
    key = (values.get("key") or "").strip()
    try:
        directory.add_unit(key, org, values.get("name_th") or "", values.get("name_en") or "", by=staff.username,
                           new_only=True)
    except DirectoryError as exc:
        return _units_page(staff, org, _refused(exc), values, 422)
    flash(_t("admin.unit.added", key=key))
    return redirect(url_for("admin.units", org=org))


@admin_pages.route("/unit", methods=["GET", "POST"])
@admin_page
def unit_rename(staff):
    key = (request.args.get("key") or "").strip()
    with bus.session() as session:
        unit = session.get(Unit, key)
        if unit is None or not staff.in_org(unit.pack):
            abort(404)
        session.expunge(unit)
    errors, values = {}, {"name_th": (unit.name or {}).get("th", ""), "name_en": (unit.name or {}).get("en", "")}
    if request.method == "POST":
        values = _form()
        try:
            directory.rename_unit(key, values.get("name_th") or "", values.get("name_en") or "", staff.username,
                                  _within(staff))
        except NotInOrganisation:
            abort(404)
        except DirectoryError as exc:
            errors = _refused(exc)
        else:
            flash(_t("admin.unit.renamed", key=key))
            return redirect(url_for("admin.units", org=unit.pack))
    return render_template("assignment/admin/unit.html", staff=staff, org=unit.pack, unit=unit, errors=errors,
                           values=values), 422 if errors else 200


# ---------------------------------------------------------------------------------------------
# delegations


def _delegations_page(staff, org: str, errors: dict | None = None, values: dict | None = None, status: int = 200):
    lang = _lang()
    with bus.session() as session:
        people_list = directory.people_of_org(session, org)
    values = values or {"starts_on": dates.date_for_input(directory.today(), lang),
                        "ends_on": dates.date_for_input(directory.today(), lang)}
    return render_template("assignment/admin/delegations.html", staff=staff, org=org,
                           delegations=directory.list_delegations(org), people=people_list,
                           errors=errors or {}, values=values), status


@admin_pages.route("/delegations")
@admin_page
def delegations(staff):
    return _delegations_page(staff, _need_org(staff))


def _day(values: dict, name: str) -> date:
    text = (values.get(name) or "").strip()
    if not text:
        raise DirectoryError(f"{name}: required", "admin.err.day_required")
    try:
        return dates.parse_date(text)
    except ValueError:
        raise DirectoryError(f"{name}: not a date", "admin.err.day", example=dates.date_for_input(date(2026, 11, 19),
                                                                                                 _lang())) from None


@admin_pages.route("/delegations", methods=["POST"])
@admin_page
def delegation_add(staff):
    org = _need_org(staff)
    values = _form()
    try:
        errors = {}
        for name in ("delegator", "delegate"):
            if not (values.get(name) or "").strip():
                errors[name] = [_t("admin.err.person_required")]
        days = {}
        for name in ("starts_on", "ends_on"):
            try:
                days[name] = _day(values, name)
            except DirectoryError as exc:
                errors.update(_refused(exc))
        if errors:
            return _delegations_page(staff, org, errors, values, 422)
        directory.delegate(values["delegator"].strip(), values["delegate"].strip(), days["starts_on"], days["ends_on"],
                           created_by=staff.username, note=(values.get("note") or "").strip(), within=org)
    except DirectoryError as exc:
        return _delegations_page(staff, org, _refused(exc), values, 422)
    flash(_t("admin.delegation.added"))
    return redirect(url_for("admin.delegations", org=org))


@admin_pages.route("/delegations/end", methods=["POST"])
@admin_page
def delegation_end(staff):
    org = _need_org(staff)
    raw = (request.form.get("id") or "").strip()
    try:
        if not raw.isdigit():
            raise DirectoryError("id: which delegation", "admin.err.delegation_id")
        done = directory.end_delegation(int(raw), staff.username, within=org)
    except NotInOrganisation:
        abort(404)
    except DirectoryError as exc:
        return _delegations_page(staff, org, _refused(exc), None, 422)
    flash(_t("admin.delegation.removed") if done == "removed" else _t("admin.delegation.ended"))
    return redirect(url_for("admin.delegations", org=org))


# ---------------------------------------------------------------------------------------------
# holidays: one calendar every organisation shares


def _year() -> int:
    """``?year=`` in the common era or the Buddhist era (2569), this year by default."""
    raw = (request.args.get("year") or "").strip()
    if raw.isdigit():
        value = int(raw)
        value = value - dates.BE_OFFSET if value >= dates.FIRST_BE_YEAR else value
        if 2000 <= value <= 2100:
            return value
    return directory.today().year


def _holidays_page(staff, year: int, errors: dict | None = None, values: dict | None = None, status: int = 200):
    return render_template("assignment/admin/holidays.html", staff=staff, org=_org(staff), year=year,
                           rows=calendar_admin.year_days(year), errors=errors or {}, values=values or {}), status


@admin_pages.route("/holidays")
@admin_page
def holidays(staff):
    return _holidays_page(staff, _year())


@admin_pages.route("/holidays", methods=["POST"])
@admin_page
def holiday_change(staff):
    """``verb``: ``add`` a day off (the cabinet's), ``remove`` a library holiday (worked), ``reset``
    (an administrator's change forgotten). The calendar is every organisation's, as the cabinet's
    days off are every government office's; the change is in the trail of the organisation of
    the administrator who made it (a system administrator's: in none, which they alone see)."""
    values = _form()
    verb = values.get("verb")
    year = _year()
    try:
        if verb not in ("add", "remove", "reset"):
            raise DirectoryError("verb: add, remove or reset", "admin.err.verb")
        day = _day(values, "day")
        name = (values.get("name") or "").strip()
        if verb == "add" and not name:
            raise DirectoryError("name: say what the day is", "admin.err.holiday_name")
        if len(name) > 200:
            raise DirectoryError("name: at most 200 characters", "admin.err.holiday_name_long")
        if verb == "reset":
            with bus.session() as session:
                if session.get(CalendarDay, day) is None:
                    raise DirectoryError("day: no change of that day", "admin.err.day_unchanged")
        calendar_admin.change(verb, day.isoformat(), name, staff.username, org=staff.org)
    except DirectoryError as exc:
        return _holidays_page(staff, year, _refused(exc), values, 422)
    flash(_t("admin.holiday.saved", day=i18n.format_day(day, _lang())))
    return redirect(url_for("admin.holidays", year=day.year))


# ---------------------------------------------------------------------------------------------
# the trail


def _json(values: dict | None) -> str:
    """Values as the trail shows them: JSON, Thai as Thai (not escaped), keys in order."""
    return "—" if values is None else json.dumps(values, ensure_ascii=False, sort_keys=True, indent=1)


@admin_pages.route("/trail")
@admin_page
def trail(staff):
    org = _org(staff)
    number = _page_number()
    rows, total = admin_trail.page(org, number, admin_trail.PER_PAGE)
    shown = {row.id: {"before": _json(row.before), "after": _json(row.after)} for row in rows}
    return render_template("assignment/admin/trail.html", staff=staff, org=org, rows=rows, shown=shown, total=total,
                           page=number,
                           pages=max(1, -(-total // admin_trail.PER_PAGE)))
