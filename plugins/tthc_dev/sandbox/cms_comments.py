"""The CMS's comments: WordPress' ``/wp-json/wp/v2/comments`` as the feedback stage uses it.

Copied from WordPress 6.1's ``WP_REST_Comments_Controller`` (and checked against a real one by
``tests/feedback/test_wordpress_contract.py``):

* ``GET /wp-json/wp/v2/comments``: ``post``, ``parent``, ``author`` (comma lists of ids), ``status``
  (default ``approve``; ``hold``, ``all``, ``spam``, ``trash``), ``per_page`` (1–100, default 10),
  ``page``, ``order`` (default ``desc``) by ``orderby`` ``date_gmt`` or ``id``, ``context``; the
  ``X-WP-Total`` / ``X-WP-TotalPages`` headers. Any ``status`` but ``approve`` (and ``author``) without
  ``edit_posts``: 401/403 ``rest_forbidden_param``; ``context=edit`` without ``moderate_comments``: 401/403
  ``rest_forbidden_context``. A comment that is not approved is listed only to who may edit its post.
* what a comment shows: ``status`` ``approved`` / ``hold`` / ``spam`` / ``trash`` (not the query's
  ``approve``); ``content.rendered`` reformatted like ``comment_text`` (``wpautop`` + ``wptexturize``);
  ``content.raw``, ``author_email``, ``author_ip`` and ``author_user_agent`` only with ``context=edit``.
* ``POST /wp-json/wp/v2/comments``: a visitor is refused (401 ``rest_comment_login_required``: anonymous
  REST comments are off in core); ``post`` missing or unknown: 403 ``rest_comment_invalid_post_id``; a
  draft: 403 ``rest_comment_draft_post``; comments closed (pages are closed by default): 403
  ``rest_comment_closed``; ``status`` without ``moderate_comments``: 403 ``rest_comment_invalid_status``;
  the same content by the same author under the same post and parent: 409 ``comment_duplicate``.
  A moderator's comment is approved at once. 201 with the comment in the ``edit`` context.
* ``GET|POST|PUT|PATCH /wp-json/wp/v2/comments/{id}``: one comment; update ``status``, ``content``,
  ``author_name`` (who may edit its post); 404 ``rest_comment_invalid_id``.

Visitors leave comments through the site's form (``wp-comments-post.php``), not the REST API: the
sandbox's :meth:`CmsComments.visitor_comment` (and ``POST /_sandbox/cms/comments``) plays that part,
held for moderation as a first comment by an unknown visitor is. State: ``cms_comments.json``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tthc_dev.sandbox import cms_wp
from tthc_dev.sandbox.cms import CMS_PAGE, CMS_POST, Cms, wp_error
from tthc_dev.sandbox.cms_wp import CmsAccount
from tthc_dev.sandbox.state import Shared, now_iso
from tthc_dev.sandbox.web import BodyError, Request, Response, int_param, json_object, json_response

CMS_COMMENTS_PATH = "/wp-json/wp/v2/comments"
SANDBOX_COMMENTS_PATH = "/_sandbox/cms/comments"
COMMENTS_FILE = "cms_comments.json"
# the stored comment_approved value → the REST status; the query's names → stored values
SHOWN_STATUS = {"1": "approved", "0": "hold", "spam": "spam", "trash": "trash"}
QUERY_STATUS = {"approve": {"1"}, "approved": {"1"}, "hold": {"0"}, "all": {"0", "1"}, "spam": {"spam"},
                "trash": {"trash"}}
UPDATE_STATUS = {"approved": "1", "approve": "1", "1": "1", "hold": "0", "0": "0", "spam": "spam", "trash": "trash"}


def _ids(value: str | None) -> set[int]:
    return {int(v) for v in (value or "").split(",") if v.strip().isdigit()}


class CmsComments:
    def __init__(self, shared: Shared, cms: Cms) -> None:
        self._shared, self._lock, self.cms = shared, shared.lock, cms
        self._state = shared.load(COMMENTS_FILE, {"next_id": 1, "comments": []})

    def reset(self) -> None:
        with self._lock:
            self._state = {"next_id": 1, "comments": []}
            self._save()

    def _save(self) -> None:
        self._shared.save(COMMENTS_FILE, self._state)

    def _post(self, post_id: int) -> tuple[dict[str, Any], str] | None:
        for kind in (CMS_PAGE, CMS_POST):
            found = self.cms._find_post(post_id, kind)  # noqa: SLF001 - one room of one CMS
            if found is not None:
                return found, kind.type
        return None

    def _can_edit_post_of(self, user: CmsAccount | None, comment: Mapping[str, Any]) -> bool:
        found = self._post(int(comment["post"]))
        return found is not None and cms_wp.can_edit(user, found[0], found[1])

    def _readable(self, user: CmsAccount | None, comment: Mapping[str, Any]) -> bool:
        found = self._post(int(comment["post"]))
        if found and comment["approved"] == "1" and cms_wp.can_read(user, found[0], found[1]):
            return True
        return user is not None and (comment.get("user_id") == user.id or self._can_edit_post_of(user, comment))

    def _show(self, comment: Mapping[str, Any], edit: bool) -> dict[str, Any]:
        found = self._post(int(comment["post"]))
        link = f"{found[0].get('link', '')}#comment-{comment['id']}" if found else ""
        out = {"id": comment["id"], "post": comment["post"], "parent": comment["parent"],
               "author": comment.get("user_id") or 0, "author_name": comment["author_name"], "author_url": "",
               "date": comment["date"], "date_gmt": comment["date_gmt"],
               "content": {"rendered": cms_wp.render_content(comment["content"])}, "link": link,
               "status": SHOWN_STATUS[comment["approved"]], "type": "comment", "meta": []}
        if edit:
            out["content"]["raw"] = comment["content"]
            out |= {"author_email": comment.get("author_email", ""), "author_ip": comment.get("author_ip", ""),
                    "author_user_agent": comment.get("user_agent", "")}
        return out

    # -- the site's comment form (a visitor) ---------------------------------------------------------

    def visitor_comment(self, post_id: int, author_name: str, author_email: str, content: str,
                        date_gmt: str | None = None, approved: bool = False) -> dict[str, Any]:
        """A comment left through the public form, held for moderation (``approved``: already approved)."""
        with self._lock:
            if self._post(post_id) is None:
                raise ValueError(f"no post or page {post_id}")
            gmt = date_gmt or datetime.now(UTC).replace(microsecond=0, tzinfo=None).isoformat()
            comment = {"id": self._take_id(), "post": post_id, "parent": 0, "user_id": 0,
                       "author_name": author_name, "author_email": author_email, "author_ip": "127.0.0.1",
                       "user_agent": "sandbox", "date": gmt, "date_gmt": gmt, "content": content,
                       "approved": "1" if approved else "0"}
            self._state["comments"].append(comment)
            self._save()
            return self._show(comment, True)

    def sandbox_route(self, request: Request) -> Response:
        """``POST /_sandbox/cms/comments`` {post, author_name, author_email, content, date_gmt}."""
        if request.method != "POST":
            return json_response({"error": "POST only"}, 405)
        try:
            data = json_object(request.body)
            shown = self.visitor_comment(int(data["post"]), str(data.get("author_name") or ""),
                                         str(data.get("author_email") or ""), str(data.get("content") or ""),
                                         data.get("date_gmt"), bool(data.get("approved")))
        except (BodyError, KeyError, TypeError, ValueError) as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response(shown, 201)

    def _take_id(self) -> int:
        new_id = int(self._state["next_id"])
        self._state["next_id"] = new_id + 1
        return new_id

    # -- the REST API ----------------------------------------------------------------------------------

    def route(self, request: Request) -> Response:
        user = self.cms._user(request)  # noqa: SLF001 - the CMS signs its accounts in
        rest = request.tail(CMS_COMMENTS_PATH).strip("/")
        if not rest:
            if request.method == "GET":
                return self._list(request.query, user)
            if request.method == "POST":
                return self._create(request.body, user)
            return wp_error("rest_no_route", "No route was found matching the URL and request method.", 404)
        if not rest.isdigit():
            return wp_error("rest_no_route", "No route was found matching the URL and request method.", 404)
        if request.method == "GET":
            return self._one(int(rest), request.query, user)
        if request.method in ("POST", "PUT", "PATCH"):
            return self._update(int(rest), request.body, user)
        return wp_error("rest_no_route", "No route was found matching the URL and request method.", 404)

    @staticmethod
    def _edit_context(query: Mapping[str, str], user: CmsAccount | None) -> bool | Response:
        context = query.get("context", "view") or "view"
        if context not in ("view", "embed", "edit"):
            return wp_error("rest_invalid_param", "Invalid parameter(s): context", 400)
        if context == "edit" and not (user and user.can("moderate_comments")):
            return wp_error("rest_forbidden_context", "Sorry, you are not allowed to edit comments.",
                            cms_wp.denied_status(user))
        return context == "edit"

    def _list(self, query: Mapping[str, str], user: CmsAccount | None) -> Response:
        status = query.get("status", "approve") or "approve"
        forbidden = [p for p in ("author", "author_email") if query.get(p)] + (["status"] if status != "approve" else [])
        if forbidden and not (user and user.can("edit_posts")):
            return wp_error("rest_forbidden_param", f"Query parameter not permitted: {', '.join(forbidden)}",
                            cms_wp.denied_status(user))
        edit = self._edit_context(query, user)
        if isinstance(edit, Response):
            return edit
        if status not in QUERY_STATUS:
            return json_response([], headers={"X-WP-Total": "0", "X-WP-TotalPages": "0"})
        per_page, page = int_param(query, "per_page", 10), int_param(query, "page", 1)
        if not 1 <= per_page <= 100 or page < 1:
            return wp_error("rest_invalid_param", "Invalid parameter(s): per_page", 400)
        posts, parents, authors = _ids(query.get("post")), _ids(query.get("parent")), _ids(query.get("author"))
        wanted = QUERY_STATUS[status]
        with self._lock:
            items = [c for c in self._state["comments"]
                     if c["approved"] in wanted and (not posts or c["post"] in posts)
                     and ("parent" not in query or c["parent"] in parents)
                     and (not authors or (c.get("user_id") or 0) in authors) and self._readable(user, c)]
            by = "id" if query.get("orderby") == "id" else "date_gmt"
            items.sort(key=lambda c: (c[by], c["id"]), reverse=(query.get("order", "desc") != "asc"))
            total = len(items)
            pages = math.ceil(total / per_page)
            if total and page > pages:
                return wp_error("rest_comment_invalid_page_number",
                                "The page number requested is larger than the number of pages available.", 400)
            chunk = [self._show(c, bool(edit)) for c in items[(page - 1) * per_page: page * per_page]]
        return json_response(chunk, headers={"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)})

    def _find(self, comment_id: int) -> dict[str, Any] | None:
        return next((c for c in self._state["comments"] if c["id"] == comment_id), None)

    def _one(self, comment_id: int, query: Mapping[str, str], user: CmsAccount | None) -> Response:
        edit = self._edit_context(query, user)
        if isinstance(edit, Response):
            return edit
        with self._lock:
            comment = self._find(comment_id)
            if comment is None:
                return wp_error("rest_comment_invalid_id", "Invalid comment ID.", 404)
            if not self._readable(user, comment):
                return wp_error("rest_cannot_read", "Sorry, you are not allowed to read this comment.",
                                cms_wp.denied_status(user))
            return json_response(self._show(comment, bool(edit)))

    def _create(self, body: bytes, user: CmsAccount | None) -> Response:
        if user is None:
            return wp_error("rest_comment_login_required", "Sorry, you must be logged in to comment.", 401)
        try:
            data = json_object(body, empty_is_object=True)
        except BodyError:
            return wp_error("rest_invalid_json", "Invalid JSON body passed.", 400)
        if "status" in data and not user.can("moderate_comments"):
            return wp_error("rest_comment_invalid_status",
                            "Sorry, you are not allowed to edit 'status' for comments.", 403)
        try:
            post_id, parent = int(data.get("post") or 0), int(data.get("parent") or 0)
        except (TypeError, ValueError):
            return wp_error("rest_invalid_param", "Invalid parameter(s): post", 400)
        content = data.get("content")
        content = str(content.get("raw", "") if isinstance(content, dict) else content or "")
        with self._lock:
            found = self._post(post_id) if post_id else None
            if found is None:
                return wp_error("rest_comment_invalid_post_id", "Sorry, you are not allowed to create this comment "
                                "without a post.", 403)
            post, post_type = found
            if post["status"] == "draft":
                return wp_error("rest_comment_draft_post", "Sorry, you are not allowed to create a comment on this "
                                "post.", 403)
            if post.get("comment_status", "closed" if post_type == "page" else "open") != "open":
                return wp_error("rest_comment_closed", "Sorry, comments are closed for this item.", 403)
            if not content.strip():
                return wp_error("rest_comment_content_invalid", "Invalid comment content.", 400)
            for c in self._state["comments"]:
                if (c["post"], c["parent"], c["content"]) == (post_id, parent, content) and c["approved"] != "trash" \
                        and (c.get("user_id") == user.id or c["author_name"] == user.login):
                    return wp_error("comment_duplicate", "Duplicate comment detected; it looks as though "
                                    "you\u2019ve already said that!", 409)
            approved = "1" if user.can("moderate_comments") or post.get("author") == user.id else "0"
            if "status" in data:
                approved = UPDATE_STATUS.get(str(data["status"]), approved)
            now = now_iso()
            gmt = datetime.now(UTC).replace(microsecond=0, tzinfo=None).isoformat()
            comment = {"id": self._take_id(), "post": post_id, "parent": parent, "user_id": user.id,
                       "author_name": user.login, "author_email": f"{user.login}@example.invalid",
                       "author_ip": "127.0.0.1", "user_agent": "", "date": now, "date_gmt": gmt,
                       "content": content, "approved": approved}
            self._state["comments"].append(comment)
            self._save()
            return json_response(self._show(comment, True), 201)

    def _update(self, comment_id: int, body: bytes, user: CmsAccount | None) -> Response:
        try:
            data = json_object(body, empty_is_object=True)
        except BodyError:
            return wp_error("rest_invalid_json", "Invalid JSON body passed.", 400)
        with self._lock:
            current = self._find(comment_id)
            if current is None:
                return wp_error("rest_comment_invalid_id", "Invalid comment ID.", 404)
            if not (user and (user.can("moderate_comments") or self._can_edit_post_of(user, current))):
                return wp_error("rest_cannot_edit", "Sorry, you are not allowed to edit this comment.",
                                cms_wp.denied_status(user))
            comment = json.loads(json.dumps(current))
            if "status" in data:
                if str(data["status"]) not in UPDATE_STATUS:
                    return wp_error("rest_invalid_param", "Invalid parameter(s): status", 400)
                comment["approved"] = UPDATE_STATUS[str(data["status"])]
            if "content" in data:
                value = data["content"]
                comment["content"] = str(value.get("raw", "") if isinstance(value, dict) else value or "")
            if "author_name" in data:
                comment["author_name"] = str(data["author_name"] or "")
            current.clear()
            current.update(comment)
            self._save()
            return json_response(self._show(comment, True))
