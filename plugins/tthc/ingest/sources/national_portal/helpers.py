"""Parsing of the national portal's answers into typed records (pure functions, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from tthc.core.http import LayoutChangedError
from tthc.core.text import clean

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
    total: int

    @property
    def position(self) -> tuple[date, int]:
        """Order key (publishing date, numeric id): the watermark compares with this."""
        return (self.published, int(self.id))


@dataclass(frozen=True)
class PortalItem:
    id: str
    name: str
    change_type: str
    total: int


def parse_portal_date(value: str) -> date:
    """The portal writes dates as ``dd-mm-yyyy``."""
    try:
        return datetime.strptime(clean(value), "%d-%m-%Y").date()
    except ValueError as exc:
        raise LayoutChangedError(f"national portal: unexpected date {value!r} (expected dd-mm-yyyy)") from exc


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


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def parse_decision_list(payload: Any) -> list[PortalDecision]:
    rows = _rows(payload, "decision list", LIST_KEYS)
    return [
        PortalDecision(
            id=clean(r["ID"]),
            so_hieu=clean(r["CODE"]),
            trich_yeu=clean(r["NAME"]),
            published=parse_portal_date(r["PUBLISHING_DATE"]),
            agency_name=clean(r["AGENCY_NAME"]),
            agency_id=clean(r.get("AGENCY_ID")) or None,
            total=_int(r.get("AMOUNT")),
        )
        for r in rows
    ]


def parse_items(payload: Any, change_type: str) -> list[PortalItem]:
    rows = _rows(payload, f"{change_type} procedures", ITEM_KEYS)
    return [
        PortalItem(id=clean(r["ID"]), name=clean(r["PROCEDURE_NAME"]), change_type=change_type, total=_int(r.get("AMOUNT")))
        for r in rows
    ]


def parse_fields(payload: Any) -> list[tuple[str, str]]:
    rows = _rows(payload, "fields", ("ID", "NAME"))
    return [(clean(r["ID"]), clean(r["NAME"])) for r in rows]


@dataclass(frozen=True)
class PortalDecisionPage:
    """Metadata of a decision's public page (``table.table-info-row`` of key/value cells)."""

    so_hieu: str
    signed: date | None
    agency_name: str | None
    attachments: tuple[str, ...]


def parse_detail_page(html: str | bytes, url: str = "") -> PortalDecisionPage:
    from urllib.parse import urljoin

    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "lxml")
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
    attachments = tuple(urljoin(url, str(a["href"])) for a in files.select("a[href]")) if files is not None else ()
    return PortalDecisionPage(
        so_hieu=clean(values["Số quyết định"].get_text()),
        signed=parse_portal_date(signed_text) if signed_text else None,
        agency_name=clean(agency_cell.get_text()) if agency_cell is not None else None,
        attachments=attachments,
    )
