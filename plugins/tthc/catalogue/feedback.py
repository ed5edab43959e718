"""Citizens' feedback (phản ánh, kiến nghị, PAKN) as the stages share it: the rules (settings/feedback.yaml),
the processing deadline, the public form of a text (contacts masked), and the read side the digest, the
periodic report and the KSTTHC page use.

The feedback stage (:mod:`tthc.feedback`) receives, answers and publishes; the reports stage reads what it
needs from here (stages never import each other). Nothing here returns a sender's name or contact: the
digest and the reports are mailed to many people, and personal data stays with the officer who answers
(docs/operations.md, Personal data).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from tthc.core.config import SETTINGS_DIR
from tthc.core.workdays import WorkCalendar
from tthc.db.models import FeedbackItem

CHANNEL_LABELS = {
    "website": "Trang thông tin điện tử của Sở",
    "national": "Hệ thống phản ánh, kiến nghị quốc gia",
    "letter": "Thư, văn bản gửi đến",
    "one_stop": "Bộ phận Một cửa",
    "other": "Kênh khác",
}
STATUS_LABELS = {"received": "Mới tiếp nhận", "assigned": "Đã phân công", "answered": "Đã có kết quả xử lý",
                 "published": "Đã công khai kết quả"}
UNKNOWN_FIELD = "Lĩnh vực chưa xác định"
OPEN_STATUSES = ("received", "assigned")


@dataclass(frozen=True)
class FeedbackRules:
    rule: str
    description: str
    citation: str
    checked: bool
    working_days: int
    due_soon_working_days: int
    retention_days: int
    kinds: dict[str, str]


def load_rules(path: str | Path | None = None) -> FeedbackRules:
    with open(path or SETTINGS_DIR / "feedback.yaml", encoding="utf-8") as fh:
        data: dict[str, Any] = yaml.safe_load(fh) or {}
    dl = data.get("deadline") or {}
    days = int(dl.get("working_days", 0))
    if days <= 0:
        raise ValueError("settings/feedback.yaml: deadline.working_days must be a positive number of working days")
    retention = int(data.get("retention_days", 0))
    if retention <= 0:
        raise ValueError("settings/feedback.yaml: retention_days must be a positive number of days")
    return FeedbackRules(str(dl.get("rule") or "feedback_processing"), str(dl.get("description") or ""),
                         str(dl.get("citation") or ""), bool(dl.get("checked", False)), days,
                         int(data.get("due_soon_working_days", 3)), retention, dict(data.get("kinds") or {}))


@dataclass(frozen=True)
class Deadline:
    day: date
    rule: str
    provisional: bool  # the rule is not checked, or the count crosses a year without an official schedule


def deadline_for(received_on: date, rules: FeedbackRules, calendar: WorkCalendar) -> Deadline:
    """The processing deadline: ``rules.working_days`` working days after the day of receipt."""
    day = calendar.add_working_days(received_on, rules.working_days)
    provisional = not rules.checked or bool(calendar.unconfirmed_years(received_on, day))
    return Deadline(day, rules.rule, provisional)


# -- the public form of a text ---------------------------------------------------------------------------

# an address's local part may hold most printable characters (RFC 5322 atext): anything but spaces and separators
_EMAIL = re.compile(r"[^\s@<>()\[\]\",;:]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# Vietnamese phone numbers as people write them: 0912 345 678, 0912.345.678, +84 912 345 678, (028) 3822 1234
_PHONE = re.compile(r"(?<![\w])(?:\+?84|0)(?:[\s.()-]*\d){8,10}(?![\w])")
MASK = "[đã ẩn thông tin liên hệ]"


def mask_contacts(text: str) -> str:
    """``text`` with e-mail addresses and phone numbers replaced by :data:`MASK` (what may be shown)."""
    return _PHONE.sub(MASK, _EMAIL.sub(MASK, text))


def contains_contact(text: str, contact: str | None) -> bool:
    """Whether ``text`` shows ``contact`` (an address or a number, spacing and dots ignored) or any
    e-mail address or phone number at all."""
    if _EMAIL.search(text) or _PHONE.search(text):
        return True
    if not contact:
        return False
    squash = re.compile(r"[\s.()-]+")
    return squash.sub("", contact.lower()) in squash.sub("", text.lower())


# -- the digest's part ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedbackLine:
    """One item as the digest and the KSTTHC page show it: no name, no contact."""

    id: int
    reference: str
    channel: str
    received_on: date
    deadline: date
    provisional: bool
    procedure: str
    field: str
    status: str
    excerpt: str


def line_of(item: FeedbackItem, width: int = 160) -> FeedbackLine:
    text = mask_contacts(item.text)
    excerpt = text if len(text) <= width else text[: width - 1].rstrip() + "…"
    procedure = (f"{item.procedure_code} – " if item.procedure_code else "") + (item.procedure_name or "")
    return FeedbackLine(item.id, item.reference, CHANNEL_LABELS.get(item.channel, item.channel), item.received_on,
                        item.deadline, item.deadline_provisional, procedure or "Chưa xác định thủ tục",
                        item.field_name or UNKNOWN_FIELD, STATUS_LABELS.get(item.status, item.status), excerpt)


@dataclass
class DigestFeedback:
    new: list[FeedbackLine] = field(default_factory=list)  # received in the run's window
    due_soon: list[FeedbackLine] = field(default_factory=list)  # open, due within N working days
    overdue: list[FeedbackLine] = field(default_factory=list)  # open, past the deadline
    soon_days: int = 3

    @property
    def has_news(self) -> bool:
        return bool(self.new or self.due_soon or self.overdue)


def digest_part(session: Session, as_of: date, first_day: date, calendar: WorkCalendar,
                rules: FeedbackRules | None = None) -> DigestFeedback:
    """New (received from ``first_day`` up to the day before ``as_of``: the nightly window's days), due within
    the rule's few working days, overdue (open items only)."""
    rules = rules or load_rules()
    soon_until = calendar.add_working_days(as_of, rules.due_soon_working_days)
    out = DigestFeedback(soon_days=rules.due_soon_working_days)
    items = session.scalars(select(FeedbackItem).order_by(FeedbackItem.deadline, FeedbackItem.id)).all()
    for item in items:
        if first_day <= item.received_on < as_of:
            out.new.append(line_of(item))
        if item.status in OPEN_STATUSES:
            if item.deadline < as_of:
                out.overdue.append(line_of(item))
            elif item.deadline <= soon_until:
                out.due_soon.append(line_of(item))
    return out


# -- the periodic report's figures ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Breakdown:
    """Counts of one field or one channel in a period."""

    name: str
    received: int
    on_time: int
    late: int

    @property
    def pending(self) -> int:
        return self.received - self.on_time - self.late


@dataclass(frozen=True)
class PeriodFigures:
    received: int
    on_time: int
    late: int
    by_field: tuple[Breakdown, ...]
    by_channel: tuple[Breakdown, ...]


def period_figures(session: Session, start: date, end: date) -> PeriodFigures:
    """Feedback received from ``start`` to ``end`` (inclusive): answered by ``end`` on time (no later than
    its deadline) or late, the rest pending at ``end``; by field and by channel."""
    items = session.scalars(select(FeedbackItem).where(FeedbackItem.received_on >= start,
                                                       FeedbackItem.received_on <= end)).all()

    def outcome(item: FeedbackItem) -> str:
        if item.answered_on is None or item.answered_on > end:
            return "pending"
        return "on_time" if item.answered_on <= item.deadline else "late"

    def breakdown(key) -> tuple[Breakdown, ...]:
        counts: dict[str, Counter] = {}
        for item in items:
            counts.setdefault(key(item), Counter())[outcome(item)] += 1
        return tuple(Breakdown(name, sum(c.values()), c["on_time"], c["late"])
                     for name, c in sorted(counts.items(), key=lambda kv: (-sum(kv[1].values()), kv[0])))

    total = Counter(outcome(i) for i in items)
    return PeriodFigures(len(items), total["on_time"], total["late"],
                         breakdown(lambda i: i.field_name or UNKNOWN_FIELD),
                         breakdown(lambda i: CHANNEL_LABELS.get(i.channel, i.channel)))
