"""
### tthc_sync — publish flagged procedures to the department website's CMS, exactly once

Runs when `tthc_approve` records an approved draft (`tthc://catalogue/announcements`). Only approved
procedures are published. One post per ministry decision listing the
procedures to announce; the postings ledger (channel, object, version, content hash) means unchanged
content is never re-sent and changed content is updated in place; a stable slug is looked up on the CMS
before creating, so a crash after a successful POST cannot create a duplicate.

* Connection: `tthc_cms` (password = API token). Pool: `cms`.
Updates `tthc://channels/postings` (published items appear in the next nightly digest).
"""

from __future__ import annotations

from airflow.sdk import dag, task
from tthc.assets import ANNOUNCEMENTS, POSTINGS
from tthc.dag_defaults import DEFAULT_ARGS, START, TAGS, WINDOW_PARAMS


@dag(
    dag_id="tthc_sync",
    schedule=[ANNOUNCEMENTS],
    start_date=START,
    catchup=False,
    max_active_runs=1,
    tags=TAGS,
    doc_md=__doc__,
    default_args=DEFAULT_ARGS,
    params=WINDOW_PARAMS,
)
def tthc_sync():
    @task(pool="cms", outlets=[POSTINGS])
    def publish_to_cms(*, outlet_events=None, **context):
        from tthc import pipeline
        from tthc.window import window_from_context

        window = window_from_context(context)
        result = pipeline.sync_cms(window)
        outlet_events[POSTINGS].extra = window.to_dict()
        return result

    publish_to_cms()


tthc_sync()
