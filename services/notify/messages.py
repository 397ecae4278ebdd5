"""Notify's own strings: email subjects (``email.<template>.subject``, formatted with the
delivery's context, {"th", "en"} values picked in the mail's language) and the few phrases the
templates and subjects share. ``email.received.subject`` lives in shared/i18n.py."""
from shared.i18n import register

MESSAGES = {
    # requester emails
    "email.step_done.subject": {"th": "คำขอ {code}: ขั้นตอน “{step_title}” เสร็จแล้ว",
                                "en": "Request {code}: “{step_title}” is done"},
    "email.returned.subject": {"th": "คำขอ {code}: โปรดแก้ไขหรือส่งข้อมูลเพิ่มเติม",
                               "en": "Request {code}: please correct or add information"},
    "email.rejected.subject": {"th": "คำขอ {code} ไม่ได้รับการอนุมัติ",
                               "en": "Request {code} was declined"},
    "email.waiting.subject": {"th": "คำขอ {code}: อยู่ระหว่างรอ{waiting_label}",
                              "en": "Request {code} is waiting on {waiting_label}"},
    "email.closed.subject": {"th": "คำขอ {code} ปิดเรื่องแล้ว ({result_label})",
                             "en": "Request {code} is closed ({result_label})"},
    # staff emails
    "email.assigned.subject": {"th": "งานใหม่ {code}: {step_title} · {subject}",
                               "en": "New work {code}: {step_title} · {subject}"},
    "email.approval_needed.subject": {"th": "รอการอนุมัติจากท่าน {code}: {step_title} · {subject}",
                                      "en": "Your approval is needed {code}: {step_title} · {subject}"},
    "email.overdue.subject": {"th": "เกินกำหนด{deadline_label} {code} · {subject}",
                              "en": "Overdue ({deadline_label}) {code} · {subject}"},
    "email.daily_summary.subject": {"th": "งานค้างของท่าน วันที่ {day_label}: {count} เรื่อง",
                                    "en": "Your open work on {day_label} ({count} open)"},
    # procurement emails: to the officer and the inspection committee before and after a milestone
    # falls due, and to the vendor's contacts of an emergency on a contract
    "email.milestone_due.subject": {"th": "[sopdesk] งวดที่ {seq} สัญญา {contract_number} {due_phrase}",
                                    "en": "[sopdesk] Milestone {seq} of contract {contract_number} {due_phrase}"},
    "email.milestone_due.in_days": {"th": "ครบกำหนดส่งมอบในอีก {days} วันทำการ",
                                    "en": "is due in {days} working days"},
    "email.milestone_due.in_one_day": {"th": "ครบกำหนดส่งมอบในอีก 1 วันทำการ", "en": "is due in 1 working day"},
    "email.milestone_due.today": {"th": "ครบกำหนดส่งมอบวันนี้", "en": "is due today"},
    "email.milestone_overdue.subject": {"th": "[sopdesk] งวดที่ {seq} สัญญา {contract_number} {late_phrase}",
                                        "en": "[sopdesk] Milestone {seq} of contract {contract_number} {late_phrase}"},
    "email.milestone_overdue.days": {"th": "เลยกำหนดส่งมอบ {days} วัน", "en": "is {days} days overdue"},
    "email.milestone_overdue.one_day": {"th": "เลยกำหนดส่งมอบ 1 วัน", "en": "is 1 day overdue"},
    "email.incident.subject": {"th": "[sopdesk] แจ้งเหตุฉุกเฉินตามสัญญาเลขที่ {contract_number} (ระดับ{severity_label})",
                               "en": "[sopdesk] Emergency on contract {contract_number} ({severity_label})"},
    "email.incident.severity.high": {"th": "สูง", "en": "high"},
    "email.incident.severity.critical": {"th": "วิกฤต", "en": "critical"},
    "email.procurement.as.officer": {"th": "เจ้าหน้าที่ผู้รับผิดชอบโครงการ",
                                     "en": "the officer responsible for the project"},
    "email.procurement.as.inspection-committee": {"th": "กรรมการตรวจรับพัสดุ",
                                                  "en": "a member of the inspection committee"},
    # shared phrases
    "email.deadline.step": {"th": "ของขั้นตอน", "en": "step deadline"},
    "email.deadline.case": {"th": "ของทั้งเรื่อง", "en": "case deadline"},
    "email.footer.requester": {
        "th": "โปรดอย่าส่งต่ออีเมลนี้ ลิงก์ในอีเมลเปิดดูคำขอของท่านได้ · อีเมลนี้ส่งโดยอัตโนมัติจาก sopdesk โปรดอย่าตอบกลับ",
        "en": "Please do not forward this email: its links open your request. "
              "Sent automatically by sopdesk; please do not reply.",
    },
    "email.footer.vendor": {
        "th": "อีเมลนี้ส่งโดยอัตโนมัติจากระบบ sopdesk ของหน่วยงานผู้ว่าจ้าง "
              "หากมีข้อสงสัยโปรดติดต่อเจ้าหน้าที่ผู้ประสานงานตามสัญญา",
        "en": "Sent automatically by the sopdesk system of the contracting office. "
              "For any question, please contact the officer named in the contract.",
    },
    "email.footer.staff": {
        "th": "อีเมลนี้ส่งโดยอัตโนมัติจาก sopdesk ถึงเจ้าหน้าที่ผู้รับผิดชอบ โปรดอย่าตอบกลับ",
        "en": "Sent automatically by sopdesk to the staff responsible; please do not reply.",
    },
}

register(MESSAGES)
