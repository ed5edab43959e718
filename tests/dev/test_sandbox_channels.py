"""The sandbox's publishing channels over real HTTP: CMS pages and media, the provincial portal's procedure
catalogue, the national CSDL's record endpoints, and the ``after_success_500`` fault.

Runs against the real demo data (plugins/tthc/sandbox/data).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from bs4 import BeautifulSoup
from tthc_dev.sandbox.app import DEFAULT_DATA_DIR, Sandbox
from tthc_dev.sandbox.faults import FAULT_KINDS

POSTS = "/wp-json/wp/v2/posts"
PAGES = "/wp-json/wp/v2/pages"
MEDIA = "/wp-json/wp/v2/media"
PORTAL = "/dvc-tinh/api/v1/thu-tuc"
CSDL = "/csdl/api/v1/quyet-dinh-cong-bo"
CMS_TOKEN = "sandbox-cms-token"
PORTAL_TOKEN = "sandbox-portal-token"
CSDL_TOKEN = "sandbox-csdl-token"
DOCX = b"PK\x03\x04 du thao quyet dinh \x00\x01\x02\xff"
QD = {"so_hieu": "1234/QĐ-UBND", "ngay_ky": "2026-03-20"}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


CMS = auth(CMS_TOKEN)
PORTAL_AUTH = auth(PORTAL_TOKEN)
CSDL_AUTH = auth(CSDL_TOKEN)


@pytest.fixture()
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture()
def sandbox(state_dir: Path):
    with Sandbox(data_dir=DEFAULT_DATA_DIR, state_dir=state_dir) as sb:
        yield sb


def procedure(ma_ngoai: str = "procedure:1.001155", **changes) -> dict:
    body = {
        "ma_ngoai": ma_ngoai,
        "ma_thu_tuc": "1.001155",
        "ten_thu_tuc": "Thủ tục cấp giấy chứng nhận đăng ký hoạt động khoa học và công nghệ",
        "linh_vuc": "Hoạt động khoa học và công nghệ",
        "cap_thuc_hien": ["cap_tinh"],
        "co_quan_thuc_hien": "Sở Khoa học và Công nghệ",
        "quyet_dinh_cong_bo": dict(QD),
        "noi_dung": "Trình tự thực hiện: nộp hồ sơ.",
    }
    body.update(changes)
    return body


def portal_post(sb: Sandbox, body, **kwargs) -> requests.Response:
    return requests.post(sb.url + PORTAL, json=body, headers=kwargs.pop("headers", PORTAL_AUTH), timeout=10,
                         **kwargs)


def upload(sb: Sandbox, data: bytes = DOCX, filename: str | None = "du-thao.docx",
           content_type: str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
           params: dict | None = None, disposition: str | bytes | None = None) -> requests.Response:
    headers: dict = {**CMS, "Content-Type": content_type}
    if disposition is not None:
        headers["Content-Disposition"] = disposition
    elif filename is not None:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return requests.post(sb.url + MEDIA, data=data, headers=headers, params=params, timeout=10)


def soup_of(response: requests.Response) -> BeautifulSoup:
    return BeautifulSoup(response.content.decode("utf-8"), "html.parser")


# --- CMS pages -----------------------------------------------------------------------------------


def test_pages_crud_and_separation_from_posts(sandbox):
    post = requests.post(sandbox.url + POSTS, json={"title": "Tin", "content": "<p>tin</p>", "slug": "chung",
                                                    "status": "publish"}, headers=CMS, timeout=10).json()
    assert post["type"] == "post" and post["slug"] == "chung"

    payload = {"title": "Thủ tục 1.001155", "content": "<p>Trang thủ tục</p>", "status": "publish",
               "slug": "chung", "meta": {"tthc_key": "procedure:1.001155"}}
    created = requests.post(sandbox.url + PAGES, json=payload, headers=CMS, timeout=10)
    assert created.status_code == 201
    page = created.json()
    # one id counter for posts and pages; a slug only has to be unique among pages
    assert page["id"] == post["id"] + 1
    assert page["type"] == "page" and page["slug"] == "chung"
    assert page["link"] == sandbox.url + "/trang/chung"
    assert page["title"] == {"rendered": "Thủ tục 1.001155"}
    assert page["content"] == {"rendered": "<p>Trang thủ tục</p>"}
    assert page["meta"] == {"tthc_key": "procedure:1.001155"} and page["status"] == "publish"
    assert created.headers["Location"] == f"{sandbox.url}{PAGES}/{page['id']}"

    pages = requests.get(sandbox.url + PAGES, headers=CMS, timeout=10)
    assert [p["id"] for p in pages.json()] == [page["id"]]
    assert pages.headers["X-WP-Total"] == "1" and pages.headers["X-WP-TotalPages"] == "1"
    posts = requests.get(sandbox.url + POSTS, headers=CMS, timeout=10).json()
    assert [p["id"] for p in posts] == [post["id"]]
    # an id of the other collection is not found
    assert requests.get(f"{sandbox.url}{PAGES}/{post['id']}", headers=CMS, timeout=10).status_code == 404
    assert requests.get(f"{sandbox.url}{POSTS}/{page['id']}", headers=CMS, timeout=10).status_code == 404

    by_slug = requests.get(sandbox.url + PAGES, params={"slug": "chung", "status": "any"}, headers=CMS, timeout=10)
    assert [p["id"] for p in by_slug.json()] == [page["id"]]
    again = requests.post(sandbox.url + PAGES, json=payload, headers=CMS, timeout=10).json()
    assert again["slug"] == "chung-2" and again["id"] == page["id"] + 1

    for method in ("POST", "PUT", "PATCH"):
        updated = requests.request(method, f"{sandbox.url}{PAGES}/{page['id']}", headers=CMS, timeout=10,
                                   json={"content": f"<p>{method}</p>", "meta": {"tthc_hash": method}})
        assert updated.status_code == 200
        assert updated.json()["content"] == {"rendered": f"<p>{method}</p>"}
        assert updated.json()["title"] == {"rendered": "Thủ tục 1.001155"}
        assert updated.json()["meta"] == {"tthc_key": "procedure:1.001155", "tthc_hash": method}
    fetched = requests.get(f"{sandbox.url}{PAGES}/{page['id']}", headers=CMS, timeout=10).json()
    assert fetched["content"] == {"rendered": "<p>PATCH</p>"} and fetched["type"] == "page"

    drafts = requests.get(sandbox.url + PAGES, params={"status": "draft"}, headers=CMS, timeout=10)
    assert drafts.json() == [] and drafts.headers["X-WP-Total"] == "0"
    paged = requests.get(sandbox.url + PAGES, params={"per_page": 1, "page": 2}, headers=CMS, timeout=10)
    assert paged.headers["X-WP-TotalPages"] == "2" and [p["id"] for p in paged.json()] == [page["id"]]
    bad = requests.post(sandbox.url + PAGES, json={"title": "x", "content": "y", "status": "nope"}, headers=CMS,
                        timeout=10)
    assert bad.status_code == 400 and bad.json()["code"] == "rest_invalid_param"
    for headers in ({}, auth("wrong"), CSDL_AUTH):
        refused = requests.get(sandbox.url + PAGES, headers=headers, timeout=10)
        assert refused.status_code == 401 and refused.json()["code"] == "rest_forbidden"


def test_pages_trash_force_delete_and_public_page(sandbox):
    page = requests.post(sandbox.url + PAGES, json={"title": "Trang <b>đậm</b>", "content": "<p>Nội dung trang</p>",
                                                    "slug": "trang-a", "status": "publish"},
                         headers=CMS, timeout=10).json()
    public = requests.get(sandbox.url + "/trang/trang-a", timeout=10)
    assert public.status_code == 200
    soup = soup_of(public)
    assert soup.select_one("article.page h1.entry-title").get_text() == "Trang <b>đậm</b>"
    assert soup.select_one("article.page div.entry-content p").get_text() == "Nội dung trang"
    # a page is not under the posts' public prefix, and a draft is not public
    assert requests.get(sandbox.url + "/tin-tuc/trang-a", timeout=10).status_code == 404
    requests.put(f"{sandbox.url}{PAGES}/{page['id']}", json={"status": "draft"}, headers=CMS, timeout=10)
    assert requests.get(sandbox.url + "/trang/trang-a", timeout=10).status_code == 404

    trashed = requests.delete(f"{sandbox.url}{PAGES}/{page['id']}", headers=CMS, timeout=10)
    assert trashed.status_code == 200
    assert trashed.json()["status"] == "trash" and trashed.json()["slug"] == "trang-a__trashed"
    again = requests.delete(f"{sandbox.url}{PAGES}/{page['id']}", headers=CMS, timeout=10)
    assert again.status_code == 410 and again.json()["code"] == "rest_already_trashed"
    listing = requests.get(sandbox.url + PAGES, headers=CMS, timeout=10)
    assert listing.json() == [] and listing.headers["X-WP-Total"] == "0"
    in_trash = requests.get(sandbox.url + PAGES, params={"status": "trash"}, headers=CMS, timeout=10).json()
    assert [p["id"] for p in in_trash] == [page["id"]]

    forced = requests.delete(f"{sandbox.url}{PAGES}/{page['id']}", params={"force": "true"}, headers=CMS, timeout=10)
    assert forced.status_code == 200
    assert forced.json()["deleted"] is True and forced.json()["previous"]["id"] == page["id"]
    assert requests.get(f"{sandbox.url}{PAGES}/{page['id']}", headers=CMS, timeout=10).status_code == 404
    assert requests.delete(f"{sandbox.url}{PAGES}/{page['id']}", headers=CMS, timeout=10).status_code == 404


# --- CMS media -----------------------------------------------------------------------------------


def test_media_upload_list_download_delete(sandbox, state_dir):
    post = requests.post(sandbox.url + POSTS, json={"title": "t", "content": "c"}, headers=CMS, timeout=10).json()
    created = upload(sandbox)
    assert created.status_code == 201
    media = created.json()
    assert media["id"] == post["id"] + 1  # the shared id counter
    assert media["type"] == "attachment" and media["media_type"] == "file"
    assert media["slug"] == "du-thao" and media["title"] == {"rendered": "du-thao"}
    assert media["mime_type"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert media["source_url"] == f"{sandbox.url}/wp-content/uploads/{media['id']}-du-thao.docx"
    assert media["meta"] == {} and media["date"]
    assert (state_dir / "media" / f"{media['id']}-du-thao.docx").read_bytes() == DOCX

    # a non-ASCII file name: RFC 5987 (filename*=UTF-8''...) or raw UTF-8 bytes in the header
    second = upload(sandbox, b"%PDF-1.4 phu luc", content_type="application/pdf",
                    disposition="attachment; filename*=UTF-8''ph%E1%BB%A5%20l%E1%BB%A5c%201.pdf",
                    params={"slug": "announcement-1234-abcdef"})
    assert second.status_code == 201
    assert second.json()["slug"] == "announcement-1234-abcdef"
    assert second.json()["title"] == {"rendered": "phụ lục 1"}
    assert second.json()["source_url"].endswith(f"/wp-content/uploads/{second.json()['id']}-phu-luc-1.pdf")
    # the same slug again gets a suffix, as WordPress does
    third = upload(sandbox, params={"slug": "announcement-1234-abcdef"},
                   disposition='attachment; filename="Dự thảo.docx"'.encode()).json()
    assert third["slug"] == "announcement-1234-abcdef-2" and third["title"] == {"rendered": "Dự thảo"}
    assert third["source_url"].endswith(f"/wp-content/uploads/{third['id']}-Du-thao.docx")

    download = requests.get(media["source_url"], timeout=10)  # no token
    assert download.status_code == 200 and download.content == DOCX
    assert download.headers["Content-Type"] == media["mime_type"]
    pdf = requests.get(second.json()["source_url"], timeout=10)
    assert pdf.content == b"%PDF-1.4 phu luc" and pdf.headers["Content-Type"] == "application/pdf"
    assert requests.get(f"{sandbox.url}/wp-content/uploads/{media['id']}-other.docx", timeout=10).status_code == 404

    found = requests.get(sandbox.url + MEDIA, params={"slug": "announcement-1234-abcdef"}, headers=CMS, timeout=10)
    assert [m["id"] for m in found.json()] == [second.json()["id"]]
    everything = requests.get(sandbox.url + MEDIA, headers=CMS, timeout=10)
    assert [m["id"] for m in everything.json()] == [third["id"], second.json()["id"], media["id"]]
    assert everything.headers["X-WP-Total"] == "3"
    paged = requests.get(sandbox.url + MEDIA, params={"per_page": 2, "page": 2}, headers=CMS, timeout=10)
    assert [m["id"] for m in paged.json()] == [media["id"]] and paged.headers["X-WP-TotalPages"] == "2"
    # media are not posts
    assert [p["id"] for p in requests.get(sandbox.url + POSTS, headers=CMS, timeout=10).json()] == [post["id"]]
    one = requests.get(f"{sandbox.url}{MEDIA}/{media['id']}", headers=CMS, timeout=10)
    assert one.status_code == 200 and one.json()["source_url"] == media["source_url"]

    meta = requests.post(f"{sandbox.url}{MEDIA}/{media['id']}", json={"meta": {"tthc_key": "k"}}, headers=CMS,
                         timeout=10)
    assert meta.status_code == 200 and meta.json()["meta"] == {"tthc_key": "k"}

    no_trash = requests.delete(f"{sandbox.url}{MEDIA}/{media['id']}", headers=CMS, timeout=10)
    assert no_trash.status_code == 501 and no_trash.json()["code"] == "rest_trash_not_supported"
    assert requests.get(media["source_url"], timeout=10).status_code == 200
    deleted = requests.delete(f"{sandbox.url}{MEDIA}/{media['id']}", params={"force": "true"}, headers=CMS,
                              timeout=10)
    assert deleted.status_code == 200
    assert deleted.json()["deleted"] is True and deleted.json()["previous"]["id"] == media["id"]
    assert requests.get(f"{sandbox.url}{MEDIA}/{media['id']}", headers=CMS, timeout=10).status_code == 404
    assert requests.get(media["source_url"], timeout=10).status_code == 404
    assert not (state_dir / "media" / f"{media['id']}-du-thao.docx").exists()


def test_media_upload_errors(sandbox):
    empty = upload(sandbox, data=b"")
    assert empty.status_code == 400 and empty.json()["code"] == "rest_upload_no_data"
    no_name = upload(sandbox, filename=None)
    assert no_name.status_code == 400
    assert no_name.json() == {"code": "rest_upload_no_content_disposition", "message": "No Content-Disposition supplied.",
                              "data": {"status": 400}}
    bare = requests.post(sandbox.url + MEDIA, data=DOCX, headers={**CMS, "Content-Disposition": "attachment"},
                         timeout=10)
    assert bare.status_code == 400 and bare.json()["code"] == "rest_upload_no_content_disposition"
    refused = requests.post(sandbox.url + MEDIA, data=DOCX, timeout=10,
                            headers={"Content-Disposition": 'attachment; filename="a.docx"'})
    assert refused.status_code == 401 and refused.json()["code"] == "rest_forbidden"
    assert requests.get(f"{sandbox.url}{MEDIA}/999", headers=CMS, timeout=10).status_code == 404
    bad_page = requests.get(sandbox.url + MEDIA, params={"per_page": 101}, headers=CMS, timeout=10)
    assert bad_page.status_code == 400 and bad_page.json()["code"] == "rest_invalid_param"
    listing = requests.get(sandbox.url + MEDIA, headers=CMS, timeout=10)
    assert listing.json() == [] and listing.headers["X-WP-Total"] == "0"
    # without a Content-Type the type is guessed from the file name
    untyped = requests.post(sandbox.url + MEDIA, data=b"%PDF-1.4", timeout=10,
                            headers={**CMS, "Content-Disposition": 'attachment; filename="qd.pdf"'})
    assert untyped.status_code == 201 and untyped.json()["mime_type"] == "application/pdf"
    assert requests.get(untyped.json()["source_url"], timeout=10).headers["Content-Type"] == "application/pdf"


# --- provincial portal ---------------------------------------------------------------------------


def test_portal_create_get_and_public_page(sandbox):
    body = procedure()
    created = portal_post(sandbox, body)
    assert created.status_code == 201
    record = created.json()
    assert isinstance(record["id"], int)
    assert {k: record[k] for k in body} == body
    assert record["trang_thai"] == "dang_ap_dung" and record["thu_hoi"] is None
    assert record["url"] == f"{sandbox.url}/dvc-tinh/thu-tuc/{record['id']}"
    assert record["created_at"] == record["updated_at"] and record["created_at"]
    assert created.headers["Location"] == f"{sandbox.url}{PORTAL}/{record['id']}"

    fetched = requests.get(f"{sandbox.url}{PORTAL}/{record['id']}", headers=PORTAL_AUTH, timeout=10)
    assert fetched.status_code == 200 and fetched.json() == record
    missing = requests.get(f"{sandbox.url}{PORTAL}/999", headers=PORTAL_AUTH, timeout=10)
    assert missing.status_code == 404 and missing.json() == {"error": "not found"}

    page = requests.get(record["url"], timeout=10)  # public: no token
    assert page.status_code == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    soup = soup_of(page)
    assert soup.select_one("h1.ten-thu-tuc").get_text() == body["ten_thu_tuc"]
    assert soup.select_one("tr.ma-thu-tuc td").get_text() == "1.001155"
    assert soup.select_one("tr.trang-thai td").get_text() == "Đang áp dụng"
    assert requests.get(sandbox.url + "/dvc-tinh/thu-tuc/999", timeout=10).status_code == 404


def test_portal_public_page_escapes_markup(sandbox):
    record = portal_post(sandbox, procedure(ten_thu_tuc="<script>alert(1)</script> Thủ tục", ma_thu_tuc=None,
                                            noi_dung="<b>x</b>")).json()
    page = requests.get(record["url"], timeout=10)
    assert "<script>" not in page.text and "<b>x</b>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Thủ tục" in page.text
    soup = soup_of(page)
    assert soup.select_one("h1.ten-thu-tuc").get_text() == "<script>alert(1)</script> Thủ tục"
    assert soup.select_one("tr.ma-thu-tuc td").get_text() == ""
    assert soup.find("script") is None


def test_portal_validation_is_422(sandbox):
    bad = procedure(ma_ngoai="", ten_thu_tuc="  ", linh_vuc=None, cap_thuc_hien=["cap_huyen"], ma_thu_tuc=5,
                    co_quan_thuc_hien=[], quyet_dinh_cong_bo={"so_hieu": "", "ngay_ky": "20/03/2026"}, noi_dung=3)
    response = portal_post(sandbox, bad)
    assert response.status_code == 422
    payload = response.json()
    assert payload["error"] == "validation"
    assert set(payload["errors"]) == {"ma_ngoai", "ten_thu_tuc", "linh_vuc", "cap_thuc_hien", "ma_thu_tuc",
                                      "co_quan_thuc_hien", "quyet_dinh_cong_bo.so_hieu",
                                      "quyet_dinh_cong_bo.ngay_ky", "noi_dung"}
    assert all(isinstance(message, str) and message for message in payload["errors"].values())

    cases = [
        ({k: v for k, v in procedure().items() if k != "ma_ngoai"}, {"ma_ngoai"}),
        (procedure(cap_thuc_hien=[]), {"cap_thuc_hien"}),
        (procedure(cap_thuc_hien="cap_tinh"), {"cap_thuc_hien"}),
        (procedure(quyet_dinh_cong_bo=None), {"quyet_dinh_cong_bo"}),
        (procedure(quyet_dinh_cong_bo={"so_hieu": "1/QĐ", "ngay_ky": "2026-02-30"}), {"quyet_dinh_cong_bo.ngay_ky"}),
        ({k: v for k, v in procedure().items() if k != "quyet_dinh_cong_bo"}, {"quyet_dinh_cong_bo"}),
    ]
    for body, fields in cases:
        response = portal_post(sandbox, body)
        assert response.status_code == 422, body
        assert set(response.json()["errors"]) == fields

    not_json = requests.post(sandbox.url + PORTAL, data=b"{nope", headers=PORTAL_AUTH, timeout=10)
    assert not_json.status_code == 400 and not_json.json()["error"] == "bad request"
    not_object = portal_post(sandbox, [procedure()])
    assert not_object.status_code == 400
    # optional fields may be absent; nothing was stored by the refused requests
    minimal = {k: v for k, v in procedure().items() if k not in ("ma_thu_tuc", "noi_dung")}
    created = portal_post(sandbox, minimal)
    assert created.status_code == 201
    assert created.json()["ma_thu_tuc"] is None and created.json()["noi_dung"] is None
    assert requests.get(sandbox.url + PORTAL, headers=PORTAL_AUTH, timeout=10).json()["total"] == 1


def test_portal_duplicate_is_409_with_the_existing_id(sandbox):
    first = portal_post(sandbox, procedure()).json()
    duplicate = portal_post(sandbox, procedure(ten_thu_tuc="Tên khác"))
    assert duplicate.status_code == 409
    assert duplicate.json() == {"error": "duplicate", "id": first["id"]}
    other = portal_post(sandbox, procedure("procedure:1.000002"))
    assert other.status_code == 201 and other.json()["id"] == first["id"] + 1
    unchanged = requests.get(f"{sandbox.url}{PORTAL}/{first['id']}", headers=PORTAL_AUTH, timeout=10).json()
    assert unchanged["ten_thu_tuc"] == procedure()["ten_thu_tuc"]


def test_portal_list_filters_and_paging(sandbox):
    ids = [portal_post(sandbox, procedure(f"procedure:{n}", ma_thu_tuc=f"1.00000{n % 2}")).json()["id"]
           for n in range(5)]
    requests.post(f"{sandbox.url}{PORTAL}/{ids[0]}/thu-hoi", json={"ly_do": "Bãi bỏ", "quyet_dinh_cong_bo": QD},
                  headers=PORTAL_AUTH, timeout=10)

    everything = requests.get(sandbox.url + PORTAL, headers=PORTAL_AUTH, timeout=10).json()
    assert [r["id"] for r in everything["items"]] == ids[::-1]
    assert (everything["total"], everything["page"], everything["page_size"]) == (5, 1, 50)

    def listing(**params):
        response = requests.get(sandbox.url + PORTAL, params=params, headers=PORTAL_AUTH, timeout=10)
        assert response.status_code == 200
        return response.json()

    assert [r["id"] for r in listing(ma_ngoai="procedure:3")["items"]] == [ids[3]]
    assert listing(ma_ngoai="procedure:none") == {"items": [], "total": 0, "page": 1, "page_size": 50}
    odd = listing(ma_thu_tuc="1.000001")
    assert [r["id"] for r in odd["items"]] == [ids[3], ids[1]] and odd["total"] == 2
    assert [r["id"] for r in listing(trang_thai="da_thu_hoi")["items"]] == [ids[0]]
    assert listing(trang_thai="dang_ap_dung")["total"] == 4
    assert [r["id"] for r in listing(trang_thai="dang_ap_dung", ma_thu_tuc="1.000000")["items"]] == [ids[4], ids[2]]

    second = listing(page=2, page_size=2)
    assert [r["id"] for r in second["items"]] == [ids[2], ids[1]]
    assert (second["total"], second["page"], second["page_size"]) == (5, 2, 2)
    assert [r["id"] for r in listing(page=3, page_size=2)["items"]] == [ids[0]]
    assert listing(page=4, page_size=2)["items"] == []
    assert listing(page_size=200)["page_size"] == 200

    for params, field in [({"page_size": 201}, "page_size"), ({"page_size": 0}, "page_size"),
                          ({"page": 0}, "page"), ({"page": "x"}, "page"), ({"page_size": "many"}, "page_size")]:
        response = requests.get(sandbox.url + PORTAL, params=params, headers=PORTAL_AUTH, timeout=10)
        assert response.status_code == 422, params
        assert response.json()["error"] == "validation" and set(response.json()["errors"]) == {field}


def test_portal_update(sandbox):
    record = portal_post(sandbox, procedure()).json()
    url = f"{sandbox.url}{PORTAL}/{record['id']}"
    changed = procedure(ten_thu_tuc="Tên mới", cap_thuc_hien=["cap_tinh", "cap_xa"], noi_dung="Mới")
    updated = requests.put(url, json=changed, headers=PORTAL_AUTH, timeout=10)
    assert updated.status_code == 200
    assert {k: updated.json()[k] for k in changed} == changed
    assert updated.json()["id"] == record["id"] and updated.json()["created_at"] == record["created_at"]
    assert updated.json()["updated_at"] >= record["updated_at"]
    assert requests.get(url, headers=PORTAL_AUTH, timeout=10).json()["ten_thu_tuc"] == "Tên mới"

    # ma_ngoai may be omitted (it stays); the fields omitted are replaced (optional ones become null)
    without_key = {k: v for k, v in changed.items() if k not in ("ma_ngoai", "noi_dung")}
    replaced = requests.put(url, json=without_key, headers=PORTAL_AUTH, timeout=10)
    assert replaced.status_code == 200
    assert replaced.json()["ma_ngoai"] == "procedure:1.001155" and replaced.json()["noi_dung"] is None

    moved = requests.put(url, json=procedure("procedure:other"), headers=PORTAL_AUTH, timeout=10)
    assert moved.status_code == 422 and set(moved.json()["errors"]) == {"ma_ngoai"}
    invalid = requests.put(url, json=procedure(linh_vuc="", cap_thuc_hien=[]), headers=PORTAL_AUTH, timeout=10)
    assert invalid.status_code == 422 and set(invalid.json()["errors"]) == {"linh_vuc", "cap_thuc_hien"}
    assert requests.get(url, headers=PORTAL_AUTH, timeout=10).json()["linh_vuc"] == changed["linh_vuc"]
    absent = requests.put(f"{sandbox.url}{PORTAL}/999", json=procedure(), headers=PORTAL_AUTH, timeout=10)
    assert absent.status_code == 404 and absent.json() == {"error": "not found"}


def test_portal_withdraw_is_idempotent_and_final(sandbox):
    record = portal_post(sandbox, procedure()).json()
    url = f"{sandbox.url}{PORTAL}/{record['id']}"
    withdrawal = {"ly_do": "Bãi bỏ theo quyết định công bố", "quyet_dinh_cong_bo": {"so_hieu": "99/QĐ-UBND",
                                                                                   "ngay_ky": "2026-06-01"}}
    for bad, fields in [({"ly_do": " ", "quyet_dinh_cong_bo": QD}, {"ly_do"}),
                        ({"ly_do": "x"}, {"quyet_dinh_cong_bo"}),
                        ({"ly_do": "x", "quyet_dinh_cong_bo": {"so_hieu": "1", "ngay_ky": "x"}},
                         {"quyet_dinh_cong_bo.ngay_ky"})]:
        response = requests.post(url + "/thu-hoi", json=bad, headers=PORTAL_AUTH, timeout=10)
        assert response.status_code == 422 and set(response.json()["errors"]) == fields
    assert requests.get(url, headers=PORTAL_AUTH, timeout=10).json()["trang_thai"] == "dang_ap_dung"

    first = requests.post(url + "/thu-hoi", json=withdrawal, headers=PORTAL_AUTH, timeout=10)
    assert first.status_code == 200
    assert first.json()["trang_thai"] == "da_thu_hoi" and first.json()["thu_hoi"] == withdrawal
    assert first.json()["ten_thu_tuc"] == record["ten_thu_tuc"]
    second = requests.post(url + "/thu-hoi", json={**withdrawal, "ly_do": "Lần nữa"}, headers=PORTAL_AUTH, timeout=10)
    assert second.status_code == 200 and second.json() == first.json()

    refused = requests.put(url, json=procedure(ten_thu_tuc="Sửa sau thu hồi"), headers=PORTAL_AUTH, timeout=10)
    assert refused.status_code == 409 and refused.json() == {"error": "withdrawn"}
    assert requests.get(url, headers=PORTAL_AUTH, timeout=10).json() == first.json()
    assert soup_of(requests.get(record["url"], timeout=10)).select_one("tr.trang-thai td").get_text() == "Đã thu hồi"
    absent = requests.post(f"{sandbox.url}{PORTAL}/999/thu-hoi", json=withdrawal, headers=PORTAL_AUTH, timeout=10)
    assert absent.status_code == 404


def test_portal_requires_its_token(state_dir):
    with Sandbox(DEFAULT_DATA_DIR, state_dir, portal_token="secret-portal") as sb:
        assert sb.portal_token == "secret-portal"
        for headers in ({}, PORTAL_AUTH, CMS, {"Authorization": "Basic c2VjcmV0LXBvcnRhbA=="}):
            for method, path in [("GET", PORTAL), ("POST", PORTAL), ("GET", PORTAL + "/1"), ("PUT", PORTAL + "/1"),
                                 ("POST", PORTAL + "/1/thu-hoi")]:
                response = requests.request(method, sb.url + path, json=procedure(), headers=headers, timeout=10)
                assert response.status_code == 401, (method, path, headers)
                assert response.json()["error"] == "unauthorized" and response.json()["message"]
        ok = requests.post(sb.url + PORTAL, json=procedure(), headers=auth("secret-portal"), timeout=10)
        assert ok.status_code == 201
        assert requests.get(sb.url + PORTAL, headers=auth("secret-portal"), timeout=10).json()["total"] == 1


# --- national CSDL -------------------------------------------------------------------------------


def test_csdl_get_and_put_by_id(sandbox):
    record = {"so_hieu": "1234/QĐ-UBND", "ngay_ky": "2026-03-20", "co_quan": "UBND tỉnh",
              "thu_tuc": [{"ma": "1.001155", "ten": "Thủ tục A", "loai": "new", "ma_ngoai": "procedure:1.001155"}]}
    created = requests.post(sandbox.url + CSDL, json=record, headers=CSDL_AUTH, timeout=10)
    assert created.status_code == 201
    record_id = created.json()["id"]
    url = f"{sandbox.url}{CSDL}/{record_id}"

    fetched = requests.get(url, headers=CSDL_AUTH, timeout=10)
    assert fetched.status_code == 200
    assert {k: fetched.json()[k] for k in record} == record and fetched.json()["id"] == record_id
    missing = requests.get(f"{sandbox.url}{CSDL}/999", headers=CSDL_AUTH, timeout=10)
    assert missing.status_code == 404 and missing.json() == {"error": "not found"}
    assert requests.get(url, headers=PORTAL_AUTH, timeout=10).status_code == 401

    change = {**record, "so_hieu": "1234/QĐ-UBND.", "ngay_ky": "2026-03-21", "co_quan": "Ủy ban nhân dân tỉnh",
              "thu_tuc": [{"ma": None, "ten": "Thủ tục B", "loai": "abolished"}]}
    updated = requests.put(url, json=change, headers=CSDL_AUTH, timeout=10)
    assert updated.status_code == 200
    body = updated.json()
    assert body["so_hieu"] == "1234/QĐ-UBND"  # the same number (stray dot); never rewritten
    assert (body["ngay_ky"], body["co_quan"], body["thu_tuc"]) == (change["ngay_ky"], change["co_quan"],
                                                                   change["thu_tuc"])
    assert body["updated_at"] and body["received_at"]
    assert requests.get(url, headers=CSDL_AUTH, timeout=10).json() == body
    no_number = {k: v for k, v in change.items() if k != "so_hieu"}
    assert requests.put(url, json={**no_number, "co_quan": "X"}, headers=CSDL_AUTH, timeout=10).json()["co_quan"] == "X"

    renumbered = requests.put(url, json={**change, "so_hieu": "9/QĐ-UBND"}, headers=CSDL_AUTH, timeout=10)
    assert renumbered.status_code == 422
    assert renumbered.json() == {"error": "invalid", "problems": ["so_hieu may not change"]}
    invalid = requests.put(url, json={**change, "ngay_ky": "hôm qua", "thu_tuc": "x"}, headers=CSDL_AUTH, timeout=10)
    assert invalid.status_code == 422
    assert invalid.json()["problems"] == ["ngay_ky must be an ISO date (yyyy-mm-dd)", "thu_tuc must be a list"]
    not_json = requests.put(url, data=b"{", headers=CSDL_AUTH, timeout=10)
    assert not_json.status_code == 400 and not_json.json()["error"] == "invalid"
    absent = requests.put(f"{sandbox.url}{CSDL}/999", json=change, headers=CSDL_AUTH, timeout=10)
    assert absent.status_code == 404
    assert requests.get(url, headers=CSDL_AUTH, timeout=10).json()["co_quan"] == "X"


def test_csdl_post_validation_is_422(sandbox):
    base = {"so_hieu": "5/QĐ-UBND", "ngay_ky": "2026-01-05", "co_quan": "UBND tỉnh",
            "thu_tuc": [{"ma": "1.0", "ten": "A", "loai": "new"}]}
    missing = requests.post(sandbox.url + CSDL, json={"so_hieu": "5/QĐ-UBND"}, headers=CSDL_AUTH, timeout=10)
    assert missing.status_code == 422
    assert missing.json() == {"error": "invalid",
                              "problems": ["ngay_ky is required", "co_quan is required", "thu_tuc must be a list"]}
    bad_key = {**base, "thu_tuc": [{"ma": "1.0", "ten": "A", "loai": "new", "ma_ngoai": 7}]}
    response = requests.post(sandbox.url + CSDL, json=bad_key, headers=CSDL_AUTH, timeout=10)
    assert response.status_code == 422 and response.json()["problems"] == ["thu_tuc[0].ma_ngoai must be a string"]
    not_json = requests.post(sandbox.url + CSDL, data=b"so_hieu=5", headers=CSDL_AUTH, timeout=10)
    assert not_json.status_code == 400 and not_json.json() == {"error": "invalid", "message": "body is not JSON"}
    not_object = requests.post(sandbox.url + CSDL, json=[base], headers=CSDL_AUTH, timeout=10)
    assert not_object.status_code == 400 and not_object.json()["problems"] == ["body must be a JSON object"]
    assert requests.get(sandbox.url + CSDL, headers=CSDL_AUTH, timeout=10).json() == []
    ok = requests.post(sandbox.url + CSDL, json={**base, "thu_tuc": [{**base["thu_tuc"][0], "ma_ngoai": "k"}]},
                       headers=CSDL_AUTH, timeout=10)
    assert ok.status_code == 201


# --- after_success_500 and route keys ------------------------------------------------------------


def test_after_success_500_on_the_portal_create(sandbox):
    assert "after_success_500" in FAULT_KINDS
    rule = sandbox.add_fault("POST /dvc-tinh/api/v1/thu-tuc", "after_success_500", times=1)
    assert rule["fault"] == "after_success_500" and rule["times"] == 1
    lost = portal_post(sandbox, procedure())
    assert lost.status_code == 500 and lost.json() == {"error": "internal error after commit"}
    # the record was created all the same: the retry is a duplicate naming it
    found = requests.get(sandbox.url + PORTAL, params={"ma_ngoai": "procedure:1.001155"}, headers=PORTAL_AUTH,
                         timeout=10).json()
    assert found["total"] == 1 and found["items"][0]["ten_thu_tuc"] == procedure()["ten_thu_tuc"]
    retry = portal_post(sandbox, procedure())
    assert retry.status_code == 409 and retry.json() == {"error": "duplicate", "id": found["items"][0]["id"]}
    assert sandbox.faults() == []
    assert sandbox.stats()["POST /dvc-tinh/api/v1/thu-tuc"] == 2
    assert sandbox.status_stats()["POST /dvc-tinh/api/v1/thu-tuc 500"] == 1
    assert sandbox.status_stats()["POST /dvc-tinh/api/v1/thu-tuc 409"] == 1
    assert sandbox.stats()["GET /dvc-tinh/api/v1/thu-tuc"] == 1


def test_after_success_500_on_a_cms_page_create_and_wildcard_faults(sandbox):
    added = requests.post(sandbox.url + "/_sandbox/faults", json={"route": "POST /wp-json/wp/v2/pages",
                                                                  "fault": "after_success_500", "times": 1},
                          timeout=10)
    assert added.status_code == 201 and added.json()["fault"] == "after_success_500"
    body = {"title": "Trang", "content": "<p>x</p>", "slug": "trang-thu-tuc", "status": "publish"}
    lost = requests.post(sandbox.url + PAGES, json=body, headers=CMS, timeout=10)
    assert lost.status_code == 500 and lost.json() == {"error": "internal error after commit"}
    found = requests.get(sandbox.url + PAGES, params={"slug": "trang-thu-tuc"}, headers=CMS, timeout=10).json()
    assert len(found) == 1 and found[0]["title"] == {"rendered": "Trang"}

    sandbox.add_fault("PUT /wp-json/wp/v2/pages*", "http_500")
    url = f"{sandbox.url}{PAGES}/{found[0]['id']}"
    failed = requests.put(url, json={"content": "<p>y</p>"}, headers=CMS, timeout=10)
    assert failed.status_code == 500 and failed.json()["fault"] == "http_500"
    # http_500 answers before the request is carried out: nothing changed
    assert requests.get(url, headers=CMS, timeout=10).json()["content"] == {"rendered": "<p>x</p>"}
    assert requests.post(url, json={"content": "<p>z</p>"}, headers=CMS, timeout=10).status_code == 200
    sandbox.clear_faults()

    sandbox.add_fault("PUT /dvc-tinh/api/v1/thu-tuc/*", "after_success_500", times=1)
    record = portal_post(sandbox, procedure()).json()
    lost_update = requests.put(f"{sandbox.url}{PORTAL}/{record['id']}", json=procedure(ten_thu_tuc="Tên sau"),
                               headers=PORTAL_AUTH, timeout=10)
    assert lost_update.status_code == 500
    assert requests.get(f"{sandbox.url}{PORTAL}/{record['id']}", headers=PORTAL_AUTH,
                        timeout=10).json()["ten_thu_tuc"] == "Tên sau"
    assert sandbox.stats()[f"PUT /dvc-tinh/api/v1/thu-tuc/{record['id']}"] == 1
    assert sandbox.status_stats()[f"PUT /dvc-tinh/api/v1/thu-tuc/{record['id']} 500"] == 1


def test_after_success_500_on_a_media_upload_keeps_the_file(sandbox):
    sandbox.add_fault("POST /wp-json/wp/v2/media", "after_success_500", times=1)
    lost = upload(sandbox, params={"slug": "tep-1"})
    assert lost.status_code == 500 and lost.json() == {"error": "internal error after commit"}
    found = requests.get(sandbox.url + MEDIA, params={"slug": "tep-1"}, headers=CMS, timeout=10).json()
    assert len(found) == 1
    assert requests.get(found[0]["source_url"], timeout=10).content == DOCX


# --- persistence and reset -----------------------------------------------------------------------


def test_state_survives_a_restart(state_dir):
    with Sandbox(DEFAULT_DATA_DIR, state_dir) as first:
        page = requests.post(first.url + PAGES, json={"title": "Bền", "content": "c", "slug": "ben"}, headers=CMS,
                             timeout=10).json()
        media = upload(first).json()
        record = portal_post(first, procedure()).json()
        requests.post(f"{first.url}{PORTAL}/{record['id']}/thu-hoi", json={"ly_do": "Bãi bỏ",
                                                                          "quyet_dinh_cong_bo": QD},
                      headers=PORTAL_AUTH, timeout=10)
    for name in ("cms_posts.json", "province_portal.json"):
        assert (state_dir / name).exists()
    with Sandbox(DEFAULT_DATA_DIR, state_dir) as second:
        pages = requests.get(second.url + PAGES, params={"slug": "ben", "status": "any"}, headers=CMS, timeout=10)
        assert [(p["id"], p["type"], p["title"]["rendered"]) for p in pages.json()] == [(page["id"], "page", "Bền")]
        stored = requests.get(f"{second.url}{MEDIA}/{media['id']}", headers=CMS, timeout=10).json()
        assert stored["slug"] == "du-thao"
        assert requests.get(f"{second.url}/wp-content/uploads/{media['id']}-du-thao.docx", timeout=10).content == DOCX
        kept = requests.get(f"{second.url}{PORTAL}/{record['id']}", headers=PORTAL_AUTH, timeout=10).json()
        assert kept["trang_thai"] == "da_thu_hoi" and kept["ma_ngoai"] == "procedure:1.001155"
        assert portal_post(second, procedure()).json() == {"error": "duplicate", "id": record["id"]}
        assert portal_post(second, procedure("procedure:next")).json()["id"] == record["id"] + 1
        nxt = requests.post(second.url + POSTS, json={"title": "t", "content": "c"}, headers=CMS, timeout=10).json()
        assert nxt["id"] == media["id"] + 1  # the shared CMS counter survived too


def test_a_cms_state_file_from_before_pages_and_media_still_loads(state_dir):
    state_dir.mkdir(parents=True)
    legacy = {"next_id": 8, "posts": [{"id": 7, "date": "2026-01-01T00:00:00", "modified": "2026-01-01T00:00:00",
                                       "slug": "cu", "status": "publish", "link": "http://old/tin-tuc/cu",
                                       "title": {"rendered": "Cũ"}, "content": {"rendered": "c"}, "meta": {}}]}
    (state_dir / "cms_posts.json").write_text(json.dumps(legacy), encoding="utf-8")
    with Sandbox(DEFAULT_DATA_DIR, state_dir) as sb:
        posts = requests.get(sb.url + POSTS, headers=CMS, timeout=10).json()
        assert [(p["id"], p["type"], p["slug"]) for p in posts] == [(7, "post", "cu")]
        assert requests.get(sb.url + PAGES, headers=CMS, timeout=10).json() == []
        assert requests.get(sb.url + MEDIA, headers=CMS, timeout=10).json() == []
        page = requests.post(sb.url + PAGES, json={"title": "Mới", "content": "c"}, headers=CMS, timeout=10).json()
        assert page["id"] == 8
    saved = json.loads((state_dir / "cms_posts.json").read_text(encoding="utf-8"))
    assert saved["next_id"] == 9 and [p["id"] for p in saved["pages"]] == [8] and saved["media"] == []


def test_reset_clears_pages_media_and_portal(sandbox, state_dir):
    requests.post(sandbox.url + PAGES, json={"title": "T", "content": "c", "slug": "t"}, headers=CMS, timeout=10)
    media = upload(sandbox).json()
    portal_post(sandbox, procedure())
    csdl = {"so_hieu": "1/QĐ", "ngay_ky": "2026-01-01", "co_quan": "X", "thu_tuc": []}
    requests.post(sandbox.url + CSDL, json=csdl, headers=CSDL_AUTH, timeout=10)
    assert (state_dir / "media" / f"{media['id']}-du-thao.docx").exists()

    assert requests.post(sandbox.url + "/_sandbox/reset", timeout=10).json() == {"status": "reset"}
    assert requests.get(sandbox.url + PAGES, headers=CMS, timeout=10).json() == []
    assert requests.get(sandbox.url + MEDIA, headers=CMS, timeout=10).json() == []
    assert requests.get(media["source_url"], timeout=10).status_code == 404
    assert not (state_dir / "media" / f"{media['id']}-du-thao.docx").exists()
    assert requests.get(sandbox.url + PORTAL, headers=PORTAL_AUTH, timeout=10).json() == {
        "items": [], "total": 0, "page": 1, "page_size": 50}
    assert requests.get(sandbox.url + CSDL, headers=CSDL_AUTH, timeout=10).json() == []
    assert json.loads((state_dir / "province_portal.json").read_text(encoding="utf-8")) == {"next_id": 1,
                                                                                          "records": []}
    # counters start again
    assert portal_post(sandbox, procedure()).json()["id"] == 1
    assert requests.post(sandbox.url + PAGES, json={"title": "T", "content": "c"}, headers=CMS,
                         timeout=10).json()["id"] == 1
