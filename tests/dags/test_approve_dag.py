"""approval + tthc_approve: the Human-in-the-loop step, run with ``dag.test()``.

A helper thread plays the approver: it waits until the ``approve`` task asks (a ``hitl_detail`` row for a
task instance in AWAITING_INPUT), writes the answer on that row and resumes the task the way Airflow's
REST API does (``handle_event_submit``). Approve → the announcement and its procedures are approved and
the Asset for sync is updated; reject → nothing is approved and ``record_approval`` is skipped.
"""

from __future__ import annotations

import threading
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from tthc.approve.operator import APPROVE, AUTO_SO_HIEU, REJECT, approval_body

AS_OF = date(2026, 11, 26)
RUN = datetime(2026, 11, 26, 1, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
CONF = {"window_start": "2026-11-25T01:00:00+07:00", "window_end": "2026-11-26T01:00:00+07:00"}


def test_approval_body_lists_the_draft():
    draft = {"title": "Về việc công bố …", "flag_count": 3, "late": 1, "earliest_deadline": "2026-12-08",
             "decisions": ["100/QĐ-BKHCN"], "docx": "/v/d.docx", "html": "/v/d.html"}
    body = approval_body(draft, [f"1.00000{i} – Thủ tục {i}" for i in range(35)])
    assert "Số thủ tục: 3 (quá hạn: 1)" in body and "08/12/2026" in body and "/v/d.docx" in body
    assert "30. 1.0000029" in body and "31." not in body and "… và 5 thủ tục khác" in body


@pytest.fixture(scope="module")
def approve_dag():
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils import db

    db.resetdb()
    bag = DagBag(dag_folder=str(Path(__file__).resolve().parents[2] / "dags" / "tthc_approve.py"))
    assert bag.import_errors == {}
    return bag.dags["tthc_approve"]


@pytest.fixture
def draft(seeded, dept, tmp_path, monkeypatch):
    """Two procedures flagged and drafted, waiting for approval."""
    from tthc.compare.flags import compare
    from tthc.compare.prepare import prepare_draft
    from tthc.db.models import Procedure
    from tthc.ingest.runs import upsert_decision, upsert_item

    monkeypatch.setenv("TTHC_VAR_DIR", str(tmp_path))
    s = seeded
    procs = s.scalars(select(Procedure).where(Procedure.levels == "cap_tinh").order_by(Procedure.code)).all()[:2]
    d, _ = upsert_decision(s, so_hieu="100/QĐ-BKHCN", agency_name="Bộ Khoa học và Công nghệ", run_time=RUN,
                           trich_yeu="x", published_date=date(2026, 11, 20), effective_date=date(2026, 12, 15),
                           field_keys="chuyen_giao_cong_nghe")
    for p in procs:
        upsert_item(s, d, name=p.name, change_type="amended", code=p.code)
    compare(s, dept, as_of=AS_OF)
    info = prepare_draft(s, dept, as_of=AS_OF, out_dir=tmp_path / "drafts")
    s.commit()
    return info


class Approver(threading.Thread):
    """Answers the first question tthc_approve asks, like a person in the UI would."""

    def __init__(self, option: str, form: dict[str, str], timeout: float = 90) -> None:
        super().__init__(daemon=True)
        self.option, self.form, self.timeout = option, form, timeout
        self.asked: dict[str, str] = {}

    def run(self) -> None:
        from airflow.models.hitl import HITLDetail
        from airflow.models.taskinstance import TaskInstance
        from airflow.models.trigger import handle_event_submit
        from airflow.sdk import timezone
        from airflow.triggers.base import TriggerEvent
        from airflow.utils.session import create_session
        from airflow.utils.state import TaskInstanceState

        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            with create_session() as session:
                row = session.scalar(select(HITLDetail).join(TaskInstance, TaskInstance.id == HITLDetail.ti_id)
                                     .where(TaskInstance.dag_id == "tthc_approve", HITLDetail.responded_at.is_(None)))
                if row is not None and row.task_instance.state == TaskInstanceState.AWAITING_INPUT:
                    self.asked = {"subject": row.subject, "body": row.body or "", "options": row.options}
                    row.responded_by = {"id": "lanhdao", "name": "Lãnh đạo Sở"}
                    row.responded_at = timezone.utcnow()
                    row.chosen_options = [self.option]
                    row.params_input = self.form
                    handle_event_submit(TriggerEvent(row.as_resume_event_payload()), task_instance=row.task_instance,
                                        session=session)
                    return
            time.sleep(0.5)


def _states(run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


@pytest.mark.timeout(180)
def test_approve_in_dag_test(approve_dag, draft, seeded):
    from tthc.db.models import Announcement, Flag

    approver = Approver(APPROVE, {"so_hieu": "123/QĐ-UBND", "ngay_ky": "25/11/2026", "ghi_chu": ""})
    approver.start()
    run = approve_dag.test(logical_date=RUN, run_conf=CONF)
    approver.join(5)
    assert approver.asked["options"] == [APPROVE, REJECT]
    assert "2 thủ tục" in approver.asked["subject"] and "100/QĐ-BKHCN" in approver.asked["body"]
    assert _states(run) == {"pending_draft": "success", "approve": "success", "record_approval": "success"}
    s = seeded
    s.expire_all()
    ann = s.get(Announcement, draft.announcement_id)
    assert (ann.status, ann.so_hieu, ann.signed_date, ann.decided_by) == ("approved", "123/QĐ-UBND",
                                                                           date(2026, 11, 25), "Lãnh đạo Sở")
    assert {f.status for f in s.scalars(select(Flag))} == {"approved"}


@pytest.mark.timeout(180)
def test_reject_in_dag_test(approve_dag, draft, seeded):
    from tthc.db.models import Announcement, Flag

    approver = Approver(REJECT, {"so_hieu": "", "ngay_ky": "", "ghi_chu": "Thiếu phí, lệ phí"})
    approver.start()
    run = approve_dag.test(logical_date=RUN, run_conf=CONF)
    approver.join(5)
    assert _states(run) == {"pending_draft": "success", "approve": "success", "record_approval": "skipped"}
    s = seeded
    s.expire_all()
    ann = s.get(Announcement, draft.announcement_id)
    assert (ann.status, ann.note) == ("rejected", "Thiếu phí, lệ phí")
    assert {f.status for f in s.scalars(select(Flag))} == {"open"}


@pytest.mark.timeout(180)
def test_approve_without_number_fails_record_without_retry(approve_dag, draft, seeded):
    from tthc.db.models import Announcement

    approver = Approver(APPROVE, {"so_hieu": "", "ngay_ky": "25/11/2026", "ghi_chu": ""})
    approver.start()
    run = approve_dag.test(logical_date=RUN, run_conf=CONF)
    approver.join(5)
    states = _states(run)
    assert states["record_approval"] == "failed"
    seeded.expire_all()
    assert seeded.get(Announcement, draft.announcement_id).status == "draft"


@pytest.mark.timeout(120)
def test_auto_approve_param_and_nothing_to_approve(approve_dag, draft, seeded):
    from tthc.db.models import Announcement

    run = approve_dag.test(logical_date=RUN, run_conf={**CONF, "auto_approve": True})
    assert _states(run)["record_approval"] == "success"
    seeded.expire_all()
    ann = seeded.get(Announcement, draft.announcement_id)
    assert (ann.status, ann.so_hieu, ann.signed_date) == ("approved", AUTO_SO_HIEU, AS_OF)
    # nothing waits any more: the run skips without asking anyone
    run = approve_dag.test(logical_date=RUN, run_conf=CONF)
    assert set(_states(run).values()) == {"skipped"}
