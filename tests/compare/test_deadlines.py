"""compare.deadlines: the Vietnamese working-day calendar, the rules table and the province deadline.

Expected dates are worked out by hand below from the calendar (weekday of each date noted), not by
calling the function under test.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from tthc.compare.deadlines import Rule, load_rules, province_deadline
from tthc.core.workdays import WorkCalendar


@pytest.fixture(scope="module")
def plain() -> WorkCalendar:
    """The holidays package's Vietnam calendar and weekends, without the override table."""
    return WorkCalendar()


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    """The calendar with the bundled override table (settings/workday_overrides.yaml)."""
    return WorkCalendar.from_file()


# --- WorkCalendar ------------------------------------------------------------------------------

def test_weekends_are_off_weekdays_on(plain: WorkCalendar) -> None:
    # week of 5-11 Oct 2026: Monday..Sunday, no holidays
    assert date(2026, 10, 5).weekday() == 0
    for day in range(5, 10):
        assert plain.is_working_day(date(2026, 10, day)), day
    assert not plain.is_working_day(date(2026, 10, 10))  # Saturday
    assert not plain.is_working_day(date(2026, 10, 11))  # Sunday


@pytest.mark.parametrize("day", [
    date(2026, 9, 2),   # Quốc khánh (Wednesday)
    date(2027, 9, 2),   # Quốc khánh (Thursday)
    date(2026, 4, 30),  # Giải phóng miền Nam (Thursday)
    date(2026, 5, 1),   # Quốc tế Lao động (Friday)
    date(2026, 1, 1),   # Tết Dương lịch (Thursday)
    date(2026, 2, 17),  # Mùng 1 Tết Bính Ngọ (Tuesday)
    date(2026, 2, 18),  # Mùng 2 Tết
    date(2027, 2, 8),   # Tết Đinh Mùi (Monday)
])
def test_public_holidays_on_weekdays_are_off(plain: WorkCalendar, day: date) -> None:
    assert day.weekday() < 5  # it is a weekday, so only the holiday makes it off
    assert not plain.is_working_day(day)


def test_override_table_adds_make_up_working_days(plain: WorkCalendar, cal: WorkCalendar) -> None:
    # Sat 26 Apr 2025 was worked to bridge 30/4–1/5 (settings/workday_overrides.yaml); Sat 22 Aug 2026 is
    # worked in exchange for Mon 31 Aug 2026 (the holidays package's "substituted from 08/22/2026")
    assert date(2025, 4, 26).weekday() == 5 and date(2026, 8, 22).weekday() == 5
    assert not plain.is_working_day(date(2025, 4, 26))
    assert cal.is_working_day(date(2025, 4, 26))
    assert cal.is_working_day(date(2026, 8, 22))


def test_override_table_adds_extra_days_off(plain: WorkCalendar, tmp_path) -> None:
    # an extra bridging day off on a weekday the holidays package does not know (Fri 8 Jan 2027)
    f = tmp_path / "o.yaml"
    f.write_text('2027:\n  "off": ["2027-01-08"]\n  work: ["2027-01-16"]\n', encoding="utf-8")
    assert date(2027, 1, 8).weekday() == 4
    assert plain.is_working_day(date(2027, 1, 8))
    cal = WorkCalendar.from_file(f)
    assert not cal.is_working_day(date(2027, 1, 8))
    assert cal.is_working_day(date(2027, 1, 16))  # the Saturday made up for it


def test_bare_off_key_is_read_too(tmp_path) -> None:
    """YAML 1.1 reads a bare `off:` key as False; the loader must not silently drop those days."""
    f = tmp_path / "o.yaml"
    f.write_text("2027:\n  off: ['2027-03-05']\n  work: []\n", encoding="utf-8")
    assert not WorkCalendar.from_file(f).is_working_day(date(2027, 3, 5))  # a Friday


def test_deadline_skips_bridging_day_off(cal: WorkCalendar) -> None:
    # published Fri 25 Apr 2025 +5: Sat 26 (make-up, 1), Mon 28 (2), Tue 29 (3), [Wed 30/4, Thu 1/5 holidays,
    # Fri 2/5 bridge off, weekend], Mon 5 (4), Tue 6 May (5)
    d = province_deadline(effective_date=None, published_date=date(2025, 4, 25), as_of=date(2025, 4, 25),
                          calendar=cal)
    assert d.due == date(2025, 5, 6)


def test_explicit_work_day_beats_holiday_and_off_day_beats_weekday() -> None:
    c = WorkCalendar(off={date(2026, 10, 7)}, work={date(2026, 9, 2)})
    assert c.is_working_day(date(2026, 9, 2))
    assert not c.is_working_day(date(2026, 10, 7))  # a Wednesday


def test_add_working_days_forward_across_weekend(plain: WorkCalendar) -> None:
    # Thu 8 Oct 2026 +3: Fri 9 (1), [Sat 10, Sun 11], Mon 12 (2), Tue 13 (3)
    assert plain.add_working_days(date(2026, 10, 8), 3) == date(2026, 10, 13)


def test_add_working_days_backward_across_weekend(plain: WorkCalendar) -> None:
    # Tue 13 Oct 2026 -3: Mon 12 (1), [Sun 11, Sat 10], Fri 9 (2), Thu 8 (3)
    assert plain.add_working_days(date(2026, 10, 13), -3) == date(2026, 10, 8)


def test_add_working_days_forward_across_holidays(plain: WorkCalendar) -> None:
    # Wed 29 Apr 2026 +1: [Thu 30/4, Fri 1/5 holidays, Sat 2, Sun 3], Mon 4 May (1)
    assert plain.add_working_days(date(2026, 4, 29), 1) == date(2026, 5, 4)
    # +2 → Tue 5 May
    assert plain.add_working_days(date(2026, 4, 29), 2) == date(2026, 5, 5)


def test_add_working_days_backward_across_holidays(plain: WorkCalendar) -> None:
    # Mon 4 May 2026 -2: [Sun 3, Sat 2, Fri 1/5, Thu 30/4], Wed 29 Apr (1), Tue 28 Apr (2)
    assert plain.add_working_days(date(2026, 5, 4), -2) == date(2026, 4, 28)


def test_add_working_days_zero_is_start(plain: WorkCalendar) -> None:
    assert plain.add_working_days(date(2026, 10, 10), 0) == date(2026, 10, 10)


def test_add_working_days_across_tet_with_overrides(cal: WorkCalendar) -> None:
    # 2026 Tết off days (package + overrides): Sat 14 .. Sun 22 Feb. Fri 13 Feb +1 → Mon 23 Feb
    assert date(2026, 2, 13).weekday() == 4
    assert cal.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 23)
    assert cal.add_working_days(date(2026, 2, 23), -1) == date(2026, 2, 13)


# --- WorkCalendar.from_file errors -------------------------------------------------------------

def test_from_file_reads_custom_work_days(tmp_path: Path) -> None:
    f = tmp_path / "o.yaml"
    f.write_text("2026:\n  work: [2026-10-10, \"2026-10-11\"]\n", encoding="utf-8")  # unquoted and quoted
    c = WorkCalendar.from_file(f)
    assert c.is_working_day(date(2026, 10, 10))
    assert c.is_working_day(date(2026, 10, 11))


def test_from_file_reads_custom_off_days(tmp_path: Path) -> None:
    f = tmp_path / "o.yaml"
    f.write_text('2026:\n  off: ["2026-10-07"]\n', encoding="utf-8")
    assert not WorkCalendar.from_file(f).is_working_day(date(2026, 10, 7))  # a Wednesday


def test_from_file_work_day_under_wrong_year(tmp_path: Path) -> None:
    f = tmp_path / "o.yaml"
    f.write_text('2026:\n  work: ["2027-01-09"]\n', encoding="utf-8")
    with pytest.raises(ValueError, match="2027-01-09 listed under year 2026"):
        WorkCalendar.from_file(f)


def test_from_file_off_day_under_wrong_year(tmp_path: Path) -> None:
    f = tmp_path / "o.yaml"
    f.write_text('2026:\n  off: ["2027-01-04"]\n', encoding="utf-8")
    with pytest.raises(ValueError, match="2027-01-04 listed under year 2026"):
        WorkCalendar.from_file(f)


def test_from_file_day_both_off_and_work(tmp_path: Path) -> None:
    f = tmp_path / "o.yaml"
    f.write_text('2026:\n  off: ["2026-10-07", "2026-10-08"]\n  work: ["2026-10-08"]\n', encoding="utf-8")
    with pytest.raises(ValueError, match="both off and working"):
        WorkCalendar.from_file(f)


def test_from_file_day_both_off_and_work_quoted_key(tmp_path: Path) -> None:
    # with the key quoted, YAML gives the string "off" and the clash is caught
    f = tmp_path / "o.yaml"
    f.write_text('2026:\n  "off": ["2026-10-07", "2026-10-08"]\n  work: ["2026-10-08"]\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"both off and working: \[datetime.date\(2026, 10, 8\)\]"):
        WorkCalendar.from_file(f)


def test_from_file_invalid_date(tmp_path: Path) -> None:
    f = tmp_path / "o.yaml"
    f.write_text('2026:\n  work: ["2026-02-30"]\n', encoding="utf-8")
    with pytest.raises(ValueError):
        WorkCalendar.from_file(f)


# --- load_rules --------------------------------------------------------------------------------

def test_bundled_rules() -> None:
    rules = load_rules()
    r = rules["province_announcement"]
    assert (r.working_days, r.calendar_days, r.anchor) == (-5, None, "effective_date")
    r2 = rules["province_announcement_no_effective_date"]
    assert (r2.working_days, r2.anchor) == (5, "published_date")
    assert rules["ministry_issue_before_effective"].calendar_days == -20


def test_calendar_days_rule_ignores_working_days(plain: WorkCalendar) -> None:
    r = Rule(id="x", description="", citation="", checked=True, anchor="effective_date", calendar_days=-20)
    # 20 calendar days before Wed 2 Sep 2026 is Thu 13 Aug 2026, holidays or not
    assert r.apply(date(2026, 9, 2), plain) == date(2026, 8, 13)


def _rules_file(tmp_path: Path, body: str) -> Path:
    f = tmp_path / "rules.yaml"
    f.write_text("rules:\n  r:\n    description: d\n    citation: c\n    checked: true\n    anchor: effective_date\n"
                 + body, encoding="utf-8")
    return f


def test_load_rules_both_counts_is_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="exactly one of working_days, calendar_days"):
        load_rules(_rules_file(tmp_path, "    working_days: 5\n    calendar_days: 7\n"))


def test_load_rules_neither_count_is_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="deadline rule r"):
        load_rules(_rules_file(tmp_path, ""))


def test_load_rules_custom_file(tmp_path: Path) -> None:
    rules = load_rules(_rules_file(tmp_path, "    calendar_days: 7\n"))
    assert rules["r"].calendar_days == 7 and rules["r"].working_days is None


# --- province_deadline -------------------------------------------------------------------------

def test_effective_date_gives_five_working_days_before(cal: WorkCalendar) -> None:
    # Mon 19 Oct 2026 -5: Fri 16, Thu 15, Wed 14, Tue 13, Mon 12 (weekend 17-18 skipped)
    d = province_deadline(effective_date=date(2026, 10, 19), published_date=date(2026, 10, 1),
                          as_of=date(2026, 10, 1), calendar=cal)
    assert d.due == date(2026, 10, 12)
    assert d.rule.id == "province_announcement"
    assert d.is_late is False


def test_no_effective_date_uses_published_plus_five(cal: WorkCalendar) -> None:
    # Thu 8 Oct 2026 +5: Fri 9, Mon 12, Tue 13, Wed 14, Thu 15
    d = province_deadline(effective_date=None, published_date=date(2026, 10, 8), as_of=date(2026, 10, 8),
                          calendar=cal)
    assert d.due == date(2026, 10, 15)
    assert d.rule.id == "province_announcement_no_effective_date"
    assert d.is_late is False


def test_deadline_crossing_national_day(cal: WorkCalendar) -> None:
    # 2026: Mon 31 Aug (substitute day), Tue 1 Sep and Wed 2 Sep are off in the holidays package
    for off in (date(2026, 8, 31), date(2026, 9, 1), date(2026, 9, 2)):
        assert not cal.is_working_day(off), off
    # effective Mon 7 Sep 2026 -5: Fri 4 (1), Thu 3 (2), [Wed 2, Tue 1, Mon 31, Sun 30, Sat 29],
    # Fri 28 Aug (3), Thu 27 (4), Wed 26 (5)
    d = province_deadline(effective_date=date(2026, 9, 7), published_date=None, as_of=date(2026, 8, 20),
                          calendar=cal)
    assert d.due == date(2026, 8, 26)
    # published Fri 28 Aug 2026 +5: [Sat 29 .. Wed 2 Sep], Thu 3 (1), Fri 4 (2), Mon 7 (3), Tue 8 (4), Wed 9 (5)
    d2 = province_deadline(effective_date=None, published_date=date(2026, 8, 28), as_of=date(2026, 8, 28),
                           calendar=cal)
    assert d2.due == date(2026, 9, 9)


def test_default_calendar_and_rules_are_used() -> None:
    # same as above, without passing calendar/rules: Mon 19 Oct 2026 → Mon 12 Oct 2026
    d = province_deadline(effective_date=date(2026, 10, 19), published_date=None, as_of=date(2026, 10, 1))
    assert d.due == date(2026, 10, 12)
    assert d.rule.id == "province_announcement"


def test_as_of_after_due_is_late(cal: WorkCalendar) -> None:
    d = province_deadline(effective_date=date(2026, 10, 19), published_date=None, as_of=date(2026, 10, 13),
                          calendar=cal)
    assert d.due == date(2026, 10, 12)
    assert d.is_late is True


def test_as_of_on_due_day_is_not_late(cal: WorkCalendar) -> None:
    d = province_deadline(effective_date=date(2026, 10, 19), published_date=None, as_of=date(2026, 10, 12),
                          calendar=cal)
    assert d.is_late is False


def test_effective_date_takes_precedence_over_published(cal: WorkCalendar) -> None:
    d = province_deadline(effective_date=date(2026, 10, 19), published_date=date(2026, 10, 8),
                          as_of=date(2026, 10, 1), calendar=cal)
    assert d.rule.id == "province_announcement"
    assert d.due != date(2026, 10, 15)


def test_no_dates_is_value_error(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="no computable deadline"):
        province_deadline(effective_date=None, published_date=None, as_of=date(2026, 10, 1), calendar=cal)
