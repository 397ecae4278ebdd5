"""Procurement's own words for its desk pages, the milestone timeline and its documents, Thai first
and English too. They are the gettext catalogues in ``translations/<lang>/LC_MESSAGES/messages.po``,
read into shared.i18n's words when this module is imported. The desk words assignment's desk uses
too are in shared/translations."""
from pathlib import Path

from shared import said
from shared.i18n import load_catalogues

load_catalogues(Path(__file__).with_name("translations"))

# the English messages of procurement's schemas and use cases that carry no values, and the words
# that say them on a page (shared.said; a message with values is a ``Said``)
FIXED = {
    'line breaks and control characters are not allowed': "proc.said.control",
    'control characters are not allowed': "proc.said.control_chars",
    'not a tracking code': "proc.said.tracking_code",
    'nothing to change': "proc.said.nothing",
    'a paper document needs both its name and its ref': "proc.said.paper_both",
    'must not be before received_on': "proc.said.valid_before_received",
    'say why the project is cancelled': "proc.said.why_cancelled",
    "not an organisation's key": "proc.said.org",
    'not a valid tax id: 13 digits with the right check digit': "proc.said.tax_id",
    'a telephone number (digits, + - ( ) and spaces)': "proc.said.phone",
    'At most three decimals.': "proc.said.three_decimals",
    'Too large.': "proc.said.too_large",
    'At most two decimals (satang).': "proc.said.satang",
    'Must be more than 0.': "proc.said.positive",
    'May not be negative.': "proc.said.not_negative",
    'the project serves a waiting case: its tracking code cannot change': "proc.said.tracking_locked",
    'the project has a contract: its kind cannot change': "proc.said.kind_locked",
    'may not be empty': "proc.said.not_empty",
    "attach at least one file, or give a paper document's name and ref": "proc.said.attach",
    'no such vendor': "proc.said.no_vendor",
    'the vendor is no longer active': "proc.said.vendor_inactive",
    'this vendor has quoted already: remove that quote first': "proc.said.quoted_already",
    'this vendor has quoted already': "proc.said.quoted_already_short",
    'may not be in the future': "proc.said.future",
    'no such document of this project': "proc.said.no_document",
    'send a file or a document_id, not both': "proc.said.file_or_id",
    'at least one member': "proc.said.one_member",
    'a username appears twice': "proc.said.username_twice",
    'an email appears twice': "proc.said.email_twice",
    'members of this committee have recorded acceptances: it cannot be re-appointed': "proc.said.committee_locked",
    'attach the delivery note (a file), or give its paper reference (ref)': "proc.said.delivery_note",
    'a vendor with this tax id is registered already': "proc.said.tax_id_taken",
    'The amount must be more than 0.': "proc.said.c_amount",
    'The contract cannot end before it starts.': "proc.said.c_ends",
    'The signing date cannot be in the future.': "proc.said.c_signed_future",
    'Give warranty_months or warranty_ends_on.': "proc.said.c_warranty",
    'The warranty cannot end before the contract does.': "proc.said.c_warranty_end",
    'The fine rate is more than 0 and at most 1 (% per day).': "proc.said.c_fine_rate",
    'The minimum fine per day cannot be negative.': "proc.said.c_fine_min",
    'There is no such vendor.': "proc.said.c_no_vendor",
    'The vendor is no longer active.': "proc.said.c_vendor_inactive",
    'A contract has at least one milestone.': "proc.said.m_one",
    'Give either the amount or the share_percent of this milestone (one of them).': "proc.said.m_either",
    'Give every milestone by amount, or every one by share_percent, not a mix.': "proc.said.m_mix",
    'Each milestone falls due after the one before it.': "proc.said.m_order",
    'The share must be more than 0.': "proc.said.m_share",
    "Every milestone's amount must come to more than 0.": "proc.said.m_amounts",
    'The severity is high or critical.': "proc.said.i_severity",
    'Describe the incident.': "proc.said.i_description",
    'the file is empty: a header row is needed': "proc.said.csv_empty",
    'no vendor with this tax id is registered': "proc.said.csv_no_vendor",
    'an asset with this tag is registered already (import with mode upsert to update it)': "proc.said.csv_registered",
    'the asset is on loan: record its return first': "proc.said.csv_on_loan",
    'on_loan is set by recording a loan, not by a file': "proc.said.csv_loan_by_file",
    'a tag of the file was registered by someone else meanwhile; nothing was imported: try again': "proc.said.csv_race",
    'a tag is letters, digits and - / . _ ( ), without spaces at its ends': "proc.said.tag",
}
FIXED["before the day it is lent"] = "proc.said.due_back"
FIXED["say why it is rejected"] = "proc.refusal.why_rejected"  # the schema's, and the rule's (a Said)
said.register(FIXED)
