"""Issue 12 case 8: every catalogue import failure is a message naming the file, the row and what to do,
never a traceback; size limits are checked before a spreadsheet library reads the file.

Runs on SQLite and PostgreSQL (the ``session`` fixture); the CLI cases call ``tthc`` in process.
"""

from __future__ import annotations

import csv
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from support import hostile_files
from tthc.catalogue import reader
from tthc.catalogue.io import COLUMNS, CatalogueFileError, import_catalogue, seed_fields
from tthc.cli import main
from tthc.core.config import SETTINGS_DIR
from tthc.db.models import Procedure, ProcedureVersion

ROW = ["1", "1.000001", "Thủ tục cấp phép", "Sở hữu trí tuệ", "Cấp tỉnh", "Sở KH&CN", "Đang áp dụng"]


@pytest.fixture
def fields(session: Session) -> Session:
    seed_fields(session, SETTINGS_DIR / "fields.yaml")
    session.commit()
    return session


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The probe's zip bomb: a few hundred KB of .xlsx unpacking to 208 MB of sheet XML."""
    path = hostile_files.zip_bomb(tmp_path_factory.mktemp("bomb") / "bomb.xlsx")
    with zipfile.ZipFile(path) as zf:
        assert sum(i.file_size for i in zf.infolist()) > 200_000_000
    assert path.stat().st_size < 600_000
    return path


def _write_csv(path: Path, rows: list[list[object]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def _rejected(session: Session, path: Path) -> list[str]:
    """The messages of a refused import; checks that nothing was written."""
    with pytest.raises(CatalogueFileError) as info:
        import_catalogue(session, path)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Procedure)) == 0
    assert session.scalar(select(func.count()).select_from(ProcedureVersion)) == 0
    assert path.name in str(info.value)  # the file is named
    assert all(" — " in e or e.startswith("dòng ") for e in info.value.errors)  # and what to do
    return info.value.errors


def test_xlsx_without_a_worksheet(fields: Session, tmp_path: Path) -> None:
    errors = _rejected(fields, hostile_files.no_worksheet(tmp_path / "trong.xlsx"))
    assert errors == ["trong.xlsx: sổ tính không có trang tính nào (has no worksheet) — mở tệp, chọn trang danh mục "
                      "thủ tục rồi lưu lại"]


def test_billion_laughs_is_refused_before_parsing(fields: Session, tmp_path: Path) -> None:
    errors = _rejected(fields, hostile_files.billion_laughs(tmp_path / "cuoi.xlsx"))
    assert len(errors) == 1
    assert "xl/worksheets/sheet1.xml" in errors[0] and "DOCTYPE" in errors[0]


def test_a_doctype_in_any_part_is_refused(fields: Session, tmp_path: Path) -> None:
    # an external entity in the workbook part (XXE), not only entity expansion in a sheet
    path = tmp_path / "xxe.xlsx"
    Workbook().save(path)
    with zipfile.ZipFile(path) as zf:
        parts = {i.filename: zf.read(i) for i in zf.infolist()}
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(
        b"<workbook", b'<!DOCTYPE workbook [<!ENTITY x SYSTEM "file:///etc/passwd">]><workbook', 1)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    assert "xl/workbook.xml" in _rejected(fields, path)[0]


def test_zip_bomb_is_refused_before_loading(fields: Session, zip_bomb: Path) -> None:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        errors = _rejected(fields, zip_bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "bomb.xlsx: tệp giải nén ra 198.4 MiB, quá giới hạn 32.0 MiB" in errors[0]
    # before: the whole sheet was parsed (9 minutes, 2.6 GB); now only the zip's directory is read
    assert time.perf_counter() - started < 5
    assert peak < 5 * 2**20, peak


def test_a_sheet_of_empty_rows_is_refused_by_counting_rows(fields: Session, tmp_path: Path) -> None:
    # under the unpacked-size limit (28 MB of XML in 55 KB) but two million row elements
    path = hostile_files.zip_bomb(tmp_path / "rows.xlsx", target_bytes=28_000_000)
    tracemalloc.start()
    try:
        errors = _rejected(fields, path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert errors == ["rows.xlsx: trang tính xl/worksheets/sheet1.xml có nhiều hơn 20.000 dòng dữ liệu (more than "
                      "20,000 rows) — xoá các dòng thừa (kể cả dòng trống có định dạng ở cuối trang) hoặc chia nhỏ "
                      "danh mục"]
    assert peak < 5 * 2**20, peak


def test_too_many_csv_rows(fields: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "MAX_ROWS", 3)
    rows = [COLUMNS] + [[i, f"1.00000{i}", f"Thủ tục {i}", "Sở hữu trí tuệ", "Cấp tỉnh", "", ""] for i in range(1, 5)]
    assert "more than" in _rejected(fields, _write_csv(tmp_path / "nhieu.csv", rows))[0]
    assert import_catalogue(fields, _write_csv(tmp_path / "du.csv", rows[:4])).created == 3


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_file_over_the_byte_limit(fields: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  suffix: str) -> None:
    monkeypatch.setattr(reader, "MAX_FILE_BYTES", 1000)
    path = tmp_path / f"lon{suffix}"
    path.write_bytes(b"x" * 1001)
    assert "lớn hơn giới hạn" in _rejected(fields, path)[0]


def test_csv_cell_over_the_field_limit_names_its_row(fields: Session, tmp_path: Path) -> None:
    rows = [COLUMNS, ROW, [2, "1.000002", "x" * 140_000, "Sở hữu trí tuệ", "Cấp tỉnh", "", ""]]
    errors = _rejected(fields, _write_csv(tmp_path / "dai.csv", rows))
    assert errors[0].startswith("dai.csv: dòng 3: một ô dài hơn 131.072 ký tự")


def test_unclosed_quote_names_its_row_instead_of_merging_rows(fields: Session, tmp_path: Path) -> None:
    path = tmp_path / "ngoac.csv"
    path.write_text(",".join(COLUMNS) + "\n" + ",".join(ROW) + '\n2,1.000002,"Thủ tục B,Sở hữu trí tuệ,Cấp tỉnh,,\n'
                    "3,1.000003,Thủ tục C,Sở hữu trí tuệ,Cấp tỉnh,,\n", encoding="utf-8")
    errors = _rejected(fields, path)
    assert errors[0].startswith("ngoac.csv: dòng 3: không đọc được dòng này")


def test_xlsx_cell_over_the_limit(fields: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "MAX_CELL_CHARS", 100)
    wb = Workbook()
    for r in [COLUMNS, ROW, [2, "1.000002", "y" * 101, "Sở hữu trí tuệ", "Cấp tỉnh"]]:
        wb.active.append(r)
    wb.save(tmp_path / "o.xlsx")
    assert _rejected(fields, tmp_path / "o.xlsx")[0].startswith("o.xlsx: dòng 3: một ô dài hơn 100 ký tự")


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_missing_file(fields: Session, tmp_path: Path, suffix: str) -> None:
    errors = _rejected(fields, tmp_path / f"khong-co{suffix}")
    assert errors == [f"{tmp_path / f'khong-co{suffix}'}: không tìm thấy tệp (file not found) — kiểm tra đường dẫn "
                      "và tên tệp"]


@pytest.mark.parametrize("name", ["thu-muc", "thu-muc.xlsx", "thu-muc.csv"])
def test_a_directory(fields: Session, tmp_path: Path, name: str) -> None:
    (tmp_path / name).mkdir()
    assert "là một thư mục, không phải tệp (is a directory)" in _rejected(fields, tmp_path / name)[0]


def test_non_utf8_csv_names_the_line(fields: Session, tmp_path: Path) -> None:
    path = tmp_path / "cu.csv"
    path.write_bytes((",".join(COLUMNS) + "\r\n" + ",".join(ROW) + "\r\n").encode("utf-8")
                     + "2,1.000002,Café thé,Sa,Cap,,\r\n".encode("latin-1"))  # a legacy editor's row
    errors = _rejected(fields, path)
    assert errors[0].startswith("cu.csv: không phải văn bản UTF-8 (not UTF-8 text: byte 0x") and "line 3)" in errors[0]
    assert "CSV UTF-8" in errors[0]


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\x0b", "\x0c"])
def test_unicode_line_separators_stay_in_their_cell(fields: Session, tmp_path: Path, separator: str) -> None:
    rows = [COLUMNS, [1, "1.000001", f"Thủ tục{separator}tách dòng", "Sở hữu trí tuệ", "Cấp tỉnh", "Sở KH&CN", ""],
            [2, "1.000002", "Thủ tục hai", "Sở hữu trí tuệ", "Cấp xã", "", ""]]
    result = import_catalogue(fields, _write_csv(tmp_path / "u.csv", rows))
    assert (result.created, result.updated) == (2, 0)
    got = {p.code: (p.name, p.levels, p.agency) for p in fields.scalars(select(Procedure))}
    # the separator is whitespace to clean(): one space, in the same cell of the same row
    assert got == {"1.000001": ("Thủ tục tách dòng", "cap_tinh", "Sở KH&CN"), "1.000002": ("Thủ tục hai", "cap_xa", "")}


def test_cli_prints_the_message_and_exits_2(db_url: str, tmp_path: Path, zip_bomb: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["seed"]) == 0
    (tmp_path / "thu-muc").mkdir()
    for path in (tmp_path / "khong-co.csv", tmp_path / "thu-muc", zip_bomb,
                 hostile_files.billion_laughs(tmp_path / "cuoi.xlsx"),
                 hostile_files.no_worksheet(tmp_path / "trong.xlsx")):
        capsys.readouterr()
        assert main(["catalogue", "import", str(path)]) == 2
        err = capsys.readouterr().err
        assert path.name in err and "Traceback" not in err and "nothing changed" in err
