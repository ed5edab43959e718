"""The comments contract, proven the same way on the sandbox's website and on a real WordPress 6.1
(``site``: marker ``wordpress`` for the second; tests/support/wordpress.py): what the feedback stage reads
and how it posts the answer. Where the sandbox must not be kinder than WordPress: who may list held
comments and see ``author_email``, how ``content.rendered`` differs from ``raw``, status names, paging
headers, closed comments on pages, anonymous comments refused, duplicates refused."""

from __future__ import annotations

from datetime import date

import pytest
import requests
from sqlalchemy import func, select
from support.feedback_sites import AUTHOR, publish_page_for
from tthc.catalogue.feedback import load_rules
from tthc.core.window import nightly_window
from tthc.core.workdays import WorkCalendar
from tthc.db.models import FeedbackItem, Posting
from tthc.feedback.answer import record_answer
from tthc.feedback.publish import PUBLIC_SENDER, publish_answers
from tthc.feedback.receive import receive_website

AS_OF = date(2026, 11, 26)
COMMENTS = "/wp-json/wp/v2/comments"
EMAIL = "cong.dan@example.vn"


@pytest.fixture
def db_url(sqlite_url, monkeypatch):
    """SQLite only: these tests are about the website (the store runs on both in test_feedback.py)."""
    from tthc.db.session import migrate

    migrate(sqlite_url)
    monkeypatch.setenv("TTHC_DB_URL", sqlite_url)
    return sqlite_url


def test_held_comments_as_wordpress_shows_them(site):
    page = site.page("Thủ tục thử nghiệm")
    for n in range(3):
        site.visitor_comment(page, f"Người {n}", EMAIL, f"Ý kiến \"số\" {n}\ndòng hai", f"2026-11-2{n}T03:00:00")

    anon = requests.get(site.url + COMMENTS, params={"post": page, "status": "hold"}, timeout=60)
    assert anon.status_code == 401 and anon.json()["code"] == "rest_forbidden_param"
    assert requests.get(site.url + COMMENTS, params={"post": page}, timeout=60).json() == [], \
        "held comments are not public"
    author = requests.get(site.url + COMMENTS, params={"post": page, "status": "hold", "context": "edit"},
                          auth=site.auth(AUTHOR), timeout=60)
    assert author.status_code == 403 and author.json()["code"] == "rest_forbidden_context"

    editor = requests.get(site.url + COMMENTS, auth=site.auth(), timeout=60,
                          params={"post": page, "status": "hold", "context": "edit", "per_page": 2})
    assert editor.status_code == 200
    assert (editor.headers["X-WP-Total"], editor.headers["X-WP-TotalPages"]) == ("3", "2")
    first = editor.json()[0]
    assert first["status"] == "hold" and first["author_email"] == EMAIL and first["parent"] == 0
    assert first["content"]["raw"].startswith("Ý kiến \"số\"")
    assert first["content"]["rendered"].startswith("<p>") and "&#8220;" in first["content"]["rendered"]
    view = requests.get(site.url + COMMENTS, auth=site.auth(), timeout=60,
                        params={"post": page, "status": "hold"}).json()
    assert "author_email" not in view[0] and "raw" not in view[0]["content"]

    client = site.client()
    held = client.held([page])
    assert len(held) == 3 and {c["author_email"] for c in held} == {EMAIL}
    assert [c["id"] for c in held] == sorted(c["id"] for c in held)


def test_posting_rules(site):
    closed = requests.post(site.url + "/wp-json/wp/v2/pages", auth=site.auth(), timeout=60,
                           json={"title": "Trang đóng bình luận", "content": "x", "status": "publish"}).json()["id"]
    refused = requests.post(site.url + COMMENTS, auth=site.auth(), timeout=60, json={"post": closed, "content": "a"})
    assert refused.status_code == 403 and refused.json()["code"] == "rest_comment_closed"

    page = site.page("Trang mở bình luận")
    anon = requests.post(site.url + COMMENTS, timeout=60, json={"post": int(page), "content": "a"})
    assert anon.status_code == 401 and anon.json()["code"] == "rest_comment_login_required"
    by_author = requests.post(site.url + COMMENTS, auth=site.auth(AUTHOR), timeout=60,
                              json={"post": int(page), "content": "a", "status": "approved"})
    assert by_author.status_code == 403 and by_author.json()["code"] == "rest_comment_invalid_status"

    parent = site.visitor_comment(page, "Khách", EMAIL, "Câu hỏi", "2026-11-24T03:00:00")
    client = site.client()
    made = client.post_reply(page, parent, "<p>Trả lời PAKN-1</p>")
    assert made["status"] == "approved" and made["parent"] == int(parent) and made["author"] == client.me()
    duplicate = requests.post(site.url + COMMENTS, auth=site.auth(), timeout=60,
                              json={"post": int(page), "parent": int(parent), "content": "<p>Trả lời PAKN-1</p>"})
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "comment_duplicate"
    assert client.find_reply(page, parent, "PAKN-1")["id"] == made["id"]
    assert client.find_reply(page, parent, "PAKN-2") is None


def test_receive_answer_publish_once_on_the_site(seeded, site):
    rules, calendar = load_rules(), WorkCalendar.from_file()
    proc, page = publish_page_for(seeded, site)
    cid = site.visitor_comment(page, "Phạm D", EMAIL, "Phí <b>quá cao</b> <script>x()</script>, gọi 0987654321",
                               "2026-11-24T03:00:00")
    window = nightly_window(AS_OF)
    assert receive_website(seeded, site.client(), window, rules=rules, calendar=calendar).stored == 1
    assert receive_website(seeded, site.client(), window, rules=rules, calendar=calendar).stored == 0
    item = seeded.scalars(select(FeedbackItem)).one()
    assert item.source_id == cid and item.sender_contact == EMAIL and item.procedure_code == proc.code
    record_answer(seeded, item.id, "Mức phí theo Thông tư của Bộ Tài chính.", by="cv", on=AS_OF)
    seeded.commit()

    def die(item, reply):
        raise RuntimeError("the worker died after the POST")

    with pytest.raises(RuntimeError):
        publish_answers(seeded, site.client(), run_date=AS_OF, holder="try-1", on_written=die)
    result = publish_answers(seeded, site.client(), run_date=AS_OF, holder="try-2")
    assert (result.adopted, result.published) == (1, 0)
    assert publish_answers(seeded, site.client(), run_date=AS_OF).published == 0

    public = requests.get(site.url + COMMENTS, params={"post": page, "per_page": 100}, timeout=60).json()
    replies = [c for c in public if c["parent"] == int(cid)]
    assert len(replies) == 1 and f"PAKN-{item.id}" in replies[0]["content"]["rendered"]
    question = next(c for c in public if c["id"] == int(cid))
    assert question["author_name"] == PUBLIC_SENDER
    shown = " ".join(c["author_name"] + c["content"]["rendered"] for c in public)
    assert EMAIL not in shown and "Phạm D" not in shown and "0987654321" not in shown and "<script" not in shown
    assert seeded.scalar(select(func.count()).select_from(Posting).where(Posting.object_key == item.ledger_key)) == 1


def test_the_cms_channel_opens_comments_on_procedure_pages(site):
    """Pages are closed to comments by default: the channel's procedure pages say open (part of their digest,
    so pages published before the feedback stage are updated once)."""
    from tthc.sync.channels.base import ChannelObject
    from tthc.sync.channels.cms import CmsChannel

    channel = CmsChannel(site.url, site.passwords["bientap"], login="bientap", timeout=60)
    obj = ChannelObject("procedure:9.999999", "page", "Thủ tục thử", {"content": "<p>x</p>", "comment_status": "open"})
    page = channel.create(obj).external_id
    shown = requests.get(f"{site.url}/wp-json/wp/v2/pages/{page}", auth=site.auth(), timeout=60,
                         params={"context": "edit"}).json()
    assert shown["comment_status"] == "open"
    cid = site.visitor_comment(page, "Khách", EMAIL, "Câu hỏi", "2026-11-24T03:00:00")
    assert site.client().post_reply(page, cid, "<p>PAKN-9</p>")["parent"] == int(cid)
    closed = ChannelObject("procedure:9.999999", "page", "Thủ tục thử", {"content": "<p>x</p>"})
    assert obj.digest != closed.digest
