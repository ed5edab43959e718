"""Provincial announcements (Quyết định công bố) as the stages see them: the draft waiting for a person,
its summary for the approver, the procedures it lists."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tthc.core.workdays import WorkCalendar
from tthc.db.models import Announcement, Flag

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
                     ann.draft_html or "", created, str(part_two) if part_two and part_two.exists() else "")


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
