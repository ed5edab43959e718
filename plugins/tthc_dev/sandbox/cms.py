"""The department website's CMS: WordPress' REST API as the publishing client uses it.

Copied from the WordPress REST API (``/wp-json/wp/v2``), with the behaviours of a real WordPress that
the publisher depends on (accounts, roles, registered meta, raw and rendered: :mod:`tthc_dev.sandbox.cms_wp`):

* posts ``/wp-json/wp/v2/posts`` and pages ``/wp-json/wp/v2/pages`` (same API: ``GET`` lists with
  ``slug``/``status`` (default ``publish``)/``per_page``/``page``/``context`` and
  ``X-WP-Total``/``X-WP-TotalPages``; ``POST`` creates; ``GET|POST|PUT|PATCH|DELETE .../{id}``, DELETE
  trashes (the slug becomes ``…__trashed``) unless ``force=true``; ``OPTIONS`` gives the schema), one id
  counter for both, separate collections, ``"type": "post"|"page"``; a slug already taken gets ``-2``,
  ``-3``…; public HTML at ``/tin-tuc/{slug}`` (posts) and ``/trang/{slug}`` (pages);
* media ``/wp-json/wp/v2/media``: ``POST`` the raw file (``Content-Disposition: attachment;
  filename="..."``: the ASCII ``filename=`` only, ``filename*`` is ignored as WordPress does;
  ``Content-Type``; optional ``?slug=``, ``?title=``, ``?post=``), ``GET`` list (``slug``, ``parent``) /
  ``GET .../{id}``, ``POST|PUT|PATCH .../{id}`` (JSON ``title``/``slug``/``post``), ``DELETE
  .../{id}?force=true`` (no trash: 501); the files (under ``state_dir/media/``) at
  ``/wp-content/uploads/{id}-{filename}``;
* ``GET /wp-json/wp/v2/users/me`` (the signed-in account; roles and capabilities with ``context=edit``).

Accounts sign in with Basic auth and an Application Password (:class:`~tthc_dev.sandbox.cms_wp.CmsAccount`);
anyone else is a visitor. ``meta_plugin``: whether the project's must-use plugin is "installed" (the
meta keys registered). Errors are WordPress' ``{"code", "message", "data": {"status"}}``. The state
(posts, pages, media) is ``cms_posts.json`` under ``state_dir``.
"""

from __future__ import annotations

import html
import json
import math
import mimetypes
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tthc.core.fsutil import atomic_write_bytes
from tthc.core.sanitize import slugify

from tthc_dev.sandbox import cms_wp
from tthc_dev.sandbox.cms_wp import CmsAccount
from tthc_dev.sandbox.data import ascii_fold, nfc
from tthc_dev.sandbox.state import Shared, now_iso
from tthc_dev.sandbox.web import (
    TEXT_TYPE,
    BodyError,
    Request,
    Response,
    html_page,
    html_response,
    int_param,
    json_object,
    json_response,
)

CMS_POSTS_PATH = "/wp-json/wp/v2/posts"
CMS_PAGES_PATH = "/wp-json/wp/v2/pages"
CMS_MEDIA_PATH = "/wp-json/wp/v2/media"
CMS_USERS_ME_PATH = "/wp-json/wp/v2/users/me"
CMS_PUBLIC_PREFIX = "/tin-tuc/"
CMS_PAGE_PUBLIC_PREFIX = "/trang/"
CMS_UPLOADS_PREFIX = "/wp-content/uploads/"

CMS_STATE_FILE = "cms_posts.json"
MEDIA_DIR = "media"
WP_STATUSES = ("publish", "draft", "pending", "private")
MEDIA_STATUSES = ("inherit", "private", "trash")


def wp_error(code: str, message: str, status: int, **extra: Any) -> Response:
    return json_response({"code": code, "message": message, "data": {"status": status, **extra}}, status)


def _slugify(text: str) -> str:
    return slugify(text) or "post"


@dataclass(frozen=True)
class CmsKind:
    """One WordPress post type of the CMS: its ``type``, REST path, state collection and public URL prefix."""

    type: str
    path: str
    collection: str
    public_prefix: str


CMS_POST = CmsKind("post", CMS_POSTS_PATH, "posts", CMS_PUBLIC_PREFIX)
CMS_PAGE = CmsKind("page", CMS_PAGES_PATH, "pages", CMS_PAGE_PUBLIC_PREFIX)
CMS_MEDIA = CmsKind("attachment", CMS_MEDIA_PATH, "media", CMS_UPLOADS_PREFIX)
WP_NO_ROUTE = ("rest_no_route", "No route was found matching the URL and request method.", 404)
NOT_ALLOWED = "Sorry, you are not allowed to do that."


def _empty_cms() -> dict[str, Any]:
    return {"next_id": 1, "posts": [], "pages": [], "media": []}


def _load_cms(shared: Shared) -> dict[str, Any]:
    """The CMS state; a file written before pages and media existed (``{"next_id", "posts"}``), or before
    raw and rendered were told apart (``{"rendered": ...}`` only), still loads."""
    cms = shared.load(CMS_STATE_FILE, _empty_cms())
    for key, default in _empty_cms().items():
        cms.setdefault(key, default)
    for kind in (CMS_POST, CMS_PAGE, CMS_MEDIA):
        for post in cms[kind.collection]:
            post.setdefault("type", kind.type)
            for name in ("title", "content"):
                value = post.get(name)
                if isinstance(value, dict) and "raw" not in value:
                    post[name] = {"raw": str(value.get("rendered") or "")}
    return cms


def _upload_name(filename: str) -> str:
    """A file name safe in an upload URL (like WordPress' sanitize_file_name + remove_accents)."""
    base = re.split(r"[\\/]", filename)[-1]
    base = re.sub(r"\s+", "-", ascii_fold(nfc(base)).replace("?", ""))
    base = re.sub(r"[^A-Za-z0-9._-]+", "", base).strip(".-_")
    return base or "file"


def _content_disposition_filename(value: str) -> str | None:
    """The ``filename=`` of a ``Content-Disposition`` header. WordPress reads only this parameter: a header
    with only ``filename*=UTF-8''...`` (RFC 5987) has no file name for it."""
    plain = re.search(r'(?:^|;)\s*filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))', value, re.IGNORECASE)
    if not plain:
        return None
    name = plain.group(1) if plain.group(1) is not None else plain.group(2)
    name = re.sub(r"\\(.)", r"\1", name)
    try:  # http.server decodes header bytes as Latin-1: undo it for a client that sent UTF-8
        name = name.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    return name.strip() or None


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


class Cms:
    """The CMS: posts, pages and media, kept in ``cms_posts.json`` (files in ``media/``).

    ``accounts``: who may sign in (login → :class:`CmsAccount`); ``meta_plugin``: the project's meta keys
    are registered (read on each request: a test may change it on a running sandbox)."""

    def __init__(self, shared: Shared, accounts: Mapping[str, CmsAccount] | None = None,
                 meta_plugin: bool = True) -> None:
        self._shared = shared
        self._lock = shared.lock
        self.state_dir = shared.state_dir
        self._cms = _load_cms(shared)
        self.accounts: dict[str, CmsAccount] = dict(accounts or {})
        self.meta_plugin = meta_plugin

    @property
    def url(self) -> str:
        """The sandbox's base URL (links and ``Location`` headers)."""
        return self._shared.base_url()

    def reset(self) -> None:
        """Forget every post, page and media item, and the uploaded files."""
        with self._lock:
            self._cms = _empty_cms()
            self._save_cms()
            media_dir = self.state_dir / MEDIA_DIR
            if media_dir.is_dir():
                for stored in media_dir.iterdir():
                    if stored.is_file():
                        stored.unlink()

    def _save_cms(self) -> None:
        self._shared.save(CMS_STATE_FILE, self._cms)

    def _user(self, request: Request) -> CmsAccount | None:
        return cms_wp.signed_in(request.headers, self.accounts)

    # -- what an answer shows ----------------------------------------------------------------------

    def _show(self, obj: dict[str, Any], kind: CmsKind, edit: bool) -> dict[str, Any]:
        """An object as the REST API shows it: ``raw`` only in the ``edit`` context, meta as registered."""
        out = {k: v for k, v in obj.items() if k not in ("title", "content", "meta")}
        title = obj.get("title", {}).get("raw", "")
        out["title"] = {"rendered": cms_wp.render_title(title)} | ({"raw": title} if edit else {})
        if kind is not CMS_MEDIA:
            content = obj.get("content", {}).get("raw", "")
            out["content"] = ({"rendered": cms_wp.render_content(content), "protected": False}
                              | ({"raw": content, "block_version": 0} if edit else {}))
        out["meta"] = cms_wp.shown_meta(obj.get("meta", {}), cms_wp.registered_meta(self.meta_plugin, kind.type))
        return out

    def _context(self, query: Mapping[str, str], user: CmsAccount | None, kind: CmsKind) -> bool | Response:
        """True for ``context=edit`` (allowed only to who may edit this type), False for ``view``."""
        context = query.get("context", "view") or "view"
        if context not in ("view", "embed", "edit"):
            return wp_error("rest_invalid_param", "Invalid parameter(s): context", 400,
                            params={"context": "context is not one of view, embed, and edit."})
        if context != "edit":
            return False
        if not cms_wp.can_edit_type(user, kind.type):
            return wp_error("rest_forbidden_context", "Sorry, you are not allowed to edit posts in this post type.",
                            cms_wp.denied_status(user))
        return True

    def _apply_meta(self, obj: dict[str, Any], data: Mapping[str, Any], kind: CmsKind) -> Response | None:
        """Store the registered meta keys of ``data["meta"]``; WordPress drops the others silently."""
        if "meta" not in data or data["meta"] is None:
            return None
        if not isinstance(data["meta"], dict):
            return wp_error("rest_invalid_param", "Invalid parameter(s): meta", 400,
                            params={"meta": "meta is not of type object."})
        keys = cms_wp.registered_meta(self.meta_plugin, kind.type)
        for key, value in data["meta"].items():
            if key in keys and not isinstance(value, str):
                return wp_error("rest_invalid_type", f"meta.{key} is not of type string.", 400)
        kept = {k: v for k, v in data["meta"].items() if k in keys}
        obj["meta"] = {**obj.get("meta", {}), **kept}
        return None

    # -- posts and pages ---------------------------------------------------------------------------

    def route(self, kind: CmsKind, request: Request) -> Response:
        """``/wp-json/wp/v2/posts`` or ``/wp-json/wp/v2/pages`` (``kind``) and their ``/{id}``."""
        method, query, body = request.method, request.query, request.body
        user = self._user(request)
        rest = request.tail(kind.path).strip("/")
        if not rest:
            if method == "GET":
                return self._cms_list(kind, query, user)
            if method == "POST":
                return self._cms_create(kind, body, user)
            if method == "OPTIONS":
                return self._schema(kind)
            return wp_error(*WP_NO_ROUTE)
        if not rest.isdigit():
            return wp_error(*WP_NO_ROUTE)
        post_id = int(rest)
        if method == "GET":
            edit = self._context(query, user, kind)
            if isinstance(edit, Response):
                return edit
            with self._lock:
                post = self._find_post(post_id, kind)
                if post is None:
                    return wp_error("rest_post_invalid_id", "Invalid post ID.", 404)
                if not cms_wp.can_read(user, post, kind.type):
                    return wp_error("rest_forbidden", NOT_ALLOWED, cms_wp.denied_status(user))
                return json_response(self._show(post, kind, edit))
        if method in ("POST", "PUT", "PATCH"):
            return self._cms_update(kind, post_id, body, user)
        if method == "DELETE":
            return self._cms_delete(kind, post_id, query, user)
        return wp_error(*WP_NO_ROUTE)

    def _schema(self, kind: CmsKind) -> Response:
        """``OPTIONS`` on a collection: its methods and JSON schema (the registered meta keys included)."""
        keys = cms_wp.registered_meta(self.meta_plugin, kind.type)
        properties = {name: {"type": "object", "context": ["view", "edit", "embed"]} for name in ("title", "content")}
        properties |= {"id": {"type": "integer"}, "slug": {"type": "string"}, "status": {"type": "string"},
                       "meta": {"description": "Meta fields.", "type": "object", "context": ["view", "edit"],
                                "properties": cms_wp.meta_schema(keys)}}
        return json_response({"namespace": "wp/v2", "methods": ["GET", "POST"],
                              "schema": {"$schema": "http://json-schema.org/draft-04/schema#", "title": kind.type,
                                         "type": "object", "properties": properties}})

    def _find_post(self, post_id: int, kind: CmsKind = CMS_POST) -> dict[str, Any] | None:
        return next((p for p in self._cms[kind.collection] if p["id"] == post_id), None)

    def _unique_slug(self, wanted: str, own_id: int | None = None, collection: str = "posts") -> str:
        """``wanted``, or ``wanted-2``, ``wanted-3``... as WordPress' ``wp_unique_post_slug``: unique among
        posts; among pages and media for a page; among everything for a media item."""
        among = {"posts": ("posts",), "pages": ("pages", "media"), "media": ("posts", "pages", "media")}[collection]
        taken = {p["slug"] for c in among for p in self._cms[c] if p["id"] != own_id}
        if wanted not in taken:
            return wanted
        n = 2
        while f"{wanted}-{n}" in taken:
            n += 1
        return f"{wanted}-{n}"

    def _take_cms_id(self) -> int:
        """The next id of the CMS (posts, pages and media share one counter, as in WordPress); lock held."""
        new_id = int(self._cms["next_id"])
        self._cms["next_id"] = new_id + 1
        return new_id

    @staticmethod
    def _json_body(body: bytes) -> dict[str, Any] | Response:
        try:
            return json_object(body, empty_is_object=True)
        except BodyError:
            return wp_error("rest_invalid_json", "Invalid JSON body passed.", 400)

    @staticmethod
    def _wp_text(value: Any) -> str | None:
        """WordPress accepts a field as a string or as ``{"raw": ...}``."""
        if isinstance(value, dict):
            value = value.get("raw", value.get("rendered"))
        if value is None:
            return None
        return str(value)

    def _apply_post_fields(self, post: dict[str, Any], data: Mapping[str, Any], kind: CmsKind,
                           user: CmsAccount | None) -> Response | None:
        if "status" in data:
            status = str(data["status"])
            if status not in WP_STATUSES:
                return wp_error("rest_invalid_param", "Invalid parameter(s): status", 400,
                                params={"status": f"status is not one of {', '.join(WP_STATUSES)}."})
            if status in ("publish", "private") and not (user and user.can(f"publish_{cms_wp.plural(kind.type)}")):
                return wp_error("rest_cannot_publish", "Sorry, you are not allowed to publish posts in this post "
                                "type.", cms_wp.denied_status(user))
            post["status"] = status
        error = self._apply_meta(post, data, kind)
        if error is not None:
            return error
        if "title" in data:
            post["title"] = {"raw": self._wp_text(data["title"]) or ""}
        if "content" in data:
            post["content"] = {"raw": self._wp_text(data["content"]) or ""}
        if "comment_status" in data:  # WordPress: comments closed on pages by default (get_default_comment_status)
            if data["comment_status"] not in ("open", "closed"):
                return wp_error("rest_invalid_param", "Invalid parameter(s): comment_status", 400,
                                params={"comment_status": "comment_status is not one of open and closed."})
            post["comment_status"] = data["comment_status"]
        return None

    def _cms_create(self, kind: CmsKind, body: bytes, user: CmsAccount | None) -> Response:
        if not cms_wp.can_edit_type(user, kind.type):
            return wp_error("rest_cannot_create", "Sorry, you are not allowed to create posts as this user.",
                            cms_wp.denied_status(user))
        data = self._json_body(body)
        if isinstance(data, Response):
            return data
        title = self._wp_text(data.get("title"))
        content = self._wp_text(data.get("content"))
        missing = [name for name, value in (("title", title), ("content", content)) if not (value or "").strip()]
        if missing:
            return wp_error("rest_invalid_param", f"Invalid parameter(s): {', '.join(missing)}", 400,
                            params={name: f"{name} is required." for name in missing})
        with self._lock:
            now = now_iso()
            post: dict[str, Any] = {"id": 0, "date": now, "modified": now, "slug": "", "type": kind.type,
                                    "status": "draft", "link": "", "author": user.id if user else 0,
                                    "comment_status": "closed" if kind is CMS_PAGE else "open",
                                    "title": {}, "content": {}, "meta": {}}
            error = self._apply_post_fields(post, data, kind, user)
            if error is not None:
                return error
            post_id = post["id"] = self._take_cms_id()
            slug = self._unique_slug(_slugify(str(data.get("slug") or "") or title or ""),
                                     collection=kind.collection)
            post["slug"] = slug
            post["link"] = f"{self.url}{kind.public_prefix}{slug}"
            self._cms[kind.collection].append(post)
            self._save_cms()
            return json_response(self._show(post, kind, True), 201, {"Location": f"{self.url}{kind.path}/{post_id}"})

    def _cms_update(self, kind: CmsKind, post_id: int, body: bytes, user: CmsAccount | None) -> Response:
        data = self._json_body(body)
        if isinstance(data, Response):
            return data
        with self._lock:
            current = self._find_post(post_id, kind)
            if current is None:
                return wp_error("rest_post_invalid_id", "Invalid post ID.", 404)
            if not cms_wp.can_edit(user, current, kind.type):
                return wp_error("rest_cannot_edit", "Sorry, you are not allowed to edit this post.",
                                cms_wp.denied_status(user))
            post = json.loads(json.dumps(current))
            error = self._apply_post_fields(post, data, kind, user)
            if error is not None:
                return error
            if data.get("slug"):
                post["slug"] = self._unique_slug(_slugify(str(data["slug"])), own_id=post_id,
                                                 collection=kind.collection)
                post["link"] = f"{self.url}{kind.public_prefix}{post['slug']}"
            post["modified"] = now_iso()
            current.clear()
            current.update(post)
            self._save_cms()
            return json_response(self._show(post, kind, True))

    def _cms_delete(self, kind: CmsKind, post_id: int, query: Mapping[str, str], user: CmsAccount | None) -> Response:
        force = _truthy(query.get("force"))
        with self._lock:
            post = self._find_post(post_id, kind)
            if post is None:
                return wp_error("rest_post_invalid_id", "Invalid post ID.", 404)
            if not cms_wp.can_delete(user, post, kind.type):
                return wp_error("rest_cannot_delete", "Sorry, you are not allowed to delete this post.",
                                cms_wp.denied_status(user))
            if force:
                self._cms[kind.collection].remove(post)
                self._save_cms()
                return json_response({"deleted": True, "previous": self._show(post, kind, True)})
            if post["status"] == "trash":
                return wp_error("rest_already_trashed", "The post has already been deleted.", 410)
            # WordPress frees the slug of a trashed post by renaming it.
            post["status"] = "trash"
            post["slug"] = post["slug"] + "__trashed"
            post["modified"] = now_iso()
            self._save_cms()
            return json_response(self._show(post, kind, True))

    @staticmethod
    def _wp_paging(query: Mapping[str, str]) -> tuple[int, int] | Response:
        per_page = int_param(query, "per_page", 10)
        page = int_param(query, "page", 1)
        if not 1 <= per_page <= 100:
            return wp_error("rest_invalid_param", "Invalid parameter(s): per_page", 400,
                            params={"per_page": "per_page must be between 1 (inclusive) and 100 (inclusive)"})
        if page < 1:
            return wp_error("rest_invalid_param", "Invalid parameter(s): page", 400,
                            params={"page": "page must be greater than or equal to 1"})
        return per_page, page

    @staticmethod
    def _wp_page_of(items: list[dict[str, Any]], per_page: int, page: int) -> Response:
        """One page of ``items`` (newest id first) with WordPress' X-WP-Total / X-WP-TotalPages."""
        items = sorted(items, key=lambda p: p["id"], reverse=True)
        total = len(items)
        total_pages = math.ceil(total / per_page)
        if total and page > total_pages:
            return wp_error("rest_post_invalid_page_number",
                            "The page number requested is larger than the number of pages available.", 400)
        chunk = items[(page - 1) * per_page: page * per_page]
        return json_response(chunk, headers={"X-WP-Total": str(total), "X-WP-TotalPages": str(total_pages)})

    def _cms_list(self, kind: CmsKind, query: Mapping[str, str], user: CmsAccount | None) -> Response:
        paging = self._wp_paging(query)
        if isinstance(paging, Response):
            return paging
        statuses_param = query.get("status", "publish") or "publish"
        wanted = set(statuses_param.split(","))
        if wanted != {"publish"} and not cms_wp.can_edit_type(user, kind.type):
            # WordPress: a 400 on the parameter, with the 401/403 inside its details
            code = cms_wp.denied_status(user)
            return wp_error("rest_invalid_param", "Invalid parameter(s): status", 400,
                            params={"status": "Status is forbidden."},
                            details={"status": {"code": "rest_forbidden_status", "message": "Status is forbidden.",
                                                "data": {"status": code}}})
        statuses = set(WP_STATUSES) if "any" in wanted else wanted
        edit = self._context(query, user, kind)
        if isinstance(edit, Response):
            return edit
        slugs = {s for s in query.get("slug", "").split(",") if s}
        with self._lock:
            posts = [
                self._show(p, kind, edit) for p in self._cms[kind.collection]
                if p["status"] in statuses and (not slugs or p["slug"] in slugs)
                and cms_wp.can_read(user, p, kind.type)
            ]
            return self._wp_page_of(posts, *paging)

    def public(self, kind: CmsKind, request: Request) -> Response:
        """The public page of a published post (``/tin-tuc/{slug}``) or page (``/trang/{slug}``)."""
        slug = request.tail(kind.public_prefix)
        with self._lock:
            post = next((p for p in self._cms[kind.collection] if p["slug"] == slug and p["status"] == "publish"),
                        None)
        if post is None:
            what = "bài viết" if kind is CMS_POST else "trang"
            return html_response(html_page("Không tìm thấy", f"<p>Không tìm thấy {what}.</p>"), 404)
        css = "post" if kind is CMS_POST else "page"
        title = cms_wp.render_title(post["title"]["raw"])
        body = (f'<article class="{css}"><h1 class="entry-title">{title}</h1>'
                f'<div class="entry-content">{cms_wp.render_content(post["content"]["raw"])}</div></article>')
        return html_response(html_page(html.unescape(title), body))

    # -- the signed-in account -----------------------------------------------------------------------

    def users_me(self, request: Request) -> Response:
        """``GET /wp-json/wp/v2/users/me``: 401 ``rest_not_logged_in`` to a visitor."""
        user = self._user(request)
        if user is None:
            return wp_error("rest_not_logged_in", "You are not currently logged in.", 401)
        out: dict[str, Any] = {"id": user.id, "name": user.login, "slug": user.login, "meta": []}
        if request.query.get("context") == "edit":
            out |= {"username": user.login, "roles": [user.role], "capabilities": user.capabilities(),
                    "extra_capabilities": {user.role: True}}
        return json_response(out)

    # -- CMS media (WordPress attachments) -----------------------------------------------------------

    def media(self, request: Request) -> Response:
        """``/wp-json/wp/v2/media`` and ``/wp-json/wp/v2/media/{id}``."""
        method, query, headers, body = request.method, request.query, request.headers, request.body
        user = self._user(request)
        rest = request.tail(CMS_MEDIA_PATH).strip("/")
        if not rest:
            if method == "GET":
                return self._media_list(query, user)
            if method == "POST":
                return self._media_upload(query, headers, body, user)
            return wp_error(*WP_NO_ROUTE)
        if not rest.isdigit():
            return wp_error(*WP_NO_ROUTE)
        media_id = int(rest)
        if method == "GET":
            edit = self._context(query, user, CMS_MEDIA)
            if isinstance(edit, Response):
                return edit
            with self._lock:
                media = self._find_post(media_id, CMS_MEDIA)
                if media is None:
                    return wp_error("rest_post_invalid_id", "Invalid post ID.", 404)
                return json_response(self._show(media, CMS_MEDIA, edit))
        if method in ("POST", "PUT", "PATCH"):
            return self._media_update(media_id, body, user)
        if method == "DELETE":
            return self._media_delete(media_id, query, user)
        return wp_error(*WP_NO_ROUTE)

    def _parent(self, value: Any) -> int | Response:
        """The ``post`` a media item is attached to (0: none); an unknown id is WordPress' 400."""
        try:
            parent = int(value or 0)
        except (TypeError, ValueError):
            return wp_error("rest_invalid_param", "Invalid parameter(s): post", 400,
                            params={"post": "post is not of type integer."})
        if parent and self._find_post(parent, CMS_POST) is None and self._find_post(parent, CMS_PAGE) is None:
            return wp_error("rest_invalid_param", "Invalid parameter(s): post", 400,
                            params={"post": "Invalid post ID."})
        return parent

    def _media_upload(self, query: Mapping[str, str], headers: Mapping[str, str], body: bytes,
                      user: CmsAccount | None) -> Response:
        if not (user and user.can("upload_files")):
            return wp_error("rest_cannot_create", "Sorry, you are not allowed to create posts as this user.",
                            cms_wp.denied_status(user))
        if not body:
            return wp_error("rest_upload_no_data", "No data supplied.", 400)
        disposition = headers.get("Content-Disposition")
        if not disposition:
            return wp_error("rest_upload_no_content_disposition", "No Content-Disposition supplied.", 400)
        filename = _content_disposition_filename(disposition)
        if not filename:
            return wp_error("rest_upload_invalid_disposition", "Invalid Content-Disposition supplied. "
                            'Content-Disposition needs to be formatted as `attachment; filename="image.png"` or '
                            "similar.", 400)
        content_type = (headers.get("Content-Type") or "").strip()
        if not content_type:
            content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        stored_base = _upload_name(filename)
        stem = stored_base.rsplit(".", 1)[0] if "." in stored_base.strip(".") else stored_base
        with self._lock:
            parent = self._parent(query.get("post"))
            if isinstance(parent, Response):
                return parent
            media_id = self._take_cms_id()
            stored_name = f"{media_id}-{stored_base}"
            media_dir = self.state_dir / MEDIA_DIR
            media_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(media_dir / stored_name, body)
            media = {
                "id": media_id,
                "date": now_iso(),
                "slug": self._unique_slug(_slugify(query.get("slug") or stem), collection=CMS_MEDIA.collection),
                "type": "attachment",
                "status": "inherit",
                "author": user.id,
                "post": parent or None,
                "title": {"raw": query.get("title") or stem},
                "mime_type": content_type,
                "media_type": "image" if content_type.lower().startswith("image/") else "file",
                "source_url": f"{self.url}{CMS_UPLOADS_PREFIX}{stored_name}",
                "media_details": {"filesize": len(body)},
            }
            self._cms["media"].append(media)
            self._save_cms()
            return json_response(self._show(media, CMS_MEDIA, True), 201,
                                 {"Location": f"{self.url}{CMS_MEDIA_PATH}/{media_id}"})

    def _media_update(self, media_id: int, body: bytes, user: CmsAccount | None) -> Response:
        """JSON ``title``, ``slug`` and ``post`` of an uploaded file (the file itself never changes)."""
        data = self._json_body(body)
        if isinstance(data, Response):
            return data
        with self._lock:
            current = self._find_post(media_id, CMS_MEDIA)
            if current is None:
                return wp_error("rest_post_invalid_id", "Invalid post ID.", 404)
            if not cms_wp.can_edit(user, current, "attachment"):
                return wp_error("rest_cannot_edit", "Sorry, you are not allowed to edit this post.",
                                cms_wp.denied_status(user))
            media = json.loads(json.dumps(current))
            error = self._apply_meta(media, data, CMS_MEDIA)
            if error is not None:
                return error
            if "title" in data:
                media["title"] = {"raw": self._wp_text(data["title"]) or ""}
            if data.get("slug"):
                media["slug"] = self._unique_slug(_slugify(str(data["slug"])), own_id=media_id,
                                                  collection=CMS_MEDIA.collection)
            if "post" in data:
                parent = self._parent(data["post"])
                if isinstance(parent, Response):
                    return parent
                media["post"] = parent or None
            current.clear()
            current.update(media)
            self._save_cms()
            return json_response(self._show(media, CMS_MEDIA, True))

    def _media_delete(self, media_id: int, query: Mapping[str, str], user: CmsAccount | None) -> Response:
        force = _truthy(query.get("force"))
        with self._lock:
            media = self._find_post(media_id, CMS_MEDIA)
            if media is None:
                return wp_error("rest_post_invalid_id", "Invalid post ID.", 404)
            if not cms_wp.can_delete(user, media, "attachment"):
                return wp_error("rest_cannot_delete", "Sorry, you are not allowed to delete this post.",
                                cms_wp.denied_status(user))
            if not force:
                return wp_error("rest_trash_not_supported",
                                "The post does not support trashing. Set 'force=true' to delete.", 501)
            self._cms["media"].remove(media)
            self._save_cms()
            (self.state_dir / MEDIA_DIR / self._media_stored_name(media)).unlink(missing_ok=True)
            return json_response({"deleted": True, "previous": self._show(media, CMS_MEDIA, True)})

    @staticmethod
    def _media_stored_name(media: Mapping[str, Any]) -> str:
        return str(media["source_url"]).rsplit("/", 1)[-1]

    def _media_list(self, query: Mapping[str, str], user: CmsAccount | None) -> Response:
        paging = self._wp_paging(query)
        if isinstance(paging, Response):
            return paging
        status = query.get("status")
        if status and any(s not in MEDIA_STATUSES for s in status.split(",")):
            return wp_error("rest_invalid_param", "Invalid parameter(s): status", 400,
                            params={"status": "status[0] is not one of inherit, private, and trash."})
        edit = self._context(query, user, CMS_MEDIA)
        if isinstance(edit, Response):
            return edit
        slugs = {s for s in query.get("slug", "").split(",") if s}
        parents = {int(p) for p in query.get("parent", "").split(",") if p.strip().isdigit()}
        with self._lock:
            items = [self._show(m, CMS_MEDIA, edit) for m in self._cms["media"]
                     if (not slugs or m["slug"] in slugs) and (not parents or (m.get("post") or 0) in parents)
                     and (not edit or cms_wp.can_edit(user, m, "attachment"))]
            return self._wp_page_of(items, *paging)

    def uploads(self, request: Request) -> Response:
        """An uploaded file (no sign-in, as a web server serves ``wp-content/uploads``)."""
        name = request.tail(CMS_UPLOADS_PREFIX)
        prefix = name.split("-", 1)[0]
        with self._lock:
            media = self._find_post(int(prefix), CMS_MEDIA) if prefix.isdigit() else None
            if media is None or self._media_stored_name(media) != name:
                return Response(404, b"File not found", TEXT_TYPE)
            stored = self.state_dir / MEDIA_DIR / name
            try:
                data = stored.read_bytes()
            except FileNotFoundError:
                return Response(404, b"File not found", TEXT_TYPE)
            return Response(200, data, str(media["mime_type"]))
