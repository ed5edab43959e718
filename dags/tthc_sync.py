"""
### tthc_sync — publish approved announcements to every public channel, exactly once

Runs when `tthc_approve` records an approved draft (`tthc://catalogue/announcements`). Only what a
person approved is published:

| Task | Channel | Connection | Pool |
|---|---|---|---|
| `sync_cms` | department website (WordPress REST API; an Editor's login + Application Password, the must-use plugin `include/wordpress/tthc-meta.php`): one post per announcement with its annex and the annex file, one page per procedure (unpublished when abolished) | `tthc_cms` | `cms` |
| `sync_province_portal` | provincial public-service portal: create / update / withdraw each procedure | `tthc_province_portal` | `province_portal` |
| `sync_csdl` | national CSDL: register the provincial decision with its procedures | `tthc_csdl` | `csdl` |
| `reconcile` | reads every channel back, reports drift (missing, stale, extra, two objects with one key) and repairs what we own | all three | — |
| `channels_published` | fails the run when any channel task failed (after `reconcile`, which still runs) | — | — |

Exactly once: a postings ledger (channel, object, version, content hash); unchanged content is not
re-sent, changed content is updated in place, abolished content withdrawn; one writer per object (a
try claims each object in the store before writing it; a second try or a zombie of an earlier one
stops without writing); before creating, the channel is asked for our idempotency key, so a crash
after a successful write never duplicates.
The channel tasks are independent (one failing does not stop the others, nor `reconcile`), but a
failed channel fails the run (`channels_published`). Each retries with backoff; a failed task mails
the IT list at once (the DAG's ops alert), and a channel failing `alerts.source_failures` runs in a
row sends one more ops email about the streak.

Param `dry_run`: every channel task computes and returns the changes it would make (see its XCom /
log); nothing is sent and `reconcile` is skipped.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task
from tthc.dag_support.assets import ANNOUNCEMENTS, POSTINGS
from tthc.dag_support.defaults import DEFAULT_ARGS, START, TAGS, WINDOW_PARAMS, on_failure
from tthc.dag_support.notifiers import FailureStreakNotifier

CHANNELS = ("cms", "province_portal", "csdl")  # tthc.sync.tasks.CHANNELS: the same names


@dag(
    dag_id="tthc_sync",
    schedule=[ANNOUNCEMENTS],
    start_date=START,
    catchup=False,
    max_active_runs=1,
    tags=TAGS,
    doc_md=__doc__,
    default_args=DEFAULT_ARGS,
    params={**WINDOW_PARAMS,
            "dry_run": Param(False, type="boolean", description="Show what would be published; send nothing")},
)
def tthc_sync():
    synced = []
    for name in CHANNELS:

        @task(task_id=f"sync_{name}", pool=name,
              on_failure_callback=on_failure(FailureStreakNotifier(f"sync_{name}", kind="channel")))
        def sync(channel: str = name, **context):
            from tthc.core.window import window_from_context
            from tthc.sync import tasks

            return tasks.sync_channel(channel, window_from_context(context), dry_run=context["params"]["dry_run"],
                                      try_name=_try_name(context))

        synced.append(sync())

    @task(trigger_rule="all_done", outlets=[POSTINGS])
    def reconcile(*, outlet_events=None, **context):
        from airflow.sdk.exceptions import AirflowSkipException
        from tthc.core.window import window_from_context
        from tthc.sync import tasks

        if context["params"]["dry_run"]:
            raise AirflowSkipException("dry_run: nothing is read back or repaired")
        window = window_from_context(context)
        report = tasks.reconcile_channels(window, list(CHANNELS), try_name=_try_name(context))
        outlet_events[POSTINGS].extra = window.to_dict()
        failed = {k: v["error"] for k, v in report.items() if "error" in v}
        if failed:
            raise RuntimeError(f"reconciliation could not read or repair: {failed}")
        return report

    # no alert of its own: the failed task it reports has already mailed the IT list
    @task(trigger_rule="all_done", on_failure_callback=[])
    def channels_published(**context):
        """The run's verdict: a channel task that failed fails the run (reconcile alone would hide it)."""
        ti = context["ti"]
        task_ids = [f"sync_{name}" for name in CHANNELS]
        states = ti.get_task_states(dag_id=ti.dag_id, task_ids=[*task_ids, "reconcile"],
                                    run_ids=[ti.run_id]).get(ti.run_id, {})
        failed = [f"{t} ({states.get(t)})" for t in task_ids if states.get(t) != "success"]
        if states.get("reconcile") not in ("success", "skipped"):
            failed.append(f"reconcile ({states.get('reconcile')})")
        if failed:
            raise RuntimeError(f"not published or not reconciled: {', '.join(failed)}; the other channels were "
                               "published (see each task's log and the ops mail)")
        return {"published": task_ids}

    reconciled = reconcile()
    synced >> reconciled >> channels_published()


def _try_name(context) -> str:
    """This try's name in the claims: dag/run/task/try."""
    ti = context["ti"]
    return f"{ti.dag_id}/{ti.run_id}/{ti.task_id}/try{ti.try_number}"


tthc_sync()
