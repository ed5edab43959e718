"""The periodic report as an Excel workbook (.xlsx), laid out like the official report forms.

One sheet, ``Bao cao KSTTHC``:

- rows 1–5: title block (UBND of the province, the department, the report's title, the period and its dates);
- row 7: "I. Tình hình công bố, công khai thủ tục hành chính"; rows 8–9: the two header rows (merged cells),
  columns A STT, B Lĩnh vực, C Cấp thực hiện, D–G Số TTHC được công bố (Tổng số, Mới ban hành, Sửa đổi, bổ
  sung, thay thế, Bãi bỏ), H Đúng hạn, I Trễ hạn, J–L Số TTHC được công khai (CSDL quốc gia, Trang TTĐT
  của Sở, Cổng DVC tỉnh); then one row per (field, level) and a bold "Tổng cộng" row (values, not formulas);
- "II. So sánh với kỳ trước": Chỉ tiêu | Kỳ này | Kỳ trước | Tăng/giảm;
- "III. Tiếp nhận, xử lý phản ánh, kiến nghị", then notes and the period's announcements.

Outside text (field names, the department, decision numbers) goes into string cells through
:func:`tthc.core.spreadsheet.set_text_cell`: a name starting with "=" is shown, never run as a formula.

Deterministic: workbook properties and zip entry times are derived from the period end, never now().
"""

from __future__ import annotations

import io
import math
import zipfile
from datetime import datetime, time

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from tthc.core.render import vn_date
from tthc.core.spreadsheet import set_text_cell
from tthc.reports.periodic.model import NO_FEEDBACK, REPORT_TITLE, PeriodicReport

SHEET_TITLE = "Bao cao KSTTHC"
LAST_COL = 13  # M
HEADER_TOP, HEADER_SUB = 8, 9
FIRST_DATA_ROW = 10
WIDTHS = {"A": 6, "B": 40, "C": 15, **{get_column_letter(c): 13 for c in range(4, LAST_COL + 1)}}
NUMBER_FORMAT = "#,##0"
DIFF_FORMAT = "+#,##0;-#,##0;0"

TABLE_TITLE = "I. Tình hình công bố, công khai thủ tục hành chính"
COMPARE_TITLE = "II. So sánh với kỳ trước"
FEEDBACK_TITLE = "III. Tiếp nhận, xử lý phản ánh, kiến nghị về quy định hành chính"
# (column, label) spanning both header rows
SINGLE_HEADERS = ((1, "STT"), (2, "Lĩnh vực"), (3, "Cấp thực hiện"), (8, "Đúng hạn"), (9, "Trễ hạn"))
# (first column, last column, group label, sub labels)
GROUP_HEADERS = (
    (4, 7, "Số TTHC được công bố", ("Tổng số", "Mới ban hành", "Sửa đổi, bổ sung, thay thế", "Bãi bỏ")),
    (10, 13, "Số TTHC được công khai", ("CSDL quốc gia (đã kiểm tra)", "Đã gửi CSDL", "Trang TTĐT của Sở",
                                        "Cổng DVC tỉnh")),
)
ROW_VALUES = ("total", "new", "amended", "abolished", "on_time", "late", "csdl", "csdl_sent", "cms",
              "portal")  # D..M
TOTAL_VALUES = ("procedures", "new", "amended", "abolished", "on_time", "late", "csdl", "csdl_sent", "cms", "portal")
NOTES = (
    "Số TTHC được tính theo cấp thực hiện: thủ tục thực hiện ở cả cấp tỉnh và cấp xã được tính ở mỗi cấp.",
    "Đúng hạn: quyết định công bố của Chủ tịch Ủy ban nhân dân được ký không muộn hơn hạn công bố; "
    "trễ hạn: ký sau hạn công bố.",
    "Công khai: CSDL quốc gia về TTHC (đã kiểm tra): quyết định công bố đã có trong danh sách quyết định công bố "
    "của CSDL quốc gia; Đã gửi CSDL: Sở đã gửi qua kênh kết nối của Sở; Trang thông tin điện tử của Sở và Cổng "
    "dịch vụ công của tỉnh theo sổ theo dõi đăng tải, từng thủ tục, kể cả thông báo bãi bỏ.",
)

THIN = Side(style="thin", color="000000")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEADER_FILL = PatternFill("solid", fgColor="D9E2F3")
TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)
RIGHT = Alignment(horizontal="right", vertical="center", wrap_text=True)


def _line(ws: Worksheet, row: int, text: str, *, bold: bool = False, italic: bool = False, size: int = 11,
          align: Alignment = CENTER, height: float | None = None) -> None:
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=LAST_COL)
    cell = set_text_cell(ws.cell(row, 1), text)
    cell.font = Font(bold=bold, italic=italic, size=size)
    cell.alignment = align
    if height:
        ws.row_dimensions[row].height = height


def _boxed(ws: Worksheet, row: int, col: int, value: object, *, fmt: str | None = None, bold: bool = False,
           align: Alignment = CENTER, fill: PatternFill | None = None) -> None:
    cell = ws.cell(row, col) if value is None else set_text_cell(ws.cell(row, col), value)  # None: merged away
    cell.border, cell.alignment = BORDER, align
    if fmt:
        cell.number_format = fmt
    if bold:
        cell.font = Font(bold=True)
    if fill is not None:
        cell.fill = fill


def _lines_needed(text: str, width: int) -> int:
    return max(1, math.ceil(len(text) / max(1, width - 2)))


def _title_block(ws: Worksheet, report: PeriodicReport) -> None:
    p = report.period
    _line(ws, 1, f"ỦY BAN NHÂN DÂN {report.province.upper()}")
    _line(ws, 2, report.department.upper(), bold=True)
    _line(ws, 3, REPORT_TITLE.upper(), bold=True, size=13, height=34)
    _line(ws, 4, p.label, bold=True)
    _line(ws, 5, f"(Kỳ báo cáo: từ ngày {vn_date(p.start)} đến ngày {vn_date(p.end)})", italic=True)


def _main_table(ws: Worksheet, report: PeriodicReport) -> int:
    """The table of section I; returns the row of its "Tổng cộng" line."""
    _line(ws, 7, TABLE_TITLE, bold=True, align=LEFT)
    for col, label in SINGLE_HEADERS:
        ws.merge_cells(start_row=HEADER_TOP, start_column=col, end_row=HEADER_SUB, end_column=col)
        _boxed(ws, HEADER_TOP, col, label, bold=True, fill=HEADER_FILL)
        _boxed(ws, HEADER_SUB, col, None, fill=HEADER_FILL)
    for first, last, label, subs in GROUP_HEADERS:
        ws.merge_cells(start_row=HEADER_TOP, start_column=first, end_row=HEADER_TOP, end_column=last)
        for col in range(first, last + 1):
            _boxed(ws, HEADER_TOP, col, label if col == first else None, bold=True, fill=HEADER_FILL)
        for col, sub in enumerate(subs, first):
            _boxed(ws, HEADER_SUB, col, sub, bold=True, fill=HEADER_FILL)
    ws.row_dimensions[HEADER_TOP].height = 30
    ws.row_dimensions[HEADER_SUB].height = 45

    row = FIRST_DATA_ROW
    if not report.rows:
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=LAST_COL)
        _boxed(ws, row, 1, "Không có thủ tục hành chính được công bố trong kỳ.", align=CENTER)
        for col in range(2, LAST_COL + 1):
            _boxed(ws, row, col, None)
        row += 1
    for stt, r in enumerate(report.rows, 1):
        _boxed(ws, row, 1, stt)
        _boxed(ws, row, 2, r.field, align=LEFT)
        _boxed(ws, row, 3, r.level_name)
        for col, attr in enumerate(ROW_VALUES, 4):
            _boxed(ws, row, col, getattr(r, attr), fmt=NUMBER_FORMAT, align=RIGHT)
        ws.row_dimensions[row].height = 15 * _lines_needed(r.field, WIDTHS["B"])
        row += 1

    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=3)
    _boxed(ws, row, 1, "Tổng cộng", bold=True, fill=TOTAL_FILL)
    for col in (2, 3):
        _boxed(ws, row, col, None, fill=TOTAL_FILL)
    for col, attr in enumerate(TOTAL_VALUES, 4):
        _boxed(ws, row, col, getattr(report.totals, attr), fmt=NUMBER_FORMAT, bold=True, align=RIGHT,
               fill=TOTAL_FILL)
    return row


def _comparison(ws: Worksheet, report: PeriodicReport, row: int) -> int:
    prev = report.previous_period
    _line(ws, row, f"{COMPARE_TITLE} ({prev.label}: {prev.dates})", bold=True, align=LEFT)
    row += 1
    for col, label in enumerate(("STT", "Chỉ tiêu", "Kỳ này", "Kỳ trước", "Tăng/giảm"), 1):
        _boxed(ws, row, col, label, bold=True, fill=HEADER_FILL)
    row += 1
    for stt, ind in enumerate(report.indicators, 1):
        _boxed(ws, row, 1, stt)
        _boxed(ws, row, 2, ind.label, align=LEFT)
        _boxed(ws, row, 3, ind.current, fmt=NUMBER_FORMAT, align=RIGHT)
        _boxed(ws, row, 4, ind.previous, fmt=NUMBER_FORMAT, align=RIGHT)
        _boxed(ws, row, 5, ind.diff, fmt=DIFF_FORMAT, align=RIGHT)
        row += 1
    return row


def _feedback(ws: Worksheet, report: PeriodicReport, row: int) -> int:
    _line(ws, row, FEEDBACK_TITLE, bold=True, align=LEFT)
    row += 1
    fb = report.feedback
    if fb is None:
        _line(ws, row, NO_FEEDBACK, italic=True, align=LEFT)
        return row + 1
    heads = ("Chỉ tiêu", "Kỳ này") + (("Kỳ trước", "Tăng/giảm") if fb.previous is not None else ())
    for col, label in enumerate(heads, 2):
        _boxed(ws, row, col, label, bold=True, fill=HEADER_FILL)
    row += 1
    for ind in fb.indicators:
        _boxed(ws, row, 2, ind.label, align=LEFT)
        _boxed(ws, row, 3, ind.current, fmt=NUMBER_FORMAT, align=RIGHT)
        if fb.previous is not None:
            _boxed(ws, row, 4, ind.previous, fmt=NUMBER_FORMAT, align=RIGHT)
            _boxed(ws, row, 5, ind.diff, fmt=DIFF_FORMAT, align=RIGHT)
        row += 1
    for title, groups in (("Theo lĩnh vực", fb.by_field), ("Theo kênh tiếp nhận", fb.by_channel)):
        if not groups:
            continue
        row += 1
        for col, label in enumerate((title, "Tiếp nhận", "Đúng hạn", "Quá hạn", "Đang xử lý"), 2):
            _boxed(ws, row, col, label, bold=True, fill=HEADER_FILL)
        row += 1
        for g in groups:
            _boxed(ws, row, 2, g.name, align=LEFT)
            for col, value in enumerate((g.received, g.on_time, g.late, g.pending), 3):
                _boxed(ws, row, col, value, fmt=NUMBER_FORMAT, align=RIGHT)
            ws.row_dimensions[row].height = 15 * _lines_needed(g.name, WIDTHS["B"])
            row += 1
    return row


def _notes(ws: Worksheet, report: PeriodicReport, row: int) -> int:
    _line(ws, row, "Ghi chú:", bold=True, align=LEFT)
    row += 1
    total_width = sum(WIDTHS.values())
    for note in NOTES:
        _line(ws, row, f"- {note}", align=LEFT, height=15 * _lines_needed(note, total_width))
        row += 1
    if report.announcements:
        _line(ws, row, "Các quyết định công bố TTHC trong kỳ:", bold=True, align=LEFT)
        row += 1
        for a in report.announcements:
            _line(ws, row, f"- Quyết định số {a.so_hieu} ngày {vn_date(a.signed_date)}: {a.procedures} TTHC"
                           + (f" (trễ hạn {a.late})" if a.late else ""), align=LEFT)
            row += 1
    return row


def build_workbook(report: PeriodicReport) -> Workbook:
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET_TITLE
    for col, width in WIDTHS.items():
        ws.column_dimensions[col].width = width
    _title_block(ws, report)
    total_row = _main_table(ws, report)
    row = _comparison(ws, report, total_row + 2)
    row = _feedback(ws, report, row + 1)
    _notes(ws, report, row + 1)
    ws.freeze_panes = f"D{FIRST_DATA_ROW}"  # the header rows and the field/level columns
    ws.print_title_rows = f"{HEADER_TOP}:{HEADER_SUB}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True

    stamp = datetime.combine(report.period.end, time())
    props = wb.properties
    props.created = props.modified = stamp
    props.creator = props.lastModifiedBy = "tthc-pipeline"
    props.title = f"{REPORT_TITLE} – {report.period.label}"
    props.subject = f"{report.department}: {report.period.dates}"
    return wb


def render_xlsx(report: PeriodicReport) -> bytes:
    """The workbook's bytes; the same report gives the same bytes."""
    wb = build_workbook(report)
    raw = io.BytesIO()
    # ExcelWriter directly: openpyxl's save_workbook would stamp properties.modified with now()
    ExcelWriter(wb, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED)).save()
    when = report.period.end.timetuple()[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():  # zip entry times: fixed, not the time of writing
            entry = zipfile.ZipInfo(info.filename, date_time=when)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            dst.writestr(entry, src.read(info.filename))
    return out.getvalue()
