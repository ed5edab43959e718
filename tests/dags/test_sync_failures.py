"""A failed channel is seen (issue 12, case 13): the tthc_sync run fails when a channel task failed,
while the other channels still publish and reconcile still runs; the task's own failure callback adds
to the DAG's ops alert instead of replacing it, so the first failure is mailed at once."""

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

pytestmark = pytest.mark.e2e
DAGS = Path(__file__).resolve().parents[2] / "dags"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
AS_OF = date(2026, 11, 26)
_RUNS = itertools.count()


@pytest.fixture
def approved(seeded, dept, tmp_path, sandbox, smtp_sink, monkeypatch):
    """One approved announcement with one new procedure; the channels and SMTP point at the sandbox."""
    from tthc.approve.answer import record_response
    from tthc.compare.flags import compare
    from tthc.compare.prepare import prepare_draft
    from tthc.ingest.runs import upsert_decision, upsert_item

    port = sandbox.url.rsplit(":", 1)[1]
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_CMS", sandbox.cms_connection())
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_PROVINCE_PORTAL", f"http://:{sandbox.portal_token}@127.0.0.1:{port}")
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_CSDL", f"http://:{sandbox.csdl_token}@127.0.0.1:{port}")
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_SMTP", f"smtp://127.0.0.1:{smtp_sink.port}?starttls=false")
    s = seeded
    run = datetime(2026, 11, 26, 1, tzinfo=TZ)
    d, _ = upsert_decision(s, so_hieu="556/QĐ-BKHCN", agency_name="Bộ Khoa học và Công nghệ", run_time=run,
                           trich_yeu="x", published_date=date(2026, 11, 20), effective_date=date(2026, 12, 15),
                           field_keys="chuyen_giao_cong_nghe")
    upsert_item(s, d, name="Thủ tục đồng bộ qua DAG", change_type="new", code="1.055556", levels=["cap_tinh"],
                field_key="chuyen_giao_cong_nghe")
    compare(s, dept, as_of=AS_OF)
    info = prepare_draft(s, dept, as_of=AS_OF, out_dir=tmp_path)
    record_response(s, info.announcement_id, approved=True, so_hieu="91/QĐ-UBND", signed_date=AS_OF,
                    decided_by="t", decided_at=run, as_of=AS_OF, dept=dept)
    s.commit()
    return s


def _conf(as_of: date, **extra) -> dict:
    end = datetime.combine(as_of, datetime.min.time(), tzinfo=TZ).replace(hour=1)
    return {"window_start": (end - timedelta(days=1)).isoformat(), "window_end": end.isoformat(), **extra}


def _logical(day: date) -> datetime:
    """A logical date of its own for every dag.test() call (a repeated one would reuse the earlier run)."""
    return datetime.combine(day, datetime.min.time(), tzinfo=TZ).replace(hour=2) + timedelta(minutes=next(_RUNS))


def _states(run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


@pytest.fixture(scope="module")
def sync_dag():
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.pool import Pool
    from airflow.utils import db

    db.resetdb()
    for name in ("cms", "province_portal", "csdl"):
        Pool.create_or_update_pool(name, slots=2, description="test", include_deferred=False)
    bag = DagBag(dag_folder=str(DAGS / "tthc_sync.py"))
    assert bag.import_errors == {}
    return bag.dags["tthc_sync"]


def _subjects(smtp_sink) -> list[str]:
    return [str(email.message_from_bytes(p.read_bytes(), policy=email.policy.default)["Subject"])
            for p in smtp_sink.messages()]


def test_task_callbacks_add_to_the_dags_ops_alert():
    from airflow.dag_processing.dagbag import DagBag
    from tthc.dag_support.notifiers import FailureStreakNotifier, OpsMailNotifier

    for path, dag_id, task_ids in ((DAGS / "tthc_sync.py", "tthc_sync", ["sync_cms", "sync_province_portal",
                                                                           "sync_csdl"]),
                                   (DAGS / "tthc_ingest.py", "tthc_ingest", ["ingest_national_portal"])):
        dag = DagBag(dag_folder=str(path)).dags[dag_id]
        for task_id in task_ids:
            callbacks = dag.get_task(task_id).on_failure_callback
            kinds = [type(c) for c in callbacks]
            assert OpsMailNotifier in kinds and FailureStreakNotifier in kinds, (task_id, kinds)
        # a task without its own callback keeps the DAG's
        other = dag.get_task("reconcile" if dag_id == "tthc_sync" else "announce_decisions")
        assert [type(c) for c in other.on_failure_callback] == [OpsMailNotifier]
    # the run's verdict repeats a failure already mailed: no second alert
    sync = DagBag(dag_folder=str(DAGS / "tthc_sync.py")).dags["tthc_sync"]
    assert not sync.get_task("channels_published").on_failure_callback


def test_a_failed_channel_fails_the_run_others_publish_and_it_is_mailed_at_once(sync_dag, approved, sandbox,
                                                                             smtp_sink, monkeypatch):
    """The CMS task fails (a bug, a channel down) while the provincial portal and the CSDL publish and
    reconcile runs and succeeds (it repairs what the CMS lacks, looking before it creates). Before: the run
    showed success and nobody was mailed until the third night."""
    from tthc.db.models import Posting
    from tthc.sync import tasks

    real = tasks.sync_channel

    def cms_broken(name, *args, **kwargs):
        if name == "cms":
            raise RuntimeError("CMS: lỗi giả lập trong tác vụ đồng bộ")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(tasks, "sync_channel", cms_broken)
    run = sync_dag.test(logical_date=_logical(AS_OF), run_conf=_conf(AS_OF, dry_run=False))
    states = _states(run)
    assert states == {"sync_cms": "failed", "sync_province_portal": "success", "sync_csdl": "success",
                      "reconcile": "success", "channels_published": "failed"}
    assert str(run.state) == "failed"
    s = approved
    s.expire_all()
    counts = {ch: s.scalar(select(func.count()).select_from(Posting).where(Posting.channel == ch))
              for ch in ("cms", "province_portal", "csdl")}
    assert counts == {"cms": 2, "province_portal": 1, "csdl": 1}  # reconcile repaired the CMS
    pages = requests.get(f"{sandbox.url}/wp-json/wp/v2/pages", params={"status": "any"}, auth=sandbox.cms_auth(),
                         timeout=10)
    assert len(pages.json()) == 1
    subjects = _subjects(smtp_sink)
    # the first failure is mailed at once by the DAG's ops alert (the streak alert waits for 3 nights)
    assert [x for x in subjects if "tthc_sync.sync_cms" in x] == \
        ["[KSTTHC][Cảnh báo vận hành] tthc_sync.sync_cms thất bại"]
    assert not [x for x in subjects if "lượt liên tiếp" in x]
    assert len(subjects) == 1  # the run's verdict (channels_published) does not mail the same failure again


def test_all_channels_published_is_a_successful_run(sync_dag, approved, smtp_sink):
    day = AS_OF + timedelta(days=1)
    run = sync_dag.test(logical_date=_logical(day), run_conf=_conf(day, dry_run=False))
    assert set(_states(run).values()) == {"success"} and str(run.state) == "success"
    assert smtp_sink.messages() == []


def test_dry_run_is_a_successful_run(sync_dag, approved):
    run = sync_dag.test(logical_date=_logical(date(2026, 11, 30)), run_conf=_conf(AS_OF, dry_run=True))
    assert _states(run)["channels_published"] == "success" and _states(run)["reconcile"] == "skipped"
    assert str(run.state) == "success"
