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
from services.assignment.adapters.models import CaseStep, Delegation, Unit, User, UserRole
from services.assignment.domain import assignees
from services.assignment.domain.workflow import Actor  # a staff member as the workflow sees them
from shared.auth import SYSADMIN, Staff, hash_password
from shared.i18n import BANGKOK
from shared.packs import ROLES

USERNAME = re.compile(r"^[A-Za-z0-9._@-]{2,100}$")
# one plain address, nothing a mail header could read as a second one
EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


class DirectoryError(ValueError):
    pass


def today() -> date:
    return datetime.now(BANGKOK).date()


def add_unit(key: str, pack: str, name_th: str, name_en: str = "") -> Unit:
    if not re.match(r"^[a-z0-9][a-z0-9-]*$", key or ""):
        raise DirectoryError("unit: lower-case letters, digits and -")
    if not re.match(r"^[a-z0-9][a-z0-9-]{0,49}$", pack or ""):
        raise DirectoryError("pack: the organisation's pack key (lower-case letters, digits and -)")
    with bus.session() as session:
        unit = session.get(Unit, key) or Unit(key=key)
        if unit.pack and unit.pack != pack and session.scalar(select(User.id).where(User.unit == key).limit(1)):
            raise DirectoryError(f"unit: {key} is of {unit.pack} and has people; a unit does not change organisation")
        unit.pack, unit.name = pack, {"th": name_th, "en": name_en or name_th}
        session.add(unit)
        session.commit()
        return unit


def add_user(username: str, password: str, roles: list[str], display_name: str = "",
             email: str | None = None, unit: str | None = None, language: str = "th") -> User:
    if not USERNAME.match(username or ""):
        raise DirectoryError("username: 2-100 letters, digits or . _ @ -")
    if len(password or "") < 8:
        raise DirectoryError("password: at least 8 characters")
    if language not in ("th", "en"):
        raise DirectoryError("language: th or en")
    if email is not None and not EMAIL.match(email):
        raise DirectoryError(f"email: not an address: {email!r}")
    unknown = sorted(set(roles) - set(ROLES))
    if unknown or not roles:
        raise DirectoryError(f"role: unknown {', '.join(unknown)}; choose from {', '.join(ROLES)}" if unknown
                             else "role: at least one")
    # every account belongs to an organisation through its unit, but a system administrator's,
    # which belongs to none (and holds no other role: the walls are about organisations)
    if SYSADMIN in roles:
        if len(set(roles)) > 1 or unit:
            raise DirectoryError("role: sysadmin is held alone, without a unit (it sees every organisation)")
    elif not unit:
        raise DirectoryError("unit: every account belongs to a unit of its organisation (sopdesk units add)")
    with bus.unit_of_work() as uow:
        session = uow.session
        if session.scalar(select(User.id).where(User.username == username)):
            raise DirectoryError(f"username: {username} exists already")
        if unit and session.get(Unit, unit) is None:
            raise DirectoryError(f"unit: no unit {unit}")
        user = User(username=username, password_hash=hash_password(password), display_name=display_name or username,
                    email=email, unit=unit, language=language, roles=[UserRole(role=r) for r in sorted(set(roles))])
        session.add(user)
        announce(uow, user)
        uow.commit()
        return user


def move_user(username: str, unit: str) -> Staff:
    """Move a person to another unit (and so, perhaps, another organisation); their work stays
    where it is. Returns them as a token would now carry them."""
    with bus.unit_of_work() as uow:
        session = uow.session
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise DirectoryError(f"username: no user {username}")
        if session.get(Unit, unit) is None:
            raise DirectoryError(f"unit: no unit {unit}")
        if SYSADMIN in user.role_names:
            raise DirectoryError("unit: a system administrator belongs to no unit")
        user.unit = unit
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


def delegate(delegator: str, delegate_to: str, starts_on: date, ends_on: date, created_by: str,
             note: str = "") -> Delegation:
    """``delegator`` is away from ``starts_on`` to ``ends_on``; ``delegate_to`` acts for them."""
    if ends_on < starts_on:
        raise DirectoryError("ends_on: before starts_on")
    if delegator == delegate_to:
        raise DirectoryError("delegate: someone else")
    with bus.session() as session:
        users = {u.username: u for u in session.scalars(select(User).where(User.username.in_([delegator, delegate_to])))}
        for name in (delegator, delegate_to):
            if name not in users:
                raise DirectoryError(f"username: no user {name}")
        orgs = org_of_users(session, [delegator, delegate_to])
        if orgs[delegator] is None or orgs[delegator] != orgs[delegate_to]:
            raise DirectoryError(f"delegate: {delegate_to} is not of {delegator}'s organisation")
        row = Delegation(delegator_id=users[delegator].id, delegate_id=users[delegate_to].id, starts_on=starts_on,
                         ends_on=ends_on, created_by=created_by, note=note)
        session.add(row)
        session.commit()
        return row


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
