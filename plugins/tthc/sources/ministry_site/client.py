"""Live client of a ministry website's decision listing (HTML, scraped with BeautifulSoup)."""

from __future__ import annotations

from collections.abc import Iterator

import requests

from tthc.sources.ministry_site import settings
from tthc.sources.ministry_site.helpers import AnnexItem, ListingRow, parse_annex, parse_listing
from tthc.sources.web import DEFAULT_TIMEOUT, SnapshotRecorder, SourceError, make_session


class MinistrySiteClient:
    def __init__(self, base_url: str, session: requests.Session | None = None,
                 recorder: SnapshotRecorder | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session or make_session()
        self.recorder = recorder
        self.requests_made = 0

    def get(self, url: str) -> bytes:
        self.requests_made += 1
        try:
            response = self.session.get(url, timeout=DEFAULT_TIMEOUT)
        except requests.RequestException as exc:
            raise SourceError(f"ministry site {url}: {exc}") from exc
        if response.status_code != 200:
            raise SourceError(f"ministry site {url}: HTTP {response.status_code}")
        if self.recorder is not None:
            self.recorder.record(url, None, response)
        return response.content

    def listing(self) -> Iterator[ListingRow]:
        """Rows of the listing, newest first, page after page (the caller stops when it has enough)."""
        url: str | None = self.base_url + settings.LISTING_PATH
        pages = 0
        while url and pages < settings.MAX_PAGES:
            page = parse_listing(self.get(url), url)
            pages += 1
            yield from page.rows
            url = page.next_url

    def annex(self, detail_url: str) -> tuple[list[AnnexItem], list[str]]:
        return parse_annex(self.get(detail_url), detail_url)
