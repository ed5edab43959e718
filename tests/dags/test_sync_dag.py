"""tthc_sync run with ``dag.test()`` against the sandbox: dry run, a channel failing alone, one alert per
failure streak."""

from __future__ import annotations

import email
import email.policy
import itertools
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import func, select

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
AS_OF = date(2026, 11, 26)
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sync_dag():
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.pool import Pool
    from airflow.utils import db

    db.resetdb()
    for name in ("cms", "province_portal", "csdl"):
        Pool.create_or_update_pool(name, slots=2, description="test", include_deferred=False)
    bag = DagBag(dag_folder=str(Path(__file__).resolve().parents[2] / "dags" / "tthc_sync.py"))
    assert bag.import_errors == {}
    return bag.dags["tthc_sync"]


@pytest.fixture
def approved(seeded, dept, tmp_path, sandbox, smtp_sink, monkeypatch):
    from tthc.approve.answer import record_response
    from tthc.compare.flags import compare
    from tthc.compare.prepare import prepare_draft
    from tthc.ingest.runs import upsert_decision, upsert_item

    port = sandbox.url.rsplit(":", 1)[1]
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_CMS", f"http://:{sandbox.cms_token}@127.0.0.1:{port}")
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_PROVINCE_PORTAL", f"http://:{sandbox.portal_token}@127.0.0.1:{port}")
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_CSDL", f"http://:{sandbox.csdl_token}@127.0.0.1:{port}")
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_SMTP", f"smtp://127.0.0.1:{smtp_sink.port}?starttls=false")
    s = seeded
    run = datetime(2026, 11, 26, 1, tzinfo=TZ)
    d, _ = upsert_decision(s, so_hieu="555/QĐ-BKHCN", agency_name="Bộ Khoa học và Công nghệ", run_time=run,
                           trich_yeu="x", published_date=date(2026, 11, 20), effective_date=date(2026, 12, 15),
                           field_keys="chuyen_giao_cong_nghe")
    upsert_item(s, d, name="Thủ tục đồng bộ qua DAG", change_type="new", code="1.055555", levels=["cap_tinh"],
                field_key="chuyen_giao_cong_nghe")
    compare(s, dept, as_of=AS_OF)
    info = prepare_draft(s, dept, as_of=AS_OF, out_dir=tmp_path)
    record_response(s, info.announcement_id, approved=True, so_hieu="90/QĐ-UBND", signed_date=AS_OF,
                    decided_by="t", decided_at=run, as_of=AS_OF, dept=dept)
    s.commit()
    return s


def _conf(as_of: date, **extra) -> dict:
    end = datetime.combine(as_of, datetime.min.time(), tzinfo=TZ).replace(hour=1)
    return {"window_start": (end - timedelta(days=1)).isoformat(), "window_end": end.isoformat(), **extra}


_RUNS = itertools.count()


def _logical(day: date) -> datetime:
    """A logical date of its own for every dag.test() call (a repeated one would reuse the earlier run);
    the run's window comes from its conf."""
    return datetime.combine(day, datetime.min.time(), tzinfo=TZ).replace(hour=1) + timedelta(minutes=next(_RUNS))


def _states(run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def test_dry_run_sends_nothing(sync_dag, approved, sandbox):
    from tthc.db.models import Posting

    before = dict(sandbox.stats())
    run = sync_dag.test(logical_date=_logical(AS_OF), run_conf=_conf(AS_OF, dry_run=True))
    states = _states(run)
    assert states == {"sync_cms": "success", "sync_province_portal": "success", "sync_csdl": "success",
                      "reconcile": "skipped"}
    assert sandbox.stats() == before
    assert approved.scalar(select(func.count()).select_from(Posting)) == 0
    planned = run.get_task_instance("sync_cms").xcom_pull(task_ids="sync_cms")["planned"]
    assert {p["action"] for p in planned} == {"create"} and len(planned) == 2  # the post and the page


def test_one_channel_failing_does_not_stop_the_others_and_alerts_once(sync_dag, approved, sandbox, smtp_sink,
                                                                      monkeypatch):
    from tthc.db.models import MailLog, Posting, SourceHealth

    port = sandbox.url.rsplit(":", 1)[1]
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_CMS", f"http://:revoked-token@127.0.0.1:{port}")
    for n in range(4):  # four nights running: the threshold is 3, one alert
        day = AS_OF + timedelta(days=n)
        run = sync_dag.test(logical_date=_logical(day), run_conf=_conf(day, dry_run=False))
        states = _states(run)
        assert states["sync_cms"] == "failed"
        assert states["sync_province_portal"] == "success" and states["sync_csdl"] == "success"
        assert states["reconcile"] == "failed"  # it ran (all_done) and reports the CMS it could not read
    s = approved
    s.expire_all()
    assert s.get(SourceHealth, "sync_cms").consecutive_failures == 4
    assert s.scalar(select(func.count()).select_from(Posting).where(Posting.channel == "province_portal")) == 1
    assert s.scalar(select(func.count()).select_from(Posting).where(Posting.channel == "cms")) == 0
    portal = requests.get(f"{sandbox.url}/dvc-tinh/api/v1/thu-tuc", timeout=10,
                          headers={"Authorization": f"Bearer {sandbox.portal_token}"}).json()
    assert portal["total"] == 1
    alerts = [m for m in s.scalars(select(MailLog)) if m.kind == "channel_down"]
    assert len(alerts) == 1
    sent = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in smtp_sink.messages()]
    channel_mails = [m for m in sent if "Kênh đăng tải sync_cms" in str(m["Subject"])]
    assert len(channel_mails) == 1
    body = channel_mails[0].get_body(("plain",)).get_content()
    assert "401" in body and "revoked-token" not in body
    # the token comes back: the next run publishes the CMS objects once and the streak ends
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_CMS", f"http://:{sandbox.cms_token}@127.0.0.1:{port}")
    day = AS_OF + timedelta(days=4)
    run = sync_dag.test(logical_date=_logical(day), run_conf=_conf(day, dry_run=False))
    assert set(_states(run).values()) == {"success"}
    s.expire_all()
    assert s.get(SourceHealth, "sync_cms").consecutive_failures == 0
    assert s.scalar(select(func.count()).select_from(Posting).where(Posting.channel == "cms")) == 2
