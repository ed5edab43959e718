"""The department website's CMS: WordPress' REST API (posts, pages, media).

- an approved announcement → one **post** (the decision, its annex as tables, the annex file attached
  as a media item whose title is the file's Vietnamese name);
- each procedure it announces → one **page**, kept current; an abolished procedure's page is
  unpublished (status ``draft``), never deleted; an extra copy of one key (two pages with one
  ``tthc_key``) is moved to the trash by reconciliation.

Authentication: the Connection's login + an Application Password of an Editor account (HTTP Basic,
WordPress ≥ 5.6); a password alone is sent as a Bearer token (a JWT plugin), which WordPress core treats
as anonymous.

Our key and digest travel in the object's ``meta`` (``tthc_key``, ``tthc_hash``, ``tthc_content_sha``).
WordPress silently drops meta keys nobody registered, so the site needs the project's must-use plugin
(``include/wordpress/tthc-meta.php``); before anything else the channel checks that the account has
the Editor's rights and that the keys are registered (the REST schema), and stops with a clear error
otherwise: it never writes where it could not recognise its own objects afterwards.

The slug is derived from the key only, so :meth:`CmsChannel.find` can look it up. A duplicate is
impossible by construction: :meth:`CmsChannel.create` never creates while any object holds the slug,
and if WordPress answers with another slug (it appends ``-2`` when one is taken) the new object is
deleted at once and :class:`SlugConflictError` stops the channel.

Reading back (:meth:`list_owned`) uses ``context=edit``: the ``raw`` content as written (``rendered``
is reformatted by WordPress' filters). An object whose raw content no longer matches
``tthc_content_sha`` was edited by hand: it reports a digest that matches nothing, so reconciliation
rewrites it. A replaced annex file's previous media item is deleted once the post links the new one.
"""

from __future__ import annotations

import hashlib
import html
import re
from typing import Any
from urllib.parse import quote

import requests

from tthc.core.sanitize import slugify
from tthc.sync.channels.base import (
    AuthError,
    Channel,
    ChannelError,
    ChannelObject,
    HttpJsonClient,
    Published,
    RejectedError,
    RemoteObject,
    SetupError,
)

COLLECTIONS = {"post": "/wp-json/wp/v2/posts", "page": "/wp-json/wp/v2/pages"}
MEDIA = "/wp-json/wp/v2/media"
USERS_ME = "/wp-json/wp/v2/users/me"
EDITED = "edited-by-hand"
META_KEYS = ("tthc_key", "tthc_hash", "tthc_content_sha")
PLUGIN = "include/wordpress/tthc-meta.php"
# what the channel does, as WordPress capabilities (the Editor role has them all; an Author lacks the pages')
NEEDED_CAPABILITIES = ("edit_posts", "edit_others_posts", "edit_published_posts", "publish_posts",
                       "edit_pages", "edit_others_pages", "edit_published_pages", "publish_pages",
                       "upload_files", "delete_posts", "delete_others_posts")
AUTH_HINT = ("WordPress needs the login and an Application Password of an Editor account in Connection {conn} "
             "(http(s)://login:app-password@host); a Bearer token is anonymous to WordPress core")


class SlugConflictError(ChannelError):
    """Another object holds the slug of one of ours: creating would make a second copy (``-2``), so the
    channel stops until a person resolves it. Not retried usefully: the same conflict is found again."""


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("raw", value.get("rendered", "")) or "")
    return str(value or "")


def _meta(item: dict[str, Any]) -> dict[str, Any]:
    meta = item.get("meta")
    return meta if isinstance(meta, dict) else {}  # WordPress answers [] when no meta key is registered


def _key_of(item: dict[str, Any]) -> str:
    return str(_meta(item).get("tthc_key") or "")


class CmsChannel(Channel):
    name = "cms"
    label = "Trang thông tin điện tử của Sở (CMS)"

    def __init__(self, base_url: str, password: str, session: requests.Session | None = None,
                 timeout: float = 30.0, conn_id: str = "tthc_cms", *, login: str | None = None) -> None:
        self.http = HttpJsonClient("CMS", base_url, password, session, conn_id, timeout, login=login,
                                   auth_hint=AUTH_HINT.format(conn=conn_id))
        self._ready = False

    @staticmethod
    def slug(obj: ChannelObject) -> str:
        return slugify(obj.key)

    # -- before anything: the account's rights and the registered meta keys
    def check_ready(self) -> None:
        """Raise :class:`AuthError` if the account lacks an Editor's rights, :class:`SetupError` if the
        meta keys are not registered (the must-use plugin is missing). Checked once per instance."""
        if self._ready:
            return
        me = self.http.json("GET", USERS_ME, params={"context": "edit"})
        capabilities = me.get("capabilities") if isinstance(me.get("capabilities"), dict) else {}
        missing = [c for c in NEEDED_CAPABILITIES if not capabilities.get(c)]
        if missing:
            roles = ", ".join(me.get("roles") or []) or "?"
            raise AuthError(f"CMS: the account {me.get('username') or self.http.login!r} (role: {roles}) lacks "
                            f"{', '.join(missing)}: give it the Editor role (Users → the account → Role). "
                            "Nothing was written.")
        for kind, path in COLLECTIONS.items():
            schema = self.http.json("OPTIONS", path).get("schema") or {}
            registered = ((schema.get("properties") or {}).get("meta") or {}).get("properties") or {}
            absent = [k for k in META_KEYS if not isinstance(registered, dict) or k not in registered]
            if absent:
                raise SetupError(
                    f"CMS: WordPress does not keep the meta fields {', '.join(absent)} on {kind}s (it drops "
                    f"unregistered meta silently), so published objects could not be recognised: install the "
                    f"must-use plugin {PLUGIN} (copy it into wp-content/mu-plugins/ on the web server; see "
                    "docs/operations.md, 'Department website (WordPress)'). Nothing was written.")
        self._ready = True

    # -- helpers
    def _collection(self, obj: ChannelObject) -> str:
        try:
            return COLLECTIONS[obj.kind]
        except KeyError as exc:
            raise RejectedError(f"CMS cannot hold objects of kind {obj.kind!r}") from exc

    def _by_slug(self, obj: ChannelObject) -> list[dict[str, Any]]:
        """Every object of ``obj``'s type holding its slug, in any status but the trash (WordPress renames
        a trashed object's slug ``…__trashed``, freeing it)."""
        return self.http.json("GET", self._collection(obj),
                              params={"slug": self.slug(obj), "status": "any", "context": "edit"})

    def _media_slug(self, obj: ChannelObject, data: bytes) -> str:
        return f"{self.slug(obj)}-{hashlib.sha256(data).hexdigest()[:12]}"

    def _media(self, obj: ChannelObject, parent: str | None) -> dict[str, Any] | None:
        """The attachment as a media item, uploaded once per file content (its slug carries the hash),
        titled with the file's own (Vietnamese) name: WordPress keeps only the ASCII ``filename=``."""
        if obj.attachment is None:
            return None
        filename, content_type, data = obj.attachment
        slug = self._media_slug(obj, data)
        found = self.http.json("GET", MEDIA, params={"slug": slug, "context": "edit"})
        if found:
            media = found[0]
        else:
            # HTTP headers are Latin-1: an ASCII name, and the real one RFC 5987-encoded (WordPress ignores it)
            stem, _, ext = filename.rpartition(".")
            ascii_name = f"{slugify(stem) or 'tep'}.{ext}" if stem else slugify(filename)
            disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
            params = {"slug": slug, "title": filename} | ({"post": parent} if parent else {})
            media = self.http.json("POST", MEDIA, params=params, data=data,
                                   headers={"Content-Type": content_type, "Content-Disposition": disposition})
        if _text(media.get("title")) != filename:  # titled after the ASCII name: set the real one
            media = self.http.json("POST", f"{MEDIA}/{media['id']}", json={"title": filename})
        return media

    def _attach(self, media: dict[str, Any] | None, post_id: str) -> None:
        if media is not None and str(media.get("post") or "") != str(post_id):
            self.http.json("POST", f"{MEDIA}/{media['id']}", json={"post": int(post_id)})

    def _prune_media(self, obj: ChannelObject, post_id: str, keep: dict[str, Any] | None) -> None:
        """Delete our earlier annex files of this post (a replaced annex leaves nothing behind)."""
        ours = re.compile(re.escape(self.slug(obj)) + r"-[0-9a-f]{12}(-\d+)?")
        items = self.http.json("GET", MEDIA, params={"parent": post_id, "per_page": 100, "context": "edit"})
        for item in items:
            if (keep is None or item["id"] != keep["id"]) and ours.fullmatch(str(item.get("slug") or "")):
                self.http.call("DELETE", f"{MEDIA}/{item['id']}", params={"force": "true"})

    def _body(self, obj: ChannelObject, status: str, media: dict[str, Any] | None) -> dict[str, Any]:
        content = obj.fields.get("content", "")
        if media is not None:
            filename = obj.attachment[0] if obj.attachment else "tệp"
            content += (f'\n<p class="tep-dinh-kem">Tệp đính kèm: <a href="{html.escape(media["source_url"])}">'
                        f"{html.escape(filename)}</a></p>")
        body = {"slug": self.slug(obj), "title": obj.title, "content": content, "status": status,
                "meta": {"tthc_key": obj.key, "tthc_hash": obj.digest, "tthc_content_sha": _sha(content)}}
        if obj.fields.get("comment_status") in ("open", "closed"):  # WordPress closes pages' comments by default
            body["comment_status"] = obj.fields["comment_status"]
        return body

    @staticmethod
    def _published(item: dict[str, Any]) -> Published:
        return Published(str(item["id"]), item.get("link"))

    # -- the interface
    def find(self, obj: ChannelObject) -> Published | None:
        """Ours (our key) or unclaimed (no key: made by hand with our slug, adopted) under ``obj``'s slug."""
        self.check_ready()
        mine = [i for i in self._by_slug(obj) if _key_of(i) in (obj.key, "")]
        return self._published(mine[0]) if mine else None

    def create(self, obj: ChannelObject) -> Published:
        self.check_ready()
        path, slug = self._collection(obj), self.slug(obj)
        holders = self._by_slug(obj)
        if holders:
            held = ", ".join(f"{h.get('type', obj.kind)} {h['id']} (key {_key_of(h) or 'none'})" for h in holders)
            raise SlugConflictError(
                f"CMS: the slug {slug!r} of {obj.key} is held by {held}; creating would make a second copy "
                f"({slug}-2), so nothing was created. Trash or rename that object, then re-run.")
        media = self._media(obj, None)
        item = self.http.json("POST", path, json=self._body(obj, "draft" if obj.withdrawn else "publish", media))
        if item.get("slug") != slug:
            self.http.call("DELETE", f"{path}/{item['id']}", params={"force": "true"})
            raise SlugConflictError(
                f"CMS: WordPress gave {obj.key} the slug {item.get('slug')!r} instead of {slug!r} (another object "
                f"holds it); the copy ({item['id']}) was deleted at once. Trash or rename the object holding "
                f"{slug!r}, then re-run.")
        self._attach(media, str(item["id"]))
        return self._published(item)

    def update(self, external_id: str, obj: ChannelObject) -> Published:
        self.check_ready()
        path, slug = f"{self._collection(obj)}/{external_id}", self.slug(obj)
        media = self._media(obj, external_id)
        item = self.http.json("PUT", path, json=self._body(obj, "draft" if obj.withdrawn else "publish", media))
        self._attach(media, external_id)
        self._prune_media(obj, external_id, media)
        if item.get("slug") != slug:
            raise SlugConflictError(
                f"CMS: WordPress moved {obj.key} ({external_id}) to the slug {item.get('slug')!r}: another object "
                f"holds {slug!r}. Trash or rename it, then re-run.")
        return self._published(item)

    def withdraw(self, external_id: str, obj: ChannelObject) -> Published:
        """Unpublish (status ``draft``), never delete: with the latest content when we have it."""
        if "content" in obj.fields:
            return self.update(external_id, obj)
        self.check_ready()
        path = f"{self._collection(obj)}/{external_id}"
        return self._published(self.http.json("PUT", path, json={"status": "draft"}))

    def remove_duplicate(self, external_id: str, obj: ChannelObject) -> None:
        """Move the extra copy to the trash (WordPress: ``DELETE`` without ``force``; restorable by an
        editor, no longer public nor listed with ``status=any``, and its slug freed)."""
        self.http.call("DELETE", f"{self._collection(obj)}/{external_id}", ok_statuses=(410,))

    def list_owned(self) -> list[RemoteObject]:
        self.check_ready()
        out: list[RemoteObject] = []
        for path in COLLECTIONS.values():
            page = 1
            while True:
                response = self.http.call("GET", path, params={"status": "any", "per_page": 100, "page": page,
                                                                "context": "edit"})
                for item in response.json():
                    meta, key = _meta(item), _key_of(item)
                    if not key:
                        continue  # not ours
                    content_ok = meta.get("tthc_content_sha") == _sha(_text(item.get("content")))
                    out.append(RemoteObject(key, str(item["id"]), item.get("status") == "publish",
                                            meta.get("tthc_hash") if content_ok else EDITED, item.get("link")))
                if page >= int(response.headers.get("X-WP-TotalPages", "1") or 1):
                    break
                page += 1
        return out
