"""Vietnamese working days: the ``holidays`` package's Vietnam calendar, Saturdays and Sundays off, plus
an operator-edited override table of each year's official day swaps (``settings/workday_overrides.yaml``).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import holidays
import yaml

from tthc.core.config import SETTINGS_DIR


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
