"""Make outside text safe to publish.

Names, titles and summaries come from ministry websites and the national portal: they are data, never
markup. Templates autoescape them (a scraped ``<script>`` arrives as ``&lt;script&gt;``); every HTML
body we send then goes through :func:`clean_html` (nh3, an allowlist of tags and attributes) as a second
line of defence; plain-text fields of JSON APIs go through :func:`clean_text`, whose output never holds a
tag, escaped or not (a receiving system may well render a "plain" field as HTML).
"""

from __future__ import annotations

import re
import unicodedata

import nh3

from tthc.core.text import strip_accents, unescape

TAGS = {"p", "br", "h2", "h3", "h4", "strong", "em", "b", "i", "u", "ul", "ol", "li", "a", "table", "thead",
        "tbody", "tr", "th", "td", "caption", "span", "div"}
ATTRIBUTES = {"*": {"class"}, "a": {"href", "title"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufeff]")  # and the BOM, which the HTML parser drops
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_WS = re.compile(r"[ \t\r\f\v]+")


def clean_html(markup: str) -> str:
    """Only the allowed tags and attributes; scripts, styles, event handlers and javascript: URLs go."""
    markup = _SURROGATE.sub("\ufffd", markup)  # nh3 takes UTF-8: a lone surrogate cannot cross
    return unicodedata.normalize("NFC", nh3.clean(markup, tags=TAGS, attributes=ATTRIBUTES,
                                                  url_schemes={"http", "https", "mailto"}, link_rel=None))


def clean_text(text: str | None) -> str:
    """Plain text for a JSON field: NFC, no control characters, no markup (tags removed, text kept).

    nh3 strips the tags (and the content of scripts and styles) and escapes what it keeps; the escaping
    is then undone by :func:`tthc.core.text.unescape`, which never decodes a ``&lt;`` that would open a
    tag: ``&lt;img onerror=…&gt;`` stays visible text, it never becomes an ``<img>``. Idempotent.
    """
    if not text:
        return ""
    t = _CONTROL.sub("", _SURROGATE.sub("\ufffd", unicodedata.normalize("NFC", str(text))))
    t = unescape(nh3.clean(t, tags=set(), clean_content_tags={"script", "style"}))
    return _WS.sub(" ", unicodedata.normalize("NFC", t)).strip()


def slugify(text: str) -> str:
    """ASCII slug (đ → d, accents dropped), stable for the same text."""
    return re.sub(r"[^a-z0-9]+", "-", strip_accents(text).lower()).strip("-")
