"""The ingest stage's tasks: one call per DAG task, over the run's window (never the wall clock).

Each function opens its own transaction and returns a small JSON-serialisable summary that Airflow
keeps as the task's XCom.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from tthc.core.config import get_endpoint, load_department
from tthc.core.window import RunWindow
from tthc.db.session import session_scope


def _attachment_fetcher(session, http, window: RunWindow):
    from tthc.ingest.attachments import AttachmentStore, fetch_attachments

    store = AttachmentStore()

    def fetch(decision, urls: list[str]) -> int:
        result = fetch_attachments(session, decision, urls, http, store, fetched_at=window.end)
        return result.counts.get("stored", 0)

    return fetch


def _tracked(source: str, window: RunWindow, work) -> dict[str, Any]:
    """Run one source's ingest in its own transaction; record its health in another one, so a failure
    is counted even though the ingest itself rolled back (the alert comes from the task's notifier)."""
    from tthc.db.health import record_success

    with session_scope() as session:
        result = work(session)
    with session_scope() as session:
        record_success(session, source, window.as_of)
    return asdict(result)


def _http(session, replay: bool):
    from tthc.ingest.http_cache import source_session
    from tthc.ingest.replay import replay_session

    return replay_session(session) if replay else source_session(session)


def ingest_national_portal(window: RunWindow, full_refresh: bool = False, replay: bool = False) -> dict[str, Any]:
    """``replay``: re-parse the window from the stored snapshots, without touching the network."""
    from tthc.core.http import SnapshotRecorder
    from tthc.ingest.runs import ingest_portal
    from tthc.ingest.sources.national_portal.client import HttpPortalClient
    from tthc.ingest.sources.national_portal.settings import SOURCE_NAME

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
    """Ingest one HTML listing site, configured by ``ingest/sources/html_listing/sites/<site>.yaml``."""
    from tthc.core.http import SnapshotRecorder
    from tthc.ingest.runs import ingest_html_site
    from tthc.ingest.sources.html_listing import load_all
    from tthc.ingest.sources.html_listing.client import HtmlListingClient, resolve_base_url

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


def fetch_procedure_details(window: RunWindow, replay: bool = False) -> dict[str, Any]:
    """Read each new or amended item's procedure page on the national portal (see
    :mod:`tthc.ingest.details`); ``replay`` re-parses the stored pages without the network. A page that
    cannot be read is recorded and retried on a later run, never failing the task: the night counts as
    failed in the ``procedure_details`` source health (the digest says so) when some page failed."""
    from tthc.core.http import SnapshotRecorder
    from tthc.db.health import record_failure, record_success
    from tthc.ingest.details import SOURCE_NAME, ProcedurePageClient
    from tthc.ingest.details import fetch_procedure_details as run

    endpoint = get_endpoint("tthc_portal")
    # the procedure pages live on the portal's public site; a Connection extra may name another host
    base_url = str(endpoint.extra.get("procedure_base_url") or endpoint.base_url)
    with session_scope() as session:
        recorder = SnapshotRecorder(fetched_at=window.end)
        client = ProcedurePageClient(base_url, _http(session, replay), recorder)
        result = run(session, client, recorder, as_of=window.as_of, replay=replay)
    if not replay:
        with session_scope() as session:
            if result.failure_reason:
                record_failure(session, SOURCE_NAME, window.as_of, result.failure_reason)
            else:
                record_success(session, SOURCE_NAME, window.as_of)
    return asdict(result)
