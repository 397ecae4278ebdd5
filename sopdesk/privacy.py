"""The PDPA's right to a copy across the four services (the composition root may ask each one):
intake finds the person's cases by email or phone, each service gives what it holds of those
cases through its own ``handlers.privacy``-kind function, and the export is one ZIP:
``person.json`` (every service's rows), ``summary.txt`` (what is held, in Thai and in English) and
``files/`` (the files they sent, as they sent them)."""
from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime

from shared import db
from shared.i18n import format_datetime
from shared.privacy import ERASED


@dataclass(frozen=True)
class Export:
    tracking_codes: list[str]
    data: dict
    content: bytes  # the ZIP


def person_data(email: str | None, phone: str | None, org: str | None) -> tuple[list[str], dict, list]:
    """(codes, every service's data of the person's cases, [(code, attachment, path)])."""
    from services.assignment.handlers import privacy as assignment
    from services.intake.handlers import erasure as intake
    from services.notify.handlers import privacy as notify
    from services.procurement.handlers import privacy as procurement

    codes = [found.tracking_code for found in intake.find(email, phone, org)]
    held = intake.person_data(codes)
    stored = held.pop("files")
    data = {"intake": held, "assignment": assignment.person_data(codes), "notify": notify.person_data(codes),
            "procurement": procurement.person_data(codes)}
    return codes, data, stored


def _summary(email: str | None, phone: str | None, codes: list[str], data: dict, stored: list, now: datetime) -> str:
    requests = data["intake"]["requests"]
    emails = data["notify"]["emails"]
    lines = [
        "ข้อมูลส่วนบุคคลที่ sopdesk เก็บไว้ (พ.ร.บ.คุ้มครองข้อมูลส่วนบุคคล พ.ศ. 2562 มาตรา 30)",
        f"ของ: {email or '-'} / โทรศัพท์ {phone or '-'}",
        f"ออกเมื่อ: {format_datetime(now, 'th')}",
        f"คำขอ {len(requests)} รายการ, ไฟล์แนบ {len(stored)} ไฟล์, อีเมลที่ส่งถึง {len(emails)} ฉบับ",
        "",
    ]
    for r in requests:
        received = datetime.fromisoformat(r["received_at"])
        lines.append(f"- {r['tracking_code']} ({r['sop']}) ยื่นเมื่อ {format_datetime(received, 'th')}: "
                     f"{r['subject']} — สถานะ {r['status']}")
    lines += [
        "",
        "Personal data sopdesk holds (Personal Data Protection Act B.E. 2562, s.30)",
        f"Of: {email or '-'} / phone {phone or '-'}",
        f"Exported: {format_datetime(now, 'en')}",
        f"{len(requests)} requests, {len(stored)} files, {len(emails)} emails sent to them",
        "",
    ]
    for r in requests:
        received = datetime.fromisoformat(r["received_at"])
        lines.append(f"- {r['tracking_code']} ({r['sop']}) filed {format_datetime(received, 'en')}: "
                     f"{r['subject']} — status {r['status']}")
    lines += ["", "person.json: ทุกแถวของทุกบริการ / every row of every service (intake, assignment, notify, procurement)",
              "files/: ไฟล์ที่ส่งมา / the files they sent", ""]
    return "\n".join(lines)


def export(email: str | None, phone: str | None = None, org: str | None = None) -> Export:
    codes, data, stored = person_data(email, phone, org)
    now = db.utcnow()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("person.json", json.dumps({"email": email, "phone": phone, "exported_at": now.isoformat(),
                                                    "tracking_codes": codes, "services": data},
                                                   ensure_ascii=False, indent=2, default=str))
        archive.writestr("summary.txt", _summary(email, phone, codes, data, stored, now))
        for code, attachment, path in stored:
            if attachment["original_name"] == ERASED or not path.is_file():
                continue
            archive.write(path, f"files/{code}/{attachment['id'][:8]}-{attachment['original_name']}")
    return Export(codes, data, buffer.getvalue())
