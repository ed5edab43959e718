"""The review queue: items the matcher would not decide alone, and people's decisions on them.

A flag with status ``review`` is in the queue; its ``match_info`` says why (score, closest catalogue
procedure, alternatives). A person answers with :func:`decide` (``tthc review decide``): the name is the
catalogue procedure with code X, or it is not in the catalogue. The answer is stored in
``match_decisions`` (keyed by the normalised name, so the same name in a later decision is not asked
again) and the next compare run applies it: the flag leaves the queue.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tthc.compare.matching import PersonDecision, normalise_name
from tthc.db.models import Flag, MatchDecision, Procedure


class DbReviewMemory:
    """:class:`tthc.compare.matching.ReviewMemory` kept in the ``match_decisions`` table."""

    def __init__(self, session: Session) -> None:
        self._cache: dict[str, PersonDecision] = {
            row.name_key: PersonDecision(row.code) for row in session.scalars(select(MatchDecision))}

    def recall(self, session: object, name: str) -> PersonDecision | None:
        return self._cache.get(normalise_name(name))

    def remember(self, session: Session, name: str, code: str | None, *, decided_by: str = "system",
                 decided_at: datetime, note: str | None = None) -> MatchDecision:
        row = record_decision(session, name, code, decided_by=decided_by, decided_at=decided_at, note=note)
        self._cache[row.name_key] = PersonDecision(code)
        return row

    def __len__(self) -> int:
        return len(self._cache)


def record_decision(session: Session, name: str, code: str | None, *, decided_by: str, decided_at: datetime,
                    note: str | None = None) -> MatchDecision:
    """Store (or change) a person's decision for ``name``. ``code`` must be in the catalogue, or None."""
    code = (code or "").strip() or None
    if code is not None and session.scalar(select(Procedure.id).where(Procedure.code == code)) is None:
        raise ValueError(f"mã {code} không có trong danh mục thủ tục của tỉnh")
    key = normalise_name(name)
    if not key:
        raise ValueError("tên thủ tục trống")
    row = session.scalar(select(MatchDecision).where(MatchDecision.name_key == key))
    if row is None:
        row = MatchDecision(name_key=key, name=unicodedata.normalize("NFC", name.strip()))
        session.add(row)
    row.code, row.decided_by, row.decided_at, row.note = code, decided_by, decided_at, note
    session.flush()
    return row


@dataclass
class QueueEntry:
    flag_id: int
    name: str
    decision: str
    reason: str
    candidate_code: str | None
    candidate_name: str | None
    score: float | None
    deadline: str


def review_queue(session: Session) -> list[QueueEntry]:
    """Flags waiting for a person, earliest deadline first."""
    out = []
    for flag in session.scalars(select(Flag).where(Flag.status == "review").order_by(Flag.deadline, Flag.id)):
        info = flag.match_info or {}
        out.append(QueueEntry(flag.id, flag.procedure_name, flag.decision.so_hieu, flag.reason,
                              info.get("code"), info.get("name"), info.get("score"), flag.deadline.isoformat()))
    return out


def decide_flag(session: Session, flag_id: int, code: str | None, *, decided_by: str,
                decided_at: datetime, note: str | None = None) -> MatchDecision:
    """Answer the review flag ``flag_id``: its procedure is catalogue ``code`` (or None: not in the
    catalogue). Applied by the next compare run."""
    flag = session.get(Flag, flag_id)
    if flag is None:
        raise LookupError(f"không có cờ số {flag_id}")
    name = flag.item.name if flag.item is not None else flag.procedure_name
    return record_decision(session, name, code, decided_by=decided_by, decided_at=decided_at, note=note)
