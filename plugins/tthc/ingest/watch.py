"""The portal watcher's check: is there a decision on the first page of the national decision list that
the pipeline has not stored yet, from an agency the department watches, newer than the watermark?

Run by :class:`tthc.dag_support.watch.PortalWatchTrigger` in the triggerer, every ``poll_seconds``
(in a thread: this module is synchronous). One poll is **one request per watched ministry** (one for
this department): the first page of ``decision_publishment_advanced_search_service_v2`` filtered on the
ministry (``agency_id``, the search form's agency filter: the provinces' decisions, most of the list,
cannot push a new ministry decision off the page), ``FILTERED_PAGE_SIZE`` rows. The agencies' ids come
from ``get_list_agency_service_v2``, asked once when the watcher starts (the captured answers give
Bộ Khoa học và Công nghệ the same id, 734, in both lists); a watched name that list does not know makes
the poll read the unfiltered first page (``page_size`` rows) instead. No conditional
request: the list is a ``POST`` to ``rest.jsp`` and the real portal's answers carry no validator (the
captured answers in the shared reference material are bare JSON arrays; a ``POST`` answer is not
revalidated in HTTP, RFC 9110 §15.4.5 defines 304 for GET and HEAD only), so the sandbox ignores
``If-None-Match`` / ``If-Modified-Since`` there too.

What is compared lives in the catalogue database, never only in the trigger: the national portal's
watermark (``watermarks``) and the portal ids already stored (``decision_sources``). A restarted
triggerer therefore asks the same question and gets the same answer; the only memory kept in the
process is the ids already announced by this trigger (``announced``), so that a decision the ingest reads
but does not store (a watched ministry, another field) is announced once per triggerer start, not on
every poll. A repeated announcement costs one idempotent ingest run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tthc.core.config import Department, get_endpoint, load_department
from tthc.core.http import make_session
from tthc.core.text import match_key
from tthc.db.models import DecisionSource
from tthc.ingest.runs import watermark_position
from tthc.ingest.sources.national_portal.client import HttpPortalClient, PortalClient
from tthc.ingest.sources.national_portal.helpers import PortalDecision
from tthc.ingest.sources.national_portal.settings import PAGE_SIZE, SOURCE_NAME
from tthc.ingest.store import get_watermark


def unseen_decisions(session: Session, rows: Iterable[PortalDecision], dept: Department) -> list[PortalDecision]:
    """The rows of watched agencies above the stored watermark whose portal id is not stored yet."""
    mark = watermark_position(get_watermark(session, SOURCE_NAME), dept)
    watched = {match_key(m) for m in dept.ministries}
    candidates = [r for r in rows if match_key(r.agency_name) in watched and r.position > mark]
    if not candidates:
        return []
    stored = set(session.scalars(select(DecisionSource.external_id).where(
        DecisionSource.source == SOURCE_NAME, DecisionSource.external_id.in_([r.id for r in candidates]))))
    return [r for r in candidates if r.id not in stored]


def event_payload(found: list[PortalDecision], detected_at: datetime) -> dict[str, Any]:
    """What the trigger's event carries (JSON): the poll's time (the ingest's window ends there) and the
    decisions seen, newest first."""
    return {
        "source": SOURCE_NAME,
        "detected_at": detected_at.isoformat(),
        "decisions": [{"id": r.id, "so_hieu": r.so_hieu, "agency": r.agency_name,
                       "published": r.published.isoformat()} for r in sorted(found, key=lambda r: r.position,
                                                                               reverse=True)],
    }


FILTERED_PAGE_SIZE = 10  # one ministry publishes a few decisions a week


@dataclass
class Watcher:
    """One trigger's polling state: the HTTP session (robots.txt read once) and the ids it announced."""

    conn_id: str = "tthc_portal"
    page_size: int = PAGE_SIZE
    base_url: str | None = None  # None: the Connection ``conn_id`` (tthc.core.config.get_endpoint)
    db_url: str | None = None
    announced: set[str] = field(default_factory=set)
    polls: int = 0
    client: PortalClient | None = None
    agency_ids: dict[str, str] | None = None  # watched ministry (match_key) → the portal's agency id

    def _rows(self, client: PortalClient, dept: Department) -> list[PortalDecision]:
        """The first page of each watched ministry's decisions, or of the whole list when one of them is
        not in the portal's agency list."""
        watched = {match_key(m) for m in dept.ministries}
        if self.agency_ids is None:
            self.agency_ids = {match_key(name): aid for aid, name in client.agencies() if match_key(name) in watched}
        if not watched or not watched <= set(self.agency_ids):
            return client.list_decisions(1, self.page_size)
        return [row for aid in sorted({self.agency_ids[w] for w in watched})
                for row in client.list_decisions(1, FILTERED_PAGE_SIZE, agency_id=aid)]

    def _client(self) -> PortalClient:
        if self.client is None:
            # one try: a failed poll is retried by the next poll, the nightly run is the safety net
            session = make_session(retries=0)
            self.client = HttpPortalClient(self.base_url or get_endpoint(self.conn_id).base_url, session=session)
        return self.client

    def poll(self, now: datetime) -> dict[str, Any] | None:
        """One poll at ``now`` (the caller's clock, the triggerer's): the event payload, or None when
        nothing new. Raises what the portal or the database raise (the caller logs and polls again)."""
        from tthc.db.session import session_scope

        self.polls += 1
        dept = load_department()
        rows = self._rows(self._client(), dept)
        with session_scope(self.db_url) as session:
            found = [r for r in unseen_decisions(session, rows, dept) if r.id not in self.announced]
        if not found:
            return None
        self.announced.update(r.id for r in found)
        return event_payload(found, now)
