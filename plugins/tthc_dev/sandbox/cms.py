"""The department website's CMS, WordPress REST style (Bearer token ``cms_token``).

Copied from the WordPress REST API (``/wp-json/wp/v2``) as the publishing client uses it:

* posts ``/wp-json/wp/v2/posts`` and pages ``/wp-json/wp/v2/pages`` (same API: ``GET`` lists with
  ``slug``/``status``/``per_page``/``page`` and ``X-WP-Total``/``X-WP-TotalPages``; ``POST`` creates;
  ``GET|POST|PUT|PATCH|DELETE .../{id}``, DELETE trashes unless ``force=true``), one id counter for
  both, separate collections, ``"type": "post"|"page"``; public HTML at ``/tin-tuc/{slug}`` (posts)
  and ``/trang/{slug}`` (pages);
* media ``/wp-json/wp/v2/media``: ``POST`` the raw file (``Content-Disposition: attachment;
  filename="..."``, ``Content-Type``, optional ``?slug=``), ``GET`` list / ``GET .../{id}``,
  ``POST|PUT|PATCH .../{id}`` (JSON ``title``/``slug``/``meta``), ``DELETE .../{id}?force=true``
  (no trash: 501); the files (under ``state_dir/media/``) at ``/wp-content/uploads/{id}-{filename}``.

Errors are WordPress' ``{"code", "message", "data": {"status"}}``. The state (posts, pages, media) is
``cms_posts.json`` under ``state_dir``; the token is checked by the sandbox's dispatch table before
these routes run (a missing or wrong one: :func:`forbidden`).
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
from urllib.parse import unquote

from tthc.core.fsutil import atomic_write_bytes
from tthc.core.sanitize import slugify

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
CMS_PUBLIC_PREFIX = "/tin-tuc/"
CMS_PAGE_PUBLIC_PREFIX = "/trang/"
CMS_UPLOADS_PREFIX = "/wp-content/uploads/"

CMS_STATE_FILE = "cms_posts.json"
MEDIA_DIR = "media"
WP_STATUSES = ("publish", "draft", "pending", "private")


def wp_error(code: str, message: str, status: int, **extra: Any) -> Response:
    return json_response({"code": code, "message": message, "data": {"status": status, **extra}}, status)


def forbidden() -> Response:
    """The 401 of a request without the CMS token."""
    return wp_error("rest_forbidden", "Sorry, you are not allowed to do that.", 401)


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


def _empty_cms() -> dict[str, Any]:
    return {"next_id": 1, "posts": [], "pages": [], "media": []}


def _load_cms(shared: Shared) -> dict[str, Any]:
    """The CMS state; a file written before pages and media existed (``{"next_id", "posts"}``) still loads."""
    cms = shared.load(CMS_STATE_FILE, _empty_cms())
    for key, default in _empty_cms().items():
        cms.setdefault(key, default)
    for kind in (CMS_POST, CMS_PAGE):
        for post in cms[kind.collection]:
            post.setdefault("type", kind.type)
    return cms


def _upload_name(filename: str) -> str:
    """A file name safe in an upload URL (like WordPress' sanitize_file_name, ASCII only)."""
    base = re.split(r"[\\/]", filename)[-1]
    base = re.sub(r"\s+", "-", ascii_fold(nfc(base)).replace("?", ""))
    base = re.sub(r"[^A-Za-z0-9._-]+", "", base).strip(".-_")
    return base or "file"


def _content_disposition_filename(value: str) -> str | None:
    """The file name of a ``Content-Disposition`` header (``filename*=UTF-8''...`` or ``filename=...``)."""
    extended = re.search(r"filename\*\s*=\s*([^;]+)", value, re.IGNORECASE)
    if extended:
        charset, _, encoded = extended.group(1).strip().strip('"').partition("''")
        try:
            name = unquote(encoded, encoding=charset or "utf-8", errors="strict")
        except (LookupError, UnicodeDecodeError):
            name = ""
        if name.strip():
            return name.strip()
    plain = re.search(r'filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))', value, re.IGNORECASE)
    if not plain:
        return None
    name = plain.group(1) if plain.group(1) is not None else plain.group(2)
    name = re.sub(r"\\(.)", r"\1", name)
    try:  # http.server decodes header bytes as Latin-1: undo it for a client that sent UTF-8
        name = name.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    return name.strip() or None


class Cms:
    """The CMS: posts, pages and media, kept in ``cms_posts.json`` (files in ``media/``)."""

    def __init__(self, shared: Shared) -> None:
        self._shared = shared
        self._lock = shared.lock
        self.state_dir = shared.state_dir
        self._cms = _load_cms(shared)

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

    # -- posts and pages ---------------------------------------------------------------------------

    def route(self, kind: CmsKind, request: Request) -> Response:
        """``/wp-json/wp/v2/posts`` or ``/wp-json/wp/v2/pages`` (``kind``) and their ``/{id}``."""
        method, query, body = request.method, request.query, request.body
        rest = request.tail(kind.path).strip("/")
        if not rest:
            if method == "GET":
                return self._cms_list(kind, query)
            if method == "POST":
                return self._cms_create(kind, body)
            return wp_error(*WP_NO_ROUTE)
        if not rest.isdigit():
            return wp_error(*WP_NO_ROUTE)
        post_id = int(rest)
        if method == "GET":
            with self._lock:
                post = self._find_post(post_id, kind)
                if post is None:
                    return wp_error("rest_post_invalid_id", "Invalid post ID.", 404)
                return json_response(post)
        if method in ("POST", "PUT", "PATCH"):
            return self._cms_update(kind, post_id, body)
        if method == "DELETE":
            return self._cms_delete(kind, post_id, query)
        return wp_error(*WP_NO_ROUTE)

    def _find_post(self, post_id: int, kind: CmsKind = CMS_POST) -> dict[str, Any] | None:
        return next((p for p in self._cms[kind.collection] if p["id"] == post_id), None)

    def _unique_slug(self, wanted: str, own_id: int | None = None, collection: str = "posts") -> str:
        """``wanted``, or ``wanted-2``, ``wanted-3``... : unique within one collection (posts, pages, media)."""
        taken = {p["slug"] for p in self._cms[collection] if p["id"] != own_id}
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

    @staticmethod
    def _apply_meta(obj: dict[str, Any], data: Mapping[str, Any]) -> Response | None:
        if "meta" in data and data["meta"] is not None:
            if not isinstance(data["meta"], dict):
                return wp_error("rest_invalid_param", "Invalid parameter(s): meta", 400,
                                params={"meta": "meta is not of type object."})
            obj["meta"] = {**obj.get("meta", {}), **data["meta"]}
        return None

    def _apply_post_fields(self, post: dict[str, Any], data: Mapping[str, Any]) -> Response | None:
        if "status" in data:
            status = str(data["status"])
            if status not in WP_STATUSES:
                return wp_error("rest_invalid_param", "Invalid parameter(s): status", 400,
                                params={"status": f"status is not one of {', '.join(WP_STATUSES)}."})
            post["status"] = status
        error = self._apply_meta(post, data)
        if error is not None:
            return error
        if "title" in data:
            post["title"] = {"rendered": self._wp_text(data["title"]) or ""}
        if "content" in data:
            post["content"] = {"rendered": self._wp_text(data["content"]) or ""}
        return None

    def _cms_create(self, kind: CmsKind, body: bytes) -> Response:
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
                                    "status": "draft", "link": "", "title": {}, "content": {}, "meta": {}}
            error = self._apply_post_fields(post, data)
            if error is not None:
                return error
            post_id = post["id"] = self._take_cms_id()
            slug = self._unique_slug(_slugify(str(data.get("slug") or "") or title or ""),
                                     collection=kind.collection)
            post["slug"] = slug
            post["link"] = f"{self.url}{kind.public_prefix}{slug}"
            self._cms[kind.collection].append(post)
            self._save_cms()
            return json_response(post, 201, {"Location": f"{self.url}{kind.path}/{post_id}"})

    def _cms_update(self, kind: CmsKind, post_id: int, body: bytes) -> Response:
        data = self._json_body(body)
        if isinstance(data, Response):
            return data
        with self._lock:
            current = self._find_post(post_id, kind)
            if current is None:
                return wp_error("rest_post_invalid_id", "Invalid post ID.", 404)
            post = json.loads(json.dumps(current))
            error = self._apply_post_fields(post, data)
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
            return json_response(post)

    def _cms_delete(self, kind: CmsKind, post_id: int, query: Mapping[str, str]) -> Response:
        force = query.get("force", "").lower() in ("1", "true", "yes")
        with self._lock:
            post = self._find_post(post_id, kind)
            if post is None:
                return wp_error("rest_post_invalid_id", "Invalid post ID.", 404)
            if force:
                self._cms[kind.collection].remove(post)
                self._save_cms()
                return json_response({"deleted": True, "previous": post})
            if post["status"] == "trash":
                return wp_error("rest_already_trashed", "The post has already been deleted.", 410)
            # WordPress frees the slug of a trashed post by renaming it.
            post["status"] = "trash"
            post["slug"] = post["slug"] + "__trashed"
            post["modified"] = now_iso()
            self._save_cms()
            return json_response(post)

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

    def _cms_list(self, kind: CmsKind, query: Mapping[str, str]) -> Response:
        paging = self._wp_paging(query)
        if isinstance(paging, Response):
            return paging
        statuses_param = query.get("status", "any") or "any"
        statuses = set(WP_STATUSES) if statuses_param == "any" else set(statuses_param.split(","))
        slugs = {s for s in query.get("slug", "").split(",") if s}
        with self._lock:
            posts = [
                p for p in self._cms[kind.collection]
                if p["status"] in statuses and (not slugs or p["slug"] in slugs)
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
        body = (f'<article class="{css}"><h1 class="entry-title">{html.escape(post["title"]["rendered"])}</h1>'
                f'<div class="entry-content">{post["content"]["rendered"]}</div></article>')
        return html_response(html_page(post["title"]["rendered"], body))

    # -- CMS media (WordPress attachments) -----------------------------------------------------------

    def media(self, request: Request) -> Response:
        """``/wp-json/wp/v2/media`` and ``/wp-json/wp/v2/media/{id}``."""
        method, query, headers, body = request.method, request.query, request.headers, request.body
        rest = request.tail(CMS_MEDIA_PATH).strip("/")
        if not rest:
            if method == "GET":
                return self._media_list(query)
            if method == "POST":
                return self._media_upload(query, headers, body)
            return wp_error(*WP_NO_ROUTE)
        if not rest.isdigit():
            return wp_error(*WP_NO_ROUTE)
        media_id = int(rest)
        if method == "GET":
            with self._lock:
                media = self._find_post(media_id, CMS_MEDIA)
                if media is None:
                    return wp_error("rest_post_invalid_id", "Invalid post ID.", 404)
                return json_response(media)
        if method in ("POST", "PUT", "PATCH"):
            return self._media_update(media_id, body)
        if method == "DELETE":
            return self._media_delete(media_id, query)
        return wp_error(*WP_NO_ROUTE)

    def _media_upload(self, query: Mapping[str, str], headers: Mapping[str, str], body: bytes) -> Response:
        if not body:
            return wp_error("rest_upload_no_data", "No data supplied.", 400)
        filename = _content_disposition_filename(headers.get("Content-Disposition") or "")
        if not filename:
            return wp_error("rest_upload_no_content_disposition", "No Content-Disposition supplied.", 400)
        content_type = (headers.get("Content-Type") or "").strip()
        if not content_type:
            content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        filename = re.split(r"[\\/]", filename)[-1] or filename
        stem = filename.rsplit(".", 1)[0] if "." in filename.strip(".") else filename
        with self._lock:
            media_id = self._take_cms_id()
            stored_name = f"{media_id}-{_upload_name(filename)}"
            media_dir = self.state_dir / MEDIA_DIR
            media_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(media_dir / stored_name, body)
            media = {
                "id": media_id,
                "date": now_iso(),
                "slug": self._unique_slug(_slugify(query.get("slug") or stem), collection=CMS_MEDIA.collection),
                "type": "attachment",
                "title": {"rendered": stem},
                "mime_type": content_type,
                "media_type": "image" if content_type.lower().startswith("image/") else "file",
                "source_url": f"{self.url}{CMS_UPLOADS_PREFIX}{stored_name}",
                "media_details": {"filesize": len(body)},
                "meta": {},
            }
            self._cms["media"].append(media)
            self._save_cms()
            return json_response(media, 201, {"Location": f"{self.url}{CMS_MEDIA_PATH}/{media_id}"})

    def _media_update(self, media_id: int, body: bytes) -> Response:
        """JSON ``title``, ``slug`` and ``meta`` of an uploaded file (the file itself never changes)."""
        data = self._json_body(body)
        if isinstance(data, Response):
            return data
        with self._lock:
            current = self._find_post(media_id, CMS_MEDIA)
            if current is None:
                return wp_error("rest_post_invalid_id", "Invalid post ID.", 404)
            media = json.loads(json.dumps(current))
            error = self._apply_meta(media, data)
            if error is not None:
                return error
            if "title" in data:
                media["title"] = {"rendered": self._wp_text(data["title"]) or ""}
            if data.get("slug"):
                media["slug"] = self._unique_slug(_slugify(str(data["slug"])), own_id=media_id,
                                                  collection=CMS_MEDIA.collection)
            current.clear()
            current.update(media)
            self._save_cms()
            return json_response(media)

    def _media_delete(self, media_id: int, query: Mapping[str, str]) -> Response:
        force = query.get("force", "").lower() in ("1", "true", "yes")
        with self._lock:
            media = self._find_post(media_id, CMS_MEDIA)
            if media is None:
                return wp_error("rest_post_invalid_id", "Invalid post ID.", 404)
            if not force:
                return wp_error("rest_trash_not_supported",
                                "The post does not support trashing. Set 'force=true' to delete.", 501)
            self._cms["media"].remove(media)
            self._save_cms()
            (self.state_dir / MEDIA_DIR / self._media_stored_name(media)).unlink(missing_ok=True)
            return json_response({"deleted": True, "previous": media})

    @staticmethod
    def _media_stored_name(media: Mapping[str, Any]) -> str:
        return str(media["source_url"]).rsplit("/", 1)[-1]

    def _media_list(self, query: Mapping[str, str]) -> Response:
        paging = self._wp_paging(query)
        if isinstance(paging, Response):
            return paging
        slugs = {s for s in query.get("slug", "").split(",") if s}
        with self._lock:
            items = [m for m in self._cms["media"] if not slugs or m["slug"] in slugs]
            return self._wp_page_of(items, *paging)

    def uploads(self, request: Request) -> Response:
        """An uploaded file (no token, as a web server serves ``wp-content/uploads``)."""
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
