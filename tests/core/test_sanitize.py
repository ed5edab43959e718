"""sync.sanitize: outside text made safe before it is published."""

from __future__ import annotations

import unicodedata

from tthc.core.sanitize import clean_html, clean_text, slugify


def test_clean_html_keeps_tables_and_drops_scripts_handlers_and_js_urls():
    dirty = ('<p onclick="steal()">Tên &lt;b&gt;</p><script>alert(1)</script><style>p{}</style>'
             '<a href="javascript:alert(1)">x</a><a href="https://dichvucong.gov.vn/p">y</a>'
             '<table class="danh-muc"><tr><td colspan="2">1</td></tr></table><iframe src="https://e.vn"></iframe>')
    clean = clean_html(dirty)
    assert "<script" not in clean and "alert(1)" not in clean.replace("javascript:alert(1)", "")
    assert "onclick" not in clean and "javascript:" not in clean and "<iframe" not in clean and "<style" not in clean
    assert '<a href="https://dichvucong.gov.vn/p">y</a>' in clean
    assert '<table class="danh-muc">' in clean and 'colspan="2"' in clean
    assert "Tên &lt;b&gt;" in clean  # escaped text stays escaped text


def test_clean_text_strips_markup_and_control_characters_and_normalises():
    nfd = unicodedata.normalize("NFD", "Cấp giấy phép")
    assert clean_text(f"{nfd} <script>alert(1)</script> <b>mới</b>\x07  & khác") == "Cấp giấy phép mới & khác"
    assert unicodedata.is_normalized("NFC", clean_text(nfd))
    assert clean_text(None) == "" and clean_text("   ") == ""
    assert clean_text("a < b và c > d") == "a < b và c > d"


def test_slugify_is_ascii_and_stable():
    assert slugify("TTHC Bộ Khoa học và Công nghệ 555/QĐ-BKHCN") == "tthc-bo-khoa-hoc-va-cong-nghe-555-qd-bkhcn"
    assert slugify("procedure:1.001155") == "procedure-1-001155"
    assert slugify("announcement:77/qđ-ubnd:2026") == slugify("announcement:77/qđ-ubnd:2026")
