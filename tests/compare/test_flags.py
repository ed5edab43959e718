"""compare.flags: what the province must announce, on hand-built decisions (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from tthc.compare.flags import compare
from tthc.db.models import Flag, Procedure
from tthc.ingest.runs import upsert_decision, upsert_item

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


# --- matching inside compare, the review queue, people's answers, merging -------------------------------

TYPO_OF = "Thủ tục hỗ trợ doanh nghiệp, tổ chức, cá nhân thực hiện giải mã công nghệ"


def _proc(session, name: str) -> Procedure:
    return session.scalar(select(Procedure).where(Procedure.name == name))


def test_amended_item_without_code_is_matched_by_name_despite_a_typo(seeded, dept):
    s = seeded
    target = _proc(s, TYPO_OF)
    d = _decision(s)
    # no code, "KH&CN"-style noise absent, one mistyped word ("giả mã"): the matcher finds the catalogue entry
    upsert_item(s, d, name="Hỗ trợ doanh nghiệp, tổ chức, cá nhân thực hiện giải ma công nghệ", change_type="amended",
                field_key="chuyen_giao_cong_nghe")
    compare(s, dept, as_of=AS_OF)
    flag = s.scalar(select(Flag))
    assert (flag.procedure_key, flag.procedure_code, flag.status) == (target.code, target.code, "open")
    assert flag.levels == target.levels  # taken from the catalogue: the item gave none
    assert flag.match_info["verdict"] == "matched" and flag.match_info["code"] == target.code


def test_close_name_goes_to_review_queue_and_a_persons_answer_is_reused(seeded, dept):
    from tthc.compare.review import decide_flag, review_queue

    s = seeded
    target = _proc(s, TYPO_OF)
    d = _decision(s)
    close = "Thủ tục hỗ trợ doanh nghiệp, tổ chức thực hiện giải mã công nghệ"  # a word group missing
    upsert_item(s, d, name=close, change_type="amended", levels=["cap_tinh"], field_key="chuyen_giao_cong_nghe")
    result = compare(s, dept, as_of=AS_OF)
    flag = s.scalar(select(Flag))
    assert flag.status == "review" and result.review == 1
    assert flag.match_info["verdict"] == "review" and flag.match_info["code"] == target.code
    assert "cần người xác nhận" in flag.reason
    queue = review_queue(s)
    assert [(q.flag_id, q.candidate_code) for q in queue] == [(flag.id, target.code)]

    decide_flag(s, flag.id, target.code, decided_by="chuyenvien", decided_at=RUN)
    result = compare(s, dept, as_of=AS_OF)
    s.expire_all()
    flags = s.scalars(select(Flag)).all()
    assert len(flags) == 1 and result.review == 0
    assert (flags[0].status, flags[0].procedure_key, flags[0].procedure_name) == ("open", target.code, target.name)
    assert review_queue(s) == []

    # the same name in a later decision is not asked again
    d2 = _decision(s, so_hieu="200/QĐ-BKHCN", effective=date(2027, 1, 15))
    upsert_item(s, d2, name=close, change_type="amended", levels=["cap_tinh"], field_key="chuyen_giao_cong_nghe")
    compare(s, dept, as_of=AS_OF)
    assert review_queue(s) == []


def test_person_can_answer_not_in_catalogue(seeded, dept):
    from tthc.compare.review import decide_flag

    s = seeded
    d = _decision(s)
    upsert_item(s, d, name="Thủ tục hỗ trợ doanh nghiệp, tổ chức thực hiện giải mã công nghệ", change_type="amended",
                levels=["cap_tinh"], field_key="chuyen_giao_cong_nghe")
    compare(s, dept, as_of=AS_OF)
    flag = s.scalar(select(Flag))
    decide_flag(s, flag.id, None, decided_by="chuyenvien", decided_at=RUN)
    compare(s, dept, as_of=AS_OF)
    s.expire_all()
    flag = s.scalar(select(Flag))
    assert flag.status == "open" and flag.procedure_key.startswith("name:")
    assert "đã xác nhận" in flag.reason


def test_decide_rejects_unknown_code(seeded, dept):
    import pytest
    from tthc.compare.review import decide_flag

    s = seeded
    d = _decision(s)
    upsert_item(s, d, name="Thủ tục chưa rõ cấp thực hiện", change_type="new", field_key="chuyen_giao_cong_nghe")
    compare(s, dept, as_of=AS_OF)
    with pytest.raises(ValueError, match="không có trong danh mục"):
        decide_flag(s, s.scalar(select(Flag.id)), "9.999999", decided_by="x", decided_at=RUN)


def test_later_decision_merges_into_waiting_flag_keeping_earliest_deadline(seeded, dept):
    from tthc.db.models import FlagSource

    s = seeded
    known = _catalogue_code(s)
    first = _decision(s, so_hieu="100/QĐ-BKHCN", effective=date(2026, 12, 15))
    upsert_item(s, first, name=known.name, change_type="amended", code=known.code)
    compare(s, dept, as_of=AS_OF)
    later = _decision(s, so_hieu="300/QĐ-BKHCN", effective=date(2027, 2, 1))
    upsert_item(s, later, name=known.name, change_type="amended", code=known.code)
    result = compare(s, dept, as_of=AS_OF)
    assert result.flags_merged == 1 and result.flags_created == 0
    flags = s.scalars(select(Flag)).all()
    assert len(flags) == 1
    flag = flags[0]
    assert flag.deadline == date(2026, 12, 8)  # the first decision's: earliest
    assert {src.decision.so_hieu for src in flag.sources} == {"100/QĐ-BKHCN", "300/QĐ-BKHCN"}
    assert "300/QĐ-BKHCN" in flag.reason and "100/QĐ-BKHCN" in flag.reason
    again = compare(s, dept, as_of=AS_OF)
    assert (again.flags_created, again.flags_merged) == (0, 0)
    assert s.scalar(select(func.count()).select_from(FlagSource)) == 2
    assert s.scalar(select(func.count()).select_from(Flag)) == 1


def test_earlier_deadline_from_later_decision_wins(seeded, dept):
    s = seeded
    known = _catalogue_code(s)
    first = _decision(s, so_hieu="100/QĐ-BKHCN", effective=date(2027, 3, 1))
    upsert_item(s, first, name=known.name, change_type="amended", code=known.code)
    compare(s, dept, as_of=AS_OF)
    urgent = _decision(s, so_hieu="301/QĐ-BKHCN", effective=date(2026, 12, 15))
    upsert_item(s, urgent, name=known.name, change_type="abolished", code=known.code)
    compare(s, dept, as_of=AS_OF)
    flag = s.scalar(select(Flag))
    assert flag.deadline == date(2026, 12, 8)
    assert flag.action == "announce_abolition"  # abolished after being amended: announce the abolition


def test_new_then_amended_before_announcement_stays_new():
    from tthc.compare.flags import combine_actions

    assert combine_actions(["announce_new", "re_announce"]) == "announce_new"
    assert combine_actions(["re_announce", "re_announce"]) == "re_announce"
    assert combine_actions(["announce_new", "announce_abolition"]) == "announce_abolition"
    assert combine_actions(["announce_abolition", "announce_new"]) == "announce_new"


def test_flag_in_a_pending_draft_is_not_merged_into(seeded, dept):
    from tthc.db.models import Announcement

    s = seeded
    known = _catalogue_code(s)
    first = _decision(s, so_hieu="100/QĐ-BKHCN")
    upsert_item(s, first, name=known.name, change_type="amended", code=known.code)
    compare(s, dept, as_of=AS_OF)
    flag = s.scalar(select(Flag))
    ann = Announcement(batch_key="k" * 64, status="draft")
    s.add(ann)
    s.flush()
    flag.announcement_id = ann.id
    s.flush()
    later = _decision(s, so_hieu="300/QĐ-BKHCN", effective=date(2027, 2, 1))
    upsert_item(s, later, name=known.name, change_type="amended", code=known.code)
    result = compare(s, dept, as_of=AS_OF)
    assert result.flags_created == 1 and result.flags_merged == 0
    assert s.scalar(select(func.count()).select_from(Flag)) == 2
