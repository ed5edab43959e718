"""Generated inputs for the catalogue file parser (issue 12: "only the project's documented error types may
escape"): whatever the bytes or cells of a .csv or .xlsx, :func:`read_catalogue` returns checked rows or
raises :class:`CatalogueFileError`, nothing else; and the rows it returns keep its promises."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from tthc.catalogue.columns import CODE_RE, COLUMNS
from tthc.catalogue.io import CatalogueFileError, CatalogueRow, read_catalogue
from tthc.core.labels import LEVEL_NAMES, PROCEDURE_STATUS_NAMES
from tthc.core.spreadsheet import xlsx_text
from tthc.core.text import match_key

FIELD_NAMES = {"Sở hữu trí tuệ": "so_huu_tri_tue", "Chuyển giao công nghệ": "chuyen_giao_cong_nghe"}
FIELDS = {**{match_key(n): k for n, k in FIELD_NAMES.items()}, **{k: k for k in FIELD_NAMES.values()}}
GENERATED = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# cells that look like the real thing, with the usual accidents, and anything at all
_LIKELY = st.sampled_from(["", " ", "1.001155", "1.23", "2.002248", "1.001155 ", "Sở hữu trí tuệ", "sở hữu trí tuệ",
                           "Lĩnh vực lạ", "Cấp tỉnh", "Cấp tỉnh; Cấp xã", "cấp tỉnh,cấp tỉnh", "Cấp huyện",
                           "cần bổ sung", "Chưa xác định", "Đang áp dụng", "Đã bãi bỏ", "Tạm dừng",
                           "Thủ tục A", "thủ tục a", "=HYPERLINK(\"x\")", "'=1+2", "\u2028", "a\r\nb", '"', "S" * 300])
CELL = _LIKELY | st.text(max_size=40) | st.text(alphabet="\"',;\r\n\t\u2028\u2029=+-@ ạ1.", max_size=12)
HEADER = st.lists(st.sampled_from(COLUMNS + ["Mã thủ tục", "Tên TTHC", "Ghi chú", "", " Lĩnh  vực "]) | st.text(max_size=8),
                  min_size=0, max_size=9)
TABLE = st.tuples(HEADER, st.lists(st.lists(CELL, max_size=9), max_size=8))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("generated")


def _check(path: Path) -> list[CatalogueRow] | None:
    """Read ``path``: the rows, or None when refused with a CatalogueFileError (anything else fails)."""
    try:
        rows = read_catalogue(path, FIELDS)
    except CatalogueFileError as exc:
        assert exc.errors and all(isinstance(e, str) and e for e in exc.errors)
        return None
    assert rows
    numbers = [r.row for r in rows]
    assert numbers == sorted(set(numbers)) and numbers[0] >= 2
    for r in rows:
        assert r.name and r.name == r.name.strip()
        assert r.code is None or CODE_RE.match(r.code)
        assert r.field_key is None or r.field_key in FIELD_NAMES.values()
        assert set(r.levels) <= set(LEVEL_NAMES) and len(set(r.levels)) == len(r.levels)
        assert r.status is None or r.status in PROCEDURE_STATUS_NAMES
        assert r.agency is None or len(r.agency) <= 255
    codes = [r.code for r in rows if r.code]
    assert len(codes) == len(set(codes))
    return rows


@GENERATED
@given(data=st.binary(max_size=2000))
def test_any_bytes_as_csv(folder: Path, data: bytes) -> None:
    path = folder / "bytes.csv"
    path.write_bytes(data)
    _check(path)


@GENERATED
@given(table=TABLE, bom=st.booleans(), terminator=st.sampled_from(["\r\n", "\n", "\r"]))
def test_generated_csv_tables(folder: Path, table: tuple[list[str], list[list[str]]], bom: bool,
                              terminator: str) -> None:
    header, rows = table
    buf = io.StringIO()
    csv.writer(buf, lineterminator=terminator).writerows([header, *rows])
    path = folder / "table.csv"
    path.write_bytes(buf.getvalue().encode("utf-8-sig" if bom else "utf-8"))
    parsed = _check(path)
    if parsed is not None and "Tên thủ tục hành chính" in header:
        assert len(parsed) <= len(rows)


@GENERATED
@given(table=TABLE, typed=st.lists(st.integers() | st.floats(allow_nan=True) | st.booleans() | st.none()
                                   | st.datetimes(min_value=datetime(1900, 3, 1)), max_size=5))
def test_generated_xlsx_tables(folder: Path, table: tuple[list[str], list[list[str]]], typed: list[object]) -> None:
    header, rows = table
    wb = Workbook()
    for row in [header, *rows, typed]:
        wb.active.append([xlsx_text(c) for c in row])
    path = folder / "table.xlsx"
    try:
        wb.save(path)
    except ValueError:
        assume(False)  # a value openpyxl cannot write (e.g. an infinite float): not an input a user can make
    _check(path)


def _valid_xlsx() -> bytes:
    wb = Workbook()
    for row in [COLUMNS, ["1", "1.000001", "Thủ tục A", "Sở hữu trí tuệ", "Cấp tỉnh", "", ""]]:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


VALID_XLSX = _valid_xlsx()


@GENERATED
@given(flips=st.lists(st.tuples(st.integers(0, len(VALID_XLSX) - 1), st.integers(0, 255)), min_size=1, max_size=8),
       cut=st.none() | st.integers(0, len(VALID_XLSX)))
def test_damaged_xlsx_bytes(folder: Path, flips: list[tuple[int, int]], cut: int | None) -> None:
    data = bytearray(VALID_XLSX)
    for at, value in flips:
        data[at] = value
    path = folder / "damaged.xlsx"
    path.write_bytes(bytes(data[:cut]))
    _check(path)


@GENERATED
@given(sheet=st.text(max_size=300) | st.sampled_from([
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    '<row><c t="inlineStr"><is><t>Tên thủ tục hành chính</t></is></c></row>'
    '<row><c t="s"><v>7</v></c></row><row r="0"><c r="ZZZZ9"/></row></sheetData></worksheet>',
    '<worksheet><sheetData><row r="99999999999"><c t="n"><v>x</v></c></row></sheetData></worksheet>']))
def test_xlsx_with_generated_sheet_xml(folder: Path, sheet: str) -> None:
    path = folder / "sheet.xlsx"
    buf = io.BytesIO(VALID_XLSX)
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, sheet if info.filename == "xl/worksheets/sheet1.xml" else src.read(info))
    _check(path)
