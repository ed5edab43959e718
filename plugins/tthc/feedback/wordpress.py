"""The department website's comments (WordPress ``/wp-json/wp/v2/comments``), as the feedback stage uses them.

Signed in like the CMS channel (the Connection ``tthc_cms``: the login and an Application Password of an
Editor account, HTTP Basic; :class:`tthc.sync.channels.base.HttpJsonClient`, the one documented hand-off
from the sync stage, so both speak to WordPress with the same authentication and error mapping:
401/403 → ``AuthError``, 400/409/422 → ``RejectedError``, 5xx and timeouts → ``ChannelError``).

- :meth:`CommentsClient.held`: the comments waiting for moderation (``status=hold``) on some pages, with
  ``context=edit`` (the raw text and ``author_email``, shown only to a moderator), page by page
  (``X-WP-TotalPages``), at most :data:`PAGE_IDS_PER_REQUEST` pages per request;
- :meth:`CommentsClient.find_reply`: our account's comment under a page and parent carrying a marker
  (how a reply already posted is recognised: WordPress drops unregistered comment meta silently);
- :meth:`CommentsClient.post_reply` (``POST``: never retried by the HTTP layer) and
  :meth:`CommentsClient.moderate` (``PUT``: idempotent).
"""

from __future__ import annotations

from typing import Any

import requests

from tthc.sync.channels.base import HttpJsonClient

COMMENTS = "/wp-json/wp/v2/comments"
USERS_ME = "/wp-json/wp/v2/users/me"
PAGE_IDS_PER_REQUEST = 100
AUTH_HINT = ("reading and answering feedback needs the login and an Application Password of an Editor account "
             "(moderate_comments) in Connection {conn}")


def raw_text(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("raw", value.get("rendered", "")) or "")
    return str(value or "")


class CommentsClient:
    def __init__(self, base_url: str, password: str, *, login: str | None, conn_id: str = "tthc_cms",
                 session: requests.Session | None = None, timeout: float = 30.0) -> None:
        self.http = HttpJsonClient("CMS", base_url, password, session, conn_id, timeout, login=login,
                                   auth_hint=AUTH_HINT.format(conn=conn_id))
        self._me: int | None = None

    def me(self) -> int:
        """The signed-in account's user id (the author of our replies)."""
        if self._me is None:
            self._me = int(self.http.json("GET", USERS_ME)["id"])
        return self._me

    def _pages(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        page = 1
        while True:
            response = self.http.call("GET", COMMENTS, params={**params, "per_page": 100, "page": page})
            try:
                chunk = response.json()
            except ValueError as exc:
                from tthc.sync.channels.base import ChannelError

                raise ChannelError("CMS GET comments: the answer is not JSON") from exc
            out += chunk
            if page >= int(response.headers.get("X-WP-TotalPages", "1") or 1):
                return out
            page += 1

    def held(self, page_ids: list[str]) -> list[dict[str, Any]]:
        """Comments held for moderation on ``page_ids``, oldest first."""
        out: list[dict[str, Any]] = []
        ids = sorted({int(p) for p in page_ids if str(p).isdigit()})
        for i in range(0, len(ids), PAGE_IDS_PER_REQUEST):
            chunk = ",".join(str(p) for p in ids[i:i + PAGE_IDS_PER_REQUEST])
            out += self._pages({"post": chunk, "status": "hold", "context": "edit", "orderby": "id", "order": "asc"})
        return out

    def find_reply(self, page_id: str, parent: str, marker: str) -> dict[str, Any] | None:
        """Our comment under ``page_id`` with ``parent`` (``"0"``: top level) whose text carries ``marker``,
        whatever its status (an editor may have unapproved it)."""
        items = self._pages({"post": page_id, "parent": parent, "author": self.me(), "status": "all",
                             "context": "edit", "orderby": "id", "order": "asc"})
        mine = [c for c in items if marker in raw_text(c.get("content"))]
        return mine[0] if mine else None

    def post_reply(self, page_id: str, parent: str, content: str) -> dict[str, Any]:
        body: dict[str, Any] = {"post": int(page_id), "content": content, "status": "approved"}
        if parent and parent != "0":
            body["parent"] = int(parent)
        return self.http.json("POST", COMMENTS, json=body)

    def moderate(self, comment_id: str, *, content: str, author_name: str) -> dict[str, Any]:
        """Approve a visitor's comment showing only ``content`` under ``author_name`` (PUT: idempotent)."""
        return self.http.json("PUT", f"{COMMENTS}/{comment_id}",
                              json={"status": "approved", "content": content, "author_name": author_name})
