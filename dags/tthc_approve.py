"""
### tthc_approve — a person approves the draft decision before anything is published

Runs when `tthc_compare` updates `tthc://catalogue/flags`.

1. `pending_draft`: the draft waiting for approval (skips the run when there is none).
2. `approve` (Human-in-the-loop): the approver reads the draft — the request links to it on the
   **KSTTHC page** (the full list of procedures, the DOCX and the HTML preview) — and answers there or
   here in *Required actions*: **Phê duyệt** (approve: the signed decision's number, e.g. `123/QĐ-UBND`,
   and its date dd/mm/yyyy) or **Từ chối** (reject: the reason, in Ghi chú). Unanswered after 7 days
   the task fails and the ops recipients are alerted.
3. `record_approval`: checks and stores the answer (the signing date may not be after the day of the
   answer). Then `route`:
   - approved → `announce` updates `tthc://catalogue/announcements`, which starts `tthc_sync`;
   - rejected → nothing more: nothing is published, the same procedures are drafted again by the next
     compare run;
   - an answer that cannot be recorded (no number, a date that does not exist, no reason for a
     rejection…) → `tell_official` mails the approver's role (`lanh_dao`) what was wrong and
     `ask_again` starts a new run of this DAG, whose request shows the reason. The run does not fail.

Param `auto_approve` (default off) approves at once with the placeholder number `0/QĐ-DEMO`: only for
`make demo` and tests.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task
from tthc.approve.operator import DraftApprovalOperator
from tthc.dag_support.assets import ANNOUNCEMENTS, FLAGS
from tthc.dag_support.defaults import DEFAULT_ARGS, START, TAGS, WINDOW_PARAMS


@dag(
    dag_id="tthc_approve",
    schedule=[FLAGS],
    start_date=START,
    catchup=False,
    max_active_runs=1,
    tags=TAGS,
    doc_md=__doc__,
    default_args=DEFAULT_ARGS,
    params={**WINDOW_PARAMS,
            "auto_approve": Param(False, type="boolean",
                                  description="Approve without a person (demo and tests only)")},
)
def tthc_approve():
    @task
    def pending_draft():
        from airflow.sdk.exceptions import AirflowSkipException
        from tthc.approve import tasks

        draft = tasks.pending_draft()
        if draft is None:
            raise AirflowSkipException("Không có dự thảo nào chờ phê duyệt")
        return draft

    @task
    def record_approval(draft, response, **context):
        from tthc.approve import tasks
        from tthc.core.window import window_from_context

        return tasks.record_approval(window_from_context(context), draft, response)

    @task.branch
    def route(result):
        return {"approved": ["announce"], "reask": ["tell_official", "ask_again"]}.get(result["status"], [])

    @task(outlets=[ANNOUNCEMENTS])
    def announce(result, *, outlet_events=None, **context):
        from tthc.core.window import window_from_context

        outlet_events[ANNOUNCEMENTS].extra = window_from_context(context).to_dict()
        return result

    @task
    def tell_official(draft, result):
        from tthc.reports import tasks

        return tasks.mail_answer_problem(draft, result)

    @task
    def ask_again(result):
        # what TriggerDagRunOperator raises in Airflow 3 (importing the operator would double this file's
        # parse time): a new run of this DAG, with the same window, one per refused answer
        from airflow.sdk.exceptions import DagRunTriggerException

        raise DagRunTriggerException(
            trigger_dag_id="tthc_approve", dag_run_id=result["reask_run_id"], conf=result["window"],
            logical_date=None, reset_dag_run=False, skip_when_already_exists=True, wait_for_completion=False,
            allowed_states=["success"], failed_states=["failed"], poke_interval=60, deferrable=False)

    draft = pending_draft()
    approve = DraftApprovalOperator(task_id="approve", draft_task_id="pending_draft")
    draft >> approve
    result = record_approval(draft, approve.output)
    route(result) >> [announce(result), tell_official(draft, result), ask_again(result)]


tthc_approve()
