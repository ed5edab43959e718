"""The sandbox HTTP server: local stand-ins for every external HTTP system of the pipeline.

Served from one ``ThreadingHTTPServer``:

* the national TTHC portal: ``POST /jsp/rest.jsp`` (form field ``params=<JSON>``), the decision
  detail page and the attachment download, in the exact wire format of the real portal
  (every JSON value a string, ``AMOUNT``/``ROW_STT`` paging, stray trailing dots on some numbers,
  one decision served in Unicode NFD);
* the ministry website's HTML listing of decisions (``/bo-khcn/van-ban``) and their detail pages;
* the department website's CMS, WordPress REST style (Bearer token ``cms_token``):

  - posts ``/wp-json/wp/v2/posts`` and pages ``/wp-json/wp/v2/pages`` (same API: ``GET`` lists with
    ``slug``/``status``/``per_page``/``page`` and ``X-WP-Total``/``X-WP-TotalPages``; ``POST`` creates;
    ``GET|POST|PUT|PATCH|DELETE .../{id}``, DELETE trashes unless ``force=true``), one id counter for
    both, separate collections, ``"type": "post"|"page"``; public HTML at ``/tin-tuc/{slug}`` (posts)
    and ``/trang/{slug}`` (pages);
  - media ``/wp-json/wp/v2/media``: ``POST`` the raw file (``Content-Disposition: attachment;
    filename="..."``, ``Content-Type``, optional ``?slug=``), ``GET`` list / ``GET .../{id}``,
    ``POST|PUT|PATCH .../{id}`` (JSON ``title``/``slug``/``meta``), ``DELETE .../{id}?force=true``
    (no trash: 501); the files (under ``state_dir/media/``) at ``/wp-content/uploads/{id}-{filename}``;

* the national CSDL publishing endpoint (Bearer token ``csdl_token``): ``GET|POST
  /csdl/api/v1/quyet-dinh-cong-bo`` (lookup by ``so_hieu`` / register; 409 for a known số hiệu) and
  ``GET|PUT /csdl/api/v1/quyet-dinh-cong-bo/{id}`` (``so_hieu`` never changes); invalid records 422;
* the provincial public-service portal's procedure catalogue (Bearer token ``portal_token``, see
  :mod:`tthc_dev.sandbox.province_portal`): ``GET|POST /dvc-tinh/api/v1/thu-tuc`` (list / create, 409 for
  a known ``ma_ngoai``), ``GET|PUT /dvc-tinh/api/v1/thu-tuc/{id}``, ``POST
  /dvc-tinh/api/v1/thu-tuc/{id}/thu-hoi`` (withdraw), public HTML ``/dvc-tinh/thu-tuc/{id}``;
* ``/robots.txt`` and a forbidden ``/private/`` area;
* control endpoints under ``/_sandbox/`` (health, request counters, reset, fault injection).

Fault injection: rules added with ``POST /_sandbox/faults`` (or :meth:`Sandbox.add_fault`) make the
requests of one route (the route keys of ``/_sandbox/stats``; a trailing ``*`` matches any suffix)
fail or misbehave: HTTP 500/429/503, a slow answer, a truncated body, a changed page layout or JSON
keys, an NFD answer, a decision published while a client pages through the portal's list, or
``after_success_500``: the request is carried out (a create or update really happens) but the client
gets HTTP 500 ``{"error": "internal error after commit"}`` instead of the answer.

The HTML pages (ministry listing and detail pages, the portal decision page, robots.txt) carry an
``ETag`` and a ``Last-Modified`` header and answer conditional GETs with ``304 Not Modified``.

``synthetic=N`` adds N generated ministry decisions (older than the demo ones) for benchmarks.

The read-only data (decisions, procedures, fields) comes from YAML files in ``data_dir``; what
clients post to the CMS, the CSDL and the provincial portal is kept in JSON files under ``state_dir``
(``cms_posts.json``: posts, pages and media; ``csdl.json``; ``province_portal.json``; uploaded files
in ``media/``) so that a restarted sandbox still holds it. ``reset()`` forgets all of it.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import hmac
import html
import json
import logging
import math
import mimetypes
import random
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import yaml
from tthc.core.config import SETTINGS_DIR
from tthc.core.fsutil import atomic_write_bytes, atomic_write_text
from tthc.core.sanitize import slugify
from tthc.core.text import strip_accents

from tthc_dev.sandbox import DATA_DIR
from tthc_dev.sandbox.province_portal import (
    PORTAL_API_PATH,
    PORTAL_PUBLIC_PREFIX,
    PORTAL_STATE_FILE,
    Answer,
    ProvincePortal,
)

logger = logging.getLogger(__name__)

DEFAULT_DATA_DIR = DATA_DIR

REST_PATH = "/jsp/rest.jsp"
DETAIL_PATH = "/p/home/dvc-tthc-quyet-dinh-cong-bo-chi-tiet.html"
DOWNLOAD_PATH = "/web/jsp/download_file.jsp"
MINISTRY_LIST_PATH = "/bo-khcn/van-ban"
MINISTRY_PAGE_SIZE = 10
MINISTRY_AGENCY = "Bộ Khoa học và Công nghệ"
FIELD_NAME_SUFFIX = "(Bộ Khoa học và Công nghệ)"
CMS_POSTS_PATH = "/wp-json/wp/v2/posts"
CMS_PAGES_PATH = "/wp-json/wp/v2/pages"
CMS_MEDIA_PATH = "/wp-json/wp/v2/media"
CMS_PUBLIC_PREFIX = "/tin-tuc/"
CMS_PAGE_PUBLIC_PREFIX = "/trang/"
CMS_UPLOADS_PREFIX = "/wp-content/uploads/"
CSDL_PATH = "/csdl/api/v1/quyet-dinh-cong-bo"

CMS_STATE_FILE = "cms_posts.json"
CSDL_STATE_FILE = "csdl.json"
MEDIA_DIR = "media"

CHANGE_LABELS = {
    "new": "Mới ban hành",
    "amended": "Sửa đổi, bổ sung",
    "replaced": "Thay thế",
    "abolished": "Bãi bỏ",
}
LEVEL_LABELS = {"cap_tinh": "Cấp tỉnh", "cap_xa": "Cấp xã", "cap_trung_uong": "Cấp trung ương"}
WP_STATUSES = ("publish", "draft", "pending", "private")
# Agency codes of the national portal's agency list, for agencies the data does not give a code.
KNOWN_AGENCY_CODES = {"bộ khoa học và công nghệ": "G06"}

JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"

ROBOTS_PATH = "/robots.txt"
PRIVATE_PREFIX = "/private"
DEFAULT_ROBOTS_TXT = "User-agent: *\nDisallow: /private/\nCrawl-delay: 0\n"

SYNTHETIC_SEED = 20260101
SYNTHETIC_FIRST_DAY = dt.date(2026, 1, 1)
SYNTHETIC_LAST_DAY = dt.date(2026, 6, 30)

FAULTS_PATH = "/_sandbox/faults"
ERROR_FAULTS = {"http_500": 500, "http_429": 429, "http_503": 503}
FAULT_KINDS = (*ERROR_FAULTS, "timeout", "truncated", "layout_changed", "nfd", "insert_while_paging",
               "after_success_500")
AFTER_COMMIT_ERROR = {"error": "internal error after commit"}
DEFAULT_TIMEOUT_DELAY = 3.0
SEARCH_SERVICE = "decision_publishment_advanced_search_service_v2"
# layout_changed: the main table's class on each HTML page, and the JSON keys of the portal's answers.
LAYOUT_HTML_CLASSES = {"list-van-ban": "ds-van-ban", "phu-luc": "bang-phu-luc", "table-info-row": "info"}
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


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _casefold_key(text: str) -> str:
    """Comparison form: NFC, whitespace collapsed, case-folded (accents kept)."""
    return re.sub(r"\s+", " ", _nfc(text)).strip().casefold()


def _date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value).strip()[:10])


def _fmt_date(value: dt.date | None, sep: str) -> str:
    if value is None:
        return ""
    return f"{value.day:02d}{sep}{value.month:02d}{sep}{value.year:04d}"


def _digits_hash(text: str, width: int = 6) -> str:
    """A stable decimal string derived from ``text``."""
    number = int(hashlib.sha1(text.encode("utf-8")).hexdigest(), 16) % (10**width)
    return f"{number:0{width}d}"


def _http_date(value: dt.date) -> str:
    """RFC 7231 IMF-fixdate of midnight UTC of ``value``."""
    return email.utils.format_datetime(dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC),
                                       usegmt=True)


def _attachment_id(portal_id: str) -> str:
    return hashlib.sha1(f"attachment:{portal_id}".encode()).hexdigest()[:16]


def _decision_order(d: Decision) -> tuple[Any, ...]:
    """Sort key; sorted in reverse it gives the portal's order: newest published first, then highest id."""
    return (d.published or dt.date.min, int(d.portal_id) if d.portal_id.isdigit() else 0, d.portal_id)


def _now_iso() -> str:
    return dt.datetime.now().replace(microsecond=0).isoformat()


def _slugify(text: str) -> str:
    return slugify(text) or "post"


def _so_hieu_key(so_hieu: str) -> str:
    """Duplicate-detection key of a decision number (NFC, upper case, no spaces, no trailing dots)."""
    return re.sub(r"\s+", "", _nfc(so_hieu)).upper().rstrip(".")


def _write_json_atomic(path: Path, payload: Any) -> None:
    atomic_write_text(path, json.dumps(payload, ensure_ascii=False, indent=2))


def _read_json(path: Path, default: Any) -> Any:
    if not path.exists():
        return default
    return json.loads(path.read_text(encoding="utf-8"))


def _ascii_fold(text: str) -> str:
    return strip_accents(text).encode("ascii", "replace").decode("ascii")


def fake_pdf(so_hieu: str, trich_yeu: str = "") -> bytes:
    """A small but well-formed one-page PDF naming the decision.

    The exact ``so_hieu`` is in a UTF-8 comment line and in the document title (UTF-16);
    the page text is an ASCII transliteration (the standard Helvetica font has no Vietnamese).
    """

    def esc(s: str) -> str:
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    lines = [f"Quyet dinh so {_ascii_fold(so_hieu)}", _ascii_fold(trich_yeu)[:90]]
    stream = "BT /F1 12 Tf 72 770 Td 16 TL " + " ".join(f"({esc(line)}) '" for line in lines) + " ET"
    stream_bytes = stream.encode("ascii")
    title_hex = ("FEFF" + so_hieu.encode("utf-16-be").hex().upper()).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream_bytes) + stream_bytes + b"\nendstream",
        b"<< /Title <" + title_hex + b"> /Producer (tthc sandbox) >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n% so_hieu: " + so_hieu.encode("utf-8") + b"\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref_at)
    return bytes(out)


# ---------------------------------------------------------------------------------------------
# Read-only demo data
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    change: str
    code: str | None
    name: str
    levels: tuple[str, ...]
    replaces: str | None


@dataclass(frozen=True)
class Decision:
    portal_id: str
    so_hieu: str
    trich_yeu: str
    agency: str
    agency_portal_id: str
    agency_code: str | None
    signed: dt.date | None
    published: dt.date | None
    effective: dt.date | None
    fields: tuple[str, ...]
    nfd: bool
    items: tuple[Item, ...]
    attachment: str = field(default="")

    def text(self, value: str) -> str:
        """A text value as this decision is served: NFD for the decisions flagged ``nfd``."""
        return unicodedata.normalize("NFD", value) if self.nfd else value


def _load_yaml_list(path: Path, key: str) -> list[dict[str, Any]]:
    payload = yaml.safe_load(path.read_text(encoding="utf-8"))
    if payload is None:
        return []
    if isinstance(payload, dict):
        payload = payload.get(key, [])
    if not isinstance(payload, list):
        raise ValueError(f"{path}: expected a list of entries")
    return [entry for entry in payload if isinstance(entry, dict)]


def _opt_str(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


class Catalogue:
    """Decisions, procedures and fields loaded from ``data_dir`` (plus ``synthetic`` generated decisions)."""

    def __init__(self, data_dir: Path, synthetic: int = 0, seed: int = SYNTHETIC_SEED) -> None:
        self.data_dir = Path(data_dir)
        self.fields: dict[str, dict[str, str]] = {}
        fields_file = self.data_dir / "fields.yaml"
        if not fields_file.exists():  # the demo's fields are the department's own settings file
            fields_file = SETTINGS_DIR / "fields.yaml"
        for entry in _load_yaml_list(fields_file, "fields"):
            key = str(entry["key"])
            self.fields[key] = {"key": key, "portal_id": str(entry["portal_id"]), "name": str(entry["name"])}
        self.procedures: dict[str, dict[str, Any]] = {}
        for entry in _load_yaml_list(self.data_dir / "procedures.yaml", "procedures"):
            code = str(entry["code"])
            self.procedures[code] = {**entry, "code": code, "portal_id": str(entry.get("portal_id") or "")}
        decisions = [self._decision(e) for e in _load_yaml_list(self.data_dir / "decisions.yaml", "decisions")]
        if synthetic > 0:
            decisions += self._synthetic(decisions, synthetic, seed)
        # Newest first: published date descending, then portal id descending.
        decisions.sort(key=_decision_order, reverse=True)
        self.decisions: list[Decision] = []
        self.by_id: dict[str, Decision] = {}
        self.by_attachment: dict[str, Decision] = {}
        self._install(decisions)
        self._initial = list(decisions)
        # Like the real data, some decision numbers carry a stray trailing dot: every third one.
        # Fixed at load, so that decisions inserted later do not change the numbers already served.
        self.stray_dot = {d.portal_id for n, d in enumerate(decisions, start=1) if n % 3 == 0}

    def _install(self, decisions: list[Decision]) -> None:
        # Whole new objects, so that a request being served reads one consistent version.
        self.by_id = {d.portal_id: d for d in decisions}
        self.by_attachment = {d.attachment: d for d in decisions}
        self.decisions = decisions

    def insert(self, new: list[Decision]) -> None:
        """Add decisions (a publication while the sandbox runs); the caller holds the sandbox lock."""
        self._install(sorted([*self.decisions, *new], key=_decision_order, reverse=True))

    def restore(self) -> None:
        """Forget the decisions inserted since load."""
        self._install(list(self._initial))

    def max_portal_id(self) -> int:
        return max((int(d.portal_id) for d in self.decisions if d.portal_id.isdigit()), default=0)

    def ministry_agency_id(self) -> str:
        return next((d.agency_portal_id for d in self.decisions if self.is_ministry(d)), "13")

    def free_ministry_number(self, start: int, taken: set[str]) -> tuple[int, str]:
        """The first ``n >= start`` whose ``n/QĐ-BKHCN`` is not in ``taken`` (keys of ``_so_hieu_key``)."""
        n = start
        while _so_hieu_key(f"{n}/QĐ-BKHCN") in taken:
            n += 1
        return n, f"{n}/QĐ-BKHCN"

    def _synthetic(self, existing: list[Decision], count: int, seed: int) -> list[Decision]:
        """``count`` generated ministry decisions published 2026-01-01..2026-06-30 (seeded, deterministic)."""
        rng = random.Random(seed)
        span = (SYNTHETIC_LAST_DAY - SYNTHETIC_FIRST_DAY).days
        published = sorted(SYNTHETIC_FIRST_DAY + dt.timedelta(days=rng.randint(0, span)) for _ in range(count))
        codes = sorted(self.procedures)
        agency_id = next((d.agency_portal_id for d in existing if self.is_ministry(d)), "13")
        first_id = max((int(d.portal_id) for d in existing if d.portal_id.isdigit()), default=100000) + 1
        taken = {_so_hieu_key(d.so_hieu) for d in existing}
        phrases = {"new": "mới ban hành", "amended": "được sửa đổi, bổ sung", "abolished": "bị bãi bỏ"}
        out: list[Decision] = []
        number = 0
        for n, day in enumerate(published):
            portal_id = str(first_id + n)
            number, so_hieu = self.free_ministry_number(number + 1, taken)
            taken.add(_so_hieu_key(so_hieu))
            chosen = rng.sample(codes, rng.randint(1, min(3, len(codes)))) if codes else [None]
            items = []
            for code in chosen:
                change = rng.choice(("new", "amended", "abolished"))
                proc = self.procedures.get(code) if code else None
                name = str(proc["name"]) if proc else f"Thủ tục hành chính tổng hợp số {portal_id}"
                levels = tuple(str(x) for x in (proc.get("levels") or ["cap_tinh"])) if proc else ("cap_tinh",)
                items.append(Item(change=change, code=code, name=name, levels=levels, replaces=None))
            proc = self.procedures.get(chosen[0]) if chosen[0] else None
            field_key = str(proc.get("field")) if proc and proc.get("field") in self.fields else None
            if field_key is None and self.fields:
                field_key = next(iter(self.fields))
            field_name = self.fields[field_key]["name"] if field_key else "khoa học và công nghệ"
            changes = [phrases[c] for c in ("new", "amended", "abolished") if any(i.change == c for i in items)]
            what = changes[0] if len(changes) == 1 else ", ".join(changes[:-1]) + " và " + changes[-1]
            signed = day - dt.timedelta(days=rng.randint(1, 5))
            out.append(Decision(
                portal_id=portal_id,
                so_hieu=so_hieu,
                trich_yeu=(f"Về việc công bố thủ tục hành chính {what} trong lĩnh vực {field_name.lower()} "
                           f"thuộc phạm vi chức năng quản lý của {MINISTRY_AGENCY}"),
                agency=MINISTRY_AGENCY,
                agency_portal_id=agency_id,
                agency_code=None,
                signed=signed,
                published=day,
                effective=signed + dt.timedelta(days=rng.randint(30, 60)),
                fields=(field_key,) if field_key else (),
                nfd=False,
                items=tuple(items),
                attachment=_attachment_id(portal_id),
            ))
        return out

    @staticmethod
    def _decision(entry: Mapping[str, Any]) -> Decision:
        portal_id = str(entry["portal_id"])
        items = tuple(
            Item(
                change=str(raw.get("change", "")).strip(),
                code=_opt_str(raw.get("code")),
                name=str(raw.get("name", "")),
                levels=tuple(str(level) for level in (raw.get("levels") or [])),
                replaces=_opt_str(raw.get("replaces")),
            )
            for raw in (entry.get("items") or [])
        )
        return Decision(
            portal_id=portal_id,
            so_hieu=str(entry["so_hieu"]),
            trich_yeu=str(entry.get("trich_yeu", "")),
            agency=str(entry.get("agency", "")),
            agency_portal_id=str(entry.get("agency_portal_id", "")),
            agency_code=_opt_str(entry.get("agency_code")),
            signed=_date(entry.get("signed")),
            published=_date(entry.get("published")),
            effective=_date(entry.get("effective")),
            fields=tuple(str(f) for f in (entry.get("fields") or [])),
            nfd=bool(entry.get("nfd", False)),
            items=items,
            attachment=_attachment_id(portal_id),
        )

    def portal_code(self, decision: Decision) -> str:
        """The decision number as the national portal stores it (possibly with a stray dot)."""
        if decision.portal_id in self.stray_dot and not decision.so_hieu.endswith("."):
            return decision.so_hieu + "."
        return decision.so_hieu

    def procedure_id(self, code: str | None, name: str) -> str:
        proc = self.procedures.get(code) if code else None
        if proc and proc.get("portal_id"):
            return str(proc["portal_id"])
        return "9" + _digits_hash(code or _nfc(name))

    def agency_code(self, decision: Decision) -> str:
        if decision.agency_code:
            return decision.agency_code
        known = KNOWN_AGENCY_CODES.get(_casefold_key(decision.agency))
        if known:
            return known
        prefix = "H" if _casefold_key(decision.agency).startswith("ubnd") else "000.00.00.G"
        return prefix + _digits_hash(decision.agency_portal_id or decision.agency, 2)

    def decision_field_names(self, decision: Decision) -> list[tuple[str, str]]:
        return [(self.fields[k]["portal_id"], self.fields[k]["name"]) for k in decision.fields if k in self.fields]

    def is_ministry(self, decision: Decision) -> bool:
        return _casefold_key(decision.agency) == _casefold_key(MINISTRY_AGENCY)


# ---------------------------------------------------------------------------------------------
# Responses
# ---------------------------------------------------------------------------------------------


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


def wp_error(code: str, message: str, status: int, **extra: Any) -> Response:
    return json_response({"code": code, "message": message, "data": {"status": status, **extra}}, status)


class BadRequest(Exception):
    """A client error inside a handler; becomes an HTTP 400 JSON answer."""


def _int_param(params: Mapping[str, Any], name: str, default: int) -> int:
    value = params.get(name, default)
    if value is None or value == "":
        return default
    try:
        return int(str(value).strip())
    except ValueError as exc:
        raise BadRequest(f"parameter {name} must be an integer, got {value!r}") from exc


def _page_rows(rows: list[dict[str, str]], params: Mapping[str, Any]) -> list[dict[str, str]]:
    """One page of ``rows`` with the portal's AMOUNT (total) and ROW_STT (1-based overall index)."""
    size = _int_param(params, "recordPerPage", 10)
    index = _int_param(params, "pageIndex", 1)
    if size < 1 or index < 1:
        return []
    start = (index - 1) * size
    total = str(len(rows))
    return [
        {**row, "AMOUNT": total, "ROW_STT": str(n)}
        for n, row in enumerate(rows[start:start + size], start=start + 1)
    ]


@dataclass(frozen=True)
class CmsKind:
    """One WordPress post type of the CMS: its ``type``, REST path, state collection and public URL prefix."""

    type: str
    path: str
    collection: str
    public_prefix: str


CMS_POST = CmsKind("post", CMS_POSTS_PATH, "posts", CMS_PUBLIC_PREFIX)
CMS_PAGE = CmsKind("page", CMS_PAGES_PATH, "pages", CMS_PAGE_PUBLIC_PREFIX)
CMS_MEDIA = CmsKind("attachment", CMS_MEDIA_PATH, "media", CMS_UPLOADS_PREFIX)
WP_NO_ROUTE = ("rest_no_route", "No route was found matching the URL and request method.", 404)


def _empty_cms() -> dict[str, Any]:
    return {"next_id": 1, "posts": [], "pages": [], "media": []}


def _load_cms(path: Path) -> dict[str, Any]:
    """The CMS state; a file written before pages and media existed (``{"next_id", "posts"}``) still loads."""
    cms = _read_json(path, _empty_cms())
    for key, default in _empty_cms().items():
        cms.setdefault(key, default)
    for kind in (CMS_POST, CMS_PAGE):
        for post in cms[kind.collection]:
            post.setdefault("type", kind.type)
    return cms


def _upload_name(filename: str) -> str:
    """A file name safe in an upload URL (like WordPress' sanitize_file_name, ASCII only)."""
    base = re.split(r"[\\/]", filename)[-1]
    base = re.sub(r"\s+", "-", _ascii_fold(_nfc(base)).replace("?", ""))
    base = re.sub(r"[^A-Za-z0-9._-]+", "", base).strip(".-_")
    return base or "file"


def _content_disposition_filename(value: str) -> str | None:
    """The file name of a ``Content-Disposition`` header (``filename*=UTF-8''...`` or ``filename=...``)."""
    extended = re.search(r"filename\*\s*=\s*([^;]+)", value, re.IGNORECASE)
    if extended:
        charset, _, encoded = extended.group(1).strip().strip('"').partition("''")
        try:
            name = unquote(encoded, encoding=charset or "utf-8", errors="strict")
        except (LookupError, UnicodeDecodeError):
            name = ""
        if name.strip():
            return name.strip()
    plain = re.search(r'filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))', value, re.IGNORECASE)
    if not plain:
        return None
    name = plain.group(1) if plain.group(1) is not None else plain.group(2)
    name = re.sub(r"\\(.)", r"\1", name)
    try:  # http.server decodes header bytes as Latin-1: undo it for a client that sent UTF-8
        name = name.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    return name.strip() or None


# ---------------------------------------------------------------------------------------------
# The sandbox
# ---------------------------------------------------------------------------------------------


class Sandbox:
    """All simulated HTTP systems in one threaded server. ``start()`` runs it in the background."""

    def __init__(
        self,
        data_dir: Path = DEFAULT_DATA_DIR,
        state_dir: Path = Path("var/sandbox"),
        host: str = "127.0.0.1",
        port: int = 0,
        cms_token: str = "sandbox-cms-token",
        csdl_token: str = "sandbox-csdl-token",
        portal_token: str = "sandbox-portal-token",
        robots_txt: str = DEFAULT_ROBOTS_TXT,
        synthetic: int = 0,
        synthetic_seed: int = SYNTHETIC_SEED,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.state_dir = Path(state_dir)
        self.host = host
        self.port = port
        self.cms_token = cms_token
        self.csdl_token = csdl_token
        self.portal_token = portal_token
        self.robots_txt = robots_txt
        self.catalogue = Catalogue(self.data_dir, synthetic=synthetic, seed=synthetic_seed)
        self._lock = threading.Lock()
        self._stats: dict[str, int] = {}
        self._status_stats: dict[str, int] = {}
        self._faults: list[FaultRule] = []
        self._next_fault_id = 1
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._cms = _load_cms(self.state_dir / CMS_STATE_FILE)
        self._csdl = _read_json(self.state_dir / CSDL_STATE_FILE, {"next_id": 1, "records": []})
        self._portal = ProvincePortal(_read_json(self.state_dir / PORTAL_STATE_FILE, None))
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._services: dict[str, Callable[[Mapping[str, Any]], Any]] = {
            "decision_publishment_advanced_search_service_v2": self._svc_search,
            "get_procedures_by_dp_id_service_v2": lambda p: self._svc_group(p, "new"),
            "get_modified_procedures_by_dp_id_service_v2": lambda p: self._svc_group(p, "modified"),
            "get_rescinded_procedures_by_dp_id_service_v2": lambda p: self._svc_group(p, "rescinded"),
            "get_fields_by_dp_id_services_v2": self._svc_fields,
            "get_list_agency_service_v2": self._svc_agencies,
            "procedure_get_list_field_service_v2": self._svc_all_fields,
        }

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

        if path.startswith("/_sandbox/"):
            return self._control(method, path, body)

        stat_key = f"{method} {path}"
        rest_params: Mapping[str, Any] | None = None
        if path == REST_PATH and method == "POST":
            rest_params, _ = self._parse_rest(body)
            stat_key = f"{method} {path}:{self._service_of(rest_params)}"
        self._count(stat_key)  # on arrival: a request still being delayed is already counted
        rules = self._take_faults(stat_key, rest_params)
        response: Response | None = None
        for rule in rules:
            if rule.fault == "timeout":
                time.sleep(float(rule.opts.get("delay", DEFAULT_TIMEOUT_DELAY)))
            elif rule.fault in ERROR_FAULTS:
                response = self._error_fault(rule)
        if response is None:
            response = self._route(method, path, query, headers, body)
            for rule in rules:
                response = self._transform(rule, response)
            for rule in rules:
                if rule.fault == "insert_while_paging":
                    self.publish_decisions(int(rule.opts.get("count", 1)))
            if method == "GET" and response.conditional and response.status == 200:
                response = self._conditional(response, headers)
            if any(rule.fault == "after_success_500" for rule in rules):
                # carried out (and saved) above: the client just never learns it
                response = json_response(AFTER_COMMIT_ERROR, 500)
        self._count_status(stat_key, response.status)
        return response

    def _route(self, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str],
               body: bytes) -> Response:
        try:
            if path == REST_PATH:
                if method != "POST":
                    response = json_response({"error": "method not allowed"}, 405)
                else:
                    response, _ = self._rest(body)
            elif path == ROBOTS_PATH and method == "GET":
                newest = max((d.published for d in self.catalogue.decisions if d.published), default=None)
                response = Response(200, self.robots_txt.encode("utf-8"), TEXT_TYPE, conditional=True,
                                    last_modified=newest)
            elif path == PRIVATE_PREFIX or path.startswith(PRIVATE_PREFIX + "/"):
                response = Response(403, b"403 Forbidden\n", TEXT_TYPE)
            elif path == DETAIL_PATH and method == "GET":
                response = self._national_detail(query)
            elif path == DOWNLOAD_PATH and method == "GET":
                response = self._download(query)
            elif path == MINISTRY_LIST_PATH and method == "GET":
                response = self._ministry_list(query)
            elif path.startswith(MINISTRY_LIST_PATH + "/") and method == "GET":
                response = self._ministry_detail(path[len(MINISTRY_LIST_PATH) + 1:])
            elif path == CMS_POSTS_PATH or path.startswith(CMS_POSTS_PATH + "/"):
                response = self._cms_route(CMS_POST, method, path, query, headers, body)
            elif path == CMS_PAGES_PATH or path.startswith(CMS_PAGES_PATH + "/"):
                response = self._cms_route(CMS_PAGE, method, path, query, headers, body)
            elif path == CMS_MEDIA_PATH or path.startswith(CMS_MEDIA_PATH + "/"):
                response = self._media_route(method, path, query, headers, body)
            elif path.startswith(CMS_UPLOADS_PREFIX) and method == "GET":
                response = self._media_file(path[len(CMS_UPLOADS_PREFIX):])
            elif path.startswith(CMS_PUBLIC_PREFIX) and method == "GET":
                response = self._cms_public(CMS_POST, path[len(CMS_PUBLIC_PREFIX):])
            elif path.startswith(CMS_PAGE_PUBLIC_PREFIX) and method == "GET":
                response = self._cms_public(CMS_PAGE, path[len(CMS_PAGE_PUBLIC_PREFIX):])
            elif path == CSDL_PATH or path.startswith(CSDL_PATH + "/"):
                response = self._csdl_route(method, path, query, headers, body)
            elif path == PORTAL_API_PATH or path.startswith(PORTAL_API_PATH + "/"):
                response = self._portal_route(method, path, query, headers, body)
            elif path.startswith(PORTAL_PUBLIC_PREFIX) and method == "GET":
                response = self._portal_public(path[len(PORTAL_PUBLIC_PREFIX):])
            else:
                response = json_response({"error": "not found", "path": path}, 404)
        except BadRequest as exc:
            response = json_response({"error": "bad request", "message": str(exc)}, 400)
        return response

    def _count(self, key: str) -> None:
        with self._lock:
            self._stats[key] = self._stats.get(key, 0) + 1

    def _count_status(self, key: str, status: int) -> None:
        with self._lock:
            status_key = f"{key} {status}"
            self._status_stats[status_key] = self._status_stats.get(status_key, 0) + 1

    def _control(self, method: str, path: str, body: bytes = b"") -> Response:
        if path == "/_sandbox/health" and method == "GET":
            return json_response({"status": "ok"})
        if path == "/_sandbox/stats" and method == "GET":
            with self._lock:
                return json_response({"requests": dict(sorted(self._stats.items())),
                                      "status": dict(sorted(self._status_stats.items()))})
        if path == "/_sandbox/reset" and method == "POST":
            self.reset()
            return json_response({"status": "reset"})
        if path == FAULTS_PATH:
            return self._faults_route(method, body)
        if path.startswith(FAULTS_PATH + "/") and method == "DELETE":
            rule_id = path[len(FAULTS_PATH) + 1:]
            if rule_id.isdigit() and self.remove_fault(int(rule_id)):
                return json_response({"deleted": int(rule_id)})
            return json_response({"error": "no such fault rule", "id": rule_id}, 404)
        return json_response({"error": "not found", "path": path}, 404)

    def reset(self) -> None:
        """Forget everything posted to the CMS (posts, pages, media and their files), the CSDL and the
        provincial portal, all request counters, all fault rules and the decisions published by
        ``insert_while_paging``."""
        with self._lock:
            self._stats.clear()
            self._status_stats.clear()
            self._faults.clear()
            self.catalogue.restore()
            self._cms = _empty_cms()
            self._csdl = {"next_id": 1, "records": []}
            self._portal.clear()
            self._save_cms()
            self._save_csdl()
            self._save_portal()
            media_dir = self.state_dir / MEDIA_DIR
            if media_dir.is_dir():
                for stored in media_dir.iterdir():
                    if stored.is_file():
                        stored.unlink()

    def stats(self) -> dict[str, int]:
        """Requests per route key (faulted and 304 answers included)."""
        with self._lock:
            return dict(self._stats)

    def status_stats(self) -> dict[str, int]:
        """Requests per ``"<route key> <status code>"``."""
        with self._lock:
            return dict(self._status_stats)

    # -- fault injection ---------------------------------------------------------------------------

    def add_fault(self, route: str, fault: str, times: int | None = None, **opts: Any) -> dict[str, Any]:
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
            rule = FaultRule(self._next_fault_id, route.strip(), fault, times, dict(opts))
            self._next_fault_id += 1
            self._faults.append(rule)
            return rule.as_json()

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def remove_fault(self, rule_id: int) -> bool:
        with self._lock:
            before = len(self._faults)
            self._faults = [r for r in self._faults if r.id != rule_id]
            return len(self._faults) < before

    def faults(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.as_json() for rule in self._faults]

    def _faults_route(self, method: str, body: bytes) -> Response:
        if method == "GET":
            return json_response({"faults": self.faults()})
        if method == "DELETE":
            with self._lock:
                removed = len(self._faults)
                self._faults.clear()
            return json_response({"deleted": removed})
        if method != "POST":
            return json_response({"error": "method not allowed"}, 405)
        try:
            data = json.loads(body.decode("utf-8") or "{}")
        except (UnicodeDecodeError, json.JSONDecodeError):
            return json_response({"error": "bad request", "message": "body is not JSON"}, 400)
        if not isinstance(data, dict):
            return json_response({"error": "bad request", "message": "body must be a JSON object"}, 400)
        opts = {k: v for k, v in data.items() if k not in ("route", "fault", "times", "id")}
        try:
            rule = self.add_fault(data.get("route"), data.get("fault"), data.get("times"), **opts)
        except (TypeError, ValueError) as exc:
            return json_response({"error": "bad request", "message": str(exc)}, 400)
        return json_response(rule, 201)

    def _take_faults(self, route_key: str, rest_params: Mapping[str, Any] | None) -> list[FaultRule]:
        """The rules applying to this request, in order, each counted down once (used up: removed).

        An HTTP error rule ends the list: the rules after it are not used for this request.
        ``insert_while_paging`` applies only to the first page of the portal's decision list.
        """
        taken: list[FaultRule] = []
        with self._lock:
            for rule in list(self._faults):
                if not rule.matches(route_key):
                    continue
                if rule.fault == "insert_while_paging" and not self._is_first_list_page(rest_params):
                    continue
                taken.append(rule)
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self._faults.remove(rule)
                if rule.fault in ERROR_FAULTS:
                    break
        return taken

    @staticmethod
    def _is_first_list_page(params: Mapping[str, Any] | None) -> bool:
        if not params or str(params.get("service") or "") != SEARCH_SERVICE:
            return False
        try:
            return int(str(params.get("pageIndex", 1)).strip() or 1) == 1
        except ValueError:
            return False

    @staticmethod
    def _error_fault(rule: FaultRule) -> Response:
        status = ERROR_FAULTS[rule.fault]
        headers: dict[str, str] = {}
        retry_after = rule.opts.get("retry_after")
        if status == 429:
            headers["Retry-After"] = _retry_after(retry_after or 1)
        elif retry_after is not None:
            headers["Retry-After"] = _retry_after(retry_after)
        messages = {500: "internal error", 429: "too many requests", 503: "service unavailable"}
        return json_response({"error": messages[status], "fault": rule.fault}, status, headers)

    @staticmethod
    def _transform(rule: FaultRule, response: Response) -> Response:
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

    @staticmethod
    def _conditional(response: Response, headers: Mapping[str, str]) -> Response:
        etag = '"' + hashlib.sha1(response.body).hexdigest() + '"'
        response.headers["ETag"] = etag
        if response.last_modified is not None:
            response.headers["Last-Modified"] = _http_date(response.last_modified)
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

    def publish_decisions(self, count: int = 1) -> list[str]:
        """Publish ``count`` new ministry decisions at the top of the portal's list (as happens while a
        client pages through it): published on the newest existing date, portal ids above all others,
        one new provincial-level procedure each. Returns their portal ids."""
        with self._lock:
            cat = self.catalogue
            newest = max((d.published for d in cat.decisions if d.published), default=dt.date.today())
            next_id = cat.max_portal_id() + 1
            taken = {_so_hieu_key(d.so_hieu) for d in cat.decisions}
            numbers = [int(m.group(0)) for d in cat.decisions if (m := re.match(r"\d+", d.so_hieu))]
            number = max(numbers, default=0)
            field_key = next((d.fields[0] for d in cat.decisions if cat.is_ministry(d) and d.fields), None)
            if field_key is None and cat.fields:
                field_key = next(iter(cat.fields))
            agency_id = cat.ministry_agency_id()
            new: list[Decision] = []
            for n in range(count):
                portal_id = str(next_id + n)
                number, so_hieu = cat.free_ministry_number(number + 1, taken)
                taken.add(_so_hieu_key(so_hieu))
                signed = newest - dt.timedelta(days=2)
                new.append(Decision(
                    portal_id=portal_id,
                    so_hieu=so_hieu,
                    trich_yeu=f"Về việc công bố thủ tục hành chính mới ban hành thuộc phạm vi chức năng quản lý "
                              f"của {MINISTRY_AGENCY} (công bố bổ sung {portal_id})",
                    agency=MINISTRY_AGENCY,
                    agency_portal_id=agency_id,
                    agency_code=None,
                    signed=signed,
                    published=newest,
                    effective=signed + dt.timedelta(days=45),
                    fields=(field_key,) if field_key else (),
                    nfd=False,
                    items=(Item(change="new", code=None, name=f"Thủ tục hành chính mới ban hành số {portal_id}",
                                levels=("cap_tinh",), replaces=None),),
                    attachment=_attachment_id(portal_id),
                ))
            cat.insert(new)
            return [d.portal_id for d in new]

    # -- national portal: rest.jsp ----------------------------------------------------------------

    @staticmethod
    def _parse_rest(body: bytes) -> tuple[dict[str, Any] | None, Response | None]:
        """The ``params`` JSON object of a rest.jsp form body, or the 400 answer."""
        form = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
        raw = form.get("params", [None])[-1]
        if raw is None:
            return None, json_response({"error": "bad request", "message": "missing form field params"}, 400)
        try:
            params = json.loads(raw)
        except json.JSONDecodeError as exc:
            return None, json_response({"error": "bad request", "message": f"params is not JSON: {exc}"}, 400)
        if not isinstance(params, dict):
            return None, json_response({"error": "bad request", "message": "params must be a JSON object"}, 400)
        return params, None

    @staticmethod
    def _service_of(params: Mapping[str, Any] | None) -> str:
        if params is None:
            return "?"
        return str(params.get("service") or "") or "?"

    def _rest(self, body: bytes) -> tuple[Response, str]:
        params, error = self._parse_rest(body)
        if params is None:
            return error or json_response({"error": "bad request"}, 400), "?"
        service = str(params.get("service") or "")
        handler = self._services.get(service)
        if handler is None:
            return json_response({"error": "unknown service", "service": service}, 400), service or "?"
        try:
            return json_response(handler(params)), service
        except BadRequest as exc:
            return json_response({"error": "bad request", "message": str(exc)}, 400), service

    def _svc_search(self, params: Mapping[str, Any]) -> list[dict[str, str]]:
        cat = self.catalogue
        agency_id = str(params.get("agency_id", "-1") or "-1").strip()
        field_id = str(params.get("field_id", "-1") or "-1").strip()
        keyword = _casefold_key(str(params.get("keyword") or ""))
        date_text = str(params.get("publishing_date") or "").strip()
        wanted_date = None
        if date_text:
            try:
                wanted_date = dt.datetime.strptime(date_text, "%d-%m-%Y").date()
            except ValueError as exc:
                raise BadRequest(f"publishing_date must be dd-mm-yyyy, got {date_text!r}") from exc
        rows = []
        for d in cat.decisions:
            if agency_id != "-1" and d.agency_portal_id != agency_id:
                continue
            if field_id != "-1" and field_id not in {pid for pid, _ in cat.decision_field_names(d)}:
                continue
            if keyword and keyword not in _casefold_key(d.so_hieu) and keyword not in _casefold_key(d.trich_yeu):
                continue
            if wanted_date is not None and d.published != wanted_date:
                continue
            rows.append({
                "ID": d.portal_id,
                "CODE": d.text(cat.portal_code(d)),
                "NAME": d.text(d.trich_yeu),
                "PUBLISHING_DATE": _fmt_date(d.published, "-"),
                "AGENCY_NAME": d.text(d.agency),
                "AGENCY_ID": d.agency_portal_id,
            })
        return _page_rows(rows, params)

    def group_items(self, decision: Decision, group: str) -> list[tuple[str | None, str]]:
        """(code, name) of the procedures of one item group: new / modified / rescinded."""
        out: list[tuple[str | None, str]] = []
        for item in decision.items:
            if group == "new" and item.change in ("new", "replaced"):
                out.append((item.code, item.name))
            elif group == "modified" and item.change == "amended":
                out.append((item.code, item.name))
            elif group == "rescinded":
                if item.change == "abolished":
                    out.append((item.code, item.name))
                elif item.change == "replaced" and item.replaces:
                    proc = self.catalogue.procedures.get(item.replaces)
                    name = str(proc["name"]) if proc else f"Thủ tục {item.replaces}"
                    out.append((item.replaces, name))
        return out

    def _svc_group(self, params: Mapping[str, Any], group: str) -> list[dict[str, str]]:
        decision = self.catalogue.by_id.get(str(params.get("dp_id", "")).strip())
        if decision is None:
            return []
        rows = [
            {
                "ID": self.catalogue.procedure_id(code, name),
                "PROCEDURE_NAME": decision.text(name),
                "PUBLISHED_AGENCY": decision.text(decision.agency),
                "PUBLISHED_AGENCY_ID": decision.agency_portal_id,
            }
            for code, name in self.group_items(decision, group)
        ]
        return _page_rows(rows, params)

    def _svc_fields(self, params: Mapping[str, Any]) -> list[dict[str, str]]:
        dp_id = str(params.get("dp_id", params.get("id", ""))).strip()
        decision = self.catalogue.by_id.get(dp_id)
        if decision is None:
            return []
        return [{"ID": pid, "NAME": decision.text(name)} for pid, name in self.catalogue.decision_field_names(decision)]

    def _svc_agencies(self, params: Mapping[str, Any]) -> list[dict[str, str]]:
        seen: dict[str, dict[str, str]] = {}
        for d in self.catalogue.decisions:
            if d.agency_portal_id in seen:
                continue
            seen[d.agency_portal_id] = {
                "ID": d.agency_portal_id,
                "AGENCY_NAME": d.agency,
                "NAME": d.agency,
                "CODE": self.catalogue.agency_code(d),
            }
        return sorted(seen.values(), key=lambda row: row["NAME"])

    def _svc_all_fields(self, params: Mapping[str, Any]) -> list[dict[str, str]]:
        return [
            {"ID": f["portal_id"], "FIELD_NAME": f["name"] + FIELD_NAME_SUFFIX}
            for f in sorted(self.catalogue.fields.values(), key=lambda f: f["name"])
        ]

    # -- national portal: pages ------------------------------------------------------------------

    def _national_detail(self, query: Mapping[str, str]) -> Response:
        decision = self.catalogue.by_id.get(query.get("ma_quyet_dinh", "").strip())
        if decision is None:
            return html_response(_page("Không tìm thấy", "<p>Không tìm thấy quyết định công bố.</p>"), 404)
        d, e = decision, html.escape
        code = e(d.text(self.catalogue.portal_code(d)))
        fields = ", ".join(name for _, name in self.catalogue.decision_field_names(d)) or "Không có thông tin"
        number = re.match(r"\d*", d.so_hieu).group(0)
        file_name = f"{number}{_fmt_date(d.signed, '.')}_signed.pdf"
        body = f"""<div class="tthc"><div class="main-wrapper"><div class="container">
<ul class="breadcrumb"><li><a href="dvc-tthc-trang-chu.html">Trang chủ</a></li>
<li><a href="dvc-tthc-quyet-dinh-cong-bo.html">Quyết định công bố</a></li><li><a href="#">Chi tiết</a></li></ul>
<div class="box">
<h2 class="main-title">Số quyết định: {code}</h2>
<div id="qdcb" class="tab-pane active">
<table class="table-info-row">
<tbody>
<tr><td class="key">Số quyết định</td><td class="value">{code}</td></tr>
<tr><td class="key">Trích yếu</td><td class="value">{e(d.text(d.trich_yeu))}</td></tr>
<tr><td class="key">Ngày quyết định</td><td class="value">{_fmt_date(d.signed, "-")}</td></tr>
<tr><td class="key">Lĩnh vực</td><td id="content-fields" class="value">{e(d.text(fields))}</td></tr>
<tr><td class="key">File đính kèm</td><td id="content-attachments" class="value"><a class="link" \
href="{DOWNLOAD_PATH}?ma={d.attachment}">{e(file_name)}</a></td></tr>
<tr><td class="key">Cơ quan ban hành</td><td class="value">{e(d.text(d.agency))}</td></tr>
</tbody>
</table>
</div>
</div>
</div></div></div>"""
        return html_response(_page("Cổng Dịch vụ công Quốc gia", body), conditional=True,
                             last_modified=d.published or d.signed)

    def _download(self, query: Mapping[str, str]) -> Response:
        decision = self.catalogue.by_attachment.get(query.get("ma", "").strip().lower())
        if decision is None:
            return Response(404, b"File not found", "text/plain; charset=utf-8")
        ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "_", _ascii_fold(decision.so_hieu)).strip("_") + ".pdf"
        return Response(
            200,
            fake_pdf(decision.so_hieu, decision.trich_yeu),
            "application/pdf",
            {"Content-Disposition": f'attachment; filename="{ascii_name}"'},
        )

    # -- ministry website ------------------------------------------------------------------------

    def ministry_decisions(self) -> list[Decision]:
        return [d for d in self.catalogue.decisions if self.catalogue.is_ministry(d)]

    def _ministry_list(self, query: Mapping[str, str]) -> Response:
        page = _int_param(query, "page", 1)
        if page < 1:
            raise BadRequest("page must be >= 1")
        decisions = self.ministry_decisions()
        start = (page - 1) * MINISTRY_PAGE_SIZE
        e = html.escape
        rows = "".join(
            f"""
  <tr class="van-ban">
    <td class="so-hieu"><a href="{MINISTRY_LIST_PATH}/{e(d.portal_id)}">{e(d.text(d.so_hieu))}</a></td>
    <td class="ngay-ban-hanh">{_fmt_date(d.signed, "/")}</td>
    <td class="ngay-hieu-luc">{_fmt_date(d.effective, "/")}</td>
    <td class="trich-yeu">{e(d.text(d.trich_yeu))}</td>
  </tr>"""
            for d in decisions[start:start + MINISTRY_PAGE_SIZE]
        )
        pagination = ""
        if start + MINISTRY_PAGE_SIZE < len(decisions):
            pagination = (f'<div class="pagination"><a class="next" href="{MINISTRY_LIST_PATH}?page={page + 1}">'
                          "Trang sau</a></div>\n")
        text = (
            '<html><head><meta charset="utf-8"><title>Văn bản - Bộ Khoa học và Công nghệ</title></head><body>\n'
            '<table class="list-van-ban"><thead><tr><th>Số ký hiệu</th><th>Ngày ban hành</th>'
            "<th>Ngày hiệu lực</th><th>Trích yếu</th></tr></thead><tbody>"
            f"{rows}\n</tbody></table>\n{pagination}</body></html>\n"
        )
        shown = decisions[start:start + MINISTRY_PAGE_SIZE] or decisions
        newest = max((d.published or d.signed for d in shown if d.published or d.signed), default=None)
        return html_response(text, conditional=True, last_modified=newest)

    def _ministry_detail(self, portal_id: str) -> Response:
        decision = self.catalogue.by_id.get(portal_id)
        if decision is None or not self.catalogue.is_ministry(decision):
            return html_response(_page("Không tìm thấy", "<p>Không tìm thấy văn bản.</p>"), 404)
        d, e, cat = decision, html.escape, self.catalogue
        decision_field = cat.fields[d.fields[0]]["name"] if d.fields and d.fields[0] in cat.fields else ""
        rows = []
        for n, item in enumerate(d.items, start=1):
            proc = cat.procedures.get(item.code) if item.code else None
            field_name = decision_field
            if proc and proc.get("field") in cat.fields:
                field_name = cat.fields[proc["field"]]["name"]
            levels = "; ".join(LEVEL_LABELS.get(level, level) for level in item.levels)
            rows.append(
                f'  <tr class="tthc"><td class="stt">{n}</td><td class="ma">{e(item.code or "")}</td>'
                f'<td class="ten">{e(d.text(item.name))}</td>'
                f'<td class="loai">{e(CHANGE_LABELS.get(item.change, item.change))}</td>'
                f'<td class="cap">{e(levels)}</td><td class="linh-vuc">{e(field_name)}</td>'
                f'<td class="thay-the">{e(item.replaces or "")}</td></tr>'
            )
        so_hieu = e(d.text(d.so_hieu))
        text = f"""<html><head><meta charset="utf-8"><title>{so_hieu} - Bộ Khoa học và Công nghệ</title></head><body>
<h1 class="tieu-de">{so_hieu}</h1>
<dl class="thuoc-tinh"><dt>Số ký hiệu</dt><dd class="so-hieu">{so_hieu}</dd>\
<dt>Ngày ban hành</dt><dd class="ngay-ban-hanh">{_fmt_date(d.signed, "/")}</dd>\
<dt>Ngày hiệu lực</dt><dd class="ngay-hieu-luc">{_fmt_date(d.effective, "/")}</dd>\
<dt>Cơ quan ban hành</dt><dd class="co-quan">{e(d.text(d.agency))}</dd>\
<dt>Trích yếu</dt><dd class="trich-yeu">{e(d.text(d.trich_yeu))}</dd></dl>
<table class="phu-luc"><thead><tr><th>STT</th><th>Mã TTHC</th><th>Tên thủ tục hành chính</th><th>Loại</th>\
<th>Cấp thực hiện</th><th>Lĩnh vực</th><th>Thay thế</th></tr></thead><tbody>
{chr(10).join(rows)}
</tbody></table>
<div class="dinh-kem"><a href="{DOWNLOAD_PATH}?ma={d.attachment}">{so_hieu}.pdf</a></div>
</body></html>
"""
        return html_response(text, conditional=True, last_modified=d.published or d.signed)

    # -- CMS (WordPress REST style) ----------------------------------------------------------------

    @staticmethod
    def _bearer_ok(headers: Mapping[str, str], token: str) -> bool:
        auth = headers.get("Authorization") or ""
        scheme, _, given = auth.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())

    def _save_cms(self) -> None:
        _write_json_atomic(self.state_dir / CMS_STATE_FILE, self._cms)

    def _save_csdl(self) -> None:
        _write_json_atomic(self.state_dir / CSDL_STATE_FILE, self._csdl)

    def _save_portal(self) -> None:
        _write_json_atomic(self.state_dir / PORTAL_STATE_FILE, self._portal.state)

    def _cms_route(self, kind: CmsKind, method: str, path: str, query: Mapping[str, str],
                   headers: Mapping[str, str], body: bytes) -> Response:
        if not self._bearer_ok(headers, self.cms_token):
            return wp_error("rest_forbidden", "Sorry, you are not allowed to do that.", 401)
        rest = path[len(kind.path):].strip("/")
        if not rest:
            if method == "GET":
                return self._cms_list(kind, query)
            if method == "POST":
                return self._cms_create(kind, body)
            return wp_error(*WP_NO_ROUTE)
        if not rest.isdigit():
            return wp_error(*WP_NO_ROUTE)
        post_id = int(rest)
        if method == "GET":
            with self._lock:
                post = self._find_post(post_id, kind)
                if post is None:
                    return wp_error("rest_post_invalid_id", "Invalid post ID.", 404)
                return json_response(post)
        if method in ("POST", "PUT", "PATCH"):
            return self._cms_update(kind, post_id, body)
        if method == "DELETE":
            return self._cms_delete(kind, post_id, query)
        return wp_error(*WP_NO_ROUTE)

    def _find_post(self, post_id: int, kind: CmsKind = CMS_POST) -> dict[str, Any] | None:
        return next((p for p in self._cms[kind.collection] if p["id"] == post_id), None)

    def _unique_slug(self, wanted: str, own_id: int | None = None, collection: str = "posts") -> str:
        """``wanted``, or ``wanted-2``, ``wanted-3``... : unique within one collection (posts, pages, media)."""
        taken = {p["slug"] for p in self._cms[collection] if p["id"] != own_id}
        if wanted not in taken:
            return wanted
        n = 2
        while f"{wanted}-{n}" in taken:
            n += 1
        return f"{wanted}-{n}"

    def _take_cms_id(self) -> int:
        """The next id of the CMS (posts, pages and media share one counter, as in WordPress); lock held."""
        new_id = int(self._cms["next_id"])
        self._cms["next_id"] = new_id + 1
        return new_id

    @staticmethod
    def _json_body(body: bytes) -> dict[str, Any] | Response:
        try:
            data = json.loads(body.decode("utf-8") or "{}")
        except (UnicodeDecodeError, json.JSONDecodeError):
            return wp_error("rest_invalid_json", "Invalid JSON body passed.", 400)
        if not isinstance(data, dict):
            return wp_error("rest_invalid_json", "Invalid JSON body passed.", 400)
        return data

    @staticmethod
    def _wp_text(value: Any) -> str | None:
        """WordPress accepts a field as a string or as ``{"raw": ...}``."""
        if isinstance(value, dict):
            value = value.get("raw", value.get("rendered"))
        if value is None:
            return None
        return str(value)

    @staticmethod
    def _apply_meta(obj: dict[str, Any], data: Mapping[str, Any]) -> Response | None:
        if "meta" in data and data["meta"] is not None:
            if not isinstance(data["meta"], dict):
                return wp_error("rest_invalid_param", "Invalid parameter(s): meta", 400,
                                params={"meta": "meta is not of type object."})
            obj["meta"] = {**obj.get("meta", {}), **data["meta"]}
        return None

    def _apply_post_fields(self, post: dict[str, Any], data: Mapping[str, Any]) -> Response | None:
        if "status" in data:
            status = str(data["status"])
            if status not in WP_STATUSES:
                return wp_error("rest_invalid_param", "Invalid parameter(s): status", 400,
                                params={"status": f"status is not one of {', '.join(WP_STATUSES)}."})
            post["status"] = status
        error = self._apply_meta(post, data)
        if error is not None:
            return error
        if "title" in data:
            post["title"] = {"rendered": self._wp_text(data["title"]) or ""}
        if "content" in data:
            post["content"] = {"rendered": self._wp_text(data["content"]) or ""}
        return None

    def _cms_create(self, kind: CmsKind, body: bytes) -> Response:
        data = self._json_body(body)
        if isinstance(data, Response):
            return data
        title = self._wp_text(data.get("title"))
        content = self._wp_text(data.get("content"))
        missing = [name for name, value in (("title", title), ("content", content)) if not (value or "").strip()]
        if missing:
            return wp_error("rest_invalid_param", f"Invalid parameter(s): {', '.join(missing)}", 400,
                            params={name: f"{name} is required." for name in missing})
        with self._lock:
            now = _now_iso()
            post: dict[str, Any] = {"id": 0, "date": now, "modified": now, "slug": "", "type": kind.type,
                                    "status": "draft", "link": "", "title": {}, "content": {}, "meta": {}}
            error = self._apply_post_fields(post, data)
            if error is not None:
                return error
            post_id = post["id"] = self._take_cms_id()
            slug = self._unique_slug(_slugify(str(data.get("slug") or "") or title or ""),
                                     collection=kind.collection)
            post["slug"] = slug
            post["link"] = f"{self.url}{kind.public_prefix}{slug}"
            self._cms[kind.collection].append(post)
            self._save_cms()
            return json_response(post, 201, {"Location": f"{self.url}{kind.path}/{post_id}"})

    def _cms_update(self, kind: CmsKind, post_id: int, body: bytes) -> Response:
        data = self._json_body(body)
        if isinstance(data, Response):
            return data
        with self._lock:
            current = self._find_post(post_id, kind)
            if current is None:
                return wp_error("rest_post_invalid_id", "Invalid post ID.", 404)
            post = json.loads(json.dumps(current))
            error = self._apply_post_fields(post, data)
            if error is not None:
                return error
            if data.get("slug"):
                post["slug"] = self._unique_slug(_slugify(str(data["slug"])), own_id=post_id,
                                                 collection=kind.collection)
                post["link"] = f"{self.url}{kind.public_prefix}{post['slug']}"
            post["modified"] = _now_iso()
            current.clear()
            current.update(post)
            self._save_cms()
            return json_response(post)

    def _cms_delete(self, kind: CmsKind, post_id: int, query: Mapping[str, str]) -> Response:
        force = query.get("force", "").lower() in ("1", "true", "yes")
        with self._lock:
            post = self._find_post(post_id, kind)
            if post is None:
                return wp_error("rest_post_invalid_id", "Invalid post ID.", 404)
            if force:
                self._cms[kind.collection].remove(post)
                self._save_cms()
                return json_response({"deleted": True, "previous": post})
            if post["status"] == "trash":
                return wp_error("rest_already_trashed", "The post has already been deleted.", 410)
            # WordPress frees the slug of a trashed post by renaming it.
            post["status"] = "trash"
            post["slug"] = post["slug"] + "__trashed"
            post["modified"] = _now_iso()
            self._save_cms()
            return json_response(post)

    @staticmethod
    def _wp_paging(query: Mapping[str, str]) -> tuple[int, int] | Response:
        per_page = _int_param(query, "per_page", 10)
        page = _int_param(query, "page", 1)
        if not 1 <= per_page <= 100:
            return wp_error("rest_invalid_param", "Invalid parameter(s): per_page", 400,
                            params={"per_page": "per_page must be between 1 (inclusive) and 100 (inclusive)"})
        if page < 1:
            return wp_error("rest_invalid_param", "Invalid parameter(s): page", 400,
                            params={"page": "page must be greater than or equal to 1"})
        return per_page, page

    @staticmethod
    def _wp_page_of(items: list[dict[str, Any]], per_page: int, page: int) -> Response:
        """One page of ``items`` (newest id first) with WordPress' X-WP-Total / X-WP-TotalPages."""
        items = sorted(items, key=lambda p: p["id"], reverse=True)
        total = len(items)
        total_pages = math.ceil(total / per_page)
        if total and page > total_pages:
            return wp_error("rest_post_invalid_page_number",
                            "The page number requested is larger than the number of pages available.", 400)
        chunk = items[(page - 1) * per_page: page * per_page]
        return json_response(chunk, headers={"X-WP-Total": str(total), "X-WP-TotalPages": str(total_pages)})

    def _cms_list(self, kind: CmsKind, query: Mapping[str, str]) -> Response:
        paging = self._wp_paging(query)
        if isinstance(paging, Response):
            return paging
        statuses_param = query.get("status", "any") or "any"
        statuses = set(WP_STATUSES) if statuses_param == "any" else set(statuses_param.split(","))
        slugs = {s for s in query.get("slug", "").split(",") if s}
        with self._lock:
            posts = [
                p for p in self._cms[kind.collection]
                if p["status"] in statuses and (not slugs or p["slug"] in slugs)
            ]
            return self._wp_page_of(posts, *paging)

    def _cms_public(self, kind: CmsKind, slug: str) -> Response:
        with self._lock:
            post = next((p for p in self._cms[kind.collection] if p["slug"] == slug and p["status"] == "publish"),
                        None)
        if post is None:
            what = "bài viết" if kind is CMS_POST else "trang"
            return html_response(_page("Không tìm thấy", f"<p>Không tìm thấy {what}.</p>"), 404)
        css = "post" if kind is CMS_POST else "page"
        body = (f'<article class="{css}"><h1 class="entry-title">{html.escape(post["title"]["rendered"])}</h1>'
                f'<div class="entry-content">{post["content"]["rendered"]}</div></article>')
        return html_response(_page(post["title"]["rendered"], body))

    # -- CMS media (WordPress attachments) -----------------------------------------------------------

    def _media_route(self, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str],
                     body: bytes) -> Response:
        if not self._bearer_ok(headers, self.cms_token):
            return wp_error("rest_forbidden", "Sorry, you are not allowed to do that.", 401)
        rest = path[len(CMS_MEDIA_PATH):].strip("/")
        if not rest:
            if method == "GET":
                return self._media_list(query)
            if method == "POST":
                return self._media_upload(query, headers, body)
            return wp_error(*WP_NO_ROUTE)
        if not rest.isdigit():
            return wp_error(*WP_NO_ROUTE)
        media_id = int(rest)
        if method == "GET":
            with self._lock:
                media = self._find_post(media_id, CMS_MEDIA)
                if media is None:
                    return wp_error("rest_post_invalid_id", "Invalid post ID.", 404)
                return json_response(media)
        if method in ("POST", "PUT", "PATCH"):
            return self._media_update(media_id, body)
        if method == "DELETE":
            return self._media_delete(media_id, query)
        return wp_error(*WP_NO_ROUTE)

    def _media_upload(self, query: Mapping[str, str], headers: Mapping[str, str], body: bytes) -> Response:
        if not body:
            return wp_error("rest_upload_no_data", "No data supplied.", 400)
        filename = _content_disposition_filename(headers.get("Content-Disposition") or "")
        if not filename:
            return wp_error("rest_upload_no_content_disposition", "No Content-Disposition supplied.", 400)
        content_type = (headers.get("Content-Type") or "").strip()
        if not content_type:
            content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        filename = re.split(r"[\\/]", filename)[-1] or filename
        stem = filename.rsplit(".", 1)[0] if "." in filename.strip(".") else filename
        with self._lock:
            media_id = self._take_cms_id()
            stored_name = f"{media_id}-{_upload_name(filename)}"
            media_dir = self.state_dir / MEDIA_DIR
            media_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(media_dir / stored_name, body)
            media = {
                "id": media_id,
                "date": _now_iso(),
                "slug": self._unique_slug(_slugify(query.get("slug") or stem), collection=CMS_MEDIA.collection),
                "type": "attachment",
                "title": {"rendered": stem},
                "mime_type": content_type,
                "media_type": "image" if content_type.lower().startswith("image/") else "file",
                "source_url": f"{self.url}{CMS_UPLOADS_PREFIX}{stored_name}",
                "media_details": {"filesize": len(body)},
                "meta": {},
            }
            self._cms["media"].append(media)
            self._save_cms()
            return json_response(media, 201, {"Location": f"{self.url}{CMS_MEDIA_PATH}/{media_id}"})

    def _media_update(self, media_id: int, body: bytes) -> Response:
        """JSON ``title``, ``slug`` and ``meta`` of an uploaded file (the file itself never changes)."""
        data = self._json_body(body)
        if isinstance(data, Response):
            return data
        with self._lock:
            current = self._find_post(media_id, CMS_MEDIA)
            if current is None:
                return wp_error("rest_post_invalid_id", "Invalid post ID.", 404)
            media = json.loads(json.dumps(current))
            error = self._apply_meta(media, data)
            if error is not None:
                return error
            if "title" in data:
                media["title"] = {"rendered": self._wp_text(data["title"]) or ""}
            if data.get("slug"):
                media["slug"] = self._unique_slug(_slugify(str(data["slug"])), own_id=media_id,
                                                  collection=CMS_MEDIA.collection)
            current.clear()
            current.update(media)
            self._save_cms()
            return json_response(media)

    def _media_delete(self, media_id: int, query: Mapping[str, str]) -> Response:
        force = query.get("force", "").lower() in ("1", "true", "yes")
        with self._lock:
            media = self._find_post(media_id, CMS_MEDIA)
            if media is None:
                return wp_error("rest_post_invalid_id", "Invalid post ID.", 404)
            if not force:
                return wp_error("rest_trash_not_supported",
                                "The post does not support trashing. Set 'force=true' to delete.", 501)
            self._cms["media"].remove(media)
            self._save_cms()
            (self.state_dir / MEDIA_DIR / self._media_stored_name(media)).unlink(missing_ok=True)
            return json_response({"deleted": True, "previous": media})

    @staticmethod
    def _media_stored_name(media: Mapping[str, Any]) -> str:
        return str(media["source_url"]).rsplit("/", 1)[-1]

    def _media_list(self, query: Mapping[str, str]) -> Response:
        paging = self._wp_paging(query)
        if isinstance(paging, Response):
            return paging
        slugs = {s for s in query.get("slug", "").split(",") if s}
        with self._lock:
            items = [m for m in self._cms["media"] if not slugs or m["slug"] in slugs]
            return self._wp_page_of(items, *paging)

    def _media_file(self, name: str) -> Response:
        """An uploaded file (no token, as a web server serves ``wp-content/uploads``)."""
        prefix = name.split("-", 1)[0]
        with self._lock:
            media = self._find_post(int(prefix), CMS_MEDIA) if prefix.isdigit() else None
            if media is None or self._media_stored_name(media) != name:
                return Response(404, b"File not found", TEXT_TYPE)
            stored = self.state_dir / MEDIA_DIR / name
            try:
                data = stored.read_bytes()
            except FileNotFoundError:
                return Response(404, b"File not found", TEXT_TYPE)
            return Response(200, data, str(media["mime_type"]))

    # -- national CSDL publishing endpoint -----------------------------------------------------------

    def _csdl_route(self, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str],
                    body: bytes) -> Response:
        if not self._bearer_ok(headers, self.csdl_token):
            return json_response({"error": "unauthorized", "message": "invalid or missing bearer token"}, 401)
        rest = path[len(CSDL_PATH):].strip("/")
        if rest:
            if not rest.isdigit():
                return json_response({"error": "not found", "path": path}, 404)
            if method == "GET":
                with self._lock:
                    record = self._find_csdl(int(rest))
                    if record is None:
                        return json_response({"error": "not found"}, 404)
                    return json_response(record)
            if method == "PUT":
                return self._csdl_update(int(rest), body)
            return json_response({"error": "method not allowed"}, 405)
        if method == "GET":
            wanted = query.get("so_hieu")
            with self._lock:
                records = [r for r in self._csdl["records"]
                           if wanted is None or _so_hieu_key(r["so_hieu"]) == _so_hieu_key(wanted)]
                return json_response(records)
        if method != "POST":
            return json_response({"error": "method not allowed"}, 405)
        data = self._csdl_body(body)
        if isinstance(data, Response):
            return data
        problems = self._csdl_problems(data)
        if problems:
            return json_response({"error": "invalid", "problems": problems}, 422)
        with self._lock:
            key = _so_hieu_key(data["so_hieu"])
            existing = next((r for r in self._csdl["records"] if _so_hieu_key(r["so_hieu"]) == key), None)
            if existing is not None:
                return json_response({"error": "duplicate", "id": existing["id"]}, 409)
            record_id = int(self._csdl["next_id"])
            record = {
                "id": record_id,
                "so_hieu": data["so_hieu"],
                "ngay_ky": data["ngay_ky"],
                "co_quan": data["co_quan"],
                "thu_tuc": data["thu_tuc"],
                "received_at": _now_iso(),
            }
            self._csdl["records"].append(record)
            self._csdl["next_id"] = record_id + 1
            self._save_csdl()
            return json_response({"id": record_id, "so_hieu": data["so_hieu"]}, 201)

    def _find_csdl(self, record_id: int) -> dict[str, Any] | None:
        return next((r for r in self._csdl["records"] if r["id"] == record_id), None)

    @staticmethod
    def _csdl_body(body: bytes) -> dict[str, Any] | Response:
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return json_response({"error": "invalid", "message": "body is not JSON"}, 400)
        if not isinstance(data, dict):
            return json_response({"error": "invalid", "problems": ["body must be a JSON object"]}, 400)
        return data

    def _csdl_update(self, record_id: int, body: bytes) -> Response:
        """Replace ``ngay_ky``, ``co_quan`` and ``thu_tuc``; ``so_hieu`` may be omitted but never changes."""
        data = self._csdl_body(body)
        if isinstance(data, Response):
            return data
        with self._lock:
            record = self._find_csdl(record_id)
            if record is None:
                return json_response({"error": "not found"}, 404)
            problems = self._csdl_problems({"so_hieu": record["so_hieu"], **data})
            if "so_hieu" in data and isinstance(data["so_hieu"], str) and data["so_hieu"].strip() \
                    and _so_hieu_key(data["so_hieu"]) != _so_hieu_key(record["so_hieu"]):
                problems.append("so_hieu may not change")
            if problems:
                return json_response({"error": "invalid", "problems": problems}, 422)
            record.update({"ngay_ky": data["ngay_ky"], "co_quan": data["co_quan"], "thu_tuc": data["thu_tuc"],
                           "updated_at": _now_iso()})
            self._save_csdl()
            return json_response(record)

    @staticmethod
    def _csdl_problems(data: Any) -> list[str]:
        if not isinstance(data, dict):
            return ["body must be a JSON object"]
        problems = [f"{key} is required" for key in ("so_hieu", "ngay_ky", "co_quan")
                    if not isinstance(data.get(key), str) or not data[key].strip()]
        if isinstance(data.get("ngay_ky"), str) and data["ngay_ky"].strip():
            try:
                dt.date.fromisoformat(data["ngay_ky"])
            except ValueError:
                problems.append("ngay_ky must be an ISO date (yyyy-mm-dd)")
        items = data.get("thu_tuc")
        if not isinstance(items, list):
            problems.append("thu_tuc must be a list")
        else:
            for n, item in enumerate(items):
                if not isinstance(item, dict) or not isinstance(item.get("ten"), str) or not item["ten"].strip():
                    problems.append(f"thu_tuc[{n}].ten is required")
                    continue
                if not isinstance(item.get("loai"), str) or not item["loai"].strip():
                    problems.append(f"thu_tuc[{n}].loai is required")
                if item.get("ma") is not None and not isinstance(item["ma"], str):
                    problems.append(f"thu_tuc[{n}].ma must be a string or null")
                if item.get("ma_ngoai") is not None and not isinstance(item["ma_ngoai"], str):
                    problems.append(f"thu_tuc[{n}].ma_ngoai must be a string")
        return problems

    # -- the provincial public-service portal (procedure catalogue) ------------------------------------

    def _portal_route(self, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str],
                      body: bytes) -> Response:
        if not self._bearer_ok(headers, self.portal_token):
            return json_response({"error": "unauthorized", "message": "invalid or missing bearer token"}, 401)
        parts = path[len(PORTAL_API_PATH):].strip("/").split("/")
        portal = self._portal
        if parts == [""]:
            if method == "GET":
                with self._lock:
                    return self._portal_answer(portal.list_records(query))
            if method == "POST":
                data = self._portal_body(body)
                if isinstance(data, Response):
                    return data
                with self._lock:
                    return self._portal_answer(portal.create(data, self.url, _now_iso()))
            return json_response({"error": "method not allowed"}, 405)
        if not parts[0].isdigit() or len(parts) > 2 or (len(parts) == 2 and parts[1] != "thu-hoi"):
            return json_response({"error": "not found"}, 404)
        record_id = int(parts[0])
        if len(parts) == 2:
            if method != "POST":
                return json_response({"error": "method not allowed"}, 405)
            data = self._portal_body(body)
            if isinstance(data, Response):
                return data
            with self._lock:
                return self._portal_answer(portal.withdraw(record_id, data, _now_iso()))
        if method == "GET":
            with self._lock:
                return self._portal_answer(portal.get(record_id))
        if method == "PUT":
            data = self._portal_body(body)
            if isinstance(data, Response):
                return data
            with self._lock:
                return self._portal_answer(portal.update(record_id, data, _now_iso()))
        return json_response({"error": "method not allowed"}, 405)

    @staticmethod
    def _portal_body(body: bytes) -> dict[str, Any] | Response:
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return json_response({"error": "bad request", "message": "body is not JSON"}, 400)
        if not isinstance(data, dict):
            return json_response({"error": "bad request", "message": "body must be a JSON object"}, 400)
        return data

    def _portal_answer(self, answer: Answer) -> Response:
        """The HTTP answer of the portal model; saves its state when it changed (lock held)."""
        if answer.changed:
            self._save_portal()
        return json_response(answer.payload, answer.status, answer.headers)

    def _portal_public(self, rest: str) -> Response:
        if not rest.isdigit():
            return html_response(_page("Không tìm thấy", "<p>Không tìm thấy thủ tục hành chính.</p>"), 404)
        with self._lock:
            status, title, body = self._portal.public_page(int(rest))
        return html_response(_page(title, body), status)


def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html><head><meta charset="UTF-8" /><title>{html.escape(title)}</title></head>'
            f"<body>\n{body}\n</body></html>\n")


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

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        logger.debug("sandbox %s - %s", self.address_string(), format % args)
