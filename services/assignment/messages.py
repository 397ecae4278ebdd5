"""Assignment's own words, Thai first and English too: the staff desk (its lists, the case page,
the asset from the register, the login). They are the gettext catalogues in
``translations/<lang>/LC_MESSAGES/messages.po``, read into shared.i18n's words when this module is
imported (by the app factory). The desk words procurement's desk uses too are in shared/translations."""
from pathlib import Path

from shared.i18n import load_catalogues

load_catalogues(Path(__file__).with_name("translations"))
