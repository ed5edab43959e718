"""The national portal's procedure pages, in the two real layouts (captured in the shared reference material,
``national-portal/procedures/``), over the sandbox's procedures (``procedures.yaml``, each with its
``details``).

* ``/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html?ma_thu_tuc=<internal id>`` — the full page: the
  ``#popupChitietTTHC`` popup of ``div.row.info-row`` rows (``.key`` label, value), the Cách thức thực hiện
  and Căn cứ pháp lý tables, Thành phần hồ sơ as ``div.key`` titles each followed by its table. As on the
  real page, "Trình tự thực hiện" and "Yêu cầu, điều kiện" are left empty (the portal fills them with
  JavaScript after load), an empty value reads "Không có thông tin", and characters of Latin-1 are written
  as named entities (``&aacute;``) while the others are UTF-8.
* ``/p/home/dvc-chi-tiet-thu-tuc-hanh-chinh.html?ma_thu_tuc=<code>`` — the citizen page: ``h1.main-title``,
  the "Xem chi tiết" link to the full page, ``h2.main-title-sub`` sections; the code only in a script, the
  fee cells empty (filled by JavaScript on the real page), no level, field or legal bases.

An id or a code the portal does not hold: the real answer was not captured, so the sandbox answers as a
JSP template with no data would — the page with every row empty (status 200), which the client must
recognise. Both pages carry ETag / Last-Modified (conditional GET).
"""

from __future__ import annotations

import datetime as dt
import html
from html.entities import codepoint2name
from typing import Any

from tthc_dev.sandbox.data import Catalogue
from tthc_dev.sandbox.web import Request, Response, html_page, html_response

FULL_PATH = "/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html"
CITIZEN_PATH = "/p/home/dvc-chi-tiet-thu-tuc-hanh-chinh.html"
EXPORT_PATH = "/jsp/tthc/export/export_word_detail_tthc.jsp"
NO_INFO = "Không có thông tin"
# the day the sandbox's procedure pages were last changed (Last-Modified of an unchanged page)
PAGES_DATE = dt.date(2026, 6, 1)


def _e(text: str | None) -> str:
    """Escaped as the real pages are: Latin-1 letters as named entities, the rest as UTF-8."""
    out = []
    for ch in html.escape(text or "", quote=True):
        code = ord(ch)
        out.append(f"&{codepoint2name[code]};" if 0xC0 <= code <= 0xFF and code in codepoint2name else ch)
    return "".join(out)


def _value(text: str | None) -> str:
    return _e(text) if (text or "").strip() else NO_INFO


def _row(label: str, inner: str, css: str = "") -> str:
    return (f'<div class="row info-row">\n<div class="col-sm-3 col-xs-12 key">\n{_e(label)}:\n</div>\n'
            f'<div class="col-sm-9 col-xs-12{css}">\n{inner}\n</div>\n</div>\n')


def _channel_rows(channels: list[dict[str, Any]], citizen: bool) -> str:
    rows = []
    for c in channels:
        fee = "" if citizen else "<br />".join(_e(line) for line in str(c.get("fee") or "").splitlines())
        rows.append(
            f'<tr>\n<td data-title="{_e("Hình thức nộp")}">{_e(c.get("channel"))}</td>\n'
            f'<td data-title="{_e("Thời hạn giải quyết")}"> {_e(c.get("deadline"))} </td>\n'
            f'<td data-title="{_e("Phí, lệ phí")}"> {fee} </td>\n'
            f'<td data-title="{_e("Mô tả")}" class="content">{_e(c.get("description"))}</td>\n</tr>')
    return "\n".join(rows)


def _channel_table(channels: list[dict[str, Any]], css: str, citizen: bool = False) -> str:
    heads = "".join(f"<th>{_e(h)}</th>" for h in ("Hình thức nộp", "Thời hạn giải quyết", "Phí, lệ phí", "Mô tả"))
    return (f'<table class="{css}">\n<thead>\n<tr>{heads}</tr>\n</thead>\n<tbody>\n'
            f"{_channel_rows(channels, citizen)}\n</tbody>\n</table>")


def _document_table(docs: list[dict[str, Any]], citizen: bool) -> str:
    heads = "".join(f"<th>{_e(h)}</th>" for h in ("Tên giấy tờ", "Mẫu đơn, tờ khai", "Số lượng"))
    rows = []
    for d in docs:
        form = f'<span class="link" style="cursor: pointer;">{_e(d.get("form"))}</span>' if d.get("form") else " "
        quantity = _e(d.get("quantity")).replace(", ", " - " if citizen else "<br />")
        rows.append(f'<tr>\n<td class="justify" data-title="{_e("Tên giấy tờ")}">{_e(d.get("name"))}</td>\n'
                    f'<td data-title="{_e("Mẫu đơn, tờ khai")}">{form}</td>\n'
                    f'<td data-title="{_e("Số lượng")}">{quantity}</td>\n</tr>')
    css = "table table-result" if citizen else "table-data"
    return (f'<table class="{css}" style="width:100%;">\n<thead>\n<tr>{heads}</tr>\n</thead>\n<tbody>\n'
            + "\n".join(rows) + "\n</tbody>\n</table>")


def _legal_table(bases: list[dict[str, Any]]) -> str:
    heads = "".join(f"<th>{_e(h)}</th>" for h in ("Số ký hiệu", "Trích yếu", "Ngày ban hành", "Cơ quan ban hành"))
    rows = "\n".join(f"<tr>\n<td>{_e(b.get('number'))}</td>\n<td>{_e(b.get('title'))}</td>\n"
                     f"<td>{_e(b.get('issued'))}</td>\n<td>{_e(b.get('agency'))}</td>\n</tr>" for b in bases)
    return (f'<div class="table-content">\n<table class="table-data" style="width: 100%;">\n<thead>\n<tr>{heads}'
            f"</tr>\n</thead>\n<tbody>\n{rows}\n</tbody>\n</table>\n</div>")


def full_page(proc: dict[str, Any] | None, portal_id: str) -> str:
    """The full page of ``proc`` (None: the empty template the portal's JSP gives for an unknown id)."""
    proc = proc or {}
    d: dict[str, Any] = proc.get("details") or {}
    code, name = proc.get("code", ""), proc.get("name", "")
    channels = d.get("channels") or []
    groups = "".join(f'<div class="key">\n{_e(g.get("title"))}\n</div>\n{_document_table(g.get("documents") or [], False)}'
                     "\n<br />\n" for g in d.get("documents") or [])
    popup = "".join([
        _row("Mã thủ tục", _e(code)), _row("Số quyết định", _e(d.get("decision_no"))),
        _row("Tên thủ tục", _e(name)), _row("Cấp thực hiện", _e(d.get("level"))),
        _row("Loại thủ tục", _e(d.get("procedure_type"))), _row("Lĩnh vực", _e(d.get("field"))),
        _row("Trình tự thực hiện", "", ' cls-impl-orders" style="white-space: pre-wrap;'),
        _row("Cách thức thực hiện", f'<div class="table-content">\n{_channel_table(channels, "table-data")}\n</div>'
             if channels else ""),
        _row("Thành phần hồ sơ", groups), _row("Đối tượng thực hiện", _value(d.get("subjects"))),
        _row("Cơ quan thực hiện", _value(d.get("agencies"))),
        _row("Cơ quan có thẩm quyền", _value(d.get("competent_agency"))),
        _row("Địa chỉ tiếp nhận HS", _value(d.get("address"))), _row("Cơ quan được ủy quyền", NO_INFO),
        _row("Cơ quan phối hợp", NO_INFO), _row("Kết quả thực hiện", _value(d.get("result"))),
        _row("Căn cứ pháp lý", _legal_table(d.get("legal_bases") or []) if d.get("legal_bases") else ""),
        _row("Yêu cầu, điều kiện thực hiện", "", ' cls-requires" style="white-space: pre-wrap;'),
        _row("Từ khóa", NO_INFO), _row("Mô tả", NO_INFO),
    ])
    body = f"""<div class="section-cong-dan"><div class="container">
<ul class="breadcrumb"><li><a href="dvc-trang-chu.html">Trang chủ</a></li>
<li><a href="dvc-tthc-thu-tuc-hanh-chinh.html">Thủ tục h&agrave;nh ch&iacute;nh</a></li><li><a href="#">Chi tiết thủ tục</a></li></ul>
<div class="row"><div class="col-sm-9 col-xs-12">
<h1 class="main-title -none" style="margin-bottom: 10px;"> {_e(name)} </h1>
<div class="box-form-result"><div class="pull-left"><a class="url thick" data-toggle="modal" href="#popupChitietTTHC">Xem chi tiết</a></div>
<div class="pull-right"><div class="text-result"><a href="{EXPORT_PATH}?maTTHC={_e(code)}&amp;idTTHC={_e(portal_id)}" \
title="Tải xuống chi tiết thủ tục"><i class="fa fa-2x fa-file-word-o"></i></a></div></div></div>
<div class="divider-gray"></div>
<h2 class="main-title-sub">{_e("Cách thức thực hiện")}</h2>
{_channel_table(channels, "table-data")}
</div></div>
<div id="popupChitietTTHC" class="modal fade popupChitietTTHC box-chitiettthc-phienban" role="dialog">
<div class="modal-dialog"><div class="modal-content"><div class="modal-body">
<h2 class="main-title">Chi tiết thủ tục h&agrave;nh ch&iacute;nh:</h2>
<div class="content">
{popup}</div></div></div></div></div>
</div></div>
<script>
    function loadImplOrders() {{ var obj = new Object(); obj.service = "procedure_get_impl_orders_by_proc_id_service_v2"; obj.id = '{_e(portal_id)}'; }}
</script>"""
    return html_page("Cổng Dịch vụ công Quốc gia", body)


def citizen_page(proc: dict[str, Any]) -> str:
    d: dict[str, Any] = proc.get("details") or {}
    code, portal_id = proc.get("code", ""), proc.get("portal_id", "")
    items = "".join(
        f'<div class="item active">\n<div class="title" title="{_e(g.get("title"))}">\n{_e(g.get("title"))}\n</div>\n'
        f'<div class="content">\n{_document_table(g.get("documents") or [], True)}\n</div>\n</div>\n'
        for g in d.get("documents") or [])
    steps = "".join(f"<p>{_e(line)}</p>" for line in str(d.get("steps") or "").splitlines() if line.strip())
    body = f"""<div class="section-cong-dan"><div class="container">
<ul class="breadcrumb"><li><a href="dvc-trang-chu.html">Trang chủ</a></li><li><a href="">Chi tiết thủ tục h&agrave;nh ch&iacute;nh</a></li></ul>
<div class="row"><div class="col-sm-8 col-xs-12">
<h1 class="main-title -none" style="margin-bottom: 10px;">{_e(proc.get("name"))}</h1>
<a class="url" data-toggle="modal" href="dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html?ma_thu_tuc={_e(portal_id)}">Xem chi tiết</a>
<div class="divider-gray"></div>
<h2 class="main-title-sub">{_e("Trình tự thực hiện")}</h2>
<div class="list-expand"><div><div class="item active"><div class="title" title=" "></div>
<div class="content">{steps}</div></div></div></div>
<div class="divider-gray"></div>
<h2 class="main-title-sub">{_e("Cách thức thực hiện")}</h2>
<br />
{_channel_table(d.get("channels") or [], "table-result-tthc table-result", citizen=True)}
<div class="divider-gray"></div>
<h2 class="main-title-sub">{_e("Thành phần hồ sơ")}</h2>
<div class="list-expand">
{items}</div>
<div class="divider-gray"></div>
<h2 class="main-title-sub">{_e("Cơ quan thực hiện")}</h2>
<div class="article"><p>{_e(d.get("agencies"))}</p></div>
<div class="divider-gray"></div>
<h2 class="main-title-sub">{_e("Yêu cầu, điều kiện thực hiện")}</h2>
<div class="article"><p id="{_e(portal_id)}">{_e(d.get("requirements") or "Không có yêu cầu điều kiện")}</p></div>
</div></div></div></div>
<script>
    var procedure_code = '{_e(code)}';
    var procedure_id = '{_e(portal_id)}';
</script>"""
    return html_page("Cổng Dịch vụ công Quốc gia", body)


class ProcedurePages:
    """The two procedure pages over the shared :class:`~tthc_dev.sandbox.data.Catalogue`."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue

    def full(self, request: Request) -> Response:
        portal_id = request.query.get("ma_thu_tuc", "").strip()
        proc = self.catalogue.procedure_by_portal_id(portal_id)
        return html_response(full_page(proc, portal_id), conditional=True, last_modified=self._changed(proc))

    def citizen(self, request: Request) -> Response:
        code = request.query.get("ma_thu_tuc", "").strip()
        proc = self.catalogue.procedures.get(code)
        if proc is None:  # the citizen page of an unknown code: the same empty template as the full page
            return html_response(full_page(None, ""), conditional=True, last_modified=PAGES_DATE)
        return html_response(citizen_page(proc), conditional=True, last_modified=self._changed(proc))

    def _changed(self, proc: dict[str, Any] | None) -> dt.date:
        changed = (proc or {}).get("details_changed")
        return changed if isinstance(changed, dt.date) else PAGES_DATE


__all__ = ["CITIZEN_PATH", "FULL_PATH", "ProcedurePages", "citizen_page", "full_page", "html_page"]
