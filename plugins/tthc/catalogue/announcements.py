"""Provincial announcements (Quyết định công bố) as the stages see them: the draft waiting for a person,
its summary for the approver, the procedures it lists, its files in the store, the answers given on it."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tthc.core.workdays import WorkCalendar
from tthc.db.models import Announcement, ApprovalAnswer, DraftFile, Flag

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PROVISIONAL = "tạm tính"


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
    problem: str = ""  # why the last answer on it could not be recorded (shown when asking again)
    part_two: str = ""  # Phần II (nội dung cụ thể của từng thủ tục), when the department writes it

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def waiting_draft(session: Session) -> Announcement | None:
    return session.scalars(select(Announcement).where(Announcement.status == "draft")
                           .order_by(Announcement.id)).first()


def part_two_path(docx: str | Path) -> Path:
    """Where Phần II of a draft is written: beside the draft, ``<stem>-phan-ii.docx``."""
    docx = Path(docx)
    return docx.with_name(f"{docx.stem}-phan-ii.docx")


def draft_info(ann: Announcement, created: bool) -> DraftInfo:
    flags = list(ann.flags)
    decisions = sorted({s.decision.so_hieu for f in flags for s in f.sources} or {f.decision.so_hieu for f in flags})
    part_two = part_two_path(ann.draft_docx) if ann.draft_docx else None
    return DraftInfo(ann.id, ann.batch_key, ann.status, ann.title or "", len(flags), sum(f.is_late for f in flags),
                     min(f.deadline for f in flags).isoformat(), decisions, ann.draft_docx or "",
                     ann.draft_html or "", created, open_problem(ann),
                     str(part_two) if part_two and part_two.exists() else "")


def open_problem(ann: Announcement) -> str:
    """Why the latest answer on ``ann`` was refused, if no answer was recorded after it ("" otherwise)."""
    last = ann.answers[-1] if ann.answers else None
    if last is None or last.outcome != "refused":
        return ""
    return f"Câu trả lời của {last.answered_by} chưa ghi nhận được: {last.problem}"


def store_draft_file(session: Session, ann: Announcement, kind: str, filename: str, content_type: str,
                     content: bytes, created_for: date) -> DraftFile:
    """Keep a draft's file in the store (replacing the same kind when the batch is drafted again)."""
    row = session.scalar(select(DraftFile).where(DraftFile.announcement_id == ann.id, DraftFile.kind == kind))
    if row is None:
        row = DraftFile(announcement_id=ann.id, kind=kind)
        session.add(row)
    row.filename, row.content_type, row.content = filename, content_type, content
    row.content_hash, row.size, row.created_for = hashlib.sha256(content).hexdigest(), len(content), created_for
    session.flush()
    return row


def draft_file(session: Session, announcement_id: int, kind: str) -> DraftFile | None:
    return session.scalar(select(DraftFile).where(DraftFile.announcement_id == announcement_id,
                                                  DraftFile.kind == kind))


def record_answer(session: Session, ann: Announcement, *, answered_by: str, answered_at: datetime, choice: str,
                  form: dict[str, Any], outcome: str, problem: str | None = None) -> ApprovalAnswer:
    """Log a person's answer on ``ann`` once (a retry of the same answer finds its row)."""
    answered_at = answered_at.astimezone(UTC)  # one form on every database (SQLite keeps no offset)
    row = session.scalar(select(ApprovalAnswer).where(ApprovalAnswer.announcement_id == ann.id,
                                                      ApprovalAnswer.answered_at == answered_at,
                                                      ApprovalAnswer.answered_by == answered_by))
    if row is None:
        row = ApprovalAnswer(announcement_id=ann.id, answered_by=answered_by, answered_at=answered_at)
        session.add(row)
    row.choice, row.form, row.outcome, row.problem = choice, dict(form), outcome, problem
    session.flush()
    session.refresh(ann, ["answers"])
    return row


def unconfirmed_years(flag: Flag, calendar: WorkCalendar) -> list[int]:
    """The years without an official schedule of days off that the flag's deadline was counted through (from
    its decision's effective, else published date): non-empty means the deadline is provisional (tạm tính)."""
    decision = flag.decision
    anchor = (decision.effective_date or decision.published_date or decision.signed_date) if decision else None
    return calendar.unconfirmed_years(anchor or flag.deadline, flag.deadline)


def procedure_lines(ann: Announcement, calendar: WorkCalendar | None = None) -> list[str]:
    """"code – name (deadline)" of each procedure in a draft, earliest deadline first (for the approver); a
    deadline counted through a year without an official schedule says "tạm tính"."""
    calendar = calendar or WorkCalendar.from_file()
    flags = sorted(ann.flags, key=lambda f: (f.deadline, f.id))
    return [f"{f.procedure_code or 'chưa có mã'} – {f.procedure_name} (hạn {f.deadline:%d/%m/%Y}"
            + (f", {PROVISIONAL}" if unconfirmed_years(f, calendar) else "")
            + (", quá hạn" if f.is_late else "") + ")" for f in flags]
