"""What the KSTTHC page shows, read from the catalogue database (plain data for the templates).

The page is about "now": ``as_of`` is today in Vietnam (the wall clock is the right time for a page a
person opens; the pipeline's own runs use their windows). Urgency uses the digest's rules
(:func:`tthc.reports.digest.build_digest`): overdue, due within 5 working days, later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tthc.catalogue.announcements import open_problem, procedure_lines
from tthc.catalogue.feedback import STATUS_LABELS
from tthc.compare.matching import normalise_name
from tthc.core.labels import ACTION_NAMES, CHANNEL_NAMES, levels_vn
from tthc.core.window import VN_TZ
from tthc.db.models import (
    Announcement,
    DraftFile,
    Flag,
    MailLog,
    MatchDecision,
    Posting,
    SourceHealth,
)
from tthc.feedback.queries import list_lines
from tthc.reports.digest import SOON_WORKING_DAYS, build_digest

RECENT_POSTINGS = 20
RECENT_MAILS = 30
MAIL_KINDS = {"digest": "Bản tin hằng ngày", "periodic": "Báo cáo định kỳ", "ops": "Cảnh báo vận hành",
              "source_down": "Cảnh báo nguồn lỗi", "channel_down": "Cảnh báo kênh lỗi",
              "approval_problem": "Trả lời phê duyệt chưa ghi nhận"}
MAIL_STATUS = {"sent": "Đã gửi", "sending": "Đang gửi", "failed": "Gửi lỗi"}


@dataclass
class Source:
    so_hieu: str
    agency: str
    url: str | None


@dataclass
class FlagRow:
    id: int
    code: str
    name: str
    levels: str
    action: str
    deadline: date
    late: bool
    reason: str
    sources: list[Source]
    draft_id: int | None  # the draft waiting for approval that lists it


@dataclass
class Candidate:
    code: str
    name: str
    score: float | None


@dataclass
class ReviewRow:
    id: int
    name: str
    decision: str
    deadline: date
    reason: str
    candidates: list[Candidate]
    answered: MatchDecision | None  # a person's answer, applied by the next compare run


@dataclass
class DraftRow:
    id: int
    title: str
    created_for: date | None
    procedures: list[str]
    late: int
    earliest: date | None
    decisions: list[str]
    files: dict[str, DraftFile]
    problem: str


@dataclass
class ChannelRows:
    channel: str
    label: str
    rows: list[Posting]


@dataclass
class PageState:
    now: datetime
    as_of: date
    soon_days: int
    late: list[FlagRow]
    soon: list[FlagRow]
    later: list[FlagRow]
    review: list[ReviewRow]
    drafts: list[DraftRow]
    published: list[ChannelRows]
    health: list[SourceHealth]
    mails: list[MailLog]
    feedback: list = field(default_factory=list)  # tthc.catalogue.feedback.FeedbackLine: no name, no contact
    labels: dict[str, dict[str, str]] = field(default_factory=lambda: {"mail": MAIL_KINDS, "status": MAIL_STATUS})


def _sources(flag: Flag) -> list[Source]:
    decisions = {s.decision.id: s.decision for s in flag.sources} or {flag.decision.id: flag.decision}
    out = []
    for d in sorted(decisions.values(), key=lambda d: (d.published_date or date.min, d.id)):
        url = next((s.url for s in d.sources if s.url), None)
        out.append(Source(d.so_hieu, d.agency_name, url))
    return out


def flag_row(flag: Flag) -> FlagRow:
    waiting = flag.announcement if flag.announcement is not None and flag.announcement.status == "draft" else None
    return FlagRow(flag.id, flag.procedure_code or "", flag.procedure_name, levels_vn(flag.levels),
                   ACTION_NAMES.get(flag.action, flag.action), flag.deadline, flag.is_late, flag.reason,
                   _sources(flag), waiting.id if waiting else None)


def review_row(session: Session, flag: Flag) -> ReviewRow:
    info = flag.match_info or {}
    seen, candidates = set(), []
    for c in [info] + list(info.get("alternatives") or []):
        if c.get("code") and c["code"] not in seen:
            seen.add(c["code"])
            candidates.append(Candidate(c["code"], c.get("name") or "", c.get("score")))
    name = flag.item.name if flag.item is not None else flag.procedure_name
    answered = session.scalar(select(MatchDecision).where(MatchDecision.name_key == normalise_name(name)))
    return ReviewRow(flag.id, flag.procedure_name, flag.decision.so_hieu, flag.deadline, flag.reason, candidates,
                     answered)


def draft_row(session: Session, ann: Announcement) -> DraftRow:
    flags = list(ann.flags)
    files = {f.kind: f for f in session.scalars(select(DraftFile).where(DraftFile.announcement_id == ann.id))}
    decisions = sorted({s.decision.so_hieu for f in flags for s in f.sources} or {f.decision.so_hieu for f in flags})
    return DraftRow(ann.id, ann.title or "Dự thảo quyết định công bố", ann.created_for, procedure_lines(ann),
                    sum(f.is_late for f in flags), min((f.deadline for f in flags), default=None), decisions,
                    files, open_problem(ann))


def page_state(session: Session, now: datetime) -> PageState:
    now = now.astimezone(VN_TZ)
    as_of = now.date()
    digest = build_digest(session, window_start=now - timedelta(days=1), window_end=now, as_of=as_of)
    published = []
    for channel, label in CHANNEL_NAMES.items():
        rows = list(session.scalars(select(Posting).where(Posting.channel == channel)
                                    .order_by(Posting.posted_for.desc(), Posting.id.desc()).limit(RECENT_POSTINGS)))
        published.append(ChannelRows(channel, label, rows))
    return PageState(
        now=now, as_of=as_of, soon_days=SOON_WORKING_DAYS,
        late=[flag_row(f) for f in digest.late], soon=[flag_row(f) for f in digest.soon],
        later=[flag_row(f) for f in digest.later],
        review=[review_row(session, f) for f in digest.review],
        drafts=[draft_row(session, a) for a in digest.drafts],
        published=published,
        health=list(session.scalars(select(SourceHealth).order_by(SourceHealth.consecutive_failures.desc(),
                                                                  SourceHealth.source))),
        mails=list(session.scalars(select(MailLog).order_by(MailLog.recorded_at.desc(), MailLog.id.desc())
                                   .limit(RECENT_MAILS))),
        feedback=[x for x in list_lines(session) if x.status != STATUS_LABELS["published"]][:RECENT_POSTINGS],
    )


def draft_state(session: Session, announcement_id: int) -> tuple[Announcement, DraftRow] | None:
    ann = session.get(Announcement, announcement_id)
    if ann is None:
        return None
    return ann, draft_row(session, ann)
