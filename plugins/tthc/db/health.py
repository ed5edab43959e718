"""Source health: count consecutive failed nights per source and alert the IT team once.

A source failing N runs in a row (``alerts.source_failures`` in the department settings, default 3)
sends ONE ops email; the next success resets the count, and a new streak can alert again. Retries of
the same run date count once. The business digest is never used for this.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date

from sqlalchemy.orm import Session

from tthc.db.models import SourceHealth

log = logging.getLogger(__name__)


def record_success(session: Session, source: str, as_of: date) -> None:
    row = session.get(SourceHealth, source)
    if row is None:
        row = SourceHealth(source=source, consecutive_failures=0)
        session.add(row)
    row.consecutive_failures = 0
    row.first_failure_for = None
    row.last_success_for = as_of


def record_failure(session: Session, source: str, as_of: date, error: str) -> SourceHealth:
    """Count a failed run date (a retry of the same date does not count again)."""
    row = session.get(SourceHealth, source)
    if row is None:
        row = SourceHealth(source=source, consecutive_failures=0)
        session.add(row)
    in_streak = (row.consecutive_failures > 0 and row.first_failure_for is not None
                 and row.last_failure_for is not None and row.first_failure_for <= as_of <= row.last_failure_for)
    if not in_streak:  # a retry or re-run of a date already counted in this streak counts once
        row.consecutive_failures += 1
        if row.consecutive_failures == 1:
            row.first_failure_for = as_of
    row.last_failure_for = max(as_of, row.last_failure_for or as_of)
    row.last_error = error[:2000]
    session.flush()
    return row


def alert_key(row: SourceHealth) -> str:
    return hashlib.sha256(f"{row.source}|{row.first_failure_for}".encode()).hexdigest()[:32]
