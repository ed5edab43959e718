"""Generated inputs for the text helpers (hypothesis): ``core.text`` and ``core.sanitize`` never raise on
any text, ``clean`` and ``clean_text`` are idempotent, and neither ever turns entity-escaped markup
into a live tag ("<" followed by a letter, "/", "!" or "?"); ``clean_text`` never outputs one at all.

The ``run_*`` functions are what ``tests/hypothesis_census.py`` counts errors of on 2,000 inputs each.
"""

from __future__ import annotations

import html
import re
import unicodedata

from hypothesis import given
from hypothesis import strategies as st
from tthc.core.sanitize import clean_html, clean_text
from tthc.core.text import clean, match_key, normalise_so_hieu, search_key, strip_accents

# "<" then an ASCII letter, "/", "!" or "?", also once decomposed: "<í" is "<i" + U+0301 in NFD
LIVE_TAG = re.compile(r"<[A-Za-z/!?]")
EVENT_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)


def live_tag(text: str) -> bool:
    return bool(LIVE_TAG.search(unicodedata.normalize("NFD", text)))


ATOMS = st.sampled_from([
    "<img src=x onerror=alert(1)>", "<script>alert(1)</script>", "</b>", "<b>", "<!--x-->", "<!DOCTYPE html>",
    "<?xml ?>", "<a href='javascript:x'>", "<", ">", "&", ";", "#", "&lt;", "&LT;", "&lt", "&#60;", "&#x3C;",
    "&#0060", "&gt;", "&amp;", "&AMP;", "&amp", "&#38;", "&#x26;", "&amp;lt;", "&amp;amp;lt;", "&#0;", "&#128;",
    "&nbsp;", "&notit;", "&not", "&ecirc;", "&#769;", "&#x301;", "\u0301", "\u0338", "i", "I", "/", "!", "?",
    "í", "ế", "Đ", "ß", "ǰ", "ΐ", " ", "\t", "\n", "\r", "\x00", "\x07", "\x0c", "\ud800", "\ufeff", "\u2028",
    "Thủ tục", "hoà", "KH&CN", "2193/QĐ-UBND.", " ngày 04/12/2025",
])
TEXT = st.one_of(st.lists(st.one_of(ATOMS, st.text(max_size=3)), max_size=16).map("".join), st.text())
MARKUP = st.lists(st.one_of(ATOMS, st.text(alphabet="<>/!?abiIs =\"'", max_size=4)), max_size=12).map("".join)


def escaped(markup: str, times: int) -> str:
    for _ in range(times):
        markup = html.escape(markup)
    return markup


def run_clean(text: str) -> None:
    out = clean(text)
    assert isinstance(out, str) and unicodedata.is_normalized("NFC", out)
    assert clean(out) == out, "clean is not idempotent"


def run_clean_text(text: str) -> None:
    out = clean_text(text)
    assert isinstance(out, str) and unicodedata.is_normalized("NFC", out)
    assert clean_text(out) == out, "clean_text is not idempotent"
    assert not live_tag(out), "clean_text output holds a live tag"


def run_escaped_markup(markup: str, times: int) -> None:
    text = escaped(markup, times)
    assert not live_tag(clean(text)), "clean turned escaped markup into a live tag"
    assert not live_tag(clean(clean(text))), "clean twice turned escaped markup into a live tag"
    assert not live_tag(clean_text(text)), "clean_text turned escaped markup into a live tag"


def run_keys(text: str) -> None:
    for helper in (match_key, normalise_so_hieu, search_key, strip_accents):
        assert isinstance(helper(text), str)
    key = normalise_so_hieu(text)
    assert normalise_so_hieu(key) == key, "normalise_so_hieu is not idempotent"


def run_clean_html(markup: str) -> None:
    out = clean_html(markup)
    assert unicodedata.is_normalized("NFC", out)
    assert "<script" not in out.lower()
    assert not EVENT_HANDLER.search(out), "clean_html kept an event handler"


@given(TEXT)
def test_clean_is_idempotent_and_nfc(text) -> None:
    run_clean(text)


@given(TEXT)
def test_clean_text_is_idempotent_nfc_and_never_markup(text) -> None:
    run_clean_text(text)


@given(MARKUP, st.integers(min_value=1, max_value=3))
def test_escaped_markup_never_becomes_a_live_tag(markup, times) -> None:
    run_escaped_markup(markup, times)


@given(TEXT)
def test_keys_never_raise(text) -> None:
    run_keys(text)


@given(st.one_of(TEXT, MARKUP))
def test_clean_html_never_raises_nor_keeps_scripts(markup) -> None:
    run_clean_html(markup)


def test_the_reported_payloads() -> None:
    """Issue 12, cases 5 and 6, as reported."""
    assert not live_tag(clean_text("&lt;img src=x onerror=alert(1)&gt;"))
    assert not live_tag(clean_text("x < y &lt;img src=x onerror=alert(1)&gt;"))
    once = clean("&amp;lt;img src=x onerror=alert(1)&amp;gt;")
    assert not live_tag(once) and clean(once) == once
