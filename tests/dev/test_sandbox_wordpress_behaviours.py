"""The sandbox's CMS behaves like WordPress where the publisher depends on it.

Every test runs against the sandbox and against a real WordPress 6.1 (``cms_backend``; the second
marked ``wordpress``): the same requests, the same assertions. A behaviour the sandbox stops copying
fails here fast; a WordPress that behaves otherwise fails its twin.
"""

from __future__ import annotations

import pytest
import requests
from support.cms_backends import AUTHOR, EDITOR

POSTS, PAGES, MEDIA = "/wp-json/wp/v2/posts", "/wp-json/wp/v2/pages", "/wp-json/wp/v2/media"
ME = "/wp-json/wp/v2/users/me"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def visitor(backend, method: str, path: str, headers: dict, **kwargs) -> requests.Response:
    return requests.request(method, backend.url + path, headers=headers, timeout=60, **kwargs)


def forbidden_status(response: requests.Response) -> int:
    """The 401/403 inside WordPress' 400 for a status the account may not list."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "rest_invalid_param"
    detail = body["data"]["details"]["status"]
    assert detail["code"] == "rest_forbidden_status"
    return detail["data"]["status"]


def test_bearer_tokens_and_wrong_passwords_are_visitors(cms_backend):
    import base64

    wrong = base64.b64encode(f"{EDITOR}:abcd efgh ijkl mnop qrst uvwx".encode()).decode()
    for headers in ({}, {"Authorization": "Bearer some-jwt"}, {"Authorization": f"Basic {wrong}"}):
        me = visitor(cms_backend, "GET", ME, headers)
        assert me.status_code == 401 and me.json()["code"] == "rest_not_logged_in"
        assert forbidden_status(visitor(cms_backend, "GET", POSTS, headers, params={"status": "any"})) == 401
        context = visitor(cms_backend, "GET", POSTS, headers, params={"context": "edit"})
        assert context.status_code == 401 and context.json()["code"] == "rest_forbidden_context"
        create = visitor(cms_backend, "POST", POSTS, headers, json={"title": "x", "content": "y"})
        assert create.status_code == 401 and create.json()["code"] == "rest_cannot_create"
        upload = visitor(cms_backend, "POST", MEDIA, {**headers, "Content-Disposition": 'attachment; filename="a.docx"'},
                         data=b"PK")
        assert upload.status_code == 401 and upload.json()["code"] == "rest_cannot_create"
        assert visitor(cms_backend, "GET", POSTS, headers).status_code == 200  # what is published is public


def test_application_passwords_sign_in_with_or_without_their_spaces(cms_backend):
    login, password = cms_backend.auth(EDITOR)
    for given in (password, password.replace(" ", "")):
        me = requests.get(cms_backend.url + ME, params={"context": "edit"}, auth=(login, given), timeout=60)
        assert me.status_code == 200 and me.json()["username"] == EDITOR


def test_roles_editor_may_publish_pages_author_may_not(cms_backend):
    editor = cms_backend.request("GET", ME, params={"context": "edit"}).json()
    author = cms_backend.request("GET", ME, AUTHOR, params={"context": "edit"}).json()
    assert editor["roles"] == ["editor"] and author["roles"] == ["author"]
    for cap in ("edit_pages", "publish_pages", "edit_others_posts", "upload_files"):
        assert editor["capabilities"].get(cap) is True
    assert author["capabilities"].get("publish_posts") is True and "edit_pages" not in author["capabilities"]
    assert forbidden_status(cms_backend.request("GET", PAGES, AUTHOR, params={"status": "any"})) == 403
    page = {"title": "Trang", "content": "<p>x</p>", "status": "publish"}
    refused = cms_backend.request("POST", PAGES, AUTHOR, json=page)
    assert refused.status_code == 403 and refused.json()["code"] == "rest_cannot_create"
    assert cms_backend.request("POST", PAGES, json=page).status_code == 201
    own = cms_backend.request("POST", POSTS, AUTHOR, json=page)
    assert own.status_code == 201 and own.json()["status"] == "publish"  # an author publishes posts
    others = cms_backend.request("POST", POSTS, json=page).json()
    edit = cms_backend.request("POST", f"{POSTS}/{others['id']}", AUTHOR, json={"title": "đổi"})
    assert edit.status_code == 403 and edit.json()["code"] == "rest_cannot_edit"


def test_unregistered_meta_is_dropped_silently_until_the_plugin_is_installed(cms_backend):
    meta = {"tthc_key": "procedure:1.000001", "tthc_hash": "h", "other": "x"}
    cms_backend.set_plugin(False)
    schema = cms_backend.request("OPTIONS", POSTS).json()["schema"]["properties"]["meta"]
    assert schema["properties"] == []
    dropped = cms_backend.request("POST", POSTS, json={"title": "t", "content": "c", "meta": meta})
    assert dropped.status_code == 201 and dropped.json()["meta"] == []
    cms_backend.set_plugin(True)
    for path in (POSTS, PAGES):
        registered = cms_backend.request("OPTIONS", path).json()["schema"]["properties"]["meta"]["properties"]
        assert {"tthc_key", "tthc_hash", "tthc_content_sha"} <= set(registered)
    kept = cms_backend.request("POST", POSTS, json={"title": "t", "content": "c", "meta": meta})
    assert kept.json()["meta"] == {"tthc_key": "procedure:1.000001", "tthc_hash": "h", "tthc_content_sha": ""}
    earlier = cms_backend.request("GET", f"{POSTS}/{dropped.json()['id']}").json()
    assert earlier["meta"] == {"tthc_key": "", "tthc_hash": "", "tthc_content_sha": ""}  # never stored
    wrong_type = cms_backend.request("POST", POSTS, json={"title": "t", "content": "c", "meta": {"tthc_key": 5}})
    assert wrong_type.status_code == 400 and wrong_type.json()["code"] == "rest_invalid_type"


def test_raw_only_in_the_edit_context_and_rendered_is_reformatted(cms_backend):
    raw = 'Đoạn một\n\nĐoạn "hai"'
    created = cms_backend.request("POST", PAGES, json={"title": 'A & "B"', "content": raw, "status": "publish"})
    assert created.status_code == 201
    page_id = created.json()["id"]
    shown = cms_backend.request("GET", f"{PAGES}/{page_id}").json()
    assert "raw" not in shown["content"] and "raw" not in shown["title"]
    assert shown["content"]["rendered"] == "<p>Đoạn một</p>\n<p>Đoạn &#8220;hai&#8221;</p>\n"
    assert shown["title"]["rendered"] == "A &#038; &#8220;B&#8221;"
    edit = cms_backend.request("GET", f"{PAGES}/{page_id}", params={"context": "edit"}).json()
    assert edit["content"]["raw"] == raw and edit["title"]["raw"] == 'A & "B"'
    listed = cms_backend.request("GET", PAGES, params={"context": "edit", "status": "any"}).json()
    assert [p["content"]["raw"] for p in listed] == [raw]


def test_a_taken_slug_gets_a_suffix_and_the_trash_frees_it(cms_backend):
    def page(status: str = "publish") -> dict:
        r = cms_backend.request("POST", PAGES, json={"title": "t", "content": "c", "status": status,
                                                     "slug": "procedure-1-000001"})
        assert r.status_code == 201
        return r.json()

    first, second, draft = page(), page(), page("draft")
    assert (first["slug"], second["slug"], draft["slug"]) == (
        "procedure-1-000001", "procedure-1-000001-2", "procedure-1-000001-3")
    found = cms_backend.request("GET", PAGES, params={"slug": "procedure-1-000001", "status": "any"}).json()
    assert [p["id"] for p in found] == [first["id"]]
    trashed = cms_backend.request("DELETE", f"{PAGES}/{first['id']}").json()
    assert trashed["status"] == "trash" and trashed["slug"] == "procedure-1-000001__trashed"
    assert cms_backend.request("GET", PAGES, params={"slug": "procedure-1-000001", "status": "any"}).json() == []
    assert page()["slug"] == "procedure-1-000001"


def test_media_keep_the_ascii_file_name_unless_titled(cms_backend):
    star = "attachment; filename=\"phu-luc.docx\"; filename*=UTF-8''Ph%E1%BB%A5%20l%E1%BB%A5c.docx"

    def upload(disposition: str, **params):
        return cms_backend.request("POST", MEDIA, params=params, data=b"PK\x03\x04 annex",
                                   headers={"Content-Type": DOCX, "Content-Disposition": disposition})

    plain = upload(star, slug="announcement-77-abcdef")
    assert plain.status_code == 201
    assert plain.json()["title"]["raw"] == "phu-luc" and plain.json()["slug"] == "announcement-77-abcdef"
    assert plain.json()["meta"] == []
    post = cms_backend.request("POST", POSTS, json={"title": "t", "content": "c", "status": "publish"}).json()
    titled = upload(star, title="Phụ lục.docx", post=post["id"])
    assert titled.json()["title"]["raw"] == "Phụ lục.docx" and titled.json()["post"] == post["id"]
    only_star = upload("attachment; filename*=UTF-8''Ph%E1%BB%A5%20l%E1%BB%A5c.docx")
    assert only_star.status_code == 400 and only_star.json()["code"] == "rest_upload_invalid_disposition"
    attached = cms_backend.request("GET", MEDIA, params={"parent": post["id"]}).json()
    assert [m["id"] for m in attached] == [titled.json()["id"]]
    retitled = cms_backend.request("POST", f"{MEDIA}/{plain.json()['id']}", json={"title": "Tệp.docx",
                                                                                 "post": post["id"]})
    assert retitled.json()["title"]["raw"] == "Tệp.docx" and retitled.json()["post"] == post["id"]
    any_status = cms_backend.request("GET", MEDIA, params={"status": "any"})
    assert any_status.status_code == 400 and any_status.json()["code"] == "rest_invalid_param"
    no_trash = cms_backend.request("DELETE", f"{MEDIA}/{plain.json()['id']}")
    assert no_trash.status_code == 501 and no_trash.json()["code"] == "rest_trash_not_supported"
    gone = cms_backend.request("DELETE", f"{MEDIA}/{plain.json()['id']}", params={"force": "true"})
    assert gone.status_code == 200 and gone.json()["deleted"] is True


@pytest.mark.parametrize("status", ["draft", "publish"])
def test_lists_show_what_is_published_unless_asked(cms_backend, status):
    created = cms_backend.request("POST", PAGES, json={"title": "t", "content": "c", "status": status}).json()
    default = [p["id"] for p in cms_backend.request("GET", PAGES).json()]
    assert default == ([created["id"]] if status == "publish" else [])
    assert [p["id"] for p in cms_backend.request("GET", PAGES, params={"status": "any"}).json()] == [created["id"]]
