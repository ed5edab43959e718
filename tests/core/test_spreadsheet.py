"""core.spreadsheet: the one helper for spreadsheet cells from outside data (issue 12 case 4), and the
project's CSV writers that use it."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from tthc.compare.match_file import format_rows
from tthc.core.spreadsheet import FORMULA_START, csv_unescape, safe_csv_cell, set_text_cell

RISKY = ['=HYPERLINK("http://x","y")', "+84 thủ tục", "-1 thủ tục", "@SUM(1)", "\t=1", "\r=1", "'=1+2", "''@x"]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("'=+-@\t\rab ạ1\"")) | st.text())
def test_safe_csv_cell_is_undone_exactly_and_leaves_no_formula(text: str) -> None:
    escaped = safe_csv_cell(text)
    assert csv_unescape(escaped) == text
    assert not escaped.startswith(FORMULA_START)
    if not text.lstrip("'").startswith(FORMULA_START):
        assert escaped == text


def test_safe_csv_cell_leaves_other_values() -> None:
    assert [safe_csv_cell(v) for v in (1, -1, 2.5, None, date(2026, 1, 1))] == [1, -1, 2.5, None, date(2026, 1, 1)]


def _saved(wb: Workbook) -> tuple[Workbook, str]:
    buf = io.BytesIO()
    wb.save(buf)
    with zipfile.ZipFile(buf) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml").decode("utf-8")
    return load_workbook(buf), sheet


def test_set_text_cell_writes_string_cells() -> None:
    wb = Workbook()
    ws = wb.active
    for row, value in enumerate(RISKY, 1):
        assert set_text_cell(ws.cell(row, 1), value) is ws.cell(row, 1)
    set_text_cell(ws.cell(1, 2), 42)
    set_text_cell(ws.cell(2, 2), -3.5)
    set_text_cell(ws.cell(3, 2), date(2026, 11, 26))
    set_text_cell(ws.cell(4, 2), "Tên có ký tự điều khiển\x01\x0b giữa")
    back, sheet = _saved(wb)
    assert "<f>" not in sheet and "<f " not in sheet
    cells = back.active
    for row, value in enumerate(RISKY, 1):
        assert (cells.cell(row, 1).value, cells.cell(row, 1).data_type) == (value, "s")
    assert cells.cell(1, 2).value == 42 and cells.cell(1, 2).data_type == "n"
    assert cells.cell(2, 2).value == -3.5
    assert cells.cell(3, 2).value.date() == date(2026, 11, 26)
    assert cells.cell(4, 2).value == "Tên có ký tự điều khiển giữa"  # what XML cannot hold is dropped


def test_a_plain_openpyxl_cell_would_be_a_formula() -> None:
    """Why the helper exists: openpyxl stores text starting with "=" as a formula."""
    wb = Workbook()
    wb.active["A1"] = RISKY[0]
    assert wb.active["A1"].data_type == "f"


def test_match_csv_output_uses_the_shared_escape() -> None:
    names = ["=HYPERLINK(\"http://x\",\"y\")", "'=1+2", "@cmd", "Tên bình thường"]
    rows = [{"row": i + 2, "name": n, "input_code": None, "verdict": "not_found", "code": None, "matched_name": None,
             "score": 0.0, "reason": "", "alternatives": []} for i, n in enumerate(names)]
    table = list(csv.reader(io.StringIO(format_rows(rows, "csv"))))
    written = [r[2] for r in table[1:]]
    assert not [c for r in table for c in r if c.startswith(FORMULA_START)]
    assert [csv_unescape(c) for c in written] == names  # exact, even for a name that starts with a quote
    assert written[3] == "Tên bình thường"
