"""DbHttpCache: conditional-GET validators and robots.txt kept in the catalogue database (SQLite and
PostgreSQL), shared by every run and worker."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tthc.core.http import CachedPage, SnapshotRecorder
from tthc.db.models import Decision, HttpCacheEntry
from tthc.db.session import get_engine
from tthc.ingest.http_cache import ROBOTS_MAX_AGE, DbHttpCache, source_session
from tthc.ingest.runs import ingest_portal
from tthc.ingest.sources.national_portal.client import HttpPortalClient

RUN_TIME = datetime(2026, 11, 26, 1, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
T0 = 1_800_000_000.0  # an arbitrary instant (2027)


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_put_get_round_trip(session, db_url) -> None:
    cache = DbHttpCache(session, clock=Clock())
    url = "http://example.test/bo-khcn/van-ban?page=2"
    assert cache.get(url) is None
    page = CachedPage('"abc"', "Wed, 25 Nov 2026 00:00:00 GMT", "Bộ Khoa học".encode(), "text/html; charset=utf-8")
    cache.put(url, page)
    session.commit()

    with Session(get_engine(db_url)) as other:  # another worker, another session
        got = DbHttpCache(other, clock=Clock()).get(url)
    assert got == page

    # put again: the row is updated, not duplicated
    cache.put(url, CachedPage(None, None, b"new", None))
    session.commit()
    assert DbHttpCache(session).get(url) == CachedPage(None, None, b"new", None)
    assert session.scalar(select(func.count()).select_from(HttpCacheEntry)) == 1


def test_robots_entry_expires_after_24_hours(session) -> None:
    clock = Clock()
    cache = DbHttpCache(session, clock=clock)
    robots = "http://example.test/robots.txt"
    page_url = "http://example.test/page"
    cache.put(robots, CachedPage(None, None, b"User-agent: *\nDisallow: /private/\n", "text/plain"))
    cache.put(page_url, CachedPage('"e"', None, b"body", "text/html"))
    session.commit()
    session.expire_all()

    clock.now = T0 + ROBOTS_MAX_AGE - 60
    assert cache.get(robots) is not None
    clock.now = T0 + ROBOTS_MAX_AGE + 60
    assert cache.get(robots) is None
    assert cache.get(page_url) is not None  # only robots.txt ages out; pages are revalidated by the server
    assert ROBOTS_MAX_AGE == 24 * 3600

    # fetched again: fresh for another day
    cache.put(robots, CachedPage(None, None, b"", "text/plain"))
    session.commit()
    assert cache.get(robots) == CachedPage(None, None, b"", "text/plain")


def _portal_run(db_url: str, sandbox, dept, window_end: date) -> int:
    """One ingest run in its own session object, as each Airflow task does."""
    with Session(get_engine(db_url), expire_on_commit=False) as s:
        recorder = SnapshotRecorder(fetched_at=RUN_TIME)
        client = HttpPortalClient(sandbox.url, session=source_session(s, retries=0), recorder=recorder)
        result = ingest_portal(s, client, recorder, dept, window_end=window_end, run_time=RUN_TIME)
        s.commit()
        return result.decisions_new


def test_second_run_in_a_new_session_reuses_robots_from_the_db(seeded, db_url, sandbox, dept) -> None:
    assert _portal_run(db_url, sandbox, dept, date(2026, 10, 1)) > 0
    assert sandbox.stats()["GET /robots.txt"] == 1
    assert seeded.scalar(select(HttpCacheEntry.url).where(HttpCacheEntry.url.like("%/robots.txt"))) == (
        sandbox.url + "/robots.txt")

    assert _portal_run(db_url, sandbox, dept, date(2026, 11, 26)) > 0  # new decisions: real work
    assert sandbox.stats()["GET /robots.txt"] == 1  # not fetched again
    assert seeded.scalar(select(func.count()).select_from(Decision)) > 0


def test_decision_pages_are_revalidated_across_runs(seeded, db_url, sandbox, dept) -> None:
    """The decision page cached by one run is asked for conditionally by a later one (304)."""
    from tthc.ingest.sources.national_portal.settings import DETAIL_PATH

    _portal_run(db_url, sandbox, dept, date(2026, 11, 26))
    with Session(get_engine(db_url)) as s:
        url = s.scalar(select(HttpCacheEntry.url).where(HttpCacheEntry.url.like(f"%{DETAIL_PATH}%")))
        assert url is not None
        http = source_session(s, retries=0)
        response = http.get(url)
    assert response.status_code == 200 and response.from_cache is True
    assert sandbox.status_stats()[f"GET {DETAIL_PATH} 304"] == 1
