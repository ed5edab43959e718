"""
### tthc_verify — is what we approved published on the national CSDL? (after every ingest)

"Công khai trên CSDL quốc gia" read back from the national decision list (the national portal's
`rest.jsp` list the ingest reads), not claimed from our own push. Runs when `tthc_ingest` updates
`tthc://catalogue/decisions` (nightly, and whenever an ingest runs).

For each approved announcement not yet verified: reads the province's rows of the list (filtered by
the province's `agency_id`, `province_agency` in the department settings; one request while something is
pending, none otherwise), finds the decision by its số hiệu, reads its procedure groups and compares them
with what was approved. Found: the announcement is marked "đã công khai trên CSDL quốc gia" with the
list's date, and the discrepancies (approved but absent there, listed there but not approved) go to the
nightly digest. Not found after `csdl_verification.warn_after_working_days` working days from signing:
the digest warns.

* Connection: `tthc_portal`. Pool: `national_portal`.
* Re-run: safe (one row per announcement, upserted; never un-verifies); bounded by the run's date.
"""

from __future__ import annotations

from airflow.sdk import dag, task
from tthc.dag_support.assets import DECISIONS
from tthc.dag_support.defaults import DEFAULT_ARGS, START, TAGS, WINDOW_PARAMS, on_failure
from tthc.dag_support.notifiers import FailureStreakNotifier


@dag(
    dag_id="tthc_verify",
    schedule=[DECISIONS],
    start_date=START,
    catchup=False,
    max_active_runs=1,
    tags=TAGS,
    doc_md=__doc__,
    default_args=DEFAULT_ARGS,
    params={**WINDOW_PARAMS},
)
def tthc_verify():
    @task(pool="national_portal", on_failure_callback=on_failure(FailureStreakNotifier("csdl_verify")))
    def verify_csdl(**context):
        from tthc.core.window import window_from_context
        from tthc.sync import tasks

        return tasks.verify_csdl(window_from_context(context))

    verify_csdl()


tthc_verify()
