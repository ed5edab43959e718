"""The HTTP cache in the catalogue database: conditional-GET validators and robots.txt files.

Kept in the database (not on a worker's disk) so every Celery worker shares it. robots.txt is reused
for up to 24 hours (RFC 9309 §2.4), so a night with nothing new costs one request per source.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from tthc.core.http import CachedPage, HttpCache, PoliteSession, make_session
from tthc.db.models import HttpCacheEntry

ROBOTS_MAX_AGE = 24 * 3600


class DbHttpCache(HttpCache):
    def __init__(self, session: Session, clock=time.time) -> None:
        self.session = session
        self.clock = clock

    def get(self, url: str) -> CachedPage | None:
        row = self.session.get(HttpCacheEntry, url[:1000])
        if row is None:
            return None
        if url.endswith("/robots.txt"):
            fetched = row.fetched_at if row.fetched_at.tzinfo else row.fetched_at.replace(tzinfo=UTC)
            if self.clock() - fetched.timestamp() > ROBOTS_MAX_AGE:
                return None
        return CachedPage(row.etag, row.last_modified, row.content, row.content_type)

    def put(self, url: str, page: CachedPage) -> None:
        row = self.session.get(HttpCacheEntry, url[:1000])
        if row is None:
            row = HttpCacheEntry(url=url[:1000])
            self.session.add(row)
        row.etag, row.last_modified, row.content, row.content_type = (
            page.etag, page.last_modified, page.content, page.content_type)
        row.fetched_at = datetime.fromtimestamp(self.clock(), tz=UTC)
        self.session.flush()


def source_session(db_session: Session, retries: int = 3) -> PoliteSession:
    """The HTTP session every source uses in production: polite, with the shared cache."""
    return make_session(retries=retries, cache=DbHttpCache(db_session))
