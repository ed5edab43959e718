"""
### tthc_feedback — citizens' feedback (phản ánh, kiến nghị) on the procedures, answered in public

Hourly. `receive_website` reads the comments held for moderation on the procedure pages the pipeline
published on the department's WordPress (one request per 100 pages when nothing is new) and stores each
once, with its procedure, field and processing deadline (working days, `settings/feedback.yaml`).
Feedback from other channels comes in with `tthc feedback import FILE`. Officers classify, assign and
answer with `tthc feedback ...`; `publish_answers` then posts each answer as a reply on the procedure's
page, exactly once (the postings ledger, a claim per reply, and a look for an existing reply before any
POST). `purge_contacts` erases senders' contacts after the retention period (Decree 13/2023/NĐ-CP).
The nightly digest and the periodic report count the feedback. See docs/operations.md, Citizens' feedback.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag, task
from tthc.dag_support.defaults import DEFAULT_ARGS, START, TAGS, WINDOW_PARAMS


@dag(
    dag_id="tthc_feedback",
    schedule=timedelta(hours=1),
    start_date=START,
    catchup=False,
    max_active_runs=1,
    tags=TAGS,
    doc_md=__doc__,
    default_args=DEFAULT_ARGS,
    params={**WINDOW_PARAMS},
)
def tthc_feedback():
    @task(pool="cms")
    def receive_website(**context):
        from tthc.core.window import window_from_context
        from tthc.feedback import tasks

        return tasks.receive_website(window_from_context(context))

    @task(pool="cms")
    def publish_answers(**context):
        from tthc.core.window import window_from_context
        from tthc.feedback import tasks

        ti = context["ti"]
        return tasks.publish_answers(window_from_context(context),
                                     try_name=f"{ti.dag_id}/{ti.run_id}/{ti.task_id}/try{ti.try_number}")

    @task
    def purge_contacts(**context):
        from tthc.core.window import window_from_context
        from tthc.feedback import tasks

        return tasks.purge_contacts(window_from_context(context))

    receive_website() >> publish_answers() >> purge_contacts()


tthc_feedback()
