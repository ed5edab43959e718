"""reports.periodic: periods, the periodic KSTTHC report built from the database, and its mail."""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from support.story import Story
from tthc.compare.flags import compare
from tthc.compare.prepare import prepare_draft
from tthc.core.render import environment, vn_number
from tthc.db.models import Announcement, CsdlVerification, Flag, Posting
from tthc.ingest.runs import upsert_item
from tthc.reports.mail import XLSX_TYPE
from tthc.reports.periodic.build import build_periodic, periodic_mail, report_mail
from tthc.reports.periodic.model import NO_FEEDBACK, AnnouncementLine, Feedback, PeriodicReport, Row, Totals
from tthc.reports.periodic.periods import Period, due_periods, period_for, previous

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
AGENCY = "Bộ Khoa học và Công nghệ"
Q4 = period_for("quarter", 2026, 4)
HDKHCN, SHTT, NLNT, CGCN = ("Hoạt động khoa học và công nghệ", "Sở hữu trí tuệ",
                            "Năng lượng nguyên tử, an toàn bức xạ và hạt nhân", "Chuyển giao công nghệ")
UNKNOWN = "Lĩnh vực chưa xác định"


# -- periods ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, year, number, start, end, label, key", [
    ("quarter", 2026, 1, date(2025, 12, 15), date(2026, 3, 14), "Quý I năm 2026", "2026-Q1"),
    ("quarter", 2026, 2, date(2026, 3, 15), date(2026, 6, 14), "Quý II năm 2026", "2026-Q2"),
    ("quarter", 2026, 3, date(2026, 6, 15), date(2026, 9, 14), "Quý III năm 2026", "2026-Q3"),
    ("quarter", 2026, 4, date(2026, 9, 15), date(2026, 12, 14), "Quý IV năm 2026", "2026-Q4"),
    ("half", 2026, 1, date(2025, 12, 15), date(2026, 6, 14), "6 tháng đầu năm 2026", "2026-H1"),
    ("half", 2026, 2, date(2026, 6, 15), date(2026, 12, 14), "6 tháng cuối năm 2026", "2026-H2"),
    ("year", 2026, 1, date(2025, 12, 15), date(2026, 12, 14), "Năm 2026", "2026-Y"),
])
def test_period_for(kind, year, number, start, end, label, key):
    p = period_for(kind, year, number)
    assert (p.kind, p.year, p.number, p.start, p.end, p.label, p.key) == (kind, year, number, start, end, label, key)
    assert unicodedata.is_normalized("NFC", p.label)


def test_period_for_other_cutoff_and_leap_year():
    p = period_for("quarter", 2028, 1, cutoff_day=1)  # 2028 is a leap year
    assert (p.start, p.end) == (date(2027, 12, 1), date(2028, 2, 29))
    p = period_for("year", 2027, 1, cutoff_day=20)
    assert (p.start, p.end) == (date(2026, 12, 20), date(2027, 12, 19))
    assert period_for("quarter", 2026, 4).dates == "15/09/2026 – 14/12/2026"


@pytest.mark.parametrize("args", [("month", 2026, 1), ("quarter", 2026, 5), ("half", 2026, 3), ("year", 2026, 2),
                                  ("quarter", 2026, 0)])
def test_period_for_refuses_bad_arguments(args):
    with pytest.raises(ValueError):
        period_for(*args)
    with pytest.raises(ValueError):
        period_for("quarter", 2026, 1, cutoff_day=31)


def test_previous_period_crosses_years():
    assert previous(period_for("quarter", 2026, 1)) == period_for("quarter", 2025, 4)
    assert previous(period_for("quarter", 2026, 3)) == period_for("quarter", 2026, 2)
    assert previous(period_for("half", 2026, 1)) == period_for("half", 2025, 2)
    assert previous(period_for("half", 2026, 2)) == period_for("half", 2026, 1)
    assert previous(period_for("year", 2026)) == period_for("year", 2025)
    q1 = previous(period_for("quarter", 2027, 1, cutoff_day=10))
    assert (q1.key, q1.start, q1.end) == ("2026-Q4", date(2026, 9, 10), date(2026, 12, 9))
    # consecutive periods tile the calendar
    for kind, n in (("quarter", 4), ("half", 2), ("year", 1)):
        for number in range(1, n + 1):
            p = period_for(kind, 2026, number)
            assert (p.start - previous(p).end).days == 1


def test_due_periods():
    assert due_periods(date(2026, 3, 15)) == [period_for("quarter", 2026, 1)]
    assert due_periods(date(2026, 6, 15)) == [period_for("quarter", 2026, 2), period_for("half", 2026, 1)]
    assert due_periods(date(2026, 9, 15)) == [period_for("quarter", 2026, 3)]
    assert due_periods(date(2026, 12, 15)) == [period_for("quarter", 2026, 4), period_for("half", 2026, 2),
                                               period_for("year", 2026)]
    assert due_periods(date(2026, 12, 14)) == []
    assert due_periods(date(2026, 11, 15)) == []
    assert due_periods(date(2026, 1, 15)) == []
    assert [p.key for p in due_periods(date(2027, 6, 10), cutoff_day=10)] == ["2027-Q2", "2027-H1"]
    for run in (date(2026, 3, 15), date(2026, 6, 15), date(2026, 12, 15)):
        assert {(run - p.end).days for p in due_periods(run)} == {1}


# -- the data set ----------------------------------------------------------------------------------------
#
# Previous period (Q3 2026): 5/QĐ-UBND signed 20/07/2026: 2.002823 amended (HĐKHCN, cấp tỉnh) and
#   1.090010 new (SHTT, cấp xã), both on time.
# This period (Q4 2026, 15/09–14/12/2026):
#   20/QĐ-UBND signed 20/10/2026:
#     2.002379 amended (NLNT, cấp tỉnh) from 10/QĐ-BKHCN (effective 10/10/2026): LATE;
#     1.090001 new (HĐKHCN, cấp tỉnh + cấp xã) from 11/QĐ-BKHCN (effective 16/11/2026);
#     1.090002 replacing 2.002248 (CGCN, cấp tỉnh): 1.090002 counts as amended, 2.002248 as abolished;
#   30/QĐ-UBND signed 01/12/2026 (13/QĐ-BKHCN, effective 21/12/2026):
#     2.002825 abolished (HĐKHCN, cấp xã); 1.090003 new, no field, its level erased (unknown field and level).
# After the period: 40/QĐ-UBND signed 20/12/2026 (2.002836 amended); and a draft never approved.


def _decision(s, so_hieu, published, effective, field="hoat_dong_khcn"):
    return Story(s, None).decision(so_hieu, published=published, effective=effective, fields=field,
                                   trich_yeu="Công bố TTHC", agency=AGENCY,
                                   run_time=datetime.combine(published, datetime.min.time(), TZ))


def _announce(s, dept, tmp_path, as_of, so_hieu, signed):
    story = Story(s, dept, tmp_path)
    story.flag(as_of)
    return story.approve(so_hieu, as_of=as_of, signed=signed, by="lanhdao",
                         at=datetime.combine(signed, datetime.min.time(), TZ))


def _dataset(s, dept, tmp_path):
    p = _decision(s, "5/QĐ-BKHCN", date(2026, 7, 1), date(2026, 8, 3))
    upsert_item(s, p, name="Thủ tục công nhận sáng kiến cấp tỉnh", change_type="amended", code="2.002823")
    upsert_item(s, p, name="Thủ tục mới P về sở hữu trí tuệ", change_type="new", code="1.090010", levels=["cap_xa"],
                field_key="so_huu_tri_tue")
    assert _announce(s, dept, tmp_path, date(2026, 7, 10), "5/QĐ-UBND", date(2026, 7, 20)).flag_count == 2

    d1 = _decision(s, "10/QĐ-BKHCN", date(2026, 9, 20), date(2026, 10, 10), field="nang_luong_nguyen_tu")
    upsert_item(s, d1, name="Thủ tục cấp chứng chỉ nhân viên bức xạ", change_type="amended", code="2.002379")
    d2 = _decision(s, "11/QĐ-BKHCN", date(2026, 10, 1), date(2026, 11, 16))
    upsert_item(s, d2, name="Thủ tục mới A", change_type="new", code="1.090001", levels=["cap_tinh", "cap_xa"],
                field_key="hoat_dong_khcn")
    upsert_item(s, d2, name="Thủ tục thay thế B", change_type="replaced", code="1.090002", levels=["cap_tinh"],
                field_key="chuyen_giao_cong_nghe", replaces_code="2.002248")
    assert _announce(s, dept, tmp_path, date(2026, 10, 15), "20/QĐ-UBND", date(2026, 10, 20)).flag_count == 4

    d3 = _decision(s, "13/QĐ-BKHCN", date(2026, 11, 10), date(2026, 12, 21))
    upsert_item(s, d3, name="Thủ tục công nhận sáng kiến cấp xã", change_type="abolished", code="2.002825")
    upsert_item(s, d3, name="Xác nhận hồ sơ thử nghiệm công nghệ số cộng đồng", change_type="new", code="1.090003",
                levels=["cap_xa"])
    info = _announce(s, dept, tmp_path, date(2026, 11, 20), "30/QĐ-UBND", date(2026, 12, 1))
    assert info.flag_count == 2
    flag_c = s.scalar(select(Flag).where(Flag.procedure_code == "1.090003"))
    flag_c.levels = ""  # a level nobody recorded: counted once, "Chưa xác định"

    d4 = _decision(s, "14/QĐ-BKHCN", date(2026, 12, 1), date(2027, 1, 15))
    upsert_item(s, d4, name="Thủ tục cấp Giấy chứng nhận doanh nghiệp khoa học và công nghệ", change_type="amended",
                code="2.002836")
    _announce(s, dept, tmp_path, date(2026, 12, 18), "40/QĐ-UBND", date(2026, 12, 20))
    d5 = _decision(s, "15/QĐ-BKHCN", date(2026, 12, 5), date(2027, 2, 1))
    upsert_item(s, d5, name="Thủ tục công nhận sáng kiến cấp tỉnh", change_type="amended", code="2.002823")
    compare(s, dept, as_of=date(2026, 12, 10))
    assert prepare_draft(s, dept, as_of=date(2026, 12, 10), out_dir=tmp_path) is not None  # waits: not counted

    def post(channel, key, status="posted", version=1):
        s.add(Posting(channel=channel, object_key=key, version=version, content_hash="x" * 64, status=status,
                      posted_for=date(2026, 12, 2)))

    post("csdl", "announcement:5/QĐ-UBND:2026")
    post("cms", "procedure:2.002823")
    post("csdl", "announcement:20/QĐ-UBND:2026")
    post("csdl", "announcement:30/QĐ-UBND:2026", status="withdrawn")  # not a posted record: not counted
    post("cms", "procedure:1.090001")
    post("cms", "procedure:1.090001", version=2)  # a second version is still one procedure
    post("cms", "procedure:2.002248", status="withdrawn")  # the abolished procedure's withdrawn page counts
    post("cms", "procedure:2.002825", status="withdrawn")
    post("province_portal", "procedure:2.002379")
    post("province_portal", "procedure:2.002836")  # announced after the period
    post("csdl", "announcement:40/QĐ-UBND:2026")
    # what the national decision list showed (tthc.sync.verify): 30/QĐ-UBND is there although our own push
    # of it was withdrawn; 40/QĐ-UBND was sent but is not listed yet
    for so_hieu, status in (("5/QĐ-UBND", "verified"), ("20/QĐ-UBND", "verified"), ("30/QĐ-UBND", "verified"),
                            ("40/QĐ-UBND", "waiting")):
        ann = s.scalar(select(Announcement).where(Announcement.so_hieu == so_hieu))
        s.add(CsdlVerification(announcement_id=ann.id, status=status, checked_for=date(2026, 12, 30),
                               due=ann.signed_date, listed_on=ann.signed_date if status == "verified" else None))
    s.commit()


EXPECTED_ROWS = [
    # field, level, new, amended, abolished, on_time, late, csdl (verified), csdl_sent, cms, portal
    (HDKHCN, "cap_tinh", 1, 0, 0, 1, 0, 1, 1, 1, 0),
    (HDKHCN, "cap_xa", 1, 0, 1, 2, 0, 2, 1, 2, 0),
    (NLNT, "cap_tinh", 0, 1, 0, 0, 1, 1, 1, 0, 1),
    (CGCN, "cap_tinh", 0, 1, 1, 2, 0, 2, 2, 1, 0),
    (UNKNOWN, "", 1, 0, 0, 1, 0, 1, 0, 0, 0),
]
ROW_ATTRS = ("field", "level", "new", "amended", "abolished", "on_time", "late", "csdl", "csdl_sent", "cms",
             "portal")


def test_build_periodic_figures(seeded, dept, tmp_path):
    s = seeded
    _dataset(s, dept, tmp_path)
    late_flag = s.scalar(select(Flag).where(Flag.procedure_code == "2.002379"))
    assert late_flag.deadline < date(2026, 10, 20)  # the ministry decision took effect on 10/10

    r = build_periodic(s, dept, Q4)
    assert r.period == Q4 and r.previous_period == period_for("quarter", 2026, 3)
    assert (r.department, r.province) == (dept.name, dept.province)
    assert [(a.so_hieu, a.signed_date, a.procedures, a.late) for a in r.announcements] == [
        ("20/QĐ-UBND", date(2026, 10, 20), 5, 1), ("30/QĐ-UBND", date(2026, 12, 1), 2, 0)]
    assert [tuple(getattr(row, a) for a in ROW_ATTRS) for row in r.rows] == EXPECTED_ROWS
    assert [row.total for row in r.rows] == [1, 2, 1, 2, 1]
    assert [row.level_name for row in r.rows] == ["Cấp tỉnh", "Cấp xã", "Cấp tỉnh", "Cấp tỉnh", "Chưa xác định"]

    assert r.totals == Totals(announcements=2, new=3, amended=2, abolished=2, on_time=6, late=1, csdl=7,
                              csdl_sent=5, cms=4, portal=1)
    assert r.totals.procedures == 7
    assert r.previous == Totals(announcements=1, new=1, amended=1, abolished=0, on_time=2, late=0, csdl=2,
                                csdl_sent=2, cms=1, portal=0)
    assert r.diff == Totals(announcements=1, new=2, amended=1, abolished=2, on_time=4, late=1, csdl=5, csdl_sent=3,
                            cms=3, portal=1)
    assert [(i.label, i.current, i.previous, i.diff) for i in r.indicators][:3] == [
        ("Số quyết định công bố TTHC", 2, 1, 1), ("Số TTHC được công bố", 7, 2, 5), ("- Mới ban hành", 3, 1, 2)]
    assert r.on_time_rate == pytest.approx(600 / 7)
    assert (r.feedback.received, r.feedback.handled, r.feedback.previous.received) == (0, 0, 0)  # none held

    # the previous period on its own, the next one (the 40/QĐ-UBND), the year
    q3 = build_periodic(s, dept, period_for("quarter", 2026, 3))
    assert q3.totals == r.previous
    assert [(row.field, row.level, row.amended, row.new) for row in q3.rows] == [(HDKHCN, "cap_tinh", 1, 0),
                                                                                 (SHTT, "cap_xa", 0, 1)]
    q1 = build_periodic(s, dept, period_for("quarter", 2027, 1))
    assert (q1.totals.announcements, q1.totals.amended, q1.totals.csdl_sent, q1.totals.portal) == (1, 1, 1, 1)
    assert q1.totals.csdl == 0  # sent, not yet seen on the national list
    assert q1.previous == r.totals
    year = build_periodic(s, dept, period_for("year", 2026))
    assert year.totals.announcements == 3 and year.totals.procedures == 9 and year.totals.late == 1


def test_build_periodic_empty_period_and_feedback_source(seeded, dept):
    period = period_for("half", 2025, 1)
    r = build_periodic(seeded, dept, period, feedback_source=lambda s, p: Feedback(received=4, handled=3))
    assert r.rows == [] and r.announcements == [] and r.totals == Totals() and r.previous == Totals()
    assert r.on_time_rate is None
    assert r.feedback == Feedback(4, 3) and r.feedback.pending == 1
    mail = report_mail(r, dept)
    assert "Tiếp nhận 4 phản ánh, kiến nghị; đã xử lý 3; đang xử lý 1." in mail.text
    assert NO_FEEDBACK not in mail.text
    assert "Không có thủ tục hành chính được công bố trong kỳ." in mail.text


# -- the mail ----------------------------------------------------------------------------------------------


def test_periodic_mail(seeded, dept, tmp_path):
    s = seeded
    _dataset(s, dept, tmp_path)
    mail = periodic_mail(s, dept, Q4)
    assert mail.kind == "periodic" and mail.period_key == "2026-Q4" and mail.sender == dept.sender
    assert mail.subject == ("[KSTTHC] Báo cáo kiểm soát TTHC Quý IV năm 2026 (15/09/2026 – 14/12/2026): "
                            "7 TTHC công bố, 1 trễ hạn")
    assert mail.recipients == ("giamdoc@sokhcn.tphcm.gov.vn", "vanphong@sokhcn.tphcm.gov.vn")
    assert mail.recipients == tuple(dept.recipients_for("periodic"))
    for text in (mail.subject, mail.html, mail.text):
        assert unicodedata.is_normalized("NFC", text)

    text = mail.text
    assert re.search(r"<\s*/?\s*[a-zA-Z!]", text) is None and "&lt;" not in text and "&amp;" not in text
    assert "Kỳ báo cáo: từ ngày 15/09/2026 đến ngày 14/12/2026" in text
    assert "đã ký 2 quyết định công bố, với 7 thủ tục hành chính" in text
    assert "(mới ban hành 3; sửa đổi, bổ sung, thay thế 2; bãi bỏ 2)" in text
    assert "Công bố đúng hạn 6, trễ hạn 1 (tỷ lệ đúng hạn 85,7%)." in text
    assert "Số TTHC được công bố: kỳ này 7, kỳ trước 2, tăng/giảm +5" in text
    assert "1. Hoạt động khoa học và công nghệ – Cấp tỉnh: 1 TTHC" in text
    assert "3. Năng lượng nguyên tử, an toàn bức xạ và hạt nhân – Cấp tỉnh: 1 TTHC" in text
    assert "5. Lĩnh vực chưa xác định – Chưa xác định: 1 TTHC" in text
    assert "Quyết định số 20/QĐ-UBND ngày 20/10/2026: 5 TTHC, trễ hạn 1" in text
    assert "Tổng cộng: 7 TTHC" in text and "công khai: CSDL quốc gia 7 (đã gửi 5), Trang TTĐT của Sở 4, Cổng DVC tỉnh 1." in text
    assert "Tiếp nhận 0 phản ánh, kiến nghị; đã xử lý 0; đang xử lý 0." in text  # the store holds none
    assert NO_FEEDBACK not in text and "bao-cao-kstthc-2026-Q4.xlsx" in text

    html = mail.html
    assert '<img src="cid:chart"' in html
    assert "tỷ lệ đúng hạn 85,7%" in html and NO_FEEDBACK not in html and "bao-cao-kstthc-2026-Q4.xlsx" in html
    assert "<td" in html and "20/QĐ-UBND" in html and "Chuyển giao công nghệ" in html
    assert html.count(">Tổng cộng<") == 1

    chart, xlsx, provinces_chart = mail.parts
    assert provinces_chart.cid == "provinces" and provinces_chart.data.startswith(b"\x89PNG")
    assert (chart.filename, chart.content_type, chart.cid) == ("bieu-do-2026-Q4.png", "image/png", "chart")
    assert chart.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert (xlsx.filename, xlsx.content_type, xlsx.cid) == ("bao-cao-kstthc-2026-Q4.xlsx", XLSX_TYPE, None)
    ws = load_workbook(io.BytesIO(xlsx.data)).active
    total_row = next(row for row in ws.iter_rows(values_only=True) if row[0] == "Tổng cộng")
    assert total_row[3:] == (7, 3, 2, 2, 6, 1, 7, 5, 4, 1)
    # the same database gives the same mail
    again = periodic_mail(s, dept, Q4)
    assert again == mail


def _big_report() -> PeriodicReport:
    rows = [Row(HDKHCN, "cap_tinh", new=1234, amended=20, abolished=3, on_time=1200, late=57, csdl=1257, cms=1000,
                portal=999),
            Row(HDKHCN, "cap_xa", new=1, on_time=1)]
    return PeriodicReport(Q4, "Sở Khoa học và Công nghệ", "Thành phố Hồ Chí Minh",
                          [AnnouncementLine("20/QĐ-UBND", date(2026, 10, 20), "x", 1258, 57)], rows,
                          Totals.of(rows, 2), previous(Q4), Totals(announcements=1, new=10, on_time=10))


def test_mail_numbers_use_vietnamese_separators(dept):
    r = _big_report()
    mail = report_mail(r, dept)
    assert mail.subject.endswith(": 1.258 TTHC công bố, 57 trễ hạn")
    assert "<strong>1.258</strong> thủ tục hành chính" in mail.html
    assert "(mới ban hành 1.235; sửa đổi, bổ sung, thay thế 20; bãi bỏ 3)" in mail.html
    assert ">1.257<" in mail.html and ">1.000<" in mail.html and ">+1.248<" in mail.html
    assert "tỷ lệ đúng hạn 95,5%" in mail.html
    assert "Số TTHC được công bố: kỳ này 1.258, kỳ trước 10, tăng/giảm +1.248" in mail.text
    assert "1258" not in mail.text and "1258" not in mail.html


def test_mail_escapes_html_in_data(dept):
    r = replace(_big_report(), rows=[Row("<b>Lĩnh vực</b>", "cap_tinh", new=1, on_time=1)])
    mail = report_mail(r, dept)
    assert "&lt;b&gt;Lĩnh vực&lt;/b&gt;" in mail.html and "<b>Lĩnh vực" not in mail.html
    assert "<b>Lĩnh vực</b> – Cấp tỉnh" in mail.text  # plain text is not escaped


def test_period_is_frozen():
    with pytest.raises(AttributeError):
        Q4.year = 2027  # type: ignore[misc]
    assert isinstance(Q4, Period) and date(2026, 9, 15) in Q4 and date(2026, 12, 15) not in Q4


# -- vn_number -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, decimals, expected", [
    (0, None, "0"),
    (7, None, "7"),
    (1234, None, "1.234"),
    (1234567, None, "1.234.567"),
    (-1234, None, "-1.234"),
    (12.5, None, "12,5"),
    (1234.5, None, "1.234,5"),
    (0.333, 1, "0,3"),
    (85.714, 1, "85,7"),
    (1234.567, 2, "1.234,57"),
    (5, 1, "5"),  # integers stay integers
    (3.0, None, "3"),
    (0.1 + 0.2, None, "0,3"),
    (None, None, "—"),
])
def test_vn_number(value, decimals, expected):
    assert vn_number(value, decimals) == expected


def test_vn_number_filter_is_registered():
    env = environment()
    assert env.from_string("{{ 1234 | vn_number }} {{ 0.333 | vn_number(1) }} {{ 12.5 | vn_number }}").render() \
        == "1.234 0,3 12,5"


def test_xlsx_zip_entries_have_fixed_times(dept):
    data = report_mail(_big_report(), dept).parts[1].data
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert {i.date_time for i in z.infolist()} == {(2026, 12, 14, 0, 0, 0)}
