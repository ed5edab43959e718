"""What every parser of a source's HTML shares: decoding a page, knowing whether it arrived whole, and
accepting a link only when it is an absolute http(s) URL (pure functions, no network)."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup
from bs4.dammit import UnicodeDammit

END_MARKER = "</html>"  # every real page of the sources ends with it (see ../shared/reference)
END_WINDOW = 4096  # characters at the end of a page where the end marker must be
LINK_SCHEMES = ("http", "https")

_SURROGATE = re.compile(r"[\ud800-\udfff]")
_URL_JUNK = re.compile(r"[\t\n\r]")  # what browsers drop from inside a URL (WHATWG URL: tab or newline)


def decode_page(html: str | bytes) -> str:
    """A page as NFC text: bytes decoded from their declared charset (BOM, <meta>), else guessed;
    lone surrogates (which no encoding can carry) replaced."""
    if isinstance(html, bytes):
        decoded = UnicodeDammit(html, is_html=True).unicode_markup
        html = decoded if decoded is not None else html.decode("utf-8", errors="replace")
    return unicodedata.normalize("NFC", _SURROGATE.sub("\ufffd", html))


def soup_of(html: str | bytes) -> BeautifulSoup:
    """Parse a page (see :func:`decode_page`); the markup is NFC before parsing so selectors on text
    (:-soup-contains) see NFC too."""
    return BeautifulSoup(decode_page(html), "lxml")


def is_whole(text: str, marker: str | None = END_MARKER) -> bool:
    """Did the page arrive whole, i.e. does its end hold ``marker`` (case-insensitive)? A body cut short
    (a truncated transfer, a proxy timing out) parses without error and looks like a shorter page:
    without this check a listing cut before its "next" link reads as the last page. ``None``: no check."""
    return marker is None or marker.lower() in text[-END_WINDOW:].lower()


def http_link(base: str, raw: object) -> str | None:
    """``raw`` (an href as written) as an absolute http(s) URL resolved against ``base``; None for
    anything else: empty, a fragment, ``javascript:``, ``data:``, ``file:``, ``vbscript:``, ``mailto:``,
    no host, or not a URL at all. Entities are not decoded again (the HTML parser did)."""
    if not isinstance(raw, str):
        return None
    href = _URL_JUNK.sub("", raw).strip(" \x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f"
                                         "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f")
    if not href or href.startswith("#"):
        return None
    try:
        url = urljoin(base, href)
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # e.g. "http://[::1" (an unclosed IPv6 literal)
        return None
    if parts.scheme.lower() not in LINK_SCHEMES or not host or "\x00" in url:
        return None
    return url
