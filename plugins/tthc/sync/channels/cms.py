"""The department website's CMS: a WordPress-style REST API (posts, pages, media; Bearer token).

- an approved announcement → one **post** (the decision, its annex as tables, the annex file attached
  as a media item);
- each procedure it announces → one **page**, kept current; an abolished procedure's page is
  unpublished (status ``draft``), never deleted; an extra copy of one key (two pages with one
  ``tthc_key``) is moved to the trash by reconciliation.

Our key and digest travel in the object's ``meta`` (``tthc_key``, ``tthc_hash``, ``tthc_content_sha``);
the slug is derived from the key only, so it never changes and :meth:`CmsChannel.find` can look it up.
Reading back (:meth:`list_owned`), an object whose content no longer matches ``tthc_content_sha`` was
edited by hand: it reports a digest that matches nothing, so reconciliation rewrites it.
"""

from __future__ import annotations

import hashlib
import html
from typing import Any
from urllib.parse import quote

import requests

from tthc.core.sanitize import slugify
from tthc.sync.channels.base import (
    Channel,
    ChannelObject,
    HttpJsonClient,
    Published,
    RejectedError,
    RemoteObject,
)

COLLECTIONS = {"post": "/wp-json/wp/v2/posts", "page": "/wp-json/wp/v2/pages"}
MEDIA = "/wp-json/wp/v2/media"
EDITED = "edited-by-hand"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("raw", value.get("rendered", "")) or "")
    return str(value or "")


class CmsChannel(Channel):
    name = "cms"
    label = "Trang thông tin điện tử của Sở (CMS)"

    def __init__(self, base_url: str, token: str, session: requests.Session | None = None,
                 timeout: float = 30.0, conn_id: str = "tthc_cms") -> None:
        self.http = HttpJsonClient("CMS", base_url, token, session, conn_id, timeout)

    @staticmethod
    def slug(obj: ChannelObject) -> str:
        return slugify(obj.key)

    # -- helpers
    def _collection(self, obj: ChannelObject) -> str:
        try:
            return COLLECTIONS[obj.kind]
        except KeyError as exc:
            raise RejectedError(f"CMS cannot hold objects of kind {obj.kind!r}") from exc

    def _media(self, obj: ChannelObject) -> dict[str, Any] | None:
        """The attachment as a media item, uploaded once per file content (slug carries its hash)."""
        if obj.attachment is None:
            return None
        filename, content_type, data = obj.attachment
        slug = f"{self.slug(obj)}-{hashlib.sha256(data).hexdigest()[:12]}"
        found = self.http.json("GET", MEDIA, params={"slug": slug})
        if found:
            return found[0]
        # HTTP headers are Latin-1: an ASCII name, and the real one RFC 5987-encoded
        stem, _, ext = filename.rpartition(".")
        ascii_name = f"{slugify(stem) or 'tep'}.{ext}" if stem else slugify(filename)
        disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
        return self.http.json("POST", MEDIA, params={"slug": slug}, data=data,
                              headers={"Content-Type": content_type, "Content-Disposition": disposition})

    def _body(self, obj: ChannelObject, status: str) -> dict[str, Any]:
        content = obj.fields.get("content", "")
        media = self._media(obj)
        if media is not None:
            filename = obj.attachment[0] if obj.attachment else "tệp"
            content += (f'\n<p class="tep-dinh-kem">Tệp đính kèm: <a href="{html.escape(media["source_url"])}">'
                        f"{html.escape(filename)}</a></p>")
        return {"slug": self.slug(obj), "title": obj.title, "content": content, "status": status,
                "meta": {"tthc_key": obj.key, "tthc_hash": obj.digest, "tthc_content_sha": _sha(content)}}

    @staticmethod
    def _published(item: dict[str, Any]) -> Published:
        return Published(str(item["id"]), item.get("link"))

    # -- the interface
    def find(self, obj: ChannelObject) -> Published | None:
        items = self.http.json("GET", self._collection(obj), params={"slug": self.slug(obj), "status": "any"})
        mine = [i for i in items if (i.get("meta") or {}).get("tthc_key") in (obj.key, None)]
        return self._published(mine[0]) if mine else None

    def create(self, obj: ChannelObject) -> Published:
        status = "draft" if obj.withdrawn else "publish"
        return self._published(self.http.json("POST", self._collection(obj), json=self._body(obj, status)))

    def update(self, external_id: str, obj: ChannelObject) -> Published:
        status = "draft" if obj.withdrawn else "publish"
        path = f"{self._collection(obj)}/{external_id}"
        return self._published(self.http.json("PUT", path, json=self._body(obj, status)))

    def withdraw(self, external_id: str, obj: ChannelObject) -> Published:
        """Unpublish (status ``draft``), never delete: with the latest content when we have it."""
        if "content" in obj.fields:
            return self.update(external_id, obj)
        path = f"{self._collection(obj)}/{external_id}"
        return self._published(self.http.json("PUT", path, json={"status": "draft"}))

    def remove_duplicate(self, external_id: str, obj: ChannelObject) -> None:
        """Move the extra copy to the trash (WordPress: ``DELETE`` without ``force``; restorable by an
        editor, no longer public nor listed with ``status=any``, and its slug freed)."""
        self.http.call("DELETE", f"{self._collection(obj)}/{external_id}", ok_statuses=(410,))

    def list_owned(self) -> list[RemoteObject]:
        out: list[RemoteObject] = []
        for path in COLLECTIONS.values():
            page = 1
            while True:
                response = self.http.call("GET", path, params={"status": "any", "per_page": 100, "page": page})
                items = response.json()
                for item in items:
                    meta = item.get("meta") or {}
                    key = meta.get("tthc_key")
                    if not key:
                        continue  # not ours
                    content_ok = meta.get("tthc_content_sha") == _sha(_text(item.get("content")))
                    out.append(RemoteObject(key, str(item["id"]), item.get("status") == "publish",
                                            meta.get("tthc_hash") if content_ok else EDITED, item.get("link")))
                if page >= int(response.headers.get("X-WP-TotalPages", "1") or 1):
                    break
                page += 1
        return out
