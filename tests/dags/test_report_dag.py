"""tthc_periodic_report and tthc_report run with ``dag.test()`` against the SMTP sink: the reports due on
a cut-off day, per role, exactly once; SMTP down then up; re-runs; ``resend``."""

from __future__ import annotations

import email
import email.policy
import itertools
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
pytestmark = pytest.mark.e2e
_RUNS = itertools.count()


@pytest.fixture(scope="module")
def bag():
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils import db

    db.resetdb()
    dags = Path(__file__).resolve().parents[2] / "dags"
    out = {}
    for name in ("tthc_periodic_report", "tthc_report"):
        b = DagBag(dag_folder=str(dags / f"{name}.py"))
        assert b.import_errors == {}
        out[name] = b.dags[name]
    return out


@pytest.fixture
def announced(seeded, dept, tmp_path, smtp_sink, monkeypatch):
    """One approved announcement signed 26/11/2026 (in Q4 2026: 15/09–14/12), two procedures."""
    from tthc.approve.answer import record_response
    from tthc.compare.flags import compare
    from tthc.compare.prepare import prepare_draft
    from tthc.db.models import Procedure
    from tthc.ingest.runs import upsert_decision, upsert_item

    monkeypatch.setenv("AIRFLOW_CONN_TTHC_SMTP", f"smtp://127.0.0.1:{smtp_sink.port}?starttls=false")
    monkeypatch.setenv("TTHC_VAR_DIR", str(tmp_path / "var"))
    s = seeded
    run = datetime(2026, 11, 26, 1, tzinfo=TZ)
    procs = s.scalars(select(Procedure).where(Procedure.levels == "cap_tinh").order_by(Procedure.code)).all()[:2]
    d, _ = upsert_decision(s, so_hieu="555/QĐ-BKHCN", agency_name="Bộ Khoa học và Công nghệ", run_time=run,
                           trich_yeu="x", published_date=date(2026, 11, 20), effective_date=date(2026, 12, 15),
                           field_keys="chuyen_giao_cong_nghe")
    for p in procs:
        upsert_item(s, d, name=p.name, change_type="amended", code=p.code)
    compare(s, dept, as_of=date(2026, 11, 26))
    info = prepare_draft(s, dept, as_of=date(2026, 11, 26), out_dir=tmp_path)
    record_response(s, info.announcement_id, approved=True, so_hieu="90/QĐ-UBND", signed_date=date(2026, 11, 26),
                    decided_by="t", decided_at=run, as_of=date(2026, 11, 26), dept=dept)
    s.commit()
    return s


def _run(dag, as_of: date, **params):
    end = datetime.combine(as_of, datetime.min.time(), tzinfo=TZ).replace(hour=7)
    conf = {"window_start": (end - timedelta(days=1)).isoformat(), "window_end": end.isoformat(),
            "resend": False, **params}
    if dag.dag_id == "tthc_periodic_report":
        conf.setdefault("period", None)
    # a logical date of its own per call (a repeated one would reuse the earlier run)
    return dag.test(logical_date=end + timedelta(minutes=next(_RUNS)), run_conf=conf)


def _messages(sink):
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in sink.messages()]


def test_cut_off_day_sends_each_due_report_once_per_role_recipient(bag, announced, smtp_sink, dept, tmp_path):
    from tthc.db.models import MailLog

    run = _run(bag["tthc_periodic_report"], date(2026, 12, 15))  # Q4, H2 and the year end on 14/12
    assert run.state == "success"
    msgs = _messages(smtp_sink)
    recipients = dept.recipients_for("periodic")
    assert len(msgs) == 3 * len(recipients) == 6
    subjects = sorted({str(m["Subject"]) for m in msgs})
    assert any("Quý IV năm 2026 (15/09/2026 – 14/12/2026)" in x for x in subjects)
    assert any("6 tháng cuối năm 2026" in x for x in subjects) and any("Năm 2026" in x for x in subjects), subjects
    assert sorted({str(m["To"]) for m in msgs}) == sorted(recipients)
    q4 = next(m for m in msgs if "Quý IV" in str(m["Subject"]))
    assert "2 TTHC công bố" in str(q4["Subject"])
    assert "<table" not in q4.get_body(("plain",)).get_content()
    [chart] = [p for p in q4.walk() if p.get("Content-ID") == "<chart>"]
    assert chart.get_content_type() == "image/png"
    [xlsx] = list(q4.iter_attachments())
    path = tmp_path / "q4.xlsx"
    path.write_bytes(xlsx.get_content())
    ws = load_workbook(path).active
    assert "Quý IV năm 2026" in ws["A4"].value
    # archived: .eml and .html per recipient and report
    archive = Path(dept.archive_path()) if dept.archive_dir else tmp_path / "var" / "mail-archive"
    assert len(list((archive / "periodic").rglob("*.eml"))) == 6
    # a re-run of the same day sends nothing new
    _run(bag["tthc_periodic_report"], date(2026, 12, 15))
    assert len(smtp_sink.messages()) == 6
    assert announced.scalar(select(func.count()).select_from(MailLog).where(MailLog.kind == "periodic")) == 6


def test_other_days_send_nothing_and_period_param_forces_one(bag, announced, smtp_sink):
    assert _run(bag["tthc_periodic_report"], date(2026, 12, 16)).state == "success"
    assert smtp_sink.messages() == []
    _run(bag["tthc_periodic_report"], date(2026, 12, 16), period="2026-Q4")
    assert len(smtp_sink.messages()) == 2
    _run(bag["tthc_periodic_report"], date(2026, 12, 16), period="2026-Q4", resend=True)
    msgs = _messages(smtp_sink)
    assert len(msgs) == 4 and len({str(m["Message-ID"]) for m in msgs}) == 4


def test_smtp_down_then_up_one_message_each(bag, announced, smtp_sink, monkeypatch):
    from tthc_dev.sandbox.smtp_sink import free_port

    monkeypatch.setenv("AIRFLOW_CONN_TTHC_SMTP", f"smtp://127.0.0.1:{free_port()}?starttls=false")
    run = _run(bag["tthc_periodic_report"], date(2026, 12, 16), period="2026-Q4")
    assert run.state == "failed" and smtp_sink.messages() == []
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_SMTP", f"smtp://127.0.0.1:{smtp_sink.port}?starttls=false")
    assert _run(bag["tthc_periodic_report"], date(2026, 12, 16), period="2026-Q4").state == "success"
    _run(bag["tthc_periodic_report"], date(2026, 12, 16), period="2026-Q4")
    assert len(smtp_sink.messages()) == 2


def test_digest_dag_once_then_resend(bag, announced, smtp_sink):
    _run(bag["tthc_report"], date(2026, 11, 26))
    _run(bag["tthc_report"], date(2026, 11, 26))
    assert len(smtp_sink.messages()) == 1
    _run(bag["tthc_report"], date(2026, 11, 26), resend=True)
    assert len(smtp_sink.messages()) == 2
