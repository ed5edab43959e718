"""The sandbox's fault injection, conditional GET, robots.txt and synthetic volume, over real HTTP.

Runs against the real demo data (plugins/tthc/sandbox/data).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import json
import unicodedata
from pathlib import Path

import pytest
import requests
import yaml
from bs4 import BeautifulSoup
from support.sandbox_yaml import sandbox_yaml
from tthc_dev.sandbox.app import DEFAULT_DATA_DIR, Sandbox

SEARCH = "decision_publishment_advanced_search_service_v2"
NEW = "get_procedures_by_dp_id_service_v2"
MODIFIED = "get_modified_procedures_by_dp_id_service_v2"
RESCINDED = "get_rescinded_procedures_by_dp_id_service_v2"
SEARCH_KEY = f"POST /jsp/rest.jsp:{SEARCH}"
LISTING = "/bo-khcn/van-ban"
DETAIL = "/p/home/dvc-tthc-quyet-dinh-cong-bo-chi-tiet.html"

DEMO = yaml.safe_load((DEFAULT_DATA_DIR / "decisions.yaml").read_text(encoding="utf-8"))
DEMO_COUNT = len(DEMO)
NEWEST = max(DEMO, key=lambda d: (d["published"], int(d["portal_id"])))
MINISTRY_DEMO = [d for d in DEMO if d["agency"] == "Bộ Khoa học và Công nghệ"]


@pytest.fixture()
def sandbox(tmp_path: Path):
    with Sandbox(DEFAULT_DATA_DIR, tmp_path / "state") as sb:
        yield sb


def rest(sb: Sandbox, service: str, timeout: float = 10, **params) -> requests.Response:
    body = json.dumps({"service": service, "provider": "dvcquocgia", "type": "ref", **params}, ensure_ascii=False)
    return requests.post(sb.url + "/jsp/rest.jsp", data={"params": body}, timeout=timeout)


def search(sb: Sandbox, per_page: int = 50, page: int = 1) -> list[dict]:
    response = rest(sb, SEARCH, recordPerPage=per_page, pageIndex=page, keyword="", agency_id="-1",
                    field_id="-1", publishing_date="")
    assert response.status_code == 200, response.text
    return response.json()


def add_fault(sb: Sandbox, **rule) -> dict:
    response = requests.post(sb.url + "/_sandbox/faults", json=rule, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def list_faults(sb: Sandbox) -> list[dict]:
    return requests.get(sb.url + "/_sandbox/faults", timeout=10).json()["faults"]


def stats(sb: Sandbox) -> dict:
    return requests.get(sb.url + "/_sandbox/stats", timeout=10).json()


def soup_of(response: requests.Response) -> BeautifulSoup:
    return BeautifulSoup(response.content.decode("utf-8"), "html.parser")


# --- HTTP error faults, times, wildcards, clearing -----------------------------------------------


def test_http_error_faults_expire_after_times(sandbox):
    rule = add_fault(sandbox, route=SEARCH_KEY, fault="http_500", times=1)
    assert rule["route"] == SEARCH_KEY and rule["fault"] == "http_500" and rule["times"] == 1
    assert rest(sandbox, SEARCH).status_code == 500
    assert rest(sandbox, SEARCH).status_code == 200
    assert list_faults(sandbox) == []

    add_fault(sandbox, route="GET /bo-khcn/van-ban", fault="http_429", times=2, retry_after=7)
    for _ in range(2):
        response = requests.get(sandbox.url + LISTING, timeout=10)
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "7"
    assert requests.get(sandbox.url + LISTING, timeout=10).status_code == 200

    add_fault(sandbox, route="GET /bo-khcn/van-ban", fault="http_429", times=1)
    assert requests.get(sandbox.url + LISTING, timeout=10).headers["Retry-After"] == "1"

    add_fault(sandbox, route=f"GET {DETAIL}", fault="http_503", times=1)
    page = requests.get(sandbox.url + DETAIL, params={"ma_quyet_dinh": NEWEST["portal_id"]}, timeout=10)
    assert page.status_code == 503
    assert requests.get(sandbox.url + DETAIL, params={"ma_quyet_dinh": NEWEST["portal_id"]},
                        timeout=10).status_code == 200

    # Faulted requests are counted like the others, and by status code.
    counts = stats(sandbox)
    assert counts["requests"][SEARCH_KEY] == 2
    assert counts["requests"]["GET /bo-khcn/van-ban"] == 4
    assert counts["status"][f"{SEARCH_KEY} 500"] == 1
    assert counts["status"][f"{SEARCH_KEY} 200"] == 1
    assert counts["status"]["GET /bo-khcn/van-ban 429"] == 3
    assert counts["status"][f"GET {DETAIL} 503"] == 1


def test_times_counts_down_in_the_listing_and_unlimited_stays(sandbox):
    add_fault(sandbox, route=SEARCH_KEY, fault="http_503", times=3)
    unlimited = add_fault(sandbox, route="GET /bo-khcn/van-ban", fault="http_500")
    assert unlimited["times"] == -1
    rest(sandbox, SEARCH)
    assert [(r["fault"], r["times"]) for r in list_faults(sandbox)] == [("http_503", 2), ("http_500", -1)]
    for _ in range(5):
        assert requests.get(sandbox.url + LISTING, timeout=10).status_code == 500
    assert [(r["fault"], r["times"]) for r in list_faults(sandbox)] == [("http_503", 2), ("http_500", -1)]


def test_wildcard_routes(sandbox):
    add_fault(sandbox, route="POST /jsp/rest.jsp:*", fault="http_500")
    assert rest(sandbox, SEARCH).status_code == 500
    assert rest(sandbox, NEW, dp_id=NEWEST["portal_id"]).status_code == 500
    assert requests.get(sandbox.url + LISTING, timeout=10).status_code == 200
    sandbox.clear_faults()

    add_fault(sandbox, route="GET /bo-khcn/van-ban/*", fault="http_503")
    assert requests.get(f"{sandbox.url}{LISTING}/{NEWEST['portal_id']}", timeout=10).status_code == 503
    assert requests.get(f"{sandbox.url}{LISTING}/{MINISTRY_DEMO[0]['portal_id']}", timeout=10).status_code == 503
    assert requests.get(sandbox.url + LISTING, timeout=10).status_code == 200
    assert rest(sandbox, SEARCH).status_code == 200


def test_clearing_faults_over_http_python_and_reset(sandbox):
    add_fault(sandbox, route="GET /bo-khcn/van-ban", fault="http_500")
    add_fault(sandbox, route=SEARCH_KEY, fault="nfd")
    assert len(list_faults(sandbox)) == 2
    deleted = requests.delete(sandbox.url + "/_sandbox/faults", timeout=10)
    assert deleted.status_code == 200 and deleted.json() == {"deleted": 2}
    assert list_faults(sandbox) == []
    assert requests.get(sandbox.url + LISTING, timeout=10).status_code == 200

    rule = sandbox.add_fault("GET /bo-khcn/van-ban", "http_500", times=5)
    assert rule["times"] == 5 and sandbox.faults() == [rule]
    assert requests.get(sandbox.url + LISTING, timeout=10).status_code == 500
    one = sandbox.add_fault("GET /robots.txt", "http_503")
    assert requests.delete(f"{sandbox.url}/_sandbox/faults/{one['id']}", timeout=10).status_code == 200
    assert [r["id"] for r in sandbox.faults()] == [rule["id"]]
    sandbox.clear_faults()
    assert requests.get(sandbox.url + LISTING, timeout=10).status_code == 200

    sandbox.add_fault("GET /bo-khcn/van-ban", "http_500")
    assert requests.post(sandbox.url + "/_sandbox/reset", timeout=10).status_code == 200
    assert list_faults(sandbox) == []


def test_invalid_fault_rules_are_400(sandbox):
    for rule in ({"fault": "http_500"}, {"route": "GET /x", "fault": "explode"}, {"route": "GET /x"},
                 {"route": "GET /x", "fault": "timeout", "delay": "soon"}, {"route": "GET /x", "fault": "nfd",
                                                                             "times": 0}):
        response = requests.post(sandbox.url + "/_sandbox/faults", json=rule, timeout=10)
        assert response.status_code == 400, rule
    assert requests.post(sandbox.url + "/_sandbox/faults", data=b"not json", timeout=10).status_code == 400
    assert list_faults(sandbox) == []
    with pytest.raises(ValueError):
        sandbox.add_fault("GET /x", "nope")


# --- body faults ---------------------------------------------------------------------------------


def test_timeout_delays_the_answer(sandbox):
    add_fault(sandbox, route="GET /bo-khcn/van-ban", fault="timeout", delay=1.0, times=1)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(sandbox.url + LISTING, timeout=0.3)
    assert requests.get(sandbox.url + LISTING, timeout=10).status_code == 200
    assert sandbox.stats()["GET /bo-khcn/van-ban"] == 2  # counted on arrival, the slow one included

    add_fault(sandbox, route=SEARCH_KEY, fault="timeout", delay=0.3, times=1)
    slow = rest(sandbox, SEARCH, timeout=10)
    assert slow.status_code == 200 and slow.json()  # a patient client gets the normal answer


def test_truncated_body_has_matching_content_length(sandbox):
    full = rest(sandbox, SEARCH, recordPerPage=10, pageIndex=1)
    add_fault(sandbox, route=SEARCH_KEY, fault="truncated", times=1)
    cut = rest(sandbox, SEARCH, recordPerPage=10, pageIndex=1)
    assert cut.status_code == 200
    assert int(cut.headers["Content-Length"]) == len(cut.content) == len(full.content) // 2
    assert full.content.startswith(cut.content)
    with pytest.raises(ValueError):
        json.loads(cut.content)

    add_fault(sandbox, route="GET /bo-khcn/van-ban", fault="truncated", times=1)
    page = requests.get(sandbox.url + LISTING, timeout=10)
    assert int(page.headers["Content-Length"]) == len(page.content)
    assert b"</html>" not in page.content


def test_layout_changed_html_pages(sandbox):
    add_fault(sandbox, route="GET *", fault="layout_changed")
    listing = soup_of(requests.get(sandbox.url + LISTING, timeout=10))
    assert listing.select("table.list-van-ban") == []
    assert len(listing.select("table.ds-van-ban tr.van-ban")) == 10
    detail = soup_of(requests.get(f"{sandbox.url}{LISTING}/{MINISTRY_DEMO[0]['portal_id']}", timeout=10))
    assert detail.select("table.phu-luc") == [] and detail.select("table.bang-phu-luc tr.tthc")
    portal = soup_of(requests.get(sandbox.url + DETAIL, params={"ma_quyet_dinh": NEWEST["portal_id"]},
                                  timeout=10))
    assert portal.select("table.table-info-row") == [] and portal.select("table.info td.key")
    sandbox.clear_faults()
    assert soup_of(requests.get(sandbox.url + LISTING, timeout=10)).select("table.list-van-ban")


def test_layout_changed_json_keys(sandbox):
    add_fault(sandbox, route="POST /jsp/rest.jsp:*", fault="layout_changed", times=3)
    rows = search(sandbox)
    assert rows and "CODE" not in rows[0] and "SO_HIEU" in rows[0]
    assert "NAME" not in rows[0] and rows[0]["ID"] == NEWEST["portal_id"]
    items = rest(sandbox, NEW, dp_id=NEWEST["portal_id"]).json() + \
        rest(sandbox, MODIFIED, dp_id=NEWEST["portal_id"]).json()
    assert items and all("TEN_THU_TUC" in row and "PROCEDURE_NAME" not in row for row in items)
    assert "CODE" in search(sandbox)[0]  # used up


def test_nfd_answers(sandbox):
    normal = search(sandbox)
    add_fault(sandbox, route=SEARCH_KEY, fault="nfd", times=1)
    nfd = search(sandbox)
    assert [r["ID"] for r in nfd] == [r["ID"] for r in normal]
    for row in nfd:
        for value in row.values():
            assert value == unicodedata.normalize("NFD", value)
    assert any(nfd[i]["NAME"] != normal[i]["NAME"] for i in range(len(normal)))
    assert [unicodedata.normalize("NFC", r["NAME"]) for r in nfd] == \
        [unicodedata.normalize("NFC", r["NAME"]) for r in normal]

    add_fault(sandbox, route="GET /bo-khcn/van-ban", fault="nfd", times=1)
    text = requests.get(sandbox.url + LISTING, timeout=10).content.decode("utf-8")
    assert text == unicodedata.normalize("NFD", text) and "Khoa học" not in text
    assert "Khoa học" in unicodedata.normalize("NFC", text)


# --- insert_while_paging -------------------------------------------------------------------------


def test_insert_while_paging_shifts_page_two(sandbox):
    add_fault(sandbox, route=SEARCH_KEY, fault="insert_while_paging", times=1)
    # Only the first page triggers it.
    search(sandbox, per_page=5, page=2)
    assert len(list_faults(sandbox)) == 1

    page1 = search(sandbox, per_page=5, page=1)
    assert list_faults(sandbox) == []
    assert page1[0]["AMOUNT"] == str(DEMO_COUNT)
    page2 = search(sandbox, per_page=5, page=2)
    assert page2[0]["AMOUNT"] == str(DEMO_COUNT + 1)
    assert page2[0]["ID"] == page1[-1]["ID"]  # the last row of page 1 again

    top = search(sandbox, per_page=5, page=1)[0]
    assert int(top["ID"]) > max(int(d["portal_id"]) for d in DEMO)
    assert top["PUBLISHING_DATE"] == page1[0]["PUBLISHING_DATE"]
    assert top["AGENCY_NAME"] == "Bộ Khoa học và Công nghệ"
    new_items = rest(sandbox, NEW, dp_id=top["ID"]).json()
    assert len(new_items) == 1 and new_items[0]["AMOUNT"] == "1"
    assert rest(sandbox, MODIFIED, dp_id=top["ID"]).json() == []
    # Served by the portal page and the ministry site too.
    portal = requests.get(sandbox.url + DETAIL, params={"ma_quyet_dinh": top["ID"]}, timeout=10)
    assert portal.status_code == 200 and top["CODE"] in portal.text
    listing = soup_of(requests.get(sandbox.url + LISTING, timeout=10))
    assert listing.select_one("tr.van-ban td.so-hieu a")["href"] == f"{LISTING}/{top['ID']}"
    detail = soup_of(requests.get(f"{sandbox.url}{LISTING}/{top['ID']}", timeout=10))
    assert [td.get_text() for td in detail.select("tr.tthc td.cap")] == ["Cấp tỉnh"]
    assert [td.get_text() for td in detail.select("tr.tthc td.loai")] == ["Mới ban hành"]

    # reset forgets the published decision.
    requests.post(sandbox.url + "/_sandbox/reset", timeout=10)
    assert search(sandbox, per_page=5)[0]["AMOUNT"] == str(DEMO_COUNT)


def test_insert_while_paging_count(sandbox):
    sandbox.add_fault(SEARCH_KEY, "insert_while_paging", times=1, count=3)
    page1 = search(sandbox, per_page=4, page=1)
    page2 = search(sandbox, per_page=4, page=2)
    assert page2[0]["AMOUNT"] == str(DEMO_COUNT + 3)
    assert [r["ID"] for r in page2[:3]] == [r["ID"] for r in page1[1:4]]
    ids = [r["ID"] for r in search(sandbox, per_page=100)]
    assert len(ids) == len(set(ids)) == DEMO_COUNT + 3


# --- conditional GET, robots.txt -----------------------------------------------------------------


def test_conditional_get_listing(sandbox):
    first = requests.get(sandbox.url + LISTING, timeout=10)
    etag = first.headers["ETag"]
    assert etag == '"' + hashlib.sha1(first.content).hexdigest() + '"'
    newest = max(dt.date.fromisoformat(d["published"]) for d in MINISTRY_DEMO)
    assert first.headers["Last-Modified"] == newest.strftime("%a, %d %b %Y 00:00:00 GMT")
    assert email.utils.parsedate_to_datetime(first.headers["Last-Modified"]).date() == newest

    again = requests.get(sandbox.url + LISTING, headers={"If-None-Match": etag}, timeout=10)
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == etag
    assert requests.get(sandbox.url + LISTING, headers={"If-None-Match": '"other"'}, timeout=10).status_code == 200
    assert requests.get(sandbox.url + LISTING, headers={"If-None-Match": f'W/{etag}, "x"'},
                        timeout=10).status_code == 304

    since = requests.get(sandbox.url + LISTING, headers={"If-Modified-Since": first.headers["Last-Modified"]},
                         timeout=10)
    assert since.status_code == 304
    older = email.utils.format_datetime(dt.datetime(2020, 1, 1, tzinfo=dt.UTC), usegmt=True)
    assert requests.get(sandbox.url + LISTING, headers={"If-Modified-Since": older}, timeout=10).status_code == 200

    # Another page has another validator.
    page2 = requests.get(sandbox.url + LISTING, params={"page": 2}, timeout=10)
    assert page2.headers["ETag"] != etag
    assert requests.get(sandbox.url + LISTING, params={"page": 2}, headers={"If-None-Match": etag},
                        timeout=10).status_code == 200

    counts = stats(sandbox)
    assert counts["requests"]["GET /bo-khcn/van-ban"] == 8
    assert counts["status"]["GET /bo-khcn/van-ban 304"] == 3
    assert counts["status"]["GET /bo-khcn/van-ban 200"] == 5


def test_conditional_get_detail_pages_and_robots(sandbox):
    decision = MINISTRY_DEMO[0]
    published = dt.date.fromisoformat(decision["published"])
    urls = [
        (f"{sandbox.url}{LISTING}/{decision['portal_id']}", {}),
        (sandbox.url + DETAIL, {"ma_quyet_dinh": decision["portal_id"]}),
    ]
    for url, params in urls:
        page = requests.get(url, params=params, timeout=10)
        assert page.status_code == 200
        assert email.utils.parsedate_to_datetime(page.headers["Last-Modified"]).date() == published
        cached = requests.get(url, params=params, headers={"If-None-Match": page.headers["ETag"]}, timeout=10)
        assert cached.status_code == 304 and cached.content == b""
        cached = requests.get(url, params=params, headers={"If-Modified-Since": page.headers["Last-Modified"]},
                              timeout=10)
        assert cached.status_code == 304
    robots = requests.get(sandbox.url + "/robots.txt", timeout=10)
    assert robots.headers["ETag"] and robots.headers["Last-Modified"]
    assert requests.get(sandbox.url + "/robots.txt", headers={"If-None-Match": robots.headers["ETag"]},
                        timeout=10).status_code == 304
    # Missing pages and JSON answers are not conditional.
    missing = requests.get(f"{sandbox.url}{LISTING}/1", timeout=10)
    assert missing.status_code == 404 and "ETag" not in missing.headers
    assert "ETag" not in rest(sandbox, SEARCH).headers
    # A changed layout changes the validator: a client holding the old ETag gets the new page.
    old = requests.get(sandbox.url + LISTING, timeout=10).headers["ETag"]
    sandbox.add_fault("GET /bo-khcn/van-ban", "layout_changed", times=1)
    changed = requests.get(sandbox.url + LISTING, headers={"If-None-Match": old}, timeout=10)
    assert changed.status_code == 200 and "ds-van-ban" in changed.text


def test_robots_txt_and_private_area(sandbox, tmp_path):
    robots = requests.get(sandbox.url + "/robots.txt", timeout=10)
    assert robots.status_code == 200
    assert robots.headers["Content-Type"].startswith("text/plain")
    assert robots.text == "User-agent: *\nDisallow: /private/\nCrawl-delay: 0\n"
    for path in ("/private/", "/private/van-ban/1", "/private"):
        assert requests.get(sandbox.url + path, timeout=10).status_code == 403
    assert sandbox.status_stats()["GET /robots.txt 200"] == 1

    custom = "User-agent: *\nDisallow: /\nCrawl-delay: 5\n"
    with Sandbox(DEFAULT_DATA_DIR, tmp_path / "other", robots_txt=custom) as other:
        assert requests.get(other.url + "/robots.txt", timeout=10).text == custom


# --- synthetic volume ----------------------------------------------------------------------------


def test_synthetic_volume(tmp_path):
    with Sandbox(DEFAULT_DATA_DIR, tmp_path / "state", synthetic=500) as sb:
        rows = search(sb, per_page=1000)
        assert len(rows) == DEMO_COUNT + 500
        assert {r["AMOUNT"] for r in rows} == {str(DEMO_COUNT + 500)}
        dates = [dt.datetime.strptime(r["PUBLISHING_DATE"], "%d-%m-%Y").date() for r in rows]
        assert dates == sorted(dates, reverse=True)
        demo_ids = {d["portal_id"] for d in DEMO}
        assert [r["ID"] for r in rows[:DEMO_COUNT]] == [r["ID"] for r in rows if r["ID"] in demo_ids]
        synthetic = rows[DEMO_COUNT:]
        assert all(int(r["ID"]) > max(int(i) for i in demo_ids) for r in synthetic)
        assert all(dt.date(2026, 1, 1) <= d <= dt.date(2026, 6, 30) for d in dates[DEMO_COUNT:])
        assert len({r["ID"] for r in rows}) == len(rows)
        assert len({r["CODE"].rstrip(".") for r in rows}) == len(rows)

        procedures = {p["code"] for p in sandbox_yaml("procedures.yaml")}
        for row in synthetic[::97]:
            items = [rest(sb, service, dp_id=row["ID"]).json() for service in (NEW, MODIFIED, RESCINDED)]
            assert 1 <= sum(len(group) for group in items) <= 3
            page = soup_of(requests.get(f"{sb.url}{LISTING}/{row['ID']}", timeout=10))
            codes = [td.get_text() for td in page.select("table.phu-luc tr.tthc td.ma")]
            assert 1 <= len(codes) <= 3 and set(codes) <= procedures
            assert {td.get_text() for td in page.select("td.loai")} <= {"Mới ban hành", "Sửa đổi, bổ sung", "Bãi bỏ"}
            signed = dt.datetime.strptime(page.select_one("dd.ngay-ban-hanh").get_text(), "%d/%m/%Y").date()
            effective = dt.datetime.strptime(page.select_one("dd.ngay-hieu-luc").get_text(), "%d/%m/%Y").date()
            assert 30 <= (effective - signed).days <= 60
            portal = requests.get(sb.url + DETAIL, params={"ma_quyet_dinh": row["ID"]}, timeout=10)
            assert portal.status_code == 200

        # The ministry site lists them too, 10 a page.
        last_page = (len(MINISTRY_DEMO) + 500 + 9) // 10
        listing = soup_of(requests.get(sb.url + LISTING, params={"page": last_page}, timeout=10))
        assert listing.select("tr.van-ban") and listing.select_one("div.pagination a.next") is None
    # Deterministic.
    with Sandbox(DEFAULT_DATA_DIR, tmp_path / "again", synthetic=500) as again:
        assert search(again, per_page=1000) == rows
