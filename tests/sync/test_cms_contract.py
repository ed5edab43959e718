"""The CMS channel's contract, proven the same way against the sandbox's CMS and a real WordPress.

Each test runs twice (``cms_backend``): on the sandbox, and on WordPress 6.1 from Debian's packages
(marker ``wordpress``; see tests/support/wordpress.py). A night is what ``tthc_sync`` does for the
CMS: ``sync_channel`` then ``reconcile(repair=True)``. The announcement: 1 new procedure (its name
carries a scraped ``<script>``), 2 amended, 1 abolished → 1 post (with the annex file) and 4 pages.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from support.cms_backends import AUTHOR, EDITOR
from tthc.core.sanitize import slugify
from tthc.db.models import Posting, Procedure
from tthc.sync.channels.base import AuthError, SetupError
from tthc.sync.channels.cms import SlugConflictError, _sha
from tthc.sync.plan import objects_for
from tthc.sync.publish import reconcile, sync_channel

AS_OF = date(2026, 11, 26)
SCRIPT_NAME = "Thủ tục thử nghiệm <script>alert(1)</script> đồng bộ"
NEW_KEY = "procedure:1.055555"


@pytest.fixture
def db_url(sqlite_url, monkeypatch):
    """The ledger on SQLite only: these tests are about the CMS (the ledger runs on both in test_publish)."""
    from tthc.db.session import migrate

    migrate(sqlite_url)
    monkeypatch.setenv("TTHC_DB_URL", sqlite_url)
    return sqlite_url


@pytest.fixture
def approved(story):
    procs = story.catalogue("cap_tinh")
    d = story.decision("555/QĐ-BKHCN", published=date(2026, 11, 20), signed=date(2026, 11, 18),
                       effective=date(2026, 12, 15), trich_yeu="Về việc công bố thủ tục hành chính")
    story.item(d, SCRIPT_NAME, "new", code="1.055555", levels=["cap_tinh"], field_key="chuyen_giao_cong_nghe")
    for p in procs[:2]:
        story.item(d, p.name, "amended", code=p.code)
    story.item(d, procs[2].name, "abolished", code=procs[2].code)
    story.flag()
    story.approve("77/QĐ-UBND", commit=True)
    return story.session


def night(s, dept, backend, day: date, login: str = EDITOR):
    """One night of tthc_sync for the CMS: publish, then read back and repair."""
    channel = backend.channel(login)
    result = sync_channel(s, channel, objects_for("cms", s, dept), run_date=day)
    report = reconcile(s, channel, objects_for("cms", s, dept), run_date=day, repair=True)
    return result, report


def assert_one_copy_each(s, dept, backend):
    """Exactly one post and one page per object, under its own slug, showing what was written."""
    wanted = {o.key: o for o in objects_for("cms", s, dept)}
    posts, pages = backend.items("posts"), backend.items("pages")
    assert (len(posts), len(pages)) == (1, len(wanted) - 1)
    for item in posts + pages:
        key = item["meta"]["tthc_key"]
        assert item["slug"] == slugify(key), "a second copy or a renamed one"
        assert item["meta"]["tthc_hash"] == wanted[key].digest
        assert item["meta"]["tthc_content_sha"] == _sha(item["content"]["raw"])
        assert item["status"] == ("draft" if wanted[key].withdrawn else "publish")
    assert sorted(i["meta"]["tthc_key"] for i in posts + pages) == sorted(wanted)
    return posts, pages


def test_four_nights_publish_once_then_nothing_and_a_fee_change_rewrites_two(approved, dept, cms_backend,
                                                                            wordpress_timer):
    s, writes = approved, cms_backend.writes
    with wordpress_timer(f"four nights, {cms_backend.name}"):
        first, report = night(s, dept, cms_backend, AS_OF)
        assert (first.created, first.withdrawn, report.drift) == (4, 1, 0)
        after_first = len(writes)
        second, report = night(s, dept, cms_backend, AS_OF + timedelta(days=1))
        assert second.unchanged == 5 and report.drift == 0
        assert writes[after_first:] == []  # night 2: nothing sent
        post_obj = next(o for o in objects_for("cms", s, dept) if o.kind == "post")
        media_before = cms_backend.items("media")

        proc = s.scalar(select(Procedure).where(Procedure.code == "1.055555"))
        proc.fee = "Không"
        s.commit()
        third, report = night(s, dept, cms_backend, AS_OF + timedelta(days=2))
        assert third.updated == 2 and report.drift == 0  # the page, and the post whose annex shows the fee
        after_third = len(writes)
        fourth, report = night(s, dept, cms_backend, AS_OF + timedelta(days=3))
        assert fourth.unchanged == 5 and report.drift == 0
        assert writes[after_third:] == []
    posts, _ = assert_one_copy_each(s, dept, cms_backend)
    puts = [w for w in writes[after_first:] if w.startswith("PUT ")]
    assert len(puts) == 2
    # the annex file: one media item, attached to the post, titled with the file's own name; the
    # previous file (the annex changed with the fee) deleted, not left behind
    media = cms_backend.items("media")
    new_post_obj = next(o for o in objects_for("cms", s, dept) if o.kind == "post")
    assert new_post_obj.attachment[2] != post_obj.attachment[2], "the fee shows in the annex file"
    assert len(media) == 1 and len(media_before) == 1 and media[0]["id"] != media_before[0]["id"]
    assert media[0]["post"] == posts[0]["id"]
    assert media[0]["title"]["raw"] == new_post_obj.attachment[0] == "phu-luc-qd-77-qđ-ubnd.docx"
    assert media[0]["source_url"] in posts[0]["content"]["raw"]


def test_scraped_markup_stays_escaped(approved, dept, cms_backend):
    night(approved, dept, cms_backend, AS_OF)
    page = next(p for p in cms_backend.items("pages") if p["meta"]["tthc_key"] == NEW_KEY)
    for text in (page["title"]["raw"], page["title"]["rendered"], page["content"]["rendered"]):
        assert "<script" not in text
    assert "&lt;script&gt;" in page["content"]["raw"]


def test_a_hand_edit_is_rewritten_once(approved, dept, cms_backend):
    s = approved
    night(s, dept, cms_backend, AS_OF)
    page = next(p for p in cms_backend.items("pages") if p["status"] == "publish")
    edited = cms_backend.request("POST", f"/wp-json/wp/v2/pages/{page['id']}",
                                 json={"content": page["content"]["raw"] + "\n<p>Sửa tay.</p>"})
    assert edited.status_code == 200
    before = len(cms_backend.writes)
    _, report = night(s, dept, cms_backend, AS_OF + timedelta(days=1))
    assert report.stale == [page["meta"]["tthc_key"]] and report.missing == report.extra == []
    assert cms_backend.writes[before:] == [f"PUT /wp-json/wp/v2/pages/{page['id']}"]  # one rewrite
    again = len(cms_backend.writes)
    _, report = night(s, dept, cms_backend, AS_OF + timedelta(days=2))
    assert report.drift == 0 and cms_backend.writes[again:] == []
    assert_one_copy_each(s, dept, cms_backend)
    assert "Sửa tay" not in next(p for p in cms_backend.items("pages") if p["id"] == page["id"])["content"]["raw"]


def test_a_page_trashed_by_hand_is_published_again(approved, dept, cms_backend):
    s = approved
    night(s, dept, cms_backend, AS_OF)
    page = next(p for p in cms_backend.items("pages") if p["status"] == "publish")
    assert cms_backend.request("DELETE", f"/wp-json/wp/v2/pages/{page['id']}").status_code == 200
    before = len(cms_backend.writes)
    _, report = night(s, dept, cms_backend, AS_OF + timedelta(days=1))
    assert report.missing == [page["meta"]["tthc_key"]] and report.repaired == report.missing
    assert cms_backend.writes[before:] == ["POST /wp-json/wp/v2/pages"]
    _, pages = assert_one_copy_each(s, dept, cms_backend)
    again = next(p for p in pages if p["meta"]["tthc_key"] == page["meta"]["tthc_key"])
    assert again["id"] != page["id"] and again["slug"] == page["slug"]  # the trash freed the slug
    trashed = cms_backend.items("pages", status="trash")
    assert [(p["id"], p["slug"]) for p in trashed] == [(page["id"], page["slug"] + "__trashed")]
    after = len(cms_backend.writes)
    _, report = night(s, dept, cms_backend, AS_OF + timedelta(days=2))
    assert report.drift == 0 and cms_backend.writes[after:] == []


def test_an_editor_account_passes_the_checks(cms_backend):
    channel = cms_backend.channel(EDITOR)
    channel.check_ready()
    assert channel.list_owned() == [] and cms_backend.writes == []


def test_an_author_account_is_refused_before_anything_is_written(approved, dept, cms_backend):
    s = approved
    channel = cms_backend.channel(AUTHOR)
    with pytest.raises(AuthError) as info:
        sync_channel(s, channel, objects_for("cms", s, dept), run_date=AS_OF)
    message = str(info.value)
    assert "'tacgia'" in message and "lacks" in message and "edit_pages" in message and "Editor" in message
    assert cms_backend.writes == [] and cms_backend.items("posts") == cms_backend.items("pages") == []
    assert s.scalar(select(func.count()).select_from(Posting)) == 0
    # what WordPress answers the author directly is a permission error too, never "bad data"
    for method, kwargs in (("GET", {"params": {"status": "any"}}), ("POST", {"json": {"title": "x", "content": "y"}})):
        with pytest.raises(AuthError, match="the account 'tacgia' lacks the permission") as direct:
            channel.http.json(method, "/wp-json/wp/v2/pages", **kwargs)
        assert "rest_forbidden_status" in str(direct.value) or "rest_cannot_create" in str(direct.value)
    assert cms_backend.items("pages") == []


def test_a_missing_plugin_stops_the_channel_before_it_writes(approved, dept, cms_backend):
    s = approved
    cms_backend.set_plugin(False)
    channel = cms_backend.channel(EDITOR)
    for step in (lambda: sync_channel(s, channel, objects_for("cms", s, dept), run_date=AS_OF),
                 lambda: reconcile(s, channel, objects_for("cms", s, dept), run_date=AS_OF)):
        with pytest.raises(SetupError, match=r"include/wordpress/tthc-meta\.php") as info:
            step()
        assert "tthc_key" in str(info.value) and "Nothing was written" in str(info.value)
    assert cms_backend.writes == [] and cms_backend.items("posts") == cms_backend.items("pages") == []
    cms_backend.set_plugin(True)
    first, report = night(s, dept, cms_backend, AS_OF)
    assert first.created == 4 and report.drift == 0
    assert_one_copy_each(s, dept, cms_backend)


def test_a_bearer_token_is_anonymous_to_wordpress(approved, dept, cms_backend):
    s = approved
    channel = cms_backend.channel(login=None, password="a-jwt-that-wordpress-core-ignores")
    with pytest.raises(AuthError, match="401") as info:
        sync_channel(s, channel, objects_for("cms", s, dept), run_date=AS_OF)
    assert "Application Password" in str(info.value) and "a-jwt" not in str(info.value)
    assert cms_backend.writes == []


def test_a_slug_held_by_another_object_is_never_duplicated(approved, dept, cms_backend):
    s = approved
    slug = slugify(NEW_KEY)
    held = cms_backend.request("POST", "/wp-json/wp/v2/pages", json={
        "title": "Trang của người khác", "content": "<p>x</p>", "status": "publish", "slug": slug,
        "meta": {"tthc_key": "procedure:someone-else"}})
    assert held.status_code == 201
    with pytest.raises(SlugConflictError, match=f"held by page {held.json()['id']}"):
        sync_channel(s, cms_backend.channel(EDITOR), objects_for("cms", s, dept), run_date=AS_OF)
    holders = [p for p in cms_backend.items("pages") if p["slug"].startswith(slug)]
    assert [p["id"] for p in holders] == [held.json()["id"]]
    assert s.scalar(select(func.count()).select_from(Posting).where(Posting.object_key == NEW_KEY)) == 0


def test_a_create_answered_with_a_suffixed_slug_is_undone(approved, dept, cms_backend, monkeypatch):
    """The lookup misses the holder (another writer between lookup and create): WordPress answers with
    ``-2``; the channel deletes that copy at once and stops."""
    s = approved
    slug = slugify(NEW_KEY)
    held = cms_backend.request("POST", "/wp-json/wp/v2/pages", json={
        "title": "Trang tạo cùng lúc", "content": "<p>x</p>", "status": "publish", "slug": slug})
    assert held.status_code == 201
    channel = cms_backend.channel(EDITOR)
    monkeypatch.setattr(channel, "_by_slug", lambda obj: [])
    new = next(o for o in objects_for("cms", s, dept) if o.key == NEW_KEY)
    with pytest.raises(SlugConflictError, match=f"{slug}-2"):
        channel.create(new)
    assert [p["id"] for p in cms_backend.items("pages") if p["slug"].startswith(slug)] == [held.json()["id"]]
    assert any(w.startswith("DELETE /wp-json/wp/v2/pages/") for w in cms_backend.writes)
