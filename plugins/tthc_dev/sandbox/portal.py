"""The national TTHC portal (Cổng Dịch vụ công Quốc gia): ``/jsp/rest.jsp``, decision pages, attachments.

In the exact wire format of the real portal (the captured answers are in the shared reference
material): ``POST /jsp/rest.jsp`` with the form field ``params=<JSON>`` naming a ``service``; every
JSON value a string; lists paged with ``pageIndex``/``recordPerPage`` and each row carrying ``AMOUNT``
(the total) and ``ROW_STT`` (its 1-based overall index); a stray trailing dot on some decision numbers
and one decision served in Unicode NFD, as in the real data. The decision detail page
(``/p/home/dvc-tthc-quyet-dinh-cong-bo-chi-tiet.html?ma_quyet_dinh=``) has the real page's table and
links the signed PDF (``/web/jsp/download_file.jsp?ma=``), served as a small generated PDF.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

from tthc_dev.sandbox.data import Catalogue, Decision, _decision_order, ascii_fold, casefold_key, fmt_date
from tthc_dev.sandbox.web import (
    TEXT_TYPE,
    BadRequest,
    Request,
    Response,
    bad_request,
    error,
    html_page,
    html_response,
    int_param,
    json_response,
    method_not_allowed,
)

REST_PATH = "/jsp/rest.jsp"
DETAIL_PATH = "/p/home/dvc-tthc-quyet-dinh-cong-bo-chi-tiet.html"
DOWNLOAD_PATH = "/web/jsp/download_file.jsp"
FIELD_NAME_SUFFIX = "(Bộ Khoa học và Công nghệ)"
SEARCH_SERVICE = "decision_publishment_advanced_search_service_v2"


def fake_pdf(so_hieu: str, trich_yeu: str = "") -> bytes:
    """A small but well-formed one-page PDF naming the decision.

    The exact ``so_hieu`` is in a UTF-8 comment line and in the document title (UTF-16);
    the page text is an ASCII transliteration (the standard Helvetica font has no Vietnamese).
    """

    def esc(s: str) -> str:
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    lines = [f"Quyet dinh so {ascii_fold(so_hieu)}", ascii_fold(trich_yeu)[:90]]
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


def _page_rows(rows: list[dict[str, str]], params: Mapping[str, Any]) -> list[dict[str, str]]:
    """One page of ``rows`` with the portal's AMOUNT (total) and ROW_STT (1-based overall index)."""
    size = int_param(params, "recordPerPage", 10)
    index = int_param(params, "pageIndex", 1)
    if size < 1 or index < 1:
        return []
    start = (index - 1) * size
    total = str(len(rows))
    return [
        {**row, "AMOUNT": total, "ROW_STT": str(n)}
        for n, row in enumerate(rows[start:start + size], start=start + 1)
    ]


def parse_rest(body: bytes) -> tuple[dict[str, Any] | None, Response | None]:
    """The ``params`` JSON object of a rest.jsp form body, or the 400 answer."""
    form = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    raw = form.get("params", [None])[-1]
    if raw is None:
        return None, bad_request("missing form field params")
    try:
        params = json.loads(raw)
    except json.JSONDecodeError as exc:
        return None, bad_request(f"params is not JSON: {exc}")
    if not isinstance(params, dict):
        return None, bad_request("params must be a JSON object")
    return params, None


def service_of(params: Mapping[str, Any] | None) -> str:
    """The service named by rest.jsp ``params`` (``?`` for none): the last part of its route key."""
    if params is None:
        return "?"
    return str(params.get("service") or "") or "?"


def is_first_list_page(params: Mapping[str, Any] | None) -> bool:
    """Whether rest.jsp ``params`` ask for the first page of the decision list (search service)."""
    if not params or str(params.get("service") or "") != SEARCH_SERVICE:
        return False
    try:
        return int(str(params.get("pageIndex", 1)).strip() or 1) == 1
    except ValueError:
        return False


class NationalPortal:
    """The national portal's routes over the shared :class:`~tthc_dev.sandbox.data.Catalogue`."""

    def __init__(self, catalogue: Catalogue, own: Callable[[], list[Decision]] | None = None) -> None:
        self.catalogue = catalogue
        # the department's province's own decisions, listed once pushed to the CSDL (sandbox.provinces)
        self.own = own or (lambda: [])
        self._services: dict[str, Callable[[Mapping[str, Any]], Any]] = {
            SEARCH_SERVICE: self._svc_search,
            "get_procedures_by_dp_id_service_v2": lambda p: self._svc_group(p, "new"),
            "get_modified_procedures_by_dp_id_service_v2": lambda p: self._svc_group(p, "modified"),
            "get_rescinded_procedures_by_dp_id_service_v2": lambda p: self._svc_group(p, "rescinded"),
            "get_fields_by_dp_id_services_v2": self._svc_fields,
            "get_list_agency_service_v2": self._svc_agencies,
            "procedure_get_list_field_service_v2": self._svc_all_fields,
        }

    # -- rest.jsp ------------------------------------------------------------------------------------

    def rest(self, request: Request) -> Response:
        """``/jsp/rest.jsp``: ``POST`` only; the service named in ``params`` answers a JSON list.

        No ``ETag`` or ``Last-Modified`` and never a 304: ``If-None-Match`` / ``If-Modified-Since`` are
        ignored, as by the real portal (its captured answers in the shared reference material are bare
        JSON bodies of a ``POST``, and HTTP revalidates GET and HEAD only, RFC 9110 §15.4.5). The portal
        watcher therefore spends one whole first page per poll."""
        if request.method != "POST":
            return method_not_allowed()
        params, failure = parse_rest(request.body)
        if params is None:
            return failure or error("bad request", 400)
        service = str(params.get("service") or "")
        handler = self._services.get(service)
        if handler is None:
            return error("unknown service", 400, service=service)
        try:
            return json_response(handler(params))
        except BadRequest as exc:
            return bad_request(str(exc))

    def _svc_search(self, params: Mapping[str, Any]) -> list[dict[str, str]]:
        cat = self.catalogue
        agency_id = str(params.get("agency_id", "-1") or "-1").strip()
        field_id = str(params.get("field_id", "-1") or "-1").strip()
        keyword = casefold_key(str(params.get("keyword") or ""))
        date_text = str(params.get("publishing_date") or "").strip()
        wanted_date = None
        if date_text:
            try:
                wanted_date = dt.datetime.strptime(date_text, "%d-%m-%Y").date()
            except ValueError as exc:
                raise BadRequest(f"publishing_date must be dd-mm-yyyy, got {date_text!r}") from exc
        rows = []
        own = self.own()
        listed = sorted([*cat.decisions, *own], key=_decision_order, reverse=True) if own else cat.decisions
        for d in listed:
            if agency_id != "-1" and d.agency_portal_id != agency_id:
                continue
            if field_id != "-1" and field_id not in {pid for pid, _ in cat.decision_field_names(d)}:
                continue
            if keyword and keyword not in casefold_key(d.so_hieu) and keyword not in casefold_key(d.trich_yeu):
                continue
            if wanted_date is not None and d.published != wanted_date:
                continue
            rows.append({
                "ID": d.portal_id,
                "CODE": d.text(cat.portal_code(d)),
                "NAME": d.text(d.trich_yeu),
                "PUBLISHING_DATE": fmt_date(d.published, "-"),
                "AGENCY_NAME": d.text(d.agency),
                "AGENCY_ID": d.agency_portal_id,
            })
        return _page_rows(rows, params)

    def _decision(self, dp_id: str) -> Decision | None:
        dp_id = dp_id.strip()
        found = self.catalogue.by_id.get(dp_id)
        return found if found is not None else next((d for d in self.own() if d.portal_id == dp_id), None)

    def _svc_group(self, params: Mapping[str, Any], group: str) -> list[dict[str, str]]:
        decision = self._decision(str(params.get("dp_id", "")))
        if decision is None:
            return []
        rows = [
            {
                "ID": self.catalogue.procedure_id(code, name),
                "PROCEDURE_NAME": decision.text(name),
                "PUBLISHED_AGENCY": decision.text(decision.agency),
                "PUBLISHED_AGENCY_ID": decision.agency_portal_id,
            }
            for code, name in self.catalogue.group_items(decision, group)
        ]
        return _page_rows(rows, params)

    def _svc_fields(self, params: Mapping[str, Any]) -> list[dict[str, str]]:
        decision = self._decision(str(params.get("dp_id", params.get("id", ""))))
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

    # -- pages ---------------------------------------------------------------------------------------

    def detail(self, request: Request) -> Response:
        """The decision detail page (``?ma_quyet_dinh=<portal id>``)."""
        decision = self._decision(request.query.get("ma_quyet_dinh", ""))
        if decision is None:
            return html_response(html_page("Không tìm thấy", "<p>Không tìm thấy quyết định công bố.</p>"), 404)
        d, e = decision, html.escape
        code = e(d.text(self.catalogue.portal_code(d)))
        fields = ", ".join(name for _, name in self.catalogue.decision_field_names(d)) or "Không có thông tin"
        number = re.match(r"\d*", d.so_hieu).group(0)
        file_name = f"{number}{fmt_date(d.signed, '.')}_signed.pdf"
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
<tr><td class="key">Ngày quyết định</td><td class="value">{fmt_date(d.signed, "-")}</td></tr>
<tr><td class="key">Lĩnh vực</td><td id="content-fields" class="value">{e(d.text(fields))}</td></tr>
<tr><td class="key">File đính kèm</td><td id="content-attachments" class="value"><a class="link" \
href="{DOWNLOAD_PATH}?ma={d.attachment}">{e(file_name)}</a></td></tr>
<tr><td class="key">Cơ quan ban hành</td><td class="value">{e(d.text(d.agency))}</td></tr>
</tbody>
</table>
</div>
</div>
</div></div></div>"""
        return html_response(html_page("Cổng Dịch vụ công Quốc gia", body), conditional=True,
                             last_modified=d.published or d.signed)

    def download(self, request: Request) -> Response:
        """The decision's signed PDF (``?ma=<attachment id>``)."""
        decision = self.catalogue.by_attachment.get(request.query.get("ma", "").strip().lower())
        if decision is None:
            return Response(404, b"File not found", TEXT_TYPE)
        ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_fold(decision.so_hieu)).strip("_") + ".pdf"
        return Response(
            200,
            fake_pdf(decision.so_hieu, decision.trich_yeu),
            "application/pdf",
            {"Content-Disposition": f'attachment; filename="{ascii_name}"'},
        )
