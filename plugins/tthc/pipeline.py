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


def ingest_national_portal(window: RunWindow) -> dict[str, Any]:
    from tthc.ingest import ingest_portal
    from tthc.sources.national_portal.client import HttpPortalClient
    from tthc.sources.web import SnapshotRecorder

    dept = load_department()
    recorder = SnapshotRecorder(fetched_at=window.end)
    client = HttpPortalClient(get_endpoint("tthc_portal").base_url, recorder=recorder)
    with session_scope() as session:
        result = ingest_portal(session, client, recorder, dept, window_end=window.as_of, run_time=window.end)
    return asdict(result)


def ingest_ministry(window: RunWindow) -> dict[str, Any]:
    from tthc.ingest import ingest_ministry_site
    from tthc.sources.ministry_site.client import MinistrySiteClient
    from tthc.sources.web import SnapshotRecorder

    dept = load_department()
    recorder = SnapshotRecorder(fetched_at=window.end)
    client = MinistrySiteClient(get_endpoint("tthc_ministry_site").base_url, recorder=recorder)
    with session_scope() as session:
        result = ingest_ministry_site(session, client, recorder, dept, window_end=window.as_of, run_time=window.end)
    return asdict(result)


def compare(window: RunWindow) -> dict[str, Any]:
    from tthc.compare.flags import compare as run_compare

    with session_scope() as session:
        result = run_compare(session, load_department(), as_of=window.as_of)
    return asdict(result)


def sync_cms(window: RunWindow) -> dict[str, Any]:
    from tthc.sync.channels import CmsChannel
    from tthc.sync.publish import publish

    ep = get_endpoint("tthc_cms")
    if not ep.password:
        raise LookupError("Connection tthc_cms has no password: it must hold the CMS API token")
    with session_scope() as session:
        result = publish(session, CmsChannel(ep.base_url, ep.password), run_date=window.as_of)
    return asdict(result)


def send_digest(window: RunWindow) -> dict[str, Any]:
    from tthc.reports.digest import build_digest, digest_mail
    from tthc.reports.mail import YagmailMailer, send_once

    dept = load_department()
    mailer = YagmailMailer.from_endpoint(get_endpoint("tthc_smtp"))
    with session_scope() as session:
        digest = build_digest(session, window_start=window.start, window_end=window.end, as_of=window.as_of)
        mail = digest_mail(digest, dept)
        outcome = send_once(session, mailer, mail)
    return {"sent": outcome.sent, "reason": outcome.reason, "subject": mail.subject,
            "recipients": list(mail.recipients), "late": len(digest.late), "pending": len(digest.pending)}
