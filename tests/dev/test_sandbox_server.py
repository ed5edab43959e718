"""The sandbox HTTP server, exercised over real HTTP against a small fixture data set."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pytest
import requests
import yaml
from bs4 import BeautifulSoup
from tthc_dev.sandbox.app import Sandbox
from tthc_dev.sandbox.smtp_sink import free_port

MOST = "Bộ Khoa học và Công nghệ"
SEARCH = "decision_publishment_advanced_search_service_v2"
NEW = "get_procedures_by_dp_id_service_v2"
MODIFIED = "get_modified_procedures_by_dp_id_service_v2"
RESCINDED = "get_rescinded_procedures_by_dp_id_service_v2"
SEARCH_KEYS = ["ID", "CODE", "NAME", "PUBLISHING_DATE", "AGENCY_NAME", "AGENCY_ID", "AMOUNT", "ROW_STT"]
ITEM_KEYS = ["ID", "PROCEDURE_NAME", "PUBLISHED_AGENCY", "PUBLISHED_AGENCY_ID", "AMOUNT", "ROW_STT"]
CMS = "/wp-json/wp/v2/posts"
CSDL = "/csdl/api/v1/quyet-dinh-cong-bo"

# Newest first: (portal_id, published) of the 13 fixture decisions.
EXPECTED_ORDER = ["500100", "500095", "500090"] + [str(500010 - i) for i in range(10)]


def _item(change, code, name, levels=("cap_tinh",), replaces=None):
    return {"change": change, "code": code, "name": name, "levels": list(levels), "replaces": replaces}


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    fields = [
        {"key": "hoat_dong_khcn", "portal_id": "68", "name": "Hoạt động khoa học và công nghệ"},
        {"key": "so_huu_tri_tue", "portal_id": "69", "name": "Sở hữu trí tuệ"},
    ]
    procedures = [
        {"code": code, "portal_id": pid, "name": name, "field": field, "levels": ["cap_tinh"],
         "agency": "Sở Khoa học và Công nghệ", "processing_time": "10 ngày", "fee": "Không", "legal_basis": "Luật"}
        for code, pid, name, field in [
            ("1.000001", "300001", "Thủ tục cấp giấy chứng nhận hoạt động khoa học", "hoat_dong_khcn"),
            ("1.000002", "300002", "Thủ tục đăng ký nhãn hiệu", "so_huu_tri_tue"),
            ("1.000003", "300003", "Thủ tục cũ bị thay thế", "so_huu_tri_tue"),
            ("1.000004", "300004", "Thủ tục bị bãi bỏ", "hoat_dong_khcn"),
        ]
    ]
    decisions = [
        {
            "portal_id": "500100", "so_hieu": "100/QĐ-BKHCN",
            "trich_yeu": "Về việc công bố thủ tục hành chính mới ban hành, sửa đổi, thay thế và bãi bỏ",
            "agency": MOST, "agency_portal_id": "13",
            "signed": "2026-03-08", "published": "2026-03-10", "effective": "2026-04-01",
            "fields": ["hoat_dong_khcn"], "nfd": False,
            "items": [
                _item("new", None, "Thủ tục hoàn toàn mới về đổi mới sáng tạo", ("cap_tinh", "cap_xa")),
                _item("amended", "1.000001", "Thủ tục cấp giấy chứng nhận hoạt động khoa học"),
                _item("replaced", "1.000009", "Thủ tục mới thay thế", replaces="1.000003"),
                _item("abolished", "1.000004", "Thủ tục bị bãi bỏ"),
            ],
        },
        {
            "portal_id": "500095", "so_hieu": "95/QĐ-BKHCN", "trich_yeu": "Về việc công bố thủ tục sở hữu trí tuệ",
            "agency": MOST, "agency_portal_id": "13",
            "signed": "2026-03-01", "published": "2026-03-05", "effective": "2026-03-20",
            "fields": ["so_huu_tri_tue"], "nfd": False,
            "items": [_item("amended", "1.000002", "Thủ tục đăng ký nhãn hiệu", ("cap_trung_uong",))],
        },
        {
            "portal_id": "500090", "so_hieu": "90/QĐ-UBND",
            "trich_yeu": "Về việc công bố thủ tục hành chính được sửa đổi trong lĩnh vực Thiết bị đo lường",
            "agency": "UBND tỉnh Thử Nghiệm", "agency_portal_id": "777",
            "signed": "2026-03-02", "published": "2026-03-05", "effective": "2026-03-15",
            "fields": ["so_huu_tri_tue"], "nfd": True,
            "items": [_item("amended", "1.000002", "Thủ tục đăng ký nhãn hiệu")],
        },
    ]
    for i in range(10):
        decisions.append({
            "portal_id": str(500010 - i), "so_hieu": f"{10 - i}/QĐ-BKHCN",
            "trich_yeu": f"Quyết định mẫu số {10 - i}",
            "agency": MOST, "agency_portal_id": "13",
            "signed": f"2026-01-{20 - i:02d}", "published": f"2026-01-{21 - i:02d}", "effective": "2026-02-01",
            "fields": ["hoat_dong_khcn"], "nfd": False,
            "items": [_item("amended", "1.000001", "Thủ tục cấp giấy chứng nhận hoạt động khoa học")],
        })
    for name, payload in [("fields.yaml", fields), ("procedures.yaml", procedures), ("decisions.yaml", decisions)]:
        (d / name).write_text(yaml.safe_dump(payload, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return d


@pytest.fixture()
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture()
def sandbox(data_dir: Path, state_dir: Path):
    with Sandbox(data_dir, state_dir) as sb:
        yield sb


def rest(sb: Sandbox, service: str, **params) -> requests.Response:
    body = json.dumps({"service": service, "provider": "dvcquocgia", "type": "ref", **params}, ensure_ascii=False)
    return requests.post(sb.url + "/jsp/rest.jsp", data={"params": body}, timeout=10)


def search(sb: Sandbox, per_page: int = 50, page: int = 1, **filters) -> list[dict]:
    params = {"recordPerPage": per_page, "pageIndex": page, "keyword": "", "agency_id": "-1", "field_id": "-1",
              "publishing_date": ""}
    params.update(filters)
    response = rest(sb, SEARCH, **params)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    return response.json()


def group(sb: Sandbox, service: str, dp_id: str, per_page: int = 50, page: int = 1) -> list[dict]:
    response = rest(sb, service, dp_id=dp_id, recordPerPage=per_page, pageIndex=page)
    assert response.status_code == 200
    return response.json()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- national portal: rest.jsp -------------------------------------------------------------------


def test_search_rows_are_strings_newest_first_with_amount_and_row_stt(sandbox):
    rows = search(sandbox)
    assert [r["ID"] for r in rows] == EXPECTED_ORDER
    for n, row in enumerate(rows, start=1):
        assert list(row) == SEARCH_KEYS
        assert all(isinstance(v, str) for v in row.values())
        assert row["AMOUNT"] == "13"
        assert row["ROW_STT"] == str(n)
        assert re.fullmatch(r"\d\d-\d\d-\d{4}", row["PUBLISHING_DATE"])
    first = rows[0]
    assert first["NAME"].startswith("Về việc công bố thủ tục hành chính mới ban hành")
    assert first["PUBLISHING_DATE"] == "10-03-2026"
    assert first["AGENCY_NAME"] == MOST and first["AGENCY_ID"] == "13"


def test_search_pagination_and_past_the_end(sandbox):
    pages = [search(sandbox, per_page=5, page=p) for p in (1, 2, 3)]
    assert [len(p) for p in pages] == [5, 5, 3]
    assert [r["ID"] for p in pages for r in p] == EXPECTED_ORDER
    assert [r["ROW_STT"] for r in pages[1]] == ["6", "7", "8", "9", "10"]
    assert all(r["AMOUNT"] == "13" for p in pages for r in p)
    past = rest(sandbox, SEARCH, recordPerPage=5, pageIndex=4, keyword="", agency_id="-1", field_id="-1",
                publishing_date="")
    assert past.status_code == 200 and past.json() == []
    assert past.text == "[]"


def test_every_third_code_has_a_stray_dot(sandbox):
    rows = search(sandbox)
    dotted = [r["ROW_STT"] for r in rows if r["CODE"].endswith(".")]
    assert dotted == ["3", "6", "9", "12"]
    assert rows[0]["CODE"] == "100/QĐ-BKHCN"
    assert rows[5]["CODE"] == "8/QĐ-BKHCN."


def test_search_filters(sandbox):
    by_agency = search(sandbox, agency_id="777")
    assert [r["ID"] for r in by_agency] == ["500090"]
    assert by_agency[0]["AMOUNT"] == "1" and by_agency[0]["ROW_STT"] == "1"
    by_field = search(sandbox, field_id="69")
    assert [r["ID"] for r in by_field] == ["500095", "500090"]
    by_keyword = search(sandbox, keyword="sở hữu trí tuệ")
    assert [r["ID"] for r in by_keyword] == ["500095"]
    by_number = search(sandbox, keyword="7/QĐ-BKHCN")
    assert [r["ID"] for r in by_number] == ["500007"]
    by_date = search(sandbox, publishing_date="05-03-2026")
    assert [r["ID"] for r in by_date] == ["500095", "500090"]
    assert search(sandbox, publishing_date="01-01-2020") == []


def test_item_groups(sandbox):
    new = group(sandbox, NEW, "500100")
    assert [r["PROCEDURE_NAME"] for r in new] == ["Thủ tục hoàn toàn mới về đổi mới sáng tạo", "Thủ tục mới thay thế"]
    for n, row in enumerate(new, start=1):
        assert list(row) == ITEM_KEYS
        assert all(isinstance(v, str) for v in row.values())
        assert row["AMOUNT"] == "2" and row["ROW_STT"] == str(n)
        assert row["PUBLISHED_AGENCY"] == MOST and row["PUBLISHED_AGENCY_ID"] == "13"
    # A procedure without a code gets a stable synthetic numeric id.
    assert re.fullmatch(r"9\d+", new[0]["ID"])
    assert group(sandbox, NEW, "500100")[0]["ID"] == new[0]["ID"]

    modified = group(sandbox, MODIFIED, "500100")
    assert [(r["ID"], r["PROCEDURE_NAME"]) for r in modified] == [
        ("300001", "Thủ tục cấp giấy chứng nhận hoạt động khoa học")]

    rescinded = group(sandbox, RESCINDED, "500100")
    assert [(r["ID"], r["PROCEDURE_NAME"]) for r in rescinded] == [
        ("300003", "Thủ tục cũ bị thay thế"), ("300004", "Thủ tục bị bãi bỏ")]
    assert [r["ROW_STT"] for r in rescinded] == ["1", "2"] and {r["AMOUNT"] for r in rescinded} == {"2"}


def test_item_group_paging_and_empty_groups(sandbox):
    second = group(sandbox, RESCINDED, "500100", per_page=1, page=2)
    assert [(r["ID"], r["AMOUNT"], r["ROW_STT"]) for r in second] == [("300004", "2", "2")]
    assert group(sandbox, RESCINDED, "500100", per_page=1, page=3) == []
    empty = rest(sandbox, NEW, dp_id="500095", recordPerPage=50, pageIndex=1)
    assert empty.status_code == 200 and empty.text == "[]"
    assert group(sandbox, RESCINDED, "500095") == []
    assert group(sandbox, MODIFIED, "999999") == []


def test_nfd_decision_is_served_in_nfd(sandbox):
    row = next(r for r in search(sandbox) if r["ID"] == "500090")
    for key in ("CODE", "NAME", "AGENCY_NAME"):
        assert unicodedata.is_normalized("NFD", row[key])
    # "Đ" has no decomposition, so only texts with accented letters differ between NFC and NFD.
    for key in ("NAME", "AGENCY_NAME"):
        assert not unicodedata.is_normalized("NFC", row[key])
    assert unicodedata.normalize("NFC", row["NAME"]).endswith("lĩnh vực Thiết bị đo lường")
    assert unicodedata.normalize("NFC", row["AGENCY_NAME"]) == "UBND tỉnh Thử Nghiệm"
    item = group(sandbox, MODIFIED, "500090")[0]
    assert not unicodedata.is_normalized("NFC", item["PROCEDURE_NAME"])
    assert unicodedata.normalize("NFC", item["PROCEDURE_NAME"]) == "Thủ tục đăng ký nhãn hiệu"
    # Other decisions stay NFC.
    other = next(r for r in search(sandbox) if r["ID"] == "500095")
    assert unicodedata.is_normalized("NFC", other["NAME"]) and unicodedata.is_normalized("NFC", other["CODE"])


def test_fields_agencies_and_field_list(sandbox):
    fields = rest(sandbox, "get_fields_by_dp_id_services_v2", dp_id="500100").json()
    assert fields == [{"ID": "68", "NAME": "Hoạt động khoa học và công nghệ"}]
    assert rest(sandbox, "get_fields_by_dp_id_services_v2", dp_id="1").json() == []
    agencies = rest(sandbox, "get_list_agency_service_v2").json()
    assert {a["ID"]: a["AGENCY_NAME"] for a in agencies} == {"13": MOST, "777": "UBND tỉnh Thử Nghiệm"}
    for agency in agencies:
        assert list(agency) == ["ID", "AGENCY_NAME", "NAME", "CODE"]
        assert agency["NAME"] == agency["AGENCY_NAME"] and agency["CODE"]
    all_fields = rest(sandbox, "procedure_get_list_field_service_v2").json()
    assert {"ID": "69", "FIELD_NAME": "Sở hữu trí tuệ(Bộ Khoa học và Công nghệ)"} in all_fields
    assert len(all_fields) == 2


def test_bad_requests_are_400_json(sandbox):
    unknown = rest(sandbox, "no_such_service_v2")
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "unknown service"
    bad = requests.post(sandbox.url + "/jsp/rest.jsp", data={"params": "{not json"}, timeout=10)
    assert bad.status_code == 400 and "error" in bad.json()
    missing = requests.post(sandbox.url + "/jsp/rest.jsp", data={"other": "1"}, timeout=10)
    assert missing.status_code == 400


# --- national portal: pages ----------------------------------------------------------------------


def _info_table(html_text: str) -> tuple[dict[str, str], BeautifulSoup]:
    soup = BeautifulSoup(html_text, "html.parser")
    info = {}
    for tr in soup.select("table.table-info-row tr"):
        info[tr.select_one("td.key").get_text(strip=True)] = tr.select_one("td.value")
    return info, soup


def test_decision_detail_page_and_attachment(sandbox):
    page = requests.get(sandbox.url + "/p/home/dvc-tthc-quyet-dinh-cong-bo-chi-tiet.html",
                        params={"ma_quyet_dinh": "500100"}, timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    info, _ = _info_table(page.text)
    assert list(info) == ["Số quyết định", "Trích yếu", "Ngày quyết định", "Lĩnh vực", "File đính kèm",
                          "Cơ quan ban hành"]
    assert info["Số quyết định"].get_text(strip=True) == "100/QĐ-BKHCN"
    assert info["Trích yếu"].get_text(strip=True).startswith("Về việc công bố thủ tục")
    assert info["Ngày quyết định"].get_text(strip=True) == "08-03-2026"
    assert info["Lĩnh vực"].get_text(strip=True) == "Hoạt động khoa học và công nghệ"
    assert info["Cơ quan ban hành"].get_text(strip=True) == MOST
    href = info["File đính kèm"].select_one("a")["href"]
    assert re.fullmatch(r"/web/jsp/download_file\.jsp\?ma=[0-9a-f]{16}", href)

    pdf = requests.get(sandbox.url + href, timeout=10)
    assert pdf.status_code == 200
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-1.4") and pdf.content.rstrip().endswith(b"%%EOF")
    assert "100/QĐ-BKHCN".encode() in pdf.content

    assert requests.get(sandbox.url + "/web/jsp/download_file.jsp?ma=deadbeef", timeout=10).status_code == 404
    missing = requests.get(sandbox.url + "/p/home/dvc-tthc-quyet-dinh-cong-bo-chi-tiet.html?ma_quyet_dinh=1",
                           timeout=10)
    assert missing.status_code == 404


def test_detail_page_of_nfd_decision_is_nfd(sandbox):
    page = requests.get(sandbox.url + "/p/home/dvc-tthc-quyet-dinh-cong-bo-chi-tiet.html?ma_quyet_dinh=500090",
                        timeout=10)
    info, _ = _info_table(page.content.decode("utf-8"))
    trich_yeu = info["Trích yếu"].get_text(strip=True)
    assert not unicodedata.is_normalized("NFC", trich_yeu)
    assert unicodedata.normalize("NFC", trich_yeu).endswith("Thiết bị đo lường")
    # The decision is the third newest: its stored number carries the stray dot on the portal.
    assert unicodedata.normalize("NFC", info["Số quyết định"].get_text(strip=True)) == "90/QĐ-UBND."


# --- ministry website ----------------------------------------------------------------------------


def _listing(sb: Sandbox, query: str = "") -> BeautifulSoup:
    response = requests.get(sb.url + "/bo-khcn/van-ban" + query, timeout=10)
    assert response.status_code == 200
    return BeautifulSoup(response.content.decode("utf-8"), "html.parser")


def test_ministry_listing_pages(sandbox):
    first = _listing(sandbox)
    rows = first.select("table.list-van-ban tr.van-ban")
    assert len(rows) == 10
    top = rows[0]
    assert top.select_one("td.so-hieu a").get_text() == "100/QĐ-BKHCN"
    assert top.select_one("td.so-hieu a")["href"] == "/bo-khcn/van-ban/500100"
    assert top.select_one("td.ngay-ban-hanh").get_text() == "08/03/2026"
    assert top.select_one("td.ngay-hieu-luc").get_text() == "01/04/2026"
    assert top.select_one("td.trich-yeu").get_text().startswith("Về việc công bố")
    assert first.select_one("div.pagination a.next")["href"] == "/bo-khcn/van-ban?page=2"
    # Only the ministry's own decisions, no stray dots on this site.
    numbers = [r.select_one("td.so-hieu a").get_text() for r in rows]
    assert "90/QĐ-UBND" not in [unicodedata.normalize("NFC", n) for n in numbers]
    assert not any(n.endswith(".") for n in numbers)

    same_as_default = _listing(sandbox, "?page=1")
    assert [r.select_one("td.so-hieu a").get_text() for r in same_as_default.select("tr.van-ban")] == numbers
    second = _listing(sandbox, "?page=2")
    assert [r.select_one("td.so-hieu a").get_text() for r in second.select("tr.van-ban")] == [
        "2/QĐ-BKHCN", "1/QĐ-BKHCN"]
    assert second.select_one("div.pagination a.next") is None
    assert _listing(sandbox, "?page=3").select("tr.van-ban") == []


def test_ministry_detail_page(sandbox):
    response = requests.get(sandbox.url + "/bo-khcn/van-ban/500100", timeout=10)
    assert response.status_code == 200
    soup = BeautifulSoup(response.content.decode("utf-8"), "html.parser")
    assert soup.select_one("h1.tieu-de").get_text() == "100/QĐ-BKHCN"
    assert soup.select_one("dl.thuoc-tinh dd.so-hieu").get_text() == "100/QĐ-BKHCN"
    assert soup.select_one("dd.ngay-ban-hanh").get_text() == "08/03/2026"
    assert soup.select_one("dd.ngay-hieu-luc").get_text() == "01/04/2026"
    assert soup.select_one("dd.co-quan").get_text() == MOST
    rows = [
        {cls: tr.select_one(f"td.{cls}").get_text() for cls in ("stt", "ma", "ten", "loai", "cap", "linh-vuc",
                                                                "thay-the")}
        for tr in soup.select("table.phu-luc tr.tthc")
    ]
    assert [r["stt"] for r in rows] == ["1", "2", "3", "4"]
    assert rows[0] == {"stt": "1", "ma": "", "ten": "Thủ tục hoàn toàn mới về đổi mới sáng tạo",
                       "loai": "Mới ban hành", "cap": "Cấp tỉnh; Cấp xã",
                       "linh-vuc": "Hoạt động khoa học và công nghệ", "thay-the": ""}
    assert [r["loai"] for r in rows] == ["Mới ban hành", "Sửa đổi, bổ sung", "Thay thế", "Bãi bỏ"]
    assert rows[2]["ma"] == "1.000009" and rows[2]["thay-the"] == "1.000003"
    link = soup.select_one("div.dinh-kem a")
    assert link.get_text() == "100/QĐ-BKHCN.pdf"
    assert requests.get(sandbox.url + link["href"], timeout=10).content.startswith(b"%PDF-1.4")

    field_of_procedure = requests.get(sandbox.url + "/bo-khcn/van-ban/500095", timeout=10)
    soup = BeautifulSoup(field_of_procedure.content.decode("utf-8"), "html.parser")
    assert soup.select_one("tr.tthc td.linh-vuc").get_text() == "Sở hữu trí tuệ"
    assert soup.select_one("tr.tthc td.cap").get_text() == "Cấp trung ương"
    # Another agency's decision is not on the ministry's site.
    assert requests.get(sandbox.url + "/bo-khcn/van-ban/500090", timeout=10).status_code == 404
    assert requests.get(sandbox.url + "/bo-khcn/van-ban/123", timeout=10).status_code == 404


# --- CMS -----------------------------------------------------------------------------------------


def test_cms_requires_the_token(sandbox):
    for headers in ({}, auth("wrong-token"), {"Authorization": "Basic c2FuZGJveA=="}):
        response = requests.post(sandbox.url + CMS, json={"title": "x", "content": "y"}, headers=headers, timeout=10)
        assert response.status_code == 401
        assert response.json()["code"] == "rest_forbidden"
        assert response.json()["data"]["status"] == 401
    assert requests.get(sandbox.url + CMS, timeout=10).status_code == 401


def test_cms_create_lookup_update_delete(sandbox):
    h = auth("sandbox-cms-token")
    bad = requests.post(sandbox.url + CMS, json={"title": "Chỉ có tiêu đề"}, headers=h, timeout=10)
    assert bad.status_code == 400 and bad.json()["code"] == "rest_invalid_param"

    payload = {"title": "Công bố TTHC 100/QĐ-BKHCN", "content": "<p>Nội dung</p>", "status": "publish",
               "slug": "qd-100-bkhcn", "meta": {"so_hieu": "100/QĐ-BKHCN"}}
    created = requests.post(sandbox.url + CMS, json=payload, headers=h, timeout=10)
    assert created.status_code == 201
    post = created.json()
    assert post["slug"] == "qd-100-bkhcn"
    assert post["link"] == sandbox.url + "/tin-tuc/qd-100-bkhcn"
    assert post["title"] == {"rendered": "Công bố TTHC 100/QĐ-BKHCN"}
    assert post["content"] == {"rendered": "<p>Nội dung</p>"}
    assert post["status"] == "publish" and post["meta"] == {"so_hieu": "100/QĐ-BKHCN"}
    assert isinstance(post["id"], int) and post["modified"]

    found = requests.get(sandbox.url + CMS, params={"slug": "qd-100-bkhcn"}, headers=h, timeout=10).json()
    assert [p["id"] for p in found] == [post["id"]]
    assert requests.get(sandbox.url + CMS, params={"slug": "nothing"}, headers=h, timeout=10).json() == []

    # WordPress does not refuse a duplicate slug: it creates another post with a suffixed slug.
    again = requests.post(sandbox.url + CMS, json=payload, headers=h, timeout=10)
    assert again.status_code == 201 and again.json()["slug"] == "qd-100-bkhcn-2"
    assert again.json()["id"] != post["id"]

    public = requests.get(post["link"], timeout=10)
    assert public.status_code == 200 and "Nội dung" in public.text

    updated = requests.post(f"{sandbox.url}{CMS}/{post['id']}", json={"content": "<p>Mới</p>", "meta": {"v": 2}},
                            headers=h, timeout=10)
    assert updated.status_code == 200
    assert updated.json()["content"] == {"rendered": "<p>Mới</p>"}
    assert updated.json()["title"] == {"rendered": "Công bố TTHC 100/QĐ-BKHCN"}
    assert updated.json()["meta"] == {"so_hieu": "100/QĐ-BKHCN", "v": 2}
    fetched = requests.get(f"{sandbox.url}{CMS}/{post['id']}", headers=h, timeout=10)
    assert fetched.json()["content"] == {"rendered": "<p>Mới</p>"}
    assert requests.get(f"{sandbox.url}{CMS}/9999", headers=h, timeout=10).status_code == 404

    listing = requests.get(sandbox.url + CMS, params={"per_page": 1, "page": 2}, headers=h, timeout=10)
    assert listing.status_code == 200
    assert listing.headers["X-WP-Total"] == "2" and listing.headers["X-WP-TotalPages"] == "2"
    assert [p["id"] for p in listing.json()] == [post["id"]]

    deleted = requests.delete(f"{sandbox.url}{CMS}/{again.json()['id']}", headers=h, timeout=10)
    assert deleted.status_code == 200 and deleted.json()["status"] == "trash"
    assert requests.get(sandbox.url + CMS, headers=h, timeout=10).headers["X-WP-Total"] == "1"


def test_cms_state_survives_a_restart(data_dir, state_dir):
    h = auth("sandbox-cms-token")
    with Sandbox(data_dir, state_dir) as first:
        post = requests.post(first.url + CMS, json={"title": "Bền vững", "content": "x", "status": "draft"},
                             headers=h, timeout=10).json()
    assert (state_dir / "cms_posts.json").exists()
    with Sandbox(data_dir, state_dir) as second:
        found = requests.get(second.url + CMS, params={"slug": post["slug"]}, headers=h, timeout=10).json()
        assert [p["id"] for p in found] == [post["id"]]
        assert found[0]["title"] == {"rendered": "Bền vững"} and found[0]["status"] == "draft"
        nxt = requests.post(second.url + CMS, json={"title": "Tiếp", "content": "y"}, headers=h, timeout=10).json()
        assert nxt["id"] == post["id"] + 1


# --- CSDL ----------------------------------------------------------------------------------------


def test_csdl_publish_duplicate_and_lookup(data_dir, state_dir):
    h = auth("sandbox-csdl-token")
    record = {"so_hieu": "100/QĐ-BKHCN", "ngay_ky": "2026-03-08", "co_quan": MOST,
              "thu_tuc": [{"ma": "1.000001", "ten": "Thủ tục cấp giấy chứng nhận", "loai": "amended"},
                          {"ma": None, "ten": "Thủ tục mới", "loai": "new"}]}
    with Sandbox(data_dir, state_dir) as sb:
        assert requests.post(sb.url + CSDL, json=record, timeout=10).status_code == 401
        assert requests.post(sb.url + CSDL, json=record, headers=auth("sandbox-cms-token"), timeout=10).status_code == 401
        invalid = requests.post(sb.url + CSDL, json={"so_hieu": "1/QĐ"}, headers=h, timeout=10)
        assert invalid.status_code == 422 and invalid.json()["error"] == "invalid"

        created = requests.post(sb.url + CSDL, json=record, headers=h, timeout=10)
        assert created.status_code == 201
        assert created.json()["so_hieu"] == "100/QĐ-BKHCN"
        record_id = created.json()["id"]

        duplicate = requests.post(sb.url + CSDL, json={**record, "so_hieu": "100/QĐ-BKHCN."}, headers=h, timeout=10)
        assert duplicate.status_code == 409
        assert duplicate.json() == {"error": "duplicate", "id": record_id}

        found = requests.get(sb.url + CSDL, params={"so_hieu": "100/QĐ-BKHCN"}, headers=h, timeout=10).json()
        assert [r["id"] for r in found] == [record_id]
        assert found[0]["thu_tuc"] == record["thu_tuc"]
        assert requests.get(sb.url + CSDL, params={"so_hieu": "2/QĐ"}, headers=h, timeout=10).json() == []
    with Sandbox(data_dir, state_dir) as sb:
        again = requests.post(sb.url + CSDL, json=record, headers=h, timeout=10)
        assert again.status_code == 409 and again.json()["id"] == record_id


# --- control endpoints ---------------------------------------------------------------------------


def test_health_stats_and_reset(sandbox):
    assert requests.get(sandbox.url + "/_sandbox/health", timeout=10).json() == {"status": "ok"}
    search(sandbox)
    search(sandbox, page=2)
    group(sandbox, NEW, "500100")
    requests.get(sandbox.url + "/bo-khcn/van-ban?page=2", timeout=10)
    requests.post(sandbox.url + CMS, json={"title": "t", "content": "c"}, headers=auth("sandbox-cms-token"),
                  timeout=10)
    stats = requests.get(sandbox.url + "/_sandbox/stats", timeout=10).json()["requests"]
    assert stats == {
        f"POST /jsp/rest.jsp:{SEARCH}": 2,
        f"POST /jsp/rest.jsp:{NEW}": 1,
        "GET /bo-khcn/van-ban": 1,
        f"POST {CMS}": 1,
    }
    assert requests.get(sandbox.url + "/_sandbox/stats", timeout=10).json()["status"] == {
        f"POST /jsp/rest.jsp:{SEARCH} 200": 2,
        f"POST /jsp/rest.jsp:{NEW} 200": 1,
        "GET /bo-khcn/van-ban 200": 1,
        f"POST {CMS} 201": 1,
    }
    reset = requests.post(sandbox.url + "/_sandbox/reset", timeout=10)
    assert reset.status_code == 200
    assert requests.get(sandbox.url + "/_sandbox/stats", timeout=10).json() == {"requests": {}, "status": {}}
    listing = requests.get(sandbox.url + CMS, headers=auth("sandbox-cms-token"), timeout=10)
    assert listing.json() == [] and listing.headers["X-WP-Total"] == "0"


def test_serve_runs_until_sigterm(data_dir, tmp_path):
    state = tmp_path / "serve-state"
    port, smtp_port = free_port(), free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tthc_dev.sandbox.serve", "--port", str(port), "--smtp-port", str(smtp_port),
         "--data-dir", str(data_dir), "--state-dir", str(state)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/_sandbox/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "sandbox did not come up"
            time.sleep(0.1)
        assert (state / "sandbox.pid").read_text().strip() == str(proc.pid)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, output
    assert f"http://127.0.0.1:{port}" in output and f"smtp://127.0.0.1:{smtp_port}" in output
    assert not (state / "sandbox.pid").exists()
