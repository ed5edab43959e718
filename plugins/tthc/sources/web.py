"""A polite HTTP session shared by all sources: honest User-Agent, timeouts, retry with backoff.

Retries (urllib3 ``Retry``) on 429/5xx and connection errors, honouring ``Retry-After``; never on
other 4xx. Every answer can be recorded as a raw snapshot (see :class:`SnapshotRecorder`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

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


def make_session(retries: int = 3, backoff: float = 0.5) -> requests.Session:
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=None,  # POST too: every call we make is a read
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


@dataclass
class Snapshot:
    url: str
    request: str | None
    content_type: str | None
    content: bytes
    fetched_at: datetime

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass
class SnapshotRecorder:
    """Collects every raw answer fetched during a run; the ingest stores them with the data."""

    fetched_at: datetime
    snapshots: list[Snapshot] = field(default_factory=list)

    def record(self, url: str, request: str | None, response: requests.Response) -> Snapshot:
        snap = Snapshot(url, request, response.headers.get("Content-Type"), response.content, self.fetched_at)
        self.snapshots.append(snap)
        return snap


Fetch = Callable[..., requests.Response]
