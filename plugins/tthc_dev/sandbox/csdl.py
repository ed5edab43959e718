"""The national CSDL publishing endpoint (Bearer token ``csdl_token``): announcement decisions registered
with the national database of administrative procedures.

``GET|POST /csdl/api/v1/quyet-dinh-cong-bo`` (lookup by ``so_hieu`` / register: 201 ``{"id",
"so_hieu"}``, 409 ``{"error": "duplicate", "id"}`` for a known số hiệu, compared NFC, upper case,
without spaces and trailing dots) and ``GET|PUT /csdl/api/v1/quyet-dinh-cong-bo/{id}`` (``so_hieu``
never changes); invalid records 422 ``{"error": "invalid", "problems": [...]}``. The records are kept
in ``csdl.json`` under ``state_dir``; the token is checked by the sandbox's dispatch table.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tthc_dev.sandbox.data import so_hieu_key
from tthc_dev.sandbox.state import Shared, now_iso
from tthc_dev.sandbox.web import (
    BodyError,
    Request,
    Response,
    error,
    json_object,
    json_response,
    method_not_allowed,
)

CSDL_PATH = "/csdl/api/v1/quyet-dinh-cong-bo"
CSDL_STATE_FILE = "csdl.json"


def _empty_csdl() -> dict[str, Any]:
    return {"next_id": 1, "records": []}


class Csdl:
    """The CSDL's records, kept in ``csdl.json``."""

    def __init__(self, shared: Shared) -> None:
        self._shared = shared
        self._lock = shared.lock
        self._csdl = shared.load(CSDL_STATE_FILE, _empty_csdl())

    def reset(self) -> None:
        """Forget every record."""
        with self._lock:
            self._csdl = _empty_csdl()
            self._save_csdl()

    def records(self) -> list[dict[str, Any]]:
        """A copy of the records held (what the national list shows once listed: sandbox.provinces)."""
        with self._lock:
            return [dict(r) for r in self._csdl["records"]]

    def _save_csdl(self) -> None:
        self._shared.save(CSDL_STATE_FILE, self._csdl)

    def route(self, request: Request) -> Response:
        """``/csdl/api/v1/quyet-dinh-cong-bo`` and ``/csdl/api/v1/quyet-dinh-cong-bo/{id}``."""
        method, path, query, body = request.method, request.path, request.query, request.body
        rest = request.tail(CSDL_PATH).strip("/")
        if rest:
            if not rest.isdigit():
                return error("not found", 404, path=path)
            if method == "GET":
                with self._lock:
                    record = self._find_csdl(int(rest))
                    if record is None:
                        return error("not found", 404)
                    return json_response(record)
            if method == "PUT":
                return self._csdl_update(int(rest), body)
            return method_not_allowed()
        if method == "GET":
            wanted = query.get("so_hieu")
            with self._lock:
                records = [r for r in self._csdl["records"]
                           if wanted is None or so_hieu_key(r["so_hieu"]) == so_hieu_key(wanted)]
                return json_response(records)
        if method != "POST":
            return method_not_allowed()
        data = self._csdl_body(body)
        if isinstance(data, Response):
            return data
        problems = self._csdl_problems(data)
        if problems:
            return error("invalid", 422, problems=problems)
        with self._lock:
            key = so_hieu_key(data["so_hieu"])
            existing = next((r for r in self._csdl["records"] if so_hieu_key(r["so_hieu"]) == key), None)
            if existing is not None:
                return error("duplicate", 409, id=existing["id"])
            record_id = int(self._csdl["next_id"])
            record = {
                "id": record_id,
                "so_hieu": data["so_hieu"],
                "ngay_ky": data["ngay_ky"],
                "co_quan": data["co_quan"],
                "thu_tuc": data["thu_tuc"],
                "received_at": now_iso(),
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
            return json_object(body)
        except BodyError as exc:
            if exc.not_json:
                return error("invalid", 400, message=str(exc))
            return error("invalid", 400, problems=[str(exc)])

    def _csdl_update(self, record_id: int, body: bytes) -> Response:
        """Replace ``ngay_ky``, ``co_quan`` and ``thu_tuc``; ``so_hieu`` may be omitted but never changes."""
        data = self._csdl_body(body)
        if isinstance(data, Response):
            return data
        with self._lock:
            record = self._find_csdl(record_id)
            if record is None:
                return error("not found", 404)
            problems = self._csdl_problems({"so_hieu": record["so_hieu"], **data})
            if "so_hieu" in data and isinstance(data["so_hieu"], str) and data["so_hieu"].strip() \
                    and so_hieu_key(data["so_hieu"]) != so_hieu_key(record["so_hieu"]):
                problems.append("so_hieu may not change")
            if problems:
                return error("invalid", 422, problems=problems)
            record.update({"ngay_ky": data["ngay_ky"], "co_quan": data["co_quan"], "thu_tuc": data["thu_tuc"],
                           "updated_at": now_iso()})
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
