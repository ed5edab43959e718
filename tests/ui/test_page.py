"""ui: the KSTTHC page inside Airflow's API server (the real app, plugin loaded from plugins/): who may read,
who may answer, cross-site requests refused, drafts served from the store, the approval form's checks."""

from __future__ import annotations

import io
import os
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from tthc.approve.options import APPROVE, REJECT

USERS = "admin:admin,viewer:viewer,lanhdao:user"
SITE = "http://testserver"


@pytest.fixture(scope="module")
def client():
    """Airflow's API server app (create_app: plugins, auth manager) with the simple auth manager's users."""
    from airflow.utils import db

    before = os.environ.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS")
    os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] = USERS
    db.resetdb()  # the token check reads Airflow's revoked_token table
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    yield TestClient(create_app())
    if before is None:
        os.environ.pop("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS")
    else:
        os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] = before


def token(username: str, role: str) -> str:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return get_auth_manager().generate_jwt(SimpleAuthManagerUser(username=username, role=role))


def as_user(client, username: str, role: str) -> dict[str, str]:
    client.cookies.clear()
    client.cookies.set("_token", token(username, role))
    return {"Origin": SITE}


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', html).group(1)


@pytest.fixture
def world(story, db_url, tmp_path):
    """A flag due soon in a waiting draft (files on disk deleted: the page must serve them from the store), a
    name in the review queue, a posting, a failing source and a sent mail."""
    from tthc.db.models import MailLog, Posting, SourceHealth

    decision = story.decision("100/QĐ-BKHCN", published=date(2026, 11, 20), effective=date(2026, 12, 15))
    for p in story.catalogue("cap_tinh")[:2]:
        story.item(decision, p.name, "amended", code=p.code)
    # close to catalogue 1.001155 but a word group missing: the review queue
    story.item(decision, "Thủ tục hỗ trợ doanh nghiệp, tổ chức thực hiện giải mã công nghệ", "amended",
               levels=["cap_tinh"], field_key="chuyen_giao_cong_nghe")
    story.flag()
    info = story.draft()
    s = story.session
    s.add_all([
        Posting(channel="cms", object_key="procedure:1.001", version=1, content_hash="a",
                url="http://cms.example/thu-tuc/1-001", status="posted", posted_for=date(2026, 11, 25)),
        SourceHealth(source="ministry_site", consecutive_failures=2, first_failure_for=date(2026, 11, 24),
                     last_error="LayoutChangedError: table.listing not found"),
        MailLog(kind="digest", period_key="2026-11-25", recipient="vanphong@x", subject="[KSTTHC] 2 TTHC cần công bố",
                recipients="vanphong@x", status="sent"),
    ])
    s.commit()
    for path in (Path(info.docx), Path(info.html)):
        path.unlink()
    return info


def test_anonymous_requests_are_refused(client, world):
    client.cookies.clear()
    for path in ("/kstthc/", f"/kstthc/drafts/{world.announcement_id}",
                 f"/kstthc/drafts/{world.announcement_id}/du-thao.docx"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/auth/login?next="), path
        assert "du-thao" not in r.text and "100/QĐ-BKHCN" not in r.text
    r = client.post("/kstthc/review/1", data={"code": "__none__"}, headers={"Origin": SITE})
    assert r.status_code == 401
    client.cookies.set("_token", "not-a-token")
    assert client.get("/kstthc/", follow_redirects=False).status_code == 303


def test_any_logged_in_user_reads_the_page(client, world):
    as_user(client, "viewer", "viewer")
    r = client.get("/kstthc/")
    assert r.status_code == 200
    html = r.text
    assert "100/QĐ-BKHCN" in html and "Hạn công bố: " in html
    assert "Thủ tục hỗ trợ doanh nghiệp, tổ chức thực hiện giải mã công nghệ" in html and "1.001155" in html
    assert f'href="drafts/{world.announcement_id}/du-thao.docx"' in html  # relative: works under any prefix
    assert "http://cms.example/thu-tuc/1-001" in html and "lỗi 2 lượt liên tiếp" in html
    assert "[KSTTHC] 2 TTHC cần công bố" in html
    assert "viewer (chỉ xem)" in html and "Ghi câu trả lời" not in html  # no form for a reader
    assert not re.search(r'href="/', html), "every link on the page is relative"
    assert r.headers["x-frame-options"] == "SAMEORIGIN" and "frame-ancestors 'self'" in r.headers[
        "content-security-policy"]


def _review_id(seeded) -> int:
    from tthc.db.models import Flag

    return seeded.scalar(select(Flag.id).where(Flag.status == "review"))


def test_a_read_only_user_cannot_answer(client, world, seeded):
    from tthc.db.models import MatchDecision
    from tthc.ui.security import Viewer, csrf_token

    headers = as_user(client, "viewer", "viewer")
    assert 'name="csrf"' not in client.get(f"/kstthc/drafts/{world.announcement_id}").text  # no form to answer

    forged = csrf_token(Viewer(None, "viewer", client.cookies.get("_token"), False, False))
    r = client.post(f"/kstthc/review/{_review_id(seeded)}", data={"csrf": forged, "code": "__none__"},
                    headers=headers)
    assert r.status_code == 403 and "chỉ có quyền xem" in r.text
    r = client.post(f"/kstthc/drafts/{world.announcement_id}", headers=headers,
                    data={"csrf": forged, "choice": REJECT, "ghi_chu": "x"})
    assert r.status_code == 403
    assert seeded.scalars(select(MatchDecision)).all() == []


def test_posts_need_the_session_token_and_this_site_as_origin(client, world, seeded):
    from tthc.db.models import MatchDecision

    headers = as_user(client, "lanhdao", "user")
    csrf = csrf_of(client.get("/kstthc/").text)
    flag_id = _review_id(seeded)
    data = {"csrf": csrf, "code": "1.001155", "note": "cùng thủ tục"}
    refused = [
        ({}, data),  # no Origin nor Referer
        ({"Origin": "https://evil.example"}, data),
        ({"Origin": "null"}, data),
        ({"Referer": "https://evil.example/x"}, data),
        (headers, {**data, "csrf": ""}),
        (headers, {**data, "csrf": "0" * 64}),
    ]
    for h, d in refused:
        r = client.post(f"/kstthc/review/{flag_id}", data=d, headers=h)
        assert r.status_code == 403, (h, d)
    assert seeded.scalars(select(MatchDecision)).all() == []
    # the token belongs to the login session: a new login of the same user does not accept the old one
    client.cookies.set("_token", token("lanhdao", "user"))
    assert client.post(f"/kstthc/review/{flag_id}", data=data, headers=headers).status_code == 403
    r = client.post(f"/kstthc/review/{flag_id}", data={**data, "csrf": csrf_of(client.get("/kstthc/").text)},
                    headers={"Referer": f"{SITE}/kstthc/"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"../?done=review&item={flag_id}#review-{flag_id}"
    seeded.expire_all()
    [row] = seeded.scalars(select(MatchDecision)).all()
    assert (row.code, row.decided_by, row.note) == ("1.001155", "lanhdao", "cùng thủ tục")
    page = client.get(f"/kstthc/?done=review&item={flag_id}").text
    assert "Đã ghi câu trả lời" in page and "Đã trả lời: mã 1.001155 (lanhdao," in page


def test_a_review_answer_is_checked(client, world, seeded):
    headers = as_user(client, "admin", "admin")
    csrf = csrf_of(client.get("/kstthc/").text)
    flag_id = _review_id(seeded)
    for data, message in (({}, "chọn một mã"), ({"code": "__other__", "other_code": ""}, "chọn một mã"),
                          ({"code": "__other__", "other_code": "9.999999"}, "không có trong danh mục")):
        r = client.post(f"/kstthc/review/{flag_id}", data={"csrf": csrf, **data}, headers=headers)
        assert r.status_code == 422 and message in r.text
    r = client.post(f"/kstthc/review/{flag_id}", data={"csrf": csrf, "code": "__none__"}, headers=headers,
                    follow_redirects=False)
    assert r.status_code == 303


def test_the_draft_files_come_from_the_store(client, world, seeded):
    from docx import Document
    from tthc.db.models import DraftFile

    as_user(client, "viewer", "viewer")
    stored = {f.kind: f for f in seeded.scalars(select(DraftFile))}
    r = client.get(f"/kstthc/drafts/{world.announcement_id}/du-thao.docx")
    assert r.status_code == 200 and r.content == stored["docx"].content  # the disk copy was deleted
    assert r.headers["content-disposition"].startswith("attachment; filename*=UTF-8''du-thao-qd-cong-bo-")
    doc = Document(io.BytesIO(r.content))
    assert any("công bố" in p.text.lower() for p in doc.paragraphs)
    r = client.get(f"/kstthc/drafts/{world.announcement_id}/du-thao.html")
    assert r.status_code == 200 and r.content == stored["html"].content
    assert r.headers["content-type"].startswith("text/html") and "sandbox" in r.headers["content-security-policy"]
    assert client.get(f"/kstthc/drafts/{world.announcement_id}/du-thao.pdf").status_code == 404
    assert client.get("/kstthc/drafts/999999").status_code == 404


class FakeHitl:
    """Stands for Airflow's waiting request (the browser test drives the real one)."""

    def __init__(self, waiting: bool = True) -> None:
        from datetime import UTC, datetime

        from tthc.ui.hitl import WaitingRequest

        self.request = WaitingRequest("manual__1", -1, datetime(2026, 11, 26, tzinfo=UTC), "Phê duyệt …") \
            if waiting else None
        self.sent: list[tuple[str, dict]] = []

    def install(self, monkeypatch) -> FakeHitl:
        from tthc.ui import hitl

        monkeypatch.setattr(hitl, "waiting_request", lambda announcement_id: self.request)
        monkeypatch.setattr(hitl, "answer_request", lambda request, user, *, option, form:
                            self.sent.append((option, form)))
        return self


def test_the_approval_form_refuses_what_cannot_be_recorded(client, world, monkeypatch):
    from datetime import datetime

    from tthc.core.window import VN_TZ

    fake = FakeHitl().install(monkeypatch)
    headers = as_user(client, "lanhdao", "user")
    url = f"/kstthc/drafts/{world.announcement_id}"
    page = client.get(url).text
    assert "Phê duyệt …" in page and "Gửi câu trả lời" in page
    assert page.count("<li>") == 2  # the full list of procedures (the name under review is not drafted)
    csrf = csrf_of(page)
    tomorrow = (datetime.now(VN_TZ).date() + timedelta(days=1)).strftime("%d/%m/%Y")
    for data, field, message in (
        ({"choice": APPROVE, "so_hieu": "123/QĐ-UBND", "ngay_ky": "31/11/2026"}, "ngay_ky", "ngày ký không hợp lệ"),
        ({"choice": APPROVE, "so_hieu": "123/QĐ-UBND", "ngay_ky": tomorrow}, "ngay_ky", "sau ngày trả lời"),
        ({"choice": APPROVE, "ngay_ky": "25/11/2026"}, "so_hieu", "cần số hiệu"),
        ({"choice": REJECT}, "ghi_chu", "từ chối cần ghi lý do"),
        ({}, "choice", "chọn «Phê duyệt» hoặc «Từ chối»"),
    ):
        r = client.post(url, data={"csrf": csrf, **data}, headers=headers)
        assert r.status_code == 422 and message in r.text, data
        assert f'id="{field}"' in r.text or field == "choice"
        for typed in data.values():  # what was typed stays in the form
            assert typed in r.text
    assert fake.sent == []
    r = client.post(url, data={"csrf": csrf, "choice": APPROVE, "so_hieu": " 123 / QĐ-UBND ", "ngay_ky": "25/11/2026"},
                    headers=headers, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"{world.announcement_id}?done=answered"
    assert fake.sent == [(APPROVE, {"so_hieu": "123 / QĐ-UBND", "ngay_ky": "25/11/2026", "ghi_chu": None})]


def test_the_approval_form_says_when_nothing_waits(client, world, monkeypatch):
    fake = FakeHitl(waiting=False).install(monkeypatch)
    headers = as_user(client, "admin", "admin")
    url = f"/kstthc/drafts/{world.announcement_id}"
    page = client.get(url).text
    assert "Chưa có yêu cầu phê duyệt nào đang chờ" in page and "disabled" in page
    r = client.post(url, data={"csrf": csrf_of(page), "choice": REJECT, "ghi_chu": "Sửa phí"}, headers=headers)
    assert r.status_code == 409 and "không có yêu cầu phê duyệt nào đang chờ" in r.text
    assert fake.sent == []


def test_the_page_lists_feedback_without_the_sender(client, world, seeded):
    from datetime import date

    from tthc.catalogue.feedback import load_rules
    from tthc.core.workdays import WorkCalendar
    from tthc.feedback.receive import Incoming, store

    item, _ = store(seeded, Incoming("letter", "TH-9", None, date(2026, 11, 20), "Hồ sơ rườm rà, gọi 0903 111 222",
                                     "Hoàng Thị Bí Mật", "bi.mat@example.vn"), run_date=date(2026, 11, 20),
                    rules=load_rules(), calendar=WorkCalendar.from_file())
    seeded.commit()
    as_user(client, "viewer", "viewer")
    html = client.get("/kstthc/").text
    assert f"{item.reference}</td>" in html and "Hồ sơ rườm rà" in html
    assert "Hoàng Thị Bí Mật" not in html and "bi.mat@example.vn" not in html and "0903 111 222" not in html
