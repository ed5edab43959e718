"""Procedure details: each decision item's page on the national portal, read and kept as versions.

A decision's item rows on the portal carry the procedure's internal id and its name, not its code, nor
its substance. The procedure's public page has everything the province's annex needs (time limits, fees
and legal bases per channel, agencies, result, documents). :func:`fetch_procedure_details` (the
``fetch_procedure_details`` task of ``tthc_ingest``, after every source) reads, for each stored item (new,
amended, replacing, and abolished too: its page gives the code the matcher uses first):

* by its portal id, the full page (``dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html?ma_thu_tuc=<id>``), and the
  citizen page of its code for what the full page only loads with JavaScript (steps, requirements);
* without an id but with a code (items from the ministry sites), the citizen page by code, then the full
  page it links to; when the full page cannot be read, what the citizen page has (``layout`` ``citizen``,
  ``data["missing"]`` says what it lacks).

Each content version is stored once (:class:`~tthc.db.models.ProcedureDetails`, versioned by portal id,
compared on the parsed content, so a cosmetic page change makes no version) with its raw snapshot and the
fetch log (replay), tied to the catalogue procedure of the same code; the item is linked to it
(:class:`~tthc.db.models.ItemDetails`). Requests go through the sources' polite session: robots.txt, one
request per interval per host, conditional GET (a page not modified costs a 304), retries on 5xx.

One page failing never fails the step: the item's link records it (``failed``: network, HTTP or a changed
layout — the :class:`~tthc.core.http.LayoutChangedError` naming the selector; ``missing``: the portal has no
such procedure, "chưa có trên CSDL quốc gia") and it is tried again on a later run, with a backoff counted
in run dates (1, 2, 4, 8, 16, then every 30 days; given up after :data:`MAX_ATTEMPTS`). The run's failures
count in the source health of ``procedure_details`` (the digest lists them), and the links failing
:data:`ALERT_ATTEMPTS` times in a row are listed in the digest.

Drift without a decision: every run also re-reads up to :data:`REFRESH_PER_RUN` pages of catalogue
procedures (the least recently checked first). A new version that no decision about the procedure
explains (none dated on or after the previous version was read) is a ``drift`` in ``review``: the review
queue and the digest show it with a before/after diff until a person acknowledges it or a decision arrives.
A decision explains a new version when it is about the procedure (its portal id or code), is dated at most
:data:`LAG_DAYS` before the previous version was read, and no earlier version already follows it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import requests
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from tthc.core.http import DEFAULT_TIMEOUT, LayoutChangedError, Snapshot, SnapshotRecorder, SourceError
from tthc.db.models import Decision, DecisionItem, ItemDetails, Procedure, ProcedureDetails
from tthc.ingest.replay import ReplayMissError
from tthc.ingest.sources.national_portal.procedure_page import (
    ProcedureNotFoundError,
    ProcedurePage,
    citizen_url,
    complete_with_citizen,
    full_url,
    parse_procedure_page,
)
from tthc.ingest.store import store_snapshots

log = logging.getLogger(__name__)

SOURCE_NAME = "procedure_details"
# every item: an abolished procedure's page gives its code (the annex states no content for it)
DETAIL_CHANGES = ("new", "amended", "replaced", "abolished")
MAX_ITEMS_PER_RUN = 300
REFRESH_PER_RUN = 40
MAX_ATTEMPTS = 10
MAX_BACKOFF_DAYS = 30
ALERT_ATTEMPTS = 3
LAG_DAYS = 7  # a decision this many days before a page was read may not show on it yet


class PageFetchError(SourceError):
    """A procedure page could not be read (network or HTTP error); ``status`` when the server answered."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class DetailsResult:
    items_seen: int = 0
    linked: int = 0  # items linked to their details this run
    versions_new: int = 0
    drift: int = 0  # new versions no decision explains (to review)
    explained: int = 0  # drifts a later decision explained this run
    unchanged: int = 0
    missing: int = 0  # not on the national database
    failed: int = 0
    no_reference: int = 0  # neither a portal id nor a code
    refreshed: int = 0
    requests: int = 0
    persistent_failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failure_reason(self) -> str | None:
        if not self.failed:
            return None
        return f"{self.failed} trang thủ tục trên CSDL quốc gia chưa đọc được (sẽ thử lại ở lượt sau)"


def next_retry(as_of: date, attempts: int) -> date | None:
    """Run date of the next try after ``attempts`` failures in a row (None: given up)."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return as_of + timedelta(days=min(2 ** (attempts - 1), MAX_BACKOFF_DAYS))


def content_hash(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- the client


class ProcedurePageClient:
    """GETs procedure pages on the polite session, recording each answer as a snapshot; pages already
    read in this run are not asked for again."""

    def __init__(self, base_url: str, session: requests.Session, recorder: SnapshotRecorder) -> None:
        self.base_url = base_url.rstrip("/")
        self.session, self.recorder = session, recorder
        self.requests_made = 0
        self._seen: dict[str, tuple[ProcedurePage, Snapshot]] = {}

    def _get(self, url: str, what: str) -> tuple[ProcedurePage, Snapshot]:
        if url in self._seen:
            return self._seen[url]
        self.requests_made += 1
        try:
            response = self.session.request("GET", url, timeout=DEFAULT_TIMEOUT)
        except ReplayMissError:
            raise
        except requests.RequestException as exc:
            raise PageFetchError(f"{what}: {exc}") from exc
        if response.status_code == 404:
            raise ProcedureNotFoundError(f"{what}: HTTP 404")
        if response.status_code != 200:
            raise PageFetchError(f"{what}: HTTP {response.status_code}", response.status_code)
        snap = self.recorder.record(url, None, response)
        page = parse_procedure_page(response.content, url)
        self._seen[url] = (page, snap)
        return page, snap

    def by_id(self, portal_id: str) -> tuple[ProcedurePage, Snapshot, str]:
        """The full page; its steps and requirements (loaded by JavaScript on the portal, so empty in its
        HTML) from the citizen page of its code."""
        url = full_url(self.base_url, portal_id)
        page, snap = self._get(url, f"national portal procedure {portal_id}")
        if page.layout == "full" and page.code and not (page.steps and page.requirements):
            try:
                citizen, _ = self._get(citizen_url(self.base_url, page.code), f"national portal procedure {page.code}")
            except (SourceError, ReplayMissError) as exc:
                log.warning("procedure %s: citizen page unreadable, steps and requirements left empty (%s)",
                            page.code, exc)
            else:
                page = complete_with_citizen(page, citizen)
        return page, snap, url

    def by_code(self, code: str) -> tuple[ProcedurePage, Snapshot, str]:
        """The citizen page by code, then the full page it links to (the citizen page when that fails)."""
        url = citizen_url(self.base_url, code)
        page, snap = self._get(url, f"national portal procedure {code}")
        if page.layout == "citizen" and page.portal_id:
            try:
                return self.by_id(page.portal_id)
            except (SourceError, ReplayMissError) as exc:
                log.warning("procedure %s: full page unreadable, keeping the citizen page (%s)", code, exc)
        return page, snap, url


# ---------------------------------------------------------------- storing versions


def latest_version(session: Session, portal_id: str) -> ProcedureDetails | None:
    return session.scalars(select(ProcedureDetails).where(ProcedureDetails.portal_id == portal_id)
                           .order_by(ProcedureDetails.version.desc())).first()


def _explaining_decision(session: Session, portal_id: str, code: str | None, since: date) -> Decision | None:
    """A decision about this procedure dated no more than :data:`LAG_DAYS` before ``since`` (the day the
    previous version was read: the portal may update a page some days after the decision reaches us) that
    no earlier version of it already follows."""
    match = [DecisionItem.external_id == portal_id]
    if code:
        match.append(DecisionItem.code == code)
    used = select(ProcedureDetails.decision_id).where(ProcedureDetails.portal_id == portal_id,
                                                      ProcedureDetails.decision_id.is_not(None))
    day = func.coalesce(Decision.published_date, Decision.signed_date)
    return session.scalars(select(Decision).join(DecisionItem, DecisionItem.decision_id == Decision.id)
                           .where(or_(*match), day >= since - timedelta(days=LAG_DAYS), Decision.id.not_in(used))
                           .order_by(day.desc(), Decision.id.desc())).first()


def store_page(session: Session, page: ProcedurePage, url: str, snapshot_id: int | None, raw_hash: str,
               as_of: date, item: DecisionItem | None = None) -> tuple[ProcedureDetails, str]:
    """Store ``page`` as the procedure's current version. Returns the version and what happened:
    ``first``, ``decision``, ``drift`` (new versions), ``unchanged``, ``reparsed`` (updated in place: the
    same page bytes parsed differently after a parser fix, or the full page completing a citizen one) or
    ``partial`` (a citizen page after a full one: not a new version)."""
    data = page.as_data()
    digest = content_hash(data)
    portal_id = page.portal_id or f"ma:{page.code}"
    latest = latest_version(session, portal_id)
    proc_id = session.scalar(select(Procedure.id).where(Procedure.code == page.code)) if page.code else None
    if latest is not None:
        latest.procedure_id = latest.procedure_id or proc_id
        if latest.content_hash == digest:
            latest.checked_for, latest.snapshot_id = as_of, snapshot_id or latest.snapshot_id
            return latest, "unchanged"
        if latest.layout == "full" and page.layout == "citizen":
            latest.checked_for = as_of
            return latest, "partial"
        same_bytes = latest.snapshot_id is not None and _snapshot_hash(session, latest.snapshot_id) == raw_hash
        if same_bytes or (latest.layout == "citizen" and page.layout == "full"):
            # a parser fix (the same bytes), or the full page completing a citizen one: the same version
            _fill(latest, page, data, digest)
            latest.checked_for, latest.url = as_of, url
            latest.snapshot_id = snapshot_id or latest.snapshot_id
            return latest, "reparsed"
    row = ProcedureDetails(portal_id=portal_id, version=(latest.version + 1) if latest else 1, url=url,
                           snapshot_id=snapshot_id, procedure_id=proc_id, fetched_for=as_of, checked_for=as_of)
    _fill(row, page, data, digest)
    if latest is None:
        row.change, row.decision_id = "first", item.decision_id if item is not None else None
    elif (decision := _explaining_decision(session, portal_id, page.code or latest.code, latest.fetched_for)):
        row.change, row.decision_id = "decision", decision.id
    else:
        row.change, row.drift_status = "drift", "review"
    session.add(row)
    session.flush()
    return row, row.change


def _snapshot_hash(session: Session, snapshot_id: int) -> str | None:
    from tthc.db.models import RawSnapshot

    return session.scalar(select(RawSnapshot.content_hash).where(RawSnapshot.id == snapshot_id))


def _fill(row: ProcedureDetails, page: ProcedurePage, data: dict[str, Any], digest: str) -> None:
    row.code, row.name, row.layout = page.code, page.name, page.layout
    row.levels = ",".join(page.levels)
    row.data, row.content_hash = data, digest


def explain_drifts(session: Session) -> int:
    """Drifts waiting for review that a decision now explains (it arrived after the change was seen)."""
    n = 0
    for row in session.scalars(select(ProcedureDetails).where(ProcedureDetails.drift_status == "review")):
        previous = session.scalar(select(ProcedureDetails).where(ProcedureDetails.portal_id == row.portal_id,
                                                                 ProcedureDetails.version == row.version - 1))
        since = previous.fetched_for if previous is not None else row.fetched_for
        decision = _explaining_decision(session, row.portal_id, row.code, since)
        if decision is not None:
            row.drift_status, row.decision_id = "explained", decision.id
            n += 1
    return n


# ---------------------------------------------------------------- the step


def _due_items(session: Session, as_of: date, limit: int, replay: bool) -> list[tuple[DecisionItem, ItemDetails | None]]:
    stmt = (select(DecisionItem, ItemDetails).outerjoin(ItemDetails, ItemDetails.item_id == DecisionItem.id)
            .where(DecisionItem.change_type.in_(DETAIL_CHANGES)).order_by(DecisionItem.id))
    if not replay:
        referenced = DecisionItem.external_id.is_not(None) | DecisionItem.code.is_not(None)
        stmt = stmt.where(or_(ItemDetails.id.is_(None),
                              (ItemDetails.status == "no_reference") & referenced,  # a later source gave a code
                              ItemDetails.status.in_(("failed", "missing")) & ItemDetails.next_retry_for.is_not(None)
                              & (ItemDetails.next_retry_for <= as_of)))
    return list(session.execute(stmt.limit(limit)).tuples())


def _read(client: ProcedurePageClient, item: DecisionItem) -> tuple[ProcedurePage, Snapshot, str] | None:
    portal_id = (item.external_id or "").strip()
    if portal_id.isdigit():
        return client.by_id(portal_id)
    if item.code:
        return client.by_code(item.code)
    return None


def _link(session: Session, item: DecisionItem, link: ItemDetails | None, as_of: date) -> ItemDetails:
    if link is None:
        link = ItemDetails(item_id=item.id, status="no_reference", attempts=0, checked_for=as_of)
        session.add(link)
    link.checked_for = as_of
    return link


def _failure(link: ItemDetails, status: str, exc: Exception, item: DecisionItem, as_of: date) -> None:
    link.status = status
    link.attempts = (link.attempts or 0) + 1
    link.http_status = getattr(exc, "status", None)
    link.error = f"{SOURCE_NAME}: item «{item.name}» of decision {item.decision.so_hieu}: {exc}"[:2000]
    link.next_retry_for = next_retry(as_of, link.attempts)


def fetch_procedure_details(session: Session, client: ProcedurePageClient, recorder: SnapshotRecorder, *,
                            as_of: date, replay: bool = False, max_items: int = MAX_ITEMS_PER_RUN,
                            refresh: int = REFRESH_PER_RUN) -> DetailsResult:
    """Read the details of the items that need them, then re-read ``refresh`` catalogue procedures (see
    the module docstring). ``replay``: every item again, from the stored snapshots only (no failure is
    recorded, nothing refreshed). Rows are flushed, not committed."""
    result = DetailsResult()
    result.explained += explain_drifts(session)
    for item, link in _due_items(session, as_of, max_items, replay):
        result.items_seen += 1
        try:
            got = _read(client, item)
        except ReplayMissError:
            continue  # replay: this page was never fetched
        except ProcedureNotFoundError as exc:
            if not replay:
                link = _link(session, item, link, as_of)
                _failure(link, "missing", exc, item, as_of)
                result.missing += 1
            continue
        except (SourceError, LayoutChangedError) as exc:
            if not replay:
                link = _link(session, item, link, as_of)
                _failure(link, "failed", exc, item, as_of)
                result.failed += 1
                log.warning("%s", link.error)
            continue
        link = _link(session, item, link, as_of)
        if got is None:
            link.status, link.details_id, link.error = "no_reference", None, None
            result.no_reference += 1
            continue
        page, snap, url = got
        ids = store_snapshots(session, recorder)
        row, outcome = store_page(session, page, url, ids.get(snap.content_hash), snap.content_hash, as_of, item)
        _count(result, outcome)
        link.status, link.details_id, link.attempts, link.next_retry_for = "fetched", row.id, 0, None
        link.error = link.http_status = None
        result.linked += 1
    if not replay and refresh > 0:
        _refresh(session, client, recorder, as_of, refresh, result)
    store_snapshots(session, recorder)
    session.flush()
    result.requests = client.requests_made
    result.persistent_failures = persistent_failures(session)
    return result


def _count(result: DetailsResult, outcome: str) -> None:
    if outcome in ("first", "decision", "drift"):
        result.versions_new += 1
    if outcome == "drift":
        result.drift += 1
    if outcome == "unchanged":
        result.unchanged += 1


def _refresh(session: Session, client: ProcedurePageClient, recorder: SnapshotRecorder, as_of: date, limit: int,
             result: DetailsResult) -> None:
    """Re-read the least recently checked pages of catalogue procedures (conditional GET)."""
    newest = (select(ProcedureDetails.portal_id, func.max(ProcedureDetails.version).label("v"))
              .group_by(ProcedureDetails.portal_id).subquery())
    rows = session.scalars(
        select(ProcedureDetails).join(newest, (newest.c.portal_id == ProcedureDetails.portal_id)
                                      & (newest.c.v == ProcedureDetails.version))
        .where(ProcedureDetails.procedure_id.is_not(None), ProcedureDetails.checked_for < as_of,
               ProcedureDetails.portal_id.not_like("ma:%"))
        .order_by(ProcedureDetails.checked_for, ProcedureDetails.id).limit(limit)).all()
    for latest in rows:
        try:
            page, snap, url = client.by_id(latest.portal_id)
        except (SourceError, LayoutChangedError) as exc:  # the item links keep failures; a refresh just waits
            log.warning("%s: refresh of procedure %s failed: %s", SOURCE_NAME, latest.portal_id, exc)
            result.failed += 1
            continue
        ids = store_snapshots(session, recorder)
        _, outcome = store_page(session, page, url, ids.get(snap.content_hash), snap.content_hash, as_of)
        _count(result, outcome)
        result.refreshed += 1


def persistent_failures(session: Session) -> list[dict[str, Any]]:
    """Items whose details failed :data:`ALERT_ATTEMPTS` times or more in a row (JSON-able)."""
    rows = session.scalars(select(ItemDetails).where(ItemDetails.status == "failed",
                                                     ItemDetails.attempts >= ALERT_ATTEMPTS)
                           .order_by(ItemDetails.id)).all()
    return [{"item": r.item.name, "decision": r.item.decision.so_hieu, "attempts": r.attempts, "error": r.error,
             "next_retry_for": r.next_retry_for.isoformat() if r.next_retry_for else None} for r in rows]
