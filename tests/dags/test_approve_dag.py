"""approval + tthc_approve: the Human-in-the-loop step, run with ``dag.test()``.

A helper thread plays the approver: it waits until the ``approve`` task asks (a ``hitl_detail`` row for a
task instance in AWAITING_INPUT), writes the answer on that row and resumes the task the way Airflow's
REST API does (``handle_event_submit``). Approve → the announcement and its procedures are approved and
the Asset for sync is updated (``announce``); reject → nothing is approved and ``route`` skips the rest; an
answer that cannot be recorded asks again (tests/approve/test_reask_dag.py).
"""

from __future__ import annotations

import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from tthc.approve.operator import APPROVE, AUTO_SO_HIEU, REJECT, approval_body

AS_OF = date(2026, 11, 26)
RUN = datetime(2026, 11, 26, 1, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
CONF = {"window_start": "2026-11-25T01:00:00+07:00", "window_end": "2026-11-26T01:00:00+07:00"}


def test_approval_body_lists_the_draft():
    draft = {"title": "Về việc công bố …", "flag_count": 35, "late": 1, "earliest_deadline": "2026-12-08",
             "decisions": ["100/QĐ-BKHCN"], "docx": "/v/d.docx", "html": "/v/d.html"}
    links = {"page": "https://af.example/kstthc/drafts/7", "docx": "https://af.example/kstthc/drafts/7/du-thao.docx",
             "html": "https://af.example/kstthc/drafts/7/du-thao.html"}
    body = approval_body(draft, [f"1.00000{i} – Thủ tục {i}" for i in range(35)], links)
    assert "Số thủ tục: 35 (quá hạn: 1)" in body and "08/12/2026" in body
    assert "/v/d.docx" not in body  # a worker's path is no use to the approver: links to the store instead
    assert f"[tải về bản DOCX]({links['docx']})" in body and f"[xem bản HTML]({links['html']})" in body
    assert "30. 1.0000029" in body and "31." not in body
    assert f"… và 5 thủ tục khác: [xem danh sách đầy đủ]({links['page']})" in body
    assert "Cần trả lời lại" not in body
    again = approval_body({**draft, "problem": "Câu trả lời của lanhdao chưa ghi nhận được: thiếu số"}, [], links)
    assert "> ⚠️ **Cần trả lời lại.** Câu trả lời của lanhdao chưa ghi nhận được: thiếu số." in again


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

    def __init__(self, option: str, form: dict[str, str | None], answered_at: datetime | None = None) -> None:
        super().__init__(daemon=True)
        self.option, self.form, self.answered_at = option, form, answered_at
        self.asked: dict[str, str] = {}
        # The approver waits as long as the task takes to ask (a loaded machine can take minutes): giving
        # up would leave dag.test() waiting forever for an answer. The test's timeout is the backstop.

    def run(self) -> None:
        from airflow.models.hitl import HITLDetail
        from airflow.models.taskinstance import TaskInstance
        from airflow.models.trigger import handle_event_submit
        from airflow.sdk import timezone
        from airflow.triggers.base import TriggerEvent
        from airflow.utils.session import create_session
        from airflow.utils.state import TaskInstanceState

        while True:
            with create_session() as session:
                row = session.scalar(select(HITLDetail).join(TaskInstance, TaskInstance.id == HITLDetail.ti_id)
                                     .where(TaskInstance.dag_id == "tthc_approve", HITLDetail.responded_at.is_(None)))
                if row is not None and row.task_instance.state == TaskInstanceState.AWAITING_INPUT:
                    self.asked = {"subject": row.subject, "body": row.body or "", "options": row.options}
                    row.responded_by = {"id": "lanhdao", "name": "Lãnh đạo Sở"}
                    row.responded_at = self.answered_at or timezone.utcnow()
                    row.chosen_options = [self.option]
                    row.params_input = self.form
                    handle_event_submit(TriggerEvent(row.as_resume_event_payload()), task_instance=row.task_instance,
                                        session=session)
                    return
            time.sleep(0.5)


def _states(run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


@pytest.mark.timeout(600, method="thread")  # dag.test() swallows the signal method
def test_approve_in_dag_test(approve_dag, draft, seeded):
    from tthc.db.models import Announcement, Flag

    approver = Approver(APPROVE, {"so_hieu": "123/QĐ-UBND", "ngay_ky": "25/11/2026", "ghi_chu": ""})
    approver.start()
    run = approve_dag.test(logical_date=RUN, run_conf=CONF)
    approver.join(5)
    assert approver.asked["options"] == [APPROVE, REJECT]
    assert "2 thủ tục" in approver.asked["subject"] and "100/QĐ-BKHCN" in approver.asked["body"]
    assert _states(run) == {"pending_draft": "success", "approve": "success", "record_approval": "success",
                            "route": "success", "announce": "success", "tell_official": "skipped",
                            "ask_again": "skipped"}
    s = seeded
    s.expire_all()
    ann = s.get(Announcement, draft.announcement_id)
    assert (ann.status, ann.so_hieu, ann.signed_date, ann.decided_by) == ("approved", "123/QĐ-UBND",
                                                                           date(2026, 11, 25), "Lãnh đạo Sở")
    assert {f.status for f in s.scalars(select(Flag))} == {"approved"}


@pytest.mark.timeout(600, method="thread")  # dag.test() swallows the signal method
def test_reject_in_dag_test(approve_dag, draft, seeded):
    from tthc.db.models import Announcement, Flag

    approver = Approver(REJECT, {"so_hieu": "", "ngay_ky": "", "ghi_chu": "Thiếu phí, lệ phí"})
    approver.start()
    run = approve_dag.test(logical_date=RUN, run_conf=CONF)
    approver.join(5)
    assert _states(run) == {"pending_draft": "success", "approve": "success", "record_approval": "success",
                            "route": "success", "announce": "skipped", "tell_official": "skipped",
                            "ask_again": "skipped"}
    s = seeded
    s.expire_all()
    ann = s.get(Announcement, draft.announcement_id)
    assert (ann.status, ann.note) == ("rejected", "Thiếu phí, lệ phí")
    assert {f.status for f in s.scalars(select(Flag))} == {"open"}


@pytest.mark.timeout(600, method="thread")  # dag.test() swallows the signal method
def test_an_answer_that_cannot_be_recorded_asks_again(approve_dag, draft, seeded, smtp_sink, monkeypatch):
    """A date that does not exist: the run does not fail; the official is mailed the reason and a new run
    asks again, showing it; a right answer then approves."""
    import email
    import email.policy

    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from tthc.db.models import Announcement, ApprovalAnswer

    def reask_runs():
        with create_session() as session:
            return {r.run_id: r.conf for r in session.scalars(select(DagRun).where(
                DagRun.dag_id == "tthc_approve", DagRun.run_id.like("reask__%")))}

    before = reask_runs()  # the metadata database is shared by this module's tests
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_SMTP", f"smtp://127.0.0.1:{smtp_sink.port}")
    approver = Approver(APPROVE, {"so_hieu": "123/QĐ-UBND", "ngay_ky": "31/11/2026", "ghi_chu": None})
    approver.start()
    run = approve_dag.test(logical_date=RUN, run_conf=CONF)
    approver.join(5)
    assert _states(run) == {"pending_draft": "success", "approve": "success", "record_approval": "success",
                            "route": "success", "announce": "skipped", "tell_official": "success",
                            "ask_again": "success"}
    s = seeded
    s.expire_all()
    assert s.get(Announcement, draft.announcement_id).status == "draft"
    [answer] = s.scalars(select(ApprovalAnswer)).all()
    assert (answer.outcome, answer.answered_by) == ("refused", "Lãnh đạo Sở")
    assert "ngày ký không hợp lệ: «31/11/2026»" in answer.problem
    # the official is told, not only IT, with a link to answer again
    [path] = smtp_sink.messages()
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert "giamdoc@" in str(msg["To"]) and "cần trả lời lại" in str(msg["Subject"])
    text = msg.get_body(("plain",)).get_content()
    assert "31/11/2026" in text and f"/kstthc/drafts/{draft.announcement_id}" in text
    # a new run of tthc_approve was started with the same window
    again = {k: v for k, v in reask_runs().items() if k not in before}
    assert [(c["window_start"], c["window_end"]) for c in again.values()] == [(CONF["window_start"],
                                                                                CONF["window_end"])]
    # that run asks again with the reason; the right answer (signed 3 days after the run date) is recorded
    approver = Approver(APPROVE, {"so_hieu": "123/QĐ-UBND", "ngay_ky": "29/11/2026", "ghi_chu": None},
                        answered_at=RUN + timedelta(days=3, hours=2))
    approver.start()
    run = approve_dag.test(logical_date=RUN + timedelta(minutes=1), run_conf=CONF)
    approver.join(5)
    assert approver.asked["subject"].startswith("Trả lời lại:")
    assert "Cần trả lời lại." in approver.asked["body"] and "31/11/2026" in approver.asked["body"]
    assert _states(run)["announce"] == "success"
    s.expire_all()
    ann = s.get(Announcement, draft.announcement_id)
    assert (ann.status, ann.so_hieu, ann.signed_date) == ("approved", "123/QĐ-UBND", date(2026, 11, 29))


@pytest.mark.timeout(600, method="thread")  # dag.test() swallows the signal method
def test_auto_approve_param_and_nothing_to_approve(approve_dag, draft, seeded):
    from tthc.db.models import Announcement

    run = approve_dag.test(logical_date=RUN, run_conf={**CONF, "auto_approve": True})
    assert _states(run)["announce"] == "success"
    seeded.expire_all()
    ann = seeded.get(Announcement, draft.announcement_id)
    assert (ann.status, ann.so_hieu, ann.signed_date) == ("approved", AUTO_SO_HIEU, AS_OF)
    # nothing waits any more: the run skips without asking anyone
    run = approve_dag.test(logical_date=RUN, run_conf=CONF)
    assert set(_states(run).values()) == {"skipped"}
