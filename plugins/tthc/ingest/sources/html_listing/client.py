"""Live client of a configured HTML listing site (one :class:`SiteConfig` per site)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import requests

from tthc.core.http import (
    DEFAULT_TIMEOUT,
    IncompleteAnswerError,
    SnapshotRecorder,
    SourceError,
    fetch,
    make_session,
)
from tthc.ingest.sources.html_listing.config import HARD_MAX_PAGES, SiteConfig
from tthc.ingest.sources.html_listing.helpers import (
    DetailPage,
    ListingRow,
    first_listing_url,
    parse_detail,
    parse_listing,
)
from tthc.ingest.sources.pages import decode_page, is_whole

_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=", re.IGNORECASE)


def resolve_base_url(cfg: SiteConfig) -> str:
    """The site's URL at run time: the Airflow connection ``cfg.conn_id`` when it is configured,
    else ``cfg.base_url``."""
    if cfg.conn_id:
        from tthc.core.config import get_endpoint

        try:
            return get_endpoint(cfg.conn_id).base_url
        except LookupError:
            if not cfg.base_url:
                raise
    if not cfg.base_url:
        raise ValueError(f"{cfg.name}: no base_url and no conn_id in {cfg.source_file}")
    return cfg.base_url


class HtmlListingClient:
    def __init__(self, cfg: SiteConfig, base_url: str | None = None, session: requests.Session | None = None,
                 recorder: SnapshotRecorder | None = None) -> None:
        self.cfg = cfg
        self.base_url = (base_url or cfg.base_url or "").rstrip("/")
        if not self.base_url:
            raise ValueError(f"{cfg.name}: no base URL (pass base_url, or use resolve_base_url(cfg))")
        self.session = session or make_session()
        self.recorder = recorder
        self.requests_made = 0
        # why the last listing() ended before the end of the listing was proven (None: it was, or the
        # caller stopped reading first): max_pages reached, a page cut short or without its pager, a
        # page repeating an earlier one, a "next" link that cannot be followed
        self.incomplete_reason: str | None = None

    def _decode(self, response: requests.Response) -> str | bytes:
        """The page's text: the configured encoding, else the server's charset, else the page's own
        <meta charset> (left to the parser), else a guess from the bytes."""
        if self.cfg.encoding:
            return response.content.decode(self.cfg.encoding, errors="replace")
        if "charset=" in (response.headers.get("Content-Type") or "").lower():
            return response.text
        if _META_CHARSET.search(response.content[:4096]):
            return response.content
        return response.content.decode(response.apparent_encoding or "utf-8", errors="replace")

    def get(self, url: str) -> str | bytes:
        self.requests_made += 1
        response = fetch(self.session, "GET", url, what=f"{self.cfg.name} {url}", recorder=self.recorder,
                         timeout=DEFAULT_TIMEOUT)
        try:
            return self._decode(response)
        except (LookupError, UnicodeError) as exc:
            raise SourceError(f"{self.cfg.name} {url}: cannot decode the page: {exc}") from exc

    def _forget(self, url: str) -> None:
        """Drop a page cut short from the HTTP cache: its validators must not bring it back next run."""
        forget = getattr(getattr(self.session, "cache", None), "forget", None)
        if forget is not None:
            forget(url)

    def listing(self) -> Iterator[ListingRow]:
        """Rows of the listing, newest first, page after page, at most ``listing.max_pages`` pages
        (the caller stops when it has enough).

        When the rows run out before the caller has enough, :attr:`incomplete_reason` says whether the
        listing really ended (None: a last page, whole, with its pager and no "next" link, or an empty
        page) or why the end could not be proven; a page repeating an earlier one stops the loop.
        """
        self.incomplete_reason = None
        lst = self.cfg.listing
        name = self.cfg.name
        url: str | None = first_listing_url(self.cfg, self.base_url)
        pages = 0
        seen: dict[tuple[str, ...], int] = {}
        while url:
            if pages >= min(lst.max_pages, HARD_MAX_PAGES):
                self.incomplete_reason = (f"{name}: listing.max_pages ({lst.max_pages}) reached: page {pages + 1} "
                                          f"({url}) not read")
                return
            # Past the first page of a page_param-only listing, an empty page is the end of the listing.
            allow_empty = pages > 0 and lst.next_selector is None
            page = parse_listing(self.get(url), self.cfg, url, allow_empty=allow_empty, check_end=True)
            pages += 1
            where = f"page {pages} ({url})"
            if not page.whole:
                self._forget(url)
                yield from page.rows  # what arrived whole is real; the run goes on no further
                self.incomplete_reason = f"{name}: {where} was truncated (no {self.cfg.end_marker!r} at its end)"
                return
            if not page.rows:
                return  # the end of a page_param-only listing
            key = tuple(r.detail_url or r.so_hieu for r in page.rows)
            if key in seen:  # e.g. a site answering its last page (or page 1) for any larger number
                self.incomplete_reason = f"{name}: {where} repeats page {seen[key]}"
                return
            seen[key] = pages
            yield from page.rows
            if not page.pager:
                self.incomplete_reason = (f"{name}: {where} has no pager '{lst.pager_selector}' "
                                          "(cut short? the run cannot tell whether it was the last page)")
                return
            if page.bad_next is not None:
                self.incomplete_reason = f"{name}: {where}: its next link {page.bad_next!r} is not an http(s) link"
                return
            url = page.next_url

    def detail(self, url: str) -> DetailPage:
        """A decision's page; :class:`IncompleteAnswerError` when it was cut short (its annex may be too)."""
        page = decode_page(self.get(url))
        if not is_whole(page, self.cfg.end_marker):
            self._forget(url)
            raise IncompleteAnswerError(f"{self.cfg.name}: decision page {url} was truncated "
                                        f"(no {self.cfg.end_marker!r} at its end)")
        return parse_detail(page, self.cfg, url)
