"""
### tthc_compare — flag what the province must announce, with legal deadlines

Runs when `tthc_ingest` updates `tthc://catalogue/decisions`. Compares every stored decision item with
the province catalogue and the department's scope (fields, levels), and flags new / amended / replaced /
abolished procedures to announce, each with its deadline in Vietnamese working days
(`plugins/tthc/settings/deadline_rules.yaml`). Idempotent: one flag per (decision, procedure, action).
Updates `tthc://catalogue/flags`, which starts `tthc_sync`.
"""

from __future__ import annotations

from airflow.sdk import dag, task
from tthc.assets import DECISIONS, FLAGS
from tthc.dag_defaults import DEFAULT_ARGS, START, TAGS, WINDOW_PARAMS


@dag(
    dag_id="tthc_compare",
    schedule=[DECISIONS],
    start_date=START,
    catchup=False,
    max_active_runs=1,
    tags=TAGS,
    doc_md=__doc__,
    default_args=DEFAULT_ARGS,
    params=WINDOW_PARAMS,
)
def tthc_compare():
    @task(outlets=[FLAGS])
    def flag_procedures(*, outlet_events=None, **context):
        from tthc import pipeline
        from tthc.window import window_from_context

        window = window_from_context(context)
        result = pipeline.compare(window)
        outlet_events[FLAGS].extra = window.to_dict()
        return result

    flag_procedures()


tthc_compare()
