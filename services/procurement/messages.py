"""Procurement's own words for its desk pages, the milestone timeline and its documents, Thai first
and English too. They are the gettext catalogues in ``translations/<lang>/LC_MESSAGES/messages.po``,
read into shared.i18n's words when this module is imported. The desk words assignment's desk uses
too are in shared/translations."""
from pathlib import Path

from shared.i18n import load_catalogues

load_catalogues(Path(__file__).with_name("translations"))
