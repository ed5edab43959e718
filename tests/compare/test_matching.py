"""matching: name normalisation, the match rules, field blocking, people's decisions, batch = single."""

from __future__ import annotations

import unicodedata

import pytest
from tthc.compare.matching import (
    AUTO,
    MARGIN,
    REVIEW,
    Candidate,
    DictReviewMemory,
    Matcher,
    candidates_from_catalogue,
    normalise_name,
    words_differ_only_by_typos,
)

NFD = lambda s: unicodedata.normalize("NFD", s)  # noqa: E731

CATALOGUE = [
    Candidate("1.000001", "Cấp giấy phép tiến hành công việc bức xạ sử dụng thiết bị X-quang chẩn đoán trong y tế",
              "an_toan_buc_xa"),
    Candidate("1.000002", "Cấp lại giấy phép tiến hành công việc bức xạ sử dụng thiết bị X-quang chẩn đoán trong y tế",
              "an_toan_buc_xa"),
    Candidate("1.000003", "Đăng ký hợp đồng chuyển giao công nghệ", "khcn"),
    Candidate("1.000004", "Cấp Giấy chứng nhận doanh nghiệp khoa học và công nghệ", "khcn"),
    Candidate("1.000005", "Cấp lại thẻ căn cước (thực hiện tại cấp tỉnh)", None),
    Candidate("1.000006", "Cấp lại thẻ căn cước (thực hiện tại cấp trung ương)", None),
    Candidate("1.000007", "Thủ tục đăng ký kết hôn có yếu tố nước ngoài", "ho_tich"),
    Candidate("1.000008", "Đăng ký hoạt động của tổ chức khoa học và công nghệ", "khcn"),
    Candidate("2.000001", "Đăng ký hợp đồng chuyển giao công nghệ", "ho_tich"),  # same name, other field
]


@pytest.fixture
def matcher() -> Matcher:
    return Matcher(CATALOGUE)


# --- normalise_name ----------------------------------------------------------------------------------

@pytest.mark.parametrize("variant", [
    "Cấp GCN doanh nghiệp KH&CN",
    "Cấp giấy chứng nhận doanh nghiệp KHCN",
    "Thủ tục cấp Giấy chứng nhận doanh nghiệp KH & CN",
    "THỦ TỤC CẤP GIẤY CHỨNG NHẬN DOANH NGHIỆP KHOA HỌC VÀ CÔNG NGHỆ",
    "Cấp Giấy chứng nhận doanh nghiệp khoa học và công nghệ ( 1.000004 )",
    "1.000004 - Cấp Giấy chứng nhận doanh nghiệp khoa học và công nghệ",
    "  Cấp   Giấy chứng nhận, doanh nghiệp khoa học và công nghệ.",
    NFD("Cấp Giấy chứng nhận doanh nghiệp khoa học và công nghệ"),
])
def test_normalise_name_variants_share_one_key(variant: str) -> None:
    assert normalise_name(variant) == "cấp giấy chứng nhận doanh nghiệp khoa học và công nghệ"


def test_normalise_name_expands_the_other_abbreviations() -> None:
    assert normalise_name("Cấp GCN đăng ký quyền SHTT") == "cấp giấy chứng nhận đăng ký quyền sở hữu trí tuệ"
    assert normalise_name("Thông báo TCĐLCL") == "thông báo tiêu chuẩn đo lường chất lượng"
    assert normalise_name("Ứng dụng NLNT") == "ứng dụng năng lượng nguyên tử"
    assert normalise_name("Quy định của UBND tỉnh") == "quy định của ủy ban nhân dân tỉnh"
    assert normalise_name("gcnx shttx") == "gcnx shttx"  # only whole words


def test_normalise_name_tone_placement_and_thu_tuc() -> None:
    assert normalise_name("Thủ tục hoà giải") == normalise_name("hòa giải") == "hòa giải"
    assert normalise_name("Thuỷ lợi") == normalise_name("thủy lợi")
    assert normalise_name("Thu tuc đăng ký") == "đăng ký"
    assert normalise_name(None) == ""


# --- rules -------------------------------------------------------------------------------------------

def test_known_code_matches_with_score_100(matcher: Matcher) -> None:
    r = matcher.match("whatever the name says", code="1.000003")
    assert (r.verdict, r.code, r.score) == ("matched", "1.000003", 100.0)


def test_unknown_code_is_never_auto_matched_to_another_code(matcher: Matcher) -> None:
    r = matcher.match("Đăng ký hoạt động của tổ chức khoa học và công nghệ", code="9.999999")
    assert r.verdict == "review"
    assert r.code == "1.000008"  # the suggestion a person confirms or rejects
    assert "9.999999" in r.reason


def test_unknown_code_and_unknown_name_is_not_found(matcher: Matcher) -> None:
    r = matcher.match("Cấp phép bay không người lái", code="9.999999")
    assert r.verdict == "not_found"


@pytest.mark.parametrize("variant", [
    NFD("Đăng ký hoạt động của tổ chức khoa học và công nghệ"),
    "Thủ tục đăng ký hoạt động của tổ chức KH&CN",
    "ĐĂNG KÝ HOẠT ĐỘNG CỦA TỔ CHỨC KHCN",
    "Đăng ký hoạt động của tổ chức khoa học và công nghệ (1.000008)",
    "Dang ky hoat dong cua to chuc khoa hoc va cong nghe",
])
def test_variants_of_a_name_match(matcher: Matcher, variant: str) -> None:
    r = matcher.match(variant)
    assert (r.verdict, r.code) == ("matched", "1.000008")


def test_a_typo_matches_but_another_real_word_does_not(matcher: Matcher) -> None:
    r = matcher.match("Đăng ký hoạt động của tổ chức khoa học và công nhgệ")
    assert (r.verdict, r.code) == ("matched", "1.000008")
    assert AUTO <= r.score < 100
    # one word added: "Cấp lại" is another procedure than "Cấp", however high the score
    r = matcher.match("Cấp lại Giấy chứng nhận doanh nghiệp khoa học và công nghệ")
    assert r.verdict == "review" and r.code == "1.000004" and r.score >= AUTO


def test_words_differ_only_by_typos() -> None:
    vocab = {"giám", "định", "đánh", "giá", "cấp", "lại"}
    assert words_differ_only_by_typos("cấp giấy phép", "cấp giấy phép", vocab)
    assert words_differ_only_by_typos("cap giấy phép", "cấp giấy phép", vocab)
    assert words_differ_only_by_typos("cấp giấy phéep", "cấp giấy phép", vocab)
    assert not words_differ_only_by_typos("cấp lại giấy phép", "cấp giấy phép", vocab)
    assert not words_differ_only_by_typos("dịch vụ đánh giá", "dịch vụ giám định", vocab)
    assert not words_differ_only_by_typos("mẫu 1", "mẫu 2", vocab)
    assert not words_differ_only_by_typos("cấp giấy phéep mớii", "cấp giấy phép mới", vocab)


def test_margin_rule_sends_near_ties_to_review() -> None:
    cands = [Candidate("1.000001", "Cấp giấy phép hoạt động loại A", None),
             Candidate("1.000002", "Cấp giấy phép hoạt động loại B", None)]
    r = Matcher(cands).match("Cấp giấy phép hoạt động loại")
    assert r.verdict == "review"
    assert {r.code, r.alternatives[0].code} == {"1.000001", "1.000002"}
    assert r.score - r.alternatives[0].score < MARGIN


def test_same_name_twice_goes_to_review() -> None:
    cands = [Candidate("1.000001", "Tuyển sinh trung học cơ sở", None),
             Candidate("1.000002", "Tuyển sinh trung học cơ sở", None)]
    r = Matcher(cands).match("tuyển sinh trung học cơ sở")
    assert r.verdict == "review" and r.score == 100.0
    assert [a.code for a in r.alternatives] == ["1.000002"]


def test_levels_worded_differently(matcher: Matcher) -> None:
    assert matcher.match("Cấp lại thẻ căn cước (cấp tỉnh)").code == "1.000005"
    assert matcher.match("Cấp lại thẻ căn cước - cấp trung ương").code == "1.000006"
    r = matcher.match("Cấp lại thẻ căn cước")  # which level? a person decides
    assert r.verdict == "review"
    r = matcher.match("Đăng ký kết hôn có yếu tố nước ngoài (cấp tỉnh)")
    assert (r.verdict, r.code) == ("matched", "1.000007")


def test_not_found_below_review_threshold(matcher: Matcher) -> None:
    r = matcher.match("Cấp phép khai thác khoáng sản")
    assert r.verdict == "not_found" and r.score < REVIEW and r.code is None


def test_blocking_by_field(matcher: Matcher) -> None:
    # the same name in two fields: the item's field decides
    assert matcher.match("Đăng ký hợp đồng chuyển giao công nghệ", field_key="khcn").code == "1.000003"
    assert matcher.match("Đăng ký hợp đồng chuyển giao công nghệ", field_key="ho_tich").code == "2.000001"
    assert matcher.match("Đăng ký hợp đồng chuyển giao công nghệ").verdict == "review"
    # fuzzy search stays inside the block ...
    r = matcher.match("Đăng ký hoạt động của tổ chức khoa học và công nhgệ", field_key="khcn")
    assert (r.verdict, r.code) == ("matched", "1.000008")
    # ... falls back to every candidate when the block has nothing close, but never auto-matches across fields
    r = matcher.match("Đăng ký hoạt động của tổ chức khoa học và công nhgệ", field_key="ho_tich")
    assert (r.verdict, r.code) == ("review", "1.000008")
    # candidates without a field belong to every block; an unknown field searches everything
    assert matcher.match("Cấp lại thẻ căn cước (cấp tỉnh)", field_key="khcn").code == "1.000005"
    assert matcher.match("Đăng ký kết hôn có yếu tố nước ngoài", field_key="no_such_field").code == "1.000007"


def test_review_memory_is_reused(matcher: Matcher) -> None:
    memory = DictReviewMemory()
    m = Matcher(CATALOGUE, memory=memory)
    name = "Cấp lại thẻ căn cước"
    assert m.match(name).verdict == "review"
    memory.remember(None, name, "1.000005")
    r = m.match(NFD("THỦ TỤC CẤP LẠI THẺ CĂN CƯỚC"))  # same normalised name
    assert (r.verdict, r.code, r.score, r.reason) == ("matched", "1.000005", 100.0, "decided by a person")
    memory.remember(None, "Cấp phép bay", None)
    r = m.match("cấp phép bay")
    assert r.verdict == "not_found" and r.reason.startswith("decided by a person")
    assert len(memory) == 2


def test_match_many_gives_the_same_results_as_match(matcher: Matcher) -> None:
    items = [("Cấp lại thẻ căn cước (cấp tỉnh)", None, None), ("x", "1.000003", None),
             ("Đăng ký hoạt động của tổ chức khoa học và công nhgệ", None, "khcn"),
             ("Đăng ký hoạt động của tổ chức khoa học và công nhgệ", None, "ho_tich"),
             ("Cấp lại Giấy chứng nhận doanh nghiệp khoa học và công nghệ", None, None),
             ("Cấp phép khai thác khoáng sản", "9.999999", None), ("", None, None)]
    for (name, code, field), batch in zip(items, matcher.match_many(items), strict=True):
        single = matcher.match(name, code=code, field_key=field)
        assert (batch.verdict, batch.code, batch.score, batch.reason) == \
            (single.verdict, single.code, single.score, single.reason)


def test_candidates_from_catalogue(seeded) -> None:
    cands = candidates_from_catalogue(seeded)
    assert cands and all(isinstance(c, Candidate) for c in cands)
    assert all(c.field_key for c in cands)
    m = Matcher(cands)
    some = cands[0]
    assert m.match(some.name).code == some.code
    assert m.match("Thủ tục " + some.name.upper(), field_key=some.field_key).code == some.code
