"""reports.xlsx: the periodic report as a workbook laid out like the official form, read back with openpyxl."""

from __future__ import annotations

import io
from datetime import date, datetime

from openpyxl import load_workbook
from openpyxl.cell.cell import MergedCell
from tthc.reports.periodic.model import AnnouncementLine, Feedback, PeriodicReport, Row, Totals
from tthc.reports.periodic.periods import period_for, previous
from tthc.reports.periodic.xlsx import render_xlsx

H2 = period_for("half", 2026, 2)
HDKHCN, CGCN = "Hoạt động khoa học và công nghệ", "Chuyển giao công nghệ"


def _report(rows: list[Row] | None = None, feedback: Feedback | None = None) -> PeriodicReport:
    rows = rows if rows is not None else [
        Row(HDKHCN, "cap_tinh", new=1200, amended=34, abolished=1, on_time=1230, late=5, csdl=1235, csdl_sent=1200, cms=1000,
            portal=900),
        Row(HDKHCN, "cap_xa", new=1, abolished=1, on_time=2, csdl=2, csdl_sent=2, cms=2),
        Row(CGCN, "", amended=3, late=3, portal=1),
    ]
    return PeriodicReport(H2, "Sở Khoa học và Công nghệ", "Thành phố Hồ Chí Minh",
                          [AnnouncementLine("20/QĐ-UBND", date(2026, 10, 20), "x", 1240, 8)], rows,
                          Totals.of(rows, 3), previous(H2),
                          Totals(announcements=4, new=10, amended=2, on_time=11, late=1, csdl=12, csdl_sent=12, cms=12),
                          feedback)


def _sheet(report: PeriodicReport):
    wb = load_workbook(io.BytesIO(render_xlsx(report)))
    return wb, wb.active


def _row_of(ws, col: int, value: object) -> int:
    return next(c.row for c in ws[chr(ord("A") + col - 1)] if c.value == value)


def test_title_block_and_sheet():
    wb, ws = _sheet(_report())
    assert wb.sheetnames == ["Bao cao KSTTHC"]
    assert ws["A1"].value == "ỦY BAN NHÂN DÂN THÀNH PHỐ HỒ CHÍ MINH"
    assert ws["A2"].value == "SỞ KHOA HỌC VÀ CÔNG NGHỆ" and ws["A2"].font.bold
    assert ws["A3"].value == "BÁO CÁO TÌNH HÌNH, KẾT QUẢ THỰC HIỆN CÔNG TÁC KIỂM SOÁT THỦ TỤC HÀNH CHÍNH"
    assert ws["A4"].value == "6 tháng cuối năm 2026"
    assert ws["A5"].value == "(Kỳ báo cáo: từ ngày 15/06/2026 đến ngày 14/12/2026)"
    assert ws["A7"].value == "I. Tình hình công bố, công khai thủ tục hành chính"
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert {"A1:M1", "A2:M2", "A3:M3", "A4:M4", "A5:M5", "A7:M7"} <= merged
    assert ws.freeze_panes == "D10"
    assert ws.print_title_rows == "$8:$9"
    assert wb.properties.created == wb.properties.modified == datetime(2026, 12, 14)


def test_header_rows_are_merged_like_the_form():
    _, ws = _sheet(_report())
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert {"A8:A9", "B8:B9", "C8:C9", "D8:G8", "H8:H9", "I8:I9", "J8:M8"} <= merged
    assert [ws.cell(8, c).value for c in range(1, 13)] == [
        "STT", "Lĩnh vực", "Cấp thực hiện", "Số TTHC được công bố", None, None, None, "Đúng hạn", "Trễ hạn",
        "Số TTHC được công khai", None, None]
    assert [ws.cell(9, c).value for c in range(4, 8)] == ["Tổng số", "Mới ban hành", "Sửa đổi, bổ sung, thay thế",
                                                          "Bãi bỏ"]
    assert [ws.cell(9, c).value for c in range(10, 14)] == ["CSDL quốc gia (đã kiểm tra)", "Đã gửi CSDL",
                                                            "Trang TTĐT của Sở", "Cổng DVC tỉnh"]
    # borders: the outline of every merged range, and all sides of the sub-header cells
    for c in range(1, 13):
        assert ws.cell(8, c).border.top.style == "thin" and ws.cell(9, c).border.bottom.style == "thin"
        for r in (8, 9):
            cell = ws.cell(r, c)
            if not isinstance(cell, MergedCell):  # the top-left cell of a merged range carries its style
                assert cell.alignment.wrap_text and cell.font.bold and cell.fill.fgColor.rgb.endswith("D9E2F3")
                assert cell.border.left.style == cell.border.right.style == "thin"
    assert ws["A8"].border.left.style == ws["A9"].border.left.style == "thin"
    assert ws["M8"].border.right.style == ws["M9"].border.right.style == "thin"
    for c in (4, 5, 6, 7, 10, 11, 12):
        side = ws.cell(9, c).border
        assert side.left.style == side.right.style == side.top.style == side.bottom.style == "thin"


def test_data_rows_totals_and_widths():
    _, ws = _sheet(_report())
    rows = [[ws.cell(r, c).value for c in range(1, 14)] for r in (10, 11, 12)]
    assert rows == [
        [1, HDKHCN, "Cấp tỉnh", 1235, 1200, 34, 1, 1230, 5, 1235, 1200, 1000, 900],
        [2, HDKHCN, "Cấp xã", 2, 1, 0, 1, 2, 0, 2, 2, 2, 0],
        [3, CGCN, "Chưa xác định", 3, 0, 3, 0, 0, 3, 0, 0, 0, 1],
    ]
    assert ws["A13"].value == "Tổng cộng" and ws["A13"].font.bold and "A13:C13" in {str(r) for r in ws.merged_cells}
    totals = [ws.cell(13, c) for c in range(4, 14)]
    assert [c.value for c in totals] == [1240, 1201, 37, 2, 1232, 8, 1237, 1202, 1002, 901]
    # values, not formulas: a reader that does not recalculate sees them
    assert all(c.data_type == "n" and isinstance(c.value, int) and c.font.bold for c in totals)
    # the totals equal the sums of the rows, column by column
    for c in range(4, 14):
        assert ws.cell(13, c).value == sum(ws.cell(r, c).value for r in (10, 11, 12))
    for r in (10, 11, 12, 13):
        for c in range(4, 14):
            assert ws.cell(r, c).number_format == "#,##0"
            assert ws.cell(r, c).border.top.style == "thin"
    for r in (10, 11, 12):
        assert ws.cell(r, 2).alignment.wrap_text
    widths = {col: ws.column_dimensions[col].width for col in "ABCDEFGHIJKLM"}
    assert widths["A"] == 6 and widths["B"] == 40 and widths["C"] == 15
    assert all(widths[col] == 13 for col in "DEFGHIJKLM")


def test_comparison_with_the_previous_period():
    _, ws = _sheet(_report())
    title = _row_of(ws, 1, "II. So sánh với kỳ trước (6 tháng đầu năm 2026: 15/12/2025 – 14/06/2026)")
    assert [ws.cell(title + 1, c).value for c in range(1, 6)] == ["STT", "Chỉ tiêu", "Kỳ này", "Kỳ trước", "Tăng/giảm"]
    table = {ws.cell(r, 2).value: (ws.cell(r, 3).value, ws.cell(r, 4).value, ws.cell(r, 5).value)
             for r in range(title + 2, title + 13)}
    assert table == {
        "Số quyết định công bố TTHC": (3, 4, -1),
        "Số TTHC được công bố": (1240, 12, 1228),
        "- Mới ban hành": (1201, 10, 1191),
        "- Sửa đổi, bổ sung, thay thế": (37, 2, 35),
        "- Bãi bỏ": (2, 0, 2),
        "Số TTHC công bố đúng hạn": (1232, 11, 1221),
        "Số TTHC công bố trễ hạn": (8, 1, 7),
        "Công khai trên CSDL quốc gia về TTHC (đã kiểm tra trên CSDL)": (1237, 12, 1225),
        "- Đã gửi CSDL quốc gia (kênh của Sở)": (1202, 12, 1190),
        "Công khai trên Trang TTĐT của Sở": (1002, 12, 990),
        "Công khai trên Cổng DVC tỉnh": (901, 0, 901),
    }
    assert ws.cell(title + 2, 5).number_format == "+#,##0;-#,##0;0"


def test_feedback_note_and_notes():
    _, ws = _sheet(_report())
    row = _row_of(ws, 1, "III. Tiếp nhận, xử lý phản ánh, kiến nghị về quy định hành chính")
    assert ws.cell(row + 1, 1).value == "Chưa có dữ liệu phản ánh, kiến nghị trong hệ thống."
    texts = [c.value for c in ws["A"] if isinstance(c.value, str)]
    assert "- Quyết định số 20/QĐ-UBND ngày 20/10/2026: 1240 TTHC (trễ hạn 8)" in texts
    assert any(t.startswith("- Số TTHC được tính theo cấp thực hiện") for t in texts)

    _, ws = _sheet(_report(feedback=Feedback(received=9, handled=7)))
    row = _row_of(ws, 1, "III. Tiếp nhận, xử lý phản ánh, kiến nghị về quy định hành chính")
    assert [ws.cell(row + 1, c).value for c in (2, 3, 4)] == ["Chỉ tiêu", "Kỳ này", None]  # no previous given
    assert [(ws.cell(r, 2).value, ws.cell(r, 3).value) for r in range(row + 2, row + 7)] == [
        ("Số phản ánh, kiến nghị tiếp nhận", 9), ("Đã xử lý", 7), ("- Đúng hạn", 7), ("- Quá hạn", 0),
        ("Đang xử lý", 2)]


def test_empty_period():
    _, ws = _sheet(_report(rows=[]))
    assert ws["A10"].value == "Không có thủ tục hành chính được công bố trong kỳ."
    assert "A10:M10" in {str(r) for r in ws.merged_cells.ranges}
    assert ws["A11"].value == "Tổng cộng" and [ws.cell(11, c).value for c in range(4, 14)] == [0] * 10


def test_workbook_bytes_are_deterministic():
    assert render_xlsx(_report()) == render_xlsx(_report())
    assert render_xlsx(_report()) != render_xlsx(_report(feedback=Feedback(1, 1)))
