"""The nightly digest (bản tin hằng ngày): new decisions, what must be announced and by when, what was
published. Built from the database for one run window; sent once per run date."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tthc.config import Department
from tthc.db.models import Announcement, Decision, Flag, Posting
from tthc.reports.mail import OutgoingMail
from tthc.reports.render import environment, render, vn_date


@dataclass
class Digest:
    as_of: date
    decisions: list[Decision]
    late: list[Flag]
    pending: list[Flag]
    review: list[Flag]
    postings: list[Posting]
    drafts: list[Announcement] = field(default_factory=list)  # waiting for a person's approval

    @property
    def open_count(self) -> int:
        return len(self.late) + len(self.pending)


def build_digest(session: Session, *, window_start: datetime, window_end: datetime, as_of: date) -> Digest:
    decisions = list(session.scalars(
        select(Decision).where(Decision.ingested_at >= window_start, Decision.ingested_at <= window_end)
        .order_by(Decision.published_date, Decision.id)
    ))
    flags = list(session.scalars(
        select(Flag).where(Flag.status.in_(("open", "review"))).order_by(Flag.deadline, Flag.id)
    ))
    postings = list(session.scalars(select(Posting).where(Posting.posted_for == as_of).order_by(Posting.id)))
    return Digest(
        as_of=as_of,
        decisions=decisions,
        late=[f for f in flags if f.status == "open" and f.deadline < as_of],
        pending=[f for f in flags if f.status == "open" and f.deadline >= as_of],
        review=[f for f in flags if f.status == "review"],
        postings=postings,
        drafts=list(session.scalars(select(Announcement).where(Announcement.status == "draft")
                                    .order_by(Announcement.id))),
    )


def digest_mail(digest: Digest, dept: Department) -> OutgoingMail:
    env = environment()
    subject = (f"[KSTTHC] Bản tin ngày {vn_date(digest.as_of)}: {digest.open_count} TTHC chờ công bố"
               f", {len(digest.late)} quá hạn, {len(digest.review)} cần xem xét"
               + (f", {len(digest.drafts)} dự thảo chờ phê duyệt" if digest.drafts else ""))
    context = {"d": digest, "dept": dept, "subject": subject}
    return OutgoingMail(
        kind="digest",
        period_key=digest.as_of.isoformat(),
        sender=dept.sender,
        recipients=tuple(dept.recipients),
        subject=subject,
        html=render(env, "digest.html.j2", **context),
        text=render(env, "digest.txt.j2", **context),
    )
