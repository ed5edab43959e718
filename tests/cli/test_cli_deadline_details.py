"""cli: ``tthc deadline`` says "tạm tính" for a deadline through a year without an official schedule,
``--check-year`` lists what a year lacks; ``tthc review drift`` lists and acknowledges changes on the national
database that no decision explains."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from tthc.cli import main
from tthc.db.models import ProcedureDetails


def test_deadline_marks_a_provisional_date(capsys):
    assert main(["deadline", "--effective", "10/01/2027", "--as-of", "26/11/2026"]) == 0
    out = capsys.readouterr().out
    assert "Hạn công bố: 04/01/2027 (còn hạn tính đến 26/11/2026) — tạm tính" in out
    assert "năm 2027 chưa có lịch nghỉ lễ, Tết chính thức" in out and "--check-year 2027" in out
    assert main(["deadline", "--effective", "15/01/2026", "--as-of", "26/11/2025"]) == 0
    out = capsys.readouterr().out
    assert "Hạn công bố: 09/01/2026" in out and "tạm tính" not in out


def test_check_year(capsys):
    assert main(["deadline", "--check-year", "2026"]) == 0
    out = capsys.readouterr().out
    assert "✓ Tết Dương lịch: nghỉ 01/01/2026, 02/01/2026, 03/01/2026, 04/01/2026; làm bù 10/01/2026" in out
    assert "12729/VPCP-KGVX" in out and "✓ Quốc khánh 2/9" in out and "làm bù 22/08/2026" in out
    assert "Năm 2026 đã có đủ lịch nghỉ chính thức." in out
    assert "24/11/2026" in out  # the unconfirmed holiday of the holidays package is pointed out

    assert main(["deadline", "--check-year", "2027"]) == 1
    out = capsys.readouterr().out
    assert "✗ Năm 2027 chưa có trong bảng" in out and "docs/operations.md" in out


def test_deadline_arguments(capsys):
    assert main(["deadline", "--as-of", "26/11/2026"]) == 2
    assert "--check-year" in capsys.readouterr().err
    assert main(["deadline", "--effective", "15/12/2026"]) == 2
    assert "--as-of" in capsys.readouterr().err


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from tthc.db.session import _engine, migrate

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("TTHC_DB_URL", url)
    migrate(url)
    yield url
    _engine.cache_clear()


def test_review_drift(db, capsys):
    from tthc.db.session import session_scope

    base = {"name": "Thủ tục A", "channels": [{"channel": "Trực tiếp", "deadline": "7 Ngày làm việc", "fee": ""}]}
    with session_scope(db) as s:
        s.add(ProcedureDetails(portal_id="201001", version=1, code="2.002248", name="Thủ tục A", levels="cap_tinh",
                               layout="full", content_hash="a", data=base, url="u", fetched_for=date(2026, 11, 1),
                               checked_for=date(2026, 11, 1), change="first"))
        changed = {**base, "channels": [{"channel": "Trực tiếp", "deadline": "10 Ngày làm việc", "fee": "Phí: 1 đồng"}]}
        row = ProcedureDetails(portal_id="201001", version=2, code="2.002248", name="Thủ tục A", levels="cap_tinh",
                               layout="full", content_hash="b", data=changed, url="u", fetched_for=date(2026, 11, 20),
                               checked_for=date(2026, 11, 20), change="drift", drift_status="review")
        s.add(row)
        s.flush()
        drift_id = row.id
    assert main(["review", "drift"]) == 0
    out = capsys.readouterr().out
    assert f"[thay đổi {drift_id}] 2.002248 – Thủ tục A" in out
    assert "Thời hạn giải quyết: «07 ngày làm việc» → «10 ngày làm việc»" in out
    assert "Phí, lệ phí: «Không» → «Phí: 1 đồng»" in out
    assert main(["review", "list"]) == 0
    assert "1 thay đổi trên CSDL quốc gia chưa có quyết định" in capsys.readouterr().out
    assert main(["review", "drift", str(drift_id)]) == 2  # --ack is required
    assert main(["review", "drift", str(drift_id), "--ack", "--by", "kstthc"]) == 0
    assert "Đã ghi nhận" in capsys.readouterr().out
    assert main(["review", "drift"]) == 0
    assert "Không có thay đổi nào" in capsys.readouterr().out
    assert main(["review", "drift", str(drift_id), "--ack"]) == 2  # nothing left to acknowledge
