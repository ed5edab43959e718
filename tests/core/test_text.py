"""text: NFC cleaning, entity decoding, match keys and decision-number normalisation."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from tthc.core.text import clean, is_nfc, match_key, normalise_so_hieu

NFD = lambda s: unicodedata.normalize("NFD", s)  # noqa: E731


# --- clean -------------------------------------------------------------------------------------

def test_clean_none_gives_empty_string() -> None:
    assert clean(None) == ""


def test_clean_collapses_and_strips_whitespace() -> None:
    assert clean("  Thủ tục\n\t cấp\u00a0 giấy   phép  ") == "Thủ tục cấp giấy phép"


def test_clean_decodes_named_and_numeric_html_entities() -> None:
    assert clean("c&ocirc;ng bố h&agrave;nh ch&iacute;nh &amp; KH&#38;CN &#7871;") == "công bố hành chính & KH&CN ế"


def test_clean_output_is_nfc_for_nfd_input() -> None:
    text = "Hoạt động khoa học và công nghệ, Sở hữu trí tuệ"
    decomposed = NFD(text)
    assert decomposed != text  # the input really is decomposed
    assert not is_nfc(decomposed)
    out = clean(decomposed)
    assert out == text
    assert is_nfc(out)


def test_clean_composes_combining_mark_left_after_an_entity() -> None:
    # "&ecirc;" followed by a combining acute (U+0301): only decoding *then* NFC gives "ế" (U+1EBF)
    out = clean("Thi&ecirc;\u0301t bị")
    assert out == "Thi\u1ebft bị"
    assert "\u0301" not in out


def test_clean_accepts_non_strings() -> None:
    assert clean(12) == "12"


def test_real_mixed_unicode_trich_yeu_from_reference(reference: Path) -> None:
    page = (reference / "national-portal" / "decisions" / "decision_115010_details.html").read_text(encoding="utf-8")
    m = re.search(r'Tr&iacute;ch yếu</td>\s*<td class="value">(.*?)</td>', page, re.S)
    assert m, "trích yếu cell not found in the reference page"
    raw = m.group(1)
    assert "Thi&ecirc;\u0301t" in raw  # the mixed entity + combining mark form really is there
    out = clean(raw)
    assert out == ("Về việc công bố Danh mục thủ tục hành chính được sửa đổi, bổ sung trong lĩnh vực "
                   "Thiết bị y tế thuộc thẩm quyền giải quyết của Sở Y tế tỉnh Điện Biên")
    assert is_nfc(out)
    assert "&" not in out and "\n" not in out and "\u0301" not in out
    # and the key matches the same text typed the ordinary way
    assert match_key(raw) == match_key("về việc công bố danh mục thủ tục hành chính được sửa đổi bổ sung trong "
                                       "lĩnh vực thiết bị y tế thuộc thẩm quyền giải quyết của sở y tế tỉnh điện biên")


# --- match_key ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("old", "new"), [
    ("Hoà giải", "Hòa giải"),
    ("hàng hoá", "hàng hóa"),
    ("sức khoẻ", "sức khỏe"),
    ("thuỷ sản", "thủy sản"),
    ("Uỷ ban nhân dân", "Ủy ban nhân dân"),
])
def test_match_key_ignores_tone_mark_placement(old: str, new: str) -> None:
    assert old != new
    assert match_key(old) == match_key(new)


def test_match_key_does_not_move_the_mark_in_closed_syllables() -> None:
    # "hoàn", "toàn": the mark is always on "a"; rewriting it would corrupt the word
    assert match_key("hoàn thành") == "hoàn thành"
    assert match_key("toàn bộ") == "toàn bộ"
    assert match_key("hoàn") != match_key("hòan")


def test_match_key_nfd_equals_nfc() -> None:
    name = "Thủ tục cấp Giấy chứng nhận đăng ký hoạt động khoa học và công nghệ"
    assert match_key(NFD(name)) == match_key(name)


def test_match_key_nfd_old_style_equals_nfc_new_style() -> None:
    assert match_key(NFD("HOÀ GIẢI")) == match_key("hòa giải")


def test_match_key_ignores_case_and_punctuation() -> None:
    a = "Thủ tục cấp lại Giấy phép tiến hành công việc bức xạ - Sử dụng thiết bị X-quang (cấp tỉnh)."
    b = "thủ tục cấp lại giấy phép tiến hành công việc bức xạ sử dụng thiết bị x quang cấp tỉnh"
    assert match_key(a) == match_key(b)
    assert match_key(a) == "cấp lại giấy phép tiến hành công việc bức xạ sử dụng thiết bị x quang cấp tỉnh"


def test_match_key_drops_leading_thu_tuc_only() -> None:
    assert match_key("Thủ tục công nhận sáng kiến") == match_key("Công nhận sáng kiến") == "công nhận sáng kiến"
    assert match_key("THỦ TỤC: công nhận sáng kiến") == "công nhận sáng kiến"
    # not in the middle of the name
    assert match_key("Hỗ trợ thủ tục công nhận") == "hỗ trợ thủ tục công nhận"


def test_match_key_expands_kh_cn_abbreviation() -> None:
    assert match_key("Hoạt động KH&CN") == match_key("Hoạt động khoa học và công nghệ")
    assert match_key("Hoạt động KH&amp;CN") == match_key("Hoạt động Khoa học và Công nghệ")
    assert match_key("Sở KHCN") == "sở khoa học và công nghệ"


def test_match_key_distinguishes_different_names() -> None:
    assert match_key("Thủ tục công nhận sáng kiến cấp tỉnh") != match_key("Thủ tục công nhận sáng kiến cấp xã")
    assert match_key("hòa") != match_key("hóa")


def test_match_key_none_is_empty() -> None:
    assert match_key(None) == ""


# --- normalise_so_hieu -------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    "2193/QĐ-UBND",
    "2193/QĐ-UBND.",
    "2193/QĐ-UBND..",
    " 2193 / qđ-ubnd ",
    "2193/Qđ-Ubnd.",
    "2193 /\u00a0QĐ - UBND",
])
def test_normalise_so_hieu_variants(raw: str) -> None:
    assert normalise_so_hieu(raw) == "2193/QĐ-UBND"


def test_normalise_so_hieu_nfd_and_entities() -> None:
    assert normalise_so_hieu(NFD("3020/qđ-bkhcn")) == "3020/QĐ-BKHCN"
    assert is_nfc(normalise_so_hieu(NFD("3020/qđ-bkhcn")))
    assert normalise_so_hieu("3020/Q&#272;-BKHCN") == "3020/QĐ-BKHCN"


def test_normalise_so_hieu_keeps_distinct_numbers_distinct() -> None:
    assert normalise_so_hieu("2193/QĐ-UBND") != normalise_so_hieu("2194/QĐ-UBND")
    assert normalise_so_hieu(None) == ""


def test_search_key_ignores_all_diacritics():
    from tthc.core.text import search_key

    assert search_key("Quyết định số 2701/QĐ-BKHCN") == search_key("quyet dinh so 2701/qd-bkhcn")
    assert search_key("Hoà bình") == search_key("hoa binh")
