"""Make outside text safe to publish.

Names, titles and summaries come from ministry websites and the national portal: they are data, never
markup. Templates autoescape them (a scraped ``<script>`` arrives as ``&lt;script&gt;``); every HTML
body we send then goes through :func:`clean_html` (nh3, an allowlist of tags and attributes) as a second
line of defence; plain-text fields of JSON APIs go through :func:`clean_text`.
"""

from __future__ import annotations

import re
import unicodedata

import nh3

from tthc.core.text import strip_accents

TAGS = {"p", "br", "h2", "h3", "h4", "strong", "em", "b", "i", "u", "ul", "ol", "li", "a", "table", "thead",
        "tbody", "tr", "th", "td", "caption", "span", "div"}
ATTRIBUTES = {"*": {"class"}, "a": {"href", "title"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WS = re.compile(r"[ \t\r\f\v]+")


def clean_html(markup: str) -> str:
    """Only the allowed tags and attributes; scripts, styles, event handlers and javascript: URLs go."""
    return unicodedata.normalize("NFC", nh3.clean(markup, tags=TAGS, attributes=ATTRIBUTES,
                                                  url_schemes={"http", "https", "mailto"}, link_rel=None))


def clean_text(text: str | None) -> str:
    """Plain text for a JSON field: NFC, no control characters, no markup (tags removed, text kept)."""
    if not text:
        return ""
    t = _CONTROL.sub("", unicodedata.normalize("NFC", str(text)))
    if "<" in t:
        # strip tags but keep their text; nh3 escapes what it keeps, so undo that for a plain-text field
        import html

        t = html.unescape(nh3.clean(t, tags=set(), clean_content_tags={"script", "style"}))
    return _WS.sub(" ", t).strip()


def slugify(text: str) -> str:
    """ASCII slug (đ → d, accents dropped), stable for the same text."""
    return re.sub(r"[^a-z0-9]+", "-", strip_accents(text).lower()).strip("-")
