"""The nightly digest (bản tin hằng ngày), built from the database for one run window.

What it says, first: each new ministry decision with how long the pipeline took to notice it (when it
first stored the decision minus its publication, which the national portal dates to the day: counted from
0:00 Vietnam time that day) and whether its draft is ready ("Quyết định mới của Bộ …: phát hiện sau X
giờ; dự thảo sẵn sàng"); then the new ministry decisions; procedures to announce with their deadlines, by urgency (overdue /
due within 5 working days / later; "tạm tính" when counted through a year without an official schedule
of days off); items waiting for review or approval, with links to the Airflow UI; the procedures whose
content is not on the national database (their annex rows say why) and the procedures whose content
changed there with no decision (before/after); citizens' feedback (new, due within 3 working days,
overdue: reference, procedure, deadline and a masked excerpt, never the sender); what was published per
channel; the approved announcements not yet seen on the national CSDL after
``csdl_verification.warn_after_working_days`` working days, and those seen there since the last digest
with their discrepancies; sources and channels that are failing; from 1 November, that next year's
official schedule is still missing.

When it is sent: only when there is something to say; on the department's ``quiet_weekday`` a short
"all quiet" digest goes out otherwise, so silence always means "nothing new", never "broken". Subject
states the essentials, e.g. "[KSTTHC] 3 TTHC cần công bố, 1 quá hạn — 26/11/2026".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from tthc.catalogue.announcements import unconfirmed_years
from tthc.catalogue.details import Drift, details_for_item, open_drifts
from tthc.catalogue.feedback import DigestFeedback, digest_part
from tthc.core.config import Department
from tthc.core.labels import CHANNEL_NAMES
from tthc.core.links import dag_page, kstthc_page, required_actions_page, ui_base_url
from tthc.core.render import environment, render, vn_date, vn_number
from tthc.core.window import VN_TZ
from tthc.core.workdays import WorkCalendar
from tthc.db.models import (
    ATTACHMENT_ALERT_ATTEMPTS,
    Announcement,
    Attachment,
    CsdlVerification,
    Decision,
    Flag,
    FlagSource,
    Posting,
    SourceHealth,
)
from tthc.reports.mail import OutgoingMail

SOON_WORKING_DAYS = 5
CSDL_WARN_AFTER = 5  # Department.csdl_verify_working_days's default
MAX_LINKS = 10


@dataclass
class ChannelSummary:
    channel: str
    label: str
    created_or_updated: int
    withdrawn: int
    urls: list[str]


@dataclass(frozen=True)
class CsdlPending:
    """An approved announcement the national decision list does not show, past its limit."""

    announcement: Announcement
    due: date  # the working day from which it is warned
    checked_for: date | None  # the last verification run that looked for it


@dataclass
class NewDecisionTime:
    """How soon a new decision was noticed and how far its announcement got (the digest's first lines)."""

    decision: Decision
    hours: float | None  # first stored minus publication (0:00 of its day, Vietnam); None: no publication date
    flags: int  # procedures it makes the province announce (or review)
    state: str  # draft_ready | approved | no_draft | review | nothing  (see DRAFT_STATES)

    @property
    def state_vn(self) -> str:
        return DRAFT_STATES[self.state].format(n=self.flags)

    @property
    def delay_vn(self) -> str:
        """"phát hiện sau 9,5 giờ" (or the day it was stored, when the source gives no publication date)."""
        if self.hours is None:
            stored = self.decision.ingested_at
            day = stored.astimezone(VN_TZ).date() if stored.tzinfo else stored.date()
            return f"phát hiện ngày {vn_date(day)} (nguồn không ghi ngày công bố)"
        if self.hours >= DAYS_FROM_HOURS:  # a backlog (a first run, a source down for days): in days
            return f"phát hiện sau {vn_number(round(self.hours / 24))} ngày"
        h = round(self.hours, 1)
        return f"phát hiện sau {vn_number(int(h) if h == int(h) else h)} giờ"


DAYS_FROM_HOURS = 72  # from three days on, the delay is said in days

DRAFT_STATES = {
    "draft_ready": "dự thảo sẵn sàng ({n} thủ tục)",
    "approved": "dự thảo đã được phê duyệt",
    "review": "chờ xem xét đối chiếu trước khi lập dự thảo",
    "no_draft": "chưa có dự thảo ({n} thủ tục)",
    "nothing": "không có thủ tục phải công bố",
}


def detection_hours(decision: Decision, naive_zone: tzinfo = UTC) -> float | None:
    """Hours from the decision's publication (0:00 of its publication day in Vietnam: the portal gives no
    hour) to when the pipeline first stored it (``ingested_at``, the run's time); None without a date.
    ``naive_zone``: the zone of a naive ``ingested_at`` (SQLite keeps the wall time it was given, in the
    zone of the run's window; PostgreSQL gives it back with its zone)."""
    if decision.published_date is None or decision.ingested_at is None:
        return None
    stored = decision.ingested_at
    if stored.tzinfo is None:
        stored = stored.replace(tzinfo=naive_zone)
    published = datetime.combine(decision.published_date, time(0, 0), tzinfo=VN_TZ)
    return max(0.0, (stored - published).total_seconds() / 3600)


def _time_lines(session: Session, decisions: list[Decision], naive_zone: tzinfo) -> list[NewDecisionTime]:
    out = []
    for d in decisions:
        flags = {f.id: f for f in session.scalars(select(Flag).where(Flag.decision_id == d.id))}
        flags |= {f.id: f for f in session.scalars(
            select(Flag).join(FlagSource, FlagSource.flag_id == Flag.id).where(FlagSource.decision_id == d.id))}
        rows = list(flags.values())
        statuses = {f.announcement.status for f in rows if f.announcement_id is not None and f.announcement}
        if not rows:
            state = "nothing"
        elif "draft" in statuses:
            state = "draft_ready"
        elif statuses and statuses <= {"approved"}:
            state = "approved"
        elif all(f.status == "review" for f in rows):
            state = "review"
        else:
            state = "no_draft"
        out.append(NewDecisionTime(d, detection_hours(d, naive_zone), len(rows), state))
    return out


@dataclass
class Digest:
    as_of: date
    decisions: list[Decision]
    late: list[Flag]  # overdue
    soon: list[Flag]  # due within SOON_WORKING_DAYS working days
    later: list[Flag]
    review: list[Flag]
    drafts: list[Announcement] = field(default_factory=list)  # waiting for a person's approval
    published: list[ChannelSummary] = field(default_factory=list)
    failing: list[SourceHealth] = field(default_factory=list)
    # attachments whose download failed ATTACHMENT_ALERT_ATTEMPTS times or more in a row
    failing_attachments: list[Attachment] = field(default_factory=list)
    quiet: bool = False  # nothing to say (sent only on the quiet weekday)
    # procedure details (the national database): rows of the waiting drafts and flags without them, and
    # changes on the portal no decision explains; deadlines counted through a year without an official
    # schedule (tạm tính); from 1 November, next year's schedule still missing
    missing_details: list[tuple[Flag, str]] = field(default_factory=list)
    drifts: list[Drift] = field(default_factory=list)
    provisional: set[int] = field(default_factory=set)  # flag ids
    schedule_warning: str = ""
    # citizens' feedback (phản ánh, kiến nghị): new, due soon, overdue; never a name or a contact
    feedback: DigestFeedback = field(default_factory=DigestFeedback)
    times: list[NewDecisionTime] = field(default_factory=list)  # the new decisions, noticed after how long
    # publication on the national CSDL as read from the national decision list (tthc.sync.verify):
    # approved announcements not listed there past their working-day limit, and those found since the
    # window began (with their discrepancies)
    csdl_unverified: list[CsdlPending] = field(default_factory=list)
    csdl_verified: list[CsdlVerification] = field(default_factory=list)

    @property
    def pending(self) -> list[Flag]:
        """Still to announce and not overdue."""
        return self.soon + self.later

    @property
    def open_count(self) -> int:
        return len(self.late) + len(self.soon) + len(self.later)

    @property
    def has_news(self) -> bool:
        return bool(self.decisions or self.open_count or self.review or self.drafts or self.published
                    or self.failing or self.failing_attachments or self.drifts or self.feedback.has_news
                    or self.csdl_unverified or self.csdl_verified)


def build_digest(session: Session, *, window_start: datetime, window_end: datetime, as_of: date,
                 calendar: WorkCalendar | None = None, csdl_warn_after: int = CSDL_WARN_AFTER) -> Digest:
    calendar = calendar or WorkCalendar.from_file()
    soon_until = calendar.add_working_days(as_of, SOON_WORKING_DAYS)
    decisions = list(session.scalars(
        select(Decision).where(Decision.ingested_at > window_start, Decision.ingested_at <= window_end)  # (start, end]
        .order_by(Decision.published_date, Decision.id)
    ))
    flags = list(session.scalars(
        select(Flag).where(Flag.status.in_(("open", "review"))).order_by(Flag.deadline, Flag.id)
    ))
    open_flags = [f for f in flags if f.status == "open"]
    by_channel: dict[str, list[Posting]] = defaultdict(list)
    for posting in session.scalars(select(Posting).where(Posting.posted_for == as_of).order_by(Posting.id)):
        by_channel[posting.channel].append(posting)
    published = [ChannelSummary(ch, CHANNEL_NAMES.get(ch, ch),
                                sum(p.status == "posted" for p in rows), sum(p.status == "withdrawn" for p in rows),
                                list(dict.fromkeys(p.url for p in rows if p.url))[:MAX_LINKS])
                 for ch, rows in sorted(by_channel.items())]
    digest = Digest(
        as_of=as_of,
        decisions=decisions,
        late=[f for f in open_flags if f.deadline < as_of],
        soon=[f for f in open_flags if as_of <= f.deadline <= soon_until],
        later=[f for f in open_flags if f.deadline > soon_until],
        review=[f for f in flags if f.status == "review"],
        drafts=list(session.scalars(select(Announcement).where(Announcement.status == "draft")
                                    .order_by(Announcement.id))),
        published=published,
        failing=list(session.scalars(select(SourceHealth).where(SourceHealth.consecutive_failures > 0)
                                     .order_by(SourceHealth.source))),
        failing_attachments=list(session.scalars(
            select(Attachment).where(Attachment.status == "fetch_failed",
                                     Attachment.attempts >= ATTACHMENT_ALERT_ATTEMPTS)
            .order_by(Attachment.source, Attachment.decision_id, Attachment.id).limit(MAX_LINKS))),
    )
    _details_and_dates(session, digest, flags, calendar)
    digest.feedback = digest_part(session, as_of, window_start.astimezone(VN_TZ).date(), calendar)
    digest.times = _time_lines(session, decisions, window_end.tzinfo or UTC)
    _csdl_publication(session, digest, calendar, csdl_warn_after, window_start)
    digest.quiet = not digest.has_news
    return digest


def _details_and_dates(session: Session, digest: Digest, flags: list[Flag], calendar: WorkCalendar) -> None:
    """What the digest says about procedure details and about the calendar (see :class:`Digest`)."""
    waiting = {f.id: f for f in flags} | {f.id: f for a in digest.drafts for f in a.flags}
    for flag in sorted(waiting.values(), key=lambda f: (f.deadline, f.id)):
        if flag.action == "announce_abolition":
            continue  # the annex states no content for an abolished procedure
        found, reason = details_for_item(session, flag.item, flag.procedure_code)
        if found is None:
            digest.missing_details.append((flag, reason))
        if unconfirmed_years(flag, calendar):
            digest.provisional.add(flag.id)
    digest.drifts = open_drifts(session)
    next_year = digest.as_of.year + 1
    if digest.as_of >= date(digest.as_of.year, 11, 1) and not calendar.is_confirmed(next_year):
        digest.schedule_warning = (
            f"Chưa có lịch nghỉ lễ, Tết chính thức năm {next_year} trong bảng ngày làm việc "
            f"(plugins/tthc/settings/workday_overrides.yaml): hạn công bố tính qua năm {next_year} là tạm tính. "
            f"Khi Chính phủ công bố lịch nghỉ, bổ sung theo docs/operations.md (mục Deadlines); kiểm tra bằng "
            f"lệnh tthc deadline --check-year {next_year}.")


def _csdl_publication(session: Session, digest: Digest, calendar: WorkCalendar, warn_after: int,
                      window_start: datetime) -> None:
    """Approved announcements the national decision list does not show ``warn_after`` working days after
    signing (from the stored state, whichever ran first tonight), and those the verification found since
    the window began."""
    states = {v.announcement_id: v for v in session.scalars(select(CsdlVerification))}
    since = window_start.astimezone(VN_TZ).date()
    for ann in session.scalars(select(Announcement).where(
            Announcement.status == "approved", Announcement.signed_date.is_not(None),
            Announcement.signed_date <= digest.as_of).order_by(Announcement.signed_date, Announcement.id)):
        state = states.get(ann.id)
        found = state is not None and state.status == "verified" and state.verified_for is not None \
            and state.verified_for <= digest.as_of
        if found and since <= state.verified_for:
            digest.csdl_verified.append(state)
        due = calendar.add_working_days(ann.signed_date, warn_after)
        if not found and due < digest.as_of:
            digest.csdl_unverified.append(CsdlPending(ann, due, state.checked_for if state else None))


def should_send(digest: Digest, dept: Department) -> bool:
    """Something to say, or the weekly "all quiet" line."""
    return digest.has_news or digest.as_of.weekday() == dept.quiet_weekday


def subject_of(digest: Digest) -> str:
    parts = []
    if digest.open_count:
        parts.append(f"{digest.open_count} TTHC cần công bố")
    if digest.late:
        parts.append(f"{len(digest.late)} quá hạn")
    if digest.review:
        parts.append(f"{len(digest.review)} cần xem xét")
    if digest.drafts:
        parts.append(f"{len(digest.drafts)} dự thảo chờ phê duyệt")
    if digest.drifts:
        parts.append(f"{len(digest.drifts)} TTHC thay đổi trên CSDL quốc gia chưa có quyết định")
    if digest.feedback.overdue:
        parts.append(f"{len(digest.feedback.overdue)} phản ánh, kiến nghị quá hạn xử lý")
    if digest.feedback.new:
        parts.append(f"{len(digest.feedback.new)} phản ánh, kiến nghị mới")
    if digest.csdl_unverified:
        parts.append(f"{len(digest.csdl_unverified)} quyết định chưa thấy trên CSDL quốc gia")
    if digest.failing:
        parts.append(f"{len(digest.failing)} nguồn/kênh đang lỗi")
    if digest.failing_attachments:
        parts.append(f"{len(digest.failing_attachments)} tệp đính kèm không tải được")
    if not parts and digest.decisions:
        parts.append(f"{len(digest.decisions)} quyết định mới")
    if not parts and digest.csdl_verified:
        parts.append(f"{len(digest.csdl_verified)} quyết định đã công khai trên CSDL quốc gia")
    if not parts and digest.published:
        parts.append("đã đăng tải " + ", ".join(c.label for c in digest.published))
    if not parts:
        parts.append("Không có việc mới")
    return f"[KSTTHC] {', '.join(parts)} — {vn_date(digest.as_of)}"


def links(dept: Department) -> dict[str, str]:
    """UI pages the digest points to, from the deployment's real UI address (Airflow's ``[api] base_url``,
    else ``airflow_url``; :mod:`tthc.core.links`); empty when neither is configured."""
    base = ui_base_url(dept)
    if not base:
        return {}
    return {"approve": required_actions_page(base), "compare": dag_page(base, "tthc_compare"),
            "sync": dag_page(base, "tthc_sync"), "ingest": dag_page(base, "tthc_ingest"),
            "kstthc": kstthc_page(base), "review": kstthc_page(base) + "#review",
            "draft": kstthc_page(base) + "drafts/"}  # + the announcement id


def digest_mail(digest: Digest, dept: Department) -> OutgoingMail:
    env = environment()
    subject = subject_of(digest)
    context = {"d": digest, "dept": dept, "subject": subject, "links": links(dept), "soon_days": SOON_WORKING_DAYS}
    return OutgoingMail(
        kind="digest",
        period_key=digest.as_of.isoformat(),
        sender=dept.sender,
        recipients=tuple(dept.recipients_for("digest")),
        subject=subject,
        html=render(env, "digest.html.j2", **context),
        text=render(env, "digest.txt.j2", **context),
    )
