"""A person's answer to a draft provincial announcement: validate it, then record it.

*approve* with the signed decision's number (số hiệu) and date → the announcement is ``approved`` and its
flags ``approved`` (only these flow on to sync), and the catalogue takes in what was announced; *reject*
→ the announcement is ``rejected`` and its flags are free for the next draft (a rejected batch with the
same flags is drafted again on the next run).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

from sqlalchemy.orm import Session

from tthc.approve.options import APPROVE, AUTO_SO_HIEU, AUTO_USER, REJECT  # noqa: F401 - re-exported
from tthc.catalogue.store import apply_announcement
from tthc.core.config import Department
from tthc.db.models import Announcement

SO_HIEU = re.compile(r"^\s*\d{1,6}\s*/\s*(?:\d{4}\s*/\s*)?QĐ-[A-ZĐ0-9.-]+\s*$", re.IGNORECASE)


class ApprovalError(ValueError):
    """A response that cannot be recorded (missing number or date, draft no longer waiting, …)."""


def parse_signed_date(value: str | date | None) -> date:
    if isinstance(value, date):
        return value
    text = (value or "").strip()
    for fmt in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ApprovalError(f"ngày ký không hợp lệ: «{text}» (nhập dạng dd/mm/yyyy)")


def record_response(session: Session, announcement_id: int, *, approved: bool, so_hieu: str | None = None,
                    signed_date: str | date | None = None, decided_by: str, decided_at: datetime,
                    note: str | None = None, as_of: date | None = None,
                    dept: Department | None = None) -> Announcement:
    """Store a person's answer on a draft. Idempotent: the same answer twice changes nothing.
    With ``dept``, an approval also updates the catalogue (:func:`tthc.catalogue.store.apply_announcement`)."""
    ann = session.get(Announcement, announcement_id)
    if ann is None:
        raise ApprovalError(f"không có bản dự thảo số {announcement_id}")
    if approved:
        number = unicodedata.normalize("NFC", (so_hieu or "").strip())
        if not number:
            raise ApprovalError("phê duyệt cần số hiệu quyết định đã ký (ví dụ 123/QĐ-UBND)")
        if not SO_HIEU.match(number):
            raise ApprovalError(f"số hiệu «{number}» không đúng dạng «123/QĐ-UBND»")
        day = parse_signed_date(signed_date)
        if as_of is not None and day > as_of:
            raise ApprovalError(f"ngày ký {day:%d/%m/%Y} sau ngày chạy {as_of:%d/%m/%Y}")
        if ann.status == "approved":
            if (ann.so_hieu, ann.signed_date) != (number, day):
                raise ApprovalError(f"bản dự thảo đã được phê duyệt với số {ann.so_hieu}; không ghi đè")
            return ann
        if ann.status != "draft":
            raise ApprovalError(f"bản dự thảo đang ở trạng thái «{ann.status}», không phê duyệt được")
        ann.status, ann.so_hieu, ann.signed_date = "approved", number, day
        for flag in ann.flags:
            flag.status = "approved"
        if dept is not None:  # the catalogue now holds what the province announced
            apply_announcement(session, list(ann.flags), agency=dept.name,
                               reason=f"Quyết định số {number} ngày {day:%d/%m/%Y}")
    else:
        if ann.status == "approved":
            raise ApprovalError("bản dự thảo đã được phê duyệt; không thể từ chối")
        ann.status = "rejected"
    ann.decided_by, ann.decided_at = decided_by, decided_at
    ann.note = unicodedata.normalize("NFC", note.strip()) if note and note.strip() else ann.note
    session.flush()
    return ann
