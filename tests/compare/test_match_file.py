"""match_cli: reading a CSV of names (and codes), the result table."""

from __future__ import annotations

from pathlib import Path

import pytest
from tthc.compare.match_file import format_rows, run_match_file
from tthc.compare.matching import Candidate

CANDS = [Candidate("1.000003", "Đăng ký hợp đồng chuyển giao công nghệ", "khcn"),
         Candidate("1.000008", "Đăng ký hoạt động của tổ chức khoa học và công nghệ", "khcn"),
         Candidate("1.000004", "Cấp Giấy chứng nhận doanh nghiệp khoa học và công nghệ", "khcn")]


def _write(tmp_path: Path, text: str, bom: bool = False) -> Path:
    p = tmp_path / "items.csv"
    p.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return p


def test_run_match_file_with_bom_and_codes(tmp_path: Path) -> None:
    p = _write(tmp_path, "name,code\n"
                         "Thủ tục đăng ký hoạt động của tổ chức KH&CN,\n"
                         "\n"
                         "ghi sai tên,1.000003\n"
                         "Cấp lại Giấy chứng nhận doanh nghiệp khoa học và công nghệ,\n"
                         "Cấp phép bay,9.999999\n", bom=True)
    rows = run_match_file(p, CANDS)
    assert [r["row"] for r in rows] == [2, 4, 5, 6]
    assert [(r["verdict"], r["code"]) for r in rows] == [
        ("matched", "1.000008"), ("matched", "1.000003"), ("review", "1.000004"), ("not_found", None)]
    assert rows[1]["input_code"] == "1.000003"


def test_name_only_csv_and_header_case(tmp_path: Path) -> None:
    rows = run_match_file(_write(tmp_path, "Name\nĐăng ký hợp đồng chuyển giao công nghệ\n"), CANDS)
    assert rows[0]["code"] == "1.000003"


@pytest.mark.parametrize("text", ["ten,code\nabc,1.000001\n", ""])
def test_csv_without_name_column_is_rejected(tmp_path: Path, text: str) -> None:
    with pytest.raises(ValueError, match="no 'name' column"):
        run_match_file(_write(tmp_path, text), CANDS)


def test_non_utf8_csv_is_rejected(tmp_path: Path) -> None:
    p = tmp_path / "items.csv"
    p.write_bytes("name\nĐăng ký\n".encode("cp1258", errors="replace") + b"\xff\xfe")
    with pytest.raises(ValueError, match="not UTF-8"):
        run_match_file(p, CANDS)


def test_format_rows_in_vietnamese(tmp_path: Path) -> None:
    p = _write(tmp_path, "name\nĐăng ký hợp đồng chuyển giao công nghệ\n"
                         "Cấp lại Giấy chứng nhận doanh nghiệp khoa học và công nghệ\nCấp phép bay\n")
    out = format_rows(run_match_file(p, CANDS))
    lines = out.splitlines()
    assert lines[0].split("  ")[0] == "STT" and "Kết quả" in lines[0]
    assert "khớp" in lines[2] and "1.000003" in lines[2] and "100.0" in lines[2]
    assert "cần xem xét" in lines[3]
    assert "không có trong danh mục" in lines[4]
    assert lines[-1] == "khớp: 1, cần xem xét: 1, không có trong danh mục: 1"
