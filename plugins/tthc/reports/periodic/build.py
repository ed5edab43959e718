"""The periodic KSTTHC report (báo cáo định kỳ kiểm soát thủ tục hành chính): quarterly, six-monthly, yearly.

Periods: :mod:`.periods`; the report's shape: :mod:`.model`; its chart and .xlsx form: :mod:`.chart`,
:mod:`.xlsx`. Everything is computed from the database (never the wall clock):

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
- feedback (phản ánh, kiến nghị, section 4 / III): the items received in the period, answered by its end on
  time or late, pending, by field and by channel, against the previous period
  (:func:`tthc.catalogue.feedback.period_figures`; :func:`feedback_from_store`, the default source).
"""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tthc.catalogue.feedback import period_figures
from tthc.catalogue.keys import ann_key
from tthc.core.config import Department
from tthc.core.render import environment, render, vn_number
from tthc.core.text import match_key
from tthc.db.models import (
    Announcement,
    CsdlVerification,
    Decision,
    Field,
    Flag,
    FlagSource,
    PortalListing,
    Posting,
    Procedure,
)
from tthc.reports.mail import XLSX_TYPE, MailPart, OutgoingMail
from tthc.reports.periodic.model import (
    NO_FEEDBACK,
    REPORT_LEVELS,
    UNKNOWN_FIELD,
    AnnouncementLine,
    Feedback,
    FeedbackSource,
    PeriodicReport,
    Row,
    Totals,
)
from tthc.reports.periodic.periods import Period, previous
from tthc.reports.periodic.provinces import MinistryDecision, ProvinceComparison, compare_provinces
from tthc.reports.periodic.provinces import Row as ListRow

if TYPE_CHECKING:
    import pandas as pd

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
    out: dict[str, set[str]] = {"csdl": set(), "cms": set(), "province_portal": set(), "csdl_verified": set()}
    if not keys:
        return out
    verified = {v.announcement_id for v in session.scalars(select(CsdlVerification).where(
        CsdlVerification.status == "verified", CsdlVerification.announcement_id.in_([a.id for a in anns])))}
    out["csdl_verified"] = {ann_key(a) for a in anns if a.id in verified}
    stmt = select(Posting.channel, Posting.object_key, Posting.status).where(
        Posting.channel.in_(("csdl", "cms", "province_portal")), Posting.object_key.in_(sorted(keys)))
    for channel, key, status in session.execute(stmt):
        if channel == "csdl" and status != "posted":
            continue
        out[channel].add(key)
    return out


KINDS = ("new", "amended", "abolished")
COUNTS = (*KINDS, "on_time", "late", "csdl", "csdl_sent", "cms", "portal")  # Row's and Totals' counters


def _tally(session: Session, dept: Department, period: Period
           ) -> tuple[list[Announcement], pd.DataFrame, list[Row], Totals]:
    """The period's announcements, its counting units (a flag at one level, with its announcement's index),
    the rows per (field, level) in report order and the totals."""
    import pandas as pd

    anns = _announcements(session, period)
    field_of = _FieldNames(session, [f for a in anns for f in a.flags])
    published = _published(session, anns)
    units = []
    for number, ann in enumerate(anns):
        for flag in ann.flags:
            kind, key, on_time = _kind(flag), f"procedure:{flag.procedure_key}", ann.signed_date <= flag.deadline
            counters = {k: kind == k for k in KINDS} | {
                "on_time": on_time, "late": not on_time, "csdl": ann_key(ann) in published["csdl_verified"],
                "csdl_sent": ann_key(ann) in published["csdl"],
                "cms": key in published["cms"], "portal": key in published["province_portal"]}
            units += [{"announcement": number, "field": field_of(flag), "level": level, **counters}
                      for level in _levels(flag)]
    units = pd.DataFrame(units, columns=["announcement", "field", "level", *COUNTS])
    table = units.groupby(["field", "level"])[list(COUNTS)].sum().astype(int)
    # the department's fields first (its settings' order), then the others by name, unknown last
    dept_order = {field_of.names_by_key.get(k, k): i for i, k in enumerate(dept.fields)}
    level_order = {lv: i for i, lv in enumerate((*REPORT_LEVELS, ""))}

    def order(r: Row) -> tuple:
        return (r.field == UNKNOWN_FIELD, dept_order.get(r.field, len(dept_order)), match_key(r.field), r.field,
                level_order[r.level])

    rows = sorted((Row(field, level, **counts) for (field, level), counts in table.to_dict("index").items()),
                  key=order)
    return anns, units, rows, Totals(len(anns), **table.sum().to_dict())


def feedback_from_store(session: Session, period: Period) -> Feedback:
    """Section 4's figures for ``period`` and the previous one, from the feedback the pipeline holds."""

    def one(p: Period) -> Feedback:
        f = period_figures(session, p.start, p.end)
        return Feedback(f.received, f.on_time + f.late, f.late, f.by_field, f.by_channel)

    current = one(period)
    return Feedback(current.received, current.handled, current.late, current.by_field, current.by_channel,
                    previous=one(previous(period)))


def build_periodic(session: Session, dept: Department, period: Period, *,
                   feedback_source: FeedbackSource | None = feedback_from_store) -> PeriodicReport:
    """The report for ``period`` from the database (see the module docstring)."""
    anns, units, rows, totals = _tally(session, dept, period)
    before = previous(period)
    previous_totals = _tally(session, dept, before)[-1]
    # per announcement: its counting units and how many of them were late (0, 0 for one without flags)
    per_ann = (units.groupby("announcement")["late"].agg(["size", "sum"])
               .reindex(range(len(anns)), fill_value=0).astype(int))
    lines = [AnnouncementLine(ann.so_hieu or "", ann.signed_date, ann.title or "", procedures, late)
             for ann, (procedures, late) in zip(anns, per_ann.itertuples(index=False), strict=True)]
    return PeriodicReport(
        period=period, department=dept.name, province=dept.province, announcements=lines, rows=rows,
        totals=totals, previous_period=before, previous=previous_totals,
        feedback=feedback_source(session, period) if feedback_source is not None else None,
        provinces=province_comparison(session, dept, period),
    )


def province_comparison(session: Session, dept: Department, period: Period) -> ProvinceComparison:
    """How the province compares over the ministry decisions of the department's fields published in
    ``period`` (provinces.py): every provincial row of the national list stored from the period's start;
    our own date, the day the list showed our announcement of each (verified)."""
    watched = {match_key(m) for m in dept.ministries}
    fields = set(dept.fields)
    ministry = [d for d in session.scalars(select(Decision).where(
        Decision.published_date >= period.start, Decision.published_date <= period.end).order_by(Decision.id))
        if match_key(d.agency_name) in watched and fields & set((d.field_keys or "").split(","))]
    rows = [ListRow(r.so_hieu, r.trich_yeu, r.agency_name, r.published_date) for r in session.scalars(
        select(PortalListing).where(PortalListing.published_date >= period.start).order_by(PortalListing.id))]
    ours: dict[str, date] = {}
    ids = {d.id: d.so_hieu for d in ministry}
    if ids:
        stmt = (select(Flag.decision_id, FlagSource.decision_id, CsdlVerification.listed_on)
                .join(CsdlVerification, CsdlVerification.announcement_id == Flag.announcement_id)
                .outerjoin(FlagSource, FlagSource.flag_id == Flag.id)
                .where(CsdlVerification.status == "verified"))
        for flag_decision, source_decision, listed_on in session.execute(stmt):
            for decision_id in {flag_decision, source_decision}:
                if decision_id in ids and listed_on is not None:
                    so_hieu = ids[decision_id]
                    ours[so_hieu] = min(ours.get(so_hieu, listed_on), listed_on)
    refs = [MinistryDecision(d.so_hieu, d.published_date, d.trich_yeu) for d in ministry]
    return compare_provinces(refs, rows, dept.province_agency, ours)


# -- the mail ---------------------------------------------------------------------------------------------


def chart_filename(period: Period) -> str:
    return f"bieu-do-{period.key}.png"


def provinces_chart_filename(period: Period) -> str:
    return f"so-sanh-cac-tinh-{period.key}.png"


def xlsx_filename(period: Period) -> str:
    return f"bao-cao-kstthc-{period.key}.xlsx"


def report_subject(report: PeriodicReport) -> str:
    t = report.totals
    subject = (f"[KSTTHC] Báo cáo kiểm soát TTHC {report.period.label} ({report.period.dates}): "
               f"{vn_number(t.procedures)} TTHC công bố, {vn_number(t.late)} trễ hạn")
    return unicodedata.normalize("NFC", subject)


def report_mail(report: PeriodicReport, dept: Department) -> OutgoingMail:
    """The report as a mail: HTML with the chart inline, a plain-text alternative, the chart and the .xlsx."""
    from tthc.reports.periodic.chart import render_chart, render_provinces_chart
    from tthc.reports.periodic.xlsx import render_xlsx

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
            *((MailPart(provinces_chart_filename(report.period), "image/png", render_provinces_chart(report),
                        cid="provinces"),) if report.provinces is not None and report.provinces.decisions else ()),
        ),
    )


def periodic_mail(session: Session, dept: Department, period: Period, *,
                  feedback_source: FeedbackSource | None = feedback_from_store) -> OutgoingMail:
    """Build the report for ``period`` and its mail (kind ``periodic``, period key ``period.key``)."""
    return report_mail(build_periodic(session, dept, period, feedback_source=feedback_source), dept)
