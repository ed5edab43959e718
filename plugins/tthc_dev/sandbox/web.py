"""HTTP plumbing shared by every room of the sandbox: the request and answer types and the route prologue.

Each simulated system (:mod:`~tthc_dev.sandbox.portal`, :mod:`~tthc_dev.sandbox.ministry_site`,
:mod:`~tthc_dev.sandbox.cms`, :mod:`~tthc_dev.sandbox.csdl`, :mod:`~tthc_dev.sandbox.province_portal`,
:mod:`~tthc_dev.sandbox.faults`) answers a :class:`Request` with a :class:`Response`. What their routes
all repeated lives here once: the Bearer token check (:func:`bearer_ok`, applied before a room is
called by the dispatch table of :mod:`~tthc_dev.sandbox.app`), the JSON object body
(:func:`json_object`, each room words the 400 in its own system's format), the common JSON error
answers, integer query parameters (:class:`BadRequest` becomes a 400) and conditional GETs
(ETag / Last-Modified / 304).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import hmac
import html
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"

UNAUTHORIZED = {"error": "unauthorized", "message": "invalid or missing bearer token"}
NOT_JSON = "body is not JSON"
NOT_OBJECT = "body must be a JSON object"


@dataclass(frozen=True)
class Request:
    """One request as the rooms see it: ``path`` without the query and trailing slashes."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes

    def tail(self, prefix: str) -> str:
        """The path after ``prefix``."""
        return self.path[len(prefix):]


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    # Conditional GET: answer with ETag / Last-Modified and honour If-None-Match / If-Modified-Since.
    conditional: bool = False
    last_modified: dt.date | None = None


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Response(status, body, JSON_TYPE, dict(headers or {}))


def html_response(text: str, status: int = 200, *, conditional: bool = False,
                  last_modified: dt.date | None = None) -> Response:
    return Response(status, text.encode("utf-8"), HTML_TYPE, conditional=conditional, last_modified=last_modified)


def html_page(title: str, body: str) -> str:
    """A minimal HTML page around ``body``."""
    return (f'<!DOCTYPE html>\n<html><head><meta charset="UTF-8" /><title>{html.escape(title)}</title></head>'
            f"<body>\n{body}\n</body></html>\n")


# -- common JSON error answers ------------------------------------------------------------------


def error(kind: str, status: int, **extra: Any) -> Response:
    """``{"error": kind, **extra}`` with ``status``."""
    return json_response({"error": kind, **extra}, status)


def bad_request(message: str) -> Response:
    return error("bad request", 400, message=message)


def method_not_allowed() -> Response:
    return error("method not allowed", 405)


def unauthorized() -> Response:
    """The 401 of the token-protected JSON APIs (CSDL, provincial portal)."""
    return json_response(UNAUTHORIZED, 401)


# -- the route prologue -------------------------------------------------------------------------


def bearer_ok(headers: Mapping[str, str], token: str) -> bool:
    """``Authorization: Bearer <token>`` (scheme case-insensitive, compared in constant time)."""
    auth = headers.get("Authorization") or ""
    scheme, _, given = auth.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


class BodyError(ValueError):
    """The request body is not a JSON object; the message is :data:`NOT_JSON` or :data:`NOT_OBJECT`."""

    @property
    def not_json(self) -> bool:
        return str(self) == NOT_JSON


def json_object(body: bytes, *, empty_is_object: bool = False) -> dict[str, Any]:
    """The JSON object of a request body; an empty body is ``{}`` when ``empty_is_object`` (else not JSON).

    Raises :class:`BodyError`.
    """
    try:
        text = body.decode("utf-8")
        data = json.loads((text or "{}") if empty_is_object else text)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BodyError(NOT_JSON) from None
    if not isinstance(data, dict):
        raise BodyError(NOT_OBJECT)
    return data


class BadRequest(Exception):
    """A client error inside a handler; becomes an HTTP 400 JSON answer."""


def int_param(params: Mapping[str, Any], name: str, default: int) -> int:
    value = params.get(name, default)
    if value is None or value == "":
        return default
    try:
        return int(str(value).strip())
    except ValueError as exc:
        raise BadRequest(f"parameter {name} must be an integer, got {value!r}") from exc


# -- conditional GET --------------------------------------------------------------------------------


def http_date(value: dt.date) -> str:
    """RFC 7231 IMF-fixdate of midnight UTC of ``value``."""
    return email.utils.format_datetime(dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC),
                                       usegmt=True)


def conditional(response: Response, headers: Mapping[str, str]) -> Response:
    """Add ETag (and Last-Modified) to a 200 answer; ``304 Not Modified`` if the client's copy is current."""
    etag = '"' + hashlib.sha1(response.body).hexdigest() + '"'
    response.headers["ETag"] = etag
    if response.last_modified is not None:
        response.headers["Last-Modified"] = http_date(response.last_modified)
    not_modified = False
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        not_modified = "*" in tags or etag in tags
    elif (since := headers.get("If-Modified-Since")) and response.last_modified is not None:
        try:
            since_at = email.utils.parsedate_to_datetime(since)
        except (TypeError, ValueError):
            since_at = None
        if since_at is not None:
            if since_at.tzinfo is None:
                since_at = since_at.replace(tzinfo=dt.UTC)
            lm = response.last_modified
            not_modified = dt.datetime(lm.year, lm.month, lm.day, tzinfo=dt.UTC) <= since_at
    if not not_modified:
        return response
    return Response(304, b"", response.content_type, dict(response.headers))
