"""The two CMS backends the publish tests run against: the sandbox's CMS and a real WordPress.

Both offer the same few things (:class:`CmsBackend`): a :class:`~tthc.sync.channels.cms.CmsChannel`
signed in as one of the accounts (``bientap``: editor, ``tacgia``: author), counting the writes it
sends; what the site shows (``items``, as the editor sees it with ``context=edit``); the hand of a
person (``request``); and the project's must-use plugin installed or not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests

WRITES = ("POST", "PUT", "PATCH", "DELETE")
EDITOR, AUTHOR = "bientap", "tacgia"


@dataclass
class CmsBackend:
    name: str
    url: str
    passwords: dict[str, str]
    writes: list[str] = field(default_factory=list)  # "METHOD path" of every write the channels sent

    def channel(self, login: str | None = EDITOR, password: str | None = None):
        """A channel signed in as ``login`` (None: ``password`` sent as a Bearer token)."""
        from tthc.sync.channels.cms import CmsChannel

        secret = password if password is not None else self.passwords[login or EDITOR]
        ch = CmsChannel(self.url, secret, login=login, timeout=60)
        ch.http.session.hooks["response"].append(self._count)
        return ch

    def _count(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if response.request.method in WRITES:
            self.writes.append(f"{response.request.method} {response.request.path_url.split('?')[0]}")

    def auth(self, login: str = EDITOR) -> tuple[str, str]:
        return login, self.passwords[login]

    def request(self, method: str, path: str, login: str = EDITOR, **kwargs: Any) -> requests.Response:
        """A request of a person signed in as ``login`` (not counted among the channel's writes)."""
        return requests.request(method, self.url + path, auth=self.auth(login), timeout=60, **kwargs)

    def items(self, kind: str, **params: Any) -> list[dict[str, Any]]:
        """Every post / page / media item (not trashed), as the editor sees them (raw content)."""
        status = {} if kind == "media" else {"status": "any"}
        out, page = [], 1
        while True:
            r = self.request("GET", f"/wp-json/wp/v2/{kind}",
                             params={"per_page": 100, "page": page, "context": "edit", **status, **params})
            r.raise_for_status()
            out += r.json()
            if page >= int(r.headers.get("X-WP-TotalPages") or 1):
                return out
            page += 1

    def set_plugin(self, installed: bool) -> None:
        raise NotImplementedError


class SandboxCms(CmsBackend):
    def __init__(self, sandbox) -> None:
        super().__init__("sandbox", sandbox.url, {login: a.app_password for login, a in sandbox.cms.accounts.items()})
        self.sandbox = sandbox

    def set_plugin(self, installed: bool) -> None:
        self.sandbox.cms_meta_plugin = installed


class WordPressCms(CmsBackend):
    def __init__(self, site) -> None:
        super().__init__("wordpress", site.url, {login: a.app_password for login, a in site.accounts.items()})
        self.site = site

    def set_plugin(self, installed: bool) -> None:
        if installed:
            self.site.install_plugin()
        else:
            self.site.remove_plugin()
