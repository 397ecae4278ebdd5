"""Files people upload (with a request, an answer, or a procurement document): what kind a file
really is (from its bytes, never from its name or the browser's word), a safe name to show, and
where it is kept.

Files are kept under ``settings.files_dir`` with random names, never under anything a web server
serves; each service hands them back only through its own views, to those allowed to see them.
No Flask here: callers pass a name and a binary stream."""
from __future__ import annotations

import hashlib
import os
import re
import secrets
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK = 64 * 1024
MAX_NAME = 150
MAX_FILES_PER_FIELD = 10

# kind (as packs name it) -> content type -> the name endings that type goes by
KINDS: dict[str, dict[str, tuple[str, ...]]] = {
    "pdf": {"application/pdf": (".pdf",)},
    "image": {"image/jpeg": (".jpg", ".jpeg", ".jfif"), "image/png": (".png",), "image/gif": (".gif",),
              "image/webp": (".webp",)},
    "word": {"application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx",),
             "application/msword": (".doc",),
             "application/vnd.oasis.opendocument.text": (".odt",)},
    "excel": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (".xlsx",),
              "application/vnd.ms-excel": (".xls",),
              "application/vnd.oasis.opendocument.spreadsheet": (".ods",)},
    "text": {"text/plain": (".txt",), "text/csv": (".csv",)},
}
KIND_OF = {content_type: kind for kind, types in KINDS.items() for content_type in types}
ENDINGS = {content_type: endings for types in KINDS.values() for content_type, endings in types.items()}

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f\u2028\u2029<>:"/\\|?*;]')


class UploadError(ValueError):
    """A file that may not be kept; ``code`` names the message (see messages.py)."""

    def __init__(self, code: str, **values) -> None:
        super().__init__(code)
        self.code = code
        self.values = values


@dataclass
class StoredFile:
    """A file written under files_dir, not yet recorded: ``discard()`` it if the record fails."""

    field: str
    name: str
    content_type: str
    size: int
    sha256: str
    storage_key: str
    path: Path

    def discard(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass

    def metadata(self, attachment_id: str) -> dict:
        return {"id": attachment_id, "field": self.field, "name": self.name, "content_type": self.content_type,
                "size": self.size}


def clean_filename(name: str | None) -> str:
    """A name that is safe to show and to put in a Content-Disposition header: the last part of
    any path, no control characters (no CR/LF), no quotes or path separators, at most 150
    characters with its ending kept. Thai letters stay."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_NAME.sub("_", name)
    name = re.sub(r"\s+", " ", name).strip(" .")
    if len(name) > MAX_NAME:
        stem, dot, ending = name.rpartition(".")
        if dot and 0 < len(ending) <= 10:
            name = stem[:MAX_NAME - len(ending) - 1].rstrip(" .") + "." + ending
        else:
            name = name[:MAX_NAME]
    return name or "file"


def sniff(path: Path, claimed_name: str = "") -> str | None:
    """The content type the file's bytes show, among those sopdesk keeps; None for anything else
    (a program renamed .pdf, an HTML page, an archive)."""
    with open(path, "rb") as handle:
        head = handle.read(4096)
    if not head:
        return None
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"PK\x03\x04"):
        return _sniff_zip(path)
    if head.startswith(_OLE2):
        return _sniff_ole2(path)
    return _sniff_text(path, claimed_name)


def _sniff_zip(path: Path) -> str | None:
    """Office Open XML (docx, xlsx) and OpenDocument (odt, ods) are zip files; any other zip is not
    kept. Only the names and the tiny ``mimetype`` member are read, never the contents."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if "mimetype" in names:
                info = archive.getinfo("mimetype")
                if info.file_size > 100:
                    return None
                declared = archive.read("mimetype").decode("ascii", "replace").strip()
                return declared if declared in ("application/vnd.oasis.opendocument.text",
                                                "application/vnd.oasis.opendocument.spreadsheet") else None
            if "[Content_Types].xml" in names:
                if any(n.startswith("word/") for n in names):
                    return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
                if any(n.startswith("xl/") for n in names):
                    return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        return None
    return None


def _sniff_ole2(path: Path) -> str | None:
    """Old Word (.doc) and Excel (.xls) files are OLE2 compound files; their directory names the
    main stream in UTF-16: WordDocument, or Workbook/Book."""
    data = path.read_bytes()
    if "WordDocument".encode("utf-16-le") in data:
        return "application/msword"
    if "Workbook".encode("utf-16-le") in data or "Book\x00".encode("utf-16-le") in data:
        return "application/vnd.ms-excel"
    return None


def _sniff_text(path: Path, claimed_name: str) -> str | None:
    """Plain text: valid UTF-8 without NUL or other control characters (tabs and line breaks
    allowed). CSV when the name says so."""
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if re.search(r"[\x00-\x08\x0b\x0e-\x1f\x7f]", text):
        return None
    return "text/csv" if claimed_name.lower().endswith(".csv") else "text/plain"


def _storage_path(files_dir: Path, storage_key: str) -> Path:
    return Path(files_dir) / storage_key


def new_storage_key() -> str:
    token = secrets.token_hex(16)
    return f"{token[:2]}/{token}"


def store(stream: BinaryIO, filename: str | None, field: str, accept: tuple[str, ...], files_dir: Path,
          max_bytes: int) -> StoredFile:
    """Write one upload under ``files_dir`` with a random name, checking its size as it comes in
    and its kind from its bytes. Raises ``UploadError`` and leaves nothing behind when the file
    may not be kept."""
    name = clean_filename(filename)
    key = new_storage_key()
    path = _storage_path(files_dir, key)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    digest = hashlib.sha256()
    size = 0
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            while True:
                chunk = stream.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise UploadError("too_big", mb=max_bytes // (1024 * 1024))
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise UploadError("empty")
        content_type = sniff(path, name)
        if content_type is None or KIND_OF[content_type] not in accept:
            raise UploadError("wrong_type", kinds=accept)
        name = _with_fitting_ending(name, content_type)
    except BaseException:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        raise
    return StoredFile(field=field, name=name, content_type=content_type, size=size, sha256=digest.hexdigest(),
                      storage_key=key, path=path)


def _with_fitting_ending(name: str, content_type: str) -> str:
    """The name's ending must be one of its kind's (a .jpg that is really a PNG is still an image;
    a PDF named .exe is refused). A name without an ending gets the type's own."""
    stem, dot, ending = name.rpartition(".")
    if not dot or not stem:
        return clean_filename(f"{name}{ENDINGS[content_type][0]}")
    kind = KIND_OF[content_type]
    allowed = {e for t in KINDS[kind].values() for e in t}
    if f".{ending.lower()}" not in allowed:
        raise UploadError("name_mismatch", ending=f".{ending}")
    return name


def open_stored(files_dir: Path, storage_key: str) -> Path:
    """The path of a kept file (the key is ours, never a requester's: no traversal possible, but
    check anyway)."""
    root = Path(files_dir).resolve()
    path = (root / storage_key).resolve()
    if root not in path.parents:
        raise FileNotFoundError(storage_key)
    return path


def discard_all(stored: list[StoredFile]) -> None:
    for item in stored:
        item.discard()


def upload_message(error: UploadError, lang: str) -> str:
    """Why a file was refused, in ``lang`` (shared's catalogue: ``file.<code>``; the kinds it
    takes as ``file.kind.<kind>``)."""
    from shared import i18n

    values = dict(error.values)
    if "kinds" in values:
        joiner = ", " if lang == "en" else " "
        values["kinds"] = joiner.join(i18n.translate(f"file.kind.{kind}", lang) for kind in values["kinds"])
    return i18n.translate(f"file.{error.code}", lang, **values)


def store_parts(parts, field: str, accept: tuple[str, ...], files_dir: Path, max_bytes: int,
                lang: str) -> tuple[list[StoredFile], list[str]]:
    """Each uploaded part (an object with ``stream`` and ``filename``) stored with ``store``, and
    the messages of those refused ('<name>: <why>', in ``lang``). When any is refused, none is
    kept: the stored ones are discarded and the list comes back empty."""
    stored: list[StoredFile] = []
    errors: list[str] = []
    for part in parts:
        try:
            stored.append(store(part.stream, part.filename, field, accept, files_dir, max_bytes))
        except UploadError as exc:
            errors.append(f"{clean_filename(part.filename)}: {upload_message(exc, lang)}")
    if errors:
        discard_all(stored)
        return [], errors
    return stored, errors
