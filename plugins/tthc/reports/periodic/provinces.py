"""How the province compares: which provinces announced each ministry decision, and how many days later.

Pure functions over rows of the national decision list (:class:`Row`, from ``portal_listings``) and the
ministry decisions of the department's fields (:class:`MinistryDecision`); no database, no clock.

Matching rules (docs/sources.md, "How the province compares"):

1. **Re-publication**: a row under a province's agency ("UBND tỉnh …", "UBND Thành phố …") whose CODE is
   the ministry decision's số hiệu (both normalised: :func:`so_hieu_key`) announces it for that province.
2. **Citation**: a provincial row whose trích yếu (or attachment text, when there is any) cites the
   ministry's số hiệu, written in any of its variants — QĐ / QD / qđ, spaces around "/" and "-", a year
   part (``12/2026/QĐ-…``), leading zeros, a stray trailing dot, "ngày dd/mm/yyyy" after it — announces it.
3. **Left out and counted (ambiguous)**: a row citing only "Quyết định số N" with no issuing code, where N
   is the number of a ministry decision compared; a matching row published *before* the ministry decision
   (the same number of another year, or a data error); a row matching several ministry decisions of the
   same key that its date cannot tell apart.
4. A province's lag for a ministry decision is the days from the ministry's publication on the list to
   the province's first matching row. Our own province's lag comes from our own announcement of it
   (the flags it approved), published on the list as found by the verification, not from this matcher.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

TOTAL_PROVINCES = 34  # provincial-level units since 1 July 2025
PROVINCE_PREFIX = "ubnd "

_CITE = re.compile(
    r"(?<![\d/])0*(\d{1,6})\s*/\s*(?:((?:19|20)\d{2})\s*/\s*)?Q\s*[ĐD]\s*-\s*([A-Z0-9Đ]+(?:\s*-\s*[A-Z0-9Đ]+)*)",
    re.IGNORECASE)
_NUMBER_ONLY = re.compile(r"quyết\s+định\s+(?:số\s+)?0*(\d{1,6})(?!\s*[/\d])", re.IGNORECASE)


def _nfc(text: str | None) -> str:
    return unicodedata.normalize("NFC", text or "")


def _key(number: str, year: str | None, issuer: str) -> str:
    issuer = re.sub(r"\s+", "", issuer).upper().replace("Đ", "D").rstrip(".")
    return f"{int(number)}/{year + '/' if year else ''}QD-{issuer}"


def citations(text: str | None) -> set[str]:
    """Every decision số hiệu cited in ``text``, normalised (:func:`so_hieu_key`'s form)."""
    return {_key(m.group(1), m.group(2), m.group(3)) for m in _CITE.finditer(_nfc(text))}


def so_hieu_key(so_hieu: str | None) -> str | None:
    """The comparison key of a decision's own số hiệu (its first citation form), None when it has none:
    "4063/QĐ-BKHCN", "4063/QD-BKHCN.", "04063 / qđ - bkhcn ngày 08/12/2025" all give "4063/QD-BKHCN"."""
    m = _CITE.search(_nfc(so_hieu))
    return _key(m.group(1), m.group(2), m.group(3)) if m else None


def number_only_citations(text: str | None) -> set[str]:
    """Numbers cited as "Quyết định số N" without an issuing code (ambiguous)."""
    return {str(int(m.group(1))) for m in _NUMBER_ONLY.finditer(_nfc(text))}


def is_province(agency: str | None) -> bool:
    return _nfc(agency).strip().casefold().startswith(PROVINCE_PREFIX)


def _same_agency(a: str, b: str) -> bool:
    return re.sub(r"\s+", " ", _nfc(a)).strip().casefold() == re.sub(r"\s+", " ", _nfc(b)).strip().casefold()


@dataclass(frozen=True)
class MinistryDecision:
    so_hieu: str
    published: date
    title: str = ""


@dataclass(frozen=True)
class Row:
    """One row of the national decision list."""

    so_hieu: str
    trich_yeu: str
    agency: str
    published: date
    text: str = ""  # attachment text, when it was read


@dataclass(frozen=True)
class Ambiguous:
    ministry: str  # the ministry decision's số hiệu
    row: str  # the provincial row: "số hiệu | agency"
    reason: str


@dataclass
class DecisionComparison:
    """One ministry decision: each province's lag in days (its first announcing row), ours beside them."""

    so_hieu: str
    published: date
    title: str
    lags: dict[str, int] = field(default_factory=dict)  # the other provinces
    ours: int | None = None  # None: not (yet) published on the national list

    @property
    def announced(self) -> int:
        """Provinces (of 34, ours included) that have announced it."""
        return len(self.lags) + (self.ours is not None)

    @property
    def median(self) -> float | None:
        """Median lag of the other provinces that announced it."""
        return statistics.median(self.lags.values()) if self.lags else None

    @property
    def fastest(self) -> tuple[str, int] | None:
        """(province, lag) of the fastest other province (ties: by name)."""
        return min(self.lags.items(), key=lambda kv: (kv[1], kv[0])) if self.lags else None


@dataclass
class ProvinceComparison:
    own_agency: str
    decisions: list[DecisionComparison]
    ambiguous: list[Ambiguous]

    @property
    def our_median(self) -> float | None:
        ours = [d.ours for d in self.decisions if d.ours is not None]
        return statistics.median(ours) if ours else None

    @property
    def median(self) -> float | None:
        """Median of every other province's lag over every decision."""
        lags = [lag for d in self.decisions for lag in d.lags.values()]
        return statistics.median(lags) if lags else None

    @property
    def fastest(self) -> tuple[str, int] | None:
        """The fastest other province overall: lowest median lag (ties: more decisions announced, name)."""
        per: dict[str, list[int]] = {}
        for d in self.decisions:
            for province, lag in d.lags.items():
                per.setdefault(province, []).append(lag)
        if not per:
            return None
        name, lags = min(per.items(), key=lambda kv: (statistics.median(kv[1]), -len(kv[1]), kv[0]))
        return name, round(statistics.median(lags))

    @property
    def announced(self) -> int:
        """Provinces (of 34, ours included) that announced at least one of the decisions."""
        others = {p for d in self.decisions for p in d.lags}
        return len(others) + any(d.ours is not None for d in self.decisions)

    @property
    def our_count(self) -> int:
        return sum(d.ours is not None for d in self.decisions)


def compare_provinces(ministry: Iterable[MinistryDecision], rows: Iterable[Row], own_agency: str,
                      ours: Mapping[str, date] | None = None) -> ProvinceComparison:
    """Match provincial rows to the ministry decisions (rules in the module docstring). ``ours``: the date
    our own province's announcement of each ministry decision (by its số hiệu) appeared on the list."""
    decisions = sorted(ministry, key=lambda m: (m.published, m.so_hieu))
    by_key: dict[str, list[MinistryDecision]] = {}
    by_number: dict[str, list[MinistryDecision]] = {}
    for m in decisions:
        key = so_hieu_key(m.so_hieu)
        if key is None:
            continue
        by_key.setdefault(key, []).append(m)
        by_number.setdefault(key.split("/")[0], []).append(m)
    index = {id(m): i for i, m in enumerate(decisions)}
    first: dict[tuple[int, str], date] = {}  # (ministry decision's index, province) → first matching row's date
    ambiguous: list[Ambiguous] = []
    for row in rows:
        if not is_province(row.agency) or _same_agency(row.agency, own_agency):
            continue
        label = f"{row.so_hieu} | {row.agency}"
        own_key = so_hieu_key(row.so_hieu)
        text = f"{row.trich_yeu}\n{row.text}"
        keys = ({own_key} if own_key in by_key else set()) | (citations(text) & set(by_key))
        numbers = number_only_citations(text) & set(by_number)
        for number in sorted(numbers):
            for m in by_number[number]:
                ambiguous.append(Ambiguous(m.so_hieu, label, "trích dẫn số quyết định không có ký hiệu"))
        for key in sorted(keys):
            candidates = [m for m in by_key[key] if m.published <= row.published]
            if not candidates:
                for m in by_key[key]:
                    ambiguous.append(Ambiguous(m.so_hieu, label, "công bố trước ngày quyết định của Bộ"))
                continue
            latest = max(c.published for c in candidates)
            chosen = [c for c in candidates if c.published == latest]
            if len(chosen) > 1:
                for m in chosen:
                    ambiguous.append(Ambiguous(m.so_hieu, label, "khớp nhiều quyết định của Bộ cùng số hiệu"))
                continue
            pair = (index[id(chosen[0])], _nfc(row.agency).strip())
            if pair not in first or row.published < first[pair]:
                first[pair] = row.published
    ours = ours or {}
    out = []
    for i, m in enumerate(decisions):
        lags = {province: (day - m.published).days for (n, province), day in first.items() if n == i}
        our_day = ours.get(m.so_hieu)
        out.append(DecisionComparison(m.so_hieu, m.published, m.title, dict(sorted(lags.items())),
                                      (our_day - m.published).days if our_day is not None else None))
    return ProvinceComparison(own_agency, out, ambiguous)
