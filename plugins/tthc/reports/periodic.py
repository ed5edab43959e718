"""The periodic KSTTHC report (báo cáo định kỳ kiểm soát thủ tục hành chính): quarterly, six-monthly, yearly.

A reporting period runs from the cut-off day (``Department.report_cutoff_day``, default 15) of the month
before the period's first month to the day before the cut-off day in its last month: Q1 2026 is
15/12/2025 – 14/03/2026, the year 2026 is 15/12/2025 – 14/12/2026. The DAG runs on the cut-off day
(:func:`due_periods`).

Everything is computed from the database (never the wall clock):

- the provincial announcements (approved :class:`~tthc.db.models.Announcement`) signed in the period;
- the procedures they announced (their flags), by kind: new (``announce_new``), amended ("sửa đổi, bổ
  sung, thay thế": ``re_announce``, or ``announce_new`` of a replacing item), abolished
  (``announce_abolition``); by field and by level. **Counting unit**: one procedure at one level: a flag
  implemented at cấp tỉnh and cấp xã counts once per level (as the official forms count them); a flag of
  unknown level counts once, at level ``""`` (shown "Chưa xác định");
- on time (the announcement signed no later than the flag's deadline) or late;
- published: the national CSDL (a ``posted`` csdl posting of the announcement), the department website
  (any cms posting of the procedure: a withdrawn page of an abolished procedure is its published notice)
  and the provincial portal (any province_portal posting of the procedure);
- the same totals for the previous period and the differences;
- feedback (phản ánh, kiến nghị): no data source yet (``feedback=None``); pass ``feedback_source`` to
  :func:`build_periodic` once one exists.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tthc.config import Department
from tthc.db.models import Announcement, Field, Flag, Posting, Procedure
from tthc.reports.mail import XLSX_TYPE, MailPart, OutgoingMail
from tthc.reports.render import LEVEL_NAMES, environment, render, vn_date, vn_number
from tthc.sync.plan import ann_key
from tthc.text import match_key

KINDS = ("quarter", "half", "year")
PERIODS_PER_YEAR = {"quarter": 4, "half": 2, "year": 1}
MONTHS = {"quarter": 3, "half": 6, "year": 12}
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
KEY_LETTER = {"quarter": "Q", "half": "H", "year": "Y"}

REPORT_LEVELS = ("cap_tinh", "cap_xa")
UNKNOWN_FIELD = "Lĩnh vực chưa xác định"
UNKNOWN_LEVEL = "Chưa xác định"
NO_FEEDBACK = "Chưa có dữ liệu phản ánh, kiến nghị trong hệ thống."
REPORT_TITLE = "Báo cáo tình hình, kết quả thực hiện công tác kiểm soát thủ tục hành chính"


# -- periods -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    kind: str  # quarter | half | year
    year: int
    number: int  # 1–4 (quarter), 1–2 (half), 1 (year)
    start: date
    end: date  # inclusive

    @property
    def label(self) -> str:
        if self.kind == "quarter":
            return f"Quý {ROMAN[self.number]} năm {self.year}"
        if self.kind == "half":
            return f"6 tháng {'đầu' if self.number == 1 else 'cuối'} năm {self.year}"
        return f"Năm {self.year}"

    @property
    def key(self) -> str:
        suffix = "" if self.kind == "year" else str(self.number)
        return f"{self.year}-{KEY_LETTER[self.kind]}{suffix}"

    @property
    def dates(self) -> str:
        """``15/09/2026 – 14/12/2026``."""
        return f"{vn_date(self.start)} – {vn_date(self.end)}"

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end


def period_for(kind: str, year: int, number: int = 1, cutoff_day: int = 15) -> Period:
    """The reporting period ``number`` of ``kind`` in ``year`` (see the module docstring)."""
    if kind not in KINDS:
        raise ValueError(f"unknown period kind {kind!r} (expected one of {KINDS})")
    if not 1 <= number <= PERIODS_PER_YEAR[kind]:
        raise ValueError(f"{kind} number must be between 1 and {PERIODS_PER_YEAR[kind]}, not {number}")
    if not 1 <= cutoff_day <= 28:
        raise ValueError("cutoff_day must be between 1 and 28")
    span = MONTHS[kind]
    first = (number - 1) * span + 1
    last = number * span
    start = date(year - 1, 12, cutoff_day) if first == 1 else date(year, first - 1, cutoff_day)
    end = date(year, last, cutoff_day) - timedelta(days=1)
    return Period(kind, year, number, start, end)


def previous(period: Period) -> Period:
    """The period of the same kind just before ``period`` (Q1 → Q4 of the year before)."""
    if period.number > 1:
        return period_for(period.kind, period.year, period.number - 1, period.start.day)
    return period_for(period.kind, period.year - 1, PERIODS_PER_YEAR[period.kind], period.start.day)


def due_periods(run_date: date, cutoff_day: int = 15) -> list[Period]:
    """The periods ending the day before ``run_date`` (quarter, then half, then year)."""
    if run_date.day != cutoff_day:
        return []
    month = run_date.month
    out = []
    for kind in KINDS:
        if month % MONTHS[kind] == 0:
            out.append(period_for(kind, run_date.year, month // MONTHS[kind], cutoff_day))
    assert all(p.end == run_date - timedelta(days=1) for p in out)
    return out


# -- the report's data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Feedback:
    """Phản ánh, kiến nghị về quy định hành chính received and handled in the period."""

    received: int
    handled: int

    @property
    def pending(self) -> int:
        return self.received - self.handled


FeedbackSource = Callable[[Session, Period], Feedback | None]


@dataclass
class Row:
    """One (field, level) line of the table; counts are procedures at that level."""

    field: str
    level: str  # cap_tinh | cap_xa | "" (unknown)
    new: int = 0
    amended: int = 0  # sửa đổi, bổ sung, thay thế
    abolished: int = 0
    on_time: int = 0
    late: int = 0
    csdl: int = 0
    cms: int = 0
    portal: int = 0

    @property
    def total(self) -> int:
        return self.new + self.amended + self.abolished

    @property
    def level_name(self) -> str:
        return LEVEL_NAMES.get(self.level, self.level) if self.level else UNKNOWN_LEVEL


@dataclass(frozen=True)
class Totals:
    announcements: int = 0
    new: int = 0
    amended: int = 0
    abolished: int = 0
    on_time: int = 0
    late: int = 0
    csdl: int = 0
    cms: int = 0
    portal: int = 0

    @property
    def procedures(self) -> int:
        return self.new + self.amended + self.abolished

    @classmethod
    def of(cls, rows: list[Row], announcements: int) -> Totals:
        names = [f.name for f in fields(cls) if f.name != "announcements"]
        return cls(announcements, **{n: sum(getattr(r, n) for r in rows) for n in names})

    def minus(self, other: Totals) -> Totals:
        return Totals(**{f.name: getattr(self, f.name) - getattr(other, f.name) for f in fields(self)})


@dataclass(frozen=True)
class Indicator:
    """A line of the comparison with the previous period."""

    label: str
    current: int
    previous: int

    @property
    def diff(self) -> int:
        return self.current - self.previous


# (attribute of Totals, label); labels starting with "-" are parts of the line above
INDICATORS = (
    ("announcements", "Số quyết định công bố TTHC"),
    ("procedures", "Số TTHC được công bố"),
    ("new", "- Mới ban hành"),
    ("amended", "- Sửa đổi, bổ sung, thay thế"),
    ("abolished", "- Bãi bỏ"),
    ("on_time", "Số TTHC công bố đúng hạn"),
    ("late", "Số TTHC công bố trễ hạn"),
    ("csdl", "Công khai trên CSDL quốc gia về TTHC"),
    ("cms", "Công khai trên Trang TTĐT của Sở"),
    ("portal", "Công khai trên Cổng DVC tỉnh"),
)


@dataclass(frozen=True)
class AnnouncementLine:
    """One provincial announcement of the period."""

    so_hieu: str
    signed_date: date
    title: str
    procedures: int  # procedures at each level, as in the table
    late: int


@dataclass
class PeriodicReport:
    period: Period
    department: str
    province: str
    announcements: list[AnnouncementLine]
    rows: list[Row]
    totals: Totals
    previous_period: Period
    previous: Totals
    feedback: Feedback | None = None

    @property
    def diff(self) -> Totals:
        return self.totals.minus(self.previous)

    @property
    def indicators(self) -> list[Indicator]:
        return [Indicator(label, getattr(self.totals, attr), getattr(self.previous, attr))
                for attr, label in INDICATORS]

    @property
    def on_time_rate(self) -> float | None:
        """Percentage announced on time, None when nothing was announced."""
        done = self.totals.on_time + self.totals.late
        return 100 * self.totals.on_time / done if done else None

    @property
    def field_names(self) -> list[str]:
        return list(dict.fromkeys(r.field for r in self.rows))


# -- building it from the database -------------------------------------------------------------------------


def _kind(flag: Flag) -> str:
    if flag.action == "announce_abolition":
        return "abolished"
    if flag.action == "re_announce":
        return "amended"
    if flag.item is not None and flag.item.change_type == "replaced":
        return "amended"
    return "new"


def _levels(flag: Flag) -> list[str]:
    levels = [lv for lv in REPORT_LEVELS if lv in (flag.levels or "").split(",")]
    return levels or [""]


def _announcements(session: Session, period: Period) -> list[Announcement]:
    stmt = (select(Announcement)
            .where(Announcement.status == "approved", Announcement.signed_date >= period.start,
                   Announcement.signed_date <= period.end)
            .options(selectinload(Announcement.flags).selectinload(Flag.item))
            .order_by(Announcement.signed_date, Announcement.id))
    return list(session.scalars(stmt))


class _FieldNames:
    """Field of a flag: its catalogue procedure's (by code, else by name), else its item's."""

    def __init__(self, session: Session, flags: list[Flag]) -> None:
        self.names_by_key = {f.key: f.name for f in session.scalars(select(Field))}
        codes = {f.procedure_code for f in flags if f.procedure_code}
        names = {match_key(f.procedure_name) for f in flags}
        self.by_code: dict[str, Procedure] = {}
        self.by_name: dict[str, Procedure] = {}
        if codes:
            for p in session.scalars(select(Procedure).where(Procedure.code.in_(sorted(codes)))
                                     .options(selectinload(Procedure.field))):
                self.by_code[p.code] = p
        if names:
            for p in session.scalars(select(Procedure).where(Procedure.name_key.in_(sorted(names)))
                                     .options(selectinload(Procedure.field)).order_by(Procedure.id)):
                self.by_name.setdefault(p.name_key, p)

    def __call__(self, flag: Flag) -> str:
        proc = self.by_code.get(flag.procedure_code) if flag.procedure_code else None
        if proc is None:
            proc = self.by_name.get(match_key(flag.procedure_name))
        if proc is not None and proc.field is not None:
            return proc.field.name
        key = flag.item.field_key if flag.item is not None else None
        return self.names_by_key.get(key, UNKNOWN_FIELD) if key else UNKNOWN_FIELD


def _published(session: Session, anns: list[Announcement]) -> dict[str, set[str]]:
    keys = {ann_key(a) for a in anns}
    keys |= {f"procedure:{f.procedure_key}" for a in anns for f in a.flags}
    out: dict[str, set[str]] = {"csdl": set(), "cms": set(), "province_portal": set()}
    if not keys:
        return out
    stmt = select(Posting.channel, Posting.object_key, Posting.status).where(
        Posting.channel.in_(tuple(out)), Posting.object_key.in_(sorted(keys)))
    for channel, key, status in session.execute(stmt):
        if channel == "csdl" and status != "posted":
            continue
        out[channel].add(key)
    return out


def _tally(session: Session, dept: Department, period: Period) -> tuple[list[Announcement], list[Row], Totals]:
    anns = _announcements(session, period)
    flags = [f for a in anns for f in a.flags]
    field_of = _FieldNames(session, flags)
    published = _published(session, anns)
    rows: dict[tuple[str, str], Row] = {}
    for ann in anns:
        posted_csdl = ann_key(ann) in published["csdl"]
        for flag in sorted(ann.flags, key=lambda f: f.id):
            field_name = field_of(flag)
            kind = _kind(flag)
            on_time = ann.signed_date <= flag.deadline
            key = f"procedure:{flag.procedure_key}"
            for level in _levels(flag):
                row = rows.setdefault((field_name, level), Row(field_name, level))
                setattr(row, kind, getattr(row, kind) + 1)
                row.on_time += on_time
                row.late += not on_time
                row.csdl += posted_csdl
                row.cms += key in published["cms"]
                row.portal += key in published["province_portal"]
    # the department's fields first (its settings' order), then the others by name, unknown last
    dept_order = {field_of.names_by_key.get(k, k): i for i, k in enumerate(dept.fields)}
    level_order = {lv: i for i, lv in enumerate((*REPORT_LEVELS, ""))}

    def order(r: Row) -> tuple:
        return (r.field == UNKNOWN_FIELD, dept_order.get(r.field, len(dept_order)), match_key(r.field), r.field,
                level_order[r.level])

    ordered = sorted(rows.values(), key=order)
    return anns, ordered, Totals.of(ordered, len(anns))


def build_periodic(session: Session, dept: Department, period: Period, *,
                   feedback_source: FeedbackSource | None = None) -> PeriodicReport:
    """The report for ``period`` from the database (see the module docstring)."""
    anns, rows, totals = _tally(session, dept, period)
    before = previous(period)
    _, _, previous_totals = _tally(session, dept, before)
    lines = []
    for ann in anns:
        units = [(lv, ann.signed_date <= f.deadline) for f in ann.flags for lv in _levels(f)]
        lines.append(AnnouncementLine(ann.so_hieu or "", ann.signed_date, ann.title or "", len(units),
                                      sum(not ok for _, ok in units)))
    return PeriodicReport(
        period=period, department=dept.name, province=dept.province, announcements=lines, rows=rows,
        totals=totals, previous_period=before, previous=previous_totals,
        feedback=feedback_source(session, period) if feedback_source is not None else None,
    )


# -- the mail ---------------------------------------------------------------------------------------------


def chart_filename(period: Period) -> str:
    return f"bieu-do-{period.key}.png"


def xlsx_filename(period: Period) -> str:
    return f"bao-cao-kstthc-{period.key}.xlsx"


def report_subject(report: PeriodicReport) -> str:
    t = report.totals
    subject = (f"[KSTTHC] Báo cáo kiểm soát TTHC {report.period.label} ({report.period.dates}): "
               f"{vn_number(t.procedures)} TTHC công bố, {vn_number(t.late)} trễ hạn")
    return unicodedata.normalize("NFC", subject)


def report_mail(report: PeriodicReport, dept: Department) -> OutgoingMail:
    """The report as a mail: HTML with the chart inline, a plain-text alternative, the chart and the .xlsx."""
    from tthc.reports.chart import render_chart
    from tthc.reports.xlsx import render_xlsx

    env = environment()
    subject = report_subject(report)
    context = {"r": report, "dept": dept, "subject": subject, "xlsx_name": xlsx_filename(report.period),
               "no_feedback": NO_FEEDBACK}
    return OutgoingMail(
        kind="periodic",
        period_key=report.period.key,
        sender=dept.sender,
        recipients=tuple(dept.recipients_for("periodic")),
        subject=subject,
        html=render(env, "periodic.html.j2", **context),
        text=render(env, "periodic.txt.j2", **context),
        parts=(
            MailPart(chart_filename(report.period), "image/png", render_chart(report), cid="chart"),
            MailPart(xlsx_filename(report.period), XLSX_TYPE, render_xlsx(report)),
        ),
    )


def periodic_mail(session: Session, dept: Department, period: Period, *,
                  feedback_source: FeedbackSource | None = None) -> OutgoingMail:
    """Build the report for ``period`` and its mail (kind ``periodic``, period key ``period.key``)."""
    return report_mail(build_periodic(session, dept, period, feedback_source=feedback_source), dept)
