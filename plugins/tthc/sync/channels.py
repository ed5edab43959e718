"""Channels: one small interface, one client class per public system.

The department website's CMS speaks a WordPress-style REST API (``/wp-json/wp/v2/posts``, Bearer
token). The bundled sandbox implements the same API, so tests exercise real HTTP.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import requests

from tthc.sources.web import DEFAULT_TIMEOUT, make_session


class ChannelError(RuntimeError):
    pass


@dataclass(frozen=True)
class Published:
    external_id: str
    url: str | None


class Channel(ABC):
    name: str

    @abstractmethod
    def find(self, slug: str) -> Published | None:
        """What the channel already holds under this idempotency key, if anything."""

    @abstractmethod
    def create(self, slug: str, title: str, content: str, meta: dict[str, Any]) -> Published: ...

    @abstractmethod
    def update(self, external_id: str, title: str, content: str, meta: dict[str, Any]) -> Published: ...


class CmsChannel(Channel):
    name = "cms"

    def __init__(self, base_url: str, token: str, session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        # our own publishing endpoint: no robots.txt, no crawl delay (the Airflow pool limits the rate)
        self.session = session or make_session(min_interval=0, respect_robots=False)
        self.session.headers["Authorization"] = f"Bearer {token}"

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.session.request(method, self.base_url + path, timeout=DEFAULT_TIMEOUT, **kwargs)
        except requests.RequestException as exc:
            raise ChannelError(f"CMS {method} {path}: {exc}") from exc
        if response.status_code == 401:
            raise ChannelError("CMS refused the token (HTTP 401): check the tthc_cms connection's password")
        if response.status_code >= 400:
            raise ChannelError(f"CMS {method} {path}: HTTP {response.status_code} {response.text[:300]}")
        return response.json()

    def find(self, slug: str) -> Published | None:
        posts = self._call("GET", "/wp-json/wp/v2/posts", params={"slug": slug})
        if not posts:
            return None
        return Published(str(posts[0]["id"]), posts[0].get("link"))

    def create(self, slug: str, title: str, content: str, meta: dict[str, Any]) -> Published:
        post = self._call("POST", "/wp-json/wp/v2/posts",
                          json={"slug": slug, "title": title, "content": content, "status": "publish", "meta": meta})
        return Published(str(post["id"]), post.get("link"))

    def update(self, external_id: str, title: str, content: str, meta: dict[str, Any]) -> Published:
        post = self._call("POST", f"/wp-json/wp/v2/posts/{external_id}",
                          json={"title": title, "content": content, "meta": meta})
        return Published(str(post["id"]), post.get("link"))
