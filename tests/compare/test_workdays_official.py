"""core.workdays + compare.deadlines: the official 2026 schedule (each swap with its source), provisional
("tạm tính") deadlines through a year without one, and what a year still lacks."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml
from tthc.compare.deadlines import province_deadline
from tthc.core.config import SETTINGS_DIR
from tthc.core.workdays import EVENTS, WorkCalendar, parse_schedule


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar.from_file()


def test_every_2026_period_has_its_checked_source(cal):
    data = yaml.safe_load((SETTINGS_DIR / "workday_overrides.yaml").read_text(encoding="utf-8"))
    events = data[2026]["events"]
    assert set(events) == set(EVENTS)
    for key, event in events.items():
        assert event["checked"] is True and len(event["source"]) > 40, key
    assert "12729/VPCP-KGVX" in events["tet_duong_lich"]["source"]
    assert "25/12/2025" in events["tet_duong_lich"]["source"]
    assert cal.is_confirmed(2026) and cal.check_year(2026) == []


def test_the_2026_new_year_swap(cal):
    """01–04/01/2026 off; Friday 02/01 swapped to Saturday 10/01 (Official Letter 12729/VPCP-KGVX)."""
    for day in (1, 2, 3, 4):
        assert not cal.is_working_day(date(2026, 1, day))
    assert cal.is_working_day(date(2026, 1, 10))  # a Saturday, worked
    assert not cal.is_working_day(date(2026, 1, 11))
    # five working days before Thursday 15/01: 14, 13, 12, Saturday 10, Friday 09 (08/01 without the swap)
    assert province_deadline(effective_date=date(2026, 1, 15), published_date=None,
                             as_of=date(2026, 1, 1)).due == date(2026, 1, 9)
    # five working days after Wednesday 31/12/2025 skip the four days off: 05, 06, 07, 08, 09
    assert cal.add_working_days(date(2025, 12, 31), 5) == date(2026, 1, 9)
    # counted back from Thursday 08/01 over the four days off: 07, 06, 05, then 31/12 and 30/12/2025
    due = province_deadline(effective_date=date(2026, 1, 8), published_date=None, as_of=date(2025, 12, 1)).due
    assert due == date(2025, 12, 30) and cal.is_working_day(due)


@pytest.mark.parametrize(("day", "working"), [
    (date(2026, 2, 13), True), (date(2026, 2, 16), False), (date(2026, 2, 20), False), (date(2026, 2, 23), True),
    (date(2026, 4, 27), False),  # Giỗ Tổ on Sunday 26/4: compensatory Monday
    (date(2026, 4, 30), False), (date(2026, 5, 1), False), (date(2026, 5, 4), True),
    (date(2026, 8, 22), True),  # Saturday worked for Monday 31/8
    (date(2026, 8, 31), False), (date(2026, 9, 1), False), (date(2026, 9, 2), False), (date(2026, 9, 3), True),
])
def test_the_rest_of_2026(cal, day, working):
    assert cal.is_working_day(day) is working


def test_a_deadline_through_a_year_without_its_schedule_is_provisional(cal):
    assert not cal.is_confirmed(2027)
    assert cal.check_year(2027)[0].startswith("Năm 2027 chưa có trong bảng")
    d = province_deadline(effective_date=date(2027, 2, 15), published_date=None, as_of=date(2026, 12, 1))
    assert d.provisional and d.unconfirmed_years == (2027,)
    # still computed, with the holidays calendar (Tết Đinh Mùi: 04–10/02/2027)
    assert d.due == date(2027, 2, 1)  # 12, 11, then 03, 02, 01/02 around Tết
    inside = province_deadline(effective_date=date(2026, 12, 15), published_date=None, as_of=date(2026, 12, 1))
    assert not inside.provisional
    across = province_deadline(effective_date=date(2027, 1, 5), published_date=None, as_of=date(2026, 12, 1))
    assert across.due.year == 2026 and across.unconfirmed_years == (2027,)  # counted through 2027 days


def test_a_year_is_confirmed_only_when_all_its_periods_are(tmp_path: Path):
    data = yaml.safe_load((SETTINGS_DIR / "workday_overrides.yaml").read_text(encoding="utf-8"))
    events = {k: {**v, "off": [d.replace("2026", "2027") for d in v.get("off", [])],
                  "work": [d.replace("2026", "2027") for d in v.get("work", [])]}
              for k, v in data[2026]["events"].items()}
    partial = {k: v for k, v in events.items() if k != "quoc_khanh"}
    unchecked = {**events, "tet_am_lich": {**events["tet_am_lich"], "checked": False}}
    assert parse_schedule({2027: {"events": events}})[2027].confirmed
    assert parse_schedule({2027: {"events": partial}})[2027].missing == ["quoc_khanh"]
    cal = WorkCalendar(schedule=parse_schedule({2027: {"events": unchecked}}))
    assert cal.check_year(2027) == [f"Tết Âm lịch: văn bản nguồn chưa được đối chiếu (checked: false) — "
                                    f"{events['tet_am_lich']['source']}"]
    with pytest.raises(ValueError, match="unknown event"):
        parse_schedule({2027: {"events": {"tet": {}}}})
    with pytest.raises(ValueError, match="listed under year 2027"):
        parse_schedule({2027: {"events": {"tet_am_lich": {"off": ["2026-02-16"]}}}})
    path = tmp_path / "overrides.yaml"
    path.write_text(yaml.safe_dump({2027: {"events": {"tet_duong_lich": {"off": ["2027-01-01"],
                                                                         "work": ["2027-01-01"]}}}}))
    with pytest.raises(ValueError, match="both off and working"):
        WorkCalendar.from_file(path)


def test_the_older_flat_form_still_reads(tmp_path: Path):
    path = tmp_path / "flat.yaml"
    path.write_text('2025:\n  source: "Thông báo"\n  checked: false\n  "off": ["2025-01-27"]\n  work: ["2025-04-26"]\n',
                    encoding="utf-8")
    cal = WorkCalendar.from_file(path)
    assert not cal.is_working_day(date(2025, 1, 27)) and cal.is_working_day(date(2025, 4, 26))
    assert not cal.is_confirmed(2025)
    path.write_text('2025:\n  source: "Thông báo 1/TB-BNV"\n  checked: true\n  off: ["2025-01-27"]\n', encoding="utf-8")
    assert WorkCalendar.from_file(path).is_confirmed(2025)
