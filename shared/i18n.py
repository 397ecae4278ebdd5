"""Thai first, English too: choosing the language of a page or an email, the message catalogue,
and dates as people read them (Asia/Bangkok; the Buddhist era in Thai)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

LANGUAGES = ("th", "en")
DEFAULT_LANGUAGE = "th"
BANGKOK = ZoneInfo("Asia/Bangkok")

THAI_MONTHS = ("มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน", "กรกฎาคม",
               "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม")
THAI_MONTHS_SHORT = ("ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.",
                     "พ.ย.", "ธ.ค.")

MESSAGES: dict[str, dict[str, str]] = {
    "app.name": {"th": "sopdesk ระบบบริการตามคู่มือปฏิบัติงาน", "en": "sopdesk service desk"},
    "errors.invalid_input": {"th": "ข้อมูลไม่ถูกต้อง โปรดแก้ไขช่องที่ระบุ", "en": "Some fields need correcting."},
    "errors.consent": {"th": "ต้องยินยอมให้เก็บและใช้ข้อมูลส่วนบุคคลจึงจะยื่นคำขอได้",
                       "en": "Consent to the privacy notice is required to file a request."},
    "errors.unknown_sop": {"th": "ไม่พบขั้นตอนบริการนี้", "en": "No such service."},
    "errors.no_control_chars": {"th": "ห้ามมีการขึ้นบรรทัดใหม่หรืออักขระควบคุม",
                                "en": "Line breaks and control characters are not allowed."},
    "errors.login": {"th": "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง", "en": "Wrong username or password."},
    "forms.index.title": {"th": "ยื่นคำขอรับบริการ", "en": "Request a service"},
    "forms.submit": {"th": "ส่งคำขอ", "en": "Submit request"},
    "forms.requester": {"th": "ผู้ยื่นคำขอ", "en": "Requester"},
    "forms.request": {"th": "รายละเอียดคำขอ", "en": "The request"},
    "field.requester_name": {"th": "ชื่อ-นามสกุล", "en": "Full name"},
    "field.requester_email": {"th": "อีเมล", "en": "Email"},
    "field.requester_phone": {"th": "โทรศัพท์ (ไม่บังคับ)", "en": "Telephone (optional)"},
    "field.requester_unit": {"th": "หน่วยงาน / โรงเรียน", "en": "Unit / school"},
    "field.subject": {"th": "เรื่อง", "en": "Subject"},
    "field.details": {"th": "รายละเอียด", "en": "Details"},
    "field.consent": {"th": "ข้าพเจ้ายินยอมให้เก็บและใช้ข้อมูลข้างต้นตามประกาศความเป็นส่วนตัว",
                      "en": "I consent to the collection and use of the data above under the privacy notice"},
    "privacy.title": {"th": "ประกาศความเป็นส่วนตัว", "en": "Privacy notice"},
    "privacy.body": {
        "th": "ข้อมูลของท่านใช้เพื่อดำเนินการตามคำขอนี้และแจ้งความคืบหน้าทางอีเมลเท่านั้น "
              "เก็บเฉพาะที่ขั้นตอนบริการต้องใช้ เจ้าหน้าที่ที่ได้รับมอบหมายเท่านั้นที่เห็นได้ "
              "ตามพระราชบัญญัติคุ้มครองข้อมูลส่วนบุคคล พ.ศ. 2562 สอบถามหรือขอลบข้อมูลได้ที่ผู้ดูแลระบบของหน่วยงาน",
        "en": "Your data is used only to carry out this request and to tell you of its progress by email. "
              "Only what the procedure needs is kept, and only the staff assigned can see it, under the "
              "Personal Data Protection Act B.E. 2562 (2019). Ask your unit's administrator to see or erase it.",
    },
    "confirm.title": {"th": "ได้รับคำขอแล้ว", "en": "Request received"},
    "confirm.code": {"th": "รหัสติดตามของท่าน", "en": "Your tracking code"},
    "confirm.email_sent": {"th": "เราจะส่งอีเมลพร้อมลิงก์ติดตามสถานะไปที่อีเมลของท่าน",
                           "en": "We are emailing you a link to follow your request."},
    "track.title": {"th": "ติดตามคำขอ", "en": "Track a request"},
    "track.not_found": {"th": "ไม่พบคำขอ หรือลิงก์ไม่ถูกต้อง โปรดใช้ลิงก์จากอีเมล",
                        "en": "No request found, or the link is wrong. Please use the link in your email."},
    "track.status": {"th": "สถานะ", "en": "Status"},
    "track.current_step": {"th": "ขั้นตอนปัจจุบัน", "en": "Current step"},
    "track.due": {"th": "กำหนดเสร็จ", "en": "Due"},
    "track.steps": {"th": "ขั้นตอนที่ดำเนินการ", "en": "Steps"},
    "track.holder": {"th": "ผู้รับผิดชอบ", "en": "Held by"},
    "track.step": {"th": "ขั้นตอน", "en": "Step"},
    "track.when": {"th": "วันเวลา", "en": "When"},
    "track.received": {"th": "วันที่รับคำขอ", "en": "Received"},
    "status.submitted": {"th": "ส่งคำขอแล้ว รอเปิดเรื่อง", "en": "Submitted, being opened"},
    "status.open": {"th": "กำลังดำเนินการ", "en": "In progress"},
    "status.closed": {"th": "ปิดเรื่องแล้ว", "en": "Closed"},
    "step.active": {"th": "กำลังดำเนินการ", "en": "in progress"},
    "step.done": {"th": "เสร็จแล้ว", "en": "done"},
    "email.received.subject": {"th": "ได้รับคำขอของท่านแล้ว รหัสติดตาม {code}",
                               "en": "Your request was received: tracking code {code}"},
    "role.requester": {"th": "ผู้ยื่นคำขอ", "en": "requester"},
    "role.intake-clerk": {"th": "เจ้าหน้าที่รับเรื่อง", "en": "intake clerk"},
    "role.officer": {"th": "เจ้าหน้าที่ ICT", "en": "ICT officer"},
    "role.head": {"th": "หัวหน้างาน", "en": "head of unit"},
    "role.subhead": {"th": "หัวหน้ากลุ่มงานย่อย", "en": "head of sub-unit"},
    "role.director": {"th": "ผู้อำนวยการ", "en": "director"},
    "role.deputy-director": {"th": "รองผู้อำนวยการ", "en": "deputy director"},
    "role.expert": {"th": "ผู้เชี่ยวชาญ", "en": "expert"},
    "role.supplies": {"th": "งานพัสดุ", "en": "supplies"},
    "role.finance": {"th": "งานการเงิน", "en": "finance"},
    "role.tor-committee": {"th": "คณะกรรมการร่าง TOR", "en": "TOR committee"},
    "role.procurement-committee": {"th": "คณะกรรมการจัดซื้อจัดจ้าง", "en": "procurement committee"},
    "role.inspection-committee": {"th": "คณะกรรมการตรวจรับพัสดุ", "en": "inspection committee"},
    "role.team": {"th": "คณะทำงาน", "en": "working team"},
    "role.vendor": {"th": "ผู้รับจ้าง", "en": "vendor"},
    "role.admin": {"th": "ผู้ดูแลระบบ", "en": "administrator"},
}


def translate(key: str, lang: str = DEFAULT_LANGUAGE, **values) -> str:
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry[DEFAULT_LANGUAGE]
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


def current_language() -> str:
    from flask import has_request_context, request

    if not has_request_context():
        return DEFAULT_LANGUAGE
    return negotiate(request.args.get("lang"), request.cookies.get("lang"), request.accept_languages)


def buddhist_year(year: int) -> int:
    return year + 543


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
