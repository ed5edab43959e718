"""Publication verified on the national CSDL: read back from the national decision list, not our own push.

After an approval, the province's decision (the số hiệu the official typed, under the province's People's
Committee, ``Department.province_agency``) should appear in the national portal's decision list — the list
the ingest reads — once the province's office has entered it in the national database. Each run:

- takes the approved announcements not yet verified and signed on or before the run's date;
- when there are any, reads the list filtered by the province's agency (``agency_id``; one request for the
  first page, more only while rows are still newer than the oldest signing date), newest first, and stores
  its rows (:mod:`tthc.catalogue.listings`, the same table the ingest fills);
- looks for each announcement's row there (its số hiệu normalised, published from its signing date and
  before the run's date); when found, reads the decision's procedure groups (new / amended / abolished),
  compares them with what was approved (procedure names by ``text.match_key``) and marks the
  announcement verified ("đã công khai trên CSDL quốc gia") with the list's publishing date and the
  discrepancies: approved but absent there (``missing``), listed there but not approved (``extra``);
- otherwise records it as waiting, ``due`` the working day (signing date + ``csdl_verify_working_days``)
  from which the nightly digest warns.

Idempotent (one row per announcement, upserted; a verified announcement is never un-verified by a later or
earlier run), bounded by the run's date (rows published on or after it are not looked at), no wall clock.
Nothing pending costs no request.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from tthc.catalogue.listings import is_agency, own_listing, upsert_listing
from tthc.core.config import Department
from tthc.core.text import clean, match_key
from tthc.core.workdays import WorkCalendar
from tthc.db.models import Announcement, CsdlVerification
from tthc.ingest.sources.national_portal import settings as portal_settings
from tthc.ingest.sources.national_portal.client import HttpPortalClient, PortalClient
from tthc.ingest.sources.national_portal.helpers import PortalDecision, parse_decision_list

GROUPS = ("new", "amended", "abolished")
GROUP_NAMES = {"new": "mới ban hành", "amended": "sửa đổi, bổ sung", "abolished": "bãi bỏ"}
GROUP_OF_ACTION = {"announce_new": "new", "re_announce": "amended", "announce_abolition": "abolished"}
# at most this many pages of the province's own rows per run (500 decisions: months of one province's)
MAX_OWN_PAGES = 10


@dataclass
class VerifyResult:
    pending: int = 0
    verified: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)  # waiting past their due day
    discrepancies: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    rows_read: int = 0
    requests: int = 0


def approved_procedures(ann: Announcement) -> list[tuple[str, str]]:
    """(procedure name, group) of each procedure the announcement approved, as the list groups them."""
    return [(f.procedure_name, GROUP_OF_ACTION.get(f.action, "new")) for f in sorted(ann.flags, key=lambda f: f.id)]


def compare_groups(approved: Iterable[tuple[str, str]], groups: dict[str, list[str]]
                   ) -> tuple[list[str], list[str]]:
    """(approved but not listed, listed but not approved), by procedure name (``match_key``); a procedure
    listed in another group than approved is named with both groups in ``missing``."""
    listed: dict[str, tuple[str, str]] = {}
    for group in GROUPS:
        for name in groups.get(group) or []:
            listed.setdefault(match_key(name), (clean(name), group))
    missing, seen = [], set()
    for name, group in approved:
        key = match_key(name)
        seen.add(key)
        if key not in listed:
            missing.append(clean(name))
        elif listed[key][1] != group:
            missing.append(f"{clean(name)} (phê duyệt: {GROUP_NAMES[group]}; "
                           f"trên CSDL: {GROUP_NAMES.get(listed[key][1], listed[key][1])})")
    extra = [name for key, (name, _) in listed.items() if key not in seen]
    return missing, extra


def read_own_rows(client: PortalClient, dept: Department, since: date, before: date) -> list[PortalDecision]:
    """The province's rows of the decision list published in [since, before), newest first. Filtered by
    the province's ``agency_id`` when the settings give it, else the whole list read by name."""
    out: list[PortalDecision] = []
    agency_id = dept.province_agency_id or "-1"
    for page in range(1, MAX_OWN_PAGES + 1):
        rows = parse_decision_list(client.call(
            portal_settings.SERVICE_LIST, type="ref", recordPerPage=portal_settings.PAGE_SIZE, pageIndex=page,
            keyword="", agency_id=agency_id, field_id="-1", publishing_date=""))
        for row in rows:
            if since <= row.published < before and is_agency(row.agency_name, dept.province_agency):
                out.append(row)
        total = rows[0].total if rows else None
        if (not rows or min(r.published for r in rows) < since or total is None
                or page * portal_settings.PAGE_SIZE >= total):
            break
    return out


def _groups(client: PortalClient, dp_id: str) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {g: [] for g in GROUPS}
    for item in client.decision_items(dp_id):
        groups.setdefault(item.change_type, []).append(item.name)
    return groups


def verify_publications(session: Session, client: PortalClient, dept: Department, as_of: date,
                        calendar: WorkCalendar | None = None) -> VerifyResult:
    """One run of the verification over the run date ``as_of`` (see the module docstring)."""
    calendar = calendar or WorkCalendar.from_file()
    result = VerifyResult()
    anns = list(session.scalars(select(Announcement).where(
        Announcement.status == "approved", Announcement.signed_date.is_not(None),
        Announcement.signed_date <= as_of).order_by(Announcement.signed_date, Announcement.id)))
    states = {v.announcement_id: v for v in session.scalars(select(CsdlVerification))}
    pending = [a for a in anns if a.so_hieu and (a.id not in states or states[a.id].status != "verified")]
    result.pending = len(pending)
    if not pending:
        return result
    before = client_requests(client)
    for row in read_own_rows(client, dept, min(a.signed_date for a in pending), as_of):
        upsert_listing(session, portal_id=row.id, so_hieu=row.so_hieu, trich_yeu=row.trich_yeu,
                       agency_name=row.agency_name, agency_portal_id=row.agency_id, published=row.published,
                       seen_for=as_of)
        result.rows_read += 1
    for ann in pending:
        state = states.get(ann.id)
        if state is None:
            state = CsdlVerification(announcement_id=ann.id, status="waiting")
            session.add(state)
        state.checked_for = as_of
        state.due = calendar.add_working_days(ann.signed_date, dept.csdl_verify_working_days)
        listing = own_listing(session, ann, dept.province_agency, before=as_of)
        if listing is None:
            state.status = "waiting"
            result.waiting.append(ann.so_hieu)
            if state.due < as_of:
                result.overdue.append(ann.so_hieu)
            continue
        if listing.groups is None:
            listing.groups = _groups(client, listing.portal_id)
        missing, extra = compare_groups(approved_procedures(ann), listing.groups)
        state.status, state.listing_id, state.listed_on = "verified", listing.id, listing.published_date
        state.verified_for, state.missing, state.extra = as_of, missing, extra
        result.verified.append(ann.so_hieu)
        if missing or extra:
            result.discrepancies[ann.so_hieu] = {"missing": missing, "extra": extra}
    session.flush()
    result.requests = client_requests(client) - before
    return result


def client_requests(client: PortalClient) -> int:
    return int(getattr(client, "requests_made", 0))


def live_client(base_url: str) -> PortalClient:
    """The national portal's HTTP client (the ingest's; polite session, no retry of its POSTs)."""
    return HttpPortalClient(base_url)
