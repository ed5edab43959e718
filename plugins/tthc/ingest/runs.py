"""Ingest: store new ministry decisions and their procedures, incrementally, from each source.

Each source has a watermark advanced only after everything up to it is stored, in the same
transaction: a failed run leaves it where it was and the next run picks up the gap. Work is bounded by
the run's window (``window_end`` is exclusive and comes from the run's data interval, never the clock).

Completeness before the watermark moves: a run advances it only when it provably read down to the
previous watermark (or the source's start date), or to the proven end of the source's list. A run that
stops short — ``max_pages`` or a hard cap reached, a page cut short or without its pager, a page
repeating an earlier one, the portal's ``AMOUNT`` missing, a decision's page or items that cannot be read
in full — stores what it read, keeps the watermark and says why in ``IngestResult.incomplete_reason``
(and the log); the next run reads again from the old watermark (upserts: nothing twice).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tthc.catalogue.listings import upsert_listing
from tthc.core.config import Department
from tthc.core.http import IncompleteAnswerError, SnapshotRecorder
from tthc.core.text import clean, match_key, normalise_so_hieu
from tthc.db.models import (
    Decision,
    DecisionSource,
    Field,
    Procedure,
)
from tthc.ingest.sources.html_listing.client import HtmlListingClient
from tthc.ingest.sources.national_portal import settings as portal_settings
from tthc.ingest.sources.national_portal.client import PortalClient
from tthc.ingest.sources.national_portal.helpers import PortalDecision
from tthc.ingest.sources.national_portal.settings import DETAIL_PATH as PORTAL_DETAIL_PATH
from tthc.ingest.sources.national_portal.settings import PAGE_SIZE  # noqa: F401 - tests patch it here
from tthc.ingest.sources.national_portal.settings import SOURCE_NAME as PORTAL_SOURCE
from tthc.ingest.store import (
    add_source,
    get_watermark,
    set_watermark,
    store_snapshots,
    upsert_decision,
    upsert_item,
)

log = logging.getLogger(__name__)

# (decision, attachment URLs) -> what was fetched: an int (attachments stored), or an object with
# ``counts`` and ``tried`` (tthc.ingest.attachments.AttachmentResult); see tasks._Attachments
AttachmentFetcher = Callable[[Decision, list[str]], Any]


@dataclass
class IngestResult:
    source: str
    decisions_new: int = 0
    decisions_seen: int = 0
    items: int = 0
    requests: int = 0
    skipped_agency: int = 0
    skipped_field: int = 0
    attachments: int = 0
    attachments_failed: int = 0  # downloads that failed this run (recorded, retried on later runs)
    watermark_before: str | None = None
    watermark_after: str | None = None
    so_hieu: list[str] = field(default_factory=list)
    # why the run could not prove it read everything down to the watermark (None: it did); the
    # watermark was kept, what was read is stored
    incomplete_reason: str | None = None
    # persistent download failures seen this run (AttachmentResult.persistent_failures), for the ops alert
    attachment_alerts: list[dict[str, Any]] = field(default_factory=list)

    def incomplete(self, reason: str) -> None:
        """Note why the run is incomplete (the first reason wins; later ones are logged)."""
        log.warning("%s: incomplete run: %s", self.source, reason)
        if self.incomplete_reason is None:
            self.incomplete_reason = reason

    def count_attachments(self, fetched: Any) -> None:
        if isinstance(fetched, int):
            self.attachments += fetched
            return
        self.attachments += fetched.counts.get("stored", 0)
        self.attachments_failed += sum(1 for a in fetched.tried if a.status == "fetch_failed")


def _watched(dept: Department) -> set[str]:
    return {match_key(m) for m in dept.ministries}


# ---------------------------------------------------------------- national portal

def watermark_position(value: str | None, dept: Department) -> tuple[date, int]:
    """The national portal's watermark (``"yyyy-mm-dd|id"``) as a list position; none: ``ingest_start``."""
    if not value:
        return (dept.ingest_start, 0)  # ids are positive: everything published on ingest_start is newer
    day, _, ident = value.partition("|")
    return (date.fromisoformat(day), int(ident or 0))


def _read_portal_list(client: PortalClient, mark: tuple[date, int], window_end: date
                      ) -> tuple[dict[str, PortalDecision], str | None]:
    """Page the decision list newest first down to ``mark``: (the decisions above it by id, None when the
    list was provably read down to the mark or to its end, else why not)."""
    fresh: dict[str, PortalDecision] = {}  # by id: a list shifting while we page yields no duplicate
    seen: dict[tuple[str, ...], int] = {}
    read = 0
    cap = portal_settings.MAX_LIST_PAGES
    for page in range(1, cap + 2):
        if page > cap:
            return fresh, (f"{PORTAL_SOURCE}: {cap} pages of the decision list read (settings.MAX_LIST_PAGES) "
                           "without reaching the watermark")
        rows = client.list_decisions(page)
        if not rows:
            if page == 1:
                return fresh, None  # nothing published at all
            return fresh, f"{PORTAL_SOURCE}: page {page} of the decision list is empty after {read} of its rows"
        key = tuple(r.id for r in rows)
        if key in seen:
            return fresh, (f"{PORTAL_SOURCE}: page {page} of the decision list repeats page {seen[key]} "
                           "(pageIndex ignored?)")
        seen[key] = page
        read += len(rows)
        for row in rows:
            if row.published >= window_end:
                continue  # published after this run's window: a later run takes it
            if row.position <= mark:
                return fresh, None  # down to the watermark
            fresh[row.id] = row
        total = rows[0].total
        if total is None or total < len(rows):
            return fresh, (f"{PORTAL_SOURCE}: AMOUNT missing or unreadable on page {page} of the decision list "
                           f"({rows[0].total!r}): cannot tell whether more pages follow")
        if read >= total:
            return fresh, None  # the end of the list
    raise AssertionError("unreachable")  # pragma: no cover


def ingest_portal(session: Session, client: PortalClient, recorder: SnapshotRecorder, dept: Department, *,
                  window_end: date, run_time: datetime, refresh_from: date | None = None,
                  attachments: AttachmentFetcher | None = None, settled_before: date | None = None) -> IngestResult:
    """Page the decision list newest first down to the watermark; store what is new and watched.

    ``settled_before`` (a run the watcher started during the day, whose ``window_end`` includes today):
    only rows published before it may move the watermark. The portal orders a day's rows by số hiệu, not
    by id, so a decision published later today may carry a lower id than one read now; a watermark inside
    today would hide it. A row already stored from the portal (its id among the decision's sources) is
    not read again unless ``refresh_from``: the nightly run re-reads the day the watcher read, for the
    rows it did not store, at the cost of one list page.

    ``refresh_from`` (full refresh) ignores the watermark and re-reads everything published from that
    date up to the window's end; stored rows are upserted, the watermark never moves backwards. A
    decision whose page or items cannot be read in full (:class:`IncompleteAnswerError`) is not stored
    and makes the run incomplete.
    """
    result = IngestResult(PORTAL_SOURCE, watermark_before=get_watermark(session, PORTAL_SOURCE))
    mark = watermark_position(result.watermark_before, dept) if refresh_from is None else (refresh_from, 0)
    fresh, reason = _read_portal_list(client, mark, window_end)
    if reason is not None:
        result.incomplete(reason)

    field_by_portal_id = {f.portal_id: f.key for f in session.scalars(select(Field)) if f.portal_id}
    scope_fields = set(dept.fields)
    watched = _watched(dept)
    for row in sorted(fresh.values(), key=lambda r: r.position):
        result.decisions_seen += 1
        # every row as the list shows it, whoever published it (no request more): the provinces' own
        # decisions are what publication verification and the province comparison read
        upsert_listing(session, portal_id=row.id, so_hieu=row.so_hieu, trich_yeu=row.trich_yeu,
                       agency_name=row.agency_name, agency_portal_id=row.agency_id, published=row.published,
                       seen_for=window_end)
        if match_key(row.agency_name) not in watched:
            result.skipped_agency += 1
            continue
        if refresh_from is None and _already_read(session, PORTAL_SOURCE, row.id):
            continue  # stored by an earlier run (the watcher's, during the day)
        first_snapshot = len(recorder.snapshots)
        fields = client.decision_fields(row.id)
        field_keys = [field_by_portal_id.get(fid, clean(name)) for fid, name in fields]
        if fields and not scope_fields.intersection(field_keys):
            result.skipped_field += 1  # a watched ministry, but none of the department's fields
            continue
        try:
            detail = client.decision_page(row.id)
            items = client.decision_items(row.id)
        except IncompleteAnswerError as exc:
            result.incomplete(str(exc))
            continue
        decision, created = upsert_decision(
            session, so_hieu=row.so_hieu, agency_name=row.agency_name, run_time=run_time, source=PORTAL_SOURCE,
            so_hieu_key=normalise_so_hieu(row.so_hieu), trich_yeu=row.trich_yeu,
            agency_portal_id=row.agency_id, published_date=row.published, signed_date=detail.signed,
            field_keys=",".join(field_keys),
        )
        if created:
            decision.so_hieu = normalise_so_hieu(row.so_hieu)
            result.decisions_new += 1
            result.so_hieu.append(decision.so_hieu)
        page_snapshot = next(x for x in recorder.snapshots[first_snapshot:] if PORTAL_DETAIL_PATH in x.url)
        add_source(session, decision, PORTAL_SOURCE, row.id, page_snapshot.url)
        single_field = field_keys[0] if len(field_keys) == 1 else None
        for item in items:
            upsert_item(session, decision, name=item.name, change_type=item.change_type,
                        field_key=single_field, external_id=item.id, source=PORTAL_SOURCE)
            result.items += 1
        snapshot_ids = store_snapshots(session, recorder)
        decision.snapshot_id = snapshot_ids[page_snapshot.content_hash]
        if attachments is not None and detail.attachments:
            result.count_attachments(attachments(decision, list(detail.attachments)))

    store_snapshots(session, recorder)
    result.watermark_after = result.watermark_before
    settled = [r for r in fresh.values() if settled_before is None or r.published < settled_before]
    if settled and result.incomplete_reason is None:
        newest = max(settled, key=lambda r: r.position)
        if result.watermark_before is None or newest.position > watermark_position(result.watermark_before, dept):
            result.watermark_after = f"{newest.published.isoformat()}|{newest.id}"
            set_watermark(session, PORTAL_SOURCE, result.watermark_after, settled_before or window_end)
    result.requests = getattr(client, "requests_made", 0)
    return result


# ---------------------------------------------------------------- HTML listing sites (one YAML each)

def ingest_html_site(session: Session, client: HtmlListingClient, recorder: SnapshotRecorder, dept: Department,
                     *, window_end: date, run_time: datetime, refresh_from: date | None = None,
                     attachments: AttachmentFetcher | None = None) -> IngestResult:
    """Read a site's listing newest first down to its watermark (the signing date); for each decision
    that announces procedures (the site's filter) from a watched agency, read its page: dates, the
    annex (codes, levels, replaced procedures) and attachments. ``refresh_from`` as in
    :func:`ingest_portal`. The watermark moves only when the listing was read down to a row older than
    it, or to the listing's proven end (``client.incomplete_reason`` says why not)."""
    cfg = client.cfg
    source = cfg.name
    result = IngestResult(source, watermark_before=get_watermark(session, source))
    if refresh_from is not None:
        mark = refresh_from
    else:
        mark = date.fromisoformat(result.watermark_before) if result.watermark_before else dept.ingest_start
    watched = _watched(dept)
    newest: date | None = None
    field_keys = _field_keys_by_name(session)
    reached_mark = False
    for row in client.listing():
        if row.signed is None or row.signed >= window_end:
            continue  # undated, or signed after this run's window: a later run takes it
        if row.signed < mark:
            reached_mark = True
            break
        newest = max(newest or row.signed, row.signed)
        if not row.matches_filter:
            continue  # not a decision announcing procedures
        if row.agency and match_key(row.agency) not in watched:
            result.skipped_agency += 1
            continue
        if refresh_from is None and row.signed == mark and _already_read(session, source, row.detail_url):
            continue  # the watermark day itself: re-read only what was not stored yet
        result.decisions_seen += 1
        first_snapshot = len(recorder.snapshots)
        try:
            detail = client.detail(row.detail_url) if row.detail_url and cfg.detail is not None else None
        except IncompleteAnswerError as exc:
            result.incomplete(str(exc))
            continue
        agency = (detail.agency if detail and detail.agency else None) or row.agency or cfg.agency
        if not agency or match_key(agency) not in watched:
            result.skipped_agency += 1
            continue
        decision, created = upsert_decision(
            session, so_hieu=row.so_hieu, agency_name=agency, run_time=run_time, trich_yeu=row.trich_yeu,
            signed_date=row.signed, effective_date=row.effective or (detail.effective if detail else None),
            source=source,
        )
        if created:
            result.decisions_new += 1
            result.so_hieu.append(decision.so_hieu)
        add_source(session, decision, source, row.detail_url or row.so_hieu, row.detail_url)
        for item in detail.annex if detail else []:
            upsert_item(session, decision, name=item.name, change_type=item.change_type, code=item.code,
                        levels=item.levels, field_key=field_keys.get(match_key(item.field_name or "")),
                        replaces_code=item.replaces, source=source)
            result.items += 1
        snapshot_ids = store_snapshots(session, recorder)
        if decision.snapshot_id is None and len(recorder.snapshots) > first_snapshot:
            decision.snapshot_id = snapshot_ids[recorder.snapshots[first_snapshot].content_hash]
        if attachments is not None:
            links = [a.url for a in (detail.attachments if detail else row.attachments)]
            result.count_attachments(attachments(decision, links))
    if not reached_mark and (reason := getattr(client, "incomplete_reason", None)):
        result.incomplete(reason)
    store_snapshots(session, recorder)
    result.watermark_after = result.watermark_before
    if (newest is not None and result.incomplete_reason is None
            and (result.watermark_before is None or newest.isoformat() > result.watermark_before)):
        result.watermark_after = newest.isoformat()
        set_watermark(session, source, result.watermark_after, window_end)
    result.requests = client.requests_made
    return result


def _already_read(session: Session, source: str, external_id: str | None) -> bool:
    return external_id is not None and session.scalar(
        select(DecisionSource.id).where(DecisionSource.source == source, DecisionSource.external_id == external_id)
    ) is not None


def _field_keys_by_name(session: Session) -> dict[str, str]:
    return {match_key(f.name): f.key for f in session.scalars(select(Field))}


def known_levels(session: Session, code: str | None, name_key: str) -> list[str]:
    """Levels of a procedure from the catalogue, by code then by name."""
    proc = None
    if code:
        proc = session.scalar(select(Procedure).where(Procedure.code == code))
    if proc is None:
        proc = session.scalars(select(Procedure).where(Procedure.name_key == name_key)).first()
    return proc.level_list if proc else []
