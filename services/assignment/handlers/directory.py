"""The staff directory: units, people, their roles, delegations while someone is away, logging in,
and who gets new work. No Flask here.

The lookups an event makes (``holders``, ``away_today``, ``contact``, ``heads_of_unit``,
``unit_members``) are kept in process memory, in the ``directory`` group of ``caches``: every
change of a user, role, unit or delegation (these functions', or any other ORM write) drops them
in this process at once and, through the group's change token written in the same transaction,
in every other process at its next transaction. ``open_work`` is never kept: it changes with
every step started or finished."""
from __future__ import annotations

import contextlib
import re
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.assignment.adapters import caches
from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import CaseStep, Delegation, OrgSettings, Unit, User, UserRole
from services.assignment.domain import assignees
from services.assignment.domain.workflow import Actor  # a staff member as the workflow sees them
from services.assignment.handlers import admin_trail
from shared.auth import SYSADMIN, Staff, hash_password
from shared.i18n import BANGKOK
from shared.packs import ROLES

USERNAME = re.compile(r"^[A-Za-z0-9._@-]{2,100}$")
# one plain address, nothing a mail header could read as a second one
EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


class DirectoryError(ValueError):
    """A refusal: ``field: message`` in English (the command line prints it), and the same said
    by a key of the catalogues (``admin.err.*``) with its values, for the pages, beside ``field``."""

    def __init__(self, message: str, key: str | None = None, /, **values) -> None:
        super().__init__(message)
        head, sep, _rest = message.partition(":")
        self.field = head if sep and re.fullmatch(r"[a-z_]+", head) else "_schema"
        self.key, self.values = key, values

    def said(self, lang: str) -> str:
        from shared.i18n import translate

        if not self.key:
            return str(self)
        text = translate(self.key, lang)  # formatted here: a value may be called ``key``
        return text.format(**self.values) if self.values else text


class NotInOrganisation(LookupError):
    """What an administrator named is not of their organisation (or does not exist): a 404."""


def today() -> date:
    return datetime.now(BANGKOK).date()


def unit_values(unit: Unit | None) -> dict | None:
    """A unit as the administrators' trail keeps it."""
    return None if unit is None else {"pack": unit.pack, "name": dict(unit.name or {})}


def _unit_names(name_th: str, name_en: str) -> dict:
    """A unit's names as kept ({th, en}; English the Thai when not given), or the refusal."""
    name_th, name_en = (name_th or "").strip(), (name_en or "").strip()
    if not name_th or len(name_th) > 200 or len(name_en) > 200:
        raise DirectoryError("name_th: the unit's name in Thai, up to 200 characters", "admin.err.unit_name")
    return {"th": name_th, "en": name_en or name_th}


def add_unit(key: str, pack: str, name_th: str, name_en: str = "", by: str = "sopdesk units add",
             new_only: bool = False) -> Unit:
    """Add a unit to the organisation ``pack`` (or, from the command line, name it anew);
    ``new_only`` (the administration page): a key already used is refused."""
    if not re.match(r"^[a-z0-9][a-z0-9-]{0,99}$", key or ""):
        raise DirectoryError("key: lower-case letters, digits and -", "admin.err.unit_key")
    if not re.match(r"^[a-z0-9][a-z0-9-]{0,49}$", pack or ""):
        raise DirectoryError("pack: the organisation's pack key (lower-case letters, digits and -)", "admin.err.pack")
    names = _unit_names(name_th, name_en)
    with bus.unit_of_work() as uow:
        session = uow.session
        unit = session.get(Unit, key)
        if unit is not None and new_only:
            raise DirectoryError(f"key: {key} exists already", "admin.err.unit_taken", key=key)
        before = unit_values(unit)
        unit = unit or Unit(key=key)
        if unit.pack and unit.pack != pack and session.scalar(select(User.id).where(User.unit == key).limit(1)):
            raise DirectoryError(f"key: {key} is of {unit.pack} and has people; a unit does not change organisation",
                                 "admin.err.unit_taken", key=key)
        unit.pack, unit.name = pack, names
        session.add(unit)
        admin_trail.record(session, by, pack, "unit", key, before, unit_values(unit))
        uow.commit()
        return unit


def rename_unit(key: str, name_th: str, name_en: str, by: str, within: str | None = None) -> Unit:
    """A unit's new name (its key, which people and steps refer to, stays); ``within``: the
    administrator's organisation (None: a system administrator's, any)."""
    names = _unit_names(name_th, name_en)
    with bus.unit_of_work() as uow:
        session = uow.session
        unit = session.get(Unit, key)
        if unit is None or (within is not None and unit.pack != within):
            raise NotInOrganisation(key)
        before = unit_values(unit)
        unit.name = names
        admin_trail.record(session, by, unit.pack, "unit", key, before, unit_values(unit))
        uow.commit()
        return unit


def person_values(user: User, session: Session) -> dict:
    """A person as the administrators' trail keeps them (never a password, nor its hash)."""
    return {"display_name": user.display_name, "email": user.email, "language": user.language, "unit": user.unit,
            "org": session.scalar(select(Unit.pack).where(Unit.key == user.unit)) if user.unit else None,
            "roles": sorted(r.role for r in user.roles), "active": bool(user.active), "source": user.source}


def _check_roles(roles, unit: str | None) -> None:
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise DirectoryError(f"roles: unknown {', '.join(unknown)}; choose from {', '.join(ROLES)}",
                             "admin.err.role_unknown", roles=", ".join(unknown))
    if not roles:
        raise DirectoryError("roles: at least one", "admin.err.role_none")
    # every account belongs to an organisation through its unit, but a system administrator's,
    # which belongs to none (and holds no other role: the walls are about organisations)
    if SYSADMIN in roles:
        if len(set(roles)) > 1 or unit:
            raise DirectoryError("roles: sysadmin is held alone, without a unit (it sees every organisation)",
                                 "admin.err.sysadmin_alone")
    elif not unit:
        raise DirectoryError("unit: every account belongs to a unit of its organisation (sopdesk units add)",
                             "admin.err.unit_required")


def _check_email(email: str | None) -> None:
    if email is not None and not EMAIL.match(email):
        raise DirectoryError(f"email: not an address: {email!r}", "admin.err.email")


def _check_language(language: str) -> None:
    if language not in ("th", "en"):
        raise DirectoryError("language: th or en", "admin.err.language")


def _check_password(password: str) -> None:
    if len(password or "") < 8:
        raise DirectoryError("password: at least 8 characters", "admin.err.password")
    if len(password) > 200:
        raise DirectoryError("password: at most 200 characters", "admin.err.password_long")


def _unit_within(session: Session, unit: str | None, within: str | None) -> None:
    """The unit exists and, for an administrator of one organisation, is of it (another's is
    said as no such unit: its existence is not theirs to know)."""
    if not unit:
        return
    found = session.get(Unit, unit)
    if found is None or (within is not None and found.pack != within):
        raise DirectoryError(f"unit: no unit {unit}", "admin.err.unit_unknown", unit=unit)


def new_person_refusals(username: str, password: str, roles, display_name: str = "", email: str | None = None,
                        unit: str | None = None, language: str = "th", grant_sysadmin: bool = True
                        ) -> list[DirectoryError]:
    """Everything wrong with a new account's values that is known without the database, each
    once (a form says them all at once, beside their fields); ``add_user`` refuses the first."""
    def username_ok() -> None:
        if not USERNAME.match(username or ""):
            raise DirectoryError("username: 2-100 letters, digits or . _ @ -", "admin.err.username")

    def display_name_ok() -> None:
        if len(display_name or "") > 200:
            raise DirectoryError("display_name: at most 200 characters", "admin.err.display_name")

    def roles_ok() -> None:
        if not grant_sysadmin and SYSADMIN in roles:
            raise DirectoryError("roles: only a system administrator makes another", "admin.err.sysadmin_only")
        _check_roles(roles, unit)

    found: list[DirectoryError] = []
    for check in (username_ok, display_name_ok, lambda: _check_password(password), lambda: _check_language(language),
                  lambda: _check_email(email), roles_ok):
        try:
            check()
        except DirectoryError as exc:
            found.append(exc)
    return found


def add_user(username: str, password: str, roles: list[str], display_name: str = "",
             email: str | None = None, unit: str | None = None, language: str = "th",
             by: str = "sopdesk users add", within: str | None = None, grant_sysadmin: bool = True) -> User:
    """A local account; ``within``: the organisation whose units alone it may be put in (None:
    any, the command line's); ``grant_sysadmin``: False for an organisation's administrator, who
    may not make a system administrator."""
    refusals = new_person_refusals(username, password, roles, display_name, email, unit, language, grant_sysadmin)
    if refusals:
        raise refusals[0]
    with bus.unit_of_work() as uow:
        session = uow.session
        if session.scalar(select(User.id).where(User.username == username)):
            raise DirectoryError(f"username: {username} exists already", "admin.err.username_taken",
                                 username=username)
        _unit_within(session, unit, within)
        user = User(username=username, password_hash=hash_password(password), display_name=display_name or username,
                    email=email, unit=unit, language=language, roles=[UserRole(role=r) for r in sorted(set(roles))])
        session.add(user)
        session.flush()
        after = person_values(user, session)
        admin_trail.record(session, by, after["org"], "person", username, None, after)
        announce(uow, user)
        uow.commit()
        return user


def _person(session: Session, username: str, within: str | None) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotInOrganisation(username)
    if within is not None:
        org = session.scalar(select(Unit.pack).where(Unit.key == user.unit)) if user.unit else None
        if org != within:
            raise NotInOrganisation(username)
    return user


def no_longer_holds(staff: Staff, roles) -> bool:
    """The account behind a token was switched off, or holds none of ``roles`` now: a token is
    signed for hours, and a change made by an administrator counts at once where it must (the
    administration pages). A token of no stored account is judged by the token alone."""
    with bus.session() as session:
        user = session.get(User, staff.user_id)
        return user is not None and (not user.active or not set(user.role_names) & set(roles))


def read_person(username: str, within: str | None = None) -> dict:
    """A person as the administration page shows them: ``NotInOrganisation`` when they are not
    of ``within``."""
    with bus.session() as session:
        user = _person(session, username, within)
        return {"username": user.username, **person_values(user, session), "created_at": user.created_at}


def list_people(within: str | None, page: int = 1, per_page: int = 50, q: str = "") -> tuple[list[dict], int]:
    """The organisation's people (every account for None), active or not, by username: a page
    and the total. ``q``: part of a username or name."""
    query = select(User, Unit.pack).outerjoin(Unit, Unit.key == User.unit)
    if within is not None:
        query = query.where(Unit.pack == within)
    if q:
        like = "%" + q.replace("\\", "").replace("%", "").replace("_", "\\_") + "%"
        query = query.where(User.username.ilike(like) | User.display_name.ilike(like))
    with bus.session() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.execute(query.order_by(User.username).offset((max(page, 1) - 1) * per_page).limit(per_page))
        people = [{"username": u.username, "display_name": u.display_name, "email": u.email, "unit": u.unit,
                   "org": org, "roles": u.role_names, "active": bool(u.active), "source": u.source,
                   "language": u.language} for u, org in rows]
    return people, total


DIRECTORY_SET = ("display_name", "email", "roles", "unit")  # what the directory sets at each sign-in


def update_user(username: str, by: str, within: str | None = None, grant_sysadmin: bool = True, **changes) -> dict:
    """Change a person's ``display_name``, ``email`` (None: none), ``language``, ``roles`` or
    ``unit`` (only those given). A directory account's name, email, roles and unit come from the
    directory at each sign-in: changing them here is refused. Returns the person after."""
    unknown = set(changes) - {"display_name", "email", "language", "roles", "unit"}
    if unknown:
        raise TypeError(f"update_user: {sorted(unknown)}")
    if "display_name" in changes and len(changes["display_name"] or "") > 200:
        raise DirectoryError("display_name: at most 200 characters", "admin.err.display_name")
    if "email" in changes:
        _check_email(changes["email"])
    if "language" in changes:
        _check_language(changes["language"])
    with bus.unit_of_work() as uow:
        session = uow.session
        user = _person(session, username, within)
        before = person_values(user, session)
        if user.source != "local":
            for name in DIRECTORY_SET:
                asked = sorted(set(changes[name])) if name == "roles" and name in changes else changes.get(name)
                if name in changes and asked != before[name]:
                    raise DirectoryError(f"{name}: set by the directory at each sign-in", "admin.err.from_directory")
        roles = sorted(set(changes.get("roles", before["roles"])))
        unit = changes.get("unit", user.unit) or None
        if not grant_sysadmin and SYSADMIN in roles and SYSADMIN not in before["roles"]:
            raise DirectoryError("roles: only a system administrator makes another", "admin.err.sysadmin_only")
        _check_roles(roles, unit)
        _unit_within(session, unit, within)
        if "display_name" in changes:
            user.display_name = (changes["display_name"] or "").strip() or user.username
        if "email" in changes:
            user.email = changes["email"]
        if "language" in changes:
            user.language = changes["language"]
        user.unit = unit
        held = {r.role: r for r in user.roles}
        if set(held) != set(roles):
            user.roles = [held.get(role) or UserRole(role=role) for role in roles]
        session.flush()
        after = person_values(user, session)
        admin_trail.record(session, by, after["org"] or before["org"], "person", username, before, after)
        if before["org"] and after["org"] and before["org"] != after["org"]:  # the organisation they left too
            admin_trail.record(session, by, before["org"], "person", username, before, after)
        announce(uow, user)
        uow.commit()
        return {"username": username, **after}


def set_active(username: str, active: bool, by: str, within: str | None = None) -> None:
    """Switch an account off (it can no longer sign in; its work stays where it is) or on again.
    Nobody switches their own account off."""
    with bus.unit_of_work() as uow:
        session = uow.session
        user = _person(session, username, within)
        if not active and user.username == by:
            raise DirectoryError("active: not your own account", "admin.err.self_disable")
        before = person_values(user, session)
        user.active = bool(active)
        admin_trail.record(session, by, before["org"], "person", username, before, person_values(user, session))
        announce(uow, user)
        uow.commit()


def set_password(username: str, password: str, by: str, within: str | None = None) -> None:
    """A local account's new password (the administrator tells the person); a directory account
    has none here: it signs in through the directory, refused."""
    _check_password(password)
    with bus.unit_of_work() as uow:
        session = uow.session
        user = _person(session, username, within)
        if user.source != "local":
            raise DirectoryError("password: the account signs in through the directory; its password is kept there",
                                 "admin.err.password_directory")
        user.password_hash = hash_password(password)
        values = person_values(user, session)
        # the trail says a password was set, never what it is
        admin_trail.record(session, by, values["org"], "person", username, {"password": "(earlier)"},
                           {"password": "(set anew)"})
        uow.commit()


def move_user(username: str, unit: str, by: str = "sopdesk users move") -> Staff:
    """Move a person to another unit (and so, perhaps, another organisation); their work stays
    where it is. Returns them as a token would now carry them."""
    with bus.unit_of_work() as uow:
        session = uow.session
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise DirectoryError(f"username: no user {username}", "admin.err.person_unknown", username=username)
        if session.get(Unit, unit) is None:
            raise DirectoryError(f"unit: no unit {unit}", "admin.err.unit_unknown", unit=unit)
        if SYSADMIN in user.role_names:
            raise DirectoryError("unit: a system administrator belongs to no unit", "admin.err.sysadmin_alone")
        before = person_values(user, session)
        user.unit = unit
        after = person_values(user, session)
        admin_trail.record(session, by, after["org"], "person", username, before, after)
        if before["org"] and before["org"] != after["org"]:  # the organisation they left hears of it too
            admin_trail.record(session, by, before["org"], "person", username, before, after)
        announce(uow, user)
        uow.commit()
        return staff_of(user, session)


def announce(uow, user: User) -> None:
    """Tell the other services who this account is now (``staff.person_changed``): procurement
    keeps each account's organisation from it (a project's officer and committee members must be
    its own organisation's people). In the caller's unit of work: the change and its news commit
    together."""
    org = uow.session.scalar(select(Unit.pack).where(Unit.key == user.unit)) if user.unit else None
    uow.emit("staff.person_changed", {"username": user.username, "org": org, "active": bool(user.active),
                                      "changed_at": datetime.now(BANGKOK).isoformat()},
             correlation_id=f"person:{user.username}"[:64])


def announce_all() -> int:
    """Say again who every account is (``sopdesk users announce``: after an upgrade, or to mend
    another service's copy); returns how many."""
    with bus.unit_of_work() as uow:
        users = list(uow.session.scalars(select(User).order_by(User.username)))
        for user in users:
            announce(uow, user)
        uow.commit()
        return len(users)


def staff_of(user: User, session: Session | None = None) -> Staff:
    """The signed-in person a token carries: their roles, unit and the unit's organisation."""
    org = None
    if user.unit:
        if session is not None:
            found = session.get(Unit, user.unit)
            org = found.pack if found else None
        else:
            with bus.session() as own:
                found = own.get(Unit, user.unit)
                org = found.pack if found else None
    return Staff(user_id=user.id, username=user.username, roles=user.role_names, org=org, unit=user.unit)


def org_of_user(session: Session, username: str) -> str | None:
    """The organisation of an active person (their unit's), None for none or no such person."""
    return org_of_users(session, [username]).get(username)


def org_of_users(session: Session, usernames) -> dict[str, str | None]:
    names = sorted(set(usernames))
    if not names:
        return {}

    def read() -> tuple:
        return tuple(session.execute(select(User.username, Unit.pack).outerjoin(Unit, Unit.key == User.unit)
                                     .where(User.username.in_(names), User.active.is_(True))).all())

    found = dict(caches.cached(caches.DIRECTORY, ("orgs", tuple(names)), session, read))
    return {name: found.get(name) for name in names}


def delegation_values(row: Delegation, names: dict[str, str]) -> dict:
    return {"away": names.get(row.delegator_id), "acting": names.get(row.delegate_id),
            "starts_on": row.starts_on.isoformat(), "ends_on": row.ends_on.isoformat(), "note": row.note}


def delegate(delegator: str, delegate_to: str, starts_on: date, ends_on: date, created_by: str,
             note: str = "", within: str | None = None) -> Delegation:
    """``delegator`` is away from ``starts_on`` to ``ends_on``; ``delegate_to`` acts for them.
    ``within``: the administrator's organisation, whose people alone they name."""
    if ends_on < starts_on:
        raise DirectoryError("ends_on: before starts_on", "admin.err.dates_order")
    if delegator == delegate_to:
        raise DirectoryError("delegate: someone else", "admin.err.delegate_self")
    if len(note or "") > 300:
        raise DirectoryError("note: at most 300 characters", "admin.err.note_long")
    with bus.unit_of_work() as uow:
        session = uow.session
        users = {u.username: u for u in session.scalars(select(User).where(User.username.in_([delegator, delegate_to])))}
        orgs = org_of_users(session, [delegator, delegate_to])
        for field, name in (("delegator", delegator), ("delegate", delegate_to)):
            if name not in users or (within is not None and orgs.get(name) != within):
                raise DirectoryError(f"{field}: no user {name}", "admin.err.person_unknown", username=name)
        if orgs[delegator] is None or orgs[delegator] != orgs[delegate_to]:
            raise DirectoryError(f"delegate: {delegate_to} is not of {delegator}'s organisation",
                                 "admin.err.delegate_other_org")
        row = Delegation(delegator_id=users[delegator].id, delegate_id=users[delegate_to].id, starts_on=starts_on,
                         ends_on=ends_on, created_by=created_by, note=note or "")
        session.add(row)
        session.flush()
        names = {u.id: u.username for u in users.values()}
        admin_trail.record(session, created_by, orgs[delegator], "delegation", str(row.id), None,
                           delegation_values(row, names))
        uow.commit()
        return row


def list_delegations(within: str | None, limit: int = 200) -> list[dict]:
    """The organisation's delegations (every one for None), those still to end first, latest
    start first; at most ``limit``."""
    away, acting = User.__table__.alias("away"), User.__table__.alias("acting")
    unit = Unit.__table__.alias("unit")
    query = (select(Delegation, away.c.username, away.c.display_name, acting.c.username, acting.c.display_name,
                    unit.c.pack)
             .join(away, away.c.id == Delegation.delegator_id).join(acting, acting.c.id == Delegation.delegate_id)
             .outerjoin(unit, unit.c.key == away.c.unit))
    if within is not None:
        query = query.where(unit.c.pack == within)
    on = today()
    query = query.order_by((Delegation.ends_on < on).asc(), Delegation.starts_on.desc(), Delegation.id.desc())
    with bus.session() as session:
        return [{"id": row.id, "away": a, "away_name": a_name or a, "acting": d, "acting_name": d_name or d,
                 "starts_on": row.starts_on, "ends_on": row.ends_on, "note": row.note, "org": org,
                 "created_by": row.created_by, "state": ("past" if row.ends_on < on else
                                                         "future" if row.starts_on > on else "now")}
                for row, a, a_name, d, d_name, org in session.execute(query.limit(limit))]


def end_delegation(delegation_id: int, by: str, within: str | None = None) -> str:
    """End a delegation: one not started yet is removed; one running ends yesterday (the days
    the delegate acted stay on record, and from today they no longer act); one over is refused.
    Returns ``removed`` or ``ended``."""
    with bus.unit_of_work() as uow:
        session = uow.session
        row = session.get(Delegation, delegation_id)
        if row is None:
            raise NotInOrganisation(str(delegation_id))
        names = dict(session.execute(select(User.id, User.username)
                                     .where(User.id.in_([row.delegator_id, row.delegate_id]))).all())
        org = org_of_users(session, [names.get(row.delegator_id, "")]).get(names.get(row.delegator_id, ""))
        if org is None:  # an inactive delegator: their unit's organisation all the same
            org = session.scalar(select(Unit.pack).join(User, User.unit == Unit.key).where(User.id == row.delegator_id))
        if within is not None and org != within:
            raise NotInOrganisation(str(delegation_id))
        on = today()
        if row.ends_on < on:
            raise DirectoryError("id: the delegation is over already", "admin.err.delegation_over")
        before = delegation_values(row, names)
        if row.starts_on >= on:
            session.delete(row)
            after, done = None, "removed"
        else:
            row.ends_on = date.fromordinal(on.toordinal() - 1)
            after, done = delegation_values(row, names), "ended"
        admin_trail.record(session, by, org, "delegation", str(delegation_id), before, after)
        uow.commit()
        return done


def _active_delegations(on: date):
    return select(Delegation).where(Delegation.starts_on <= on, Delegation.ends_on >= on)


def actor(session: Session, user_id: str, on: date | None = None) -> Actor | None:
    on = on or today()
    user = session.get(User, user_id)
    if user is None or not user.active:
        return None
    acting_for, names = {}, set()
    for row in session.scalars(_active_delegations(on).where(Delegation.delegate_id == user.id)):
        delegator = session.get(User, row.delegator_id)
        if delegator is None or not delegator.active:
            continue
        names.add(delegator.username)
        for role in delegator.role_names:
            if role not in user.role_names:
                acting_for.setdefault(role, delegator.username)
    return Actor(user_id=user.id, username=user.username, display_name=user.display_name, unit=user.unit,
                 roles=frozenset(user.role_names), acting_for=acting_for, acting_for_users=frozenset(names))


def away_today(session: Session, on: date | None = None) -> dict[str, str]:
    """username -> delegate's username, for everyone away today."""
    on = on or today()

    def read() -> dict[str, str]:
        rows = session.scalars(_active_delegations(on)).all()
        ids = {r.delegator_id for r in rows} | {r.delegate_id for r in rows}
        names = dict(session.execute(select(User.id, User.username).where(User.id.in_(ids))).all()) if ids else {}
        return {names[r.delegator_id]: names[r.delegate_id] for r in rows if r.delegator_id in names}

    return dict(caches.cached(caches.DIRECTORY, ("away", on), session, read))


def open_work(session: Session, usernames: list[str]) -> dict[str, int]:
    """How many active steps each person holds now, counting the steps this unit of work added
    and has not flushed (the earlier cases of a batch) from memory, so that nothing is flushed
    here; only when a step already stored was changed or deleted is everything flushed first, as
    always (the batch's rows then go to the database in one flush, at its end)."""
    if not usernames:
        return {}
    names = set(usernames)
    changed = any(isinstance(o, CaseStep) for o in (*session.dirty, *session.deleted))
    pending = [] if changed else [o.assignee for o in session.new
                                  if isinstance(o, CaseStep) and o.assignee in names and o.status == "active"]
    with contextlib.nullcontext() if changed else session.no_autoflush:
        counts = dict(session.execute(
            select(CaseStep.assignee, func.count()).where(CaseStep.assignee.in_(usernames), CaseStep.status == "active")
            .group_by(CaseStep.assignee)).all())
    for name in pending:
        counts[name] = counts.get(name, 0) + 1
    return {name: counts.get(name, 0) for name in usernames}


def holders(session: Session, roles: tuple[str, ...], pack: str | None) -> list[str]:
    """Active people of the organisation ``pack`` (in one of its units) holding any of ``roles``:
    work is given only within the organisation it belongs to."""
    roles = tuple(roles)
    if not pack:
        return []

    def read() -> tuple[str, ...]:
        query = (select(User.username).join(UserRole, UserRole.user_id == User.id)
                 .join(Unit, Unit.key == User.unit)
                 .where(UserRole.role.in_(roles), User.active.is_(True), Unit.pack == pack).distinct())
        return tuple(sorted(session.scalars(query)))

    return list(caches.cached(caches.DIRECTORY, ("holders", roles, pack), session, read))


def choose_assignee(session: Session, candidates: list[str]) -> str | None:
    """The candidate with the least open work (ties: by name); someone away is replaced by their
    delegate."""
    people = assignees.present(candidates, away_today(session))
    if not people:
        return None
    return assignees.least_open_work(people, open_work(session, people))


def display_names(session: Session, usernames) -> dict[str, str]:
    """Each username's name as people read it (their display name, else the username), for the
    usernames a page shows, in one query; former staff keep their names (a trail outlives them)."""
    names = sorted({name for name in usernames if name})
    if not names:
        return {}
    found = dict(session.execute(select(User.username, User.display_name).where(User.username.in_(names))).all())
    return {name: found.get(name) or name for name in names}


def user_by_name(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username, User.active.is_(True)))


def contact(session: Session, username: str | None) -> dict | None:
    """Whom notify writes to for a staff member: travels in the events (notify keeps no staff
    directory of its own). ``email`` may be None; notify then writes nothing."""
    if not username:
        return None

    def read() -> dict | None:
        user = user_by_name(session, username)
        if user is None:
            return None
        org = session.scalar(select(Unit.pack).where(Unit.key == user.unit)) if user.unit else None
        return {"username": user.username, "name": user.display_name or user.username, "email": user.email,
                "language": user.language or "th", "org": org}

    found = caches.cached(caches.DIRECTORY, ("contact", username), session, read)
    return dict(found) if found is not None else None


def heads_of_unit(session: Session, unit: str | None) -> list[str]:
    if not unit:
        return []
    return list(caches.cached(caches.DIRECTORY, ("heads", unit), session, lambda: tuple(sorted(session.scalars(
        select(User.username).join(UserRole, UserRole.user_id == User.id)
        .where(User.unit == unit, UserRole.role == "head", User.active.is_(True)))))))


def unit_members(session: Session, unit: str) -> list[str]:
    return list(caches.cached(caches.DIRECTORY, ("members", unit), session, lambda: tuple(sorted(session.scalars(
        select(User.username).where(User.unit == unit, User.active.is_(True)))))))


def people_of_org(session: Session, org: str | None) -> list[tuple[str, str]]:
    """(username, name) of the organisation's active people, by name: whom a list may be
    filtered by. Every organisation's for None (a system administrator)."""
    query = select(User.username, User.display_name).outerjoin(Unit, Unit.key == User.unit).where(User.active.is_(True))
    if org is not None:
        query = query.where(Unit.pack == org)
    return sorted(((name, shown or name) for name, shown in session.execute(query).all()), key=lambda p: p[1])


def units_of_org(session: Session, org: str | None) -> list[Unit]:
    """The organisation's units (every organisation's for None), by key."""
    query = select(Unit).order_by(Unit.key)
    if org is not None:
        query = query.where(Unit.pack == org)
    return list(session.scalars(query))


def _org_settings(session: Session, org: str):
    """The organisation's settings row, locked (a new one, all the configuration's, when none)."""
    row = session.get(OrgSettings, org, with_for_update=True)
    if row is None:
        row = OrgSettings(org=org, office_hours=None, reminders_at=None, reminder_days=None, updated_by="")
        session.add(row)
    return row


def set_office_hours(org: str, hours: str, by: str) -> str | None:
    """The organisation's office hours (``08:00-16:00``, Bangkok time; blank: back to the
    configuration's), which its cases' working time counts from now on: a step or a deadline
    already set keeps its due time. Its trail entry in the same transaction. Returns the hours
    now set (None: the configuration's)."""
    from shared.workcal import format_office_hours, parse_office_hours

    text = (hours or "").strip()
    wanted = None
    if text:
        try:
            wanted = format_office_hours(*parse_office_hours(text))
        except ValueError:
            raise DirectoryError("office_hours: opening and closing times, e.g. 08:30-16:30",
                                 "admin.err.office_hours") from None
    with bus.unit_of_work() as uow:
        row = _org_settings(uow.session, org)
        before = row.office_hours
        if before == wanted:
            return wanted
        row.office_hours, row.updated_by, row.updated_at = wanted, by, datetime.now(BANGKOK)
        admin_trail.record(uow.session, by, org, "office-hours", org,
                           {"office_hours": before} if before else None, {"office_hours": wanted} if wanted else None)
        uow.commit()
    return wanted


def set_reminders(org: str, at: str, days: str, by: str) -> tuple[str | None, list[int] | None]:
    """When the organisation's milestone reminders go out (``HH:MM``, Bangkok time) and how many
    working days ahead (``5,1``); blank: the configuration's. Its trail entry and the news to
    procurement, which sends the reminders (``org.reminders_changed``), in the same transaction.
    Returns what is now set (None: the configuration's)."""
    from shared.config import ConfigError, parse_reminder_days

    at, days = (at or "").strip(), (days or "").strip()
    if at and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", at):
        raise DirectoryError("reminders_at: a time of day, e.g. 08:30", "admin.err.reminders_at")
    try:
        wanted_days = sorted(parse_reminder_days(days), reverse=True) if days else None
    except ConfigError:
        raise DirectoryError("reminder_days: working days from 1 to 60, e.g. 5,1",
                             "admin.err.reminder_days") from None
    wanted_at = at or None
    with bus.unit_of_work() as uow:
        row = _org_settings(uow.session, org)
        before = {"reminders_at": row.reminders_at, "reminder_days": row.reminder_days}
        after = {"reminders_at": wanted_at, "reminder_days": wanted_days}
        if before == after:
            return wanted_at, wanted_days
        moment = datetime.now(BANGKOK)
        row.reminders_at, row.reminder_days, row.updated_by, row.updated_at = wanted_at, wanted_days, by, moment
        admin_trail.record(uow.session, by, org, "reminders", org, before if any(before.values()) else None,
                           after if any(after.values()) else None)
        uow.emit("org.reminders_changed", {"org": org, "reminders_at": wanted_at, "reminder_days": wanted_days,
                                           "changed_at": moment.isoformat()})
        uow.commit()
    return wanted_at, wanted_days
