"""catalogue.io with pandas: typed cells, blank rows, spreadsheet row numbers, formula-injection-safe export.

Runs on SQLite and PostgreSQL (the ``session`` fixture).
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session
from tthc.catalogue.io import (
    COLUMNS,
    FORMULA_START,
    CatalogueFileError,
    csv_escape,
    csv_unescape,
    export_catalogue,
    import_catalogue,
    seed_fields,
)
from tthc.core.config import SETTINGS_DIR
from tthc.db.models import Procedure
from tthc.db.session import get_engine, migrate
from tthc_dev.sandbox import DATA_DIR

FIELDS = SETTINGS_DIR / "fields.yaml"
DEMO_CSV = DATA_DIR / "province_catalogue.csv"
HYPERLINK = '=HYPERLINK("http://x","y")'
# names and agencies a spreadsheet would take for formulas (OWASP's list)
RISKY = [HYPERLINK, "+84 thủ tục cộng", "-1 thủ tục trừ", "@SUM(1)", "=1+2"]
RISKY_AGENCY = "=cmd|' /C calc'!A0"


def _row(code: str, name: str, field: str = "Sở hữu trí tuệ", level: str = "Cấp tỉnh", agency: str = "Sở KH&CN",
         status: str = "Đang áp dụng", stt: object = 1) -> list[object]:
    return [stt, code, name, field, level, agency, status]


def _write_csv(path: Path, rows: list[list[object]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def _write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    wb.save(path)
    return path


def _write(path: Path, rows: list[list[object]]) -> Path:
    return (_write_csv if path.suffix == ".csv" else _write_xlsx)(path, rows)


def _catalogue(session: Session) -> set[tuple]:
    return {(p.code, p.name, p.field.key, p.levels, p.agency, p.status) for p in session.scalars(select(Procedure))}


@pytest.fixture
def fields(session: Session) -> Session:
    seed_fields(session, FIELDS)
    session.commit()
    return session


@pytest.fixture
def risky(fields: Session, tmp_path: Path) -> Session:
    """The demo catalogue plus procedures whose names (and one agency) look like formulas."""
    with open(DEMO_CSV, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    rows += [_row(f"1.09{i:04d}", name, stt=36 + i) for i, name in enumerate(RISKY)]
    rows.append(_row("1.099999", "Thủ tục có cơ quan lạ", agency=RISKY_AGENCY, stt=99))
    result = import_catalogue(fields, _write_csv(tmp_path / "risky.csv", rows))
    fields.commit()
    assert result.created == 35 + len(RISKY) + 1
    assert fields.scalar(select(Procedure).where(Procedure.code == "1.090000")).name == HYPERLINK
    return fields


# --- formula injection -------------------------------------------------------------------------------


def test_xlsx_export_writes_formula_like_text_as_string_cells(risky: Session, tmp_path: Path) -> None:
    out = tmp_path / "export.xlsx"
    export_catalogue(risky, out)
    ws = load_workbook(out).active  # formulas are kept as formulas when not data_only
    by_name = {row[2].value: row for row in ws.iter_rows(min_row=2)}
    for name in RISKY:
        cell = by_name[name][2]
        assert (cell.value, cell.data_type) == (name, "s")
    agency = by_name["Thủ tục có cơ quan lạ"][5]
    assert (agency.value, agency.data_type) == (RISKY_AGENCY, "s")
    # and in the file itself: no formula element anywhere in the sheet
    with zipfile.ZipFile(out) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml").decode("utf-8")
    assert "<f>" not in sheet and "<f " not in sheet
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)


def test_csv_export_prefixes_formula_like_cells_with_a_quote(risky: Session, tmp_path: Path) -> None:
    out = tmp_path / "export.csv"
    export_catalogue(risky, out)
    with open(out, encoding="utf-8", newline="") as fh:
        table = list(csv.reader(fh))
    assert table[0] == COLUMNS
    names = {r[1]: r[2] for r in table[1:]}
    assert names["1.090000"] == "'" + HYPERLINK
    for i, name in enumerate(RISKY):
        assert names[f"1.09{i:04d}"] == "'" + name
    assert next(r for r in table if r[1] == "1.099999")[5] == "'" + RISKY_AGENCY
    # no cell starts with a formula character; ordinary cells are untouched
    assert not [c for r in table for c in r if c.startswith(FORMULA_START)]
    assert names["1.012870"] == "Xét hỗ trợ hoạt động nghiên cứu và triển khai, chuyển giao công nghệ"


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_import_export_import_round_trip(risky: Session, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"export{suffix}"
    assert export_catalogue(risky, out) == 35 + len(RISKY) + 1
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    migrate(url)
    with Session(get_engine(url)) as fresh:
        seed_fields(fresh, FIELDS)
        assert import_catalogue(fresh, out).created == 35 + len(RISKY) + 1
        fresh.commit()
        assert _catalogue(fresh) == _catalogue(risky)
    again = import_catalogue(risky, out)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 35 + len(RISKY) + 1)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("'=+-@\t\rab ạ1\"")) | st.text())
def test_csv_escape_is_undone_exactly_and_leaves_no_formula(text: str) -> None:
    escaped = csv_escape(text)
    assert csv_unescape(escaped) == text
    assert not escaped.startswith(FORMULA_START)
    if not text.lstrip("'").startswith(FORMULA_START):
        assert escaped == text


# --- typed cells -------------------------------------------------------------------------------------


def test_xlsx_numeric_cells_read_as_their_text(fields: Session, tmp_path: Path) -> None:
    # Excel turns a typed 1.001155 into a number; STT as float; agency and status left empty (not NaN)
    rows = [COLUMNS, _row(1.001155, "Thủ tục A", stt=1.0, agency=None, status=None),
            _row("1.000002", "Thủ tục B", stt=2, agency="", status="")]
    import_catalogue(fields, _write_xlsx(tmp_path / "typed.xlsx", rows))
    fields.commit()
    assert _catalogue(fields) == {("1.001155", "Thủ tục A", "so_huu_tri_tue", "cap_tinh", "", "active"),
                                  ("1.000002", "Thủ tục B", "so_huu_tri_tue", "cap_tinh", "", "active")}


def test_xlsx_reads_the_active_sheet(fields: Session, tmp_path: Path) -> None:
    wb = Workbook()
    wb.active.append(["ghi chú"])
    sheet = wb.create_sheet("Danh mục")
    for r in [COLUMNS, _row("1.000001", "Thủ tục trên trang thứ hai")]:
        sheet.append(r)
    wb.active = 1
    path = tmp_path / "two.xlsx"
    wb.save(path)
    assert import_catalogue(fields, path).created == 1


# --- blank rows and row numbers ----------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_blank_rows_skipped_and_rows_numbered_as_in_a_spreadsheet(fields: Session, tmp_path: Path,
                                                                 suffix: str) -> None:
    rows = [COLUMNS,
            _row("1.000001", "Thủ tục có\ntên hai dòng"),  # row 2 (two text lines in a .csv)
            [""] * 7,  # row 3: blank
            _row("1.23", "Thủ tục B", stt=3),  # row 4
            [None] * 7 if suffix == ".xlsx" else [],  # row 5: blank (an empty line in a .csv)
            _row("1.000005", "Thủ tục C", level="Cấp huyện", stt=5)]  # row 6
    with pytest.raises(CatalogueFileError) as info:
        import_catalogue(fields, _write(tmp_path / f"gaps{suffix}", rows))
    assert info.value.errors == ["dòng 4: mã TTHC '1.23' không đúng dạng d.dddddd",
                                 "dòng 6: cấp thực hiện 'cấp huyện' không hợp lệ"]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_whitespace_only_rows_are_blank(fields: Session, tmp_path: Path, suffix: str) -> None:
    rows = [COLUMNS, _row("1.000001", "Thủ tục A"), [" ", "\t", "", " ", "", "", ""], _row("1.000002", "Thủ tục B")]
    assert import_catalogue(fields, _write(tmp_path / f"ws{suffix}", rows)).created == 2


def test_csv_cells_beyond_the_header_are_ignored(fields: Session, tmp_path: Path) -> None:
    rows = [COLUMNS, _row("1.000001", "Thủ tục A") + ["ghi chú", "x"], _row("1.000002", "Thủ tục B")[:5]]
    assert import_catalogue(fields, _write_csv(tmp_path / "ragged.csv", rows)).created == 2
    assert {p.agency for p in fields.scalars(select(Procedure))} == {"Sở KH&CN", ""}


def test_csv_with_bom_and_quoted_formula_like_cell(fields: Session, tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows([COLUMNS, _row("1.000001", "'" + HYPERLINK), _row("1.000002", "'Tên trong nháy")])
    import_catalogue(fields, path)
    assert {p.name for p in fields.scalars(select(Procedure))} == {HYPERLINK, "'Tên trong nháy"}


def test_empty_files(fields: Session, tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(CatalogueFileError, match="header lacks column"):
        import_catalogue(fields, tmp_path / "empty.csv")
    Workbook().save(tmp_path / "empty.xlsx")
    with pytest.raises(CatalogueFileError, match="empty workbook"):
        import_catalogue(fields, tmp_path / "empty.xlsx")
