"""From flags to a provincial announcement: the draft decision, then a person's approval.

Workflow (one draft at a time, so what a person approves is exactly what was drafted):

1. :func:`prepare_draft` (``tthc_compare``, after flagging): if no draft is waiting for approval, the
   flags ready to announce (status ``open``, not in a waiting or approved draft) become one
   :class:`~tthc.db.models.Announcement` (status ``draft``), keyed by :func:`tthc.compare.draft.batch_key`
   of its flags, and its DOCX and HTML preview are written under ``<var>/drafts/``. Re-running gives
   the same key and the same files. While a draft waits, newly flagged procedures wait for the next one.
2. :func:`record_response` (``tthc_approve``, after the Human-in-the-loop step): *approve* with the signed
   decision's number (số hiệu) and date → the announcement is ``approved`` and its flags ``approved``
   (only these flow on to sync); *reject* → the announcement is ``rejected`` and its flags are free for
   the next draft (a rejected batch with the same flags is drafted again on the next run).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tthc.compare.draft import batch_key, build_batch, render_docx, render_html
from tthc.config import Department
from tthc.db.models import Announcement, Flag

SO_HIEU = re.compile(r"^\s*\d{1,6}\s*/\s*(?:\d{4}\s*/\s*)?QĐ-[A-ZĐ0-9.-]+\s*$", re.IGNORECASE)


class ApprovalError(ValueError):
    """A response that cannot be recorded (missing number or date, draft no longer waiting, …)."""


@dataclass
class DraftInfo:
    announcement_id: int
    batch_key: str
    status: str
    title: str
    flag_count: int
    late: int
    earliest_deadline: str  # ISO date
    decisions: list[str]
    docx: str
    html: str
    created: bool  # False when the draft was already waiting (or re-run)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ready_flags(session: Session) -> list[Flag]:
    stmt = (select(Flag).outerjoin(Announcement, Flag.announcement_id == Announcement.id)
            .where(Flag.status == "open",
                   (Flag.announcement_id.is_(None)) | (Announcement.status == "rejected"))
            .order_by(Flag.id))
    return list(session.scalars(stmt))


def waiting_draft(session: Session) -> Announcement | None:
    return session.scalars(select(Announcement).where(Announcement.status == "draft")
                           .order_by(Announcement.id)).first()


def draft_info(ann: Announcement, created: bool) -> DraftInfo:
    flags = list(ann.flags)
    decisions = sorted({s.decision.so_hieu for f in flags for s in f.sources} or {f.decision.so_hieu for f in flags})
    return DraftInfo(ann.id, ann.batch_key, ann.status, ann.title or "", len(flags), sum(f.is_late for f in flags),
                     min(f.deadline for f in flags).isoformat(), decisions, ann.draft_docx or "",
                     ann.draft_html or "", created)


def prepare_draft(session: Session, dept: Department, *, as_of: date, out_dir: Path) -> DraftInfo | None:
    """The draft waiting for approval (creating it from the ready flags if none waits), or None."""
    ann = waiting_draft(session)
    if ann is not None and ann.flags:
        return draft_info(ann, created=False)
    if ann is not None:  # nothing left in it (cannot normally happen): close it
        ann.status, ann.note = "rejected", "Bản dự thảo không còn thủ tục nào"
    flags = _ready_flags(session)
    if not flags:
        return None
    key = batch_key(flags)
    ann = session.scalar(select(Announcement).where(Announcement.batch_key == key))
    created = ann is None
    if ann is None:
        ann = Announcement(batch_key=key, status="draft", created_for=as_of)
        session.add(ann)
    else:  # the same flags were rejected before: ask again
        ann.status, ann.created_for = "draft", as_of
    session.flush()
    for flag in flags:
        flag.announcement_id = ann.id
    session.flush()
    batch = build_batch(session, flags, dept)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"du-thao-qd-cong-bo-{as_of:%Y%m%d}-{key[:12]}"
    docx = render_docx(batch, out_dir / f"{stem}.docx")
    html = out_dir / f"{stem}.html"
    html.write_text(render_html(batch), encoding="utf-8")
    ann.draft_docx, ann.draft_html, ann.title = str(docx), str(html), batch.title
    session.flush()
    session.refresh(ann)
    return draft_info(ann, created=created)


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
    With ``dept``, an approval also updates the catalogue (:func:`tthc.catalogue.apply_announcement`)."""
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
            from tthc.catalogue import apply_announcement

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
