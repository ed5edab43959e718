"""
### tthc_report — the nightly digest email (bản tin hằng ngày)

Runs when `tthc_compare` updates `tthc://catalogue/flags` (it does not wait for the approval). Renders the Vietnamese digest (HTML + plain
text, `include/templates/digest.*.j2`): decisions received in the window, procedures to announce sorted
by deadline (late first), items needing review, and what was published. Sent with yagmail through the
`tthc_smtp` connection, at most once per run date (mail ledger).
"""

from __future__ import annotations

from airflow.sdk import dag, task
from tthc.assets import FLAGS
from tthc.dag_defaults import DEFAULT_ARGS, START, TAGS, WINDOW_PARAMS


@dag(
    dag_id="tthc_report",
    schedule=[FLAGS],
    start_date=START,
    catchup=False,
    max_active_runs=1,
    tags=TAGS,
    doc_md=__doc__,
    default_args=DEFAULT_ARGS,
    params=WINDOW_PARAMS,
)
def tthc_report():
    @task
    def send_digest(**context):
        from tthc import pipeline
        from tthc.window import window_from_context

        return pipeline.send_digest(window_from_context(context))

    send_digest()


tthc_report()
