"""The packs assignment runs: every version ever loaded is kept, and a case runs on the version it
opened with for good, so loading a new version never changes the path of cases already running.
No Flask here."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.assignment.adapters import caches
from services.assignment.adapters.bus import bus
from services.assignment.adapters.models import PackVersion
from shared.packs import PACK_DIR, Pack, PackError, Sop, parse_pack


@dataclass(frozen=True)
class LoadResult:
    pack: str
    version: int
    status: str  # loaded, upgraded, unchanged

    def __str__(self) -> str:
        return f"{self.pack} version {self.version}: {self.status}"


def load_pack_text(text: str, source: str, loaded_by: str = "") -> LoadResult:
    """Validate and store a pack. The same version with the same text is a no-op; the same version
    with other text, or an older version, is refused (bump ``version`` to change a pack)."""
    pack = _parsed(text, source)
    with bus.session() as session:
        newest = session.scalar(select(PackVersion).where(PackVersion.pack == pack.key)
                                .order_by(PackVersion.version.desc()).limit(1))
        same = session.scalar(select(PackVersion).where(PackVersion.pack == pack.key,
                                                        PackVersion.version == pack.version))
        if same is not None:
            if same.checksum == pack.checksum:
                return LoadResult(pack.key, pack.version, "unchanged")
            raise PackError(f"{source}: {pack.key} version {pack.version} is loaded already with other content; "
                            f"raise 'version' to load a change")
        if newest is not None and newest.version > pack.version:
            raise PackError(f"{source}: {pack.key} version {newest.version} is loaded; version {pack.version} "
                            f"is older")
        session.add(PackVersion(pack=pack.key, version=pack.version, checksum=pack.checksum, source=text,
                                loaded_by=loaded_by))
        session.commit()
    return LoadResult(pack.key, pack.version, "upgraded" if newest is not None else "loaded")


def load_pack_file(path: str | Path, loaded_by: str = "") -> LoadResult:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PackError(f"{path}: cannot read: {exc}") from exc
    return load_pack_text(text, source=str(path), loaded_by=loaded_by)


def load_builtin_packs(loaded_by: str = "sopdesk") -> list[LoadResult]:
    """Load the packs shipped with sopdesk (at start, after migrations); unchanged ones are no-ops."""
    return [load_pack_file(path, loaded_by) for path in sorted(PACK_DIR.glob("*.yaml"))]


@functools.lru_cache(maxsize=64)
def _parsed(text: str, source: str) -> Pack:
    return parse_pack(text, source=source)


# every (pack, version) parsed so far: a loaded version never changes (``load_pack_text`` refuses
# other content under it), so it is kept for the life of the process without any check
_versions: dict[tuple[str, int], Pack] = {}


def pack_version(pack_key: str, version: int, session: Session | None = None) -> Pack | None:
    """A stored pack version: read and parsed once per process (a version is immutable)."""
    pack = _versions.get((pack_key, version))
    if pack is not None:
        return pack
    if session is None:
        with bus.session() as own:
            return pack_version(pack_key, version, own)
    source = session.scalar(select(PackVersion.source).where(PackVersion.pack == pack_key,
                                                             PackVersion.version == version))
    if source is None:
        return None  # not loaded (yet): never kept
    pack = _versions[(pack_key, version)] = _parsed(source, f"{pack_key} v{version}")
    return pack


def latest_versions(session: Session | None = None) -> dict[str, int]:
    """The newest loaded version of each pack. Another process may load one at any time, so this
    is kept in the ``packs`` group of ``caches``: loading a version (here or in any process)
    changes the group's token in the same transaction, and the next transaction that asks sees
    it (one read of the tokens per transaction). Not a time-to-live: a new version would be
    missed for that long, and ``sopdesk packs load`` is expected to take effect at once."""
    if session is None:
        with bus.session() as own:
            return latest_versions(own)
    latest = caches.cached(caches.PACKS, "latest", session, lambda: dict(session.execute(
        select(PackVersion.pack, func.max(PackVersion.version)).group_by(PackVersion.pack)).all()))
    return dict(latest)


def latest_packs() -> dict[str, Pack]:
    with bus.session() as session:
        return {key: pack_version(key, version, session) for key, version in sorted(latest_versions(session).items())}


def sop_for(full_key: str, version: int | None = None, session: Session | None = None) -> Sop | None:
    """An SOP at a given pack version, or at the newest loaded version. With ``session`` (the
    caller's unit of work), nothing needs a connection of its own."""
    pack_key, _, sop_key = (full_key or "").partition("/")
    if version is None:
        version = latest_versions(session).get(pack_key)
        if version is None:
            return None
    pack = pack_version(pack_key, version, session)
    return pack.sops.get(sop_key) if pack else None


def forget() -> None:
    """Drop the versions kept and every cached group (tests, after emptying the tables: the same
    version may then be loaded with other content). The parse cache stays: it is keyed by the
    text itself, so what it holds is right whatever the tables hold."""
    _versions.clear()
    caches.forget()


__all__ = ["LoadResult", "PackError", "forget", "latest_packs", "load_builtin_packs", "load_pack_file",
           "load_pack_text", "pack_version", "sop_for"]
