"""Legal deadlines in Vietnamese working days.

The calendar is the ``holidays`` package's Vietnam calendar, Saturdays and Sundays off, plus an
operator-edited override table of each year's official day swaps (``settings/workday_overrides.yaml``).
The rules themselves are data (``settings/deadline_rules.yaml``), each with its legal citation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import holidays
import yaml

from tthc.config import SETTINGS_DIR


class WorkCalendar:
    def __init__(self, off: set[date] | None = None, work: set[date] | None = None) -> None:
        self.extra_off = set(off or ())
        self.extra_work = set(work or ())
        self._holidays = holidays.country_holidays("VN")

    @classmethod
    def from_file(cls, path: str | Path | None = None) -> WorkCalendar:
        with open(path or SETTINGS_DIR / "workday_overrides.yaml", encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
        off: set[date] = set()
        work: set[date] = set()
        for year, entry in data.items():
            # YAML 1.1 reads a bare `off:` key as the boolean False: accept both spellings
            for keys, target in ((("off", False), off), (("work",), work)):
                values = next((entry[k] for k in keys if k in entry), None) or []
                for value in values:
                    day = date.fromisoformat(str(value))
                    if day.year != int(year):
                        raise ValueError(f"workday overrides: {day} listed under year {year}")
                    target.add(day)
        clash = off & work
        if clash:
            raise ValueError(f"workday overrides: days both off and working: {sorted(clash)}")
        return cls(off, work)

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_work:
            return True
        if day in self.extra_off or day.weekday() >= 5:
            return False
        return day not in self._holidays

    def add_working_days(self, start: date, n: int) -> date:
        """The day ``n`` working days after (n > 0) or before (n < 0) ``start``; n=0 gives start."""
        step = 1 if n >= 0 else -1
        day, left = start, abs(n)
        while left:
            day += timedelta(days=step)
            if self.is_working_day(day):
                left -= 1
        return day


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    citation: str
    checked: bool
    anchor: str
    working_days: int | None = None
    calendar_days: int | None = None

    def apply(self, anchor_day: date, calendar: WorkCalendar) -> date:
        if self.working_days is not None:
            return calendar.add_working_days(anchor_day, self.working_days)
        return anchor_day + timedelta(days=self.calendar_days or 0)


def load_rules(path: str | Path | None = None) -> dict[str, Rule]:
    with open(path or SETTINGS_DIR / "deadline_rules.yaml", encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    rules = {}
    for rule_id, spec in (data.get("rules") or {}).items():
        if (spec.get("working_days") is None) == (spec.get("calendar_days") is None):
            raise ValueError(f"deadline rule {rule_id}: give exactly one of working_days, calendar_days")
        rules[rule_id] = Rule(id=rule_id, **spec)
    return rules


@dataclass(frozen=True)
class Deadline:
    due: date
    rule: Rule
    is_late: bool


@lru_cache(maxsize=1)
def _defaults() -> tuple[WorkCalendar, dict[str, Rule]]:
    return WorkCalendar.from_file(), load_rules()


def province_deadline(
    *,
    effective_date: date | None,
    published_date: date | None,
    as_of: date,
    calendar: WorkCalendar | None = None,
    rules: dict[str, Rule] | None = None,
) -> Deadline:
    """When the province must announce, given the ministry decision's dates.

    ``as_of`` is the run's date (its data interval end), never the wall clock: a deadline already
    passed on that date is marked late (the flag is due at once).
    """
    default_cal, default_rules = _defaults()
    calendar = calendar or default_cal
    rules = rules or default_rules
    if effective_date is not None:
        rule = rules["province_announcement"]
        due = rule.apply(effective_date, calendar)
    elif published_date is not None:
        rule = rules["province_announcement_no_effective_date"]
        due = rule.apply(published_date, calendar)
    else:
        raise ValueError("a decision without effective and published dates has no computable deadline")
    return Deadline(due=due, rule=rule, is_late=due < as_of)
