"""compare.flags: what the province must announce, on hand-built decisions (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from tthc.compare.flags import compare
from tthc.db.models import Flag, Procedure
from tthc.ingest import upsert_decision, upsert_item

RUN = datetime(2026, 11, 26, 1, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
AS_OF = date(2026, 11, 26)


def _catalogue_code(session, level: str = "cap_tinh") -> Procedure:
    return session.scalars(select(Procedure).where(Procedure.levels == level).order_by(Procedure.code)).first()


def _decision(session, so_hieu="100/QĐ-BKHCN", effective=date(2026, 12, 15), fields="chuyen_giao_cong_nghe"):
    decision, _ = upsert_decision(session, so_hieu=so_hieu, agency_name="Bộ Khoa học và Công nghệ", run_time=RUN,
                                  trich_yeu="Công bố TTHC", published_date=date(2026, 11, 20),
                                  effective_date=effective, field_keys=fields)
    return decision


def test_each_change_type_gives_its_action(seeded, dept):
    s = seeded
    known = _catalogue_code(s)
    other = s.scalars(select(Procedure).where(Procedure.levels == "cap_tinh").order_by(Procedure.code.desc())).first()
    d = _decision(s)
    upsert_item(s, d, name="Thủ tục hoàn toàn mới về chuyển giao công nghệ", change_type="new", levels=["cap_tinh"],
                field_key="chuyen_giao_cong_nghe")
    upsert_item(s, d, name=known.name, change_type="amended", code=known.code)
    upsert_item(s, d, name="Thủ tục thay thế mới", change_type="replaced", code="1.099999", levels=["cap_tinh"],
                field_key="chuyen_giao_cong_nghe", replaces_code=other.code)
    result = compare(s, dept, as_of=AS_OF)
    flags = {(f.procedure_key, f.action): f for f in s.scalars(select(Flag))}
    assert ("name:hoàn toàn mới về chuyển giao công nghệ", "announce_new") in flags
    assert (known.code, "re_announce") in flags
    assert ("1.099999", "announce_new") in flags
    assert (other.code, "announce_abolition") in flags  # replaced → the old one is abolished
    assert result.flags_created == 4
    assert all(f.deadline == date(2026, 12, 8) and not f.is_late for f in flags.values())


def test_idempotent_and_no_duplicate_abolition(seeded, dept):
    s = seeded
    old = _catalogue_code(s)
    d = _decision(s)
    upsert_item(s, d, name="Thủ tục thay thế", change_type="replaced", code="1.088888", levels=["cap_tinh"],
                field_key="chuyen_giao_cong_nghe", replaces_code=old.code)
    upsert_item(s, d, name=old.name, change_type="abolished")  # the portal lists the old one as rescinded too
    compare(s, dept, as_of=AS_OF)
    again = compare(s, dept, as_of=AS_OF)
    assert again.flags_created == 0
    abolitions = s.scalars(select(Flag).where(Flag.action == "announce_abolition")).all()
    assert [f.procedure_key for f in abolitions] == [old.code]


def test_central_level_is_not_flagged(seeded, dept):
    s = seeded
    d = _decision(s)
    upsert_item(s, d, name="Thủ tục cấp Bằng độc quyền sáng chế", change_type="new", levels=["cap_trung_uong"],
                field_key="so_huu_tri_tue")
    result = compare(s, dept, as_of=AS_OF)
    assert result.not_applicable == 1
    assert s.scalar(select(func.count()).select_from(Flag)) == 0


def test_out_of_scope_field_is_not_flagged(seeded, dept):
    s = seeded
    d = _decision(s, fields="thiet_bi_y_te")
    upsert_item(s, d, name="Công bố đủ điều kiện sản xuất trang thiết bị y tế", change_type="new", levels=["cap_tinh"])
    assert compare(s, dept, as_of=AS_OF).flags_created == 0


def test_contradictions_go_to_review(seeded, dept):
    s = seeded
    d = _decision(s)
    upsert_item(s, d, name="Thủ tục không có trong danh mục", change_type="amended", code="1.077777",
                levels=["cap_tinh"], field_key="chuyen_giao_cong_nghe")
    upsert_item(s, d, name="Thủ tục chưa rõ cấp thực hiện", change_type="new", field_key="chuyen_giao_cong_nghe")
    result = compare(s, dept, as_of=AS_OF)
    assert result.review == 2
    reasons = {f.procedure_key: f for f in s.scalars(select(Flag))}
    assert reasons["1.077777"].status == "review"
    assert "chưa có trong danh mục" in reasons["1.077777"].reason


def test_late_when_effective_date_passed_and_recomputed_per_run(seeded, dept):
    s = seeded
    known = _catalogue_code(s)
    d = _decision(s, effective=date(2026, 12, 7))
    upsert_item(s, d, name=known.name, change_type="amended", code=known.code)
    compare(s, dept, as_of=date(2026, 11, 20))
    flag = s.scalar(select(Flag))
    assert flag.deadline == date(2026, 11, 30) and flag.is_late is False  # Mon 7/12 − 5 working days
    compare(s, dept, as_of=date(2026, 12, 1))
    assert flag.is_late is True


def test_deadline_without_effective_date_uses_publication(seeded, dept):
    s = seeded
    known = _catalogue_code(s)
    d = _decision(s, effective=None)
    upsert_item(s, d, name=known.name, change_type="amended", code=known.code)
    compare(s, dept, as_of=AS_OF)
    flag = s.scalar(select(Flag))
    assert flag.deadline_rule == "province_announcement_no_effective_date"
    # Fri 20/11 + 5 working days, skipping Tue 24/11 (Ngày Văn hóa Việt Nam, a day off since 2025)
    assert flag.deadline == date(2026, 11, 30)
