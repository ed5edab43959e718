"""How the province compares: the số hiệu citation matcher (hypothesis), the matching rules on hand-made
rows and on the real decision list of ../shared/reference, the figures."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tthc.reports.periodic.provinces import (
    MinistryDecision,
    Row,
    citations,
    compare_provinces,
    number_only_citations,
    so_hieu_key,
)

OWN = "UBND Thành phố Hồ Chí Minh"


# -- the citation matcher ------------------------------------------------------------------------------


@pytest.mark.parametrize("written", [
    "4063/QĐ-BKHCN", "4063/QD-BKHCN", "4063/qđ-bkhcn", "4063 /QĐ-BKHCN", "4063 / QĐ - BKHCN", "04063/QĐ-BKHCN",
    "4063/QĐ-BKHCN.", "4063/QĐ-BKHCN ngày 08/12/2025", "4063/Qđ-BKHCN", "4063/Q Đ-BKHCN",
])
def test_variants_of_one_so_hieu_give_one_key(written):
    assert so_hieu_key(written) == "4063/QD-BKHCN"
    assert citations(f"Công bố TTHC theo Quyết định số {written} của Bộ trưởng") == {"4063/QD-BKHCN"}


def test_keys_keep_what_tells_decisions_apart():
    assert so_hieu_key("4063/QĐ-BKHCN") != so_hieu_key("4063/QĐ-BYT")
    assert so_hieu_key("4063/QĐ-BKHCN") != so_hieu_key("4064/QĐ-BKHCN")
    assert so_hieu_key("12/2026/QĐ-UBND") == "12/2026/QD-UBND" != so_hieu_key("12/QĐ-UBND")
    assert so_hieu_key("2226/QĐ-UBND ngày 04/12/2025") == "2226/QD-UBND"  # a CODE of the real list
    assert so_hieu_key("Thông tư số 44/2025/TT-BYT") is None  # a circular, not a decision
    # a number glued to another (a date, a longer number) is not a citation of the shorter one
    assert citations("ngày 12/4063/QĐ-BKHCN") == set()
    assert citations("Quyết định số 14063/QĐ-BKHCN") == {"14063/QD-BKHCN"}


def test_number_only_citations():
    assert number_only_citations("thực hiện Quyết định số 4063 của Bộ Khoa học và Công nghệ") == {"4063"}
    assert number_only_citations("theo Quyết định số 4063/QĐ-BKHCN") == set()
    assert number_only_citations("Quyết định số 04063 của Bộ") == {"4063"}


_SPACE = st.sampled_from(["", " ", "  ", "\u00a0"])
_FILLER = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Nd")), max_size=60)


@st.composite
def written_so_hieu(draw):
    number = draw(st.integers(min_value=1, max_value=99999))
    issuer = draw(st.sampled_from(["BKHCN", "BYT", "BTC", "UBND", "VP", "BNNMT", "TTPVHCC"]))
    year = draw(st.one_of(st.none(), st.integers(min_value=1990, max_value=2099)))
    kind = draw(st.sampled_from(["QĐ", "QD", "qđ", "qd", "Qđ", "Q Đ"]))
    zeros = draw(st.sampled_from(["", "0", "00"]))
    s1, s2, s3, s4 = (draw(_SPACE) for _ in range(4))
    year_part = f"{year}{s2}/{s2}" if year else ""
    tail = draw(st.sampled_from(["", ".", " ngày 08/12/2025", ",", ")"]))
    text = f"{zeros}{number}{s1}/{s1}{year_part}{kind}{s3}-{s4}{draw(st.sampled_from([issuer, issuer.lower()]))}{tail}"
    key = f"{number}/{str(year) + '/' if year else ''}QD-{issuer}"
    return text, key


@given(written_so_hieu(), _FILLER, _FILLER)
def test_a_written_so_hieu_is_found_in_any_text(written, before, after):
    text, key = written
    cited = citations(f"{before} Quyết định số {text} {after}")
    assert key in cited
    assert so_hieu_key(text) == key
    assert len(cited) <= 3  # the fillers hold no digits: at most what the written one gives


@given(st.text(max_size=300))
def test_matcher_never_fails_on_outside_text(text):
    for key in citations(text):
        number, _, rest = key.partition("/")
        assert number.isdigit() and not number.startswith("0") and "QD-" in rest and " " not in key
    assert all(n.isdigit() for n in number_only_citations(text))


# -- the rules on rows -----------------------------------------------------------------------------------

M1 = MinistryDecision("4063/QĐ-BKHCN", date(2026, 10, 1), "Về việc công bố TTHC ...")
M2 = MinistryDecision("4100/QĐ-BKHCN", date(2026, 10, 20))


def _row(so_hieu, agency, day, title=""):
    return Row(so_hieu, title, agency, day)


def test_republication_citation_and_ambiguous_cases():
    rows = [
        _row("4063/QĐ-BKHCN", "UBND Thành phố Cần Thơ", date(2026, 10, 1)),  # re-published the same day
        _row("2998/QĐ-UBND", "UBND tỉnh Thanh Hóa", date(2026, 10, 11),
             "công bố Danh mục TTHC theo Quyết định số 4063/QD - BKHCN ngày 30/9/2026"),
        _row("3001/QĐ-UBND.", "UBND tỉnh Thanh Hóa", date(2026, 10, 30), "bổ sung Quyết định số 4063/QĐ-BKHCN"),
        _row("11/QĐ-UBND", "UBND tỉnh Sơn La", date(2026, 11, 5), "thực hiện Quyết định số 4063 của Bộ KH&CN"),
        _row("12/QĐ-UBND", "UBND tỉnh Lào Cai", date(2026, 9, 1), "theo Quyết định số 4063/QĐ-BKHCN"),
        _row("13/QĐ-UBND", "UBND tỉnh Gia Lai", date(2026, 10, 25), "lĩnh vực khoa học và công nghệ"),
        _row("4063/QĐ-BKHCN", "Bộ Khoa học và Công nghệ", date(2026, 10, 1)),  # the ministry's own row
        _row("99/QĐ-UBND", OWN, date(2026, 10, 2), "theo Quyết định số 4063/QĐ-BKHCN"),  # ours: not from here
        _row("50/QĐ-UBND", "UBND tỉnh An Giang", date(2026, 10, 30),
             "theo các Quyết định số 4063/QĐ-BKHCN và 4100/QĐ-BKHCN"),
    ]
    c = compare_provinces([M2, M1], rows, OWN, ours={"4063/QĐ-BKHCN": date(2026, 10, 16)})
    first, second = c.decisions
    assert first.so_hieu == "4063/QĐ-BKHCN"  # by publication date
    assert first.lags == {"UBND Thành phố Cần Thơ": 0, "UBND tỉnh Thanh Hóa": 10, "UBND tỉnh An Giang": 29}
    assert first.ours == 15 and first.announced == 4
    assert first.median == 10 and first.fastest == ("UBND Thành phố Cần Thơ", 0)
    assert second.lags == {"UBND tỉnh An Giang": 10} and second.ours is None and second.announced == 1
    reasons = sorted((a.ministry, a.row, a.reason) for a in c.ambiguous)
    assert reasons == [
        ("4063/QĐ-BKHCN", "11/QĐ-UBND | UBND tỉnh Sơn La", "trích dẫn số quyết định không có ký hiệu"),
        ("4063/QĐ-BKHCN", "12/QĐ-UBND | UBND tỉnh Lào Cai", "công bố trước ngày quyết định của Bộ"),
    ]
    # overall: our median, the median of every other lag, the fastest province by its median, the count
    assert c.our_median == 15 and c.our_count == 1
    assert c.median == 10  # of 0, 10, 29, 10
    assert c.fastest == ("UBND Thành phố Cần Thơ", 0)
    assert c.announced == 4  # Cần Thơ, Thanh Hóa, An Giang and us


def test_same_number_of_two_years_goes_to_the_one_before_the_row():
    old = MinistryDecision("15/QĐ-BKHCN", date(2025, 1, 10))
    new = MinistryDecision("15/QĐ-BKHCN", date(2026, 1, 12))
    rows = [_row("15/QĐ-BKHCN", "UBND tỉnh Cà Mau", date(2026, 1, 20)),
            _row("7/QĐ-UBND", "UBND tỉnh Cà Mau", date(2025, 2, 1), "theo Quyết định số 15/QĐ-BKHCN")]
    c = compare_provinces([old, new], rows, OWN)
    assert [d.lags for d in c.decisions] == [{"UBND tỉnh Cà Mau": 22}, {"UBND tỉnh Cà Mau": 8}]
    twins = compare_provinces([new, MinistryDecision("15/QĐ-BKHCN", date(2026, 1, 12), "again")], rows[:1], OWN)
    assert all(not d.lags for d in twins.decisions) and len(twins.ambiguous) == 2


def test_nothing_to_compare():
    c = compare_provinces([], [], OWN)
    assert c.decisions == [] and c.median is None and c.fastest is None and c.announced == 0
    lonely = compare_provinces([M1], [], OWN)
    assert lonely.decisions[0].median is None and lonely.decisions[0].announced == 0 and lonely.our_median is None


def test_the_real_decision_list(reference):
    """The captured list: Cần Thơ re-published 4063/QĐ-BKHCN and 3740/QĐ-BYT the day the ministries did;
    Thanh Hóa's 2998/QĐ-VP the next day cites neither (the real trích yếu rarely do): not matched."""
    raw = json.loads((reference / "national-portal" / "decisions"
                      / "decision_publishment_advanced_search_service_v2.json").read_text(encoding="utf-8"))
    rows = [Row(r["CODE"], r["NAME"], r["AGENCY_NAME"], date(*reversed([int(x) for x in r["PUBLISHING_DATE"].split("-")])))
            for r in raw]
    ministries = [MinistryDecision(r.so_hieu, r.published) for r in rows if r.agency.startswith("Bộ")]
    c = compare_provinces(ministries, rows, OWN)
    by = {d.so_hieu: d for d in c.decisions}
    assert by["4063/QĐ-BKHCN"].lags == {"UBND Thành phố Cần Thơ": 0}
    assert by["3740/QĐ-BYT"].lags == {"UBND Thành phố Cần Thơ": 0}
    assert by["4093/QĐ-BTC"].lags == {}
    assert c.ambiguous == []
    assert all(lag >= 0 for d in c.decisions for lag in d.lags.values())


def test_sandbox_rows_give_realistic_lags():
    """The sandbox's generated provincial rows (its own data): several provinces per ministry decision,
    lags spread over weeks, some rows left out as ambiguous."""
    from tthc_dev.sandbox import DATA_DIR
    from tthc_dev.sandbox.data import Catalogue
    from tthc_dev.sandbox.provinces import generate

    cat = Catalogue(DATA_DIR, provinces=generate)
    rows = [Row(cat.portal_code(d), d.trich_yeu, d.agency, d.published) for d in cat.decisions]
    ministry = [MinistryDecision(d.so_hieu, d.published) for d in cat.ministry_decisions()]
    c = compare_provinces(ministry, rows, OWN)
    counts = [d.announced for d in c.decisions]
    assert min(counts) >= 3 and max(counts) <= 33
    lags = [lag for d in c.decisions for lag in d.lags.values()]
    assert 5 <= c.median <= 40 and max(lags) - min(lags) >= 20
    assert c.ambiguous and 20 <= c.announced <= 33
    provinces = {d.agency for d in cat.decisions if d.agency.startswith("UBND")}
    assert OWN not in provinces and len(provinces) >= 25
    assert max(d.published for d in cat.decisions if d.agency.startswith("UBND")) - \
        max(d.published for d in cat.ministry_decisions()) < timedelta(days=120)


# -- from the database (SQLite and PostgreSQL) -------------------------------------------------------------


def test_province_comparison_from_the_store(story, dept):
    from tthc.catalogue.listings import upsert_listing
    from tthc.db.models import Announcement, CsdlVerification
    from tthc.ingest.runs import upsert_item
    from tthc.reports.periodic.build import build_periodic, province_comparison
    from tthc.reports.periodic.periods import period_for

    s = story.session
    m = story.decision("4063/QĐ-BKHCN", published=date(2026, 10, 1), effective=date(2026, 12, 15))
    upsert_item(s, m, name="Thủ tục so sánh A", change_type="new", code="1.050009", levels=["cap_tinh"],
                field_key="chuyen_giao_cong_nghe")
    story.decision("4100/QĐ-BYT", published=date(2026, 10, 2), fields="thiet_bi_y_te", agency="Bộ Y tế")
    story.flag(date(2026, 10, 5))
    story.approve("45/QĐ-UBND", as_of=date(2026, 10, 5), signed=date(2026, 10, 10))
    ann = s.query(Announcement).filter_by(so_hieu="45/QĐ-UBND").one()
    s.add(CsdlVerification(announcement_id=ann.id, status="verified", listed_on=date(2026, 10, 12),
                           verified_for=date(2026, 10, 13), checked_for=date(2026, 10, 13), due=date(2026, 10, 17)))
    for pid, code, agency, day, title in (
            ("1", "4063/QĐ-BKHCN", "UBND Thành phố Cần Thơ", date(2026, 10, 5), "x"),
            ("2", "77/QĐ-UBND", "UBND tỉnh Thanh Hóa", date(2026, 10, 11), "theo Quyết định số 4063/QD-BKHCN"),
            ("3", "4100/QĐ-BYT", "UBND tỉnh Phú Thọ", date(2026, 10, 3), "x"),
            ("4", "45/QĐ-UBND", "UBND Thành phố Hồ Chí Minh", date(2026, 10, 12), "x"),
            ("5", "78/QĐ-UBND", "UBND tỉnh Thanh Hóa", date(2026, 9, 1), "theo Quyết định số 4063/QĐ-BKHCN")):
        upsert_listing(s, portal_id=pid, so_hieu=code, trich_yeu=title, agency_name=agency, agency_portal_id=None,
                       published=day, seen_for=date(2026, 10, 13))
    s.commit()

    q4 = period_for("quarter", 2026, 4)
    c = province_comparison(s, dept, q4)
    (d,) = c.decisions  # the Bộ Y tế decision is not in the department's fields
    assert d.so_hieu == "4063/QĐ-BKHCN"
    assert d.lags == {"UBND Thành phố Cần Thơ": 4, "UBND tỉnh Thanh Hóa": 10}
    assert d.ours == 11 and d.announced == 3 and d.median == 7
    assert c.ambiguous == []  # the row of 01/09 is before the period's start: not read
    report = build_periodic(s, dept, q4)
    assert report.provinces == c
    assert report.totals.csdl == 1 and report.totals.csdl_sent == 0  # seen on the list; never pushed by us
