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
MAX_URL = 1000  # HttpCacheEntry.url: a longer URL is not cached (a cut key could answer for another URL)


class DbHttpCache(HttpCache):
    def __init__(self, session: Session, clock=time.time) -> None:
        self.session = session
        self.clock = clock

    def get(self, url: str) -> CachedPage | None:
        if len(url) > MAX_URL:
            return None
        row = self.session.get(HttpCacheEntry, url)
        if row is None:
            return None
        if url.endswith("/robots.txt"):
            fetched = row.fetched_at if row.fetched_at.tzinfo else row.fetched_at.replace(tzinfo=UTC)
            if self.clock() - fetched.timestamp() > ROBOTS_MAX_AGE:
                return None
        return CachedPage(row.etag, row.last_modified, row.content, row.content_type)

    def put(self, url: str, page: CachedPage) -> None:
        # validators longer than their columns are useless cut: such an answer is not cached at all
        if len(url) > MAX_URL or len(page.etag or "") > 255 or len(page.last_modified or "") > 64:
            return
        row = self.session.get(HttpCacheEntry, url)
        if row is None:
            row = HttpCacheEntry(url=url)
            self.session.add(row)
        row.etag, row.last_modified, row.content = page.etag, page.last_modified, page.content
        row.content_type = page.content_type[:128] if page.content_type else None
        row.fetched_at = datetime.fromtimestamp(self.clock(), tz=UTC)
        self.session.flush()

    def forget(self, url: str) -> None:
        row = self.session.get(HttpCacheEntry, url) if len(url) <= MAX_URL else None
        if row is not None:
            self.session.delete(row)
            self.session.flush()


def source_session(db_session: Session, retries: int = 3) -> PoliteSession:
    """The HTTP session every source uses in production: polite, with the shared cache."""
    return make_session(retries=retries, cache=DbHttpCache(db_session))
