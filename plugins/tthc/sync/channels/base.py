"""The channel interface: what every public system we publish to must offer.

A channel holds *objects* (a CMS post or page, a procedure on the provincial portal, a decision record
in the national CSDL). Each object we publish carries our idempotency key (``ChannelObject.key``, e.g.
``procedure:1.001155``) in a place the channel gives back (a slug, a meta field, an external id), so
that :meth:`Channel.find` can tell whether an earlier attempt already created it: a crash between a
successful write and our ledger write never makes a duplicate.

Errors: :class:`AuthError` (401/403, and a 400 whose code says "forbidden" / "cannot", as WordPress
answers a status it will not show: credentials to rotate or an account that lacks a permission),
:class:`SetupError` (the channel is not set up as this project needs, e.g. a plugin missing: an
administrator must act), :class:`RejectedError` (the channel refused the content, 400/409/422: fix the
data), :class:`ChannelError` (anything else: timeouts, 5xx; retried by Airflow). Messages name the
channel, method and path, never the token or password.

Authentication (:class:`HttpJsonClient`): a Connection with a login sends HTTP Basic auth (login +
password: WordPress Application Passwords); a password alone is sent as a Bearer token.
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
    """The channel refused our credentials, or the account lacks a permission (rotate the token / password
    in the Connection, or give the account the role it needs)."""


class SetupError(ChannelError):
    """The channel is not set up as this project needs (e.g. a plugin missing): retrying will not help."""


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


# WordPress error codes of a request refused for lack of rights (a 400 may carry one in its details:
# ``status=any`` without the right to see drafts is 400 rest_invalid_param with rest_forbidden_status)
_AUTH_CODE_PREFIXES = ("rest_forbidden", "rest_cannot_", "rest_not_logged_in", "rest_user_cannot")


def _error_info(response: requests.Response) -> tuple[str, str, int | None]:
    """(code, message, inner status) of a JSON error answer: the first code that says "forbidden", else the
    top-level one (WordPress: ``{"code", "message", "data": {"status", "details": {param: {...}}}}``)."""
    try:
        body = response.json()
    except ValueError:
        return "", "", None
    if not isinstance(body, dict):
        return "", "", None
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    found = [(str(body.get("code") or ""), str(body.get("message") or ""), data.get("status"))]
    for detail in (data.get("details") or {}).values() if isinstance(data.get("details"), dict) else ():
        if isinstance(detail, dict):
            inner = detail.get("data") if isinstance(detail.get("data"), dict) else {}
            found.append((str(detail.get("code") or ""), str(detail.get("message") or ""), inner.get("status")))
    for code, message, status in found:
        if code.startswith(_AUTH_CODE_PREFIXES):
            return code, message, status if isinstance(status, int) else None
    code, message, _ = found[0]
    return code, message, None


class HttpJsonClient:
    """Small JSON-over-HTTP helper shared by the channels: authentication, timeouts, error mapping.

    ``login`` given: HTTP Basic auth with ``login`` and ``token`` (WordPress Application Passwords);
    otherwise ``Authorization: Bearer <token>``. ``auth_hint`` ends every :class:`AuthError` message
    (what the operator should do on this channel)."""

    def __init__(self, label: str, base_url: str, token: str, session: requests.Session | None = None,
                 conn_id: str = "", timeout: float = DEFAULT_TIMEOUT, *, login: str | None = None,
                 auth_hint: str = "") -> None:
        from tthc.core.http import IDEMPOTENT_METHODS, make_session

        if not token:
            what = "password (application password)" if login else "token (password)"
            raise AuthError(f"{label}: Connection {conn_id or '?'} has no {what}")
        self.label, self.base_url, self.conn_id, self.timeout = label, base_url.rstrip("/"), conn_id, timeout
        self.login, self.auth_hint = login or None, auth_hint
        # our own publishing endpoints: no robots.txt; at most one request per TTHC_CHANNEL_MIN_INTERVAL
        # seconds (default 0.2) besides the Airflow pool's limit on parallel tasks; urllib3 retries only
        # idempotent methods (GET, PUT, DELETE), never POST
        interval = float(os.environ.get("TTHC_CHANNEL_MIN_INTERVAL", "0.2"))
        self.session = session or make_session(min_interval=interval, respect_robots=False,
                                               retry_methods=IDEMPOTENT_METHODS)
        if self.login:
            self.session.auth = (self.login, token)
        else:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def _auth_error(self, method: str, path: str, status: int, code: str, message: str,
                    inner: int | None) -> AuthError:
        who = f"the account {self.login!r}" if self.login else "the token"
        what = f"HTTP {status}" + (f" {code}" if code else "") + (f": {message[:200]}" if message else "")
        if (inner or status) == 401:
            reason = (f"refused {who} (not signed in, or the account lacks the permission): check or rotate "
                      f"the password of Connection {self.conn_id}")
        else:
            reason = f"{who} lacks the permission"
        hint = f"; {self.auth_hint}" if self.auth_hint else ""
        return AuthError(f"{self.label} {method} {path}: {reason} ({what}){hint}")

    def call(self, method: str, path: str, *, ok_statuses: tuple[int, ...] = (), **kwargs: Any) -> requests.Response:
        url = self.base_url + path
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise ChannelError(f"{self.label} {method} {path}: {type(exc).__name__}") from exc
        status = response.status_code
        if status in ok_statuses:
            return response
        if status in (400, 401, 403):
            code, message, inner = _error_info(response)
            if status != 400 or code.startswith(_AUTH_CODE_PREFIXES):
                raise self._auth_error(method, path, status, code, message, inner)
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
