"""catalogue: fields seeding, all-or-nothing import of .csv/.xlsx, versions, export round trips.

Runs on SQLite and PostgreSQL (the ``session`` fixture).
"""

from __future__ import annotations

import csv
import unicodedata
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tthc.catalogue.io import (
    COLUMNS,
    CatalogueFileError,
    export_catalogue,
    import_catalogue,
    parse_catalogue,
    seed_fields,
)
from tthc.core.config import SETTINGS_DIR
from tthc.db.models import Field, Procedure, ProcedureVersion
from tthc.db.session import get_engine, migrate
from tthc_dev.sandbox import DATA_DIR

DATA = DATA_DIR
FIELDS = SETTINGS_DIR / "fields.yaml"
DEMO_CSV = DATA / "province_catalogue.csv"


def _demo_rows() -> list[list[str]]:
    """The demo catalogue as rows of cells, header first (read independently of the code under test)."""
    with open(DEMO_CSV, encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def _demo_pairs() -> set[tuple[str, str]]:
    return {(r[1], r[2]) for r in _demo_rows()[1:]}


def _write_csv(path: Path, rows: list[list[object]], encoding: str = "utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def _write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def _count(session: Session, model=Procedure) -> int:
    return session.scalar(select(func.count()).select_from(model))


def _codes_names(session: Session) -> set[tuple[str | None, str]]:
    return {(p.code, p.name) for p in session.scalars(select(Procedure))}


def _row(code: str, name: str, field: str = "Sở hữu trí tuệ", level: str = "Cấp tỉnh",
         status: str = "Đang áp dụng", stt: int = 1) -> list[object]:
    return [stt, code, name, field, level, "Sở Khoa học và Công nghệ", status]


@pytest.fixture
def fields(session: Session) -> Session:
    seed_fields(session, FIELDS)
    session.commit()
    return session


@pytest.fixture
def loaded(fields: Session) -> Session:
    import_catalogue(fields, DEMO_CSV)
    fields.commit()
    return fields


# --- seed_fields -------------------------------------------------------------------------------

def test_seed_fields(session: Session) -> None:
    assert seed_fields(session, FIELDS) == 5
    session.commit()
    rows = {f.key: (f.name, f.portal_id) for f in session.scalars(select(Field))}
    assert rows["so_huu_tri_tue"] == ("Sở hữu trí tuệ", "69")
    assert rows["chuyen_giao_cong_nghe"] == ("Chuyển giao công nghệ", "71")
    assert set(rows) == {"hoat_dong_khcn", "so_huu_tri_tue", "tieu_chuan_do_luong_chat_luong",
                         "nang_luong_nguyen_tu", "chuyen_giao_cong_nghe"}


def test_seed_fields_is_idempotent_and_updates_names(session: Session, tmp_path: Path) -> None:
    seed_fields(session, FIELDS)
    session.commit()
    assert seed_fields(session, FIELDS) == 0
    f = tmp_path / "fields.yaml"
    f.write_text('- key: so_huu_tri_tue\n  portal_id: "99"\n  name: "Sở hữu  trí tuệ (SHTT)"\n', encoding="utf-8")
    assert seed_fields(session, f) == 0
    session.commit()
    assert _count(session, Field) == 5
    row = session.scalar(select(Field).where(Field.key == "so_huu_tri_tue"))
    assert (row.name, row.portal_id) == ("Sở hữu trí tuệ (SHTT)", "99")


# --- import: the demo file ---------------------------------------------------------------------

def test_import_demo_csv(fields: Session) -> None:
    expected = _demo_rows()
    assert len(expected) == 36  # header + 35
    result = import_catalogue(fields, DEMO_CSV)
    fields.commit()
    assert (result.created, result.updated, result.unchanged) == (35, 0, 0)
    assert _count(fields) == 35
    assert _codes_names(fields) == _demo_pairs()
    # every created procedure has version 1 and one version row
    assert _count(fields, ProcedureVersion) == 35
    assert {p.version for p in fields.scalars(select(Procedure))} == {1}


def test_import_demo_csv_maps_fields_levels_and_agency(loaded: Session) -> None:
    p = loaded.scalar(select(Procedure).where(Procedure.code == "1.012870"))
    # "Chuyển giao công nghệ" / "Cấp tỉnh; Cấp xã" in the file
    assert p.field.key == "chuyen_giao_cong_nghe"
    assert p.level_list == ["cap_tinh", "cap_xa"]
    assert p.agency == "Sở Khoa học và Công nghệ; Ủy ban nhân dân cấp xã"
    assert p.status == "active"
    assert p.name_key == "xét hỗ trợ hoạt động nghiên cứu và triển khai chuyển giao công nghệ"
    p2 = loaded.scalar(select(Procedure).where(Procedure.code == "2.002812"))
    assert p2.level_list == ["cap_xa"]
    v1 = p.versions[0]
    assert v1.version == 1
    assert v1.snapshot == {"code": "1.012870", "name": p.name, "field": "chuyen_giao_cong_nghe",
                           "levels": "cap_tinh,cap_xa", "agency": p.agency, "status": "active"}


def test_second_import_is_unchanged(loaded: Session) -> None:
    result = import_catalogue(loaded, DEMO_CSV)
    loaded.commit()
    assert (result.created, result.updated, result.unchanged) == (0, 0, 35)
    assert _count(loaded) == 35
    assert _count(loaded, ProcedureVersion) == 35


def test_xlsx_imports_the_same(fields: Session, tmp_path: Path) -> None:
    path = _write_xlsx(tmp_path / "danh_muc.xlsx", _demo_rows())
    result = import_catalogue(fields, path)
    fields.commit()
    assert (result.created, result.updated, result.unchanged) == (35, 0, 0)
    assert _codes_names(fields) == _demo_pairs()
    # and the CSV afterwards changes nothing
    again = import_catalogue(fields, DEMO_CSV)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 35)


def test_xlsx_with_numeric_stt_and_blank_trailing_rows(fields: Session, tmp_path: Path) -> None:
    rows = [COLUMNS, _row("1.000001", "Thủ tục A", stt=1), _row("1.000002", "Thủ tục B", stt=2),
            [None] * 7, ["", None, "", None, None, None, None]]
    result = import_catalogue(fields, _write_xlsx(tmp_path / "c.xlsx", rows))
    assert result.created == 2


def test_csv_with_bom_and_field_abbreviation(fields: Session, tmp_path: Path) -> None:
    rows = [COLUMNS, _row("1.000001", "Thủ tục A", field="Hoạt động KH&CN"),
            _row("", "Thủ tục không có mã", field="tieu_chuan_do_luong_chat_luong", level="Cấp xã")]
    path = _write_csv(tmp_path / "c.csv", rows, encoding="utf-8-sig")
    result = import_catalogue(fields, path)
    fields.commit()
    assert result.created == 2
    a = fields.scalar(select(Procedure).where(Procedure.code == "1.000001"))
    assert a.field.key == "hoat_dong_khcn"
    b = fields.scalar(select(Procedure).where(Procedure.name == "Thủ tục không có mã"))
    assert b.code is None
    assert b.field.key == "tieu_chuan_do_luong_chat_luong"


# --- re-import with changes --------------------------------------------------------------------

def test_changed_name_is_updated_with_new_version(loaded: Session, tmp_path: Path) -> None:
    rows = _demo_rows()
    target = next(r for r in rows if r[1] == "2.002823")
    old_name = target[2]
    target[2] = "Thủ tục công nhận sáng kiến cấp tỉnh (sửa đổi)"
    path = _write_csv(tmp_path / "v2.csv", rows)
    result = import_catalogue(loaded, path)
    loaded.commit()
    assert (result.created, result.updated, result.unchanged) == (0, 1, 34)
    assert _count(loaded) == 35
    p = loaded.scalar(select(Procedure).where(Procedure.code == "2.002823"))
    assert p.name == "Thủ tục công nhận sáng kiến cấp tỉnh (sửa đổi)"
    assert p.version == 2
    versions = list(loaded.scalars(select(ProcedureVersion).where(ProcedureVersion.procedure_id == p.id)
                                   .order_by(ProcedureVersion.version)))
    assert [v.version for v in versions] == [1, 2]
    assert versions[0].snapshot["name"] == old_name
    assert versions[1].snapshot["name"] == "Thủ tục công nhận sáng kiến cấp tỉnh (sửa đổi)"
    assert versions[1].reason == "import v2.csv"
    assert _count(loaded, ProcedureVersion) == 36


def test_changed_status_and_levels_is_updated(loaded: Session, tmp_path: Path) -> None:
    rows = _demo_rows()
    target = next(r for r in rows if r[1] == "1.001155")
    target[4] = "Cấp tỉnh, Cấp xã"
    target[6] = "Đã bãi bỏ"
    result = import_catalogue(loaded, _write_csv(tmp_path / "v2.csv", rows))
    assert result.updated == 1
    p = loaded.scalar(select(Procedure).where(Procedure.code == "1.001155"))
    assert (p.status, p.level_list, p.version) == ("abolished", ["cap_tinh", "cap_xa"], 2)


def test_procedure_without_code_is_matched_by_name(fields: Session, tmp_path: Path) -> None:
    import_catalogue(fields, _write_csv(tmp_path / "a.csv", [COLUMNS, _row("", "Thủ tục hoà giải")]))
    fields.commit()
    # the same procedure, now with its code, the name written new-style: matched by name key
    result = import_catalogue(fields, _write_csv(tmp_path / "b.csv", [COLUMNS, _row("1.000009", "Thủ tục hòa giải")]))
    fields.commit()
    assert (result.created, result.updated) == (0, 1)
    assert _count(fields) == 1
    assert fields.scalar(select(Procedure)).code == "1.000009"


def test_same_name_different_codes_are_two_procedures(fields: Session, tmp_path: Path) -> None:
    rows = [COLUMNS, _row("1.000001", "Thủ tục cấp phép X", level="Cấp tỉnh"),
            _row("2.000001", "Thủ tục cấp phép X", level="Cấp xã", stt=2)]
    result = import_catalogue(fields, _write_csv(tmp_path / "c.csv", rows))
    fields.commit()
    assert result.created == 2
    assert {p.code for p in fields.scalars(select(Procedure))} == {"1.000001", "2.000001"}


# --- malformed files: rejected, nothing changes ------------------------------------------------

def _bad_rows(kind: str) -> tuple[list[list[object]], int, str]:
    """Demo rows with one defect; returns rows, the spreadsheet row number of the defect, and a message part."""
    rows = _demo_rows()
    if kind == "code":
        rows[5][1] = "1.23"
        return rows, 6, "mã TTHC '1.23'"
    if kind == "field":
        rows[10][3] = "Lĩnh vực không tồn tại"
        return rows, 11, "lĩnh vực 'Lĩnh vực không tồn tại'"
    if kind == "level":
        rows[3][4] = "Cấp huyện"
        return rows, 4, "cấp thực hiện 'cấp huyện'"
    if kind == "duplicate":
        rows[20][1] = rows[2][1]  # row 21 repeats the code of row 3
        return rows, 21, "trùng với dòng 3"
    if kind == "missing_name":
        rows[7][2] = "  "
        return rows, 8, "thiếu 'Tên thủ tục hành chính'"
    if kind == "status":
        rows[12][6] = "Tạm dừng"
        return rows, 13, "trạng thái 'Tạm dừng'"
    if kind == "last":
        rows[-1][1] = "9.9"
        return rows, 36, "mã TTHC '9.9'"
    raise AssertionError(kind)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
@pytest.mark.parametrize("kind", ["code", "field", "level", "duplicate", "missing_name", "status", "last"])
def test_bad_row_rejects_file_and_names_row(fields: Session, tmp_path: Path, kind: str, suffix: str) -> None:
    rows, number, message = _bad_rows(kind)
    path = tmp_path / f"bad{suffix}"
    (_write_csv if suffix == ".csv" else _write_xlsx)(path, rows)
    before = _count(fields)
    with pytest.raises(CatalogueFileError) as info:
        import_catalogue(fields, path)
    fields.rollback()
    errors = info.value.errors
    assert len(errors) == 1
    assert errors[0].startswith(f"dòng {number}: ")
    assert message in errors[0]
    assert _count(fields) == before == 0
    assert _count(fields, ProcedureVersion) == 0


def test_bad_last_row_does_not_touch_existing_catalogue(loaded: Session, tmp_path: Path) -> None:
    rows = _demo_rows()
    for r in rows[1:]:
        r[2] = r[2] + " (mới)"  # every row would be an update...
    rows[-1][4] = "Cấp huyện"  # ...but the last one is invalid
    before = _codes_names(loaded)
    with pytest.raises(CatalogueFileError, match="dòng 36"):
        import_catalogue(loaded, _write_csv(tmp_path / "bad.csv", rows))
    loaded.rollback()
    assert _codes_names(loaded) == before
    assert _count(loaded, ProcedureVersion) == 35
    assert {p.version for p in loaded.scalars(select(Procedure))} == {1}


def test_all_errors_are_listed(fields: Session, tmp_path: Path) -> None:
    rows = _demo_rows()
    rows[2][1] = "1.23"
    rows[4][4] = "Cấp huyện"
    rows[9][3] = "Không có"
    with pytest.raises(CatalogueFileError) as info:
        import_catalogue(fields, _write_csv(tmp_path / "bad.csv", rows))
    assert [e.split(":")[0] for e in info.value.errors] == ["dòng 3", "dòng 5", "dòng 10"]
    assert "nothing changed" in str(info.value)


def test_missing_required_column(fields: Session, tmp_path: Path) -> None:
    rows = [[c for c in r] for r in _demo_rows()]
    for r in rows:
        del r[2]  # drop "Tên thủ tục hành chính", the one column a catalogue needs (issue 16: not "Lĩnh vực")
    with pytest.raises(CatalogueFileError) as info:
        import_catalogue(fields, _write_csv(tmp_path / "nocol.csv", rows))
    assert len(info.value.errors) == 1
    assert "nocol.csv" in info.value.errors[0] and "Tên thủ tục hành chính" in info.value.errors[0]
    assert _count(fields) == 0


_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def _cp1258(text: str) -> bytes:
    """Vietnamese text the way legacy Windows tools save it: cp1258, tone marks as combining characters."""
    out = []
    for ch in text:
        parts = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONES))
        out.append(base + "".join(c for c in parts if c in _TONES))
    return "".join(out).encode("cp1258")


def test_non_utf8_csv_cp1258(fields: Session, tmp_path: Path) -> None:
    text = "\r\n".join(",".join(map(str, r)) for r in [COLUMNS, _row("1.000001", "Thủ tục cấp phép")]) + "\r\n"
    data = _cp1258(text)
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # the file really is not UTF-8
    path = tmp_path / "legacy.csv"
    path.write_bytes(data)
    with pytest.raises(CatalogueFileError) as info:
        import_catalogue(fields, path)
    assert len(info.value.errors) == 1
    assert "legacy.csv" in info.value.errors[0] and "UTF-8" in info.value.errors[0]
    assert _count(fields) == 0


def test_non_utf8_csv_latin1_in_last_row(fields: Session, tmp_path: Path) -> None:
    # a valid UTF-8 file except one latin-1 byte in its last row: still rejected as a whole
    good = DEMO_CSV.read_bytes()
    path = tmp_path / "legacy.csv"
    path.write_bytes(good + b"36,1.000036,Caf\xe9 th\xe9,S\xe1,C\xe1p t\xecnh,x,\r\n")
    with pytest.raises(CatalogueFileError, match="not UTF-8"):
        import_catalogue(fields, path)
    assert _count(fields) == 0


def test_unsupported_extension(fields: Session, tmp_path: Path) -> None:
    path = tmp_path / "danh_muc.ods"
    path.write_bytes(DEMO_CSV.read_bytes())
    with pytest.raises(CatalogueFileError, match="unsupported file type"):
        import_catalogue(fields, path)
    assert _count(fields) == 0


def test_unreadable_xlsx(fields: Session, tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"not a zip file")
    with pytest.raises(CatalogueFileError, match="broken.xlsx"):
        import_catalogue(fields, path)


def test_header_only_file(fields: Session, tmp_path: Path) -> None:
    with pytest.raises(CatalogueFileError, match="no data rows"):
        parse_catalogue(fields, _write_csv(tmp_path / "empty.csv", [COLUMNS]))


def test_xlsx_error_after_blank_row_names_the_spreadsheet_row(fields: Session, tmp_path: Path) -> None:
    rows = [COLUMNS, _row("1.000001", "Thủ tục A"), [None] * 7, _row("1.23", "Thủ tục B", stt=2)]
    with pytest.raises(CatalogueFileError) as info:
        import_catalogue(fields, _write_xlsx(tmp_path / "gap.xlsx", rows))
    assert info.value.errors[0].startswith("dòng 4: ")


# --- export ------------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_round_trip(loaded: Session, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"export{suffix}"
    assert export_catalogue(loaded, out) == 35
    # the file itself: header and 35 rows, in code order
    if suffix == ".csv":
        with open(out, encoding="utf-8", newline="") as fh:
            table = list(csv.reader(fh))
    else:
        table = [list(r) for r in load_workbook(out).active.iter_rows(values_only=True)]
    assert table[0] == COLUMNS
    assert len(table) == 36
    codes = [r[1] for r in table[1:]]
    assert codes == sorted(code for code, _ in _demo_pairs())
    row = next(r for r in table if r[1] == "1.012870")
    assert row[3:7] == ["Chuyển giao công nghệ", "Cấp tỉnh; Cấp xã",
                        "Sở Khoa học và Công nghệ; Ủy ban nhân dân cấp xã", "Đang áp dụng"]
    # import into a fresh database (SQLite) gives the same catalogue
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    migrate(url)
    with Session(get_engine(url)) as fresh:
        seed_fields(fresh, FIELDS)
        result = import_catalogue(fresh, out)
        fresh.commit()
        assert result.created == 35
        assert _codes_names(fresh) == _codes_names(loaded) == _demo_pairs()
        levels = {p.code: (p.levels, p.field.key, p.status) for p in fresh.scalars(select(Procedure))}
    assert levels == {p.code: (p.levels, p.field.key, p.status) for p in loaded.scalars(select(Procedure))}
    # and re-importing the export into the source changes nothing
    again = import_catalogue(loaded, out)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 35)


def test_export_unsupported_extension(loaded: Session, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unsupported file type"):
        export_catalogue(loaded, tmp_path / "x.json")
