"""The four stages as plain functions over a run window; the DAG tasks are one call each.

Every function takes the run's data interval (never the wall clock), opens its own transaction, and
returns a small JSON-serialisable summary that Airflow keeps as the task's XCom.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from tthc.config import get_endpoint, load_department
from tthc.db.session import session_scope
from tthc.window import RunWindow


def _attachment_fetcher(session, http, window: RunWindow):
    from tthc.attachments import AttachmentStore, fetch_attachments

    store = AttachmentStore()

    def fetch(decision, urls: list[str]) -> int:
        result = fetch_attachments(session, decision, urls, http, store, fetched_at=window.end)
        return result.counts.get("stored", 0)

    return fetch


def _tracked(source: str, window: RunWindow, work) -> dict[str, Any]:
    """Run one source's ingest in its own transaction; record its health in another one, so a failure
    is counted even though the ingest itself rolled back (the alert comes from the task's notifier)."""
    from tthc.health import record_success

    with session_scope() as session:
        result = work(session)
    with session_scope() as session:
        record_success(session, source, window.as_of)
    return asdict(result)


def _http(session, replay: bool):
    from tthc.sources.cache import source_session
    from tthc.sources.replay import replay_session

    return replay_session(session) if replay else source_session(session)


def ingest_national_portal(window: RunWindow, full_refresh: bool = False, replay: bool = False) -> dict[str, Any]:
    """``replay``: re-parse the window from the stored snapshots, without touching the network."""
    from tthc.ingest import ingest_portal
    from tthc.sources.national_portal.client import HttpPortalClient
    from tthc.sources.national_portal.settings import SOURCE_NAME
    from tthc.sources.web import SnapshotRecorder

    dept = load_department()
    base_url = get_endpoint("tthc_portal").base_url

    def work(session):
        recorder = SnapshotRecorder(fetched_at=window.end)
        http = _http(session, replay)
        client = HttpPortalClient(base_url, session=http, recorder=recorder)
        return ingest_portal(session, client, recorder, dept, window_end=window.as_of, run_time=window.end,
                             refresh_from=window.first_day if (full_refresh or replay) else None,
                             attachments=None if replay else _attachment_fetcher(session, http, window))

    return _tracked(SOURCE_NAME, window, work)


def ingest_site(site: str, window: RunWindow, full_refresh: bool = False, replay: bool = False) -> dict[str, Any]:
    """Ingest one HTML listing site, configured by ``sources/html_listing/sites/<site>.yaml``."""
    from tthc.ingest import ingest_html_site
    from tthc.sources.html_listing import load_all
    from tthc.sources.html_listing.client import HtmlListingClient, resolve_base_url
    from tthc.sources.web import SnapshotRecorder

    dept = load_department()
    cfg = load_all()[site]
    base_url = resolve_base_url(cfg)

    def work(session):
        recorder = SnapshotRecorder(fetched_at=window.end)
        http = _http(session, replay)
        client = HtmlListingClient(cfg, base_url=base_url, session=http, recorder=recorder)
        return ingest_html_site(session, client, recorder, dept, window_end=window.as_of, run_time=window.end,
                                refresh_from=window.first_day if (full_refresh or replay) else None,
                                attachments=None if replay else _attachment_fetcher(session, http, window))

    return _tracked(cfg.name, window, work)


def compare(window: RunWindow) -> dict[str, Any]:
    from tthc.compare.flags import compare as run_compare

    with session_scope() as session:
        result = run_compare(session, load_department(), as_of=window.as_of)
    return asdict(result)


CHANNELS = {"cms": "tthc_cms", "province_portal": "tthc_province_portal", "csdl": "tthc_csdl"}


def make_channel(name: str):
    """The live client of a channel, configured from its Airflow Connection (password = API token)."""
    from tthc.sync.cms import CmsChannel
    from tthc.sync.csdl import CsdlChannel
    from tthc.sync.plan import csdl_co_quan
    from tthc.sync.province_portal import ProvincePortalChannel

    conn_id = CHANNELS[name]
    ep = get_endpoint(conn_id)
    if name == "cms":
        return CmsChannel(ep.base_url, ep.password or "", conn_id=conn_id)
    if name == "province_portal":
        return ProvincePortalChannel(ep.base_url, ep.password or "", conn_id=conn_id)
    return CsdlChannel(ep.base_url, ep.password or "", csdl_co_quan(load_department()), conn_id=conn_id)


def sync_channel(name: str, window: RunWindow, dry_run: bool = False) -> dict[str, Any]:
    """Publish the approved announcements and their procedures to one channel, exactly once."""
    from tthc.health import record_success
    from tthc.sync.plan import objects_for
    from tthc.sync.publish import sync_channel as run_sync

    dept = load_department()
    with session_scope() as session:
        objects = objects_for(name, session, dept)
        channel = None if dry_run else make_channel(name)
        result = run_sync(session, channel or _DryChannel(name), objects, run_date=window.as_of, dry_run=dry_run)
    if not dry_run:
        with session_scope() as session:
            record_success(session, f"sync_{name}", window.as_of)
    return asdict(result)


class _DryChannel:
    """Stands for a channel in a dry run: nothing is ever called on it."""

    def __init__(self, name: str) -> None:
        self.name = self.label = name


def reconcile_channels(window: RunWindow, names: list[str], repair: bool = True) -> dict[str, Any]:
    """Read back each channel, report drift (missing, stale, extra) and repair what we own.
    A channel that cannot be read is reported, not fatal for the others."""
    from tthc.sync.plan import objects_for
    from tthc.sync.publish import reconcile

    dept = load_department()
    out: dict[str, Any] = {}
    for name in names:
        try:
            with session_scope() as session:
                report = reconcile(session, make_channel(name), objects_for(name, session, dept),
                                   run_date=window.as_of, repair=repair)
            out[name] = asdict(report) | {"drift": report.drift}
        except Exception as exc:  # noqa: BLE001 - reported per channel; the task fails after all are tried
            out[name] = {"error": f"{type(exc).__name__}: {exc}"}
    return out


def send_digest(window: RunWindow, resend: bool = False) -> dict[str, Any]:
    """The nightly digest, to the roles that receive it, once per run date (unless ``resend``)."""
    from tthc.reports.digest import build_digest, digest_mail, should_send
    from tthc.reports.mail import YagmailMailer, send_once

    dept = load_department()
    with session_scope() as session:
        digest = build_digest(session, window_start=window.start, window_end=window.end, as_of=window.as_of)
        mail = digest_mail(digest, dept)
        if not should_send(digest, dept):
            return {"sent": False, "reason": "nothing to say (the all-quiet digest goes out weekly)",
                    "subject": mail.subject}
        mailer = YagmailMailer.from_endpoint(get_endpoint("tthc_smtp"))
        outcome = send_once(session, mailer, mail, archive_dir=dept.archive_path(), resend=resend)
    return {"sent": outcome.sent, "reason": outcome.reason, "subject": mail.subject, "sent_to": outcome.sent_to,
            "skipped": outcome.skipped, "late": len(digest.late), "pending": len(digest.pending)}


def prepare_draft(window: RunWindow) -> dict[str, Any] | None:
    """The draft decision waiting for approval (made from the ready flags if none waits), or None."""
    from tthc.compare.announce import prepare_draft as run_prepare
    from tthc.config import var_dir

    with session_scope() as session:
        info = run_prepare(session, load_department(), as_of=window.as_of, out_dir=var_dir() / "drafts")
        return info.as_dict() if info else None


def pending_draft() -> dict[str, Any] | None:
    """The draft waiting for approval, without making one (``tthc_approve`` starts here)."""
    from tthc.compare.announce import draft_info, waiting_draft

    with session_scope() as session:
        ann = waiting_draft(session)
        return draft_info(ann, created=False).as_dict() if ann is not None and ann.flags else None


def draft_procedures(announcement_id: int) -> list[str]:
    """"code – name (deadline)" of each procedure in a draft, earliest deadline first (for the approver)."""
    from tthc.db.models import Announcement

    with session_scope() as session:
        ann = session.get(Announcement, announcement_id)
        flags = sorted(ann.flags, key=lambda f: (f.deadline, f.id)) if ann else []
        return [f"{f.procedure_code or 'chưa có mã'} – {f.procedure_name} (hạn {f.deadline:%d/%m/%Y}"
                + (", quá hạn" if f.is_late else "") + ")" for f in flags]


def record_approval(window: RunWindow, draft: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    """Store the approver's answer (from the HITL task's XCom). Returns the announcement's new state."""
    from datetime import datetime

    from tthc.approval import APPROVE
    from tthc.compare.announce import record_response

    chosen = response.get("chosen_options") or []
    form = response.get("params_input") or {}
    user = response.get("responded_by_user") or {}
    at = response.get("responded_at") or window.end
    at = datetime.fromisoformat(at) if isinstance(at, str) else at
    with session_scope() as session:
        ann = record_response(session, draft["announcement_id"], approved=APPROVE in chosen,
                              so_hieu=form.get("so_hieu"), signed_date=form.get("ngay_ky"),
                              decided_by=str(user.get("name") or user.get("id") or "?"), decided_at=at,
                              note=form.get("ghi_chu"), as_of=window.as_of, dept=load_department())
        return {"announcement_id": ann.id, "status": ann.status, "so_hieu": ann.so_hieu,
                "signed_date": ann.signed_date.isoformat() if ann.signed_date else None,
                "flags": len(ann.flags), "decided_by": ann.decided_by}


def parse_period_key(key: str, cutoff_day: int):
    """``2026-Q4`` / ``2026-H2`` / ``2026-Y`` → the reporting period."""
    from tthc.reports.periodic import period_for

    year, _, part = key.partition("-")
    kinds = {"Q": "quarter", "H": "half", "Y": "year"}
    if not year.isdigit() or not part or part[0] not in kinds:
        raise ValueError(f"period {key!r}: expected YYYY-Q1..Q4, YYYY-H1/H2 or YYYY-Y")
    number = int(part[1:]) if part[1:] else 1
    return period_for(kinds[part[0]], int(year), number, cutoff_day)


def send_periodic(window: RunWindow, period_key: str | None = None, resend: bool = False) -> dict[str, Any]:
    """Send the periodic KSTTHC reports due on the run date (or the one named by ``period_key``)."""
    from tthc.reports.mail import YagmailMailer, send_once
    from tthc.reports.periodic import due_periods, periodic_mail

    dept = load_department()
    periods = [parse_period_key(period_key, dept.report_cutoff_day)] if period_key else \
        due_periods(window.as_of, dept.report_cutoff_day)
    if not periods:
        return {"sent": [], "reason": f"no report period ends on {window.as_of:%d/%m/%Y}"}
    mailer = YagmailMailer.from_endpoint(get_endpoint("tthc_smtp"))
    out = []
    for period in periods:
        with session_scope() as session:
            mail = periodic_mail(session, dept, period)
            outcome = send_once(session, mailer, mail, archive_dir=dept.archive_path(), resend=resend)
        out.append({"period": period.key, "subject": mail.subject, "sent_to": outcome.sent_to,
                    "skipped": outcome.skipped})
    return {"sent": out}
