"""The sandbox HTTP server: local stand-ins for every external HTTP system of the pipeline.

One ``ThreadingHTTPServer`` serves the rooms, each a module of this package:

* the national TTHC portal (:mod:`~tthc_dev.sandbox.portal`): ``POST /jsp/rest.jsp``, the decision
  detail page and the attachment download, in the exact wire format of the real portal; its procedure
  pages, full (by internal id) and citizen (by code) (:mod:`~tthc_dev.sandbox.procedure_pages`);
* the ministry website (:mod:`~tthc_dev.sandbox.ministry_site`): ``/bo-khcn/van-ban`` and the
  decisions' detail pages with their annex tables;
* the department website's CMS, WordPress' REST API (:mod:`~tthc_dev.sandbox.cms`; accounts with
  Application Passwords, ``cms_accounts``; the project's meta keys registered when ``cms_meta_plugin``):
  posts, pages, media, ``users/me``, comments (:mod:`~tthc_dev.sandbox.cms_comments`) and their public pages;
* the national CSDL publishing endpoint (:mod:`~tthc_dev.sandbox.csdl`, Bearer token ``csdl_token``);
* the provincial public-service portal's procedure catalogue (:mod:`~tthc_dev.sandbox.province_portal`,
  Bearer token ``portal_token``);
* ``/robots.txt`` and a forbidden ``/private/`` area;
* control endpoints under ``/_sandbox/``: ``health``, ``stats`` (request counters per route key and per
  route key and status), ``reset``, ``publish`` (a decision published now, for the portal watcher's
  tests and ``make bench``) and ``faults`` (:mod:`~tthc_dev.sandbox.faults`).

This module holds what the rooms share: the server and its lifecycle, the dispatch table (one
:class:`Mount` per route, the Bearer token of the token-protected APIs checked there, before the room
runs; the CMS signs its accounts in itself, as WordPress does), the request counters, and the order in
which fault rules act on a request.

The HTML pages (ministry listing and detail pages, the portal decision page, robots.txt) carry an
``ETag`` and a ``Last-Modified`` header and answer conditional GETs with ``304 Not Modified``.

The read-only data (decisions, procedures, fields; ``synthetic=N`` generated decisions for
benchmarks) is :class:`~tthc_dev.sandbox.data.Catalogue`; what clients post to the CMS, the CSDL and
the provincial portal is kept in JSON files under ``state_dir`` (:mod:`~tthc_dev.sandbox.state`) so
that a restarted sandbox still holds it. ``reset()`` forgets all of it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, quote, urlsplit

from tthc_dev.sandbox import DATA_DIR, faults
from tthc_dev.sandbox.cms import (
    CMS_MEDIA_PATH,
    CMS_PAGE,
    CMS_PAGE_PUBLIC_PREFIX,
    CMS_PAGES_PATH,
    CMS_POST,
    CMS_POSTS_PATH,
    CMS_PUBLIC_PREFIX,
    CMS_UPLOADS_PREFIX,
    CMS_USERS_ME_PATH,
    Cms,
)
from tthc_dev.sandbox.cms_comments import CMS_COMMENTS_PATH, SANDBOX_COMMENTS_PATH, CmsComments
from tthc_dev.sandbox.cms_wp import accounts_from
from tthc_dev.sandbox.csdl import CSDL_PATH, Csdl
from tthc_dev.sandbox.data import SYNTHETIC_SEED, Catalogue, Decision
from tthc_dev.sandbox.faults import FAULTS_PATH, FaultRegistry
from tthc_dev.sandbox.ministry_site import MINISTRY_LIST_PATH, MinistrySite
from tthc_dev.sandbox.portal import (
    DETAIL_PATH,
    DOWNLOAD_PATH,
    REST_PATH,
    NationalPortal,
    is_first_list_page,
    parse_rest,
    service_of,
)
from tthc_dev.sandbox.procedure_pages import CITIZEN_PATH, FULL_PATH, ProcedurePages
from tthc_dev.sandbox.province_portal import PORTAL_API_PATH, PORTAL_PUBLIC_PREFIX, ProvincePortalRoutes
from tthc_dev.sandbox.provinces import DEFAULT_OWN_LAG_DAYS, own_decisions
from tthc_dev.sandbox.provinces import generate as generate_provinces
from tthc_dev.sandbox.state import Shared
from tthc_dev.sandbox.web import (
    TEXT_TYPE,
    BadRequest,
    Request,
    Response,
    bad_request,
    bearer_ok,
    conditional,
    error,
    json_response,
    unauthorized,
)

logger = logging.getLogger(__name__)

DEFAULT_DATA_DIR = DATA_DIR

CONTROL_PREFIX = "/_sandbox/"
ROBOTS_PATH = "/robots.txt"
PRIVATE_PREFIX = "/private"
DEFAULT_ROBOTS_TXT = "User-agent: *\nDisallow: /private/\nCrawl-delay: 0\n"
# The CMS's accounts: login -> (WordPress role, Application Password as WordPress shows it: spaces ignored).
DEFAULT_CMS_ACCOUNTS: dict[str, tuple[str, str]] = {
    "bientap": ("editor", "Sbx1 Cms2 Edit 3or4 App5 Pass"),
    "tacgia": ("author", "Sbx1 Cms2 Auth 3or4 App5 Pass"),
}
CMS_EDITOR = "bientap"


@dataclass(frozen=True)
class Mount:
    """One route of the dispatch table.

    ``match``: ``"exact"`` (the path itself), ``"tree"`` (the path or anything below ``path/``) or
    ``"prefix"`` (any path starting with ``path``); ``methods``: the methods it takes (None: any; a
    request with another method goes on down the table). ``token``: the Bearer token the route
    requires (read when the request comes), ``unauthorized``: the answer without it.
    """

    path: str
    handler: Callable[[Request], Response]
    methods: tuple[str, ...] | None = None
    match: Literal["exact", "tree", "prefix"] = "exact"
    token: Callable[[], str] | None = None
    unauthorized: Callable[[], Response] = unauthorized

    def matches(self, request: Request) -> bool:
        if self.methods is not None and request.method not in self.methods:
            return False
        if self.match == "prefix":
            return request.path.startswith(self.path)
        if self.match == "tree":
            return request.path == self.path or request.path.startswith(self.path + "/")
        return request.path == self.path

    def answer(self, request: Request) -> Response:
        """The route prologue (the token) and the room's answer."""
        if self.token is not None and not bearer_ok(request.headers, self.token()):
            return self.unauthorized()
        return self.handler(request)


def dispatch(mounts: Sequence[Mount], request: Request) -> Response:
    """The answer of the first mount matching ``request`` (404 if none; a :class:`BadRequest` is a 400)."""
    try:
        for mount in mounts:
            if mount.matches(request):
                return mount.answer(request)
        return error("not found", 404, path=request.path)
    except BadRequest as exc:
        return bad_request(str(exc))


GET = ("GET",)


class Sandbox:
    """All simulated HTTP systems in one threaded server. ``start()`` runs it in the background."""

    def __init__(
        self,
        data_dir: Path = DEFAULT_DATA_DIR,
        state_dir: Path = Path("var/sandbox"),
        host: str = "127.0.0.1",
        port: int = 0,
        cms_accounts: Mapping[str, tuple[str, str]] | None = None,
        cms_meta_plugin: bool = True,
        csdl_token: str = "sandbox-csdl-token",
        portal_token: str = "sandbox-portal-token",
        robots_txt: str = DEFAULT_ROBOTS_TXT,
        synthetic: int = 0,
        synthetic_seed: int = SYNTHETIC_SEED,
        provinces: bool = False,
        own_listing_lag_days: int | None = DEFAULT_OWN_LAG_DAYS,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.state_dir = Path(state_dir)
        self.host = host
        self.port = port
        self.csdl_token = csdl_token
        self.portal_token = portal_token
        self.robots_txt = robots_txt
        self.catalogue = Catalogue(self.data_dir, synthetic=synthetic, seed=synthetic_seed,
                                   provinces=generate_provinces if provinces else None)
        # days from signing until the national list shows a decision pushed to the CSDL (None: never)
        self.own_listing_lag_days = own_listing_lag_days
        self._lock = threading.RLock()
        self._stats: dict[str, int] = {}
        self._status_stats: dict[str, int] = {}
        self._faults = FaultRegistry(self._lock)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        shared = Shared(self.state_dir, self._lock, lambda: self.url)
        self.national_portal = NationalPortal(
            self.catalogue, lambda: own_decisions(self.csdl.records(), self.own_listing_lag_days))
        self.ministry_site = MinistrySite(self.catalogue)
        self.procedure_pages = ProcedurePages(self.catalogue)
        self.cms = Cms(shared, accounts_from(DEFAULT_CMS_ACCOUNTS if cms_accounts is None else cms_accounts),
                       meta_plugin=cms_meta_plugin)
        self.cms_comments = CmsComments(shared, self.cms)
        self.csdl = Csdl(shared)
        self.province_portal = ProvincePortalRoutes(shared)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        portal, ministry, cms = self.national_portal, self.ministry_site, self.cms
        # In this order: the first match answers (a method a route does not take goes on down the table).
        self._mounts: tuple[Mount, ...] = (
            Mount(REST_PATH, portal.rest),
            Mount(ROBOTS_PATH, self._robots, GET),
            Mount(PRIVATE_PREFIX, _forbidden, match="tree"),
            Mount(DETAIL_PATH, portal.detail, GET),
            Mount(DOWNLOAD_PATH, portal.download, GET),
            Mount(FULL_PATH, self.procedure_pages.full, GET),
            Mount(CITIZEN_PATH, self.procedure_pages.citizen, GET),
            Mount(MINISTRY_LIST_PATH, ministry.listing, GET),
            Mount(MINISTRY_LIST_PATH + "/", ministry.detail, GET, match="prefix"),
            Mount(CMS_POSTS_PATH, partial(cms.route, CMS_POST), match="tree"),
            Mount(CMS_PAGES_PATH, partial(cms.route, CMS_PAGE), match="tree"),
            Mount(CMS_MEDIA_PATH, cms.media, match="tree"),
            Mount(CMS_USERS_ME_PATH, cms.users_me, GET),
            Mount(CMS_COMMENTS_PATH, self.cms_comments.route, match="tree"),
            Mount(CMS_UPLOADS_PREFIX, cms.uploads, GET, match="prefix"),
            Mount(CMS_PUBLIC_PREFIX, partial(cms.public, CMS_POST), GET, match="prefix"),
            Mount(CMS_PAGE_PUBLIC_PREFIX, partial(cms.public, CMS_PAGE), GET, match="prefix"),
            Mount(CSDL_PATH, self.csdl.route, match="tree", token=self._csdl_token),
            Mount(PORTAL_API_PATH, self.province_portal.route, match="tree", token=self._portal_token),
            Mount(PORTAL_PUBLIC_PREFIX, self.province_portal.public, GET, match="prefix"),
        )
        self._control_mounts: tuple[Mount, ...] = (
            Mount(CONTROL_PREFIX + "health", lambda _: json_response({"status": "ok"}), GET),
            Mount(CONTROL_PREFIX + "stats", self._stats_answer, GET),
            Mount(CONTROL_PREFIX + "reset", self._reset_answer, ("POST",)),
            Mount(SANDBOX_COMMENTS_PATH, self.cms_comments.sandbox_route, ("POST",)),
            Mount(CONTROL_PREFIX + "publish", self._publish_answer, ("POST",)),
            Mount(FAULTS_PATH, self._faults.route),
            Mount(FAULTS_PATH + "/", self._faults.route_one, ("DELETE",), match="prefix"),
        )

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("sandbox not started")
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{host}:{self._server.server_port}"

    def start(self) -> Sandbox:
        if self._server is not None:
            return self
        server = ThreadingHTTPServer((self.host, self.port), _Handler)
        server.daemon_threads = True
        server.sandbox = self  # type: ignore[attr-defined]
        self._server = server
        self.port = server.server_port
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="tthc-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- dispatch --------------------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes) -> Response:
        split = urlsplit(raw_path)
        path = split.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        request = Request(method, path, query, headers, body)

        if path.startswith(CONTROL_PREFIX):
            return dispatch(self._control_mounts, request)

        stat_key = f"{method} {path}"
        rest_params: Mapping[str, Any] | None = None
        if path == REST_PATH and method == "POST":
            rest_params, _ = parse_rest(body)
            stat_key = f"{method} {path}:{service_of(rest_params)}"
        self._count(stat_key)  # on arrival: a request still being delayed is already counted
        rules = self._faults.take(stat_key, first_list_page=is_first_list_page(rest_params))
        response = faults.before(rules)
        if response is None:
            response = dispatch(self._mounts, request)
            for rule in rules:
                response = faults.transform(rule, response)
            for rule in rules:
                if rule.fault == "insert_while_paging":
                    self.publish_decisions(int(rule.opts.get("count", 1)))
            if method == "GET" and response.conditional and response.status == 200:
                response = conditional(response, headers)
            if any(rule.fault == "after_success_500" for rule in rules):
                # carried out (and saved) above: the client just never learns it
                response = faults.after_commit_error()
        self._count_status(stat_key, response.status)
        return response

    # -- the CMS's accounts and plugin ------------------------------------------------------------------

    @property
    def cms_login(self) -> str:
        """The editor account the publisher signs in with."""
        return CMS_EDITOR

    def cms_app_password(self, login: str = CMS_EDITOR) -> str:
        return self.cms.accounts[login].app_password

    def cms_auth(self, login: str = CMS_EDITOR) -> tuple[str, str]:
        """``(login, application password)`` for ``requests``' ``auth=`` (HTTP Basic)."""
        return login, self.cms_app_password(login)

    def cms_connection(self, login: str = CMS_EDITOR) -> str:
        """The ``tthc_cms`` Connection URI of ``login`` on this sandbox (the password without its spaces)."""
        password = self.cms_app_password(login).replace(" ", "")
        return f"http://{quote(login, safe='')}:{quote(password, safe='')}@127.0.0.1:{self.port}"

    @property
    def cms_meta_plugin(self) -> bool:
        """Whether the project's must-use plugin is "installed" (its meta keys registered)."""
        return self.cms.meta_plugin

    @cms_meta_plugin.setter
    def cms_meta_plugin(self, installed: bool) -> None:
        self.cms.meta_plugin = installed

    # The tokens are read when a request comes (a test may change them on a running sandbox).
    def _csdl_token(self) -> str:
        return self.csdl_token

    def _portal_token(self) -> str:
        return self.portal_token

    def _robots(self, request: Request) -> Response:
        newest = max((d.published for d in self.catalogue.decisions if d.published), default=None)
        return Response(200, self.robots_txt.encode("utf-8"), TEXT_TYPE, conditional=True, last_modified=newest)

    def _count(self, key: str) -> None:
        with self._lock:
            self._stats[key] = self._stats.get(key, 0) + 1

    def _count_status(self, key: str, status: int) -> None:
        with self._lock:
            status_key = f"{key} {status}"
            self._status_stats[status_key] = self._status_stats.get(status_key, 0) + 1

    # -- control ---------------------------------------------------------------------------------

    def _stats_answer(self, request: Request) -> Response:
        with self._lock:
            return json_response({"requests": dict(sorted(self._stats.items())),
                                  "status": dict(sorted(self._status_stats.items()))})

    def _reset_answer(self, request: Request) -> Response:
        self.reset()
        return json_response({"status": "reset"})

    def reset(self) -> None:
        """Forget everything posted to the CMS (posts, pages, media and their files), the CSDL and the
        provincial portal, all request counters, all fault rules and the decisions published by
        ``insert_while_paging``."""
        with self._lock:
            self._stats.clear()
            self._status_stats.clear()
            self._faults.clear()
            self.catalogue.restore()
            self.cms.reset()
            self.cms_comments.reset()
            self.csdl.reset()
            self.province_portal.reset()

    def stats(self) -> dict[str, int]:
        """Requests per route key (faulted and 304 answers included)."""
        with self._lock:
            return dict(self._stats)

    def status_stats(self) -> dict[str, int]:
        """Requests per ``"<route key> <status code>"``."""
        with self._lock:
            return dict(self._status_stats)

    # -- fault injection and data changes ------------------------------------------------------------

    def add_fault(self, route: str, fault: str, times: int | None = None, **opts: Any) -> dict[str, Any]:
        """Add a fault rule; see :meth:`tthc_dev.sandbox.faults.FaultRegistry.add`. Returns it as JSON."""
        return self._faults.add(route, fault, times, **opts)

    def clear_faults(self) -> None:
        self._faults.clear()

    def remove_fault(self, rule_id: int) -> bool:
        return self._faults.remove(rule_id)

    def faults(self) -> list[dict[str, Any]]:
        return self._faults.as_json()

    def publish_decisions(self, count: int = 1, published: date | None = None, agency: str | None = None,
                          signed: date | None = None) -> list[str]:
        """Publish ``count`` new decisions (see :meth:`~tthc_dev.sandbox.data.Catalogue.publish`): the
        ministry's by default, dated ``published`` (default: the newest date listed), signed ``signed``."""
        with self._lock:
            return self.catalogue.publish(count, published=published, agency=agency, signed=signed)

    def _publish_answer(self, request: Request) -> Response:
        """``POST /_sandbox/publish`` ``{"count": 1, "published": "yyyy-mm-dd", "signed": "yyyy-mm-dd",
        "agency": "..."}``: a publication now (tests, ``make bench``); answers the new portal ids, their số
        hiệu and the wall-clock time. The ministry site lists it too (with its annex)."""
        body = _json_body(request)
        try:
            count = int(body.get("count", 1))
            published = date.fromisoformat(str(body["published"])) if body.get("published") else None
            signed = date.fromisoformat(str(body["signed"])) if body.get("signed") else None
        except (TypeError, ValueError) as exc:
            raise BadRequest(f"publish: {exc}") from exc
        if not 1 <= count <= 100:
            raise BadRequest("publish: count must be 1..100")
        agency = str(body["agency"]) if body.get("agency") else None
        ids = self.publish_decisions(count, published=published, agency=agency, signed=signed)
        return json_response({"ids": ids, "so_hieu": [self.catalogue.by_id[i].so_hieu for i in ids],
                              "published_at": datetime.now(UTC).isoformat()})

    def amend_procedure(self, code: str, changed: date, **details: Any) -> None:
        """Change a procedure's page on the portal (see :meth:`~tthc_dev.sandbox.data.Catalogue.amend_procedure`)."""
        with self._lock:
            self.catalogue.amend_procedure(code, changed, **details)

    def group_items(self, decision: Decision, group: str) -> list[tuple[str | None, str]]:
        """(code, name) of the procedures of one item group: new / modified / rescinded."""
        return self.catalogue.group_items(decision, group)

    def ministry_decisions(self) -> list[Decision]:
        return self.catalogue.ministry_decisions()


def _json_body(request: Request) -> dict[str, Any]:
    import json

    try:
        body = json.loads(request.body.decode("utf-8") or "{}")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    return body


def _forbidden(request: Request) -> Response:
    return Response(403, b"403 Forbidden\n", TEXT_TYPE)


class _Handler(BaseHTTPRequestHandler):
    server_version = "TthcSandbox/1.0"

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        sandbox: Sandbox = self.server.sandbox  # type: ignore[attr-defined]
        try:
            response = sandbox.handle(method, self.path, self.headers, body)
        except Exception:  # never let one bad request kill the worker thread silently
            logger.exception("sandbox: %s %s failed", method, self.path)
            response = json_response({"error": "internal error"}, 500)
        self.send_response(response.status)
        if response.status != 304:  # a 304 has no body and describes the cached one
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")

    def do_PATCH(self) -> None:  # noqa: N802
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def do_OPTIONS(self) -> None:  # noqa: N802
        self._dispatch("OPTIONS")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        logger.debug("sandbox %s - %s", self.address_string(), format % args)
