"""A person's answer to a draft provincial announcement: check it, then record it.

*approve* with the signed decision's number (số hiệu) and date → the announcement is ``approved`` and its
flags ``approved`` (only these flow on to sync), and the catalogue takes in what was announced; *reject*
with a reason → the announcement is ``rejected`` and its flags are free for the next draft (a rejected
batch with the same flags is drafted again on the next run).

What an answer needs depends on the choice, which a form cannot say (Airflow's form has no conditional
fields): the number and the date only to approve, a reason only to reject. :func:`check_answer` is the one
place that decides; the KSTTHC page runs it before it accepts an answer, and ``record_approval`` runs it
again on what Airflow's form sent, asking the person again (:class:`AnswerProblem`) instead of failing.
The signing date may not be after the day the person answered (not the run's date: a request waits
up to 7 days).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from tthc.approve.options import APPROVE, AUTO_SO_HIEU, AUTO_USER, REJECT, SO_HIEU_PATTERN  # noqa: F401
from tthc.catalogue.store import apply_announcement
from tthc.core.config import Department
from tthc.db.models import Announcement

SO_HIEU = re.compile(SO_HIEU_PATTERN)
DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y")


class ApprovalError(ValueError):
    """A response that cannot be recorded (missing number or date, draft no longer waiting, …)."""


class AnswerProblem(ApprovalError):
    """What the person typed cannot be recorded; asking them again can fix it. ``fields`` maps a form
    field (``so_hieu``, ``ngay_ky``, ``ghi_chu``, ``choice``) to its message."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(fields.values()))
        self.fields = fields


@dataclass(frozen=True)
class Answer:
    """An answer that passed :func:`check_answer` (number, date and note normalised)."""

    approved: bool
    so_hieu: str | None
    signed_date: date | None
    note: str | None


def _text(value: object) -> str:
    return unicodedata.normalize("NFC", str(value or "").strip())


def parse_signed_date(value: str | date | None) -> date:
    if isinstance(value, date):
        return value
    text = _text(value)
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ApprovalError(f"ngày ký không hợp lệ: «{text}» (nhập dạng dd/mm/yyyy, ví dụ 25/11/2026)")


def check_answer(*, approved: bool, so_hieu: object = None, signed_date: str | date | None = None,
                 note: object = None, answered_on: date | None = None) -> Answer:
    """The answer, normalised, or :class:`AnswerProblem` naming every field that is wrong."""
    problems: dict[str, str] = {}
    number, reason, day = _text(so_hieu), _text(note), None
    if approved:
        if not number:
            problems["so_hieu"] = "phê duyệt cần số hiệu quyết định đã ký (ví dụ 123/QĐ-UBND)"
        elif not SO_HIEU.match(number):
            problems["so_hieu"] = f"số hiệu «{number}» không đúng dạng «123/QĐ-UBND»"
        if not isinstance(signed_date, date) and not _text(signed_date):
            problems["ngay_ky"] = "phê duyệt cần ngày ký của quyết định (dd/mm/yyyy)"
        else:
            try:
                day = parse_signed_date(signed_date)
            except ApprovalError as exc:
                problems["ngay_ky"] = str(exc)
            else:
                if answered_on is not None and day > answered_on:
                    problems["ngay_ky"] = (f"ngày ký {day:%d/%m/%Y} sau ngày trả lời {answered_on:%d/%m/%Y}: "
                                           "nhập ngày quyết định đã được ký")
    elif not reason:
        problems["ghi_chu"] = "từ chối cần ghi lý do (ô Ghi chú) để bộ phận KSTTHC sửa dự thảo"
    if problems:
        raise AnswerProblem(problems)
    return Answer(approved, re.sub(r"\s*/\s*", "/", number) if approved else None, day, reason or None)


def record_response(session: Session, announcement_id: int, *, approved: bool, so_hieu: str | None = None,
                    signed_date: str | date | None = None, decided_by: str, decided_at: datetime,
                    note: str | None = None, answered_on: date | None = None, as_of: date | None = None,
                    dept: Department | None = None) -> Announcement:
    """Store a person's answer on a draft. Idempotent: the same answer twice changes nothing.
    ``answered_on`` is the day the person answered (``as_of``: the same, the older name); the signing date
    may not be after it. With ``dept``, an approval also updates the catalogue
    (:func:`tthc.catalogue.store.apply_announcement`)."""
    ann = session.get(Announcement, announcement_id)
    if ann is None:
        raise ApprovalError(f"không có bản dự thảo số {announcement_id}")
    if not approved and ann.status == "approved":
        raise ApprovalError("bản dự thảo đã được phê duyệt; không thể từ chối")
    answer = check_answer(approved=approved, so_hieu=so_hieu, signed_date=signed_date, note=note,
                          answered_on=answered_on or as_of)
    if answer.approved:
        number, day = answer.so_hieu, answer.signed_date
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
        ann.status = "rejected"
    ann.decided_by, ann.decided_at = decided_by, decided_at
    ann.note = answer.note or ann.note
    session.flush()
    return ann
