"""Notify's own words: email subjects (``email.<template>.subject``, formatted with the
delivery's context, {"th", "en"} values picked in the mail's language) and the few phrases the
templates and subjects share. They are the gettext catalogues in
``translations/<lang>/LC_MESSAGES/messages.po``, read into shared.i18n's words when this module is
imported. ``email.received.subject`` is in shared/translations."""
from pathlib import Path

from shared.i18n import load_catalogues

load_catalogues(Path(__file__).with_name("translations"))
