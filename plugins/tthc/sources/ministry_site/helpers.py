"""Parsing of the ministry website's HTML (pure functions). A page without the expected structure
raises :class:`LayoutChangedError` naming the site and the selector, never returns "nothing"."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from urllib.parse import urljoin

from bs4 import BeautifulSoup, Tag

from tthc.sources.ministry_site import settings as s
from tthc.sources.web import LayoutChangedError
from tthc.text import clean

SITE = "ministry_site"


@dataclass(frozen=True)
class ListingRow:
    so_hieu: str
    signed: date | None
    effective: date | None
    trich_yeu: str
    detail_url: str


@dataclass(frozen=True)
class AnnexItem:
    code: str | None
    name: str
    change_type: str
    levels: tuple[str, ...]
    field_name: str | None
    replaces: str | None


@dataclass
class ListingPage:
    rows: list[ListingRow] = field(default_factory=list)
    next_url: str | None = None


def _date(text: str) -> date | None:
    text = clean(text)
    if not text:
        return None
    try:
        return datetime.strptime(text, s.DATE_FORMAT).date()
    except ValueError as exc:
        raise LayoutChangedError(f"{SITE}: unexpected date {text!r} (expected {s.DATE_FORMAT})") from exc


def _required(node: Tag, selector: str, what: str) -> Tag:
    found = node.select_one(selector)
    if found is None:
        raise LayoutChangedError(f"{SITE}: {what} has no element matching '{selector}' (layout changed?)")
    return found


def parse_listing(html: str | bytes, base_url: str) -> ListingPage:
    soup = BeautifulSoup(html, "lxml")
    rows = soup.select(s.ROW)
    if not rows:
        raise LayoutChangedError(f"{SITE}: listing {base_url} has no rows matching '{s.ROW}' (layout changed?)")
    page = ListingPage()
    for row in rows:
        link = _required(row, s.ROW_SO_HIEU, "a listing row")
        page.rows.append(
            ListingRow(
                so_hieu=clean(link.get_text()),
                signed=_date(_required(row, s.ROW_SIGNED, "a listing row").get_text()),
                effective=_date(_required(row, s.ROW_EFFECTIVE, "a listing row").get_text()),
                trich_yeu=clean(_required(row, s.ROW_TRICH_YEU, "a listing row").get_text()),
                detail_url=urljoin(base_url, str(link.get("href") or "")),
            )
        )
    nxt = soup.select_one(s.NEXT_PAGE)
    if nxt is not None and nxt.get("href"):
        page.next_url = urljoin(base_url, str(nxt["href"]))
    return page


def parse_annex(html: str | bytes, url: str) -> tuple[list[AnnexItem], list[str]]:
    """The annex items and attachment URLs of a decision's detail page."""
    soup = BeautifulSoup(html, "lxml")
    rows = soup.select(s.ANNEX_ROW)
    if not rows:
        raise LayoutChangedError(f"{SITE}: decision page {url} has no annex rows matching '{s.ANNEX_ROW}'")
    items = []
    for row in rows:
        cells = {k: clean(_required(row, sel, "an annex row").get_text()) for k, sel in s.ANNEX_CELLS.items()}
        change = s.CHANGE_LABELS.get(cells["change"].lower())
        if change is None:
            raise LayoutChangedError(f"{SITE}: {url}: unknown change type {cells['change']!r}")
        levels = tuple(
            s.LEVEL_LABELS[lv.strip().lower()] for lv in cells["levels"].split(";") if lv.strip().lower() in s.LEVEL_LABELS
        )
        items.append(
            AnnexItem(
                code=cells["code"] or None,
                name=cells["name"],
                change_type=change,
                levels=levels,
                field_name=cells["field"] or None,
                replaces=cells["replaces"] or None,
            )
        )
    attachments = [urljoin(url, str(a.get("href"))) for a in soup.select(s.ATTACHMENT) if a.get("href")]
    return items, attachments
