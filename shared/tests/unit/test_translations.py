"""The words: every key the code and the templates look up is in the Thai and the English catalogue
of the place that looks it up (its service's translations/, or shared/translations), with a text;
Thai texts are Thai; a Thai text has the placeholders of its English one.

The keys are found as `make messages` finds them: Babel's extractor with babel.cfg's mapping and
keywords. Keys built at run time cannot be extracted; DYNAMIC lists their prefixes with the values
they take, PREFIXED the helpers that add a prefix to a literal. No database needed."""
from __future__ import annotations

import re
import string
from dataclasses import dataclass
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from services.assignment.adapters.models import ADMIN_KINDS, SYSTEM_ACTORS, TRAIL_KINDS
from services.assignment.domain.search import SORTS, STATUSES as LIST_STATUSES
from services.assignment.entrypoints.reports import COLUMNS as REPORT_COLUMNS, TABLES as REPORT_TABLES
from services.procurement.entrypoints.desk import WARRANTIES as ASSET_WARRANTIES
from services.assignment.entrypoints.case_list import FIELDS as LIST_FIELDS
from services.assignment.entrypoints.case_view import NEWS
from services.intake.schemas import STAFF_CHANNELS
from services.procurement.adapters.models import (ASSET_STATUSES, COMMITTEE_KINDS, COMMITTEE_POSITIONS,
                                                  CONTRACT_STATUSES, DOCUMENT_KINDS, FINE_BASES, METHODS,
                                                  OWNERSHIP, PROJECT_KINDS)
from services.procurement.domain.milestones import DECISIONS, STATES
from services.procurement.domain.stages import APPROVAL_KINDS, PROJECT_STAGES
from services.procurement.handlers.contracts import SEVERITIES
from shared.audit import RECORD_KINDS
from shared.config import SERVICES
from shared.i18n import LANGUAGES, read_catalogues
from shared.nav import AREAS
from services.assignment.handlers.packs_admin import (APPROVAL_MODES as PACK_APPROVALS, BRANCH_OPS as PACK_OPS,
                                                    NOTIFY_MODES as PACK_NOTIFY, REFUSALS as PACK_REFUSALS)
from shared.packs import APPROVALS, FILE_KINDS, OUTCOME_KINDS, RESULTS, ROLES, WAITS, common_outcomes

ROOT = Path(__file__).resolve().parents[3]
SERVICES = ("intake", "assignment", "notify", "procurement")
THAI = re.compile("[\u0e00-\u0e7f]")


def catalogue_dir(place: str) -> Path:
    return ROOT / "shared" / "translations" if place == "shared" else ROOT / "services" / place / "translations"


@dataclass(frozen=True)
class Lookup:
    place: str  # "shared" or a service: the catalogue it may find the key in, besides the shared one
    key: str
    where: str


# Keys built at run time: (place, prefix, the values the rest takes, where they come from).
DYNAMIC = [
    ("assignment", "list.status.", LIST_STATUSES, "the case list over domain.search.STATUSES"),
    ("assignment", "list.sort.", SORTS, "the case list over domain.search.SORTS"),
    ("assignment", "list.invalid.", LIST_FIELDS + ("page",), "case_list.py: a refused filter, by its field"),
    ("assignment", "list.preset.", ("mine", "my_overdue", "unit", "unit_overdue", "all_overdue", "waiting"),
     "case_list.presets"),
    # the channels a request comes by: intake's filings (domain/channels.py), a staff member's
    # (schemas.STAFF_CHANNELS) and planned work (handlers/requests.PLANNED_CHANNEL)
    ("assignment", "channel.", ("web", "api", "staff", "external", "planned") + STAFF_CHANNELS,
     "register.html: how each entry's request came"),
    ("assignment", "report.col.", REPORT_COLUMNS, "entrypoints/reports.tables: the tables' headers"),
    ("assignment", "report.table.", REPORT_TABLES, "entrypoints/reports.xlsx_of: the sheets' names"),
    ("assignment", "report.met.", ("true", "false"), "entrypoints/reports.tables: a target met or not"),
    ("assignment", "report.invalid.", ("fiscal_year", "quarter", "month", "org"), "report_page.render: a refused filter"),
    ("assignment", "register.invalid.", ("logged_from", "logged_to"), "desk.register_page: a refused day, by its field"),
    ("shared", "role.", ROLES, "shared.packs.ROLES (steps, desk, emails, flowchart)"),
    ("shared", "wait.", WAITS, "shared.packs.WAITS"),
    ("shared", "roles.joiner.", ("any_of",) + APPROVALS, "flowchart.roles_text and sop.html: who acts on a step"),
    ("shared", "roles.note.", APPROVALS, "flowchart.roles_text and sop.html: a step decided together"),
    ("shared", "result.", RESULTS, "shared.packs.RESULTS"),
    ("shared", "flowchart.end.", RESULTS, "shared/packs/flowchart.py: an end of each result"),
    ("shared", "flowchart.waits.", WAITS, "shared/packs/flowchart.py: what a step waits for"),
    ("shared", "status.", ("submitted", "open", "closed"), "a request's status: intake's models and the case's"),
    ("intake", "intake.kind.", FILE_KINDS, "messages.kinds_text over shared.packs.FILE_KINDS"),
    ("shared", "file.kind.", FILE_KINDS, "shared/files.py upload_message over shared.packs.FILE_KINDS"),
    ("intake", "intake.kept.", ("name", "email", "phone", "unit", "request"), "handlers/privacy.py _kept"),
    ("intake", "intake.channel.", STAFF_CHANNELS, "form.html over schemas.STAFF_CHANNELS"),
    ("intake", "intake.survey.score.", ("1", "2", "3", "4", "5"), "survey.html, a score of 1 to 5"),
    ("intake", "intake.v.", ("staff_only", "required"), "views.py over domain/channels.field_refusals"),
    ("intake", "pdpa.reason.", ("request", "retention"), "the privacy pages over an erasure request's reason"),
    ("intake", "pdpa.service.", SERVICES, "the privacy pages over shared.config.SERVICES"),
    ("intake", "pdpa.record.", RECORD_KINDS, "the access-log page over shared.audit.RECORD_KINDS"),
    ("notify", "email.deadline.", ("step", "case"), "handlers/emails.py write_overdue"),
    ("notify", "email.incident.severity.", SEVERITIES, "procurement's contracts.SEVERITIES"),
    ("notify", "email.footer.", ("requester", "vendor", "staff"), "the audience each email template sets"),
    ("notify", "email.procurement.as.", ("officer", "inspection-committee"), "handlers/emails.py procurement roles"),
    ("assignment", "desk.asset.", ("owned", "leased"), "case.html, the asset's ownership"),
    ("shared", "nav.", tuple(area.key for area in AREAS), "base.html's menu over shared/nav.AREAS"),
    ("shared", "outcome.", tuple(common_outcomes()), "case_view.outcome_words: the shared words, asked only when there"),
    ("assignment", "desk.trail.", TRAIL_KINDS, "case.html over adapters/models.TRAIL_KINDS"),
    ("assignment", "admin.kind.", ADMIN_KINDS, "admin/trail.html over adapters/models.ADMIN_KINDS"),
    ("assignment", "desk.news.", NEWS + ("contract", "milestone", "days_ahead", "days_late", "amount"),
     "entrypoints/case_view.news_words: procurement's news in a case's trail"),
    ("assignment", "desk.actor.", SYSTEM_ACTORS, "case.html over adapters/models.SYSTEM_ACTORS"),
    ("procurement", "proc.stage.", PROJECT_STAGES, "domain/stages.PROJECT_STAGES"),
    ("procurement", "proc.approval_kind.", APPROVAL_KINDS, "domain/stages.APPROVAL_KINDS"),
    ("procurement", "proc.ms.state.", STATES + ("late",), "domain/milestones.STATES and late (timeline)"),
    ("procurement", "proc.decision.", DECISIONS + ("approved", "rejected"), "acceptances and approvals"),
    ("procurement", "proc.kind.", PROJECT_KINDS, "adapters/models.PROJECT_KINDS"),
    ("procurement", "proc.method.", METHODS, "adapters/models.METHODS"),
    ("procurement", "proc.committee_kind.", COMMITTEE_KINDS, "adapters/models.COMMITTEE_KINDS"),
    ("procurement", "proc.position.", COMMITTEE_POSITIONS, "adapters/models.COMMITTEE_POSITIONS"),
    ("procurement", "proc.doc.", DOCUMENT_KINDS, "adapters/models.DOCUMENT_KINDS"),
    ("procurement", "proc.contract_status.", CONTRACT_STATUSES, "adapters/models.CONTRACT_STATUSES"),
    ("procurement", "proc.f.member.", ("name", "username", "email"), "project.html's committee rows"),
    ("procurement", "proc.f.contract.", ("title", "due_on", "value", "deliverables"), "contract_new.html's milestone rows"),
    ("procurement", "proc.incident.severity.", ("high", "critical"), "contract.html: schemas/contracts.IncidentInSchema"),
    ("procurement", "proc.fine_basis.", FINE_BASES, "adapters/models.FINE_BASES"),
    ("procurement", "proc.asset_status.", ASSET_STATUSES, "adapters/models.ASSET_STATUSES"),
    ("procurement", "proc.ownership.", OWNERSHIP, "adapters/models.OWNERSHIP"),
    ("procurement", "proc.assets.warranty.", ASSET_WARRANTIES, "entrypoints/desk.WARRANTIES: the register's filter"),
    ("assignment", "packs.refused.", PACK_REFUSALS, "handlers/packs_admin.REFUSALS: the pack pages' refusals"),
    ("assignment", "packs.result.", ("loaded", "upgraded", "unchanged"), "pack_pages: packstore.LoadResult.status"),
    ("assignment", "packs.approval.", PACK_APPROVALS, "packs/editor.html over packs_admin.APPROVAL_MODES"),
    ("assignment", "packs.notify.", PACK_NOTIFY, "packs/editor.html over packs_admin.NOTIFY_MODES"),
    ("assignment", "packs.kind.", OUTCOME_KINDS, "packs/editor.html over shared.packs.OUTCOME_KINDS"),
    ("assignment", "packs.op.", PACK_OPS, "packs/editor.html over packs_admin.BRANCH_OPS"),
    ("assignment", "yearly.score.", ("1", "2", "3", "4", "5"), "adapters/yearly_pdf.py: the satisfaction chart's scores"),
    ("assignment", "yearly.stage.", PROJECT_STAGES, "adapters/yearly_pdf.py: procurement projects by stage"),
]

# Helpers that add a prefix to the literal they are given: (place, where to look, keyword, prefix).
PREFIXED = [
    ("intake", "services/intake", "msg", "intake.v."),  # schemas.msg("required", lang)
    ("intake", "services/intake", "Refused", "intake.refused."),  # handlers/requests.Refused("not_waiting")
    ("intake", "shared", "UploadError", "intake.file."),  # shared/files.py: views show t("intake.file." + code)
    ("shared", "shared", "UploadError", "file."),  # shared/files.py upload_message: file.<code>
    ("procurement", "shared", "UploadError", "procurement.doc."),  # adapters/documents.py, the same codes
    # a use case's refusal Said("payment_before_acceptance", ...): the desk says it as proc.refusal.<key>
    ("procurement", "services/procurement", "Said", "proc.refusal."),
]

# Where a key is made at run time: the prefix the test must know, as written at the call
# (f"status.{...}", 'wait.' ~ ..., 'intake.file.' + ...). A new one not in DYNAMIC fails the test.
_BUILT_KEY = re.compile(r"""\b(?:t|_t|translate|_both)\(\s*f?["']([a-z0-9_.-]*\.)(?:\{|["']\s*[~+])""")
# Lookups whose key is one of a template's own names, or checked before it is looked up
_NOT_A_PREFIX = {"email.": "email.{template}.subject: every email template has a subject (checked below)",
                 "intake.field.": "views.py looks intake.field.{name} up only if the catalogue has it"}

# Thai texts that are the same in English: a file type's name and a unit written in Latin letters
SAME_IN_BOTH = {"intake.kind.pdf": "PDF", "file.kind.pdf": "PDF", "intake.track.size_kb": "{kb} KB"}
# The caller passes both; the Thai text shows the Buddhist-era year, the English one the common era
OWN_PLACEHOLDERS = {"proc.fiscal_year.value": ({"be"}, {"ce"})}


def _place(root: str, filename: str) -> str:
    return filename.split("/")[0] if root == "services" else "shared"


def extracted_lookups() -> list[Lookup]:
    """Every literal key in shared/, sopdesk/ and services/, with babel.cfg's mapping and keywords."""
    with open(ROOT / "babel.cfg") as fh:
        method_map, options_map = parse_mapping_cfg(fh, "babel.cfg")
    found = []
    for root in ("shared", "sopdesk", "services"):
        for filename, lineno, key, _comments, _context in extract_from_dir(ROOT / root, method_map, options_map,
                                                                           keywords={}):
            found.append(Lookup(_place(root, filename), key, f"{root}/{filename}:{lineno}"))
    return found


def prefixed_lookups() -> list[Lookup]:
    found = []
    for place, folder, keyword, prefix in PREFIXED:
        method_map = [("**/tests/**", "ignore"), ("**.py", "python")]
        for filename, lineno, tail, _c, _x in extract_from_dir(ROOT / folder, method_map, keywords={keyword: None}):
            found.append(Lookup(place, prefix + tail, f"{folder}/{filename}:{lineno}"))
    return found


def dynamic_lookups() -> list[Lookup]:
    found = [Lookup(place, prefix + str(value), f"{prefix}* ({source})")
             for place, prefix, values, source in DYNAMIC for value in values]
    templates = ROOT / "services" / "notify" / "templates" / "email"
    for name in sorted({p.name.split(".")[0] for p in templates.glob("*.html") if not p.name.startswith("_")}):
        found.append(Lookup("notify", f"email.{name}.subject", f"email.{{template}}.subject ({name}.th.html)"))
    return found


def built_key_prefixes() -> dict[str, list[str]]:
    """Every prefix of a key made at run time in the product's code and templates."""
    prefixes: dict[str, list[str]] = {}
    for root in ("shared", "sopdesk", "services"):
        for path in sorted((ROOT / root).rglob("*")):
            if path.suffix not in (".py", ".html", ".txt") or "tests" in path.relative_to(ROOT).parts:
                continue
            for match in _BUILT_KEY.finditer(path.read_text(encoding="utf-8")):
                prefixes.setdefault(match.group(1), []).append(str(path.relative_to(ROOT)))
    return prefixes


def all_lookups() -> list[Lookup]:
    return extracted_lookups() + prefixed_lookups() + dynamic_lookups()


def catalogues(places=("shared",) + SERVICES) -> dict[str, dict[str, dict[str, str]]]:
    """place -> key -> {lang: text}, read as shared.i18n reads them (an empty or fuzzy text is absent)."""
    return {place: read_catalogues(catalogue_dir(place)) for place in places}


def missing_words(lookups: list[Lookup], words: dict[str, dict[str, dict[str, str]]]) -> list[str]:
    """'th: key (where)' for every lookup with no text in that language, in its place or shared."""
    problems = []
    for lookup in lookups:
        for lang in LANGUAGES:
            texts = words.get(lookup.place, {}).get(lookup.key) or words["shared"].get(lookup.key) or {}
            if not texts.get(lang):
                problems.append(f"{lang}: {lookup.key} ({lookup.where})")
    return sorted(set(problems))


def _fields(text: str) -> set[str]:
    return {name for _literal, name, _spec, _conv in string.Formatter().parse(text) if name is not None}


# ---------------------------------------------------------------------------------------------


def test_every_key_the_code_and_templates_look_up_has_a_thai_and_an_english_text():
    lookups = all_lookups()
    assert len(lookups) > 400  # the extractor read the code and the templates
    assert missing_words(lookups, catalogues()) == []


def test_a_thai_text_left_empty_is_found_missing(tmp_path):
    words = catalogues()
    source = catalogue_dir("intake")
    for lang in LANGUAGES:
        with open(source / lang / "LC_MESSAGES" / "messages.po", "rb") as fh:
            catalogue = read_po(fh, locale=lang)
        if lang == "th":
            catalogue["intake.survey.submit"].string = ""
        target = tmp_path / lang / "LC_MESSAGES" / "messages.po"
        target.parent.mkdir(parents=True)
        with open(target, "wb") as fh:
            write_po(fh, catalogue)
    words["intake"] = read_catalogues(tmp_path)

    problems = missing_words(all_lookups(), words)

    assert problems and [problem.split(" (")[0] for problem in problems] == ["th: intake.survey.submit"] * len(problems)


def test_every_key_made_at_run_time_has_its_prefix_listed():
    known = {prefix for _place, prefix, _values, _source in DYNAMIC} | set(_NOT_A_PREFIX)
    known |= {prefix for _place, _folder, _keyword, prefix in PREFIXED}
    unknown = {prefix: files for prefix, files in built_key_prefixes().items() if prefix not in known}
    assert unknown == {}, "list these prefixes in DYNAMIC with the values they take"


def test_the_prefix_finder_reads_each_way_a_key_is_built():
    assert _BUILT_KEY.search("""t(f"proc.stage.{project.stage}", lang)""").group(1) == "proc.stage."
    assert _BUILT_KEY.search("""{{ t('wait.' ~ step.wait) }}""").group(1) == "wait."
    assert _BUILT_KEY.search("""_t('procurement.doc.' + exc.code, lang)""").group(1) == "procurement.doc."
    assert _BUILT_KEY.search("""t("track.title")""") is None


@pytest.mark.parametrize("place", ("shared",) + SERVICES)
def test_thai_texts_are_thai(place):
    english_left = {key: texts["th"] for key, texts in catalogues((place,))[place].items()
                    if "th" in texts and not THAI.search(texts["th"]) and SAME_IN_BOTH.get(key) != texts["th"]}
    assert english_left == {}


@pytest.mark.parametrize("place", ("shared",) + SERVICES)
def test_a_thai_text_has_the_placeholders_of_its_english_one(place):
    differ = {}
    for key, texts in catalogues((place,))[place].items():
        th, en = _fields(texts.get("th", "")), _fields(texts.get("en", ""))
        expected_th = OWN_PLACEHOLDERS[key][0] if key in OWN_PLACEHOLDERS else en
        if th != expected_th:
            differ[key] = (th, en)
    assert differ == {}


def test_each_key_is_in_one_place():
    """A word lives once: in its service's catalogue or in the shared one, never both."""
    words = catalogues()
    seen: dict[str, list[str]] = {}
    for place, keys in words.items():
        for key in keys:
            seen.setdefault(key, []).append(place)
    assert {key: places for key, places in seen.items() if len(places) > 1} == {}


@pytest.mark.parametrize("place", ("shared",) + SERVICES)
def test_the_catalogues_say_their_language_and_charset(place):
    for lang in LANGUAGES:
        with open(catalogue_dir(place) / lang / "LC_MESSAGES" / "messages.po", "rb") as fh:
            catalogue = read_po(fh)
        assert str(catalogue.locale) == lang
        assert catalogue.charset.lower() == "utf-8"
