"""Live client of a configured HTML listing site (one :class:`SiteConfig` per site)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import requests

from tthc.core.http import DEFAULT_TIMEOUT, SnapshotRecorder, SourceError, fetch, make_session
from tthc.ingest.sources.html_listing.config import SiteConfig
from tthc.ingest.sources.html_listing.helpers import (
    DetailPage,
    ListingRow,
    first_listing_url,
    parse_detail,
    parse_listing,
)

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

    def listing(self) -> Iterator[ListingRow]:
        """Rows of the listing, newest first, page after page, at most ``listing.max_pages`` pages
        (the caller stops when it has enough)."""
        lst = self.cfg.listing
        url: str | None = first_listing_url(self.cfg, self.base_url)
        pages = 0
        seen: set[tuple[str, ...]] = set()
        while url and pages < lst.max_pages:
            # Past the first page of a page_param-only listing, an empty page is the end of the listing.
            allow_empty = pages > 0 and lst.next_selector is None
            page = parse_listing(self.get(url), self.cfg, url, allow_empty=allow_empty)
            pages += 1
            key = tuple(r.detail_url or r.so_hieu for r in page.rows)
            if not page.rows or key in seen:  # some sites answer the last page for any larger number
                return
            seen.add(key)
            yield from page.rows
            url = page.next_url

    def detail(self, url: str) -> DetailPage:
        return parse_detail(self.get(url), self.cfg, url)
