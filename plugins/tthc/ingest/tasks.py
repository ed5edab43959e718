"""The ingest stage's tasks: one call per DAG task, over the run's window (never the wall clock).

Each function opens its own transaction and returns a small JSON-serialisable summary that Airflow
keeps as the task's XCom.

An incomplete run (``incomplete_reason`` in the summary: the source could not be read down to its
watermark) stores what it read and keeps the watermark; it counts as a failed night in the source's
health streak (:func:`tthc.db.health.record_failure`) instead of raising. Raising would roll nothing
back (the decisions read are worth keeping) but would mark the task failed: Airflow would retry it
(re-reading the same pages), the DAG's ops notifier would mail every night, and the decisions stored
would wait for ``tthc_compare`` until the source is whole again (the Asset is only updated on success).
Counted in the streak, the night shows in the digest's failing sources with its reason, the next night
reads again from the old watermark, and a source incomplete N nights in a row gets the same single ops
alert as a failing one (``tthc.dag_support.ingest_alerts``).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from tthc.core.config import get_endpoint, load_department
from tthc.core.window import RunWindow
from tthc.db.session import session_scope


class _Attachments:
    """The attachment fetcher of one source's run: fetches each decision's files, then retries the
    source's failed downloads whose retry date has come; keeps the persistent failures for the alert."""

    def __init__(self, session, http, window: RunWindow, source: str) -> None:
        from tthc.ingest.attachments import AttachmentResult, AttachmentStore

        self.session, self.http, self.window, self.source = session, http, window, source
        self.store = AttachmentStore()
        self.done = AttachmentResult()

    def __call__(self, decision, urls: list[str]):
        from tthc.ingest.attachments import fetch_attachments

        result = fetch_attachments(self.session, decision, urls, self.http, self.store, fetched_at=self.window.end,
                                   source=self.source, as_of=self.window.as_of)
        self.done.merge(result)
        return result

    def finish(self, result) -> None:
        """Retry what is due, then put the persistent failures on the run's result."""
        from tthc.ingest.attachments import retry_due_attachments

        retried = retry_due_attachments(self.session, self.source, self.http, self.store,
                                        fetched_at=self.window.end, as_of=self.window.as_of)
        result.count_attachments(retried)
        self.done.merge(retried)
        result.attachment_alerts = self.done.persistent_failures()


def _tracked(source: str, window: RunWindow, work) -> dict[str, Any]:
    """Run one source's ingest in its own transaction; record its health in another one, so a failure
    is counted even though the ingest itself rolled back (the alert comes from the task's notifier).
    An incomplete run is recorded as a failed night, with its reason (see the module's docstring)."""
    from tthc.db.health import record_failure, record_success

    with session_scope() as session:
        result = work(session)
    with session_scope() as session:
        if result.incomplete_reason:
            record_failure(session, source, window.as_of, f"Đọc chưa hết nguồn, mốc giữ nguyên: "
                                                          f"{result.incomplete_reason}")
        else:
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
        fetcher = None if replay else _Attachments(session, http, window, SOURCE_NAME)
        result = ingest_portal(session, client, recorder, dept, window_end=window.publication_end,
                               run_time=window.end, settled_before=window.settled_before,
                               refresh_from=window.first_day if (full_refresh or replay) else None,
                               attachments=fetcher)
        if fetcher is not None:
            fetcher.finish(result)
        return result

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
        fetcher = None if replay else _Attachments(session, http, window, cfg.name)
        result = ingest_html_site(session, client, recorder, dept, window_end=window.as_of, run_time=window.end,
                                  refresh_from=window.first_day if (full_refresh or replay) else None,
                                  attachments=fetcher)
        if fetcher is not None:
            fetcher.finish(result)
        return result

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
