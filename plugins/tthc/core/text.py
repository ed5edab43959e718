"""Text normalisation for Vietnamese administrative text.

All text stored by the pipeline is Unicode NFC with HTML entities decoded and whitespace collapsed.
``match_key`` gives a comparison key under which NFD input, tone-mark placement variants
(hoà / hòa), case, punctuation and the leading word "Thủ tục" do not matter.
"""

from __future__ import annotations

import html
import re
import unicodedata

_WS = re.compile(r"\s+")
_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)

# Old-style vs new-style tone-mark placement ("hoà" vs "hòa"): map old style to new style.
_TONE_VARIANTS = {
    "oà": "òa", "oá": "óa", "oả": "ỏa", "oã": "õa", "oạ": "ọa",
    "oè": "òe", "oé": "óe", "oẻ": "ỏe", "oẽ": "õe", "oẹ": "ọe",
    "uỳ": "ùy", "uý": "úy", "uỷ": "ủy", "uỹ": "ũy", "uỵ": "ụy",
}
# Only open syllables differ between the styles ("hoà"/"hòa"); in "hoàn", "toàn" the mark is always on "a".
_TONE_RE = re.compile("(" + "|".join(_TONE_VARIANTS) + r")(?!\w)")
_DATE_SUFFIX = re.compile(r"\s+ngày\s+\d{1,2}[/.-]\d{1,2}[/.-]\d{4}.*$", re.IGNORECASE)
_ABBREVIATIONS = {
    "kh&cn": "khoa học và công nghệ",
    "khcn": "khoa học và công nghệ",
    "tcđlcl": "tiêu chuẩn đo lường chất lượng",
}


def clean(text: str | None) -> str:
    """NFC, HTML entities decoded, whitespace collapsed and stripped."""
    if text is None:
        return ""
    text = html.unescape(str(text))
    text = unicodedata.normalize("NFC", text)
    return _WS.sub(" ", text).strip()


def match_key(text: str | None) -> str:
    """A key for comparing procedure names: case-, accent-placement- and punctuation-insensitive."""
    t = clean(text).lower()
    for abbr, full in _ABBREVIATIONS.items():
        t = t.replace(abbr, full)
    t = _TONE_RE.sub(lambda m: _TONE_VARIANTS[m.group(0)], t)
    t = _PUNCT.sub(" ", t)
    t = _WS.sub(" ", t).strip()
    if t.startswith("thủ tục "):
        t = t[len("thủ tục "):]
    return t


def normalise_so_hieu(so_hieu: str | None) -> str:
    """Canonical decision number: NFC, upper case, no spaces, no stray trailing dots.

    "2193/QĐ-UBND." and "2193 / qđ-ubnd" both give "2193/QĐ-UBND".
    """
    t = _DATE_SUFFIX.sub("", clean(so_hieu)).upper().replace(" ", "")
    return t.rstrip(".")


def is_nfc(text: str) -> bool:
    return unicodedata.is_normalized("NFC", text)


def strip_accents(text: str) -> str:
    """``text`` without diacritics (đ → d, Đ → D), NFC; case and everything else kept."""
    t = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return unicodedata.normalize("NFC", "".join(c for c in t if not unicodedata.combining(c)))


def search_key(text: str | None) -> str:
    """:func:`match_key` without any diacritics (đ → d): what full-text search compares, so a query
    typed without accents ("quyet dinh") finds "Quyết định" and the reverse."""
    return strip_accents(match_key(text))
