"""Legal deadlines of the province's announcements, in Vietnamese working days
(:class:`tthc.core.workdays.WorkCalendar`).

The rules are data (``settings/deadline_rules.yaml``), each with its legal citation. A deadline counted
through a year whose official schedule of days off is not yet in ``settings/workday_overrides.yaml`` is
still computed, but is provisional (``Deadline.provisional``: "tạm tính").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import yaml

from tthc.core.config import SETTINGS_DIR
from tthc.core.workdays import WorkCalendar


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
    anchor: date | None = None
    unconfirmed_years: tuple[int, ...] = ()  # years counted through without an official schedule

    @property
    def provisional(self) -> bool:
        """Counted through a year whose official schedule of days off is not in the table (tạm tính)."""
        return bool(self.unconfirmed_years)


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
        rule, anchor = rules["province_announcement"], effective_date
    elif published_date is not None:
        rule, anchor = rules["province_announcement_no_effective_date"], published_date
    else:
        raise ValueError("a decision without effective and published dates has no computable deadline")
    due = rule.apply(anchor, calendar)
    return Deadline(due=due, rule=rule, is_late=due < as_of, anchor=anchor,
                    unconfirmed_years=tuple(calendar.unconfirmed_years(anchor, due)))

