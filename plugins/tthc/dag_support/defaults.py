"""Settings shared by the six DAG files (light: DAG files import it at parse time)."""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Param

from tthc.dag_support.notifiers import OpsMailNotifier

TZ = "Asia/Ho_Chi_Minh"
START = pendulum.datetime(2026, 7, 1, tz=TZ)
TAGS = ["tthc", "kstthc"]

DEFAULT_ARGS = {
    "owner": "kstthc",
    "retries": 2,
    # TTHC_RETRY_DELAY_SECONDS shortens the wait in the demo and tests; production keeps 5 minutes.
    "retry_delay": timedelta(seconds=int(os.environ.get("TTHC_RETRY_DELAY_SECONDS", "300"))),
    "retry_exponential_backoff": True,
    "on_failure_callback": [OpsMailNotifier()],
}


def on_failure(*notifiers) -> list:
    """A task's failure callbacks: the DAG's ops alert plus the task's own (a task's ``on_failure_callback``
    replaces the one in ``default_args``, so a task that sets its own must list the ops alert again)."""
    return [*DEFAULT_ARGS["on_failure_callback"], *notifiers]

INGEST_PARAMS = {
    "full_refresh": Param(False, type="boolean",
                          description="Ignore the watermarks and re-read everything in the window"),
    "replay": Param(False, type="boolean",
                    description="Re-parse the window from stored snapshots only (no network), e.g. after a "
                                "parser fix"),
}

WINDOW_PARAMS = {
    "window_start": Param(None, type=["null", "string"], description="ISO datetime; overrides the run's window"),
    "window_end": Param(None, type=["null", "string"], description="ISO datetime; overrides the run's window"),
}
