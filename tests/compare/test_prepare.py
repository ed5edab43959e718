"""compare.prepare: the draft decision for the ready flags, one draft waiting at a time."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from docx import Document
from sqlalchemy import func, select
from support.story import Story
from tthc.approve.answer import record_response
from tthc.compare.flags import compare
from tthc.compare.prepare import prepare_draft
from tthc.db.models import Announcement, Flag, Procedure
from tthc.ingest.runs import upsert_decision, upsert_item

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


def test_draft_made_from_ready_flags_and_files_written(seeded, dept, tmp_path):
    s = seeded
    _flagged(s, dept)
    info = prepare_draft(s, dept, as_of=AS_OF, out_dir=tmp_path)
    assert info is not None and info.created and info.flag_count == 2 and info.status == "draft"
    assert info.earliest_deadline == "2026-12-08" and info.decisions == ["100/QĐ-BKHCN"]
    text = _docx_text(info.docx)
    for flag in s.scalars(select(Flag)):
        assert flag.announcement_id == info.announcement_id and flag.status == "open"
        assert flag.procedure_code in text
    assert "Quyết định số 100/QĐ-BKHCN ngày 18/11/2026" in text
    html = (tmp_path / info.html.rsplit("/", 1)[-1]).read_text(encoding="utf-8")
    assert "100/QĐ-BKHCN" in html


def test_prepare_is_idempotent_and_one_draft_waits_at_a_time(seeded, dept, tmp_path):
    s = seeded
    _flagged(s, dept)
    first = prepare_draft(s, dept, as_of=AS_OF, out_dir=tmp_path)
    docx_bytes = open(first.docx, "rb").read()
    again = prepare_draft(s, dept, as_of=AS_OF, out_dir=tmp_path)
    assert (again.announcement_id, again.batch_key, again.created) == (first.announcement_id, first.batch_key, False)
    assert open(first.docx, "rb").read() == docx_bytes
    # a new decision while the draft waits: its flag waits for the next draft
    procs = s.scalars(select(Procedure).where(Procedure.levels == "cap_tinh").order_by(Procedure.code.desc())).all()
    later, _ = upsert_decision(s, so_hieu="200/QĐ-BKHCN", agency_name="Bộ Khoa học và Công nghệ", run_time=RUN,
                               trich_yeu="x", published_date=date(2026, 11, 21), effective_date=date(2027, 1, 15),
                               field_keys="chuyen_giao_cong_nghe")
    upsert_item(s, later, name=procs[0].name, change_type="amended", code=procs[0].code)
    compare(s, dept, as_of=AS_OF)
    waiting = prepare_draft(s, dept, as_of=AS_OF, out_dir=tmp_path)
    assert waiting.announcement_id == first.announcement_id and waiting.flag_count == 2
    assert s.scalar(select(func.count()).select_from(Announcement)) == 1
    new_flag = s.scalar(select(Flag).where(Flag.decision_id == later.id))
    assert new_flag.announcement_id is None

    record_response(s, first.announcement_id, approved=True, so_hieu="123/QĐ-UBND", signed_date="25/11/2026",
                    decided_by="lanhdao", decided_at=RUN, as_of=AS_OF)
    nxt = prepare_draft(s, dept, as_of=AS_OF, out_dir=tmp_path)
    assert nxt.announcement_id != first.announcement_id and nxt.flag_count == 1


def test_no_ready_flags_no_draft(seeded, dept, tmp_path):
    assert prepare_draft(seeded, dept, as_of=AS_OF, out_dir=tmp_path) is None


def test_review_flags_are_not_drafted(seeded, dept, tmp_path):
    s = seeded
    d, _ = upsert_decision(s, so_hieu="7/QĐ-BKHCN", agency_name="Bộ Khoa học và Công nghệ", run_time=RUN,
                           trich_yeu="x", published_date=date(2026, 11, 20), effective_date=date(2026, 12, 15),
                           field_keys="chuyen_giao_cong_nghe")
    upsert_item(s, d, name="Thủ tục chưa rõ cấp thực hiện", change_type="new", field_key="chuyen_giao_cong_nghe")
    compare(s, dept, as_of=AS_OF)
    assert prepare_draft(s, dept, as_of=AS_OF, out_dir=tmp_path) is None


def test_draft_cites_every_decision_merged_into_a_flag(seeded, dept, tmp_path):
    s = seeded
    first = _flagged(s, dept, so_hieu="100/QĐ-BKHCN", n=1)
    proc_code = s.scalar(select(Flag.procedure_code))
    later, _ = upsert_decision(s, so_hieu="300/QĐ-BKHCN", agency_name="Bộ Khoa học và Công nghệ", run_time=RUN,
                               trich_yeu="Sửa đổi tiếp", published_date=date(2026, 11, 24),
                               signed_date=date(2026, 11, 23), effective_date=date(2027, 2, 1),
                               field_keys="chuyen_giao_cong_nghe")
    proc = s.scalar(select(Procedure).where(Procedure.code == proc_code))
    upsert_item(s, later, name=proc.name, change_type="amended", code=proc.code)
    compare(s, dept, as_of=AS_OF)
    info = prepare_draft(s, dept, as_of=AS_OF, out_dir=tmp_path)
    assert info.flag_count == 1 and info.decisions == [first.so_hieu, "300/QĐ-BKHCN"]
    text = _docx_text(info.docx)
    assert "Quyết định số 100/QĐ-BKHCN ngày 18/11/2026" in text
    assert "Quyết định số 300/QĐ-BKHCN ngày 23/11/2026" in text
    assert text.count(proc.code) == 1  # one row for the procedure
