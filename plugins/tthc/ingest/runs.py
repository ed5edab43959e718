"""Ingest: store new ministry decisions and their procedures, incrementally, from each source.

Each source has a watermark advanced only after everything up to it is stored, in the same
transaction: a failed run leaves it where it was and the next run picks up the gap. Work is bounded by
the run's window (``window_end`` is exclusive and comes from the run's data interval, never the clock).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tthc.core.config import Department
from tthc.core.http import SnapshotRecorder
from tthc.core.text import clean, match_key, normalise_so_hieu
from tthc.db.models import (
    Decision,
    DecisionSource,
    Field,
    Procedure,
)
from tthc.ingest.sources.html_listing.client import HtmlListingClient
from tthc.ingest.sources.national_portal.client import PortalClient
from tthc.ingest.sources.national_portal.helpers import PortalDecision
from tthc.ingest.sources.national_portal.settings import DETAIL_PATH as PORTAL_DETAIL_PATH
from tthc.ingest.sources.national_portal.settings import PAGE_SIZE
from tthc.ingest.sources.national_portal.settings import SOURCE_NAME as PORTAL_SOURCE
from tthc.ingest.store import (
    add_source,
    get_watermark,
    set_watermark,
    store_snapshots,
    upsert_decision,
    upsert_item,
)

# (decision, attachment URLs) -> number of attachments stored; see tthc.ingest.attachments.fetch_attachments
AttachmentFetcher = Callable[[Decision, list[str]], int]



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
    watermark_before: str | None = None
    watermark_after: str | None = None
    so_hieu: list[str] = field(default_factory=list)


def _watched(dept: Department) -> set[str]:
    return {match_key(m) for m in dept.ministries}


# ---------------------------------------------------------------- national portal

def _position(value: str | None, dept: Department) -> tuple[date, int]:
    if not value:
        return (dept.ingest_start, 0)  # ids are positive: everything published on ingest_start is newer
    day, _, ident = value.partition("|")
    return (date.fromisoformat(day), int(ident or 0))


def ingest_portal(session: Session, client: PortalClient, recorder: SnapshotRecorder, dept: Department, *,
                  window_end: date, run_time: datetime, refresh_from: date | None = None,
                  attachments: AttachmentFetcher | None = None) -> IngestResult:
    """Page the decision list newest first down to the watermark; store what is new and watched.

    ``refresh_from`` (full refresh) ignores the watermark and re-reads everything published from that
    date up to the window's end; stored rows are upserted, the watermark never moves backwards.
    """
    result = IngestResult(PORTAL_SOURCE, watermark_before=get_watermark(session, PORTAL_SOURCE))
    mark = _position(result.watermark_before, dept) if refresh_from is None else (refresh_from, 0)
    fresh: dict[str, PortalDecision] = {}  # by id: a list shifting while we page yields no duplicate
    page = 1
    while True:
        rows = client.list_decisions(page)
        if not rows:
            break
        reached_mark = False
        for row in rows:
            if row.published >= window_end:
                continue  # published after this run's window: a later run takes it
            if row.position <= mark:
                reached_mark = True
                break
            fresh[row.id] = row
        if reached_mark or page * PAGE_SIZE >= rows[0].total:
            break
        page += 1

    field_by_portal_id = {f.portal_id: f.key for f in session.scalars(select(Field)) if f.portal_id}
    scope_fields = set(dept.fields)
    watched = _watched(dept)
    for row in sorted(fresh.values(), key=lambda r: r.position):
        result.decisions_seen += 1
        if match_key(row.agency_name) not in watched:
            result.skipped_agency += 1
            continue
        first_snapshot = len(recorder.snapshots)
        fields = client.decision_fields(row.id)
        field_keys = [field_by_portal_id.get(fid, clean(name)) for fid, name in fields]
        if fields and not scope_fields.intersection(field_keys):
            result.skipped_field += 1  # a watched ministry, but none of the department's fields
            continue
        detail = client.decision_page(row.id)
        items = client.decision_items(row.id)
        decision, created = upsert_decision(
            session, so_hieu=row.so_hieu, agency_name=row.agency_name, run_time=run_time,
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
                        field_key=single_field, external_id=item.id)
            result.items += 1
        snapshot_ids = store_snapshots(session, recorder)
        decision.snapshot_id = snapshot_ids[page_snapshot.content_hash]
        if attachments is not None and detail.attachments:
            result.attachments += attachments(decision, list(detail.attachments))

    store_snapshots(session, recorder)
    result.watermark_after = result.watermark_before
    if fresh:
        newest = max(fresh.values(), key=lambda r: r.position)
        if result.watermark_before is None or newest.position > _position(result.watermark_before, dept):
            result.watermark_after = f"{newest.published.isoformat()}|{newest.id}"
            set_watermark(session, PORTAL_SOURCE, result.watermark_after, window_end)
    result.requests = getattr(client, "requests_made", 0)
    return result


# ---------------------------------------------------------------- HTML listing sites (one YAML each)

def ingest_html_site(session: Session, client: HtmlListingClient, recorder: SnapshotRecorder, dept: Department,
                     *, window_end: date, run_time: datetime, refresh_from: date | None = None,
                     attachments: AttachmentFetcher | None = None) -> IngestResult:
    """Read a site's listing newest first down to its watermark (the signing date); for each decision
    that announces procedures (the site's filter) from a watched agency, read its page: dates, the
    annex (codes, levels, replaced procedures) and attachments. ``refresh_from`` as in
    :func:`ingest_portal`."""
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
    for row in client.listing():
        if row.signed is None or row.signed >= window_end:
            continue  # undated, or signed after this run's window: a later run takes it
        if row.signed < mark:
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
        detail = client.detail(row.detail_url) if row.detail_url and cfg.detail is not None else None
        agency = (detail.agency if detail and detail.agency else None) or row.agency or cfg.agency
        if not agency or match_key(agency) not in watched:
            result.skipped_agency += 1
            continue
        decision, created = upsert_decision(
            session, so_hieu=row.so_hieu, agency_name=agency, run_time=run_time, trich_yeu=row.trich_yeu,
            signed_date=row.signed, effective_date=row.effective or (detail.effective if detail else None),
        )
        if created:
            result.decisions_new += 1
            result.so_hieu.append(decision.so_hieu)
        add_source(session, decision, source, row.detail_url or row.so_hieu, row.detail_url)
        for item in detail.annex if detail else []:
            upsert_item(session, decision, name=item.name, change_type=item.change_type, code=item.code,
                        levels=item.levels, field_key=field_keys.get(match_key(item.field_name or "")),
                        replaces_code=item.replaces)
            result.items += 1
        snapshot_ids = store_snapshots(session, recorder)
        if decision.snapshot_id is None and len(recorder.snapshots) > first_snapshot:
            decision.snapshot_id = snapshot_ids[recorder.snapshots[first_snapshot].content_hash]
        if attachments is not None:
            links = [a.url for a in (detail.attachments if detail else row.attachments)]
            result.attachments += attachments(decision, links)
    store_snapshots(session, recorder)
    result.watermark_after = result.watermark_before
    if newest is not None and (result.watermark_before is None or newest.isoformat() > result.watermark_before):
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
