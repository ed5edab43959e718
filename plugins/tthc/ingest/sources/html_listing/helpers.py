"""Parsing of a configured site's listing and detail pages (pure functions, no network).

All text is NFC, entity-decoded and whitespace-collapsed (:func:`tthc.core.text.clean`); all URLs are
absolute http(s) URLs (any other link is dropped: :func:`tthc.ingest.sources.pages.http_link`). A page
without the configured structure raises :class:`LayoutChangedError` naming the site and the selector: a
layout change must fail the run, never read as "no new decisions". Whether a listing page arrived whole
and has its pager is reported on the :class:`ListingPage`, for the client to decide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from bs4 import BeautifulSoup, Tag

from tthc.core.http import LayoutChangedError
from tthc.core.text import clean, match_key, strip_accents
from tthc.ingest.sources.html_listing.config import AttachmentSpec, FieldSpec, FilterConfig, SiteConfig
from tthc.ingest.sources.pages import decode_page, http_link, is_whole


@dataclass(frozen=True)
class Attachment:
    url: str  # absolute
    label: str  # the link's text (the file name when the link has no text)
    filename: str | None  # last segment of the URL's path, when it looks like a file name


@dataclass(frozen=True)
class ListingRow:
    so_hieu: str
    signed: date | None
    effective: date | None
    trich_yeu: str
    detail_url: str | None
    attachments: list[Attachment] = field(default_factory=list)
    matches_filter: bool = True
    agency: str | None = None  # the site's default agency (SiteConfig.agency)


@dataclass
class ListingPage:
    rows: list[ListingRow] = field(default_factory=list)
    next_url: str | None = None
    whole: bool = True  # False: the page was cut short (no end marker); its last row, maybe cut, is dropped
    pager: bool = True  # False: the configured pager_selector is not on the page
    bad_next: str | None = None  # a "next" link that is there but cannot be followed (not http(s))


@dataclass(frozen=True)
class AnnexItem:
    """One procedure of a decision's annex (same shape as the ministry_site source's AnnexItem)."""

    code: str | None
    name: str
    change_type: str  # new | amended | replaced | abolished
    levels: tuple[str, ...]
    field_name: str | None
    replaces: str | None


@dataclass(frozen=True)
class DetailPage:
    url: str
    title: str | None = None
    so_hieu: str | None = None
    signed: date | None = None
    effective: date | None = None
    agency: str | None = None  # the page's issuing agency, else SiteConfig.agency
    document_type: str | None = None
    signer: str | None = None
    summary: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    annex: list[AnnexItem] = field(default_factory=list)


# ----------------------------------------------------------------------------------- basics


def soup_of(html: str | bytes) -> BeautifulSoup:
    """Parse a page (:func:`tthc.ingest.sources.pages.soup_of`)."""
    return BeautifulSoup(decode_page(html), "lxml")


@lru_cache(maxsize=64)
def _folded_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(strip_accents(pattern), re.IGNORECASE)


def matches_filter(trich_yeu: str, flt: FilterConfig) -> bool:
    """True when the trích yếu matches the regex (if any) and holds every keyword (if any)."""
    if flt.trich_yeu_regex is not None:
        if not _folded_regex(flt.trich_yeu_regex.pattern).search(strip_accents(clean(trich_yeu))):
            return False
    if flt.keywords:
        text = f" {strip_accents(match_key(trich_yeu))} "
        if not all(f" {strip_accents(match_key(k))} " in text for k in flt.keywords):
            return False
    return True


def _value(node: Tag, spec: FieldSpec, *, link: bool = False) -> str | None:
    """The cleaned value at ``spec`` under ``node``; None when absent or empty. A ``link`` (an href) is
    only stripped: its entities were decoded by the parser, decoding again would change the URL."""
    el = node.select_one(spec.selector)
    if el is None:
        return None
    if spec.attr:
        raw = el.get(spec.attr)
        raw = " ".join(raw) if isinstance(raw, list) else raw
        value = (raw or "").strip() if link else clean(raw)
    else:
        value = clean(el.get_text())
    if spec.regex is not None and value:
        m = spec.regex.search(value)
        if m is None:
            return None
        value = m.group(1) if m.re.groups else m.group(0)
        value = (value or "").strip() if link else clean(value)
    return value or None


def _date(cfg: SiteConfig, spec: FieldSpec, text: str | None, where: str) -> date | None:
    if not text:
        return None
    formats = spec.date_formats or cfg.date_formats
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise LayoutChangedError(f"{cfg.name}: {where}: unexpected date {text!r} at '{spec.selector}' "
                             f"(expected {' or '.join(formats)}; layout changed?)")


def _filename(url: str) -> str | None:
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    return name if "." in name.strip(".") else None


def _attachments(node: Tag, spec: AttachmentSpec | None, base_url: str) -> list[Attachment]:
    if spec is None:
        return []
    out: list[Attachment] = []
    seen: set[str] = set()
    for el in node.select(spec.selector):
        url = http_link(base_url, el.get(spec.attr))
        if url is None or url in seen:
            continue  # no link, a fragment, javascript:, data:, file:, mailto:... never downloaded
        seen.add(url)
        filename = _filename(url)
        out.append(Attachment(url=url, label=clean(el.get_text()) or filename or url, filename=filename))
    return out


# ----------------------------------------------------------------------------------- listing


def with_page(url: str, param: str, page: int) -> str:
    """``url`` with its query parameter ``param`` set to ``page`` (other parameters kept in order)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != param]
    query.append((param, str(page)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def first_listing_url(cfg: SiteConfig, base_url: str | None = None) -> str:
    """URL of the listing's first (newest) page."""
    base = (base_url or cfg.base_url or "").rstrip("/")
    if not base:
        raise ValueError(f"{cfg.name}: no base URL (set base_url in {cfg.source_file} or pass one)")
    url = base + cfg.listing.path
    if cfg.listing.page_param:
        url = with_page(url, cfg.listing.page_param, cfg.listing.first_page)
    return url


def _current_page(cfg: SiteConfig, page_url: str) -> int:
    param = cfg.listing.page_param
    for k, v in parse_qsl(urlsplit(page_url).query):
        if k == param and v.isdigit():
            return int(v)
    return cfg.listing.first_page


def _next_url(soup: BeautifulSoup, cfg: SiteConfig, page_url: str) -> tuple[str | None, str | None]:
    """(URL of the next page or None on the last page, a "next" link that cannot be followed)."""
    lst = cfg.listing
    if lst.next_selector:
        link = soup.select_one(lst.next_selector)
        raw = link.get("href") if link is not None else None
        href = raw.strip() if isinstance(raw, str) else ""
        if not href or href.startswith("#") or href.lower().startswith("javascript:"):
            return None, None  # no link, or a disabled one: the last page
        if lst.page_param:
            return with_page(page_url, lst.page_param, _current_page(cfg, page_url) + 1), None
        url = http_link(page_url, href)
        return (url, None) if url is not None else (None, href[:200])
    if lst.page_param:
        return with_page(page_url, lst.page_param, _current_page(cfg, page_url) + 1), None
    return None, None


def parse_listing(html: str | bytes, cfg: SiteConfig, page_url: str, *, allow_empty: bool = False,
                  check_end: bool = False) -> ListingPage:
    """The rows of one listing page and the URL of the next page (None on the last page).

    A page without rows raises LayoutChangedError unless ``allow_empty`` (the client allows it past the
    first page of a ``page_param``-only listing, where an empty page marks the end). ``check_end`` (a
    whole page as served, not a fragment): a page without ``cfg.end_marker`` at its end was cut short;
    it is marked so and its last row, which may have lost cells or half its text, is dropped.
    """
    text = decode_page(html)
    soup = BeautifulSoup(text, "lxml")
    rows = soup.select(cfg.row)
    if not rows:
        if allow_empty:
            return ListingPage(whole=not check_end or is_whole(text, cfg.end_marker))
        raise LayoutChangedError(f"{cfg.name}: listing {page_url} has no rows matching '{cfg.row}' "
                                 "(layout changed?)")
    next_url, bad_next = _next_url(soup, cfg, page_url)
    page = ListingPage(next_url=next_url, bad_next=bad_next, whole=not check_end or is_whole(text, cfg.end_marker),
                       pager=cfg.listing.pager_selector is None or soup.select_one(cfg.listing.pager_selector)
                       is not None)
    if not page.whole:
        rows = rows[:-1]  # where the page was cut: that row may have lost cells or half its text
    for n, row in enumerate(rows, start=1):
        where = f"listing {page_url} row {n}"
        values: dict[str, str | None] = {}
        for name, spec in cfg.fields.items():
            values[name] = _value(row, spec, link=name == "detail_link")
            if values[name] is None and name in cfg.required:
                raise LayoutChangedError(f"{cfg.name}: {where} has no {name} matching '{spec.selector}'"
                                         f"{f' (attribute {spec.attr})' if spec.attr else ''} (layout changed?)")
        dates = {k: _date(cfg, cfg.fields[k], values.get(k), where) if k in cfg.fields else None
                 for k in ("signed", "effective")}
        link = values.get("detail_link")
        detail_url = http_link(page_url, link) if link else None
        if link and detail_url is None and "detail_link" in cfg.required:  # data:, file:, vbscript:...
            raise LayoutChangedError(f"{cfg.name}: {where}: detail_link {link[:200]!r} at "
                                     f"'{cfg.fields['detail_link'].selector}' is not an http(s) link")
        trich_yeu = values.get("trich_yeu") or ""
        page.rows.append(
            ListingRow(
                so_hieu=values.get("so_hieu") or "",
                signed=dates["signed"],
                effective=dates["effective"],
                trich_yeu=trich_yeu,
                detail_url=detail_url,
                attachments=_attachments(row, cfg.attachments, page_url),
                matches_filter=matches_filter(trich_yeu, cfg.filter),
                agency=cfg.agency,
            )
        )
    return page


# ----------------------------------------------------------------------------------- detail


def _annex(soup: BeautifulSoup, cfg: SiteConfig, url: str) -> list[AnnexItem]:
    annex = cfg.detail.annex if cfg.detail else None
    if annex is None:
        return []
    rows = soup.select(annex.row)
    if not rows and annex.required:
        raise LayoutChangedError(f"{cfg.name}: decision page {url} has no annex rows matching '{annex.row}' "
                                 "(layout changed?)")
    items = []
    for n, row in enumerate(rows, start=1):
        cells = {k: _value(row, spec) for k, spec in annex.cells.items()}
        for name in ("name", "change"):
            if not cells.get(name):
                raise LayoutChangedError(f"{cfg.name}: {url}: annex row {n} has no {name} matching "
                                         f"'{annex.cells[name].selector}' (layout changed?)")
        change = annex.change_labels.get(match_key(cells["change"]))
        if change is None:
            raise LayoutChangedError(f"{cfg.name}: {url}: annex row {n}: unknown change type {cells['change']!r} "
                                     f"at '{annex.cells['change'].selector}' (known: "
                                     f"{', '.join(sorted(annex.change_labels))})")
        levels: list[str] = []
        for label in (cells.get("levels") or "").split(annex.level_separator):
            code = annex.level_labels.get(match_key(label))
            if code and code not in levels:
                levels.append(code)
        items.append(AnnexItem(code=cells.get("code"), name=cells["name"] or "", change_type=change,
                               levels=tuple(levels), field_name=cells.get("field"),
                               replaces=cells.get("replaces")))
    return items


def parse_detail(html: str | bytes, cfg: SiteConfig, url: str) -> DetailPage:
    """A document's detail page: its fields, attachments and (if configured) annex of procedures."""
    if cfg.detail is None:
        raise ValueError(f"{cfg.name}: no 'detail' block in {cfg.source_file}")
    soup = soup_of(html)
    values: dict[str, str | None] = {}
    for name, spec in cfg.detail.fields.items():
        values[name] = _value(soup, spec)
        if values[name] is None and name in cfg.detail.required:
            raise LayoutChangedError(f"{cfg.name}: detail page {url} has no {name} matching '{spec.selector}' "
                                     "(layout changed?)")
    if cfg.detail.fields and all(v is None for v in values.values()) and cfg.detail.annex is None:
        selectors = ", ".join(f"'{s.selector}'" for s in cfg.detail.fields.values())
        raise LayoutChangedError(f"{cfg.name}: detail page {url} matches none of {selectors} (layout changed?)")
    dates = {k: _date(cfg, cfg.detail.fields[k], values.get(k), f"detail page {url}")
             if k in cfg.detail.fields else None for k in ("signed", "effective")}
    return DetailPage(
        url=url,
        title=values.get("title"),
        so_hieu=values.get("so_hieu"),
        signed=dates["signed"],
        effective=dates["effective"],
        agency=values.get("agency") or cfg.agency,
        document_type=values.get("document_type"),
        signer=values.get("signer"),
        summary=values.get("summary"),
        attachments=_attachments(soup, cfg.detail.attachments, url),
        annex=_annex(soup, cfg, url),
    )
