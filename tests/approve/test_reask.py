"""approve: an answer is checked against the rules of its choice and the day it was given, and one that cannot
be recorded is logged with the reason the next request shows (``record_approval`` asks again, never fails)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from tthc.approve.answer import AnswerProblem, check_answer
from tthc.approve.operator import FORM, DraftApprovalOperator
from tthc.approve.options import APPROVE, DATE_PATTERN, REJECT, SO_HIEU_PATTERN
from tthc.approve.tasks import pending_draft, record_approval
from tthc.core.window import RunWindow
from tthc.db.models import Announcement, ApprovalAnswer, DraftFile

VN = ZoneInfo("Asia/Ho_Chi_Minh")
WINDOW = RunWindow(datetime(2026, 11, 25, 1, tzinfo=VN), datetime(2026, 11, 26, 1, tzinfo=VN))  # run date 26/11


def _response(option: str | None, *, so_hieu=None, ngay_ky=None, ghi_chu=None, at: datetime) -> dict:
    return {"chosen_options": [option] if option else [], "responded_at": at.isoformat(),
            "params_input": {"so_hieu": so_hieu, "ngay_ky": ngay_ky, "ghi_chu": ghi_chu},
            "responded_by_user": {"id": "lanhdao", "name": "Lãnh đạo Sở"}}


@pytest.fixture
def waiting(story, db_url):
    """Two procedures drafted by the 26/11 run, waiting for approval (committed: the tasks open sessions)."""
    decision = story.decision("100/QĐ-BKHCN", published=date(2026, 11, 20), effective=date(2026, 12, 15))
    for p in story.catalogue("cap_tinh")[:2]:
        story.item(decision, p.name, "amended", code=p.code)
    story.flag()
    info = story.draft()
    story.session.commit()
    return info


@pytest.mark.parametrize("approved, fields, problems", [
    (True, {}, {"so_hieu", "ngay_ky"}),
    (True, {"so_hieu": "123/QĐ-UBND", "signed_date": "31/11/2026"}, {"ngay_ky"}),
    (True, {"so_hieu": "123/QD-UBND", "signed_date": "25/11/2026"}, {"so_hieu"}),
    (True, {"so_hieu": "123/QĐ-UBND", "signed_date": "25/11/2026", "note": None}, set()),
    (False, {}, {"ghi_chu"}),
    (False, {"note": "  "}, {"ghi_chu"}),
    (False, {"note": "Thiếu phí, lệ phí"}, set()),  # no number or date needed to reject
])
def test_what_an_answer_needs_depends_on_its_choice(approved, fields, problems):
    if not problems:
        answer = check_answer(approved=approved, answered_on=date(2026, 11, 26), **fields)
        assert answer.approved is approved
        return
    with pytest.raises(AnswerProblem) as caught:
        check_answer(approved=approved, answered_on=date(2026, 11, 26), **fields)
    assert set(caught.value.fields) == problems


@settings(max_examples=200, deadline=None)
@given(st.dates(date(2000, 1, 1), date(2099, 12, 31)), st.integers(-3, 3))
def test_the_signing_date_is_checked_against_the_day_of_the_answer(signed, offset):
    answered_on = signed + timedelta(days=offset)
    if offset < 0:
        with pytest.raises(AnswerProblem, match="sau ngày trả lời"):
            check_answer(approved=True, so_hieu="1/QĐ-UBND", signed_date=f"{signed:%d/%m/%Y}", answered_on=answered_on)
    else:
        answer = check_answer(approved=True, so_hieu="1/QĐ-UBND", signed_date=f"{signed:%d/%m/%Y}",
                              answered_on=answered_on)
        assert answer.signed_date == signed


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 31), st.integers(1, 12), st.integers(2000, 2099))
def test_the_form_pattern_and_the_check_agree_on_dates(day, month, year):
    text = f"{day:02d}/{month:02d}/{year}"
    try:
        date(year, month, day)
        real = True
    except ValueError:
        real = False
    assert bool(re.match(DATE_PATTERN, text)) is real
    if real:
        check_answer(approved=True, so_hieu="1/QĐ-UBND", signed_date=text, answered_on=date(2100, 1, 1))
    else:
        with pytest.raises(AnswerProblem, match="ngày ký không hợp lệ"):
            check_answer(approved=True, so_hieu="1/QĐ-UBND", signed_date=text)


def test_the_form_carries_the_patterns_and_keeps_an_answer_as_typed():
    schema = {k: p.serialize()["schema"] for k, p in FORM.items()}
    assert schema["ngay_ky"]["pattern"] == DATE_PATTERN and schema["so_hieu"]["pattern"] == SO_HIEU_PATTERN
    # no field is required by the form (the choice decides which are): every type admits null
    assert all("null" in s["type"] for s in schema.values())
    op = DraftApprovalOperator(task_id="approve", draft_task_id="pending_draft")
    # Airflow's own check would raise ParamValidationError here and fail the task; this one keeps the
    # answer for record_approval, which asks again with the reason
    op.validate_params_input({"so_hieu": "abc", "ngay_ky": "31/11/2026", "ghi_chu": None})


def test_an_official_who_signs_three_days_after_the_request_is_accepted(waiting, seeded):
    at = datetime(2026, 11, 29, 9, tzinfo=VN)  # the request was made by the 26/11 run
    result = record_approval(WINDOW, {"announcement_id": waiting.announcement_id},
                             _response(APPROVE, so_hieu="123/QĐ-UBND", ngay_ky="28/11/2026", at=at))
    assert (result["status"], result["signed_date"]) == ("approved", "2026-11-28")
    seeded.expire_all()
    [answer] = seeded.scalars(select(ApprovalAnswer)).all()
    assert (answer.outcome, answer.choice, answer.form["ngay_ky"]) == ("recorded", APPROVE, "28/11/2026")


@pytest.mark.parametrize("option, form, field, message", [
    (APPROVE, {"so_hieu": "123/QĐ-UBND", "ngay_ky": "31/11/2026"}, "ngay_ky", "ngày ký không hợp lệ: «31/11/2026»"),
    (APPROVE, {"ngay_ky": "25/11/2026"}, "so_hieu", "cần số hiệu"),
    (APPROVE, {"so_hieu": "123/QĐ-UBND", "ngay_ky": "30/11/2026"}, "ngay_ky", "sau ngày trả lời 29/11/2026"),
    (REJECT, {}, "ghi_chu", "từ chối cần ghi lý do"),
    (None, {"ghi_chu": "?"}, "choice", "chưa chọn"),
])
def test_an_answer_that_cannot_be_recorded_is_logged_and_asked_again(waiting, seeded, option, form, field, message):
    at = datetime(2026, 11, 29, 9, tzinfo=VN)
    result = record_approval(WINDOW, {"announcement_id": waiting.announcement_id}, _response(option, at=at, **form))
    assert result["status"] == "reask" and message in result["fields"][field]
    assert result["window"] == WINDOW.to_dict()
    assert result["reask_run_id"] == f"reask__{waiting.announcement_id}__{at.astimezone(UTC):%Y%m%dT%H%M%S}"
    seeded.expire_all()
    assert seeded.get(Announcement, waiting.announcement_id).status == "draft"
    # the next request shows why
    again = pending_draft()
    assert again["announcement_id"] == waiting.announcement_id
    assert again["problem"].startswith("Câu trả lời của Lãnh đạo Sở chưa ghi nhận được:") and message in again["problem"]
    # the same answer recorded twice (a retry of record_approval) is one row
    record_approval(WINDOW, {"announcement_id": waiting.announcement_id}, _response(option, at=at, **form))
    seeded.expire_all()
    assert len(seeded.scalars(select(ApprovalAnswer)).all()) == 1
    # a right answer later clears the problem
    fixed = record_approval(WINDOW, {"announcement_id": waiting.announcement_id},
                            _response(REJECT, ghi_chu="Bổ sung phí", at=at + timedelta(hours=1)))
    assert fixed["status"] == "rejected"
    seeded.expire_all()
    assert [a.outcome for a in seeded.get(Announcement, waiting.announcement_id).answers] == ["refused", "recorded"]


def test_an_answer_on_a_draft_no_longer_waiting_is_not_asked_again(waiting, seeded):
    at = datetime(2026, 11, 27, 9, tzinfo=VN)
    ok = _response(APPROVE, so_hieu="123/QĐ-UBND", ngay_ky="26/11/2026", at=at)
    assert record_approval(WINDOW, {"announcement_id": waiting.announcement_id}, ok)["status"] == "approved"
    late = _response(REJECT, ghi_chu="muộn", at=at + timedelta(hours=2))  # a second, stale request answered
    result = record_approval(WINDOW, {"announcement_id": waiting.announcement_id}, late)
    assert result["status"] == "not_waiting" and "không thể từ chối" in result["problem"]


def test_drafting_keeps_the_files_in_the_store(waiting, seeded, tmp_path):
    from docx import Document

    files = {f.kind: f for f in seeded.scalars(select(DraftFile))}
    # the draft, its HTML preview and (draft.part_two, on by default) Phần II
    assert set(files) == {"docx", "html", "part_two"}
    assert files["part_two"].filename.endswith("-phan-ii.docx")
    assert files["part_two"].content == (tmp_path / files["part_two"].filename).read_bytes()
    assert files["docx"].content == (tmp_path / files["docx"].filename).read_bytes()
    doc = Document(__import__("io").BytesIO(files["docx"].content))
    assert "công bố" in "\n".join(p.text for p in doc.paragraphs).lower()
    assert "<html" in files["html"].content.decode("utf-8").lower()
    assert files["docx"].size == len(files["docx"].content) and len(files["docx"].content_hash) == 64
