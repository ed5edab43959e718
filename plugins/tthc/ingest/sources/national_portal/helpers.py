"""Parsing of the national portal's answers into typed records (pure functions, no I/O).

The portal's JSON values are strings; a value of another type (a list, an object, ``true``) or an ``ID``
that is not a number is a :class:`LayoutChangedError` naming the service, the row and the key: the parsers
never let a ``ValueError`` or a ``RecursionError`` (deeply nested JSON) through, and what they return is
usable as it is (numeric ids, NFC text, dates, absolute http(s) links).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from tthc.core.http import LayoutChangedError
from tthc.core.text import clean
from tthc.ingest.sources.pages import http_link, soup_of

LIST_KEYS = ("ID", "CODE", "NAME", "PUBLISHING_DATE", "AGENCY_NAME")
ITEM_KEYS = ("ID", "PROCEDURE_NAME")


@dataclass(frozen=True)
class PortalDecision:
    id: str
    so_hieu: str
    trich_yeu: str
    published: date
    agency_name: str
    agency_id: str | None
    total: int | None  # AMOUNT, the number of rows of the whole list; None when missing or unreadable

    @property
    def position(self) -> tuple[date, int]:
        """Order key (publishing date, numeric id): the watermark compares with this."""
        return (self.published, int(self.id))


@dataclass(frozen=True)
class PortalItem:
    id: str
    name: str
    change_type: str
    total: int | None  # AMOUNT (rows of the group); None when missing or unreadable


_ID = re.compile(r"^[0-9]{1,18}$")
_AMOUNT = re.compile(r"^[0-9]{1,9}$")


def parse_portal_date(value: object) -> date:
    """The portal writes dates as ``dd-mm-yyyy``."""
    try:
        if not isinstance(value, str):
            raise ValueError("not a string")
        return datetime.strptime(clean(value), "%d-%m-%Y").date()
    except ValueError as exc:
        shown = repr(value[:40]) if isinstance(value, str) else f"a {type(value).__name__}"
        raise LayoutChangedError(f"national portal: unexpected date {shown} (expected dd-mm-yyyy)") from exc


def _rows(payload: Any, service: str, required: tuple[str, ...]) -> list[dict[str, Any]]:
    if not isinstance(payload, list):
        raise LayoutChangedError(f"national portal {service}: expected a JSON array, got {type(payload).__name__}")
    for i, row in enumerate(payload):
        if not isinstance(row, dict):
            raise LayoutChangedError(f"national portal {service}: row {i} is not an object")
        missing = [k for k in required if k not in row]
        if missing:
            raise LayoutChangedError(f"national portal {service}: row {i} lacks {missing}")
    return payload


def _text(row: dict[str, Any], key: str, service: str, i: int) -> str:
    """A value as cleaned text: the portal sends strings (numbers accepted), never lists or objects."""
    value = row.get(key)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise LayoutChangedError(f"national portal {service}: row {i}: {key} is a {type(value).__name__}, "
                                 "expected a string")
    return clean(value)


def _id(row: dict[str, Any], key: str, service: str, i: int) -> str:
    value = _text(row, key, service, i)
    if not _ID.match(value):
        raise LayoutChangedError(f"national portal {service}: row {i}: {key} {value[:40]!r} is not a number")
    return value


def _amount(row: dict[str, Any]) -> int | None:
    """AMOUNT as a count, or None when it is missing or not a count (never read as 0)."""
    value = row.get("AMOUNT")
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = clean(value)
    return int(text) if _AMOUNT.match(text) else None


def _date(row: dict[str, Any], key: str, service: str, i: int) -> date:
    try:
        return parse_portal_date(row.get(key))
    except LayoutChangedError as exc:
        raise LayoutChangedError(f"national portal {service}: row {i}: {key}: {exc}") from None


def parse_decision_list(payload: Any) -> list[PortalDecision]:
    service = "decision list"
    rows = _rows(payload, service, LIST_KEYS)
    return [
        PortalDecision(
            id=_id(r, "ID", service, i),
            so_hieu=_text(r, "CODE", service, i),
            trich_yeu=_text(r, "NAME", service, i),
            published=_date(r, "PUBLISHING_DATE", service, i),
            agency_name=_text(r, "AGENCY_NAME", service, i),
            agency_id=_text(r, "AGENCY_ID", service, i) or None,
            total=_amount(r),
        )
        for i, r in enumerate(rows)
    ]


def parse_items(payload: Any, change_type: str) -> list[PortalItem]:
    service = f"{change_type} procedures"
    rows = _rows(payload, service, ITEM_KEYS)
    return [
        PortalItem(id=_text(r, "ID", service, i), name=_text(r, "PROCEDURE_NAME", service, i),
                   change_type=change_type, total=_amount(r))
        for i, r in enumerate(rows)
    ]


def parse_agencies(payload: Any) -> list[tuple[str, str]]:
    """``get_list_agency_service_v2``: (agency id, name); the ids are the decision list's ``AGENCY_ID``
    (the captured answers agree: Bộ Khoa học và Công nghệ is 734 in both)."""
    service = "agencies"
    rows = _rows(payload, service, ("ID",))
    return [(_id(r, "ID", service, i), _text(r, "NAME", service, i) or _text(r, "AGENCY_NAME", service, i))
            for i, r in enumerate(rows)]


def parse_fields(payload: Any) -> list[tuple[str, str]]:
    service = "fields"
    rows = _rows(payload, service, ("ID", "NAME"))
    return [(_text(r, "ID", service, i), _text(r, "NAME", service, i)) for i, r in enumerate(rows)]


@dataclass(frozen=True)
class PortalDecisionPage:
    """Metadata of a decision's public page (``table.table-info-row`` of key/value cells)."""

    so_hieu: str
    signed: date | None
    agency_name: str | None
    attachments: tuple[str, ...]


def parse_detail_page(html: str | bytes, url: str = "") -> PortalDecisionPage:
    """The page's metadata; attachment links other than absolute http(s) URLs are dropped."""
    soup = soup_of(html)
    table = soup.select_one("table.table-info-row")
    if table is None:
        raise LayoutChangedError(f"national portal decision page {url}: no 'table.table-info-row' (layout changed?)")
    values: dict[str, Any] = {}
    for row in table.select("tr"):
        key, value = row.select_one("td.key"), row.select_one("td.value")
        if key is not None and value is not None:
            values[clean(key.get_text())] = value
    if "Số quyết định" not in values:
        raise LayoutChangedError(f"national portal decision page {url}: no 'Số quyết định' row")
    signed_cell = values.get("Ngày quyết định")
    signed_text = clean(signed_cell.get_text()) if signed_cell is not None else ""
    agency_cell = values.get("Cơ quan ban hành")
    files = values.get("File đính kèm")
    links = [http_link(url, a.get("href")) for a in files.select("a[href]")] if files is not None else []
    attachments = tuple(dict.fromkeys(link for link in links if link is not None))
    return PortalDecisionPage(
        so_hieu=clean(values["Số quyết định"].get_text()),
        signed=parse_portal_date(signed_text) if signed_text else None,
        agency_name=clean(agency_cell.get_text()) if agency_cell is not None else None,
        attachments=attachments,
    )
