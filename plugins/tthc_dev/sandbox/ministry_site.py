"""The ministry's website (Bộ Khoa học và Công nghệ): its HTML listing of decisions and their detail pages.

``GET /bo-khcn/van-ban?page=N`` lists the ministry's own decisions, newest first, ten a page, with a
"Trang sau" link while more remain; ``GET /bo-khcn/van-ban/{portal id}`` is one decision's page: its
properties and the annex table of its procedures (code, name, kind of change, levels, field, replaced
code), linking the signed PDF on the national portal. Both carry ETag / Last-Modified (conditional GET).
"""

from __future__ import annotations

import html

from tthc_dev.sandbox.data import Catalogue, fmt_date
from tthc_dev.sandbox.portal import DOWNLOAD_PATH
from tthc_dev.sandbox.web import BadRequest, Request, Response, html_page, html_response, int_param

MINISTRY_LIST_PATH = "/bo-khcn/van-ban"
MINISTRY_PAGE_SIZE = 10

CHANGE_LABELS = {
    "new": "Mới ban hành",
    "amended": "Sửa đổi, bổ sung",
    "replaced": "Thay thế",
    "abolished": "Bãi bỏ",
}
LEVEL_LABELS = {"cap_tinh": "Cấp tỉnh", "cap_xa": "Cấp xã", "cap_trung_uong": "Cấp trung ương"}


class MinistrySite:
    """The ministry website's pages over the shared :class:`~tthc_dev.sandbox.data.Catalogue`."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue

    def listing(self, request: Request) -> Response:
        """``/bo-khcn/van-ban?page=N``."""
        number = int_param(request.query, "page", 1)
        if number < 1:
            raise BadRequest("page must be >= 1")
        decisions = self.catalogue.ministry_decisions()
        start = (number - 1) * MINISTRY_PAGE_SIZE
        e = html.escape
        rows = "".join(
            f"""
  <tr class="van-ban">
    <td class="so-hieu"><a href="{MINISTRY_LIST_PATH}/{e(d.portal_id)}">{e(d.text(d.so_hieu))}</a></td>
    <td class="ngay-ban-hanh">{fmt_date(d.signed, "/")}</td>
    <td class="ngay-hieu-luc">{fmt_date(d.effective, "/")}</td>
    <td class="trich-yeu">{e(d.text(d.trich_yeu))}</td>
  </tr>"""
            for d in decisions[start:start + MINISTRY_PAGE_SIZE]
        )
        pagination = ""
        if start + MINISTRY_PAGE_SIZE < len(decisions):
            pagination = ('<div class="pagination"><a class="next" '
                          f'href="{MINISTRY_LIST_PATH}?page={number + 1}">Trang sau</a></div>\n')
        text = (
            '<html><head><meta charset="utf-8"><title>Văn bản - Bộ Khoa học và Công nghệ</title></head><body>\n'
            '<table class="list-van-ban"><thead><tr><th>Số ký hiệu</th><th>Ngày ban hành</th>'
            "<th>Ngày hiệu lực</th><th>Trích yếu</th></tr></thead><tbody>"
            f"{rows}\n</tbody></table>\n{pagination}</body></html>\n"
        )
        shown = decisions[start:start + MINISTRY_PAGE_SIZE] or decisions
        newest = max((d.published or d.signed for d in shown if d.published or d.signed), default=None)
        return html_response(text, conditional=True, last_modified=newest)

    def detail(self, request: Request) -> Response:
        """``/bo-khcn/van-ban/{portal id}``."""
        portal_id = request.tail(MINISTRY_LIST_PATH + "/")
        decision = self.catalogue.by_id.get(portal_id)
        if decision is None or not self.catalogue.is_ministry(decision):
            return html_response(html_page("Không tìm thấy", "<p>Không tìm thấy văn bản.</p>"), 404)
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
<dt>Ngày ban hành</dt><dd class="ngay-ban-hanh">{fmt_date(d.signed, "/")}</dd>\
<dt>Ngày hiệu lực</dt><dd class="ngay-hieu-luc">{fmt_date(d.effective, "/")}</dd>\
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
