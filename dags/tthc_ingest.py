"""
### tthc_ingest — pull newly published ministry decisions (nightly, 01:00 Vietnam time)

Reads the national TTHC portal's decision API (`rest.jsp`) and the ministry website's listing,
newest first down to each source's watermark, bounded by the run's data interval. Stores decisions,
their procedures and the raw answers (snapshots), then updates the `tthc://catalogue/decisions`
Asset, which starts `tthc_compare`.

* Connections: `tthc_portal`, `tthc_ministry_site`, `tthc_catalogue` (or `TTHC_DB_URL`).
* Pools: `national_portal`, `ministry_site` (one slot each: be polite to government servers).
* Re-run: safe; upserts by natural keys, the watermark only moves after everything is stored.
* Params `window_start` / `window_end` (ISO datetimes) override the window for a manual re-read.
"""

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable, dag, task
from tthc.assets import DECISIONS
from tthc.dag_defaults import DEFAULT_ARGS, START, TAGS, TZ, WINDOW_PARAMS


@dag(
    dag_id="tthc_ingest",
    schedule=CronDataIntervalTimetable("0 1 * * *", timezone=TZ),
    start_date=START,
    catchup=False,
    max_active_runs=1,
    tags=TAGS,
    doc_md=__doc__,
    default_args=DEFAULT_ARGS,
    params=WINDOW_PARAMS,
)
def tthc_ingest():
    @task(pool="national_portal")
    def ingest_national_portal(**context):
        from tthc import pipeline
        from tthc.window import window_from_context

        return pipeline.ingest_national_portal(window_from_context(context))

    @task(pool="ministry_site")
    def ingest_ministry_site(**context):
        from tthc import pipeline
        from tthc.window import window_from_context

        return pipeline.ingest_ministry(window_from_context(context))

    @task(outlets=[DECISIONS])
    def announce_decisions(portal, ministry, *, outlet_events=None, **context):
        from tthc.window import window_from_context

        window = window_from_context(context)
        outlet_events[DECISIONS].extra = window.to_dict()
        return {"new_decisions": portal["decisions_new"] + ministry["decisions_new"], **window.to_dict()}

    announce_decisions(ingest_national_portal(), ingest_ministry_site())


tthc_ingest()
