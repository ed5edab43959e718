"""Vietnamese working days: the ``holidays`` package's Vietnam calendar, Saturdays and Sundays off, plus
an operator-edited table of each year's official schedule (``settings/workday_overrides.yaml``).

The table lists, per year, each holiday period of :data:`EVENTS` with its official source (the
Government's or the Ministry of Home Affairs' notice) and its days off and make-up working days. A year
is *confirmed* when every event has a source that has been checked; deadlines counted through a year that
is not are still computed (the ``holidays`` calendar, plus whatever the table has) but are provisional —
"tạm tính" in the digest, the draft's notes and ``tthc deadline``. ``tthc deadline --check-year YYYY``
lists what a year still lacks (docs/operations.md, Deadlines, says how to add it).

The older flat form of an entry (``"off"``, ``work``, ``source``, ``checked`` directly under the year) is
still read; such a year is confirmed only when it says ``checked: true`` and names its source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import holidays
import yaml

from tthc.core.config import SETTINGS_DIR

# The holiday periods of a year whose official schedule the table records (Labour Code 2019, art. 112;
# the Government sets the swaps of civil servants each year).
EVENTS = {
    "tet_duong_lich": "Tết Dương lịch",
    "tet_am_lich": "Tết Âm lịch",
    "gio_to_hung_vuong": "Giỗ Tổ Hùng Vương",
    "le_30_4_1_5": "Ngày Chiến thắng 30/4 và Ngày Quốc tế Lao động 1/5",
    "quoc_khanh": "Quốc khánh 2/9",
}


@dataclass(frozen=True)
class Event:
    key: str
    source: str = ""
    checked: bool = False
    off: tuple[date, ...] = ()
    work: tuple[date, ...] = ()

    @property
    def confirmed(self) -> bool:
        return bool(self.source) and self.checked


@dataclass(frozen=True)
class YearSchedule:
    year: int
    events: dict[str, Event] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    flat_confirmed: bool = False  # the older flat form, checked with a source

    @property
    def missing(self) -> list[str]:
        """The events of :data:`EVENTS` without a checked official source."""
        if self.flat_confirmed:
            return []
        return [k for k in EVENTS if k not in self.events or not self.events[k].confirmed]

    @property
    def confirmed(self) -> bool:
        return not self.missing


def _days(values: Any, year: int, where: str) -> tuple[date, ...]:
    out = []
    for value in values or []:
        day = date.fromisoformat(str(value))
        if day.year != year:
            raise ValueError(f"workday overrides: {day} listed under year {year} ({where})")
        out.append(day)
    return tuple(out)


def _off(entry: dict[str, Any]) -> Any:
    # YAML 1.1 reads a bare `off:` key as the boolean False: accept both spellings
    return next((entry[k] for k in ("off", False) if k in entry), None)


def parse_schedule(data: dict[Any, Any]) -> dict[int, YearSchedule]:
    years: dict[int, YearSchedule] = {}
    for raw_year, entry in (data or {}).items():
        year = int(raw_year)
        entry = entry or {}
        events: dict[str, Event] = {}
        for key, spec in (entry.get("events") or {}).items():
            if key not in EVENTS:
                raise ValueError(f"workday overrides {year}: unknown event {key!r} (known: {', '.join(EVENTS)})")
            spec = spec or {}
            events[key] = Event(key, str(spec.get("source") or ""), bool(spec.get("checked", False)),
                                _days(_off(spec), year, key), _days(spec.get("work"), year, key))
        flat = Event("", str(entry.get("source") or ""), bool(entry.get("checked", False)),
                     _days(_off(entry), year, "off"), _days(entry.get("work"), year, "work"))
        if flat.off or flat.work:
            events["_flat"] = flat
        years[year] = YearSchedule(year, events, tuple(str(n) for n in entry.get("notes") or ()),
                                   flat_confirmed=flat.confirmed and not (entry.get("events")))
    return years


class WorkCalendar:
    def __init__(self, off: set[date] | None = None, work: set[date] | None = None,
                 schedule: dict[int, YearSchedule] | None = None) -> None:
        self.extra_off = set(off or ())
        self.extra_work = set(work or ())
        self.schedule = dict(schedule or {})
        self._holidays = holidays.country_holidays("VN")

    @classmethod
    def from_file(cls, path: str | Path | None = None) -> WorkCalendar:
        with open(path or SETTINGS_DIR / "workday_overrides.yaml", encoding="utf-8") as fh:
            schedule = parse_schedule(yaml.safe_load(fh) or {})
        off: set[date] = set()
        work: set[date] = set()
        for year in schedule.values():
            for event in year.events.values():
                off.update(event.off)
                work.update(event.work)
        clash = off & work
        if clash:
            raise ValueError(f"workday overrides: days both off and working: {sorted(clash)}")
        return cls(off, work, schedule)

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

    # -- how far the table can be trusted

    def is_confirmed(self, year: int) -> bool:
        """Whether ``year`` has its official schedule (every event with a checked source)."""
        entry = self.schedule.get(year)
        return entry is not None and entry.confirmed

    def unconfirmed_years(self, first: date, last: date) -> list[int]:
        """The years between two days (either order) whose schedule is not confirmed: a count of working
        days across them is provisional (tạm tính)."""
        low, high = sorted((first, last))
        return [y for y in range(low.year, high.year + 1) if not self.is_confirmed(y)]

    def check_year(self, year: int) -> list[str]:
        """What ``year`` lacks, in Vietnamese (empty: confirmed)."""
        entry = self.schedule.get(year)
        if entry is None:
            return [f"Năm {year} chưa có trong bảng ngày nghỉ, ngày làm bù: thiếu {', '.join(EVENTS.values())}."]
        out = []
        for key in entry.missing:
            event = entry.events.get(key)
            if event is None:
                out.append(f"{EVENTS[key]}: chưa có lịch nghỉ chính thức (chưa ghi văn bản nguồn).")
            elif not event.source:
                out.append(f"{EVENTS[key]}: chưa ghi văn bản nguồn.")
            else:
                out.append(f"{EVENTS[key]}: văn bản nguồn chưa được đối chiếu (checked: false) — {event.source}")
        return out

    def holiday_names(self, year: int) -> dict[date, str]:
        """The ``holidays`` package's days off of ``year`` (to compare with an official notice)."""
        return dict(sorted(holidays.country_holidays("VN", years=year).items()))
