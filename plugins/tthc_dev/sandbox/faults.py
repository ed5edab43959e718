"""Fault injection: rules that make the requests of one route fail or misbehave.

Rules are added with ``POST /_sandbox/faults`` (or :meth:`FaultRegistry.add`) and apply to the
requests whose route key (the keys of ``/_sandbox/stats``: ``"<METHOD> <path>"``, for the portal's
rest.jsp ``"POST /jsp/rest.jsp:<service>"``) matches; a trailing ``*`` matches any suffix. A rule can
answer HTTP 500/429/503 instead of carrying out the request, answer slowly, truncate the body, change
the page layout or the JSON keys, answer in Unicode NFD, have a decision published while a client pages
through the portal's list, or (``after_success_500``) carry out the request (a create or update really
happens) and then answer HTTP 500 ``{"error": "internal error after commit"}``: the failures a
pipeline meets on the real systems, on demand.

``GET /_sandbox/faults`` lists the rules, ``DELETE /_sandbox/faults`` removes them all,
``DELETE /_sandbox/faults/{id}`` one.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tthc_dev.sandbox.web import (
    JSON_TYPE,
    BodyError,
    Request,
    Response,
    bad_request,
    error,
    json_object,
    json_response,
    method_not_allowed,
)

FAULTS_PATH = "/_sandbox/faults"
ERROR_FAULTS = {"http_500": 500, "http_429": 429, "http_503": 503}
FAULT_KINDS = (*ERROR_FAULTS, "timeout", "truncated", "layout_changed", "nfd", "insert_while_paging",
               "after_success_500")
AFTER_COMMIT_ERROR = {"error": "internal error after commit"}
DEFAULT_TIMEOUT_DELAY = 3.0
# layout_changed: the main table's class on each HTML page, and the JSON keys of the portal's answers.
LAYOUT_HTML_CLASSES = {"list-van-ban": "ds-van-ban", "phu-luc": "bang-phu-luc", "table-info-row": "info",
                       # the portal's procedure pages (full and citizen layouts)
                       "row info-row": "row thong-tin", "main-title-sub": "tieu-de-phu"}
LAYOUT_JSON_KEYS = {
    "CODE": "SO_HIEU",
    "NAME": "TRICH_YEU",
    "PUBLISHING_DATE": "NGAY_CONG_BO",
    "AGENCY_NAME": "TEN_CO_QUAN",
    "PROCEDURE_NAME": "TEN_THU_TUC",
    "PUBLISHED_AGENCY": "CO_QUAN_CONG_BO",
    "FIELD_NAME": "TEN_LINH_VUC",
    "AMOUNT": "TONG_SO",
}


@dataclass
class FaultRule:
    """One fault injection rule: requests whose route key matches ``route`` get ``fault``."""

    id: int
    route: str
    fault: str
    times: int | None  # how many more requests it applies to; None: unlimited
    opts: dict[str, Any] = field(default_factory=dict)

    def matches(self, route_key: str) -> bool:
        if self.route.endswith("*"):
            return route_key.startswith(self.route[:-1])
        return route_key == self.route

    def as_json(self) -> dict[str, Any]:
        return {**self.opts, "id": self.id, "route": self.route, "fault": self.fault,
                "times": -1 if self.times is None else self.times}


def _retry_after(value: Any) -> str:
    """HTTP's Retry-After is whole seconds (delta-seconds): round a fractional request up."""
    return str(math.ceil(float(value)))


def _rename_keys(value: Any, mapping: Mapping[str, str]) -> Any:
    if isinstance(value, list):
        return [_rename_keys(v, mapping) for v in value]
    if isinstance(value, dict):
        return {mapping.get(k, k): _rename_keys(v, mapping) for k, v in value.items()}
    return value


class FaultRegistry:
    """The fault rules of one sandbox, under the sandbox's lock."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._rules: list[FaultRule] = []
        self._next_id = 1

    def add(self, route: str, fault: str, times: int | None = None, **opts: Any) -> dict[str, Any]:
        """Add a fault rule for the requests whose route key matches ``route`` (trailing ``*``: prefix).

        ``fault``: one of :data:`FAULT_KINDS`: ``http_500``/``http_429``/``http_503`` (that answer instead
        of carrying out the request), ``timeout`` (answer after ``delay`` seconds), ``truncated`` (half
        the body), ``layout_changed``, ``nfd``, ``insert_while_paging``, or ``after_success_500``: the
        request is carried out normally (state changes happen and are saved), then the client gets
        HTTP 500 ``{"error": "internal error after commit"}`` instead of the real answer: "the server
        created the object but the client saw a failure".

        ``times``: how many matching requests it applies to (None or -1: unlimited); the rule is
        removed when used up. ``opts``: ``retry_after`` (http_429, http_503), ``delay`` (timeout),
        ``count`` (insert_while_paging), ``rename`` (layout_changed: extra JSON key renames).
        Returns the rule as JSON.
        """
        if not isinstance(route, str) or not route.strip():
            raise ValueError("route must be a non-empty string")
        if fault not in FAULT_KINDS:
            raise ValueError(f"unknown fault {fault!r}; one of {', '.join(FAULT_KINDS)}")
        if times is not None:
            times = int(times)
            if times < 0:
                times = None
            elif times == 0:
                raise ValueError("times must be positive or -1 (unlimited)")
        for name in ("retry_after", "delay"):
            if name in opts and opts[name] is not None:
                opts[name] = float(opts[name])
                if opts[name] < 0:
                    raise ValueError(f"{name} must be >= 0")
        if "count" in opts:
            opts["count"] = int(opts["count"])
            if opts["count"] < 1:
                raise ValueError("count must be >= 1")
        if "rename" in opts and not isinstance(opts["rename"], dict):
            raise ValueError("rename must be an object mapping JSON keys to new keys")
        with self._lock:
            rule = FaultRule(self._next_id, route.strip(), fault, times, dict(opts))
            self._next_id += 1
            self._rules.append(rule)
            return rule.as_json()

    def clear(self) -> int:
        """Remove every rule; returns how many there were."""
        with self._lock:
            removed = len(self._rules)
            self._rules.clear()
            return removed

    def remove(self, rule_id: int) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.id != rule_id]
            return len(self._rules) < before

    def as_json(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.as_json() for rule in self._rules]

    def take(self, route_key: str, *, first_list_page: bool) -> list[FaultRule]:
        """The rules applying to this request, in order, each counted down once (used up: removed).

        An HTTP error rule ends the list: the rules after it are not used for this request.
        ``insert_while_paging`` applies only to the first page of the portal's decision list
        (``first_list_page``).
        """
        taken: list[FaultRule] = []
        with self._lock:
            for rule in list(self._rules):
                if not rule.matches(route_key):
                    continue
                if rule.fault == "insert_while_paging" and not first_list_page:
                    continue
                taken.append(rule)
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self._rules.remove(rule)
                if rule.fault in ERROR_FAULTS:
                    break
        return taken

    # -- /_sandbox/faults -------------------------------------------------------------------------

    def route(self, request: Request) -> Response:
        """``GET`` (list), ``POST`` (add; 201 with the rule) and ``DELETE`` (all) of ``/_sandbox/faults``."""
        if request.method == "GET":
            return json_response({"faults": self.as_json()})
        if request.method == "DELETE":
            return json_response({"deleted": self.clear()})
        if request.method != "POST":
            return method_not_allowed()
        try:
            data = json_object(request.body, empty_is_object=True)
        except BodyError as exc:
            return bad_request(str(exc))
        opts = {k: v for k, v in data.items() if k not in ("route", "fault", "times", "id")}
        try:
            rule = self.add(data.get("route"), data.get("fault"), data.get("times"), **opts)
        except (TypeError, ValueError) as exc:
            return bad_request(str(exc))
        return json_response(rule, 201)

    def route_one(self, request: Request) -> Response:
        """``DELETE /_sandbox/faults/{id}``."""
        rule_id = request.tail(FAULTS_PATH + "/")
        if rule_id.isdigit() and self.remove(int(rule_id)):
            return json_response({"deleted": int(rule_id)})
        return error("no such fault rule", 404, id=rule_id)


# -- applying the rules taken for one request ----------------------------------------------------


def before(rules: list[FaultRule]) -> Response | None:
    """Wait out the ``timeout`` rules; the answer of an HTTP error rule (instead of the request), if any."""
    response: Response | None = None
    for rule in rules:
        if rule.fault == "timeout":
            time.sleep(float(rule.opts.get("delay", DEFAULT_TIMEOUT_DELAY)))
        elif rule.fault in ERROR_FAULTS:
            response = error_answer(rule)
    return response


def error_answer(rule: FaultRule) -> Response:
    status = ERROR_FAULTS[rule.fault]
    headers: dict[str, str] = {}
    retry_after = rule.opts.get("retry_after")
    if status == 429:
        headers["Retry-After"] = _retry_after(retry_after or 1)
    elif retry_after is not None:
        headers["Retry-After"] = _retry_after(retry_after)
    messages = {500: "internal error", 429: "too many requests", 503: "service unavailable"}
    return json_response({"error": messages[status], "fault": rule.fault}, status, headers)


def transform(rule: FaultRule, response: Response) -> Response:
    """Apply a body-changing fault (layout_changed, nfd, truncated) to a normal answer."""
    is_text = response.content_type.startswith(("text/", "application/json"))
    if rule.fault == "layout_changed" and is_text:
        if response.content_type == JSON_TYPE:
            try:
                payload = json.loads(response.body.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                return response
            mapping = {**LAYOUT_JSON_KEYS, **rule.opts.get("rename", {})}
            response.body = json.dumps(_rename_keys(payload, mapping), ensure_ascii=False).encode("utf-8")
        else:
            text = re.sub('class="(' + "|".join(map(re.escape, LAYOUT_HTML_CLASSES)) + ')"',
                          lambda m: f'class="{LAYOUT_HTML_CLASSES[m.group(1)]}"',
                          response.body.decode("utf-8"))
            response.body = text.encode("utf-8")
    elif rule.fault == "nfd" and is_text:
        response.body = unicodedata.normalize("NFD", response.body.decode("utf-8")).encode("utf-8")
    elif rule.fault == "truncated":
        response.body = response.body[: len(response.body) // 2]
    return response


def after_commit_error() -> Response:
    """The answer of ``after_success_500``: the request was carried out (and saved); the client never
    learns it."""
    return json_response(AFTER_COMMIT_ERROR, 500)
