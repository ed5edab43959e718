"""The ministry website source: listing and annex parsing on pages served by the sandbox, and the
client paging through the listing."""

from __future__ import annotations

import unicodedata
from datetime import date
from pathlib import Path

import pytest
import requests
import yaml
from tthc.sources.ministry_site import settings
from tthc.sources.ministry_site.client import MinistrySiteClient
from tthc.sources.ministry_site.helpers import AnnexItem, parse_annex, parse_listing
from tthc.sources.web import LayoutChangedError, SourceError, make_session

DATA = Path(__file__).resolve().parents[1] / "plugins" / "tthc" / "sandbox" / "data"
AGENCY = "Bộ Khoa học và Công nghệ"
PAGE_SIZE = 10  # the sandbox's listing page size
CHANGE = {"new": "new", "amended": "amended", "replaced": "replaced", "abolished": "abolished"}


def _ministry_decisions() -> list[dict]:
    """The ministry's decisions as its site lists them: newest (published) first."""
    decisions = yaml.safe_load((DATA / "decisions.yaml").read_text(encoding="utf-8"))
    mine = [d for d in decisions if d["agency"] == AGENCY]
    return sorted(mine, key=lambda d: (date.fromisoformat(d["published"]), int(d["portal_id"])), reverse=True)


def _fields() -> dict[str, str]:
    return {f["key"]: f["name"] for f in yaml.safe_load((DATA / "fields.yaml").read_text(encoding="utf-8"))}


def _get(url: str) -> bytes:
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, url
    return response.content


def _listing_url(sandbox, page: int | None = None) -> str:
    return sandbox.url + settings.LISTING_PATH + (f"?page={page}" if page else "")


# ------------------------------------------------------------------ parse_listing


def test_parse_listing_first_page(sandbox) -> None:
    expected = _ministry_decisions()
    assert len(expected) > PAGE_SIZE, "the demo data spans two listing pages"
    url = _listing_url(sandbox)
    page = parse_listing(_get(url), url)
    assert len(page.rows) == PAGE_SIZE
    for row, d in zip(page.rows, expected[:PAGE_SIZE], strict=True):
        assert row.so_hieu == d["so_hieu"]
        assert row.signed == date.fromisoformat(d["signed"])
        assert row.effective == date.fromisoformat(d["effective"])
        assert row.trich_yeu == d["trich_yeu"]
        assert row.detail_url == f"{sandbox.url}{settings.LISTING_PATH}/{d['portal_id']}"
    assert page.next_url == _listing_url(sandbox, 2)


def test_parse_listing_last_page_has_no_next(sandbox) -> None:
    expected = _ministry_decisions()
    url = _listing_url(sandbox, 2)
    page = parse_listing(_get(url), url)
    assert [r.so_hieu for r in page.rows] == [d["so_hieu"] for d in expected[PAGE_SIZE:]]
    assert page.next_url is None


def test_parse_listing_nfd_decision_is_nfc(sandbox) -> None:
    nfd = next(d for d in _ministry_decisions() if d.get("nfd"))
    url = _listing_url(sandbox)
    html = _get(url) + _get(_listing_url(sandbox, 2))
    assert unicodedata.normalize("NFD", nfd["trich_yeu"]).encode() in html  # served decomposed
    rows = parse_listing(_get(url), url).rows + parse_listing(_get(_listing_url(sandbox, 2)), url).rows
    row = next(r for r in rows if r.so_hieu == nfd["so_hieu"])
    assert row.trich_yeu == nfd["trich_yeu"]
    assert unicodedata.is_normalized("NFC", row.trich_yeu)


def test_parse_listing_empty_dates_are_none() -> None:
    html = """<table class="list-van-ban"><tr class="van-ban"><td class="so-hieu"><a href="/x/1">1/QĐ-BKHCN</a></td>
    <td class="ngay-ban-hanh">01/02/2026</td><td class="ngay-hieu-luc"> </td><td class="trich-yeu">T</td></tr></table>"""
    row = parse_listing(html, "https://bo.example/van-ban").rows[0]
    assert row.signed == date(2026, 2, 1) and row.effective is None
    assert row.detail_url == "https://bo.example/x/1"


def test_listing_table_renamed_names_selector(sandbox) -> None:
    url = _listing_url(sandbox)
    html = _get(url).decode("utf-8")
    renamed = html.replace('class="list-van-ban"', 'class="danh-sach-van-ban"')
    assert renamed != html
    with pytest.raises(LayoutChangedError, match=r"table\.list-van-ban tr\.van-ban"):
        parse_listing(renamed, url)


def test_listing_row_cell_missing_names_selector(sandbox) -> None:
    url = _listing_url(sandbox)
    html = _get(url).decode("utf-8").replace('class="ngay-hieu-luc"', 'class="hieu-luc"')
    with pytest.raises(LayoutChangedError, match=r"td\.ngay-hieu-luc"):
        parse_listing(html, url)


def test_listing_bad_date(sandbox) -> None:
    d = _ministry_decisions()[0]
    signed = date.fromisoformat(d["signed"])
    url = _listing_url(sandbox)
    html = _get(url).decode("utf-8").replace(f"{signed:%d/%m/%Y}", f"{signed:%Y-%m-%d}", 1)
    with pytest.raises(LayoutChangedError, match="unexpected date"):
        parse_listing(html, url)


# ------------------------------------------------------------------ parse_annex


def _expected_annex(d: dict) -> list[AnnexItem]:
    fields = _fields()
    procedures = {p["code"]: p for p in yaml.safe_load((DATA / "procedures.yaml").read_text(encoding="utf-8"))}
    decision_field = fields[d["fields"][0]] if d["fields"] else None
    out = []
    for i in d["items"]:
        proc = procedures.get(i["code"]) if i["code"] else None
        field_name = fields[proc["field"]] if proc and proc.get("field") in fields else decision_field
        out.append(AnnexItem(code=i["code"], name=i["name"], change_type=CHANGE[i["change"]],
                             levels=tuple(i["levels"]), field_name=field_name, replaces=i["replaces"]))
    return out


def test_parse_annex_every_decision(sandbox) -> None:
    for d in _ministry_decisions():
        url = f"{sandbox.url}{settings.LISTING_PATH}/{d['portal_id']}"
        items, attachments = parse_annex(_get(url), url)
        assert items == _expected_annex(d), d["so_hieu"]
        assert len(attachments) == 1
        assert attachments[0].startswith(sandbox.url + "/web/jsp/download_file.jsp?ma=")


def test_parse_annex_replacement_and_levels(sandbox) -> None:
    d = next(d for d in _ministry_decisions()
             if any(i["change"] == "replaced" and i["code"] for i in d["items"])
             and any(len(i["levels"]) > 1 for i in d["items"]))
    url = f"{sandbox.url}{settings.LISTING_PATH}/{d['portal_id']}"
    html = _get(url)
    assert "Thay thế".encode() in html
    items, _ = parse_annex(html, url)
    by_code = {i.code: i for i in items}
    replaced = next(i for i in d["items"] if i["change"] == "replaced")
    item = by_code[replaced["code"]]
    assert item.change_type == "replaced"
    assert item.replaces == replaced["replaces"]
    multi = next(i for i in d["items"] if len(i["levels"]) > 1)
    assert by_code[multi["code"]].levels == tuple(multi["levels"])
    assert all(i.replaces is None for i in items if i.change_type != "replaced")


def test_parse_annex_item_without_code(sandbox) -> None:
    d, raw = next((d, i) for d in _ministry_decisions() for i in d["items"] if not i["code"])
    url = f"{sandbox.url}{settings.LISTING_PATH}/{d['portal_id']}"
    items, _ = parse_annex(_get(url), url)
    item = next(i for i in items if i.name == raw["name"])
    assert item.code is None
    assert item.change_type == CHANGE[raw["change"]]


def test_annex_unknown_change_label(sandbox) -> None:
    d = _ministry_decisions()[0]
    url = f"{sandbox.url}{settings.LISTING_PATH}/{d['portal_id']}"
    html = _get(url).decode("utf-8")
    broken = html.replace(">Sửa đổi, bổ sung<", ">Đính chính<", 1)
    assert broken != html
    with pytest.raises(LayoutChangedError, match="unknown change type 'Đính chính'"):
        parse_annex(broken, url)


def test_annex_table_renamed_names_selector(sandbox) -> None:
    d = _ministry_decisions()[0]
    url = f"{sandbox.url}{settings.LISTING_PATH}/{d['portal_id']}"
    html = _get(url).decode("utf-8").replace('class="phu-luc"', 'class="phu-luc-tthc"')
    with pytest.raises(LayoutChangedError, match=r"table\.phu-luc tr\.tthc"):
        parse_annex(html, url)


def test_annex_cell_missing_names_selector(sandbox) -> None:
    d = _ministry_decisions()[0]
    url = f"{sandbox.url}{settings.LISTING_PATH}/{d['portal_id']}"
    html = _get(url).decode("utf-8").replace('class="loai"', 'class="kieu"')
    with pytest.raises(LayoutChangedError, match=r"td\.loai"):
        parse_annex(html, url)


# ------------------------------------------------------------------ the client


def test_client_listing_iterates_both_pages(sandbox) -> None:
    expected = _ministry_decisions()
    client = MinistrySiteClient(sandbox.url, session=make_session(retries=0))
    rows = list(client.listing())
    assert [r.so_hieu for r in rows] == [d["so_hieu"] for d in expected]
    assert [r.signed for r in rows] == [date.fromisoformat(d["signed"]) for d in expected]
    assert client.requests_made == 2
    stats = sandbox.stats()
    assert stats[f"GET {settings.LISTING_PATH}"] == 2


def test_client_listing_is_lazy(sandbox) -> None:
    """A caller that stops within the first page never fetches the second."""
    client = MinistrySiteClient(sandbox.url, session=make_session(retries=0))
    first = next(iter(client.listing()))
    assert first.so_hieu == _ministry_decisions()[0]["so_hieu"]
    assert client.requests_made == 1


def test_client_annex(sandbox) -> None:
    d = _ministry_decisions()[-1]
    client = MinistrySiteClient(sandbox.url, session=make_session(retries=0))
    items, attachments = client.annex(f"{sandbox.url}{settings.LISTING_PATH}/{d['portal_id']}")
    assert items == _expected_annex(d)
    assert len(attachments) == 1


def test_client_http_error_is_source_error(sandbox) -> None:
    client = MinistrySiteClient(sandbox.url, session=make_session(retries=0))
    with pytest.raises(SourceError, match="HTTP 404"):
        client.annex(f"{sandbox.url}{settings.LISTING_PATH}/999999")
    wrong = MinistrySiteClient(sandbox.url + "/khong-co", session=make_session(retries=0))
    with pytest.raises(SourceError, match="HTTP 404"):
        list(wrong.listing())
