"""Generated inputs for every parser of outside data (hypothesis): the national portal's JSON answers
(decision list, items, fields), its decision page, the HTML listing and detail pages, and the dates.

Only the documented errors may escape a parser: :class:`~tthc.core.http.LayoutChangedError` (a
:class:`~tthc.core.http.SourceError`) for an answer without the expected structure. Whatever a parser
returns must be usable by the ingest as it is: numeric portal ids (the watermark orders by them), text
that is NFC, dates that are dates, links that are absolute http(s) URLs.

The ``run_*`` functions are the exercise of one parser on one input; ``tests/hypothesis_census.py``
runs them on 2,000 inputs each and counts the unhandled errors instead of stopping at the first.
"""

from __future__ import annotations

import html
import string
import unicodedata
from datetime import date
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tthc.core.http import LayoutChangedError, SourceError
from tthc.ingest.sources.html_listing import load_all
from tthc.ingest.sources.html_listing.config import SiteConfig
from tthc.ingest.sources.html_listing.helpers import parse_detail, parse_listing
from tthc.ingest.sources.national_portal.helpers import (
    ITEM_KEYS,
    LIST_KEYS,
    parse_agencies,
    parse_decision_list,
    parse_detail_page,
    parse_fields,
    parse_items,
    parse_portal_date,
)

ALLOWED = (SourceError,)  # LayoutChangedError is a SourceError
SITES = load_all()
KHCN: SiteConfig = SITES["bo_khcn_sandbox"]
VANBAN: SiteConfig = SITES["vanban_chinhphu"]
PAGE_URL = "https://bo.example.gov.vn/bo-khcn/van-ban?page=1"
DETAIL_URL = "https://bo.example.gov.vn/bo-khcn/van-ban/115010"

# ------------------------------------------------------------------ strategies: JSON


def _nested(depth: int) -> object:
    value: object = "1"
    for _ in range(depth):
        value = [value]
    return value


JSON_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20))
JSON_VALUE = st.recursive(
    JSON_SCALAR, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids, max_size=3),
    max_leaves=8)
DEEP = st.integers(min_value=100, max_value=3000).map(_nested)  # what json.loads gives for [[[[...]]]]
DIGITS = st.integers(min_value=0, max_value=10**15).map(str)
PORTAL_DATE = st.dates(min_value=date(1, 1, 1)).map(lambda d: f"{d.day:02d}-{d.month:02d}-{d.year:04d}")
TRICKY_TEXT = st.sampled_from([
    "", " ", "\x00", "1\x00", "\ud800", "&amp;lt;img src=x onerror=alert(1)&amp;gt;", "&lt;b&gt;",
    "2193/QĐ-UBND.", "2226/QĐ-UBND ngày 04/12/2025", "-1", "1e3", "٣", "１２", "0x10", " 12 ", "12.0", "NaN",
    "31-02-2026", "00-00-0000", "1-1-1", unicodedata.normalize("NFD", "Bộ Khoa học và Công nghệ"),
])
FIELD_VALUE = st.one_of(DIGITS, PORTAL_DATE, TRICKY_TEXT, st.text(), JSON_VALUE, DEEP)


def _rows(keys: tuple[str, ...], optional: tuple[str, ...]) -> st.SearchStrategy:
    row = st.fixed_dictionaries({k: FIELD_VALUE for k in keys}, optional={k: FIELD_VALUE for k in optional})
    return st.one_of(st.lists(row, max_size=4), st.lists(st.one_of(row, JSON_VALUE), max_size=3), JSON_VALUE)


DECISION_LIST = _rows(LIST_KEYS, ("AGENCY_ID", "AMOUNT", "ROW_STT"))
ITEMS = _rows(ITEM_KEYS, ("AMOUNT", "ROW_STT", "PUBLISHED_AGENCY"))
FIELDS = _rows(("ID", "NAME"), ())
AGENCIES = _rows(("ID", "NAME"), ("AGENCY_NAME", "CODE"))

# ------------------------------------------------------------------ strategies: HTML

HREF = st.one_of(
    st.sampled_from([
        "/bo-khcn/van-ban/1", "https://bo.example.gov.vn/a.pdf", "//cdn.example.vn/b.pdf", "?ma=1", "#",
        "javascript:alert(1)", "JavaScript:void(0)", "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd", "vbscript:msgbox(1)", "mailto:a@b.vn", "http://[::1", "http://x:99999/",
        "https://", "http:///a", "ftp://files.example.vn/a.pdf", " https://bo.example.gov.vn/c.pdf ", "",
        "https://bo.example.gov.vn/%ZZ", "\x00", "h\ttp://x", "https://bo.example.gov.vn/" + "a" * 300,
    ]),
    st.text(max_size=30),
)
DATE_TEXT = st.one_of(
    st.dates(min_value=date(1, 1, 1)).map(lambda d: f"{d.day:02d}/{d.month:02d}/{d.year:04d}"),
    st.sampled_from(["31/02/2026", "1/7/2026", "2026-07-01", "01-07-2026", "", "ngày 01/07/2026", "99/99/9999"]),
    st.text(max_size=12),
)
CELL = st.one_of(st.text(max_size=40), TRICKY_TEXT, DATE_TEXT)
CHANGE = st.one_of(st.sampled_from(["Mới ban hành", "Sửa đổi, bổ sung", "Thay thế", "Bãi bỏ", "Đình chỉ", ""]),
                   st.text(max_size=10))
LEVELS = st.one_of(st.sampled_from(["Cấp tỉnh", "Cấp tỉnh; Cấp xã", "Cấp trung ương;;", ""]), st.text(max_size=10))
CHARSETS = st.sampled_from(["utf-8", "windows-1258", "cp1258", "iso-8859-1", "utf-16", "x-unknown", "ascii",
                            "utf-8\x00", ""])


def _text(raw: bool, value: str) -> str:
    return value if raw else html.escape(value)


@st.composite
def _document(draw, body: str) -> str | bytes:
    """``body`` in a page: as text or as bytes in a declared (maybe wrong) charset, maybe cut short,
    maybe with NUL bytes or random bytes spliced in."""
    charset = draw(CHARSETS)
    page = f'<html><head><meta charset="{charset}"></head><body>{body}</body></html>'
    how = draw(st.sampled_from(["text", "bytes", "cut", "splice"]))
    if how == "text":
        return page
    data = page.encode(charset if charset in ("utf-8", "cp1258", "windows-1258") else "utf-8", errors="replace")
    if how == "cut":
        return data[: draw(st.integers(0, len(data)))]
    if how == "splice":
        at = draw(st.integers(0, len(data)))
        return data[:at] + draw(st.binary(max_size=16) | st.just(b"\x00\x00")) + data[at:]
    return data


@st.composite
def khcn_listing(draw) -> str | bytes:
    raw = draw(st.booleans())
    rows = []
    for _ in range(draw(st.integers(0, 3))):
        rows.append(
            f'<tr class="van-ban"><td class="so-hieu"><a href="{html.escape(draw(HREF))}">'
            f'{_text(raw, draw(CELL))}</a></td><td class="ngay-ban-hanh">{_text(raw, draw(DATE_TEXT))}</td>'
            f'<td class="ngay-hieu-luc">{_text(raw, draw(DATE_TEXT))}</td>'
            f'<td class="trich-yeu">{_text(raw, draw(CELL))}</td></tr>')
    pager = draw(st.sampled_from(["", '<div class="pagination"><a class="next" href="{}">Trang sau</a></div>']))
    body = f'<table class="list-van-ban"><tbody>{"".join(rows)}</tbody></table>' + pager.format(
        html.escape(draw(HREF)))
    return draw(st.one_of(_document(body), st.text(max_size=200), st.binary(max_size=200)))


@st.composite
def vanban_listing(draw) -> str | bytes:
    raw = draw(st.booleans())
    rows = []
    for _ in range(draw(st.integers(0, 3))):
        rows.append(
            f'<tr><td><a href="/?pageid=27160&amp;docid={draw(st.text(string.digits, max_size=6))}'
            f'{html.escape(draw(st.text(max_size=5)))}"><span class="code">{_text(raw, draw(CELL))}</span></a></td>'
            f'<td><span class="issued-date">{_text(raw, draw(DATE_TEXT))}</span></td>'
            f'<td><span class="substract">{_text(raw, draw(CELL))}</span>'
            f'<div class="bl-doc-file"><a href="{html.escape(draw(HREF))}">tệp</a></div></td></tr>')
    return draw(_document(f'<table class="search-result">{"".join(rows)}</table>'))


@st.composite
def khcn_detail(draw) -> str | bytes:
    raw = draw(st.booleans())
    items = []
    for _ in range(draw(st.integers(0, 3))):
        items.append(
            f'<tr class="tthc"><td class="ma">{_text(raw, draw(CELL))}</td><td class="ten">{_text(raw, draw(CELL))}'
            f'</td><td class="loai">{_text(raw, draw(CHANGE))}</td><td class="cap">{_text(raw, draw(LEVELS))}</td>'
            f'<td class="linh-vuc">{_text(raw, draw(CELL))}</td><td class="thay-the">{_text(raw, draw(CELL))}</td>'
            "</tr>")
    body = (f'<h1 class="tieu-de">{_text(raw, draw(CELL))}</h1><dl class="thuoc-tinh">'
            f'<dd class="so-hieu">{_text(raw, draw(CELL))}</dd><dd class="ngay-ban-hanh">{draw(DATE_TEXT)}</dd>'
            f'<dd class="ngay-hieu-luc">{_text(raw, draw(DATE_TEXT))}</dd><dd class="co-quan">'
            f'{_text(raw, draw(CELL))}</dd></dl><div class="dinh-kem"><a href="{html.escape(draw(HREF))}">a</a>'
            f'<a href="{html.escape(draw(HREF))}">b</a></div><table class="phu-luc">{"".join(items)}</table>')
    return draw(st.one_of(_document(body), st.text(max_size=200)))


@st.composite
def portal_page(draw) -> str | bytes:
    raw = draw(st.booleans())
    keys = draw(st.lists(st.sampled_from(["Số quyết định", "Ngày quyết định", "Cơ quan ban hành", "File đính kèm",
                                          "Trích yếu"]), max_size=6))
    cells = []
    for key in keys:
        if key == "File đính kèm":
            links = "".join(f'<a href="{html.escape(draw(HREF))}">tệp</a>' for _ in range(draw(st.integers(0, 2))))
            cells.append(f'<tr><td class="key">{key}</td><td class="value">{links}</td></tr>')
        else:
            value = draw(st.one_of(CELL, PORTAL_DATE)) if key == "Ngày quyết định" else draw(CELL)
            cells.append(f'<tr><td class="key">{key}</td><td class="value">{_text(raw, value)}</td></tr>')
    body = f'<table class="table-info-row">{"".join(cells)}</table>'
    return draw(st.one_of(_document(body), st.text(max_size=200), st.binary(max_size=200)))


# ------------------------------------------------------------------ what must hold of a parser's output


def _is_text(value: object) -> bool:
    return isinstance(value, str) and unicodedata.is_normalized("NFC", value) and "\x00" not in value


def _is_http(url: str | None) -> bool:
    if url is None:
        return True
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def run_decision_list(payload: object) -> None:
    try:
        rows = parse_decision_list(payload)
    except ALLOWED:
        return
    for row in rows:
        day, ident = row.position  # the watermark orders by (publishing date, numeric id)
        assert isinstance(day, date) and isinstance(ident, int)
        assert all(_is_text(v) for v in (row.id, row.so_hieu, row.trich_yeu, row.agency_name))
        assert row.total is None or isinstance(row.total, int)


def run_items(payload: object) -> None:
    try:
        items = parse_items(payload, "new")
    except ALLOWED:
        return
    for item in items:
        assert _is_text(item.id) and _is_text(item.name) and item.change_type == "new"
        assert item.total is None or isinstance(item.total, int)


def run_fields(payload: object) -> None:
    try:
        fields = parse_fields(payload)
    except ALLOWED:
        return
    assert all(_is_text(i) and _is_text(n) for i, n in fields)


def run_agencies(payload: object) -> None:
    try:
        agencies = parse_agencies(payload)
    except ALLOWED:
        return
    assert all(_is_text(i) and i.isdigit() and _is_text(n) for i, n in agencies)


def run_portal_page(page: str | bytes) -> None:
    try:
        parsed = parse_detail_page(page, DETAIL_URL)
    except ALLOWED:
        return
    assert _is_text(parsed.so_hieu)
    assert parsed.signed is None or isinstance(parsed.signed, date)
    assert parsed.agency_name is None or _is_text(parsed.agency_name)


def run_portal_date(text: str) -> None:
    try:
        day = parse_portal_date(text)
    except ALLOWED:
        return
    assert isinstance(day, date)


def run_listing(page: str | bytes, cfg: SiteConfig) -> None:
    try:
        parsed = parse_listing(page, cfg, PAGE_URL, allow_empty=True)
    except ALLOWED:
        return
    for row in parsed.rows:
        assert _is_text(row.so_hieu) and _is_text(row.trich_yeu)
        assert row.signed is None or isinstance(row.signed, date)


def run_detail(page: str | bytes, cfg: SiteConfig) -> None:
    try:
        parsed = parse_detail(page, cfg, DETAIL_URL)
    except ALLOWED:
        return
    for item in parsed.annex:
        assert _is_text(item.name) and item.change_type in ("new", "amended", "replaced", "abolished")


# Links are checked apart: an unhandled error and an accepted data:/file: link are different findings.

def links_of_listing(page: str | bytes, cfg: SiteConfig) -> list[str | None]:
    try:
        parsed = parse_listing(page, cfg, PAGE_URL, allow_empty=True)
    except ALLOWED:
        return []
    return [parsed.next_url] + [r.detail_url for r in parsed.rows] + [a.url for r in parsed.rows
                                                                        for a in r.attachments]


def links_of_detail(page: str | bytes, cfg: SiteConfig) -> list[str | None]:
    try:
        return [a.url for a in parse_detail(page, cfg, DETAIL_URL).attachments]
    except ALLOWED:
        return []


def links_of_portal_page(page: str | bytes) -> list[str | None]:
    try:
        return list(parse_detail_page(page, DETAIL_URL).attachments)
    except ALLOWED:
        return []


# ------------------------------------------------------------------ the tests


@given(DECISION_LIST)
def test_portal_decision_list(payload) -> None:
    run_decision_list(payload)


@given(ITEMS)
def test_portal_items(payload) -> None:
    run_items(payload)


@given(FIELDS)
def test_portal_fields(payload) -> None:
    run_fields(payload)


@given(AGENCIES)
def test_portal_agencies(payload) -> None:
    run_agencies(payload)


@given(portal_page())
def test_portal_decision_page(page) -> None:
    run_portal_page(page)
    assert all(_is_http(u) for u in links_of_portal_page(page))


@given(st.one_of(PORTAL_DATE, DATE_TEXT, TRICKY_TEXT, st.text()))
def test_portal_dates(text) -> None:
    run_portal_date(text)


@given(khcn_listing())
def test_listing_pages(page) -> None:
    run_listing(page, KHCN)
    assert all(_is_http(u) for u in links_of_listing(page, KHCN))


@given(vanban_listing())
def test_listing_pages_of_the_government_site(page) -> None:
    run_listing(page, VANBAN)
    assert all(_is_http(u) for u in links_of_listing(page, VANBAN))


@given(khcn_detail())
def test_detail_pages(page) -> None:
    run_detail(page, KHCN)
    assert all(_is_http(u) for u in links_of_detail(page, KHCN))


# ------------------------------------------------------------------ the inputs of issue 12, as reported


def _list_row(**values: object) -> dict[str, object]:
    return {"ID": "115187", "CODE": "2193/QĐ-UBND.", "NAME": "Về việc công bố", "PUBLISHING_DATE": "09-12-2025",
            "AGENCY_NAME": "Bộ Khoa học và Công nghệ", "AMOUNT": "60", **values}


@pytest.mark.parametrize(("row", "words"), [
    (_list_row(ID="QĐ-1"), "row 0: ID 'QĐ-1' is not a number"),  # was a ValueError at row.position
    (_list_row(ID=_nested(2000)), "row 0: ID is a list, expected a string"),  # was a RecursionError
    (_list_row(CODE={"a": 1}), "row 0: CODE is a dict"),
    (_list_row(PUBLISHING_DATE=["09-12-2025"]), "PUBLISHING_DATE: national portal: unexpected date a list"),
])
def test_wrong_types_in_the_decision_list_are_layout_changes(row, words) -> None:
    with pytest.raises(LayoutChangedError) as info:
        parse_decision_list([row])
    assert "national portal decision list" in str(info.value) and words in str(info.value)


def test_amount_missing_or_unreadable_is_none_never_zero() -> None:
    assert [d.total for d in parse_decision_list([_list_row(), _list_row(AMOUNT="không rõ"), _list_row(AMOUNT=None),
                                                  {k: v for k, v in _list_row().items() if k != "AMOUNT"}])] == [
        60, None, None, None]
    assert parse_items([{"ID": "1", "PROCEDURE_NAME": "Thủ tục A", "AMOUNT": [3]}], "new")[0].total is None


@pytest.mark.parametrize("href", ["data:text/html,<script>alert(1)</script>", "file:///etc/passwd",
                                  "vbscript:msgbox(1)", "javascript:alert(1)", "http://[::1", "mailto:a@b.vn"])
def test_links_other_than_http_are_never_accepted(href) -> None:
    """Case 11: they were accepted as attachment or detail links, then failed the run (InvalidSchema)."""
    portal = (f'<html><body><table class="table-info-row"><tr><td class="key">Số quyết định</td>'
              f'<td class="value">1/QĐ</td></tr><tr><td class="key">File đính kèm</td><td class="value">'
              f'<a href="{html.escape(href)}">x</a><a href="/a.pdf">y</a></td></tr></table></body></html>')
    assert parse_detail_page(portal, DETAIL_URL).attachments == ("https://bo.example.gov.vn/a.pdf",)
    detail = (f'<dl class="thuoc-tinh"><dd class="so-hieu">1/QĐ</dd></dl><div class="dinh-kem">'
              f'<a href="{html.escape(href)}">x</a></div><table class="phu-luc"><tr class="tthc"><td class="ten">A'
              '</td><td class="loai">Mới ban hành</td></tr></table>')
    assert parse_detail(detail, KHCN, DETAIL_URL).attachments == []
    listing = (f'<table class="list-van-ban"><tr class="van-ban"><td class="so-hieu"><a href="{html.escape(href)}">'
               '1/QĐ-BKHCN</a></td><td class="ngay-ban-hanh">01/07/2026</td><td class="trich-yeu">Về việc công bố'
               '</td></tr></table>')
    with pytest.raises(LayoutChangedError, match="detail_link .* is not an http\\(s\\) link"):
        parse_listing(listing, KHCN, PAGE_URL)
