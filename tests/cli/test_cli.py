"""cli: the ``tthc`` command, called in process against a SQLite file, and once as the console script."""

from __future__ import annotations

import csv
import subprocess
from datetime import UTC
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from tthc.cli import build_parser, main
from tthc.core.config import SETTINGS_DIR
from tthc_dev.sandbox import DATA_DIR

VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"
DATA = DATA_DIR
DEMO_CSV = DATA / "province_catalogue.csv"
SUBCOMMANDS = ["db", "seed", "catalogue", "sandbox", "deadline", "summary", "search", "match", "review", "report",
               "prod-local", "demo"]


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("TTHC_DB_URL", url)
    yield url
    from tthc.db.session import _engine

    _engine(url).dispose()


@pytest.fixture
def ready(db: str, capsys: pytest.CaptureFixture[str]) -> str:
    """Database migrated and fields seeded through the CLI."""
    assert main(["db", "upgrade"]) == 0
    assert main(["seed"]) == 0
    capsys.readouterr()
    return db


def _procedure_count(url: str) -> int:
    from tthc.db.models import Procedure
    from tthc.db.session import session_scope

    with session_scope(url) as s:
        return s.scalar(select(func.count()).select_from(Procedure))


def test_db_upgrade_and_seed(db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    assert "up to date" in capsys.readouterr().out
    assert (tmp_path / "cli.db").exists()
    assert main(["db", "upgrade"]) == 0  # idempotent
    capsys.readouterr()
    assert main(["seed"]) == 0
    assert "fields loaded (5 new)" in capsys.readouterr().out
    assert main(["seed", "--fields", str(SETTINGS_DIR / "fields.yaml")]) == 0
    assert "fields loaded (0 new)" in capsys.readouterr().out


def test_catalogue_import_demo_csv(ready: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalogue", "import", str(DEMO_CSV)]) == 0
    out = capsys.readouterr().out
    assert "35 created, 0 updated, 0 unchanged" in out
    assert _procedure_count(ready) == 35
    assert main(["catalogue", "import", str(DEMO_CSV)]) == 0
    assert "0 created, 0 updated, 35 unchanged" in capsys.readouterr().out


def test_catalogue_import_bad_file(ready: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with open(DEMO_CSV, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    rows[4][1] = "1.23"       # row 5: bad code
    rows[-1][4] = "Cấp huyện"  # row 36: unknown level
    bad = tmp_path / "bad.csv"
    with open(bad, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    assert main(["catalogue", "import", str(bad)]) == 2
    captured = capsys.readouterr()
    assert "dòng 5:" in captured.err and "1.23" in captured.err
    assert "dòng 36:" in captured.err and "cấp huyện" in captured.err
    assert "created" not in captured.out
    assert _procedure_count(ready) == 0  # nothing imported


def test_catalogue_import_unsupported_file(ready: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "danh_muc.txt"
    f.write_text("x", encoding="utf-8")
    assert main(["catalogue", "import", str(f)]) == 2
    assert "unsupported file type" in capsys.readouterr().err


def test_catalogue_export_xlsx(ready: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalogue", "import", str(DEMO_CSV)]) == 0
    out = tmp_path / "x.xlsx"
    assert main(["catalogue", "export", str(out)]) == 0
    assert f"exported 35 procedures to {out}" in capsys.readouterr().out
    rows = list(load_workbook(out).active.iter_rows(values_only=True))
    assert rows[0][1] == "Mã TTHC"
    assert len(rows) == 36
    with open(DEMO_CSV, encoding="utf-8", newline="") as fh:
        expected = {(r[1], r[2]) for r in list(csv.reader(fh))[1:]}
    assert {(r[1], r[2]) for r in rows[1:]} == expected


def test_deadline_effective(capsys: pytest.CaptureFixture[str]) -> None:
    # Tue 15 Dec 2026 -5 working days: Mon 14, Fri 11, Thu 10, Wed 9, Tue 8 Dec 2026
    assert main(["deadline", "--effective", "2026-12-15", "--as-of", "2026-11-26"]) == 0
    out = capsys.readouterr().out
    first = out.splitlines()[0]
    assert first == "Hạn công bố: 08/12/2026 (còn hạn tính đến 26/11/2026)"
    assert "Quy tắc: " in out and "05 ngày làm việc trước ngày văn bản có hiệu lực" in out
    assert "Căn cứ: Nghị định 63/2010/NĐ-CP" in out


def test_deadline_late(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deadline", "--effective", "2026-12-15", "--as-of", "2026-12-09"]) == 0
    assert "Hạn công bố: 08/12/2026 (QUÁ HẠN tính đến 09/12/2026)" in capsys.readouterr().out


def test_deadline_published_only(capsys: pytest.CaptureFixture[str]) -> None:
    # Thu 8 Oct 2026 +5 working days: Fri 9, Mon 12, Tue 13, Wed 14, Thu 15 Oct 2026
    assert main(["deadline", "--published", "2026-10-08", "--as-of", "2026-10-08"]) == 0
    out = capsys.readouterr().out
    assert "Hạn công bố: 15/10/2026 (còn hạn" in out
    assert "Chưa rõ ngày hiệu lực" in out


def test_deadline_without_dates(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deadline", "--as-of", "2026-11-26"]) == 2
    captured = capsys.readouterr()
    assert "give --effective or --published" in captured.err
    assert "Hạn công bố" not in captured.out


def test_deadline_accepts_the_dates_staff_write(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deadline", "--effective", "15/12/2026", "--as-of", "26/11/2026"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "Hạn công bố: 08/12/2026 (còn hạn tính đến 26/11/2026)"


@pytest.mark.parametrize("bad", ["31/11/2026", "2026-13-01", "15.12.26", "hôm nay"])
def test_deadline_bad_date_is_usage_error(capsys: pytest.CaptureFixture[str], bad: str) -> None:
    with pytest.raises(SystemExit) as info:
        main(["deadline", "--effective", bad, "--as-of", "2026-11-26"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"not a date: {bad!r}" in err and "dd/mm/yyyy" in err


def test_deadline_help_explains_the_rule(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["deadline", "--help"])
    out = capsys.readouterr().out
    assert "5 working days before" in out and "63/2010" in out and "workday_overrides.yaml" in out


def test_a_database_never_migrated_says_what_to_run(db: str, tmp_path: Path, capsys) -> None:
    assert main(["catalogue", "import", str(DEMO_CSV)]) == 2
    err = capsys.readouterr().err
    assert "tthc db upgrade" in err and "Traceback" not in err


def test_parser_requires_a_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args([])
    assert info.value.code == 2


def test_console_script_help() -> None:
    script = VENV_BIN / "tthc"
    assert script.exists()
    proc = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: tthc ")
    listed_in_usage = set(proc.stdout.split("{", 1)[1].split("}", 1)[0].split(","))  # argparse's subcommands
    assert set(SUBCOMMANDS) <= listed_in_usage
    listed = {line.split()[0] for line in proc.stdout.splitlines() if line.startswith("    ") and line.split()}
    assert set(SUBCOMMANDS) <= listed


def test_match_prints_verdicts_for_a_pasted_annex(ready, tmp_path, capsys) -> None:
    assert main(["catalogue", "import", str(DEMO_CSV)]) == 0
    import csv

    with open(DEMO_CSV, encoding="utf-8") as fh:
        first = next(csv.DictReader(fh))
    pasted = tmp_path / "annex.csv"
    with open(pasted, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerows([["name", "code"], [first["Tên thủ tục hành chính"].upper(), ""],
                          ["Thủ tục hoàn toàn không tồn tại", ""]])
    capsys.readouterr()
    assert main(["match", str(pasted)]) == 0
    out = capsys.readouterr().out
    assert first["Mã TTHC"] in out and "khớp" in out and "không có trong danh mục" in out
    bad = tmp_path / "bad.csv"
    bad.write_text("ten,ma\nx,y\n", encoding="utf-8")
    assert main(["match", str(bad)]) == 2


def test_match_formats_full_names_and_no_code_on_review_rows(ready, tmp_path, capsys) -> None:
    import json

    assert main(["catalogue", "import", str(DEMO_CSV)]) == 0
    with open(DEMO_CSV, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    long_name = max((r for r in rows), key=lambda r: len(r["Tên thủ tục hành chính"]))
    close = rows[0]["Tên thủ tục hành chính"]
    pasted = tmp_path / "annex.csv"
    with open(pasted, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([["name", "code"], [long_name["Tên thủ tục hành chính"], ""],
                                  [close[:-6] + " mới", ""], ["=HYPERLINK(\"http://x\")", ""]])
    capsys.readouterr()
    assert main(["match", str(pasted), "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["stt"] for r in records] == [1, 2, 3] and [r["line"] for r in records] == [2, 3, 4]
    assert records[0]["matched_name"] == long_name["Tên thủ tục hành chính"] and len(records[0]["name"]) > 48
    review = records[1]
    assert review["verdict"] == "cần xem xét" and review["code"] == "" and review["suggested_code"]
    assert main(["match", str(pasted), "--format", "table"]) == 0
    table = capsys.readouterr().out
    assert long_name["Tên thủ tục hành chính"] in table  # never cut
    assert table.splitlines()[2].startswith("1 ")
    assert main(["match", str(pasted), "--format", "csv"]) == 0
    got = list(csv.reader(capsys.readouterr().out.splitlines()))
    assert got[0][:3] == ["STT", "Dòng", "Tên nhập vào"] and got[3][2].startswith("'=")


def test_review_list_and_decide(ready: str, capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import date, datetime

    from tthc.compare.flags import compare
    from tthc.core.config import load_department
    from tthc.db.models import Flag, MatchDecision
    from tthc.db.session import session_scope
    from tthc.ingest.runs import upsert_decision, upsert_item

    assert main(["catalogue", "import", str(DEMO_CSV)]) == 0
    with session_scope(ready) as s:
        d, _ = upsert_decision(s, so_hieu="9/QĐ-BKHCN", agency_name="Bộ Khoa học và Công nghệ",
                               run_time=datetime(2026, 11, 26, tzinfo=UTC), trich_yeu="x",
                               published_date=date(2026, 11, 20), effective_date=date(2026, 12, 15),
                               field_keys="chuyen_giao_cong_nghe")
        upsert_item(s, d, name="Thủ tục hỗ trợ doanh nghiệp, tổ chức thực hiện giải mã công nghệ",
                    change_type="amended", levels=["cap_tinh"], field_key="chuyen_giao_cong_nghe")
        compare(s, load_department(), as_of=date(2026, 11, 26))
        flag_id = s.scalar(select(Flag.id))
    capsys.readouterr()
    assert main(["review", "list"]) == 0
    out = capsys.readouterr().out
    assert f"[{flag_id}]" in out and "1.001155" in out and "1 mục chờ xem xét" in out
    assert main(["review", "decide", str(flag_id)]) == 2  # neither --code nor --not-in-catalogue
    assert main(["review", "decide", str(flag_id), "--code", "9.999999"]) == 2
    assert "không có trong danh mục" in capsys.readouterr().err
    assert main(["review", "decide", str(flag_id), "--code", "1.001155", "--by", "chuyenvien"]) == 0
    assert "1.001155" in capsys.readouterr().out
    with session_scope(ready) as s:
        row = s.scalar(select(MatchDecision))
        assert (row.code, row.decided_by) == ("1.001155", "chuyenvien")
        compare(s, load_department(), as_of=date(2026, 11, 26))
    assert main(["review", "list"]) == 0
    assert "Không có mục nào chờ xem xét" in capsys.readouterr().out


def test_report_renders_files_and_sends_nothing(ready: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from openpyxl import load_workbook as load

    out = tmp_path / "samples"
    assert main(["report", "periodic", "--period", "2026-Q4", "--out", str(out)]) == 0
    assert "Quý IV năm 2026" in capsys.readouterr().out
    names = sorted(p.name for p in out.iterdir())
    assert names == ["bao-cao-kstthc-2026-Q4.html", "bao-cao-kstthc-2026-Q4.png", "bao-cao-kstthc-2026-Q4.txt",
                     "bao-cao-kstthc-2026-Q4.xlsx"]
    html = (out / "bao-cao-kstthc-2026-Q4.html").read_text(encoding="utf-8")
    assert 'src="bao-cao-kstthc-2026-Q4.png"' in html and "cid:" not in html
    assert (out / "bao-cao-kstthc-2026-Q4.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert load(out / "bao-cao-kstthc-2026-Q4.xlsx").active["A5"].value.startswith("(Kỳ báo cáo")
    assert main(["report", "digest", "--as-of", "2026-11-26", "--out", str(out)]) == 0
    assert (out / "ban-tin-2026-11-26.txt").read_text(encoding="utf-8").startswith("[KSTTHC] Không có việc mới")
    assert main(["report", "periodic", "--period", "2026-Q5", "--out", str(out)]) == 2
    from tthc.db.models import MailLog
    from tthc.db.session import session_scope

    with session_scope(ready) as s:
        assert s.scalar(select(func.count()).select_from(MailLog)) == 0
