"""Storing what the sources read: watermarks, raw snapshots, decisions, their sources and items.

Upserts by natural keys, so a re-run never duplicates: a decision is (normalised số hiệu, agency, year),
an item is (decision, procedure name). Nothing here commits: the caller's transaction does.

Every string from a source is checked against its column's length before it is written
(:class:`FieldTooLongError`): PostgreSQL would refuse it with a raw ``DataError`` and SQLite would store
it silently, so the SQLite tests would never see what fails in production.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tthc.core.http import SnapshotRecorder, SourceError
from tthc.core.text import clean, match_key, normalise_so_hieu
from tthc.db.models import Decision, DecisionItem, DecisionSource, FetchLog, RawSnapshot, Watermark

CHANGE_PRIORITY = {"replaced": 3, "abolished": 2, "amended": 1, "new": 0}


class FieldTooLongError(SourceError):
    """A value a source sent is longer than the column that keeps it: the message names the source, the
    column, the limit and the value's start, so the site's configuration (a regex) or the schema can be
    fixed; nothing of the run is stored (the task fails and is retried like any unreadable source)."""

    def __init__(self, source: str, column: str, value: str, limit: int) -> None:
        start = value[:80] + ("…" if len(value) > 80 else "")
        super().__init__(f"{source}: {column} has {len(value)} characters, more than its {limit}: {start!r}")
        self.source, self.column, self.value, self.limit = source, column, value, limit


def check_length(source: str, model: type, column: str, value: object) -> None:
    """Raise :class:`FieldTooLongError` when ``value`` does not fit ``model.column`` (a String(n))."""
    col = model.__table__.c.get(column)  # type: ignore[attr-defined]
    limit = getattr(col.type, "length", None) if col is not None else None
    if isinstance(value, str) and limit is not None and len(value) > limit:
        raise FieldTooLongError(source, f"{model.__tablename__}.{column}", value, limit)  # type: ignore[attr-defined]


def get_watermark(session: Session, source: str) -> str | None:
    row = session.get(Watermark, source)
    return row.value if row else None


def set_watermark(session: Session, source: str, value: str, run_date: date) -> None:
    row = session.get(Watermark, source)
    if row is None:
        session.add(Watermark(source=source, value=value, updated_for=run_date))
    else:
        row.value, row.updated_for = value, run_date


def store_snapshots(session: Session, recorder: SnapshotRecorder) -> dict[str, int]:
    """Insert the raw answers recorded since the last call, and log which request got which answer (the
    fetch log replay mode reads); returns content hash → snapshot id for every answer of the run."""
    for snap in recorder.snapshots[recorder.stored_upto:]:
        h = snap.content_hash
        if h in recorder.stored_ids:
            continue  # the same bytes answered another request too: one snapshot, several log rows
        existing = session.scalar(select(RawSnapshot.id).where(RawSnapshot.content_hash == h))
        if existing is None:
            content_type = snap.content_type[:128] if snap.content_type else None  # a header: metadata only
            row = RawSnapshot(content_hash=h, url=snap.url, request=snap.request, content_type=content_type,
                              content=snap.content, fetched_at=snap.fetched_at)
            session.add(row)
            session.flush()
            existing = row.id
        recorder.stored_ids[h] = existing
    for snap in recorder.snapshots[recorder.stored_upto:]:
        if snap.request_key is None:
            continue
        log_row = session.scalar(select(FetchLog).where(FetchLog.request_key == snap.request_key))
        if log_row is None:
            log_row = FetchLog(request_key=snap.request_key, method=snap.method, url=snap.wire_url or snap.url,
                               body=snap.wire_body)
            session.add(log_row)
        log_row.snapshot_id, log_row.fetched_at = recorder.stored_ids[snap.content_hash], snap.fetched_at
    recorder.stored_upto = len(recorder.snapshots)
    return recorder.stored_ids


def upsert_decision(session: Session, *, so_hieu: str, agency_name: str, run_time: datetime,
                    source: str = "ingest", **values: object) -> tuple[Decision, bool]:
    """Find the decision by its natural key or create it.

    The same decision seen from two sources is one row: normalised số hiệu + agency + date (the year
    of signing; a candidate with the same số hiệu dated within 90 days also matches, as the sources
    date a decision differently: signed on the ministry site, published on the portal). Given values
    fill or update columns; ``None`` never erases. ``source`` names the source in a
    :class:`FieldTooLongError`.
    """
    key = normalise_so_hieu(so_hieu)
    agency_name = clean(agency_name)
    for column, value in (("so_hieu_key", key), ("agency_name", agency_name), *values.items()):
        check_length(source, Decision, column, value)
    day = values.get("signed_date") or values.get("published_date") or run_time.date()
    assert isinstance(day, date)
    candidates = list(session.scalars(
        select(Decision).where(Decision.so_hieu_key == key, Decision.agency_name == agency_name)
    ))

    def distance(d: Decision) -> int:
        known = [x for x in (d.signed_date, d.published_date) if x is not None]
        return min((abs((x - day).days) for x in known), default=10**6)

    decision = next((d for d in candidates if d.year == day.year), None)
    if decision is None:
        decision = next((d for d in sorted(candidates, key=distance) if distance(d) <= 90), None)
    created = decision is None
    if decision is None:
        decision = Decision(so_hieu=key, so_hieu_key=key, agency_name=agency_name, trich_yeu="",
                            field_keys="", ingested_at=run_time, year=day.year)
        session.add(decision)
    for name, value in values.items():
        if value is not None and value != "":
            setattr(decision, name, value)
    if decision.signed_date is not None:
        decision.year = decision.signed_date.year
    session.flush()
    return decision, created


def add_source(session: Session, decision: Decision, source: str, external_id: str, url: str | None) -> None:
    check_length(source, DecisionSource, "source", source)
    check_length(source, DecisionSource, "external_id", external_id)
    exists = session.scalar(
        select(DecisionSource).where(DecisionSource.source == source, DecisionSource.external_id == external_id)
    )
    if exists is None:
        session.add(DecisionSource(decision_id=decision.id, source=source, external_id=external_id, url=url))


def upsert_item(session: Session, decision: Decision, *, name: str, change_type: str, code: str | None = None,
                levels: tuple[str, ...] | list[str] = (), field_key: str | None = None,
                replaces_code: str | None = None, external_id: str | None = None,
                source: str = "ingest") -> DecisionItem:
    """One item per (decision, procedure name); sources enrich each other, the stronger change type wins."""
    name = clean(name)
    key = match_key(name)
    levels_text = ",".join(levels)
    for column, value in (("code", code), ("levels", levels_text), ("field_key", field_key),
                          ("replaces_code", replaces_code), ("external_id", external_id)):
        check_length(source, DecisionItem, column, value)
    item = session.scalar(
        select(DecisionItem).where(DecisionItem.decision_id == decision.id, DecisionItem.name_key == key)
    )
    if item is None:
        item = DecisionItem(decision_id=decision.id, name=name, name_key=key, change_type=change_type, levels="")
        session.add(item)
    elif CHANGE_PRIORITY[change_type] > CHANGE_PRIORITY[item.change_type]:
        item.change_type = change_type
    item.code = item.code or code
    item.levels = item.levels or levels_text
    item.field_key = item.field_key or field_key
    item.replaces_code = item.replaces_code or replaces_code
    item.external_id = item.external_id or external_id
    session.flush()
    return item
