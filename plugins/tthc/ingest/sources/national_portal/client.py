"""Clients of the national portal API: the abstract interface and the live HTTP implementation.

The live client talks to the real portal in production and to the bundled sandbox in the demo and
tests: both speak the same wire format (``POST /jsp/rest.jsp``, form field ``params=<JSON>``).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import Any

import requests

from tthc.core.http import (
    DEFAULT_TIMEOUT,
    IncompleteAnswerError,
    SnapshotRecorder,
    SourceError,
    fetch,
    make_session,
)
from tthc.ingest.sources.national_portal import settings
from tthc.ingest.sources.national_portal.helpers import (
    PortalDecision,
    PortalDecisionPage,
    PortalItem,
    parse_agencies,
    parse_decision_list,
    parse_detail_page,
    parse_fields,
    parse_items,
)
from tthc.ingest.sources.pages import decode_page, is_whole


class PortalClient(ABC):
    """What the ingest needs from the national portal."""

    @abstractmethod
    def call(self, service: str, **params: Any) -> Any:
        """One ``rest.jsp`` service call; returns the decoded JSON answer."""

    def list_decisions(self, page: int, page_size: int | None = None, agency_id: str = "-1") -> list[PortalDecision]:
        """One page of the decision list, newest first; ``agency_id``: one agency's decisions only (the
        search form's agency filter, ids of :meth:`agencies`)."""
        payload = self.call(
            settings.SERVICE_LIST, type="ref", recordPerPage=page_size or settings.PAGE_SIZE, pageIndex=page,
            keyword="", agency_id=agency_id, field_id="-1", publishing_date="",
        )
        return parse_decision_list(payload)

    def agencies(self) -> list[tuple[str, str]]:
        """(id, name) of the agencies that publish decisions (ministries, provincial People's Committees)."""
        return parse_agencies(self.call(settings.SERVICE_AGENCIES))

    def decision_fields(self, dp_id: str) -> list[tuple[str, str]]:
        return parse_fields(self.call(settings.SERVICE_FIELDS, dp_id=dp_id))

    @abstractmethod
    def decision_page(self, dp_id: str) -> PortalDecisionPage:
        """The decision's public page (metadata table, attachments)."""

    def decision_items(self, dp_id: str) -> list[PortalItem]:
        """All items of a decision, every group, every page.

        A group ends at an empty page, or once AMOUNT rows were read (a short page does not end it then:
        the portal may serve fewer rows than asked); without a readable AMOUNT, at a page shorter than
        asked. A missing AMOUNT is never read as 0. A page repeating an
        earlier one, or more than ``MAX_ITEM_PAGES`` pages, raise :class:`IncompleteAnswerError`: the
        decision's items cannot be known in full, so none of them may be stored as if they were.
        """
        items: list[PortalItem] = []
        for service, change_type in settings.SERVICE_ITEMS.items():
            size, read, seen = settings.ITEM_PAGE_SIZE, 0, {}
            for page in range(1, settings.MAX_ITEM_PAGES + 2):
                if page > settings.MAX_ITEM_PAGES:
                    raise IncompleteAnswerError(
                        f"national portal {service} of decision {dp_id}: more than {settings.MAX_ITEM_PAGES} "
                        "pages (settings.MAX_ITEM_PAGES)")
                rows = parse_items(self.call(service, dp_id=dp_id, recordPerPage=size, pageIndex=page),
                                   change_type)
                key = tuple(r.id for r in rows)
                if rows and key in seen:
                    raise IncompleteAnswerError(
                        f"national portal {service} of decision {dp_id}: page {page} repeats page {seen[key]} "
                        "(pageIndex ignored?)")
                seen[key] = page
                items.extend(rows)
                read += len(rows)
                total = rows[0].total if rows else None
                if not rows or (read >= total if total is not None else len(rows) < size):
                    break
        return items


class HttpPortalClient(PortalClient):
    def __init__(
        self,
        base_url: str,
        session: requests.Session | None = None,
        recorder: SnapshotRecorder | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session or make_session()
        self.recorder = recorder
        self.requests_made = 0

    def call(self, service: str, **params: Any) -> Any:
        body = json.dumps({"service": service, "provider": settings.PROVIDER, **params}, ensure_ascii=False)
        url = self.base_url + settings.REST_PATH
        self.requests_made += 1
        response = fetch(self.session, "POST", url, what=f"national portal {service}", recorder=self.recorder,
                         recorded_request=body, timeout=DEFAULT_TIMEOUT, data={"params": body})
        try:
            return json.loads(response.content.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SourceError(f"national portal {service}: malformed JSON answer ({exc})") from exc

    def decision_page(self, dp_id: str) -> PortalDecisionPage:
        """The page; :class:`IncompleteAnswerError` when it was cut short (its attachment links may be)."""
        url = f"{self.base_url}{settings.DETAIL_PATH}?ma_quyet_dinh={dp_id}"
        self.requests_made += 1
        response = fetch(self.session, "GET", url, what=f"national portal decision page {dp_id}",
                         recorder=self.recorder, timeout=DEFAULT_TIMEOUT)
        page = decode_page(response.content)
        if not is_whole(page):
            forget = getattr(getattr(self.session, "cache", None), "forget", None)
            if forget is not None:
                forget(url)
            raise IncompleteAnswerError(f"national portal decision page {dp_id} ({url}) was truncated "
                                        "(no '</html>' at its end)")
        return parse_detail_page(page, url)
