"""Reporting periods of the KSTTHC reports: quarter, half-year, year, cut at ``cutoff_day``.

A reporting period runs from the cut-off day (``Department.report_cutoff_day``, default 15) of the month
before the period's first month to the day before the cut-off day in its last month: Q1 2026 is
15/12/2025 – 14/03/2026, the year 2026 is 15/12/2025 – 14/12/2026. The DAG runs on the cut-off day
(:func:`due_periods`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from tthc.core.render import vn_date

KINDS = ("quarter", "half", "year")
PERIODS_PER_YEAR = {"quarter": 4, "half": 2, "year": 1}
MONTHS = {"quarter": 3, "half": 6, "year": 12}
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
KEY_LETTER = {"quarter": "Q", "half": "H", "year": "Y"}

@dataclass(frozen=True)
class Period:
    kind: str  # quarter | half | year
    year: int
    number: int  # 1–4 (quarter), 1–2 (half), 1 (year)
    start: date
    end: date  # inclusive

    @property
    def label(self) -> str:
        if self.kind == "quarter":
            return f"Quý {ROMAN[self.number]} năm {self.year}"
        if self.kind == "half":
            return f"6 tháng {'đầu' if self.number == 1 else 'cuối'} năm {self.year}"
        return f"Năm {self.year}"

    @property
    def key(self) -> str:
        suffix = "" if self.kind == "year" else str(self.number)
        return f"{self.year}-{KEY_LETTER[self.kind]}{suffix}"

    @property
    def dates(self) -> str:
        """``15/09/2026 – 14/12/2026``."""
        return f"{vn_date(self.start)} – {vn_date(self.end)}"

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end


def period_for(kind: str, year: int, number: int = 1, cutoff_day: int = 15) -> Period:
    """The reporting period ``number`` of ``kind`` in ``year`` (see the module docstring)."""
    if kind not in KINDS:
        raise ValueError(f"unknown period kind {kind!r} (expected one of {KINDS})")
    if not 1 <= number <= PERIODS_PER_YEAR[kind]:
        raise ValueError(f"{kind} number must be between 1 and {PERIODS_PER_YEAR[kind]}, not {number}")
    if not 1 <= cutoff_day <= 28:
        raise ValueError("cutoff_day must be between 1 and 28")
    span = MONTHS[kind]
    first = (number - 1) * span + 1
    last = number * span
    start = date(year - 1, 12, cutoff_day) if first == 1 else date(year, first - 1, cutoff_day)
    end = date(year, last, cutoff_day) - timedelta(days=1)
    return Period(kind, year, number, start, end)


def previous(period: Period) -> Period:
    """The period of the same kind just before ``period`` (Q1 → Q4 of the year before)."""
    if period.number > 1:
        return period_for(period.kind, period.year, period.number - 1, period.start.day)
    return period_for(period.kind, period.year - 1, PERIODS_PER_YEAR[period.kind], period.start.day)


def due_periods(run_date: date, cutoff_day: int = 15) -> list[Period]:
    """The periods ending the day before ``run_date`` (quarter, then half, then year)."""
    if run_date.day != cutoff_day:
        return []
    month = run_date.month
    out = []
    for kind in KINDS:
        if month % MONTHS[kind] == 0:
            out.append(period_for(kind, run_date.year, month // MONTHS[kind], cutoff_day))
    assert all(p.end == run_date - timedelta(days=1) for p in out)
    return out



def parse_period_key(key: str, cutoff_day: int) -> Period:
    """``2026-Q4`` / ``2026-H2`` / ``2026-Y`` → the reporting period."""
    year, _, part = key.partition("-")
    kinds = {"Q": "quarter", "H": "half", "Y": "year"}
    if not year.isdigit() or not part or part[0] not in kinds:
        raise ValueError(f"period {key!r}: expected YYYY-Q1..Q4, YYYY-H1/H2 or YYYY-Y")
    number = int(part[1:]) if part[1:] else 1
    return period_for(kinds[part[0]], int(year), number, cutoff_day)
