"""Issue 16, the catalogue's part: a catalogue of codes and names imports, its fields and levels filled from
what the pipeline knows (stored ministry decisions, the names, reference lists such as the national
portal's published procedures); what stays unknown is "cần bổ sung" and listed by ``tthc catalogue
incomplete``; an unknown field says to run ``tthc seed``.

The national portal's lists are read in place from the shared reference (never copied into the project).
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session
from tthc.catalogue.fill import incomplete_procedures, levels_from_name
from tthc.catalogue.io import CatalogueFileError, export_catalogue, import_catalogue, seed_fields
from tthc.cli import main
from tthc.core.config import SETTINGS_DIR
from tthc.db.models import Procedure
from tthc.ingest.store import upsert_decision, upsert_item

LISTS = ("published_procedures_businesses.json", "published_procedures_citizens.json")
# codes of the portal's lists and what their names say of the level
PROVINCIAL, CENTRAL, COMMUNE = "1.003659", "1.001451", "1.004082"  # "(cấp tỉnh)", "(TTHC cấp trung ương)", "(Cấp Xã)"
NO_MARKER = "1.009704"  # "... của Ủy ban nhân dân cấp tỉnh": names an authority, not the level
PLAIN = "1.007281"  # "Thủ tục cấp Giấy chứng nhận đăng ký chuyển giao công nghệ"


@pytest.fixture
def portal(reference: Path) -> dict[str, str]:
    """Code → name of the national portal's published procedures (the real lists)."""
    names: dict[str, str] = {}
    for name in LISTS:
        for entry in json.loads((reference / "national-portal" / "procedures" / name).read_text(encoding="utf-8")):
            names.setdefault(entry["TTHC_MA"], entry["NAME"])
    return names


@pytest.fixture
def fields(session: Session) -> Session:
    seed_fields(session, SETTINGS_DIR / "fields.yaml")
    session.commit()
    return session


def _codes_names(path: Path, pairs: list[tuple[str, str]], header: tuple[str, str] = ("Mã TTHC", "Tên thủ tục")) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header, *pairs])
    return path


def _procs(session: Session) -> dict[str, tuple[str | None, str]]:
    return {p.code: (p.field.key if p.field else None, p.levels) for p in session.scalars(select(Procedure))}


def test_levels_from_the_portals_names(portal: dict[str, str]) -> None:
    assert levels_from_name(portal[PROVINCIAL]) == ("cap_tinh",)
    assert levels_from_name(portal[CENTRAL]) == ("cap_trung_uong",)
    assert levels_from_name(portal[COMMUNE]) == ("cap_xa",)
    assert levels_from_name(portal["2.001410"]) == ("cap_tinh",)  # "(thực hiện tại cấp tỉnh)"
    assert levels_from_name(portal[NO_MARKER]) == ()
    assert levels_from_name(portal[PLAIN]) == ()


def test_a_code_and_name_catalogue_imports(fields: Session, tmp_path: Path, portal: dict[str, str]) -> None:
    codes = [PROVINCIAL, CENTRAL, COMMUNE, NO_MARKER, PLAIN]
    result = import_catalogue(fields, _codes_names(tmp_path / "ds.csv", [(c, portal[c]) for c in codes]))
    fields.commit()
    assert (result.created, result.filled, result.incomplete) == (5, 3, 5)  # no field anywhere: all incomplete
    assert _procs(fields) == {PROVINCIAL: (None, "cap_tinh"), CENTRAL: (None, "cap_trung_uong"),
                              COMMUNE: (None, "cap_xa"), NO_MARKER: (None, ""), PLAIN: (None, "")}
    listed = {i.code: i.missing for i in incomplete_procedures(fields)}
    assert listed == {PROVINCIAL: ("lĩnh vực",), CENTRAL: ("lĩnh vực",), COMMUNE: ("lĩnh vực",),
                      NO_MARKER: ("lĩnh vực", "cấp thực hiện"), PLAIN: ("lĩnh vực", "cấp thực hiện")}


def test_the_portals_list_as_a_reference(fields: Session, tmp_path: Path, reference: Path,
                                         portal: dict[str, str]) -> None:
    # the province writes its own names (without the portal's "(cấp tỉnh)"); the list gives the level by code
    path = _codes_names(tmp_path / "ds.csv", [(PROVINCIAL, "Cấp giấy phép bưu chính"), (PLAIN, portal[PLAIN])])
    lists = [reference / "national-portal" / "procedures" / name for name in LISTS]
    result = import_catalogue(fields, path, references=lists)
    assert _procs(fields) == {PROVINCIAL: (None, "cap_tinh"), PLAIN: (None, "")}
    assert (result.filled, result.incomplete) == (1, 2)  # the list carries no field: "cần bổ sung"


def test_stored_ministry_decisions_fill_field_and_level(fields: Session, tmp_path: Path,
                                                        portal: dict[str, str]) -> None:
    run = datetime(2026, 11, 20, tzinfo=UTC)
    old, _ = upsert_decision(fields, so_hieu="100/QĐ-BKHCN", agency_name="Bộ Khoa học và Công nghệ",
                             run_time=run, trich_yeu="cũ", signed_date=date(2024, 1, 5))
    new, _ = upsert_decision(fields, so_hieu="2000/QĐ-BKHCN", agency_name="Bộ Khoa học và Công nghệ",
                             run_time=run, trich_yeu="mới", signed_date=date(2026, 10, 1))
    upsert_item(fields, old, name=portal[PLAIN], change_type="new", code=PLAIN, levels=["cap_xa"],
                field_key="hoat_dong_khcn")
    upsert_item(fields, new, name=portal[PLAIN], change_type="amended", code=PLAIN, levels=["cap_tinh"],
                field_key="chuyen_giao_cong_nghe")
    upsert_item(fields, new, name="Thủ tục chưa có mã trong quyết định", change_type="new", levels=["cap_tinh"],
                field_key="so_huu_tri_tue")
    fields.commit()
    path = _codes_names(tmp_path / "ds.csv", [(PLAIN, portal[PLAIN]), ("", "Thủ tục chưa có mã trong quyết định"),
                                              (NO_MARKER, portal[NO_MARKER])])
    result = import_catalogue(fields, path)
    fields.commit()
    by_name = {p.name: (p.code, p.field.key if p.field else None, p.levels) for p in fields.scalars(select(Procedure))}
    assert by_name == {portal[PLAIN]: (PLAIN, "chuyen_giao_cong_nghe", "cap_tinh"),  # the latest decision
                       "Thủ tục chưa có mã trong quyết định": (None, "so_huu_tri_tue", "cap_tinh"),  # by name
                       portal[NO_MARKER]: (NO_MARKER, None, "")}
    assert (result.filled, result.incomplete) == (2, 1)


def test_a_given_cell_wins_over_what_is_known(fields: Session, tmp_path: Path, portal: dict[str, str]) -> None:
    path = tmp_path / "full.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([["Mã TTHC", "Tên thủ tục", "Lĩnh vực", "Cấp thực hiện"],
                                  [PROVINCIAL, portal[PROVINCIAL], "Sở hữu trí tuệ", "Cấp xã"]])
    assert import_catalogue(fields, path).incomplete == 0
    assert _procs(fields) == {PROVINCIAL: ("so_huu_tri_tue", "cap_xa")}


def test_export_writes_can_bo_sung_and_reads_it_back_as_blank(fields: Session, tmp_path: Path,
                                                              portal: dict[str, str]) -> None:
    import_catalogue(fields, _codes_names(tmp_path / "ds.csv", [(PROVINCIAL, portal[PROVINCIAL]),
                                                                 (PLAIN, portal[PLAIN])]))
    fields.commit()
    for suffix in (".xlsx", ".csv"):
        out = tmp_path / f"export{suffix}"
        export_catalogue(fields, out)
        if suffix == ".xlsx":
            table = [list(r) for r in load_workbook(out).active.iter_rows(values_only=True)]
        else:
            with open(out, encoding="utf-8", newline="") as fh:
                table = list(csv.reader(fh))
        by_code = {r[1]: (r[3], r[4]) for r in table[1:]}
        assert by_code == {PROVINCIAL: ("cần bổ sung", "Cấp tỉnh"), PLAIN: ("cần bổ sung", "cần bổ sung")}
        again = import_catalogue(fields, out)
        assert (again.created, again.updated, again.unchanged, again.incomplete) == (0, 0, 2, 2)
    assert _procs(fields) == {PROVINCIAL: (None, "cap_tinh"), PLAIN: (None, "")}


def test_other_usual_headers(fields: Session, tmp_path: Path, portal: dict[str, str]) -> None:
    path = _codes_names(tmp_path / "ds.csv", [(PROVINCIAL, portal[PROVINCIAL])], header=("Mã thủ tục", "Tên TTHC"))
    assert import_catalogue(fields, path).created == 1


def test_an_unknown_field_says_to_run_seed(fields: Session, tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text("Mã TTHC,Tên thủ tục,Lĩnh vực\n1.000001,Thủ tục A,Bưu chính\n", encoding="utf-8")
    with pytest.raises(CatalogueFileError) as info:
        import_catalogue(fields, path)
    assert info.value.errors == ["dòng 2: lĩnh vực 'Bưu chính' không có trong danh mục lĩnh vực — thêm lĩnh vực vào "
                                 "plugins/tthc/settings/fields.yaml (hoặc tệp --fields) rồi chạy `tthc seed`"]


def test_an_empty_fields_table_says_to_run_seed(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text("Mã TTHC,Tên thủ tục,Lĩnh vực\n1.000001,Thủ tục A,Sở hữu trí tuệ\n", encoding="utf-8")
    with pytest.raises(CatalogueFileError) as info:
        import_catalogue(session, path)
    assert info.value.errors == ["f.csv: chưa có danh mục lĩnh vực trong cơ sở dữ liệu (the fields table is empty) "
                                 "— chạy `tthc seed` rồi nhập lại"]


def test_a_broken_reference_list_is_named(fields: Session, tmp_path: Path) -> None:
    path = _codes_names(tmp_path / "ds.csv", [(PLAIN, "Thủ tục")])
    (tmp_path / "list.json").write_text('{"TTHC_MA": "1.000001"}', encoding="utf-8")
    with pytest.raises(CatalogueFileError, match="list.json: không phải danh sách thủ tục"):
        import_catalogue(fields, path, references=[tmp_path / "list.json"])
    (tmp_path / "list.json").write_text("[{", encoding="utf-8")
    with pytest.raises(CatalogueFileError, match="list.json: không phải tệp JSON đọc được"):
        import_catalogue(fields, path, references=[tmp_path / "list.json"])
    with pytest.raises(CatalogueFileError, match="không tìm thấy tệp"):
        import_catalogue(fields, path, references=[tmp_path / "missing.json"])


def test_cli_import_with_reference_and_incomplete(db_url: str, tmp_path: Path, reference: Path,
                                                  portal: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["seed"]) == 0
    path = _codes_names(tmp_path / "ds.csv", [(PROVINCIAL, "Cấp giấy phép bưu chính"), (PLAIN, portal[PLAIN])])
    capsys.readouterr()
    lists = [str(reference / "national-portal" / "procedures" / name) for name in LISTS]
    assert main(["catalogue", "import", str(path), "--reference", lists[0], "--reference", lists[1]]) == 0
    out = capsys.readouterr().out
    assert "2 created" in out and "1 dòng được bổ sung" in out and "2 thủ tục còn thiếu" in out
    assert "tthc catalogue incomplete" in out
    assert main(["catalogue", "incomplete"]) == 0
    out = capsys.readouterr().out
    assert f"{PROVINCIAL} – Cấp giấy phép bưu chính: thiếu lĩnh vực (cần bổ sung)" in out
    assert f"{PLAIN} – {portal[PLAIN]}: thiếu lĩnh vực, cấp thực hiện (cần bổ sung)" in out
    assert "2 thủ tục cần bổ sung" in out
