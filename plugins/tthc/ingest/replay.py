"""Replay mode: answer a source's HTTP requests from the stored raw snapshots, never the network.

Every request an ingest makes is logged (``fetch_log``: request key → snapshot), so parsing can be
re-run offline after a parser fix: the same clients and the same ingest code run on a session whose
transport is :class:`ReplayAdapter`. A request never made before fails clearly (it is not guessed).
"""

from __future__ import annotations

import requests
from requests.adapters import BaseAdapter
from sqlalchemy import select
from sqlalchemy.orm import Session

from tthc.core.http import PoliteSession, request_key
from tthc.db.models import FetchLog, RawSnapshot


class ReplayMissError(requests.ConnectionError):
    """No stored answer for this request."""


class ReplayAdapter(BaseAdapter):
    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.served = 0

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):  # noqa: D102
        body = request.body.decode("utf-8", "replace") if isinstance(request.body, bytes) else request.body
        key = request_key(request.method or "GET", request.url, body)
        row = self.session.scalar(
            select(RawSnapshot).join(FetchLog, FetchLog.snapshot_id == RawSnapshot.id).where(FetchLog.request_key == key)
        )
        if row is None:
            raise ReplayMissError(f"replay: no stored answer for {request.method} {request.url}")
        response = requests.Response()
        response.status_code = 200
        response._content = row.content
        response.headers["Content-Type"] = row.content_type or "application/octet-stream"
        response.url = request.url
        response.request = request
        response.encoding = requests.utils.get_encoding_from_headers(response.headers)
        self.served += 1
        return response

    def close(self) -> None:  # noqa: D102
        pass


def replay_session(db_session: Session) -> PoliteSession:
    """A session whose every request is answered from the snapshots (no robots.txt, no delay)."""
    http = PoliteSession(retries=0, min_interval=0, respect_robots=False)
    adapter = ReplayAdapter(db_session)
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    return http
