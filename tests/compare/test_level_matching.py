"""compare.matching: a level stated in a procedure's name is a blocking key — never auto-matched across levels,
sent to review instead (real names from the national portal's published lists)."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from tthc.compare.flags import compare
from tthc.compare.matching import Candidate, Matcher, name_level
from tthc.db.models import Flag, Procedure
from tthc.ingest.runs import upsert_decision, upsert_item

RUN = datetime(2026, 11, 26, 1, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
QUALIFIED = re.compile(r"\s*\((?:thực hiện tại |TTHC )?cấp (tỉnh|xã|trung ương)\)\s*$", re.IGNORECASE)
LEVEL = {"tỉnh": "cap_tinh", "xã": "cap_xa", "trung ương": "cap_trung_uong"}
OTHER = {"cap_tinh": "cap_xa", "cap_xa": "cap_tinh", "cap_trung_uong": "cap_tinh"}


def _names(reference: Path) -> list[str]:
    out = []
    for kind in ("citizens", "businesses"):
        rows = json.loads((reference / "national-portal" / "procedures" / f"published_procedures_{kind}.json")
                          .read_text(encoding="utf-8"))
        out += [r["NAME"] for r in rows]
    return out


def test_the_level_a_real_name_states(reference):
    names = _names(reference)
    qualified = [n for n in names if QUALIFIED.search(n)]
    assert len(qualified) >= 20
    for name in qualified:
        assert name_level(name) == LEVEL[QUALIFIED.search(name).group(1).lower()], name
    # "… tỉnh, thành phố trực thuộc trung ương" and a level in the middle of a name are not qualifiers
    for name in names:
        if name.endswith("trực thuộc trung ương") or "(gồm tiêm phòng" in name:
            assert name_level(name) is None, name
    assert name_level("Thủ tục xử lý đơn tại cấp xã") == "cap_xa"
    assert name_level("(Cấp tỉnh) Thủ tục mua sáng chế, sáng kiến") == "cap_tinh"
    assert name_level("Cấp giấy chứng nhận kiểm dịch động vật, sản phẩm động vật trên cạn vận chuyển ra khỏi "
                      "địa bàn cấp tỉnh") == "cap_tinh"  # liberal: at worst a review instead of a match


def test_never_auto_matched_across_levels(reference):
    """Every real name with a level, against a catalogue holding the same procedure without the level in its
    name but at another level: review, never matched — and matched when the levels agree."""
    qualified = [n for n in _names(reference) if QUALIFIED.search(n)]
    for name in qualified:
        level = name_level(name)
        bare = QUALIFIED.sub("", name)
        other = Matcher([Candidate("9.000001", bare, None, (OTHER[level],))])
        result = other.match(name)
        assert result.verdict == "review", (name, result)
        assert "not matched across levels" in result.reason
        assert other.match_many([(name, None, None)])[0].verdict == "review"
        same = Matcher([Candidate("9.000001", bare, None, (level,))])
        assert same.match(name).verdict == "matched", name
        unknown = Matcher([Candidate("9.000001", bare, None, ())])  # the catalogue does not know its level
        assert unknown.match(name).verdict == "matched", name


def test_same_name_at_two_levels_in_the_reference(reference):
    """The real list holds "… (thực hiện tại cấp tỉnh)" and "… (thực hiện tại cấp trung ương)": each matches its
    own, never the other's."""
    names = _names(reference)
    tinh = "Đăng ký lại mẫu con dấu (thực hiện tại cấp tỉnh)"
    tw = "Đăng ký lại mẫu con dấu (thực hiện tại cấp trung ương)"
    assert tinh in names and tw in names
    matcher = Matcher([Candidate("1.000001", tinh, None, ("cap_tinh",)), Candidate("1.000002", tw, None, ())])
    assert matcher.match(tinh).code == "1.000001" and matcher.match(tinh).verdict == "matched"
    assert matcher.match(tw).code == "1.000002" and matcher.match(tw).verdict == "matched"
    only_tw = Matcher([Candidate("1.000002", tw, None, ())])
    assert only_tw.match(tinh).verdict != "matched"


def test_a_code_is_still_trusted_across_levels():
    matcher = Matcher([Candidate("2.002825", "Thủ tục công nhận sáng kiến", None, ("cap_xa",))])
    assert matcher.match("Thủ tục công nhận sáng kiến (cấp tỉnh)", code="2.002825").verdict == "matched"


@pytest.mark.parametrize("levels", [("cap_xa",), ("cap_tinh",)])
def test_compare_sends_a_cross_level_match_to_review(seeded, dept, levels):
    """The held-out case: a decision item "… (cấp tỉnh)" and a catalogue procedure of another level whose name
    carries no level were auto-matched with score 100."""
    s = seeded
    proc = s.scalar(select(Procedure).where(Procedure.code == "2.002812"))  # a commune-level procedure
    assert name_level(proc.name) is None
    proc.levels = ",".join(levels)
    d, _ = upsert_decision(s, so_hieu="700/QĐ-BKHCN", agency_name="Bộ Khoa học và Công nghệ", run_time=RUN,
                           trich_yeu="Công bố thủ tục sửa đổi", signed_date=date(2026, 11, 18),
                           published_date=date(2026, 11, 20), effective_date=date(2026, 12, 20),
                           field_keys="chuyen_giao_cong_nghe")
    upsert_item(s, d, name=f"{proc.name} (cấp tỉnh)", change_type="amended", levels=["cap_tinh"])
    compare(s, dept, as_of=date(2026, 11, 26))
    flag = s.scalar(select(Flag).where(Flag.decision_id == d.id))
    if levels == ("cap_xa",):
        assert flag.status == "review" and flag.procedure_code is None
        assert flag.match_info["verdict"] == "review" and "across levels" in flag.match_info["reason"]
        assert flag.match_info["code"] == "2.002812"  # shown to the person as the closest one
    else:
        assert flag.status == "open" and flag.procedure_code == "2.002812"
