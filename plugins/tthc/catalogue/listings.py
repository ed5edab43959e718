"""The national decision list as read (every agency's rows), shared by the stages that read it: the ingest
stores each row it pages through, publication verification (sync) looks for the province's own decision
there, and the province comparison (reports) reads the other provinces' rows.

A row is keyed by the portal's ``ID``; storing it again updates what the list says now (a corrected CODE or
trích yếu) and keeps the procedure groups once read.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tthc.core.text import clean, match_key, normalise_so_hieu
from tthc.db.models import Announcement, PortalListing

# a province's decision is listed after it is signed, and within this many days (a decision number
# restarts every year: a listing further away is another decision with the same number)
OWN_LISTING_MAX_DAYS = 366


def upsert_listing(session: Session, *, portal_id: str, so_hieu: str, trich_yeu: str, agency_name: str,
                   agency_portal_id: str | None, published: date, seen_for: date,
                   groups: dict[str, list[str]] | None = None) -> PortalListing:
    """Store one row of the list (by the portal's ID); ``groups`` only replaces stored groups when given."""
    row = session.scalar(select(PortalListing).where(PortalListing.portal_id == portal_id))
    if row is None:
        row = PortalListing(portal_id=portal_id, seen_for=seen_for)
        session.add(row)
    row.so_hieu, row.so_hieu_key = clean(so_hieu)[:255], normalise_so_hieu(so_hieu)[:255]
    row.trich_yeu, row.agency_name = clean(trich_yeu), clean(agency_name)[:255]
    row.agency_portal_id, row.published_date = agency_portal_id, published
    if groups is not None:
        row.groups = {k: list(v) for k, v in groups.items()}
    session.flush()
    return row


def is_agency(name: str | None, agency: str) -> bool:
    """Whether the list's AGENCY_NAME ``name`` is ``agency`` (case, spacing and accent placement aside)."""
    return bool(name) and match_key(name) == match_key(agency)


def own_listing(session: Session, ann: Announcement, agency: str, before: date) -> PortalListing | None:
    """The list's row of the approved announcement ``ann``: its số hiệu under the province's ``agency``,
    published on or after its signing date (within a year) and before ``before`` (the run's date).
    The earliest such row when the list holds it twice."""
    if not ann.so_hieu or ann.signed_date is None:
        return None
    key = normalise_so_hieu(ann.so_hieu)
    rows = session.scalars(select(PortalListing).where(
        PortalListing.so_hieu_key == key, PortalListing.published_date >= ann.signed_date,
        PortalListing.published_date < before,
        PortalListing.published_date <= ann.signed_date + timedelta(days=OWN_LISTING_MAX_DAYS),
    ).order_by(PortalListing.published_date, PortalListing.id))
    return next((r for r in rows if is_agency(r.agency_name, agency)), None)
