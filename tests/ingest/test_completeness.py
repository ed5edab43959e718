"""Completeness before the watermark moves (issue 12, cases 1 and 2), on SQLite and PostgreSQL.

A source's watermark advances only when the run provably read down to the previous watermark (or the
source's start date). Otherwise the run stores what it read, keeps the watermark and says why
(``IngestResult.incomplete_reason``); the task counts it as a failed night for the source's health
streak. Every test here failed before the fix: the watermark moved and the next run never went back.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import select
from support.sandbox_yaml import sandbox_yaml
from tthc.core.http import SnapshotRecorder, make_session
from tthc.core.text import match_key
from tthc.db.models import Decision, DecisionItem, SourceHealth
from tthc.ingest.http_cache import source_session
from tthc.ingest.runs import get_watermark, ingest_html_site, ingest_portal
from tthc.ingest.sources.html_listing import load_all, load_site_config
from tthc.ingest.sources.html_listing.client import HtmlListingClient
from tthc.ingest.sources.html_listing.config import HARD_MAX_PAGES
from tthc.ingest.sources.national_portal import settings as portal_settings
from tthc.ingest.sources.national_portal.client import HttpPortalClient
from tthc.ingest.sources.national_portal.settings import SOURCE_NAME as PORTAL_SOURCE
from tthc_dev.sandbox import DATA_DIR

VN = ZoneInfo("Asia/Ho_Chi_Minh")
RUN_TIME = datetime(2026, 12, 1, 1, 0, tzinfo=VN)
ALL = date(2026, 12, 1)  # every demo decision is published before this
MINISTRY = "bo_khcn_sandbox"
AGENCY = "Bộ Khoa học và Công nghệ"
LISTING_ROUTE = "GET /bo-khcn/van-ban"
PAGE_SIZE = 4

pytestmark = pytest.mark.usefixtures("seeded")


def _demo() -> list[dict]:
    return yaml.safe_load((DATA_DIR / "decisions.yaml").read_text(encoding="utf-8"))


def _ministry_expected(dept) -> set[str]:
    """What a complete read of the ministry site stores: its decisions announcing procedures."""
    assert match_key(AGENCY) in {match_key(m) for m in dept.ministries}
    return {d["so_hieu"] for d in _demo() if d["agency"] == AGENCY and date.fromisoformat(d["signed"]) < ALL
            and "công bố" in d["trich_yeu"].lower() and "thủ tục hành chính" in d["trich_yeu"].lower()}


def _portal_expected(dept) -> set[str]:
    watched = {match_key(m) for m in dept.ministries}
    return {d["so_hieu"] for d in _demo() if match_key(d["agency"]) in watched
            and date.fromisoformat(str(d["published"])) < ALL}


def _stored(session) -> set[str]:
    session.expire_all()
    return set(session.scalars(select(Decision.so_hieu)))


def _ministry(session, base_url: str, dept, cfg=None):
    recorder = SnapshotRecorder(fetched_at=RUN_TIME)
    client = HtmlListingClient(cfg or load_all()[MINISTRY], base_url=base_url,
                               session=source_session(session, retries=0), recorder=recorder)
    result = ingest_html_site(session, client, recorder, dept, window_end=ALL, run_time=RUN_TIME)
    session.commit()
    return result


# ------------------------------------------------------------------ HTML listing sites (case 1)


def test_max_pages_reached_keeps_the_watermark_and_the_next_run_gets_the_rest(session, sandbox, dept) -> None:
    cfg = load_all()[MINISTRY]
    one_page = dataclasses.replace(cfg, listing=dataclasses.replace(cfg.listing, max_pages=1))
    first = _ministry(session, sandbox.url, dept, one_page)
    assert first.incomplete_reason is not None and "max_pages" in first.incomplete_reason
    stored_first = _stored(session)
    assert stored_first and stored_first < _ministry_expected(dept)  # what page 1 held is stored
    assert get_watermark(session, MINISTRY) is None and first.watermark_after is None

    second = _ministry(session, sandbox.url, dept)
    assert second.incomplete_reason is None
    assert _stored(session) == _ministry_expected(dept)  # before the fix: 4 decisions lost for good
    assert get_watermark(session, MINISTRY) == second.watermark_after is not None


def test_truncated_listing_page_keeps_the_watermark(session, sandbox, dept) -> None:
    sandbox.add_fault(LISTING_ROUTE, "truncated", times=1)  # page 1 cut in half: no "next" link, no </html>
    first = _ministry(session, sandbox.url, dept)
    assert first.incomplete_reason is not None and "truncated" in first.incomplete_reason
    assert "page 1" in first.incomplete_reason
    assert get_watermark(session, MINISTRY) is None
    assert _stored(session) < _ministry_expected(dept)

    second = _ministry(session, sandbox.url, dept)
    assert second.incomplete_reason is None
    assert _stored(session) == _ministry_expected(dept)


def test_truncated_page_after_an_earlier_run_keeps_the_earlier_watermark(session, sandbox, dept) -> None:
    _ministry(session, sandbox.url, dept)
    mark = get_watermark(session, MINISTRY)
    sandbox.add_fault(LISTING_ROUTE, "truncated", times=1)
    result = _ministry(session, sandbox.url, dept)
    # nothing new, but the page was cut before reaching the watermark's row: the run cannot prove it
    assert get_watermark(session, MINISTRY) == mark
    assert result.watermark_after == mark


# a tiny site: pages served from a dict, to make a pager vanish or a page repeat


class _Pages(BaseHTTPRequestHandler):
    pages: dict[str, bytes] = {}
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's API
        self.hits.append(self.path)
        body = self.pages.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def tiny() -> Iterator[tuple[str, dict[str, bytes], list[str]]]:
    pages: dict[str, bytes] = {}
    hits: list[str] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("H", (_Pages,), {"pages": pages, "hits": hits}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", pages, hits
    finally:
        server.shutdown()
        server.server_close()


TINY_YAML = """\
name: tiny_site
agency: "Bộ Khoa học và Công nghệ"
base_url: "http://example.invalid"
listing: {path: "/docs", page_param: p, next_selector: "nav.pager a.next", pager_selector: "nav.pager",
          max_pages: 10}
row: "div.doc"
fields:
  so_hieu: "h3 a"
  signed: "p.date"
  trich_yeu: "p.summary"
  detail_link: "h3 a"
"""


def _doc(n: int, day: date) -> str:
    return (f'<div class="doc"><h3><a href="/docs/{n}">{n}/QĐ-BKHCN</a></h3><p class="date">'
            f'{day:%d/%m/%Y}</p><p class="summary">Về việc công bố thủ tục hành chính số {n}</p></div>')


def _page(docs: str, pager: str | None) -> bytes:
    nav = f'<nav class="pager">{pager}</nav>' if pager is not None else ""
    return f"<html><head><meta charset='utf-8'></head><body>{docs}{nav}</body></html>".encode()


def _tiny_cfg(tmp_path: Path, text: str = TINY_YAML):
    path = tmp_path / "tiny_site.yaml"
    path.write_text(text, encoding="utf-8")
    return load_site_config(path)


def test_page_without_its_pager_is_incomplete(session, dept, tiny, tmp_path: Path) -> None:
    url, pages, _ = tiny
    day = date(2026, 11, 20)
    pages["/docs?p=1"] = _page(_doc(6, day) + _doc(5, day), '<a class="next" href="/docs?p=2">›</a>')
    pages["/docs?p=2"] = _page(_doc(4, day - timedelta(days=1)) + _doc(3, day - timedelta(days=1)), None)
    cfg = _tiny_cfg(tmp_path)
    first = _ministry(session, url, dept, cfg)
    assert first.incomplete_reason is not None and "pager" in first.incomplete_reason and "page 2" in first.incomplete_reason
    assert get_watermark(session, "tiny_site") is None
    assert _stored(session) == {"6/QĐ-BKHCN", "5/QĐ-BKHCN", "4/QĐ-BKHCN", "3/QĐ-BKHCN"}  # stored all the same

    pages["/docs?p=2"] = _page(_doc(4, day - timedelta(days=1)) + _doc(3, day - timedelta(days=1)),
                               '<span class="current">2</span>')  # the last page: a pager, no "next"
    second = _ministry(session, url, dept, cfg)
    assert second.incomplete_reason is None
    assert get_watermark(session, "tiny_site") == day.isoformat()


def test_page_repeating_the_previous_one_stops_the_loop(session, dept, tiny, tmp_path: Path) -> None:
    url, pages, hits = tiny
    day = date(2026, 11, 20)
    same = _page(_doc(6, day) + _doc(5, day), '<a class="next" href="/docs?p=2">›</a>')
    for n in range(1, 11):
        pages[f"/docs?p={n}"] = same  # a site answering page 1 for any page number
    result = _ministry(session, url, dept, _tiny_cfg(tmp_path))
    assert result.incomplete_reason is not None and "repeats" in result.incomplete_reason
    assert hits == ["/robots.txt", "/docs?p=1", "/docs?p=2"]
    assert get_watermark(session, "tiny_site") is None
    assert _stored(session) == {"6/QĐ-BKHCN", "5/QĐ-BKHCN"}


def test_reading_down_to_the_start_date_or_the_end_of_the_listing_is_complete(session, dept, tiny,
                                                                              tmp_path: Path) -> None:
    url, pages, _ = tiny
    day = date(2026, 11, 20)
    pages["/docs?p=1"] = _page(_doc(6, day) + _doc(5, day - timedelta(days=1)), "<b>1</b>")
    result = _ministry(session, url, dept, _tiny_cfg(tmp_path))
    assert result.incomplete_reason is None
    assert get_watermark(session, "tiny_site") == day.isoformat()


def test_max_pages_is_bounded_by_a_hard_cap(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=rf"listing\.max_pages.*{HARD_MAX_PAGES}"):
        _tiny_cfg(tmp_path, TINY_YAML.replace("max_pages: 10", f"max_pages: {HARD_MAX_PAGES + 1}"))


# ------------------------------------------------------------------ national portal (case 2)


class _Portal(HttpPortalClient):
    """The sandbox portal with a misbehaviour added on the client side: answers rewritten by ``edit``,
    small pages, and a guard that fails a runaway loop instead of hanging the test."""

    def __init__(self, *args, edit=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.edit = edit
        self.list_calls = 0

    def call(self, service: str, **params: Any) -> Any:
        if service == portal_settings.SERVICE_LIST:
            self.list_calls += 1
            if self.list_calls > 50:
                raise AssertionError("runaway paging: more than 50 calls of the decision list")
            params["recordPerPage"] = PAGE_SIZE
        answer = super().call(service, **params)
        return self.edit(service, params, answer) if self.edit else answer


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tthc.ingest.sources.national_portal.settings.PAGE_SIZE", PAGE_SIZE)
    monkeypatch.setattr("tthc.ingest.runs.PAGE_SIZE", PAGE_SIZE)


def _portal(session, sandbox, dept, edit=None):
    recorder = SnapshotRecorder(fetched_at=RUN_TIME)
    client = _Portal(sandbox.url, session=make_session(retries=0), recorder=recorder, edit=edit)
    result = ingest_portal(session, client, recorder, dept, window_end=ALL, run_time=RUN_TIME)
    session.commit()
    return result, client


def _without_amount(service, params, answer):
    if service == portal_settings.SERVICE_LIST:
        for row in answer:
            row.pop("AMOUNT", None)
    return answer


def _amount_garbled(service, params, answer):
    if service == portal_settings.SERVICE_LIST:
        for row in answer:
            row["AMOUNT"] = "không rõ"
    return answer


@pytest.mark.usefixtures("small_pages")
@pytest.mark.parametrize("edit", [_without_amount, _amount_garbled], ids=["missing", "unreadable"])
def test_portal_amount_missing_or_unreadable_keeps_the_watermark(session, sandbox, dept, edit) -> None:
    assert len(_demo()) > PAGE_SIZE
    first, _ = _portal(session, sandbox, dept, edit=edit)
    assert first.incomplete_reason is not None and "AMOUNT" in first.incomplete_reason
    assert get_watermark(session, PORTAL_SOURCE) is None  # before the fix: advanced after page 1
    assert _stored(session) < _portal_expected(dept)

    second, _ = _portal(session, sandbox, dept)
    assert second.incomplete_reason is None
    assert _stored(session) == _portal_expected(dept)


@pytest.mark.usefixtures("small_pages")
def test_portal_ignoring_page_index_stops_the_loop(session, sandbox, dept) -> None:
    class _IgnoresPageIndex(_Portal):
        def call(self, service: str, **params: Any) -> Any:
            if service == portal_settings.SERVICE_LIST:
                params["pageIndex"] = 1
            return super().call(service, **params)

    recorder = SnapshotRecorder(fetched_at=RUN_TIME)
    client = _IgnoresPageIndex(sandbox.url, session=make_session(retries=0), recorder=recorder)
    result = ingest_portal(session, client, recorder, dept, window_end=ALL, run_time=RUN_TIME)
    session.commit()
    assert client.list_calls == 2  # page 2 came back as page 1: stop there
    assert result.incomplete_reason is not None and "repeats" in result.incomplete_reason
    assert get_watermark(session, PORTAL_SOURCE) is None


def _portal_items(decision: dict) -> set[tuple[str, str, str]]:
    """(số hiệu, name, change) as the portal groups items: a replacement is a new item plus the old one
    rescinded."""
    procedures = {str(p["code"]): p for p in
                  sandbox_yaml("procedures.yaml")}
    out = set()
    for i in decision["items"]:
        out.add((decision["so_hieu"], i["name"], {"replaced": "new"}.get(i["change"], i["change"])))
        if i["change"] == "replaced" and i.get("replaces"):
            proc = procedures.get(i["replaces"])
            out.add((decision["so_hieu"], proc["name"] if proc else f"Thủ tục {i['replaces']}", "abolished"))
    return out


@pytest.mark.usefixtures("small_pages")
def test_portal_item_pages_without_amount_are_read_to_the_end(session, sandbox, dept, monkeypatch) -> None:
    monkeypatch.setattr("tthc.ingest.sources.national_portal.settings.ITEM_PAGE_SIZE", 1)

    def items_without_amount(service, params, answer):
        if service in portal_settings.SERVICE_ITEMS:
            for row in answer:
                row.pop("AMOUNT", None)
        return answer

    result, _ = _portal(session, sandbox, dept, edit=items_without_amount)
    assert result.incomplete_reason is None
    session.expire_all()
    stored = {(i.decision.so_hieu, i.name, i.change_type) for i in session.scalars(select(DecisionItem))}
    expected = set().union(*(_portal_items(d) for d in _demo() if d["so_hieu"] in _portal_expected(dept)))
    assert any(len([x for x in expected if x[0] == so_hieu]) > 1 for so_hieu, _, _ in expected)
    assert stored == expected  # before the fix: one item per group (AMOUNT read as 0 after page 1)


@pytest.mark.usefixtures("small_pages")
def test_portal_list_is_bounded_by_a_hard_cap(session, sandbox, dept, monkeypatch) -> None:
    monkeypatch.setattr("tthc.ingest.sources.national_portal.settings.MAX_LIST_PAGES", 2)
    result, client = _portal(session, sandbox, dept)
    assert client.list_calls == 2
    assert result.incomplete_reason is not None and "MAX_LIST_PAGES" in result.incomplete_reason
    assert get_watermark(session, PORTAL_SOURCE) is None


# ------------------------------------------------------------------ the task: summary and health


def _window(as_of: date):
    from tthc.core.window import make_window

    end = datetime(as_of.year, as_of.month, as_of.day, tzinfo=VN)
    return make_window(end - timedelta(days=1), end)


def test_an_incomplete_run_counts_as_a_failed_night_and_says_why(session, sandbox, dept, monkeypatch) -> None:
    from tthc.ingest.tasks import ingest_site

    monkeypatch.setenv("AIRFLOW_CONN_TTHC_MINISTRY_SITE", sandbox.url)
    sandbox.add_fault(LISTING_ROUTE, "truncated", times=1)
    summary = ingest_site(MINISTRY, _window(ALL))
    assert "truncated" in summary["incomplete_reason"]
    assert summary["decisions_new"] > 0 and summary["watermark_after"] is None
    session.expire_all()
    health = session.get(SourceHealth, MINISTRY)
    assert health.consecutive_failures == 1 and health.first_failure_for == ALL
    assert "truncated" in health.last_error and health.last_error.startswith("Đọc chưa hết")

    summary = ingest_site(MINISTRY, _window(ALL + timedelta(days=1)))  # the next night reads it all
    assert summary["incomplete_reason"] is None
    session.expire_all()
    health = session.get(SourceHealth, MINISTRY)
    assert health.consecutive_failures == 0
    assert _stored(session) == _ministry_expected(dept)
