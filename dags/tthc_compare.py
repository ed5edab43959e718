"""
### tthc_compare — flag what the province must announce, and draft the decision to sign

Runs when `tthc_ingest` updates `tthc://catalogue/decisions`.

1. `flag_procedures`: matches every stored decision item to the province catalogue (code, normalised
   name, rapidfuzz by field; people's earlier answers reused), applies the department's scope (fields,
   levels) and flags new / amended / replaced / abolished procedures to announce, each with its deadline
   in Vietnamese working days (`plugins/tthc/settings/deadline_rules.yaml`). Unclear matches go to the
   review queue (status `review`, answered with `tthc review decide`). A later decision touching a
   waiting procedure merges into its flag (earliest deadline kept). Idempotent.
2. `prepare_draft`: the draft provincial decision (Quyết định công bố danh mục TTHC) for the flags ready
   to announce, as DOCX + HTML preview under `<TTHC_VAR_DIR>/drafts/`; one draft waits at a time.

Updates `tthc://catalogue/flags`, which starts `tthc_approve` (a person approves the draft) and
`tthc_report` (the nightly digest).
"""

from __future__ import annotations

from airflow.sdk import dag, task
from tthc.dag_support.assets import DECISIONS, FLAGS
from tthc.dag_support.defaults import DEFAULT_ARGS, START, TAGS, WINDOW_PARAMS


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
    @task
    def flag_procedures(**context):
        from tthc.compare import tasks
        from tthc.core.window import window_from_context

        return tasks.compare(window_from_context(context))

    @task(outlets=[FLAGS])
    def prepare_draft(*, outlet_events=None, **context):
        from tthc.compare import tasks
        from tthc.core.window import window_from_context

        window = window_from_context(context)
        draft = tasks.prepare_draft(window)
        outlet_events[FLAGS].extra = window.to_dict()
        return draft

    flag_procedures() >> prepare_draft()


tthc_compare()
