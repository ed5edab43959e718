"""approve.answer: a person's answer on a draft (approve with number and date, or reject), recorded once."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from docx import Document
from sqlalchemy import select
from support.story import Story
from tthc.approve.answer import ApprovalError, parse_signed_date, record_response
from tthc.compare.prepare import prepare_draft
from tthc.db.models import Announcement, Flag

RUN = datetime(2026, 11, 26, 1, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
AS_OF = date(2026, 11, 26)


def _flagged(session, dept, so_hieu="100/QĐ-BKHCN", n=2, effective=date(2026, 12, 15)):
    """A ministry decision amending the first ``n`` cấp tỉnh procedures of the catalogue, flagged."""
    story = Story(session, dept)
    decision = story.decision(so_hieu, published=date(2026, 11, 20), signed=date(2026, 11, 18), effective=effective,
                              trich_yeu="Công bố TTHC sửa đổi")
    for p in story.catalogue("cap_tinh")[:n]:
        story.item(decision, p.name, "amended", code=p.code)
    story.flag()
    return decision


def _docx_text(path: str) -> str:
    doc = Document(path)
    cells = [c.text for t in doc.tables for r in t.rows for c in r.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def test_approve_records_number_and_date_and_is_idempotent(seeded, dept, tmp_path):
    s = seeded
    _flagged(s, dept)
    info = prepare_draft(s, dept, as_of=AS_OF, out_dir=tmp_path)
    ann = record_response(s, info.announcement_id, approved=True, so_hieu="123/QĐ-UBND", signed_date="25/11/2026",
                          decided_by="lanhdao", decided_at=RUN, as_of=AS_OF)
    assert (ann.status, ann.so_hieu, ann.signed_date, ann.decided_by) == ("approved", "123/QĐ-UBND",
                                                                           date(2026, 11, 25), "lanhdao")
    assert {f.status for f in s.scalars(select(Flag))} == {"approved"}
    # the same answer again (a task retry) changes nothing; a different one is refused
    record_response(s, info.announcement_id, approved=True, so_hieu="123/QĐ-UBND", signed_date="2026-11-25",
                    decided_by="lanhdao", decided_at=RUN, as_of=AS_OF)
    with pytest.raises(ApprovalError, match="đã được phê duyệt"):
        record_response(s, info.announcement_id, approved=True, so_hieu="124/QĐ-UBND", signed_date="25/11/2026",
                        decided_by="x", decided_at=RUN, as_of=AS_OF)
    with pytest.raises(ApprovalError, match="không thể từ chối"):
        record_response(s, info.announcement_id, approved=False, decided_by="x", decided_at=RUN)
    # approved flags are locked: a later decision on the same procedure makes a new flag
    assert prepare_draft(s, dept, as_of=AS_OF, out_dir=tmp_path) is None


@pytest.mark.parametrize("so_hieu, day, message", [
    ("", "25/11/2026", "cần số hiệu"),
    ("abc", "25/11/2026", "không đúng dạng"),
    ("123/QĐ-UBND", "", "cần ngày ký"),
    ("123/QĐ-UBND", "31/02/2026", "ngày ký không hợp lệ"),
    ("123/QĐ-UBND", "27/11/2026", "sau ngày trả lời"),
])
def test_approval_needs_a_valid_number_and_date(seeded, dept, tmp_path, so_hieu, day, message):
    s = seeded
    _flagged(s, dept)
    info = prepare_draft(s, dept, as_of=AS_OF, out_dir=tmp_path)
    with pytest.raises(ApprovalError, match=message):
        record_response(s, info.announcement_id, approved=True, so_hieu=so_hieu, signed_date=day,
                        decided_by="x", decided_at=RUN, as_of=AS_OF)
    assert s.get(Announcement, info.announcement_id).status == "draft"


def test_reject_frees_the_flags_and_the_same_batch_is_asked_again(seeded, dept, tmp_path):
    s = seeded
    _flagged(s, dept)
    info = prepare_draft(s, dept, as_of=AS_OF, out_dir=tmp_path)
    ann = record_response(s, info.announcement_id, approved=False, decided_by="lanhdao", decided_at=RUN,
                          note="Bổ sung thời hạn giải quyết")
    assert (ann.status, ann.note) == ("rejected", "Bổ sung thời hạn giải quyết")
    assert {f.status for f in s.scalars(select(Flag))} == {"open"}
    again = prepare_draft(s, dept, as_of=AS_OF, out_dir=tmp_path)
    assert again.announcement_id == info.announcement_id and again.status == "draft"


def test_parse_signed_date_formats():
    assert parse_signed_date("05/01/2027") == date(2027, 1, 5)
    assert parse_signed_date("2027-01-05") == date(2027, 1, 5)
    assert parse_signed_date(date(2027, 1, 5)) == date(2027, 1, 5)
    with pytest.raises(ApprovalError):
        parse_signed_date("5 tháng 1")
