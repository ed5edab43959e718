"""The provincial public-service portal's procedure catalogue (Cổng dịch vụ công cấp tỉnh), sandbox side.

:class:`ProvincePortal` is the model: validation, the records and their answers. :class:`ProvincePortalRoutes`
is the HTTP part (routing, JSON body parsing); it holds the sandbox's lock around every call and saves
:attr:`ProvincePortal.state` (``province_portal.json``) after each answer whose ``changed`` is set. The
Bearer token (``portal_token``) is checked by the sandbox's dispatch table before these routes run.

JSON API under ``/dvc-tinh/api/v1/thu-tuc`` (see :class:`ProvincePortal` for the record shape):

* ``POST /dvc-tinh/api/v1/thu-tuc``: create (201; 409 ``{"error": "duplicate", "id"}`` for a known
  ``ma_ngoai``, the caller's idempotency key);
* ``GET /dvc-tinh/api/v1/thu-tuc``: list, newest id first, filters ``ma_ngoai``, ``ma_thu_tuc``,
  ``trang_thai``, paging ``page`` / ``page_size`` (``{"items", "total", "page", "page_size"}``);
* ``GET|PUT /dvc-tinh/api/v1/thu-tuc/{id}``: one record / replace its updatable fields;
* ``POST /dvc-tinh/api/v1/thu-tuc/{id}/thu-hoi``: withdraw (idempotent);
* ``GET /dvc-tinh/thu-tuc/{id}``: the public HTML page (no token).

Validation failures are 422 ``{"error": "validation", "errors": {"<field>": "<message>"}}``.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tthc_dev.sandbox.state import Shared, now_iso
from tthc_dev.sandbox.web import (
    BodyError,
    Request,
    Response,
    bad_request,
    error,
    html_page,
    html_response,
    json_object,
    json_response,
    method_not_allowed,
)

PORTAL_API_PATH = "/dvc-tinh/api/v1/thu-tuc"
PORTAL_PUBLIC_PREFIX = "/dvc-tinh/thu-tuc/"
PORTAL_STATE_FILE = "province_portal.json"

PORTAL_LEVELS = ("cap_tinh", "cap_xa")
STATUS_ACTIVE = "dang_ap_dung"
STATUS_WITHDRAWN = "da_thu_hoi"
STATUS_LABELS = {STATUS_ACTIVE: "Đang áp dụng", STATUS_WITHDRAWN: "Đã thu hồi"}
LEVEL_LABELS = {"cap_tinh": "Cấp tỉnh", "cap_xa": "Cấp xã"}
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_REQUIRED_TEXT = ("ten_thu_tuc", "linh_vuc", "co_quan_thuc_hien")


@dataclass
class Answer:
    """What the portal answers: HTTP status, JSON payload, extra headers; ``changed``: state to save."""

    status: int
    payload: Any
    changed: bool = False
    headers: dict[str, str] = field(default_factory=dict)


def empty_state() -> dict[str, Any]:
    return {"next_id": 1, "records": []}


def _validation(errors: Mapping[str, str]) -> Answer:
    return Answer(422, {"error": "validation", "errors": dict(errors)})


def _not_found() -> Answer:
    return Answer(404, {"error": "not found"})


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _iso_date_ok(value: Any) -> bool:
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def decision_errors(value: Any, prefix: str = "quyet_dinh_cong_bo") -> dict[str, str]:
    """Problems of a ``{"so_hieu", "ngay_ky"}`` decision object."""
    if not isinstance(value, dict):
        return {prefix: "is required and must be an object with so_hieu and ngay_ky"}
    errors: dict[str, str] = {}
    if not _is_text(value.get("so_hieu")):
        errors[f"{prefix}.so_hieu"] = "is required and must be a non-empty string"
    if not _iso_date_ok(value.get("ngay_ky")):
        errors[f"{prefix}.ngay_ky"] = "is required and must be an ISO date (yyyy-mm-dd)"
    return errors


def procedure_errors(data: Mapping[str, Any], *, require_ma_ngoai: bool = True) -> dict[str, str]:
    """Problems of a procedure body (create, or with ``require_ma_ngoai=False`` an update)."""
    errors: dict[str, str] = {}
    if "ma_ngoai" in data or require_ma_ngoai:
        if not _is_text(data.get("ma_ngoai")):
            errors["ma_ngoai"] = "is required and must be a non-empty string"
    code = data.get("ma_thu_tuc")
    if code is not None and not _is_text(code):
        errors["ma_thu_tuc"] = "must be a non-empty string or null"
    for name in _REQUIRED_TEXT:
        if not _is_text(data.get(name)):
            errors[name] = "is required and must be a non-empty string"
    levels = data.get("cap_thuc_hien")
    if not isinstance(levels, list) or not levels:
        errors["cap_thuc_hien"] = f"is required and must be a non-empty list of {', '.join(PORTAL_LEVELS)}"
    elif any(level not in PORTAL_LEVELS for level in levels):
        errors["cap_thuc_hien"] = f"each level must be one of {', '.join(PORTAL_LEVELS)}"
    errors.update(decision_errors(data.get("quyet_dinh_cong_bo")))
    content = data.get("noi_dung")
    if content is not None and not isinstance(content, str):
        errors["noi_dung"] = "must be a string"
    return errors


def withdrawal_errors(data: Mapping[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not _is_text(data.get("ly_do")):
        errors["ly_do"] = "is required and must be a non-empty string"
    errors.update(decision_errors(data.get("quyet_dinh_cong_bo")))
    return errors


def _copy(value: Any) -> Any:
    """A deep copy of a JSON value (what the caller sent is stored and echoed back as sent)."""
    return json.loads(json.dumps(value, ensure_ascii=False))


def _updatable(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "ma_thu_tuc": data.get("ma_thu_tuc"),
        "ten_thu_tuc": data["ten_thu_tuc"],
        "linh_vuc": data["linh_vuc"],
        "cap_thuc_hien": list(data["cap_thuc_hien"]),
        "co_quan_thuc_hien": data["co_quan_thuc_hien"],
        "quyet_dinh_cong_bo": _copy(data["quyet_dinh_cong_bo"]),
        "noi_dung": data.get("noi_dung"),
    }


def _int_query(query: Mapping[str, str], name: str, default: int) -> int | None:
    raw = query.get(name, "")
    if raw.strip() == "":
        return default
    try:
        return int(raw.strip())
    except ValueError:
        return None


class ProvincePortal:
    """The portal's procedure records (``state``: ``{"next_id", "records"}``); the caller holds the lock.

    A record: ``id``, ``ma_ngoai``, ``ma_thu_tuc``, ``ten_thu_tuc``, ``linh_vuc``, ``cap_thuc_hien``,
    ``co_quan_thuc_hien``, ``quyet_dinh_cong_bo`` (``{"so_hieu", "ngay_ky"}``), ``noi_dung``,
    ``trang_thai`` (``dang_ap_dung`` / ``da_thu_hoi``), ``thu_hoi`` (null, or the withdrawal body
    ``{"ly_do", "quyet_dinh_cong_bo"}``), ``url`` (public page), ``created_at``, ``updated_at``.
    Values are stored and echoed back exactly as sent (the decision objects too, extra keys included).
    """

    def __init__(self, state: dict[str, Any] | None = None) -> None:
        self.state = state if state is not None else empty_state()
        self.state.setdefault("next_id", 1)
        self.state.setdefault("records", [])

    def clear(self) -> None:
        self.state = empty_state()

    def find(self, record_id: int) -> dict[str, Any] | None:
        return next((r for r in self.state["records"] if r["id"] == record_id), None)

    def create(self, data: Mapping[str, Any], base_url: str, now: str) -> Answer:
        errors = procedure_errors(data)
        if errors:
            return _validation(errors)
        existing = next((r for r in self.state["records"] if r["ma_ngoai"] == data["ma_ngoai"]), None)
        if existing is not None:
            return Answer(409, {"error": "duplicate", "id": existing["id"]})
        record_id = int(self.state["next_id"])
        record = {
            "id": record_id,
            "ma_ngoai": data["ma_ngoai"],
            **_updatable(data),
            "trang_thai": STATUS_ACTIVE,
            "thu_hoi": None,
            "url": f"{base_url}{PORTAL_PUBLIC_PREFIX}{record_id}",
            "created_at": now,
            "updated_at": now,
        }
        self.state["records"].append(record)
        self.state["next_id"] = record_id + 1
        return Answer(201, record, changed=True,
                      headers={"Location": f"{base_url}{PORTAL_API_PATH}/{record_id}"})

    def list_records(self, query: Mapping[str, str]) -> Answer:
        page = _int_query(query, "page", 1)
        size = _int_query(query, "page_size", DEFAULT_PAGE_SIZE)
        errors: dict[str, str] = {}
        if page is None or page < 1:
            errors["page"] = "must be an integer >= 1"
        if size is None or not 1 <= size <= MAX_PAGE_SIZE:
            errors["page_size"] = f"must be an integer between 1 and {MAX_PAGE_SIZE}"
        if errors or page is None or size is None:
            return _validation(errors)
        filters = {name: query[name] for name in ("ma_ngoai", "ma_thu_tuc", "trang_thai") if name in query}
        records = [r for r in self.state["records"] if all(r.get(k) == v for k, v in filters.items())]
        records.sort(key=lambda r: r["id"], reverse=True)
        items = records[(page - 1) * size: page * size]
        return Answer(200, {"items": items, "total": len(records), "page": page, "page_size": size})

    def get(self, record_id: int) -> Answer:
        record = self.find(record_id)
        return _not_found() if record is None else Answer(200, record)

    def update(self, record_id: int, data: Mapping[str, Any], now: str) -> Answer:
        record = self.find(record_id)
        if record is None:
            return _not_found()
        if record["trang_thai"] == STATUS_WITHDRAWN:
            return Answer(409, {"error": "withdrawn"})
        errors = procedure_errors(data, require_ma_ngoai=False)
        if "ma_ngoai" not in errors and "ma_ngoai" in data and data["ma_ngoai"] != record["ma_ngoai"]:
            errors["ma_ngoai"] = "may not change"
        if errors:
            return _validation(errors)
        record.update(_updatable(data))
        record["updated_at"] = now
        return Answer(200, record, changed=True)

    def withdraw(self, record_id: int, data: Mapping[str, Any], now: str) -> Answer:
        record = self.find(record_id)
        if record is None:
            return _not_found()
        errors = withdrawal_errors(data)
        if errors:
            return _validation(errors)
        if record["trang_thai"] == STATUS_WITHDRAWN:
            return Answer(200, record)  # idempotent: a repeated withdrawal changes nothing
        record["trang_thai"] = STATUS_WITHDRAWN
        record["thu_hoi"] = _copy(dict(data))
        record["updated_at"] = now
        return Answer(200, record, changed=True)

    def public_page(self, record_id: int) -> tuple[int, str, str]:
        """(status, title, HTML body fragment) of the public page of one record."""
        record = self.find(record_id)
        if record is None:
            return 404, "Không tìm thấy", "<p>Không tìm thấy thủ tục hành chính.</p>"
        e = html.escape
        levels = "; ".join(LEVEL_LABELS.get(level, level) for level in record["cap_thuc_hien"])
        decision = record["quyet_dinh_cong_bo"]
        status = STATUS_LABELS.get(record["trang_thai"], record["trang_thai"])
        rows = [
            ("ma-thu-tuc", "Mã thủ tục", record["ma_thu_tuc"] or ""),
            ("linh-vuc", "Lĩnh vực", record["linh_vuc"]),
            ("cap-thuc-hien", "Cấp thực hiện", levels),
            ("co-quan", "Cơ quan thực hiện", record["co_quan_thuc_hien"]),
            ("quyet-dinh", "Quyết định công bố", f"{decision['so_hieu']} ngày {decision['ngay_ky']}"),
            ("trang-thai", "Trạng thái", status),
        ]
        if record.get("thu_hoi"):
            withdrawal = record["thu_hoi"]
            rows.append(("thu-hoi", "Thu hồi", f"{withdrawal['ly_do']} "
                                                f"({withdrawal['quyet_dinh_cong_bo']['so_hieu']})"))
        table = "\n".join(f'<tr class="{cls}"><th>{e(label)}</th><td>{e(value)}</td></tr>'
                          for cls, label, value in rows)
        body = (f'<article class="thu-tuc" data-trang-thai="{e(record["trang_thai"])}">\n'
                f'<h1 class="ten-thu-tuc">{e(record["ten_thu_tuc"])}</h1>\n'
                f'<table class="thong-tin">\n{table}\n</table>\n'
                f'<div class="noi-dung">{e(record["noi_dung"] or "")}</div>\n</article>')
        return 200, record["ten_thu_tuc"], body


class ProvincePortalRoutes:
    """The portal's HTTP routes over :class:`ProvincePortal`, its state kept in ``province_portal.json``."""

    def __init__(self, shared: Shared) -> None:
        self._shared = shared
        self._lock = shared.lock
        self._portal = ProvincePortal(shared.load(PORTAL_STATE_FILE, None))

    def reset(self) -> None:
        """Forget every record."""
        with self._lock:
            self._portal.clear()
            self._save_portal()

    def _save_portal(self) -> None:
        self._shared.save(PORTAL_STATE_FILE, self._portal.state)

    def route(self, request: Request) -> Response:
        """``/dvc-tinh/api/v1/thu-tuc``, ``.../{id}`` and ``.../{id}/thu-hoi``."""
        method, query, body = request.method, request.query, request.body
        parts = request.tail(PORTAL_API_PATH).strip("/").split("/")
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
                    return self._portal_answer(portal.create(data, self._shared.base_url(), now_iso()))
            return method_not_allowed()
        if not parts[0].isdigit() or len(parts) > 2 or (len(parts) == 2 and parts[1] != "thu-hoi"):
            return error("not found", 404)
        record_id = int(parts[0])
        if len(parts) == 2:
            if method != "POST":
                return method_not_allowed()
            data = self._portal_body(body)
            if isinstance(data, Response):
                return data
            with self._lock:
                return self._portal_answer(portal.withdraw(record_id, data, now_iso()))
        if method == "GET":
            with self._lock:
                return self._portal_answer(portal.get(record_id))
        if method == "PUT":
            data = self._portal_body(body)
            if isinstance(data, Response):
                return data
            with self._lock:
                return self._portal_answer(portal.update(record_id, data, now_iso()))
        return method_not_allowed()

    @staticmethod
    def _portal_body(body: bytes) -> dict[str, Any] | Response:
        try:
            return json_object(body)
        except BodyError as exc:
            return bad_request(str(exc))

    def _portal_answer(self, answer: Answer) -> Response:
        """The HTTP answer of the portal model; saves its state when it changed (lock held)."""
        if answer.changed:
            self._save_portal()
        return json_response(answer.payload, answer.status, answer.headers)

    def public(self, request: Request) -> Response:
        """The public HTML page of one record (``/dvc-tinh/thu-tuc/{id}``, no token)."""
        rest = request.tail(PORTAL_PUBLIC_PREFIX)
        if not rest.isdigit():
            return html_response(html_page("Không tìm thấy", "<p>Không tìm thấy thủ tục hành chính.</p>"), 404)
        with self._lock:
            status, title, body = self._portal.public_page(int(rest))
        return html_response(html_page(title, body), status)
