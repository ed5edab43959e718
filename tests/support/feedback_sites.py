"""The feedback tests' websites (the ``site`` fixture is in tests/feedback/conftest.py): the sandbox's WordPress stand-in and (marker ``wordpress``) a real one.

Both give the same few things: a published page with comments open, a visitor's comment held for
moderation (the site's form: the sandbox's ``visitor_comment``, ``wp_insert_comment`` on WordPress), the
comments as the editor sees them, and a :class:`~tthc.feedback.wordpress.CommentsClient` signed in as the
editor (or another account) counting the requests it sends."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
import requests
from sqlalchemy import select

EDITOR, AUTHOR = "bientap", "tacgia"


@dataclass
class Site:
    name: str
    url: str
    passwords: dict[str, str]
    sandbox: Any = None
    wordpress: Any = None
    sent: list[str] = field(default_factory=list)

    def auth(self, login: str = EDITOR) -> tuple[str, str]:
        return login, self.passwords[login]

    def client(self, login: str = EDITOR):
        from tthc.feedback.wordpress import CommentsClient

        c = CommentsClient(self.url, self.passwords[login], login=login, timeout=60)
        c.http.session.hooks["response"].append(
            lambda r, *a, **k: self.sent.append(f"{r.request.method} {r.request.path_url.split('?')[0]}"))
        return c

    def page(self, title: str) -> str:
        r = requests.post(self.url + "/wp-json/wp/v2/pages", auth=self.auth(), timeout=60,
                          json={"title": title, "content": "<p>Trang thủ tục</p>", "status": "publish",
                                "comment_status": "open"})
        r.raise_for_status()
        return str(r.json()["id"])

    def visitor_comment(self, page: str, name: str, email: str, content: str, date_gmt: str) -> str:
        if self.sandbox is not None:
            return str(self.sandbox.cms_comments.visitor_comment(int(page), name, email, content, date_gmt)["id"])
        def php_str(text: str) -> str:  # any text, as a PHP expression (no escapes or $ to interpret)
            return f"base64_decode('{base64.b64encode(text.encode('utf-8')).decode('ascii')}')"

        when = php_str(date_gmt.replace("T", " "))
        code = (f"echo wp_insert_comment(array('comment_post_ID' => {int(page)}, 'comment_author' => {php_str(name)}, "
                f"'comment_author_email' => {php_str(email)}, 'comment_content' => {php_str(content)}, "
                f"'comment_approved' => 0, 'comment_date_gmt' => {when}, 'comment_date' => {when}));")
        return self.wordpress.php(code).strip()

    def comments(self, page: str) -> list[dict[str, Any]]:
        r = requests.get(self.url + "/wp-json/wp/v2/comments", auth=self.auth(), timeout=60,
                         params={"post": page, "status": "all", "context": "edit", "per_page": 100})
        r.raise_for_status()
        return r.json()

    def public_comments(self, page: str) -> list[dict[str, Any]]:
        r = requests.get(self.url + "/wp-json/wp/v2/comments", timeout=60, params={"post": page, "per_page": 100})
        r.raise_for_status()
        return r.json()

    def fault(self, route: str, fault: str, times: int = 1) -> None:
        if self.sandbox is None:
            pytest.skip("fault injection is the sandbox's")
        self.sandbox.add_fault(route, fault, times)


def publish_page_for(session, site: Site, code: str | None = None):
    """A procedure of the catalogue with its page on the site, as tthc_sync leaves it in the ledger."""
    from tthc.db.models import Posting, Procedure

    query = select(Procedure).where(Procedure.code.is_not(None)).order_by(Procedure.id)
    if code:
        query = query.where(Procedure.code == code)
    proc = session.scalars(query).first()
    page = site.page(proc.name)
    session.add(Posting(channel="cms", object_key=f"procedure:{proc.code}", version=1, content_hash="x",
                        external_id=page, url=f"{site.url}/trang/{page}", status="posted",
                        posted_for=date(2026, 11, 20)))
    session.commit()
    return proc, page
