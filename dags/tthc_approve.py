"""
### tthc_approve — a person approves the draft decision before anything is published

Runs when `tthc_compare` updates `tthc://catalogue/flags`.

1. `pending_draft`: the draft waiting for approval (skips the run when there is none).
2. `approve` (Human-in-the-loop): in the Airflow UI (*Required actions*), the approver reads the draft
   (paths of the DOCX and HTML preview are in the request) and chooses **Phê duyệt** (approve: enter the
   signed decision's number, e.g. `123/QĐ-UBND`, and its date dd/mm/yyyy) or **Từ chối** (reject: give
   the reason). Unanswered after 7 days the task fails and the ops recipients are alerted.
3. `record_approval`: stores the answer. Approved: the announcement and its procedures are `approved` and
   `tthc://catalogue/announcements` starts `tthc_sync`. Rejected: the task is skipped, nothing is
   published, and the same procedures are drafted again by the next compare run. A malformed answer
   (no number, bad date) fails the task without retry: clear `approve` and answer again.

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

    @task(outlets=[ANNOUNCEMENTS])
    def record_approval(draft, response, *, outlet_events=None, **context):
        from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
        from tthc.approve import tasks
        from tthc.approve.answer import ApprovalError
        from tthc.core.window import window_from_context

        window = window_from_context(context)
        try:
            result = tasks.record_approval(window, draft, response)
        except ApprovalError as exc:  # a person must answer again: retrying would not help
            raise AirflowFailException(f"Không ghi được phê duyệt: {exc}") from exc
        if result["status"] != "approved":
            raise AirflowSkipException(f"Dự thảo bị từ chối: {result}")
        outlet_events[ANNOUNCEMENTS].extra = window.to_dict()
        return result

    draft = pending_draft()
    approve = DraftApprovalOperator(task_id="approve", draft_task_id="pending_draft")
    draft >> approve
    record_approval(draft, approve.output)


tthc_approve()
