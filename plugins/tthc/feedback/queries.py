"""Feedback as the `tthc feedback` command and the KSTTHC page list it (no sender's name or contact:
:func:`officer_view` shows them to the officer who answers, on request)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from tthc.catalogue.feedback import FeedbackLine, line_of
from tthc.db.models import FeedbackItem


def list_lines(session: Session, *, status: str | None = None, open_only: bool = False) -> list[FeedbackLine]:
    query = select(FeedbackItem).order_by(FeedbackItem.deadline, FeedbackItem.id)
    if status:
        query = query.where(FeedbackItem.status == status)
    elif open_only:
        query = query.where(FeedbackItem.status.in_(("received", "assigned")))
    return [line_of(i, width=100) for i in session.scalars(query)]


def officer_view(session: Session, item_id: int) -> dict[str, object] | None:
    """Everything about one item, the sender's contact included (for the officer answering it)."""
    item = session.get(FeedbackItem, item_id)
    if item is None:
        return None
    return {"reference": item.reference, "line": line_of(item, width=10_000), "text": item.text,
            "sender_name": item.sender_name or "", "sender_contact": item.sender_contact or "",
            "contact_purged_on": item.contact_purged_on, "kind": item.kind, "kind_reason": item.kind_reason,
            "assigned_to": item.assigned_to, "answer": item.answer_text, "answered_on": item.answered_on,
            "reply_url": item.reply_url, "deadline_rule": item.deadline_rule}


def status_of(line: FeedbackLine, as_of: date) -> str:
    """"quá hạn" / "còn N ngày" style urgency for a listing (calendar days)."""
    if line.status in ("Đã có kết quả xử lý", "Đã công khai kết quả"):
        return line.status
    if line.deadline < as_of:
        return "Quá hạn"
    return f"Hạn {line.deadline:%d/%m/%Y}"
