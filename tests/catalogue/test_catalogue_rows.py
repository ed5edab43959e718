"""Issue 12 cases 7 and 9 for the catalogue: a blank cell never erases what the catalogue holds (a row
without a code kept 1.001155's procedure but removed its code), and values longer than their column are a
named row error before anything is written, on PostgreSQL as on SQLite (``session`` runs on both)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tthc.catalogue.io import COLUMNS, CatalogueFileError, import_catalogue, seed_fields
from tthc.core.config import SETTINGS_DIR
from tthc.db.models import Procedure, ProcedureVersion

NAME = "Thủ tục hỗ trợ doanh nghiệp, tổ chức, cá nhân thực hiện giải mã công nghệ"


def _csv(path: Path, rows: list[list[object]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([COLUMNS, *rows])
    return path


@pytest.fixture
def listed(session: Session, tmp_path: Path) -> Session:
    """1.001155 in the catalogue with every column filled."""
    seed_fields(session, SETTINGS_DIR / "fields.yaml")
    import_catalogue(session, _csv(tmp_path / "first.csv", [
        [1, "1.001155", NAME, "Chuyển giao công nghệ", "Cấp tỉnh; Cấp xã", "Sở Khoa học và Công nghệ", "Đã bãi bỏ"]]))
    session.commit()
    return session


def _state(session: Session) -> list[tuple]:
    return [(p.code, p.name, p.field.key if p.field else None, p.levels, p.agency, p.status, p.version)
            for p in session.scalars(select(Procedure).order_by(Procedure.id))]


def test_a_row_without_its_code_keeps_the_code(listed: Session, tmp_path: Path) -> None:
    # the same row as before, without its code (every other cell given, as the old import required)
    result = import_catalogue(listed, _csv(tmp_path / "again.csv", [
        [1, "", NAME, "Chuyển giao công nghệ", "Cấp tỉnh; Cấp xã", "Sở Khoa học và Công nghệ", "Đã bãi bỏ"]]))
    listed.commit()
    assert (result.created, result.updated, result.unchanged) == (0, 0, 1)
    assert _state(listed) == [("1.001155", NAME, "chuyen_giao_cong_nghe", "cap_tinh,cap_xa",
                               "Sở Khoa học và Công nghệ", "abolished", 1)]


def test_blank_cells_keep_what_the_catalogue_holds(listed: Session, tmp_path: Path) -> None:
    assert import_catalogue(listed, _csv(tmp_path / "blank.csv", [[1, "", NAME, "", "", "", ""]])).unchanged == 1
    assert _state(listed) == [("1.001155", NAME, "chuyen_giao_cong_nghe", "cap_tinh,cap_xa",
                               "Sở Khoa học và Công nghệ", "abolished", 1)]


def test_a_row_without_its_code_may_still_change_what_it_gives(listed: Session, tmp_path: Path) -> None:
    import_catalogue(listed, _csv(tmp_path / "again.csv", [[1, "", NAME.upper(), "", "Cấp tỉnh", "", "Đang áp dụng"]]))
    listed.commit()
    assert _state(listed) == [("1.001155", NAME.upper(), "chuyen_giao_cong_nghe", "cap_tinh",
                               "Sở Khoa học và Công nghệ", "active", 2)]
    snapshot = listed.scalars(select(ProcedureVersion).order_by(ProcedureVersion.version.desc())).first().snapshot
    assert snapshot["code"] == "1.001155"


def test_the_code_only_form_keeps_field_level_agency_status(listed: Session, tmp_path: Path) -> None:
    path = tmp_path / "codes.csv"
    path.write_text(f'Mã TTHC,Tên thủ tục hành chính\n1.001155,"{NAME}"\n', encoding="utf-8")
    assert import_catalogue(listed, path).unchanged == 1
    assert _state(listed)[0][:6] == ("1.001155", NAME, "chuyen_giao_cong_nghe", "cap_tinh,cap_xa",
                                     "Sở Khoa học và Công nghệ", "abolished")


def test_a_name_shared_by_two_procedures_needs_the_code(listed: Session, tmp_path: Path) -> None:
    import_catalogue(listed, _csv(tmp_path / "second.csv", [[1, "1.001156", NAME, "Chuyển giao công nghệ",
                                                              "Cấp tỉnh", "", ""]]))
    listed.commit()
    with pytest.raises(CatalogueFileError) as info:
        import_catalogue(listed, _csv(tmp_path / "ambiguous.csv", [[1, "", NAME, "", "", "Sở mới", ""]]))
    listed.rollback()
    assert info.value.errors == ["dòng 2: tên này có ở 2 thủ tục trong danh mục (1.001155, 1.001156) — ghi "
                                 "'Mã TTHC' để chỉ rõ thủ tục nào"]
    assert {p.agency for p in listed.scalars(select(Procedure))} == {"Sở Khoa học và Công nghệ", ""}


def test_a_name_without_code_after_the_same_name_with_code_is_a_duplicate(listed: Session, tmp_path: Path) -> None:
    with pytest.raises(CatalogueFileError) as info:
        import_catalogue(listed, _csv(tmp_path / "dup.csv", [[1, "1.001155", NAME, "", "", "", ""],
                                                             [2, "", NAME, "", "", "Sở khác", ""]]))
    assert info.value.errors == ["dòng 3: trùng với dòng 2"]


def test_a_procedure_known_by_name_gets_its_code(session: Session, tmp_path: Path) -> None:
    seed_fields(session, SETTINGS_DIR / "fields.yaml")
    import_catalogue(session, _csv(tmp_path / "a.csv", [[1, "", NAME, "Chuyển giao công nghệ", "Cấp tỉnh", "", ""]]))
    import_catalogue(session, _csv(tmp_path / "b.csv", [[1, "1.001155", NAME, "", "", "", ""]]))
    assert _state(session) == [("1.001155", NAME, "chuyen_giao_cong_nghe", "cap_tinh", "", "active", 2)]


# --- column lengths (issue 12 case 9, the catalogue's part) ------------------------------------------


def test_an_agency_longer_than_its_column_is_a_row_error(listed: Session, tmp_path: Path) -> None:
    agency = "Sở Khoa học và Công nghệ; " * 10  # 260 characters; PostgreSQL raised a raw DataError
    with pytest.raises(CatalogueFileError) as info:
        import_catalogue(listed, _csv(tmp_path / "long.csv", [
            [1, "1.001155", NAME, "Chuyển giao công nghệ", "Cấp tỉnh", agency, ""],
            [2, "1.000002", "Thủ tục B", "Chuyển giao công nghệ", "Cấp tỉnh", "Sở", ""]]))
    listed.rollback()
    assert info.value.errors == ["dòng 2: 'Cơ quan thực hiện' dài 259 ký tự, tối đa 255: rút gọn ô này"]
    assert _state(listed)[0][4] == "Sở Khoa học và Công nghệ"


def test_an_agency_of_exactly_its_column_length_is_stored(listed: Session, tmp_path: Path) -> None:
    agency = "S" * 255
    import_catalogue(listed, _csv(tmp_path / "edge.csv", [[1, "1.001155", NAME, "Chuyển giao công nghệ", "Cấp tỉnh",
                                                           agency, ""]]))
    listed.commit()
    assert _state(listed)[0][4] == agency


def test_a_long_file_name_does_not_overflow_the_version_reason(session: Session, tmp_path: Path) -> None:
    seed_fields(session, SETTINGS_DIR / "fields.yaml")
    path = _csv(tmp_path / ("danh-muc-" + "x" * 240 + ".csv"), [[1, "1.001155", NAME, "Chuyển giao công nghệ",
                                                               "Cấp tỉnh", "", ""]])
    import_catalogue(session, path)
    session.commit()
    reason = session.scalars(select(ProcedureVersion.reason)).one()
    assert len(reason) == 255 and reason.startswith("import danh-muc-xxx") and reason.endswith("…")


def test_a_field_longer_than_its_column_is_refused_by_seed(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "fields.yaml"
    path.write_text(f"- key: dai\n  name: \"{'Lĩnh vực rất dài ' * 20}\"\n  portal_id: '1'\n", encoding="utf-8")
    with pytest.raises(ValueError, match="lĩnh vực 'dai': name dài 339 ký tự, tối đa 255"):
        seed_fields(session, path)
