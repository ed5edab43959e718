"""The generic YAML-configured HTML listing scraper: the real vanban.chinhphu.vn pages (reference), the
sandbox ministry site, layout changes, config validation, a new site from YAML alone, encodings."""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import unicodedata
from collections.abc import Iterator
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from tthc.core.http import LayoutChangedError, SnapshotRecorder, SourceError, make_session
from tthc.core.text import clean
from tthc.ingest.sources.html_listing import SITES_DIR, load_all, load_site_config
from tthc.ingest.sources.html_listing.client import HtmlListingClient, resolve_base_url
from tthc.ingest.sources.html_listing.config import FilterConfig, SiteConfig
from tthc.ingest.sources.html_listing.helpers import (
    AnnexItem,
    first_listing_url,
    matches_filter,
    parse_detail,
    parse_listing,
)
from tthc_dev.sandbox import DATA_DIR

DATA = DATA_DIR
AGENCY = "Bộ Khoa học và Công nghệ"
VANBAN_LIST = "government-documents/vanban_chinhphu_list.html"
VANBAN_DETAIL = "government-documents/vanban_chinhphu_detail_216105.html"
VANBAN_RESULT = "government-documents/vanban_chinhphu_detailed_result.json"
VANBAN_DETAIL_URL = "https://vanban.chinhphu.vn/?pageid=27160&docid={}"


def norm(text: str | None) -> str:
    """NFC and whitespace-collapsed, for comparing with the expected JSON."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text or "")).strip()


@pytest.fixture(autouse=True)
def _no_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    """The polite session waits between requests to a host; local servers need no such courtesy."""
    monkeypatch.setenv("TTHC_MIN_REQUEST_INTERVAL", "0")


@pytest.fixture(scope="module")
def sites() -> dict[str, SiteConfig]:
    return load_all()


@pytest.fixture
def vanban(sites) -> SiteConfig:
    return sites["vanban_chinhphu"]


@pytest.fixture
def khcn(sites) -> SiteConfig:
    return sites["bo_khcn_sandbox"]


# ------------------------------------------------------------------ (a) the real reference pages


def test_bundled_site_configs_load() -> None:
    sites = load_all(SITES_DIR)
    assert {"vanban_chinhphu", "bo_khcn_sandbox"} <= set(sites)
    assert sites["bo_khcn_sandbox"].agency == AGENCY
    assert sites["vanban_chinhphu"].agency is None  # taken from each document's page


def test_vanban_listing_matches_expected_result(reference: Path, vanban: SiteConfig) -> None:
    expected = json.loads((reference / VANBAN_RESULT).read_text(encoding="utf-8"))
    assert expected, "the expected result describes at least one row"
    page_url = first_listing_url(vanban)
    assert page_url == "https://vanban.chinhphu.vn/?pageid=27160"
    page = parse_listing((reference / VANBAN_LIST).read_bytes(), vanban, page_url)

    assert len(page.rows) == 50  # the page's "50 per page" listing, header and pager rows excluded
    assert page.next_url is None  # the site pages by postback: one page only
    by_url = {r.detail_url: r for r in page.rows}
    assert len(by_url) == 50
    for exp in expected:
        row = by_url[exp["DETAIL_URL"]]
        assert exp["DETAIL_URL"] == VANBAN_DETAIL_URL.format(exp["DOC_ID"])
        assert row.so_hieu == norm(exp["CODE"])
        assert row.signed is not None and row.signed.strftime("%d/%m/%Y") == exp["ISSUE_DATE"]
        assert row.trich_yeu == norm(exp["SUMMARY"])
        assert [(a.url, a.filename, a.label) for a in row.attachments] == [
            (a["url"], a["filename"], norm(a["label"])) for a in exp["ATTACHMENTS"]
        ]
    # the first rows of the page are the ones the expected result describes, in the same order
    assert [r.detail_url for r in page.rows[: len(expected)]] == [e["DETAIL_URL"] for e in expected]
    for row in page.rows:
        assert re.fullmatch(r"https://vanban\.chinhphu\.vn/\?pageid=27160&docid=\d+", row.detail_url or "")
        assert row.so_hieu and row.trich_yeu and row.signed is not None
        assert all(a.url.startswith("https://") for a in row.attachments)
        assert unicodedata.is_normalized("NFC", row.trich_yeu)


def test_vanban_filter_keeps_only_decisions_announcing_procedures(reference: Path, vanban: SiteConfig) -> None:
    page = parse_listing((reference / VANBAN_LIST).read_bytes(), vanban, first_listing_url(vanban))
    for row in page.rows:
        folded = row.trich_yeu.lower()
        assert row.matches_filter == bool(re.search("công bố.*thủ tục hành chính", folded))
    # "giải quyết thủ tục hành chính" alone is not an announcement
    assert any("thủ tục hành chính" in r.trich_yeu and not r.matches_filter for r in page.rows)
    announcing = "Về việc công bố Thủ tục hành chính mới ban hành trong lĩnh vực sở hữu trí tuệ"
    assert matches_filter(announcing, vanban.filter)
    assert matches_filter(unicodedata.normalize("NFD", announcing.upper()), vanban.filter)
    assert matches_filter("VE VIEC CONG BO THU TUC HANH CHINH", vanban.filter)  # diacritics-insensitive


def test_vanban_detail_page(reference: Path, vanban: SiteConfig) -> None:
    docid = "216105"
    url = VANBAN_DETAIL_URL.format(docid)
    detail = parse_detail((reference / VANBAN_DETAIL).read_bytes(), vanban, url)
    expected = json.loads((reference / VANBAN_RESULT).read_text(encoding="utf-8"))
    exp = next((e for e in expected if e.get("DOC_ID") == docid), None)
    if exp is None:  # the expected result does not describe this page: the fields visible in it
        exp = {
            "DETAIL_TITLE": "Thông tư số 37/2025/TT-BKHCN của Bộ Khoa học và Công nghệ: Quy định mã số và tiêu "
                            "chuẩn chức danh khoa học, chức danh công nghệ; thành tích, kết quả khoa học, công "
                            "nghệ và đổi mới sáng tạo để xét bổ nhiệm vào chức danh khoa học, chức danh công "
                            "nghệ cao hơn không phụ thuộc vào năm công tác",
            "DETAIL_CODE": "37/2025/TT-BKHCN",
            "DETAIL_ISSUE_DATE": "28-11-2025",
            "DETAIL_EFFECTIVE_DATE": "28-11-2025",
            "DETAIL_DOCUMENT_TYPE": "Thông tư",
            "DETAIL_ISSUING_AGENCY": AGENCY,
            "DETAIL_SIGNER": "Nguyễn Mạnh Hùng",
            "DETAIL_SUMMARY": "Quy định mã số và tiêu chuẩn chức danh khoa học, chức danh công nghệ; thành tích, "
                              "kết quả khoa học, công nghệ và đổi mới sáng tạo để xét bổ nhiệm vào chức danh khoa "
                              "học, chức danh công nghệ cao hơn không phụ thuộc vào năm công tác",
            "DETAIL_ATTACHMENTS": [{"url": "https://datafiles.chinhphu.vn/cpp/files/vbpq/2025/12/37-bkhcn.pdf",
                                    "label": "37-bkhcn.pdf", "filename": "37-bkhcn.pdf"}],
        }
    assert detail.url == url
    assert detail.title == norm(exp["DETAIL_TITLE"])
    assert detail.so_hieu == norm(exp["DETAIL_CODE"])
    assert detail.signed is not None and detail.signed.strftime("%d-%m-%Y") == exp["DETAIL_ISSUE_DATE"]
    if "DETAIL_EFFECTIVE_DATE" in exp:
        assert detail.effective is not None and detail.effective.strftime("%d-%m-%Y") == exp["DETAIL_EFFECTIVE_DATE"]
    assert detail.document_type == norm(exp["DETAIL_DOCUMENT_TYPE"])
    assert detail.agency == norm(exp["DETAIL_ISSUING_AGENCY"])
    assert detail.signer == norm(exp["DETAIL_SIGNER"])
    if "DETAIL_SUMMARY" in exp:
        assert detail.summary == norm(exp["DETAIL_SUMMARY"])
    # the eye icon's javascript: postback link is not an attachment
    assert [(a.url, a.label, a.filename) for a in detail.attachments] == [
        (a["url"], norm(a["label"]), a["filename"]) for a in exp["DETAIL_ATTACHMENTS"]
    ]
    assert detail.annex == []


# ------------------------------------------------------------------ (b) the sandbox ministry site


def _ministry_decisions() -> list[dict]:
    decisions = yaml.safe_load((DATA / "decisions.yaml").read_text(encoding="utf-8"))
    mine = [d for d in decisions if d["agency"] == AGENCY]
    return sorted(mine, key=lambda d: (date.fromisoformat(d["published"]), int(d["portal_id"])), reverse=True)


def test_sandbox_listing_over_both_pages(sandbox, khcn: SiteConfig) -> None:
    recorder = SnapshotRecorder(fetched_at=datetime(2026, 8, 1))
    client = HtmlListingClient(khcn, base_url=sandbox.url, recorder=recorder)
    rows = list(client.listing())
    expected = _ministry_decisions()
    assert len(rows) == len(expected) == 14
    assert client.requests_made == 2  # page 2 has no "next" link: no third request
    assert [s.url for s in recorder.snapshots] == [f"{sandbox.url}/bo-khcn/van-ban?page=1",
                                                   f"{sandbox.url}/bo-khcn/van-ban?page=2"]
    for row, d in zip(rows, expected, strict=True):
        assert row.so_hieu == d["so_hieu"]
        assert row.signed == date.fromisoformat(d["signed"])
        assert row.effective == date.fromisoformat(d["effective"])
        assert row.trich_yeu == d["trich_yeu"]  # NFC even for the decision served decomposed
        assert row.detail_url == f"{sandbox.url}/bo-khcn/van-ban/{d['portal_id']}"
        assert row.agency == AGENCY
        t = d["trich_yeu"].lower()
        assert row.matches_filter == ("công bố" in t and "thủ tục hành chính" in t)


def test_sandbox_listing_stops_at_max_pages(sandbox, khcn: SiteConfig) -> None:
    cfg = dataclasses.replace(khcn, listing=dataclasses.replace(khcn.listing, max_pages=1))
    client = HtmlListingClient(cfg, base_url=sandbox.url)
    assert len(list(client.listing())) == 10
    assert client.requests_made == 1


def test_sandbox_filter_flags_follow_the_keywords(sandbox, khcn: SiteConfig) -> None:
    cfg = dataclasses.replace(khcn, filter=FilterConfig(keywords=("bãi bỏ",)))
    rows = list(HtmlListingClient(cfg, base_url=sandbox.url).listing())
    flags = [r.matches_filter for r in rows]
    assert flags == ["bãi bỏ" in d["trich_yeu"].lower() for d in _ministry_decisions()]
    assert any(flags) and not all(flags)
    cfg = dataclasses.replace(khcn, filter=FilterConfig(trich_yeu_regex=re.compile(r"SỞ HỮU TRÍ TUỆ")))
    rows = list(HtmlListingClient(cfg, base_url=sandbox.url).listing())
    assert [r.matches_filter for r in rows] == ["sở hữu trí tuệ" in d["trich_yeu"].lower()
                                                for d in _ministry_decisions()]


def test_sandbox_detail_with_a_replaced_procedure(sandbox, khcn: SiteConfig) -> None:
    d = next(d for d in _ministry_decisions() if any(i["change"] == "replaced" for i in d["items"]))
    client = HtmlListingClient(khcn, base_url=sandbox.url)
    row = next(r for r in client.listing() if r.so_hieu == d["so_hieu"])
    detail = client.detail(row.detail_url)
    assert detail.so_hieu == d["so_hieu"]
    assert detail.title == d["so_hieu"]
    assert detail.signed == date.fromisoformat(d["signed"])
    assert detail.effective == date.fromisoformat(d["effective"])
    assert detail.agency == AGENCY
    assert detail.summary == d["trich_yeu"]
    assert [(i.code, i.change_type, i.levels, i.replaces) for i in detail.annex] == [
        (i["code"], i["change"], tuple(i["levels"]), i["replaces"]) for i in d["items"]
    ]
    replaced = next(i for i in detail.annex if i.change_type == "replaced")
    assert isinstance(replaced, AnnexItem) and replaced.replaces and replaced.field_name
    assert [i.name for i in detail.annex] == [i["name"] for i in d["items"]]
    assert len(detail.attachments) == 1
    assert detail.attachments[0].url.startswith(sandbox.url + "/")
    assert detail.attachments[0].label == f"{d['so_hieu']}.pdf"


def test_sandbox_http_error_is_a_source_error(sandbox, khcn: SiteConfig) -> None:
    client = HtmlListingClient(khcn, base_url=sandbox.url)
    with pytest.raises(SourceError, match="HTTP 404"):
        client.detail(f"{sandbox.url}/bo-khcn/van-ban/999999999")


# ------------------------------------------------------------------ (c) layout changed


def test_renamed_row_class_is_a_layout_change(reference: Path, vanban: SiteConfig, khcn: SiteConfig) -> None:
    html = (reference / VANBAN_LIST).read_text(encoding="utf-8").replace("search-result", "ket-qua")
    with pytest.raises(LayoutChangedError) as err:
        parse_listing(html, vanban, first_listing_url(vanban))
    assert "vanban_chinhphu" in str(err.value) and vanban.row in str(err.value)

    page = ('<table class="list-van-ban"><tr class="vanban"><td class="so-hieu"><a href="/x">1/QĐ-BKHCN</a></td>'
            '<td class="ngay-ban-hanh">01/07/2026</td><td class="trich-yeu">Về việc công bố</td></tr></table>')
    with pytest.raises(LayoutChangedError, match=r"bo_khcn_sandbox.*table\.list-van-ban tr\.van-ban"):
        parse_listing(page, khcn, "http://example.test/bo-khcn/van-ban?page=1")


def test_row_missing_so_hieu_is_a_layout_change(reference: Path, vanban: SiteConfig) -> None:
    html = (reference / VANBAN_LIST).read_text(encoding="utf-8")
    html = html.replace('<span class="code">66.9/2025/NQ-CP</span>', '<span class="ma">66.9/2025/NQ-CP</span>')
    with pytest.raises(LayoutChangedError) as err:
        parse_listing(html, vanban, first_listing_url(vanban))
    assert "vanban_chinhphu" in str(err.value) and "so_hieu" in str(err.value) and "span.code" in str(err.value)


def test_unexpected_date_and_unknown_change_label_are_layout_changes(khcn: SiteConfig) -> None:
    row = ('<table class="list-van-ban"><tr class="van-ban"><td class="so-hieu"><a href="/x">1/QĐ-BKHCN</a></td>'
           '<td class="ngay-ban-hanh">{}</td><td class="trich-yeu">Về việc công bố</td></tr></table>')
    with pytest.raises(LayoutChangedError, match="td.ngay-ban-hanh"):
        parse_listing(row.format("2026-07-01"), khcn, "http://example.test/")
    detail = ('<dl class="thuoc-tinh"><dd class="so-hieu">1/QĐ-BKHCN</dd></dl><table class="phu-luc">'
              '<tr class="tthc"><td class="ten">Thủ tục A</td><td class="loai">Đình chỉ</td></tr></table>')
    with pytest.raises(LayoutChangedError, match="unknown change type 'Đình chỉ'"):
        parse_detail(detail, khcn, "http://example.test/1")
    with pytest.raises(LayoutChangedError, match=r"table\.phu-luc tr\.tthc"):
        parse_detail('<dl class="thuoc-tinh"><dd class="so-hieu">1/QĐ-BKHCN</dd></dl>', khcn, "http://example.test/1")


# ------------------------------------------------------------------ (d) config validation


MINIMAL = {
    "name": "tiny_site",
    "base_url": "http://example.test",
    "listing": {"path": "/list"},
    "row": "ul.docs li",
    "fields": {"so_hieu": "b.code", "signed": "i.date", "trich_yeu": "span.title",
               "detail_link": {"selector": "a", "attr": "href"}},
}


def _write(tmp_path: Path, data: dict, name: str = "site.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _without(data: dict, dotted: str) -> dict:
    data = json.loads(json.dumps(data))
    *parents, last = dotted.split(".")
    node = data
    for p in parents:
        node = node[p]
    del node[last]
    return data


def _with(data: dict, dotted: str, value) -> dict:
    data = json.loads(json.dumps(data))
    *parents, last = dotted.split(".")
    node = data
    for p in parents:
        node = node.setdefault(p, {})
    node[last] = value
    return data


def test_minimal_config_loads_with_defaults(tmp_path: Path) -> None:
    cfg = load_site_config(_write(tmp_path, MINIMAL))
    assert cfg.name == "tiny_site" and cfg.base_url == "http://example.test"
    assert cfg.required == ("so_hieu", "signed", "trich_yeu", "detail_link")
    assert cfg.date_formats == ("%d/%m/%Y",)
    assert cfg.listing.max_pages == 50 and cfg.listing.page_param is None
    assert cfg.filter == FilterConfig() and cfg.detail is None
    assert cfg.source_file == tmp_path / "site.yaml"


@pytest.mark.parametrize(
    ("data", "key"),
    [
        (_without(MINIMAL, "name"), "name"),
        (_without(MINIMAL, "row"), "row"),
        (_without(MINIMAL, "listing"), "listing"),
        (_without(MINIMAL, "listing.path"), "listing.path"),
        (_without(MINIMAL, "fields.so_hieu"), "fields.so_hieu"),
        (_without(MINIMAL, "base_url"), "base_url"),
        (_with(MINIMAL, "base_url", "example.test"), "base_url"),
        (_with(MINIMAL, "name", "Tiny Site"), "name"),
        (_with(MINIMAL, "row", "ul..docs"), "row"),
        (_with(MINIMAL, "fields.signed", {"selector": "i", "date_format": "dd/mm/yyyy"}), "fields.signed.date_format"),
        (_with(MINIMAL, "fields.trich_yeu", {"selector": "span", "regex": "(unclosed"}), "fields.trich_yeu.regex"),
        (_with(MINIMAL, "fields.sohieu", "b"), "fields.sohieu"),
        (_with(MINIMAL, "listing.max_pages", 0), "listing.max_pages"),
        (_with(MINIMAL, "filter.keywords", "công bố"), "filter.keywords"),
        (_with(MINIMAL, "encoding", "vietnamese-9"), "encoding"),
        (_with(MINIMAL, "required", ["so_hieu", "ngay"]), "required"),
        (_with(MINIMAL, "detail", {"annex": {"row": "tr", "cells": {"name": "td"}}}), "detail.annex.cells.change"),
        (_with(MINIMAL, "detail", {"annex": {"row": "tr", "cells": {"name": "td", "change": "td.c"},
                                             "change_labels": {"Mới": "brand_new"}}}),
         "detail.annex.change_labels.Mới"),
    ],
)
def test_config_errors_name_the_file_and_key(tmp_path: Path, data: dict, key: str) -> None:
    path = _write(tmp_path, data, "broken_site.yaml")
    with pytest.raises(ValueError) as err:
        load_site_config(path)
    assert str(err.value).startswith(f"{path}: {key}:"), str(err.value)


def test_config_file_that_is_not_a_mapping_or_not_yaml(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(str(path))):
        load_site_config(path)
    path.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(str(path)) + ": invalid YAML"):
        load_site_config(path)


def test_load_all_rejects_duplicate_names(tmp_path: Path) -> None:
    _write(tmp_path, MINIMAL, "a.yaml")
    second = _write(tmp_path, MINIMAL, "b.yaml")
    with pytest.raises(ValueError, match=re.escape(f"{second}: name: 'tiny_site'")):
        load_all(tmp_path)


def test_conn_id_overrides_base_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = load_site_config(_write(tmp_path, {**MINIMAL, "conn_id": "tthc_tiny_site"}))
    assert resolve_base_url(cfg) == "http://example.test"  # connection absent: the default
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_TINY_SITE", "http://mirror.test:8080")
    assert resolve_base_url(cfg) == "http://mirror.test:8080"


# ------------------------------------------------------------------ (e) a new site from YAML alone


class _Pages(BaseHTTPRequestHandler):
    pages: dict[str, tuple[bytes, str]] = {}

    def do_GET(self) -> None:  # noqa: N802 - http.server's API
        body, ctype = self.pages.get(self.path, (b"not found", "text/plain"))
        self.send_response(200 if self.path in self.pages else 404)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def tiny_server() -> Iterator[tuple[str, dict[str, tuple[bytes, str]]]]:
    """A throwaway HTTP server; tests fill ``pages`` (path -> (body, Content-Type))."""
    pages: dict[str, tuple[bytes, str]] = {}
    handler = type("Handler", (_Pages,), {"pages": pages})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", pages
    finally:
        server.shutdown()
        server.server_close()


TINY_YAML = """\
name: tiny_province
agency: "UBND tỉnh Thử Nghiệm"
base_url: "http://example.invalid"
listing: {path: "/docs", page_param: p, first_page: 1, max_pages: 5}
row: "div.doc"
fields:
  so_hieu: {selector: "h3", regex: 'Số\\s*:?\\s*(\\S+)'}
  signed: {selector: "p.meta", regex: '(\\d{4}-\\d{2}-\\d{2})', date_format: "%Y-%m-%d"}
  trich_yeu: "p.summary"
  detail_link: "h3 a"
  attachments: "a.file"
filter:
  trich_yeu_regex: "công bố.*thủ tục"
detail:
  fields:
    so_hieu: "#so"
    signer: "#signer"
  attachments: "a.file"
"""


def _tiny_doc(n: int, summary: str) -> str:
    return (f'<div class="doc"><h3><a href="/docs/{n}">Số: {n}/QĐ-UBND</a></h3>'
            f'<p class="meta">Ban hành 2026-07-{n:02d}</p><p class="summary">{summary}</p>'
            f'<a class="file" href="/files/{n}%20qd.pdf">Tải về</a></div>')


def test_new_site_needs_only_a_yaml_file(tmp_path: Path, tiny_server) -> None:
    url, pages = tiny_server
    html = "<html><head><meta charset='utf-8'></head><body>{}</body></html>"
    pages["/docs?p=1"] = (html.format(_tiny_doc(3, "Về việc công bố thủ tục hành chính mới")
                                      + _tiny_doc(2, "Về việc giao chỉ tiêu")).encode(), "text/html; charset=utf-8")
    pages["/docs?p=2"] = (html.format(_tiny_doc(1, "Công bố danh mục thủ tục")).encode(), "text/html")
    pages["/docs?p=3"] = (html.format("<p>Không có văn bản.</p>").encode(), "text/html; charset=utf-8")
    pages["/docs/3"] = (html.format('<span id="so">3/QĐ-UBND</span><span id="signer">Trần Văn A</span>'
                                    '<a class="file" href="../files/3%20qd.pdf">3 qd.pdf</a>').encode(),
                        "text/html; charset=utf-8")
    (tmp_path / "tiny_province.yaml").write_text(TINY_YAML, encoding="utf-8")

    cfg = load_all(tmp_path)["tiny_province"]
    client = HtmlListingClient(cfg, base_url=url)
    rows = list(client.listing())
    assert client.requests_made == 3  # the empty third page ends the listing
    assert [(r.so_hieu, r.signed, r.matches_filter) for r in rows] == [
        ("3/QĐ-UBND", date(2026, 7, 3), True),
        ("2/QĐ-UBND", date(2026, 7, 2), False),
        ("1/QĐ-UBND", date(2026, 7, 1), True),
    ]
    assert rows[0].detail_url == f"{url}/docs/3"
    assert rows[0].agency == "UBND tỉnh Thử Nghiệm"
    assert [(a.url, a.label, a.filename) for a in rows[0].attachments] == [
        (f"{url}/files/3%20qd.pdf", "Tải về", "3 qd.pdf")]
    detail = client.detail(rows[0].detail_url)
    assert (detail.so_hieu, detail.signer, detail.agency) == ("3/QĐ-UBND", "Trần Văn A", "UBND tỉnh Thử Nghiệm")
    assert detail.attachments[0].url == f"{url}/files/3%20qd.pdf"


def test_first_page_without_rows_is_a_layout_change_and_network_errors_are_source_errors(
        tmp_path: Path, tiny_server) -> None:
    url, pages = tiny_server
    pages["/docs?p=1"] = (b"<html><body><p>Maintenance</p></body></html>", "text/html; charset=utf-8")
    (tmp_path / "tiny.yaml").write_text(TINY_YAML, encoding="utf-8")
    cfg = load_site_config(tmp_path / "tiny.yaml")
    with pytest.raises(LayoutChangedError, match="tiny_province.*'div.doc'"):
        list(HtmlListingClient(cfg, base_url=url).listing())
    with pytest.raises(SourceError, match="tiny_province"):
        list(HtmlListingClient(cfg, base_url="http://127.0.0.1:9", session=make_session(retries=0)).listing())


# ------------------------------------------------------------------ (f) encodings, entities, NFD


_TONES = "\u0300\u0301\u0303\u0309\u0323"  # grave, acute, tilde, hook above, dot below


def cp1258(text: str) -> bytes:
    """Windows-1258 as Vietnamese pages use it: base letters (with their vowel marks) precomposed,
    tone marks as separate combining characters."""
    out = []
    for ch in text:
        d = unicodedata.normalize("NFD", ch)
        tones = "".join(m for m in d if m in _TONES)
        out.append(unicodedata.normalize("NFC", "".join(m for m in d if m not in _TONES)) + tones)
    return "".join(out).encode("cp1258")


SUMMARY = "Về việc công bố thủ tục hành chính lĩnh vực Tiêu chuẩn đo lường chất lượng"


@pytest.mark.parametrize("how", ["header", "meta", "config", "entities", "nfd"])
def test_page_comes_out_nfc(tmp_path: Path, tiny_server, how: str) -> None:
    url, pages = tiny_server
    body = _tiny_doc(5, SUMMARY)
    if how == "entities":
        body = body.replace("Về việc công bố", "V&#7873; vi&ecirc;&#803;c c&ocirc;ng b&#7889;")
    if how == "nfd":
        body = unicodedata.normalize("NFD", body)
    if how in ("header", "meta", "config"):
        meta = '<meta http-equiv="Content-Type" content="text/html; charset=windows-1258">' if how == "meta" else ""
        raw = cp1258(f"<html><head>{meta}</head><body>{body}</body></html>")
        assert SUMMARY.encode("utf-8") not in raw
        ctype = "text/html; charset=windows-1258" if how == "header" else "text/html"
    else:
        raw = f"<html><head><meta charset='utf-8'></head><body>{body}</body></html>".encode()
        ctype = "text/html; charset=utf-8"
    pages["/docs?p=1"] = (raw, ctype)
    pages["/docs?p=2"] = (b"<html><body></body></html>", "text/html; charset=utf-8")
    text = TINY_YAML + ('encoding: "windows-1258"\n' if how == "config" else "")
    (tmp_path / "tiny.yaml").write_text(text, encoding="utf-8")
    cfg = load_site_config(tmp_path / "tiny.yaml")
    rows = list(HtmlListingClient(cfg, base_url=url).listing())
    assert [r.trich_yeu for r in rows] == [SUMMARY]
    assert unicodedata.is_normalized("NFC", rows[0].trich_yeu)
    assert rows[0].so_hieu == "5/QĐ-UBND" and rows[0].matches_filter


def test_parse_listing_cleans_whitespace_and_entities(vanban: SiteConfig) -> None:
    html = ('<table class="search-result"><tr><td><a href="/?pageid=27160&amp;docid=1"><span class="code">'
            '\n  12/QĐ-TTg \n</span></a></td><td><span class="issued-date">01/02/2026</span></td><td>'
            '<span class="substract">C&ocirc;ng b&#7889;\n\t th&#7911; t&#7909;c  h&agrave;nh ch&iacute;nh</span>'
            '</td></tr></table>')
    row = parse_listing(html, vanban, "https://vanban.chinhphu.vn/?pageid=27160").rows[0]
    assert row.so_hieu == "12/QĐ-TTg"
    assert row.trich_yeu == clean("Công bố thủ tục hành chính") and row.matches_filter
    assert row.detail_url == "https://vanban.chinhphu.vn/?pageid=27160&docid=1"
    assert row.attachments == []
