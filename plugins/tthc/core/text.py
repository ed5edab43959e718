"""Text normalisation for Vietnamese administrative text.

All text stored by the pipeline is Unicode NFC with HTML entities decoded and whitespace collapsed.
``match_key`` gives a comparison key under which NFD input, tone-mark placement variants
(hoà / hòa), case, punctuation and the leading word "Thủ tục" do not matter.
"""

from __future__ import annotations

import bisect
import html
import re
import string
import unicodedata

_WS = re.compile(r"\s+")
# html.unescape's own pattern of a character reference (named with or without ";", decimal, hex)
_CHARREF = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)")
_TAG_START = frozenset(string.ascii_letters + "/!?")  # what makes "<" open a tag, a comment or a declaration
# C0 controls that are not whitespace, and DEL: never meaningful in a name, and PostgreSQL refuses NUL
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")  # lone surrogates (from JSON "\ud800"): not encodable as UTF-8
MAX_DECODE_PASSES = 16
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


def _decode_ref(ref: str) -> str:
    """One character reference decoded as ``html.unescape`` does (a number too long for ``int`` is U+FFFD)."""
    if ref[1:2] == "#":
        hexa = ref[2:3] in ("x", "X")
        digits = ref[3 if hexa else 2:].rstrip(";").lstrip("0") or "0"
        if len(digits) > 8:
            return "\ufffd"  # beyond U+10FFFF whatever it is
        return html.unescape(f"&#{'x' if hexa else ''}{digits};")
    return html.unescape(ref)


def opens_tag(char: str) -> bool:
    """Would ``"<" + char`` open a tag (or a comment, a declaration)? Also true of an accented ASCII letter,
    which an NFD step downstream turns back into one."""
    return bool(char) and unicodedata.normalize("NFD", char)[0] in _TAG_START


def _unescape_pass(text: str) -> str:
    """Decode every character reference once, except where that would make a tag: a ``<`` from a
    reference followed by a letter, ``/``, ``!`` or ``?`` stays ``&lt;``; a letter from a reference right
    after a ``<`` stays as written."""
    refs = list(_CHARREF.finditer(text))
    if not refs:
        return text
    pieces: list[tuple[str, str | None]] = []  # (decoded text, the reference as written or None)
    pos = 0
    for m in refs:
        pieces.append((text[pos:m.start()], None))
        pieces.append((_decode_ref(m.group(0)), m.group(0)))
        pos = m.end()
    pieces.append((text[pos:], None))
    decoded = "".join(p[0] for p in pieces)
    if "<" not in decoded:
        return decoded
    starts, at = [], 0
    for piece, _ in pieces:
        starts.append(at)
        at += len(piece)
    keep: set[int] = set()
    i = decoded.find("<")
    while i >= 0:
        if i + 1 < len(decoded) and opens_tag(decoded[i + 1]):
            lt, nxt = bisect.bisect_right(starts, i) - 1, bisect.bisect_right(starts, i + 1) - 1
            if pieces[lt][1] is not None:
                keep.add(lt)  # "<" came from a reference: keep it one
            elif pieces[nxt][1] is not None:
                keep.add(nxt)  # "<" was there; the letter came from a reference: keep that one
            # both literal: the input held that tag itself, decoding did not make it
        i = decoded.find("<", i + 1)
    if not keep:
        return decoded
    out = []
    for n, (piece, written) in enumerate(pieces):
        if n not in keep:
            out.append(piece)
        elif "<" in piece:
            out.append(piece.replace("<", "&lt;"))
        else:
            out.append(written or piece)
    return "".join(out)


def unescape(text: str) -> str:
    """HTML character references decoded until none is left, never into markup.

    Decoding runs to a fixed point, so that the result decodes to itself (``clean`` is idempotent:
    ``&amp;amp;`` and ``&amp;`` both give ``&``), and a reference that would open a tag is kept: entity-escaped
    markup from a source (``&amp;lt;img onerror=…&amp;gt;``) never becomes a live ``<img``. A text still
    changing after ``MAX_DECODE_PASSES`` (hostile nesting) has its ``&`` replaced by ``＆`` (U+FF06).
    """
    if "&" not in text:
        return text
    for _ in range(MAX_DECODE_PASSES):
        decoded = _unescape_pass(text)
        if decoded == text:
            return text
        text = decoded
    return text.replace("&", "\uff06")


def clean(text: object) -> str:
    """NFC, HTML entities decoded (:func:`unescape`), control characters and lone surrogates removed,
    whitespace collapsed and stripped. Idempotent: ``clean(clean(x)) == clean(x)``."""
    if text is None:
        return ""
    t = _CONTROL.sub("", _SURROGATE.sub("\ufffd", str(text)))
    t = unicodedata.normalize("NFC", unescape(unicodedata.normalize("NFC", t)))
    return _WS.sub(" ", t).strip()


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

    "2193/QĐ-UBND." and "2193 / qđ-ubnd" both give "2193/QĐ-UBND". Idempotent: upper-casing or removing
    spaces can make a new entity (``&gT;`` → ``&GT;``), so the steps repeat until nothing changes.
    """
    t = _DATE_SUFFIX.sub("", clean(so_hieu))
    for _ in range(MAX_DECODE_PASSES):
        again = clean(t.upper()).replace(" ", "").rstrip(".")
        if again == t:
            break
        t = again
    return t


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
