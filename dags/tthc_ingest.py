"""
### tthc_ingest — pull newly published ministry decisions (nightly at 01:00 Vietnam time, and when the watcher sees one)

Runs nightly at 01:00 and also when the national portal watcher (a trigger in the triggerer, every
`TTHC_WATCH_POLL_SECONDS`, default 30 minutes: one request per poll) sees a decision of a watched
ministry that is not stored yet (Asset `tthc://national-portal/decisions`). Such a run's window ends at
the poll that saw it and also reads that day's publications; the day's watermark waits for the nightly run.

Reads the national TTHC portal's decision API (`rest.jsp`) and every enabled HTML listing site
(`plugins/tthc/ingest/sources/html_listing/sites/*.yaml`, one task each), newest first down to each source's
watermark, bounded by the run's data interval. Stores decisions, their procedures, their attachments
(text extracted, searchable) and every raw answer (snapshots, for replay); then reads each new or
amended procedure's page on the national portal (`fetch_procedure_details`: code, time limits, fees,
legal bases; a page that cannot be read is recorded and retried on a later night, never failing the
run) and updates the `tthc://catalogue/decisions` Asset, which starts `tthc_compare`.

* Connections: `tthc_portal`, each site's `conn_id` (e.g. `tthc_ministry_site`), `tthc_catalogue`.
* Pools: `national_portal` and each site's `pool` (one slot: be polite to government servers).
* Sources run one after the other (they upsert the same decisions); one failing does not stop the
  next. A source failing N nights in a row sends one ops alert.
* A source that could not be read down to its watermark (a page cut short, `max_pages` reached, the
  portal's `AMOUNT` missing, ...) stores what it read, keeps its watermark and succeeds with
  `incomplete_reason` in its summary; the night counts as failed for the source's alert streak. A failed
  attachment download never fails a task: it is retried on later nights, listed in the digest and
  alerted once after three failures.
* Re-run: safe; upserts by natural keys, the watermark only moves after everything is stored.
* Params `window_start` / `window_end` (ISO datetimes) override the window for a manual re-read;
  `full_refresh: true` ignores the watermarks and re-reads everything published in that window
  (upserts: nothing is duplicated; the watermark never moves backwards); `replay: true` re-parses
  the window from the stored snapshots only, without touching the network (after a parser fix).
"""

from __future__ import annotations

from airflow.sdk import AssetOrTimeSchedule, CronDataIntervalTimetable, dag, task
from tthc.dag_support.assets import DECISIONS, portal_decisions
from tthc.dag_support.defaults import DEFAULT_ARGS, INGEST_PARAMS, START, TAGS, TZ, WINDOW_PARAMS, on_failure
from tthc.dag_support.notifiers import FailureStreakNotifier
from tthc.ingest.sources.html_listing.index import site_entries

NIGHTLY = CronDataIntervalTimetable("0 1 * * *", timezone=TZ)
WATCHED = portal_decisions()  # None when TTHC_WATCH_POLL_SECONDS=0


@dag(
    dag_id="tthc_ingest",
    schedule=NIGHTLY if WATCHED is None else AssetOrTimeSchedule(timetable=NIGHTLY, assets=[WATCHED]),
    start_date=START,
    catchup=False,
    max_active_runs=1,
    tags=TAGS,
    doc_md=__doc__,
    default_args=DEFAULT_ARGS,
    params={**WINDOW_PARAMS, **INGEST_PARAMS},
)
def tthc_ingest():
    @task(pool="national_portal", on_failure_callback=on_failure(FailureStreakNotifier("national_portal")))
    def ingest_national_portal(**context):
        from tthc.core.window import window_from_context
        from tthc.dag_support.ingest_alerts import alert_after_ingest
        from tthc.ingest import tasks

        params = context["params"]
        summary = tasks.ingest_national_portal(window_from_context(context), params["full_refresh"], params["replay"])
        alert_after_ingest(summary)  # an incomplete source, a persistent attachment failure: never fails
        return summary

    previous = ingest_national_portal()
    results = [previous]
    for site in (s for s in site_entries() if s.enabled):

        @task(task_id=f"ingest_site_{site.name}", pool=site.pool, trigger_rule="all_done",
              on_failure_callback=on_failure(FailureStreakNotifier(site.name)))
        def ingest_site(site_name: str = site.name, **context):
            from tthc.core.window import window_from_context
            from tthc.dag_support.ingest_alerts import alert_after_ingest
            from tthc.ingest import tasks

            params = context["params"]
            summary = tasks.ingest_site(site_name, window_from_context(context), params["full_refresh"],
                                        params["replay"])
            alert_after_ingest(summary)
            return summary

        current = ingest_site()
        previous >> current
        previous = current
        results.append(current)

    @task(pool="national_portal", trigger_rule="all_done")
    def fetch_procedure_details(**context):
        from tthc.core.window import window_from_context
        from tthc.ingest import tasks

        return tasks.fetch_procedure_details(window_from_context(context), context["params"]["replay"])

    details = fetch_procedure_details()
    previous >> details

    @task(outlets=[DECISIONS])
    def announce_decisions(results, *, outlet_events=None, **context):
        from tthc.core.window import window_from_context

        window = window_from_context(context)
        outlet_events[DECISIONS].extra = window.to_dict()
        return {"new_decisions": sum(r["decisions_new"] for r in results), **window.to_dict()}

    details >> announce_decisions(results)


tthc_ingest()
