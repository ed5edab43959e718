"""ingest.sources.national_portal.procedure_page: the procedure's public page on the national portal, in both
real layouts (the captures in ../shared/reference/national-portal/procedures/), and what a changed layout
does (a LayoutChangedError naming what is missing, never a blank record)."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest
from tthc.core.http import LayoutChangedError
from tthc.ingest.sources.national_portal.procedure_page import (
    CITIZEN_MISSING,
    ProcedureNotFoundError,
    citizen_url,
    complete_with_citizen,
    full_url,
    parse_levels,
    parse_procedure_page,
)
from tthc_dev.sandbox.procedure_pages import full_page

FULL_URL = "https://dichvucong.gov.vn/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html?ma_thu_tuc=7603"
CITIZEN_URL = "https://dichvucong.gov.vn/p/home/dvc-chi-tiet-thu-tuc-hanh-chinh.html?ma_thu_tuc=3.000001"


def _page(reference: Path, name: str) -> bytes:
    return (reference / "national-portal" / "procedures" / name).read_bytes()


def test_full_layout_of_the_real_page(reference):
    page = parse_procedure_page(_page(reference, "procedure_detail_page.html"), FULL_URL)
    assert page.layout == "full" and page.missing == ()
    assert (page.portal_id, page.code, page.decision_no) == ("7603", "3.000001", "4221/EVN-KDMBD")
    assert page.name == "Cấp điện mới từ lưới điện hạ áp"
    assert page.level == "Cấp Bộ, Cơ quan khác" and page.levels == ["cap_trung_uong"]
    assert (page.procedure_type, page.field) == ("Loại khác", "Dịch vụ cung cấp điện mới")
    assert [(c.channel, c.deadline, c.fee) for c in page.channels] == [
        ("Trực tiếp", "7 Ngày làm việc", ""), ("Trực tuyến", "7 Ngày làm việc", "")]
    assert [(b.number, b.title, b.issued, b.agency) for b in page.legal_bases] == [
        ("61/2024/QH15", "Luật điện lực", "30-11-2024", "Quốc Hội"),
        ("18/2025/NĐ-CP", "Nghị định 18", "18-02-2025", "Chính phủ")]
    assert page.agencies == page.competent_agency == "Tập đoàn Điện lực Việt Nam"
    assert page.result == "Hợp đồng mua bán điện"
    assert page.subjects.startswith("Công dân Việt Nam, Người nước ngoài, Doanh nghiệp")
    assert page.address == ""  # "Không có thông tin" is no information, not a value
    # the popup's Thành phần hồ sơ: one group per case, each with its table
    assert len(page.documents) == 5
    first = page.documents[0]
    assert first.title.startswith("Khách hàng mua điện ngoài sinh hoạt (01 pha, 03 pha)")
    assert first.documents[0].name == "Giấy đề nghị mua điện"
    assert first.documents[0].form == "Giay de nghi mua dien.docx"
    assert first.documents[0].quantity == "Bản chính: 1, Bản sao: 0"
    # loaded by JavaScript on the real page: empty in its HTML
    assert page.steps == "" and page.requirements == ""
    data = json.dumps(page.as_data(), ensure_ascii=False)
    assert unicodedata.is_normalized("NFC", data) and "&aacute;" not in data


def test_citizen_layout_of_the_real_page_and_how_it_differs(reference):
    full = parse_procedure_page(_page(reference, "procedure_detail_page.html"), FULL_URL)
    page = parse_procedure_page(_page(reference, "procedure_detail_3.000001.html"), CITIZEN_URL)
    assert page.layout == "citizen"
    # no code in its text: read from the page's script; the internal id from its "Xem chi tiết" link
    assert page.code == "3.000001" and page.portal_id == "7603"
    assert page.name == "Cấp điện mới từ lưới điện hạ áp (220/380V)"  # the h1, not "Tên thủ tục"
    # what only this layout has in its HTML
    assert page.steps.splitlines() == ["Tiếp nhận yêu cầu", "Khảo sát",
                                       "Lắp đặt nghiệm thu thiết bị đo đếm, ký HĐMBĐ"]
    assert page.requirements == "Không có yêu cầu điều kiện"
    # what it lacks, said rather than left blank
    assert set(page.missing) == set(CITIZEN_MISSING)
    assert page.legal_bases == () and page.level == "" and page.result == ""
    assert [c.deadline for c in page.channels] == [c.deadline for c in full.channels]
    assert all(c.fee == "" for c in page.channels)  # fees come from a JavaScript pop-up
    assert {g.title for g in page.documents} == {g.title for g in full.documents}
    merged = complete_with_citizen(full, page)
    assert merged.layout == "full" and merged.steps == page.steps and merged.legal_bases == full.legal_bases


def test_urls_match_the_published_list(reference):
    rows = json.loads(_page(reference, "published_procedures_citizens_detailed.json"))
    for row in rows:
        assert full_url("https://dichvucong.gov.vn", row["ID_TTHC"]) == row["DETAIL_URL_FULL"]
        assert citizen_url("https://dichvucong.gov.vn/", row["TTHC_MA"]) == row["DETAIL_URL"]
        assert f"maTTHC={row['TTHC_MA']}&idTTHC={row['ID_TTHC']}" in row["EXPORT_WORD_URL"]


@pytest.mark.parametrize(("edit", "named"), [
    (lambda h: h.replace("row info-row", "row thong-tin"), "'div.row.info-row .key'"),
    (lambda h: re.sub(r"M&atilde;\s+thủ tục:", "Số hiệu:", h), "mã thủ tục"),
    (lambda h: h.replace("Thời hạn giải quyết</th>", "Thời gian</th>"), "thời hạn giải quyết"),
    (lambda h: h.replace("Số k&yacute; hiệu</th>", "Ký hiệu</th>"), "số ký hiệu"),
    (lambda h: h.replace("            3.000001\n", "3-000001\n", 1), "not a code"),
])
def test_a_changed_full_layout_names_what_is_missing(reference, edit, named):
    html = _page(reference, "procedure_detail_page.html").decode("utf-8")
    changed = edit(html)
    assert changed != html, "the edit must change the page"
    with pytest.raises(LayoutChangedError, match=re.escape(named)):
        parse_procedure_page(changed, FULL_URL)


@pytest.mark.parametrize(("edit", "named"), [
    (lambda h: h.replace('class="main-title -none"', 'class="tieu-de"'), "h1.main-title"),
    (lambda h: h.replace("C&aacute;ch thức thực hiện</h2>", "Hình thức</h2>"), "cách thức thực hiện"),
])
def test_a_changed_citizen_layout_names_what_is_missing(reference, edit, named):
    html = _page(reference, "procedure_detail_3.000001.html").decode("utf-8")
    changed = edit(html)
    assert changed != html
    with pytest.raises(LayoutChangedError, match=re.escape(named)):
        parse_procedure_page(changed, CITIZEN_URL)


def test_a_page_in_neither_layout_is_a_layout_change(reference):
    listing = (reference / "government-documents" / "vanban_chinhphu_list.html").read_bytes()
    with pytest.raises(LayoutChangedError, match="neither 'div.row.info-row'"):
        parse_procedure_page(listing, FULL_URL)
    with pytest.raises(LayoutChangedError):
        parse_procedure_page(b"", FULL_URL)


def test_the_empty_popup_is_no_such_procedure(reference):
    """The real decision page carries the procedure popup empty (JavaScript fills it): a page whose popup has
    neither code nor name holds no procedure — the sandbox answers an unknown id with that template."""
    decision_page = (reference / "national-portal" / "decisions" / "decision_115010_details.html").read_bytes()
    with pytest.raises(ProcedureNotFoundError, match="no such procedure"):
        parse_procedure_page(decision_page, FULL_URL)
    with pytest.raises(ProcedureNotFoundError, match="no such procedure"):
        parse_procedure_page(full_page(None, "999"), FULL_URL)


def test_levels():
    assert parse_levels("Cấp Tỉnh, Cấp Xã") == ["cap_tinh", "cap_xa"]
    assert parse_levels("Cấp Bộ, Cơ quan khác") == ["cap_trung_uong"]
    assert parse_levels("Cấp Huyện; cấp tỉnh") == ["cap_huyen", "cap_tinh"]
    assert parse_levels("") == [] and parse_levels("Cơ quan khác") == []
