"""Feedback end to end on the sandbox's website (and the parts a real WordPress must agree with in
test_wordpress_contract.py): received once, deadline in working days, answered, published once under
faults, the sender's contact never shown; on SQLite and PostgreSQL (the ``session`` fixture)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from support.feedback_sites import Site, publish_page_for
from tthc.catalogue.feedback import deadline_for, load_rules
from tthc.core.window import nightly_window
from tthc.core.workdays import WorkCalendar
from tthc.db.models import FeedbackItem, Posting, PostingClaim
from tthc.feedback.answer import FeedbackError, record_answer
from tthc.feedback.publish import PUBLIC_SENDER, publish_answers
from tthc.feedback.receive import receive_website
from tthc.sync.channels.base import ChannelError

AS_OF = date(2026, 11, 26)
WINDOW = nightly_window(AS_OF)  # ends 2026-11-26 01:00 in Vietnam (2026-11-25 18:00 UTC)
EMAIL = "nguyen.van.a@example.vn"
NAME = "Nguyễn Văn A"
HOSTILE = 'Hồ sơ bị trả lại 3 lần <script>alert("x")</script><img src=x onerror=alert(1)> gọi 0912 345 678'


@pytest.fixture
def rules():
    return load_rules()


@pytest.fixture
def calendar():
    return WorkCalendar.from_file()


@pytest.fixture
def website(seeded, sandbox):
    site = Site("sandbox", sandbox.url, {k: a.app_password for k, a in sandbox.cms.accounts.items()}, sandbox=sandbox)
    proc, page = publish_page_for(seeded, site)
    first = site.visitor_comment(page, NAME, EMAIL, HOSTILE, "2026-11-24T03:00:00")
    site.visitor_comment(page, "Trần B", "b@example.vn", "Đề nghị giảm thành phần hồ sơ", "2026-11-25T10:00:00")
    site.visitor_comment(page, "Lê C", "c@example.vn", "Gửi sau khi cửa sổ đóng", "2026-11-25T19:00:00")
    return site, proc, page, first


def test_receive_once_linked_cleaned_and_bounded_by_the_window(seeded, website, rules, calendar):
    site, proc, page, first = website
    client = site.client()
    result = receive_website(seeded, client, WINDOW, rules=rules, calendar=calendar)
    assert (result.read, result.stored, result.already, result.outside_window) == (3, 2, 0, 1)
    gets = [s for s in site.sent if s.startswith("GET /wp-json/wp/v2/comments")]
    assert len(gets) == 1, "one request for the pages' held comments"

    again = receive_website(seeded, site.client(), WINDOW, rules=rules, calendar=calendar)
    assert (again.stored, again.already) == (0, 2)
    assert seeded.scalar(select(func.count()).select_from(FeedbackItem)) == 2

    item = seeded.scalars(select(FeedbackItem).where(FeedbackItem.source_id == first)).one()
    assert item.channel == "website" and item.page_id == page and item.status == "received"
    assert (item.procedure_id, item.procedure_code) == (proc.id, proc.code)
    assert item.field_name == proc.field.name
    assert "<script>" not in item.text and "onerror" not in item.text and "Hồ sơ bị trả lại 3 lần" in item.text
    assert (item.sender_name, item.sender_contact) == (NAME, EMAIL)
    assert item.received_on == date(2026, 11, 24)
    assert item.deadline == calendar.add_working_days(date(2026, 11, 24), rules.working_days)
    assert item.deadline_provisional is (not rules.checked)

    # the next night reads the late comment
    later = receive_website(seeded, site.client(), nightly_window(date(2026, 11, 27)), rules=rules, calendar=calendar)
    assert (later.stored, later.already) == (1, 2)


def test_deadline_counts_working_days_across_tet(rules, calendar):
    # received Thursday 12/02/2026; Tết Bính Ngọ 14–22/02 off (workday_overrides.yaml): 1 working day
    # before it (Fri 13), the rest from Monday 23/02
    due = deadline_for(date(2026, 2, 12), rules, calendar)
    expected, day, left = date(2026, 2, 12), date(2026, 2, 12), rules.working_days
    from datetime import timedelta

    while left:
        day += timedelta(days=1)
        if day.weekday() < 5 and not date(2026, 2, 14) <= day <= date(2026, 2, 22):
            left -= 1
    expected = day
    assert due.day == expected
    if rules.working_days == 10:
        assert due.day == date(2026, 3, 5)
    assert due.day > date(2026, 2, 12) + timedelta(days=rules.working_days + 9)  # Tết pushed it past 9 days off
    # counted into 2027 (no official schedule yet): provisional whatever the rule says
    assert deadline_for(date(2026, 12, 28), rules, calendar).provisional


def test_answer_refuses_contacts_and_empty_text(seeded, website, rules, calendar):
    site = website[0]
    receive_website(seeded, site.client(), WINDOW, rules=rules, calendar=calendar)
    item = seeded.scalars(select(FeedbackItem).order_by(FeedbackItem.id)).first()
    for bad in ("   ", f"Liên hệ {EMAIL} để biết thêm", "Gọi 0912.345.678", f"Trả lời {item.sender_contact}"):
        with pytest.raises(FeedbackError):
            record_answer(seeded, item.id, bad, by="cv.kstthc", on=AS_OF)
    seeded.rollback()
    assert seeded.get(FeedbackItem, item.id).status == "received"


def _answer_all(session, text="Sở đã rà soát; thành phần hồ sơ theo Quyết định 77/QĐ-UBND.") -> list[FeedbackItem]:
    items = session.scalars(select(FeedbackItem).order_by(FeedbackItem.id)).all()
    for item in items:
        record_answer(session, item.id, text + " <b>x</b><script>bad()</script>", by="cv.kstthc", on=AS_OF)
    session.commit()
    return items


def _replies(site, page) -> list[dict]:
    return [c for c in site.comments(page) if c["parent"]]


def test_published_once_the_contact_never_shown(seeded, website, rules, calendar):
    site, _, page, first = website
    receive_website(seeded, site.client(), WINDOW, rules=rules, calendar=calendar)
    _answer_all(seeded)
    result = publish_answers(seeded, site.client(), run_date=AS_OF)
    assert (result.published, result.adopted) == (2, 0)
    again = publish_answers(seeded, site.client(), run_date=AS_OF)
    assert (again.published, again.adopted) == (0, 0)
    replies = _replies(site, page)
    assert len(replies) == 2
    assert seeded.scalar(select(func.count()).select_from(Posting).where(Posting.object_key.like("feedback:%"))) == 2
    assert seeded.scalar(select(func.count()).select_from(PostingClaim)) == 0
    item = seeded.scalars(select(FeedbackItem).where(FeedbackItem.source_id == first)).one()
    assert item.status == "published" and item.reply_id and item.reply_url

    public = site.public_comments(page)
    shown = " ".join(str(c.get("author_name")) + " " + c["content"]["rendered"] for c in public)
    assert EMAIL not in shown and NAME not in shown and "0912 345 678" not in shown
    assert "<script" not in shown and "<b>x</b>" not in shown and "onerror" not in shown.replace("onerror=", "")
    assert f"PAKN-{item.id}" in shown and PUBLIC_SENDER in shown
    parent = next(c for c in public if str(c["id"]) == first)
    assert parent["status"] == "approved" and "đã ẩn thông tin liên hệ" in parent["content"]["rendered"]


def test_a_try_that_died_after_its_post_is_adopted_not_posted_again(seeded, website, rules, calendar):
    site, _, page, _ = website
    receive_website(seeded, site.client(), WINDOW, rules=rules, calendar=calendar)
    _answer_all(seeded)

    class Died(Exception):
        pass

    def die(item, reply):
        raise Died

    with pytest.raises(Died):
        publish_answers(seeded, site.client(), run_date=AS_OF, holder="try-1", on_written=die)
    assert len(_replies(site, page)) == 1 and seeded.scalar(select(func.count()).select_from(Posting)
                                                           .where(Posting.object_key.like("feedback:%"))) == 0
    result = publish_answers(seeded, site.client(), run_date=AS_OF, holder="try-2")
    assert (result.adopted, result.published) == (1, 1)
    assert len(_replies(site, page)) == 2


def test_a_500_after_the_server_stored_it_is_adopted(seeded, website, rules, calendar):
    site, _, page, _ = website
    receive_website(seeded, site.client(), WINDOW, rules=rules, calendar=calendar)
    _answer_all(seeded)
    site.fault("POST /wp-json/wp/v2/comments", "after_success_500", times=1)
    result = publish_answers(seeded, site.client(), run_date=AS_OF)
    assert (result.adopted, result.published) == (1, 1)
    assert len(_replies(site, page)) == 2


def test_a_500_before_storing_fails_the_run_and_the_next_posts_once(seeded, website, rules, calendar):
    site, _, page, _ = website
    receive_website(seeded, site.client(), WINDOW, rules=rules, calendar=calendar)
    _answer_all(seeded)
    site.fault("POST /wp-json/wp/v2/comments", "http_500", times=1)
    with pytest.raises(ChannelError):
        publish_answers(seeded, site.client(), run_date=AS_OF)
    assert seeded.scalar(select(func.count()).select_from(PostingClaim)) == 0, "the claim was released"
    assert _replies(site, page) == []
    result = publish_answers(seeded, site.client(), run_date=AS_OF)
    assert result.published == 2 and len(_replies(site, page)) == 2


def test_a_reply_claimed_by_a_live_try_is_not_written(seeded, website, rules, calendar):
    from tthc.sync.claims import claim

    site, _, page, _ = website
    receive_website(seeded, site.client(), WINDOW, rules=rules, calendar=calendar)
    items = _answer_all(seeded)
    claim(seeded, "cms", items[0].ledger_key, 1, "another-live-try")
    with pytest.raises(ChannelError, match="held by another try"):
        publish_answers(seeded, site.client(), run_date=AS_OF, holder="this-try")
    assert len(_replies(site, page)) == 1  # only the other item's


def test_purge_erases_contacts_after_retention(seeded, website, rules, calendar):
    from datetime import timedelta

    from tthc.feedback.privacy import purge_contacts

    site = website[0]
    receive_website(seeded, site.client(), WINDOW, rules=rules, calendar=calendar)
    _answer_all(seeded)
    publish_answers(seeded, site.client(), run_date=AS_OF)
    assert purge_contacts(seeded, as_of=AS_OF + timedelta(days=rules.retention_days - 1), rules=rules) == []
    done = purge_contacts(seeded, as_of=AS_OF + timedelta(days=rules.retention_days), rules=rules)
    assert len(done) == 2
    assert all(i.sender_contact is None and i.sender_name is None for i in seeded.scalars(select(FeedbackItem)))


def test_a_deleted_visitors_comment_is_reported_not_retried_forever(seeded, website, rules, calendar):
    site, _, page, first = website
    receive_website(seeded, site.client(), WINDOW, rules=rules, calendar=calendar)
    _answer_all(seeded)
    with site.sandbox._lock:
        site.sandbox.cms_comments._state["comments"] = [c for c in site.sandbox.cms_comments._state["comments"]
                                                        if str(c["id"]) != first]
    with pytest.raises(ChannelError, match="no longer on the site"):
        publish_answers(seeded, site.client(), run_date=AS_OF)
    assert len(_replies(site, page)) == 1  # the other item's answer was published
    assert seeded.scalar(select(func.count()).select_from(PostingClaim)) == 0
