"""The channel interface: what every public system we publish to must offer.

A channel holds *objects* (a CMS post or page, a procedure on the provincial portal, a decision record
in the national CSDL). Each object we publish carries our idempotency key (``ChannelObject.key``, e.g.
``procedure:1.001155``) in a place the channel gives back (a slug, a meta field, an external id), so
that :meth:`Channel.find` can tell whether an earlier attempt already created it: a crash between a
successful write and our ledger write never makes a duplicate.

Errors: :class:`AuthError` (401/403: a token to rotate; never retried), :class:`RejectedError` (the
channel refused the content, 400/409/422: fix the data; never retried), :class:`ChannelError`
(anything else: timeouts, 5xx; retried by Airflow). Messages name the channel, method and path, never
the token.
"""

from __future__ import annotations

import hashlib
import json
import os
import unicodedata
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import requests

from tthc.core.http import DEFAULT_TIMEOUT


class ChannelError(RuntimeError):
    """A channel could not be reached or failed (retry later)."""


class AuthError(ChannelError):
    """The channel refused our credentials (rotate the token in the Connection)."""


class RejectedError(ChannelError):
    """The channel refused the content (validation error, conflict): retrying will not help."""


@dataclass(frozen=True)
class Published:
    external_id: str
    url: str | None = None


@dataclass(frozen=True)
class RemoteObject:
    """An object a channel shows that carries one of our keys (read back for reconciliation)."""

    key: str
    external_id: str
    live: bool  # published / in force (False: unpublished, trashed, withdrawn)
    digest: str | None  # content digest as the channel shows it (None: cannot tell)
    url: str | None = None


@dataclass
class ChannelObject:
    """One object as we want a channel to show it.

    ``fields`` is the channel-specific payload (text already NFC); ``attachment`` an optional file
    ``(filename, content_type, bytes)``; ``withdrawn`` means the object must be unpublished / withdrawn
    (an abolished procedure). ``digest`` covers everything that is sent, so an unchanged object is
    never re-sent and any change is."""

    key: str
    kind: str
    title: str
    fields: dict[str, Any] = field(default_factory=dict)
    attachment: tuple[str, str, bytes] | None = None
    withdrawn: bool = False
    reason: str = ""  # why it is withdrawn (shown by the channel where it can)

    @property
    def digest(self) -> str:
        payload = {"kind": self.kind, "title": self.title, "fields": self.fields, "withdrawn": self.withdrawn,
                   "attachment": hashlib.sha256(self.attachment[2]).hexdigest() if self.attachment else None}
        return digest_of(payload)


def digest_of(payload: Any) -> str:
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(unicodedata.normalize("NFC", text).encode("utf-8")).hexdigest()


class Channel(ABC):
    """A public system we publish to. ``name`` is the ledger's channel column and the pool's name."""

    name: str
    label: str  # Vietnamese name for reports

    def expected_digest(self, obj: ChannelObject) -> str:
        """The digest :meth:`list_owned` reports for ``obj`` when the channel shows it as we sent it."""
        return obj.digest

    @abstractmethod
    def find(self, obj: ChannelObject) -> Published | None:
        """What the channel already holds under ``obj.key`` (the idempotency key), if anything."""

    @abstractmethod
    def create(self, obj: ChannelObject) -> Published: ...

    @abstractmethod
    def update(self, external_id: str, obj: ChannelObject) -> Published: ...

    @abstractmethod
    def withdraw(self, external_id: str, obj: ChannelObject) -> Published: ...

    @abstractmethod
    def list_owned(self) -> list[RemoteObject]:
        """Every object the channel shows that carries one of our keys (one entry per remote object: two
        objects carrying one key are two entries)."""

    def remove_duplicate(self, external_id: str, obj: ChannelObject) -> None:
        """Take an extra copy of ``obj`` (a second remote object carrying its key) off the channel, never
        deleting it for good: by default it is withdrawn."""
        self.withdraw(external_id, obj)


class HttpJsonClient:
    """Small JSON-over-HTTP helper shared by the channels: Bearer token, timeouts, error mapping."""

    def __init__(self, label: str, base_url: str, token: str, session: requests.Session | None = None,
                 conn_id: str = "", timeout: float = DEFAULT_TIMEOUT) -> None:
        from tthc.core.http import IDEMPOTENT_METHODS, make_session

        if not token:
            raise AuthError(f"{label}: Connection {conn_id or '?'} has no token (password)")
        self.label, self.base_url, self.conn_id, self.timeout = label, base_url.rstrip("/"), conn_id, timeout
        # our own publishing endpoints: no robots.txt; at most one request per TTHC_CHANNEL_MIN_INTERVAL
        # seconds (default 0.2) besides the Airflow pool's limit on parallel tasks; urllib3 retries only
        # idempotent methods (GET, PUT, DELETE), never POST
        interval = float(os.environ.get("TTHC_CHANNEL_MIN_INTERVAL", "0.2"))
        self.session = session or make_session(min_interval=interval, respect_robots=False,
                                               retry_methods=IDEMPOTENT_METHODS)
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, *, ok_statuses: tuple[int, ...] = (), **kwargs: Any) -> requests.Response:
        url = self.base_url + path
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise ChannelError(f"{self.label} {method} {path}: {type(exc).__name__}") from exc
        status = response.status_code
        if status in ok_statuses:
            return response
        if status in (401, 403):
            raise AuthError(f"{self.label} refused the token (HTTP {status}): rotate the password of Connection "
                            f"{self.conn_id}")
        if status in (400, 409, 413, 415, 422):
            raise RejectedError(f"{self.label} {method} {path}: HTTP {status} {response.text[:300]}")
        if status >= 400:
            raise ChannelError(f"{self.label} {method} {path}: HTTP {status} {response.text[:200]}")
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.call(method, path, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise ChannelError(f"{self.label} {method} {path}: the answer is not JSON") from exc
