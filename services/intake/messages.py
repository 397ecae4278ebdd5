"""Intake's own words, Thai first and English too: field messages, the privacy notice, the
tracking page, answers, surveys, files and refusals. Registered once in shared.i18n's catalogue."""
from __future__ import annotations

from shared.i18n import register, translate

MESSAGES: dict[str, dict[str, str]] = {
    # --- field messages (validation) -----------------------------------------------------------
    "intake.v.required": {"th": "กรุณากรอกช่องนี้", "en": "This field is required."},
    "intake.v.invalid_email": {"th": "รูปแบบอีเมลไม่ถูกต้อง", "en": "Not a valid email address."},
    "intake.v.invalid_date": {"th": "รูปแบบวันที่ไม่ถูกต้อง ใช้ วว/ดด/ปปปป (พ.ศ.) เช่น 19/11/2569",
                              "en": "Not a valid date: write YYYY-MM-DD or DD/MM/YYYY, e.g. 2026-11-19."},
    "intake.v.invalid_datetime": {
        "th": "รูปแบบวันเวลาไม่ถูกต้อง ใช้ วว/ดด/ปปปป ชช:นน (พ.ศ. เวลาประเทศไทย) เช่น 19/11/2569 14:30",
        "en": "Not a valid date and time: write YYYY-MM-DD HH:MM (Bangkok time), e.g. 2026-11-19 14:30, "
              "or ISO 8601 with a time zone."},
    "intake.v.too_long": {"th": "ยาวเกิน {max} ตัวอักษร", "en": "Longer than {max} characters."},
    "intake.v.invalid_phone": {"th": "หมายเลขโทรศัพท์ไม่ถูกต้อง", "en": "Not a valid telephone number."},
    "intake.v.invalid_choice": {"th": "ตัวเลือกไม่ถูกต้อง", "en": "Not one of the choices."},
    "intake.v.invalid_boolean": {"th": "ต้องเป็นจริงหรือเท็จ", "en": "Must be true or false."},
    "intake.v.invalid_string": {"th": "ต้องเป็นข้อความ", "en": "Must be text."},
    "intake.v.invalid_number": {"th": "ต้องเป็นตัวเลข", "en": "Must be a number."},
    "intake.v.invalid_url": {"th": "รูปแบบที่อยู่เว็บไม่ถูกต้อง (https://...)",
                             "en": "Not a valid web address (https://...)."},
    "intake.v.staff_only": {"th": "เฉพาะเจ้าหน้าที่ที่ยื่นคำขอแทนผู้รับบริการเท่านั้น",
                            "en": "Only staff filing on a requester's behalf may set this."},
    "intake.v.future": {"th": "ต้องไม่เป็นเวลาในอนาคต", "en": "Must not be in the future."},
    "intake.v.score": {"th": "เลือกคะแนน 1 ถึง 5", "en": "Choose a score from 1 to 5."},
    # --- files ---------------------------------------------------------------------------------
    "intake.file.too_big": {"th": "ไฟล์ใหญ่เกิน {mb} MB", "en": "The file is larger than {mb} MB."},
    "intake.file.empty": {"th": "ไฟล์ว่างเปล่า", "en": "The file is empty."},
    "intake.file.wrong_type": {"th": "ไม่รับไฟล์ชนิดนี้ (ตรวจจากเนื้อไฟล์ ไม่ใช่จากชื่อ) รับเฉพาะ {kinds}",
                               "en": "This kind of file is not accepted (judged by its content, not its name); "
                                     "accepted: {kinds}."},
    "intake.file.name_mismatch": {"th": "นามสกุลไฟล์ {ending} ไม่ตรงกับเนื้อไฟล์",
                                  "en": "The name's ending {ending} does not match the file's content."},
    "intake.file.required": {"th": "กรุณาแนบไฟล์", "en": "Please attach a file."},
    "intake.file.too_many": {"th": "แนบได้ไม่เกิน {n} ไฟล์", "en": "At most {n} files."},
    "intake.file.one_only": {"th": "แนบได้ไฟล์เดียว", "en": "Only one file may be attached here."},
    "intake.file.hint": {"th": "รับไฟล์ {kinds} ขนาดไม่เกิน {mb} MB ต่อไฟล์",
                         "en": "Accepted: {kinds}; up to {mb} MB each."},
    "intake.file.hint_multiple": {"th": "เลือกได้หลายไฟล์", "en": "You may choose several files."},
    "intake.file.choose_again": {
        "th": "ไฟล์ที่เลือกไว้ยังไม่ได้ถูกเก็บ เพราะแบบฟอร์มมีข้อผิดพลาด โปรดเลือกไฟล์อีกครั้ง",
        "en": "No file was kept because the form had errors: please choose the files again."},
    "intake.kind.pdf": {"th": "PDF", "en": "PDF"},
    "intake.kind.image": {"th": "รูปภาพ (JPG, PNG, GIF, WebP)", "en": "images (JPG, PNG, GIF, WebP)"},
    "intake.kind.word": {"th": "เอกสาร Word (DOC, DOCX, ODT)", "en": "Word documents (DOC, DOCX, ODT)"},
    "intake.kind.excel": {"th": "ตารางคำนวณ (XLS, XLSX, ODS)", "en": "spreadsheets (XLS, XLSX, ODS)"},
    "intake.kind.text": {"th": "ข้อความ (TXT, CSV)", "en": "text (TXT, CSV)"},
    # --- refusals ------------------------------------------------------------------------------
    "intake.refused.csrf": {
        "th": "แบบฟอร์มหมดอายุ หรือไม่ได้ส่งมาจากหน้าเว็บของ sopdesk หรือเว็บไซต์ที่ได้รับอนุญาต "
              "ยังไม่ได้บันทึกข้อมูลใด ๆ โปรดตรวจสอบแล้วกดส่งอีกครั้ง (ไฟล์แนบต้องเลือกใหม่)",
        "en": "The form has expired, or was not sent from sopdesk's page or an allowed web site. Nothing "
              "was stored: check the form and send it again (choose any files again)."},
    "intake.refused.too_large": {
        "th": "ข้อมูลที่ส่งมีขนาดรวมเกิน {mb} MB (รวมไฟล์แนบทั้งหมด) ยังไม่ได้บันทึกข้อมูลใด ๆ "
              "โปรดเลือกไฟล์ที่เล็กลงแล้วกรอกแบบฟอร์มอีกครั้ง",
        "en": "What was sent is larger than {mb} MB altogether (all files included). Nothing was stored: "
              "choose smaller files and fill in the form again."},
    "intake.refused.rate": {"th": "ส่งถี่เกินไปจากที่อยู่ของท่าน โปรดลองใหม่ในอีก {seconds} วินาที",
                            "en": "Too many requests from your address. Please try again in {seconds} seconds."},
    "intake.refused.not_waiting": {"th": "ขณะนี้ไม่มีสิ่งใดรอคำตอบจากท่าน",
                                   "en": "Nothing is waiting for your answer now."},
    "intake.refused.already_answered": {"th": "ท่านตอบในรอบนี้แล้ว ส่งซ้ำไม่ได้",
                                        "en": "You have answered this round already; a second answer is "
                                              "not accepted."},
    "intake.refused.survey_not_closed": {"th": "แบบประเมินเปิดให้ตอบเมื่อปิดเรื่องแล้วเท่านั้น",
                                         "en": "The survey opens once the request is closed."},
    "intake.refused.survey_done": {"th": "เรื่องนี้ได้รับการประเมินแล้ว ประเมินได้ครั้งเดียวต่อเรื่อง",
                                   "en": "This request has been rated already; one answer per request."},
    "intake.page.refused": {"th": "ยังไม่ได้รับแบบฟอร์มนี้", "en": "The form was not accepted"},
    "intake.page.too_many": {"th": "ส่งถี่เกินไป", "en": "Too many requests"},
    "intake.page.too_large": {"th": "ข้อมูลใหญ่เกินไป", "en": "Too large"},
    "intake.page.back_to_forms": {"th": "กลับไปหน้ารายการแบบฟอร์ม", "en": "Back to the forms"},
    # --- the form ------------------------------------------------------------------------------
    "intake.form.required_note": {"th": "ช่องที่มีเครื่องหมาย * ต้องกรอก", "en": "Fields marked * are required."},
    "intake.form.staff_section": {"th": "รับคำขอทางหนังสือหรือโทรศัพท์", "en": "Received on paper or by telephone"},
    "intake.form.staff_hint": {
        "th": "ท่านเข้าสู่ระบบเป็นเจ้าหน้าที่ ({username}) คำขอนี้จะบันทึกว่าท่านยื่นแทนผู้รับบริการ "
              "เวลาที่รับคำขอเป็นจุดเริ่มนับเวลามาตรฐานของขั้นตอน",
        "en": "You are logged in as staff ({username}): this request is recorded as filed by you on the "
              "requester's behalf. The time it was received starts the procedure's clocks."},
    "intake.field.channel": {"th": "ช่องทางที่รับคำขอ", "en": "Received by"},
    "intake.field.sop": {"th": "บริการ", "en": "Service"},
    "intake.field.language": {"th": "ภาษา", "en": "Language"},
    "intake.channel.paper": {"th": "หนังสือหรือแบบฟอร์มกระดาษ", "en": "Paper (letter or form)"},
    "intake.channel.telephone": {"th": "โทรศัพท์", "en": "Telephone"},
    "intake.field.received_at": {"th": "รับคำขอเมื่อ (เวลาประเทศไทย)", "en": "Received at (Bangkok time)"},
    "intake.field.received_at_help": {"th": "เว้นว่างถ้ารับคำขอเมื่อสักครู่", "en": "Leave empty if it came in just now."},
    "intake.date.placeholder": {"th": "วว/ดด/ปปปป (พ.ศ.)", "en": "YYYY-MM-DD"},
    "intake.datetime.placeholder": {"th": "วว/ดด/ปปปป ชช:นน (พ.ศ.)", "en": "YYYY-MM-DD HH:MM"},
    "intake.date.help": {"th": "ปีพุทธศักราช เช่น 19/11/2569", "en": "e.g. 2026-11-19"},
    "intake.datetime.help": {"th": "ปีพุทธศักราช เวลาประเทศไทย เช่น 19/11/2569 14:30",
                             "en": "Bangkok time, e.g. 2026-11-19 14:30"},
    "intake.select.choose": {"th": "— เลือก —", "en": "— choose —"},
    # --- the privacy notice --------------------------------------------------------------------
    "intake.privacy.purpose": {
        "th": "วัตถุประสงค์: เพื่อดำเนินการตามคำขอ “{sop}” ตามคู่มือปฏิบัติงานของหน่วยงาน "
              "และแจ้งความคืบหน้าแก่ท่านทางอีเมล ตามพระราชบัญญัติคุ้มครองข้อมูลส่วนบุคคล พ.ศ. 2562",
        "en": "Purpose: to carry out your request “{sop}” under the unit's operating procedure and to tell "
              "you of its progress by email, under the Personal Data Protection Act B.E. 2562 (2019)."},
    "intake.privacy.kept": {"th": "ข้อมูลที่เก็บ: {fields} และคำตอบหรือไฟล์ที่ท่านส่งเพิ่มระหว่างดำเนินการ ไม่เก็บข้อมูลอื่น",
                            "en": "What is kept: {fields}, and any answers or files you send while it is handled; nothing else."},
    "intake.privacy.who": {"th": "ผู้เห็นข้อมูล: เฉพาะเจ้าหน้าที่ที่ดำเนินการตามคำขอ และทุกครั้งที่เจ้าหน้าที่เปิดดูจะถูกบันทึกไว้",
                           "en": "Who sees it: only the staff handling the request; every time staff open it is "
                                 "logged."},
    "intake.privacy.retention": {"th": "ระยะเวลาเก็บ: {years} ปีนับจากวันที่ปิดเรื่อง แล้วจึงลบ",
                                 "en": "How long: {years} years after the request is closed, then erased."},
    "intake.privacy.contact": {"th": "สอบถาม ขอดู ขอแก้ไข หรือขอลบข้อมูล: {contact}",
                               "en": "To ask about, see, correct or erase your data: {contact}"},
    "intake.privacy.default_contact": {"th": "ผู้ดูแลระบบของหน่วยงาน", "en": "the unit's administrator"},
    "intake.privacy.version": {"th": "ฉบับ {version}", "en": "Version {version}"},
    "intake.kept.name": {"th": "ชื่อ-นามสกุล", "en": "your name"},
    "intake.kept.email": {"th": "อีเมล", "en": "email"},
    "intake.kept.phone": {"th": "โทรศัพท์ (ถ้าให้ไว้)", "en": "telephone (if given)"},
    "intake.kept.unit": {"th": "หน่วยงาน/โรงเรียน", "en": "unit or school"},
    "intake.kept.request": {"th": "เรื่องและรายละเอียดของคำขอ", "en": "the subject and details of the request"},
    # --- confirmation and tracking -------------------------------------------------------------
    "intake.confirm.track_link": {"th": "ติดตามสถานะคำขอได้ที่หน้านี้", "en": "Follow your request on this page"},
    "intake.track.next": {"th": "ขั้นตอนต่อไป", "en": "What happens next"},
    "intake.track.next_text": {"th": "{step} โดย{role}", "en": "{step}, by the {role}"},
    "intake.track.waiting": {"th": "รอ{who}", "en": "Waiting on {who}"},
    "intake.track.opening": {"th": "กำลังเปิดเรื่อง และส่งต่อให้ผู้รับผิดชอบ",
                             "en": "Your request is being opened and passed to those who handle it."},
    "intake.track.nothing_next": {"th": "ไม่มี (ปิดเรื่องแล้ว)", "en": "Nothing (the request is closed)"},
    "intake.track.steps_done": {"th": "ขั้นตอนที่ดำเนินการแล้ว", "en": "Steps done"},
    "intake.track.no_steps_done": {"th": "ยังไม่มีขั้นตอนที่เสร็จ", "en": "No step is done yet."},
    "intake.track.started": {"th": "เริ่ม", "en": "Started"},
    "intake.track.completed": {"th": "เสร็จ", "en": "Done"},
    "intake.track.result": {"th": "ผลการดำเนินการ", "en": "Result"},
    "intake.track.closed_at": {"th": "ปิดเรื่องเมื่อ", "en": "Closed"},
    "intake.track.documents": {"th": "เอกสารของท่าน", "en": "Your documents"},
    "intake.track.no_documents": {"th": "ไม่มีไฟล์แนบ", "en": "No files."},
    "intake.track.size_kb": {"th": "{kb} KB", "en": "{kb} KB"},
    "intake.track.asked_title": {"th": "สิ่งที่เจ้าหน้าที่ขอให้ท่านแก้ไขหรือส่งเพิ่ม", "en": "What the staff ask of you"},
    "intake.track.answer_note": {"th": "คำตอบ หรือสิ่งที่ท่านแก้ไข", "en": "Your answer, or what you corrected"},
    "intake.track.answer_files": {"th": "ไฟล์ที่แก้ไขหรือส่งเพิ่ม (ถ้ามี)", "en": "Corrected or extra files (if any)"},
    "intake.track.answer_submit": {"th": "ส่งคำตอบ", "en": "Send the answer"},
    "intake.track.answered": {"th": "ได้รับคำตอบของท่านแล้ว เจ้าหน้าที่จะดำเนินการต่อ",
                              "en": "Your answer was received; the staff will go on with your request."},
    "intake.track.rejected_title": {"th": "เหตุผลที่ไม่อนุมัติหรือไม่ดำเนินการ",
                                    "en": "Why the request was turned down"},
    "intake.track.survey_invite": {"th": "โปรดประเมินความพึงพอใจต่อการให้บริการครั้งนี้",
                                   "en": "Please tell us how satisfied you are with this service"},
    "intake.track.survey_done": {"th": "ท่านประเมินความพึงพอใจแล้ว {score} จาก 5 ขอบคุณที่ให้ความเห็น",
                                 "en": "You rated the service {score} of 5. Thank you."},
    "intake.track.download": {"th": "ดาวน์โหลด", "en": "Download"},
    "intake.track.answer_from_you": {"th": "คำตอบของท่าน", "en": "Your answer"},
    # --- the survey ----------------------------------------------------------------------------
    "intake.survey.title": {"th": "แบบประเมินความพึงพอใจ", "en": "Satisfaction survey"},
    "intake.survey.question": {"th": "ท่านพึงพอใจต่อการให้บริการครั้งนี้เพียงใด",
                               "en": "How satisfied are you with this service?"},
    "intake.survey.score.1": {"th": "1 น้อยที่สุด", "en": "1 Very dissatisfied"},
    "intake.survey.score.2": {"th": "2 น้อย", "en": "2 Dissatisfied"},
    "intake.survey.score.3": {"th": "3 ปานกลาง", "en": "3 Neither"},
    "intake.survey.score.4": {"th": "4 มาก", "en": "4 Satisfied"},
    "intake.survey.score.5": {"th": "5 มากที่สุด", "en": "5 Very satisfied"},
    "intake.survey.comment": {"th": "ข้อเสนอแนะ (ไม่บังคับ)", "en": "Comments (optional)"},
    "intake.survey.submit": {"th": "ส่งแบบประเมิน", "en": "Send"},
    "intake.survey.thanks_title": {"th": "ขอบคุณสำหรับการประเมิน", "en": "Thank you"},
    "intake.survey.thanks": {"th": "เราได้รับความเห็นของท่านแล้ว ความเห็นนี้ช่วยให้หน่วยงานปรับปรุงการให้บริการ",
                             "en": "We have your answer; it helps the unit improve its service."},
}

register(MESSAGES)


def t(key: str, lang: str, **values) -> str:
    return translate(key, lang, **values)


def kinds_text(kinds, lang: str) -> str:
    joiner = ", " if lang == "en" else " "
    return joiner.join(translate(f"intake.kind.{k}", lang) for k in kinds)
