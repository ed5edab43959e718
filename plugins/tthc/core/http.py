"""A polite HTTP session shared by all sources (see :class:`PoliteSession`) and raw snapshots.

Every answer can be recorded as a raw snapshot (see :class:`SnapshotRecorder`) so parsing can be
replayed offline.
"""

from __future__ import annotations

import hashlib
import os
import time
import urllib.robotparser
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from tthc import __version__

USER_AGENT = f"tthc-pipeline/{__version__} (KSTTHC bot of a provincial department; +https://github.com/tthc-pipeline)"
DEFAULT_TIMEOUT = (5, 30)


class SourceError(RuntimeError):
    """A source could not be read: the run must fail, never report "nothing new"."""


class LayoutChangedError(SourceError):
    """A page no longer has the expected structure (selector or key missing)."""


class IncompleteAnswerError(SourceError):
    """An answer arrived cut short, or its pages could not all be read (a page repeating an earlier one,
    more pages than the hard cap): what it holds cannot be trusted to be all there is."""


MAX_RETRY_AFTER = 120.0  # seconds: a server asking for longer fails the run instead of stalling it


class _Retry(Retry):
    """urllib3 Retry that honours Retry-After but never sleeps longer than MAX_RETRY_AFTER, and never
    retries sooner than the session's per-host interval (urllib3 retries inside the adapter, past the
    session's own throttle)."""

    min_backoff: float = 0.0

    def new(self, **kw):  # type: ignore[override]
        retry = super().new(**kw)
        retry.min_backoff = self.min_backoff
        return retry

    def get_backoff_time(self) -> float:
        return max(super().get_backoff_time(), self.min_backoff)

    def get_retry_after(self, response):  # type: ignore[override]
        value = super().get_retry_after(response)
        return None if value is None else min(value, MAX_RETRY_AFTER)


class RobotsDisallowedError(SourceError):
    """robots.txt of the site forbids the path for our User-Agent."""


@dataclass
class CachedPage:
    etag: str | None
    last_modified: str | None
    content: bytes
    content_type: str | None


class HttpCache:
    """Validators and bodies of earlier GETs, for conditional requests (ETag / Last-Modified)."""

    def get(self, url: str) -> CachedPage | None:
        raise NotImplementedError

    def put(self, url: str, page: CachedPage) -> None:
        raise NotImplementedError

    def forget(self, url: str) -> None:
        """Drop what is kept for ``url`` (e.g. a page that arrived cut short)."""
        raise NotImplementedError


class MemoryHttpCache(HttpCache):
    def __init__(self) -> None:
        self.pages: dict[str, CachedPage] = {}

    def get(self, url: str) -> CachedPage | None:
        return self.pages.get(url)

    def put(self, url: str, page: CachedPage) -> None:
        self.pages[url] = page

    def forget(self, url: str) -> None:
        self.pages.pop(url, None)


class PoliteSession(requests.Session):
    """A session that behaves as a guest on government servers.

    - honest User-Agent; robots.txt fetched once per host and honoured (a disallowed URL raises);
    - at most one request per ``min_interval`` seconds per host (also an Airflow pool per site);
    - conditional GET with the validators of the last answer (a 304 is served from the cache, marked
      ``response.from_cache``);
    - retries with backoff on 429/5xx/timeouts honouring Retry-After (capped), never on other 4xx.
    """

    def __init__(self, *, retries: int = 3, backoff: float = 0.5, min_interval: float = 0.0,
                 respect_robots: bool = True, cache: HttpCache | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 retry_methods: frozenset[str] | None = None) -> None:
        super().__init__()
        retry = _Retry(
            total=retries, connect=retries, read=retries, status=retries, backoff_factor=backoff,
            status_forcelist=(429, 500, 502, 503, 504),
            # None: POST too, for sources (every call they make is a read); publishing channels pass
            # IDEMPOTENT_METHODS so that a create is never sent twice by the transport
            allowed_methods=retry_methods,
            respect_retry_after_header=True, raise_on_status=False,
        )
        retry.min_backoff = min_interval
        adapter = HTTPAdapter(max_retries=retry)
        self.mount("http://", adapter)
        self.mount("https://", adapter)
        self.headers["User-Agent"] = USER_AGENT
        self.min_interval = min_interval
        self.respect_robots = respect_robots
        self.cache = cache
        self._clock, self._sleep = clock, sleep
        self._last: dict[str, float] = {}
        self._robots: dict[str, urllib.robotparser.RobotFileParser | None] = {}
        self.requests_by_host: dict[str, int] = {}

    # -- politeness
    def _throttle(self, host: str) -> None:
        if self.min_interval > 0 and host in self._last:
            wait = self._last[host] + self.min_interval - self._clock()
            if wait > 0:
                self._sleep(wait)
        self._last[host] = self._clock()
        self.requests_by_host[host] = self.requests_by_host.get(host, 0) + 1

    def _allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._robots:
            robots_url = origin + "/robots.txt"
            cached = self.cache.get(robots_url) if self.cache is not None else None
            text: str | None = None
            if cached is not None:
                text = cached.content.decode("utf-8", "replace")  # empty body: fetched, no rules
            else:
                self._throttle(parts.netloc)
                try:
                    resp = super().request("GET", robots_url, timeout=DEFAULT_TIMEOUT)
                except requests.RequestException:
                    resp = None
                if resp is not None and resp.status_code < 500:
                    text = resp.text if resp.status_code == 200 else ""
                    if self.cache is not None:
                        self.cache.put(robots_url, CachedPage(None, None, text.encode("utf-8"), "text/plain"))
            parser: urllib.robotparser.RobotFileParser | None = None
            if text:
                parser = urllib.robotparser.RobotFileParser()
                parser.parse(text.splitlines())
            # 4xx / unreachable robots.txt: no rules (RFC 9309 §2.3.1.3); 5xx: treat as allowed too,
            # the real request will surface the outage
            self._robots[origin] = parser
        parser = self._robots[origin]
        return parser is None or parser.can_fetch(USER_AGENT, url)

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        if self.respect_robots and not urlsplit(url).path.endswith("/robots.txt") and not self._allowed(url):
            raise RobotsDisallowedError(f"robots.txt of {urlsplit(url).netloc} disallows {url}")
        cached = self.cache.get(url) if (self.cache is not None and method.upper() == "GET") else None
        if cached is not None:
            headers = dict(kwargs.pop("headers", None) or {})
            if cached.etag:
                headers["If-None-Match"] = cached.etag
            if cached.last_modified:
                headers["If-Modified-Since"] = cached.last_modified
            kwargs["headers"] = headers
        self._throttle(urlsplit(url).netloc)
        response = super().request(method, url, *args, **kwargs)
        response.from_cache = False  # type: ignore[attr-defined]
        if cached is not None and response.status_code == 304:
            response.status_code = 200
            response._content = cached.content
            if cached.content_type:
                response.headers["Content-Type"] = cached.content_type
            response.from_cache = True  # type: ignore[attr-defined]
        elif (self.cache is not None and method.upper() == "GET" and response.status_code == 200
              and not kwargs.get("stream")  # streamed downloads keep their own size cap
              and (response.headers.get("ETag") or response.headers.get("Last-Modified"))):
            self.cache.put(url, CachedPage(response.headers.get("ETag"), response.headers.get("Last-Modified"),
                                           response.content, response.headers.get("Content-Type")))
        return response


IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def make_session(retries: int = 3, backoff: float = 0.5, *, min_interval: float | None = None,
                 respect_robots: bool = True, cache: HttpCache | None = None,
                 retry_methods: frozenset[str] | None = None) -> PoliteSession:
    """A :class:`PoliteSession`; ``min_interval`` defaults to ``TTHC_MIN_REQUEST_INTERVAL`` (1 s)."""
    if min_interval is None:
        min_interval = float(os.environ.get("TTHC_MIN_REQUEST_INTERVAL", "1.0"))
    return PoliteSession(retries=retries, backoff=backoff, min_interval=min_interval,
                         respect_robots=respect_robots, cache=cache, retry_methods=retry_methods)


@dataclass
class Snapshot:
    url: str
    request: str | None
    content_type: str | None
    content: bytes
    fetched_at: datetime
    method: str = "GET"
    request_key: str | None = None  # identifies the HTTP request that got this answer (replay)
    wire_url: str | None = None  # the URL exactly as sent
    wire_body: str | None = None  # the body exactly as sent

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass
class SnapshotRecorder:
    """Collects every raw answer fetched during a run; the ingest stores them with the data."""

    fetched_at: datetime
    snapshots: list[Snapshot] = field(default_factory=list)
    stored_upto: int = 0  # how many of ``snapshots`` the ingest has stored
    stored_ids: dict[str, int] = field(default_factory=dict)  # content hash → raw_snapshots.id

    def record(self, url: str, request: str | None, response: requests.Response) -> Snapshot:
        snap = Snapshot(url, request, response.headers.get("Content-Type"), response.content, self.fetched_at)
        sent = getattr(response, "request", None)
        if sent is not None and sent.url:
            body = sent.body.decode("utf-8", "replace") if isinstance(sent.body, bytes) else sent.body
            snap.method, snap.wire_url, snap.wire_body = (sent.method or "GET").upper(), sent.url, body
            snap.request_key = request_key(snap.method, sent.url, body)
        self.snapshots.append(snap)
        return snap


def fetch(session: requests.Session, method: str, url: str, *, what: str, recorder: SnapshotRecorder | None = None,
          recorded_request: str | None = None, timeout=DEFAULT_TIMEOUT, **kwargs) -> requests.Response:
    """One request of a source: a network error or a non-200 answer raises :class:`SourceError` naming
    ``what``; a good answer is recorded as a snapshot."""
    try:
        response = session.request(method, url, timeout=timeout, **kwargs)
    except requests.RequestException as exc:
        raise SourceError(f"{what}: {exc}") from exc
    if response.status_code != 200:
        raise SourceError(f"{what}: HTTP {response.status_code}")
    if recorder is not None:
        recorder.record(url, recorded_request, response)
    return response


def request_key(method: str, url: str, body: str | None) -> str:
    """A stable key of one HTTP request (method, URL as sent, body as sent)."""
    return hashlib.sha256(f"{method.upper()}\n{url}\n{body or ''}".encode()).hexdigest()


Fetch = Callable[..., requests.Response]
