"""What makes the sandbox's CMS behave like a real WordPress where the publisher depends on it.

Each rule below was seen on WordPress 6.1.9 (Debian 12's ``wordpress`` package, PHP 8.2, MariaDB
10.11) driven over its REST API, and is checked against one by ``tests/sync/test_cms_contract.py``:

* **accounts** sign in with HTTP Basic auth and an *Application Password* (24 letters and digits,
  shown in groups of four: the spaces are ignored). A Bearer token, a wrong password or an unknown login
  is *anonymous* (WordPress 6.1 answers as to a visitor, not with an authentication error);
* **roles** grant capabilities as WordPress' ``populate_roles()`` does (an Author may publish posts and
  upload files but not touch pages; an Editor may do all the publisher does);
* a list with a **status other than publish** needs ``edit_posts`` of that type: otherwise 400
  ``rest_invalid_param`` whose details say ``rest_forbidden_status`` (401 anonymous, 403 signed in);
  ``context=edit`` without it: ``rest_forbidden_context``; create / edit / delete without the right:
  ``rest_cannot_create`` / ``rest_cannot_edit`` / ``rest_cannot_delete`` (401 anonymous, 403 signed in);
* **meta** keys are kept only when registered (the project's must-use plugin, :data:`PLUGIN_META`),
  others are dropped silently (201, and ``"meta": []`` when none is registered); a registered key
  always shows, ``""`` when unset;
* **raw and rendered**: ``title.raw`` / ``content.raw`` (what was written) only with ``context=edit``;
  ``rendered`` is reformatted (:func:`render_content`, like ``wpautop`` + ``wptexturize``);
* ``GET /wp-json/wp/v2/users/me`` (``capabilities`` with ``context=edit``) and ``OPTIONS`` on a
  collection (its JSON schema, with the registered meta keys).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PLUGIN_META = ("tthc_key", "tthc_hash", "tthc_content_sha")  # include/wordpress/tthc-meta.php

_AUTHOR_CAPS = ("upload_files", "edit_posts", "edit_published_posts", "publish_posts", "read", "delete_posts",
                "delete_published_posts")
_EDITOR_CAPS = (*_AUTHOR_CAPS, "moderate_comments", "manage_categories", "manage_links", "unfiltered_html",
                "edit_others_posts", "edit_pages", "edit_others_pages", "edit_published_pages", "publish_pages",
                "delete_pages", "delete_others_pages", "delete_published_pages", "delete_others_posts",
                "delete_private_posts", "edit_private_posts", "read_private_posts", "delete_private_pages",
                "edit_private_pages", "read_private_pages")
ROLE_CAPABILITIES: dict[str, tuple[str, ...]] = {
    "administrator": (*_EDITOR_CAPS, "manage_options", "edit_users", "list_users", "edit_theme_options"),
    "editor": _EDITOR_CAPS,
    "author": _AUTHOR_CAPS,
    "contributor": ("edit_posts", "read", "delete_posts"),
    "subscriber": ("read",),
}


@dataclass(frozen=True)
class CmsAccount:
    """A WordPress user with one Application Password."""

    id: int
    login: str
    role: str
    app_password: str

    def can(self, capability: str) -> bool:
        return capability in ROLE_CAPABILITIES.get(self.role, ())

    def capabilities(self) -> dict[str, bool]:
        return {cap: True for cap in ROLE_CAPABILITIES.get(self.role, ())} | {self.role: True}


def _bare(password: str) -> str:
    """WordPress compares an Application Password without its spaces (``[^a-z\\d]`` removed)."""
    return re.sub(r"[^A-Za-z0-9]", "", password)


def accounts_from(config: Mapping[str, tuple[str, str]]) -> dict[str, CmsAccount]:
    """``{login: (role, application password)}`` → accounts, ids from 2 (1 is the site's administrator)."""
    return {login: CmsAccount(n, login, role, password)
            for n, (login, (role, password)) in enumerate(config.items(), start=2)}


def signed_in(headers: Mapping[str, str], accounts: Mapping[str, CmsAccount]) -> CmsAccount | None:
    """The account of a Basic-auth request with its Application Password; anyone else is anonymous."""
    scheme, _, value = (headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "basic":
        return None  # Bearer tokens are not WordPress core's: a visitor
    try:
        login, _, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    account = accounts.get(login)
    if account is None or not password or _bare(password) != _bare(account.app_password):
        return None
    return account


# -- capabilities per post type, as WordPress maps them -------------------------------------------


def plural(post_type: str) -> str:
    return "pages" if post_type == "page" else "posts"  # attachments use the posts' capabilities


def can_edit_type(user: CmsAccount | None, post_type: str) -> bool:
    return user is not None and user.can(f"edit_{plural(post_type)}")


def can_edit(user: CmsAccount | None, obj: Mapping[str, Any], post_type: str) -> bool:
    """``edit_post`` of one object (``map_meta_cap``): own, published own, or others'."""
    if user is None:
        return False
    kind = plural(post_type)
    if obj.get("author") not in (None, user.id):
        return user.can(f"edit_others_{kind}")
    if obj.get("status") == "publish":
        return user.can(f"edit_published_{kind}")
    return user.can(f"edit_{kind}")


def can_delete(user: CmsAccount | None, obj: Mapping[str, Any], post_type: str) -> bool:
    if user is None:
        return False
    kind = plural(post_type)
    if obj.get("author") not in (None, user.id):
        return user.can(f"delete_others_{kind}")
    if obj.get("status") == "publish":
        return user.can(f"delete_published_{kind}")
    return user.can(f"delete_{kind}")


def can_read(user: CmsAccount | None, obj: Mapping[str, Any], post_type: str) -> bool:
    """Published (and attached files) for everyone; anything else for who may edit it."""
    return obj.get("status") in ("publish", "inherit") or can_edit(user, obj, post_type)


def denied_status(user: CmsAccount | None) -> int:
    """``rest_authorization_required_code()``: 401 to a visitor, 403 to a signed-in account."""
    return 401 if user is None else 403


# -- meta ------------------------------------------------------------------------------------------


def registered_meta(plugin: bool, post_type: str) -> tuple[str, ...]:
    """The meta keys WordPress keeps on ``post_type`` (the plugin registers them on posts and pages)."""
    return PLUGIN_META if plugin and post_type in ("post", "page") else ()


def shown_meta(stored: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any] | list:
    """``meta`` as WordPress shows it: each registered key (``""`` when unset), ``[]`` when none is."""
    if not keys:
        return []
    return {k: stored.get(k, "") for k in keys}


def meta_schema(keys: tuple[str, ...]) -> dict[str, Any] | list:
    if not keys:
        return []
    return {k: {"type": "string", "description": "tthc-pipeline", "default": ""} for k in keys}


# -- rendered content --------------------------------------------------------------------------------

_BLOCK = re.compile(r"^\s*<(?:table|thead|tbody|tfoot|tr|td|th|div|h[1-6]|ul|ol|li|dl|p|blockquote|pre|figure|"
                    r"section|article|hr|form|address)\b", re.IGNORECASE)
_ENTITY = re.compile(r"&(?!#\d+;|#x[0-9a-fA-F]+;|[A-Za-z][A-Za-z0-9]*;)")


def texturize(text: str) -> str:
    """Like ``wptexturize`` on the text between tags: curly quotes, ``--`` an em dash, a bare ``&`` encoded."""
    parts = re.split(r"(<[^>]*>)", text)
    out = []
    for part in parts:
        if part.startswith("<"):
            out.append(part)
            continue
        part = _ENTITY.sub("&#038;", part)
        part = re.sub(r'(^|[\s(\[{>])"', r"\1&#8220;", part)
        part = part.replace('"', "&#8221;").replace(" -- ", " &#8212; ")
        out.append(part)
    return "".join(out)


def render_content(raw: str) -> str:
    """``content.rendered`` of ``raw``: paragraphs in ``<p>`` (blank lines part them, a single newline
    becomes ``<br />``) unless they begin with a block element, then :func:`texturize` (``wpautop``-like)."""
    blocks = [b.strip("\n") for b in re.split(r"\n\s*\n", raw.replace("\r\n", "\n")) if b.strip()]
    out = [b if _BLOCK.match(b) else "<p>" + b.replace("\n", "<br />\n") + "</p>" for b in blocks]
    return texturize("\n".join(out)) + ("\n" if out else "")


def render_title(raw: str) -> str:
    return texturize(raw)
