"""Thai first, English too: choosing the language of a page or an email, the words, and dates as
people read them (Asia/Bangkok; the Buddhist era in Thai).

The words are gettext catalogues, ``translations/<lang>/LC_MESSAGES/messages.po``: the shared ones
beside this module, read when it is imported, and each service's own, read when its ``messages``
module is imported. msgid is a symbolic key (``t("track.title")``), msgstr the text; all of them are
read once into ``MESSAGES`` so that translate is a dictionary lookup."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.messages.pofile import read_po

LANGUAGES = ("th", "en")
DEFAULT_LANGUAGE = "th"
BANGKOK = ZoneInfo("Asia/Bangkok")

THAI_MONTHS = ("มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน", "กรกฎาคม",
               "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม")
THAI_MONTHS_SHORT = ("ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.",
                     "พ.ย.", "ธ.ค.")

TRANSLATIONS = Path(__file__).with_name("translations")

# key -> {"th": ..., "en": ...}: every word of every catalogue loaded so far, looked up by translate
MESSAGES: dict[str, dict[str, str]] = {}
_LOADED: set[Path] = set()


def read_catalogues(directory: Path) -> dict[str, dict[str, str]]:
    """The words of one place's gettext catalogues, ``<directory>/<lang>/LC_MESSAGES/messages.po``
    for each language: msgid is the key, msgstr the text. An empty or fuzzy msgstr is left out, as
    msgfmt would: translate then falls back to Thai (and a test fails on the missing word)."""
    words: dict[str, dict[str, str]] = {}
    for lang in LANGUAGES:
        with open(directory / lang / "LC_MESSAGES" / "messages.po", "rb") as fh:
            catalogue = read_po(fh)
        for message in catalogue:
            if message.id and message.string and not message.fuzzy:
                words.setdefault(message.id, {})[lang] = message.string
    return words


def load_catalogues(directory: Path) -> None:
    """Add one place's catalogues (shared/translations, or a service's own translations/) to the
    words translate looks up; read once per process. A key may be in two places only with the same
    texts."""
    directory = Path(directory)
    if directory in _LOADED:
        return
    words = read_catalogues(directory)
    for key, texts in words.items():
        if key in MESSAGES and MESSAGES[key] != texts:
            raise ValueError(f"message {key} in {directory} differs from the one already loaded")
    MESSAGES.update(words)
    _LOADED.add(directory)


load_catalogues(TRANSLATIONS)


def translate(key: str, lang: str = DEFAULT_LANGUAGE, **values) -> str:
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry.get(DEFAULT_LANGUAGE) or key
    return text.format(**values) if values else text


def pick(texts: dict[str, str] | str | None, lang: str) -> str:
    """A {"th": ..., "en": ...} text from a pack, in the language asked, Thai when missing."""
    if texts is None:
        return ""
    if isinstance(texts, str):
        return texts
    return texts.get(lang) or texts.get(DEFAULT_LANGUAGE) or next(iter(texts.values()), "")


def negotiate(query_lang: str | None, cookie_lang: str | None, accept_language) -> str:
    for candidate in (query_lang, cookie_lang):
        if candidate in LANGUAGES:
            return candidate
    if accept_language is not None:
        best = accept_language.best_match(LANGUAGES)
        if best:
            return best
    return DEFAULT_LANGUAGE


_LANGUAGE_KEY = "sopdesk.language"  # where current_language keeps its answer, in the request's WSGI environ


def current_language() -> str:
    """The request's language (``?lang=``, else the ``lang`` cookie, else Accept-Language), worked
    out once per request: a page asks for it many times (the view, its schema, its templates)."""
    from flask import has_request_context, request

    if not has_request_context():
        return DEFAULT_LANGUAGE
    environ = request.environ
    language = environ.get(_LANGUAGE_KEY)
    if language is None:
        language = environ[_LANGUAGE_KEY] = negotiate(request.args.get("lang"), request.cookies.get("lang"),
                                                      request.accept_languages)
    return language


def buddhist_year(year: int) -> int:
    return year + 543


def format_day(value, lang: str = DEFAULT_LANGUAGE) -> str:
    """A calendar day (a ``date``) as people read it: '21 พฤศจิกายน 2569', '21 November 2026'."""
    if value is None:
        return "-"
    if lang == "th":
        return f"{value.day} {THAI_MONTHS[value.month - 1]} {buddhist_year(value.year)}"
    return f"{value.day} {value.strftime('%B %Y')}"


def format_month(value, lang: str = DEFAULT_LANGUAGE) -> str:
    """A month (a ``date`` or ``'2026-10'``) as reports head it: 'ต.ค. 2569', 'Oct 2026'."""
    if isinstance(value, str):
        value = date(int(value[:4]), int(value[5:7]), 1)
    if lang == "th":
        return f"{THAI_MONTHS_SHORT[value.month - 1]} {buddhist_year(value.year)}"
    return value.strftime("%b %Y")


def format_datetime(value: datetime | None, lang: str = DEFAULT_LANGUAGE, with_time: bool = True) -> str:
    """'21 พฤศจิกายน 2569 14:05' in Thai, '21 November 2026 14:05' in English, Bangkok time."""
    if value is None:
        return "-"
    local = value.astimezone(BANGKOK)
    if lang == "th":
        text = f"{local.day} {THAI_MONTHS[local.month - 1]} {buddhist_year(local.year)}"
    else:
        text = local.strftime("%-d %B %Y")
    if with_time:
        text += local.strftime(" %H:%M")
        if lang == "th":
            text += " น."
    return text


def format_size(size: int | None, lang: str = DEFAULT_LANGUAGE) -> str:
    """A file's size as every page shows it (the desk, the tracking page, procurement's documents):
    bytes under a kilobyte, then kilobytes and megabytes (1024) to one decimal: '200 ไบต์', '1.5 KB'."""
    size = int(size or 0)
    if size < 1024:
        return translate("size.bytes", lang, n=size)
    if size < 1024 * 1024:
        return translate("size.kb", lang, n=f"{size / 1024:.1f}")
    return translate("size.mb", lang, n=f"{size / (1024 * 1024):.1f}")
