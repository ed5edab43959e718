"""
### tthc_report — the nightly digest email (bản tin hằng ngày)

Runs when `tthc_compare` updates `tthc://catalogue/flags` (it does not wait for the approval). The
Vietnamese digest (HTML + plain text, `include/templates/digest.*.j2`): new ministry decisions;
procedures to announce by urgency (overdue / due within 5 working days / later); items waiting for
review or approval with links to the Airflow UI; what was published per channel; failing sources and
channels. Sent only when there is something to say, plus a weekly "all quiet" digest
(`mail.quiet_weekday`). Recipients: the roles of `mail.reports.digest`. Sent with yagmail through the
`tthc_smtp` connection, once per (run date, recipient); archived under `mail.archive_dir`.

Param `resend`: send again to everyone (a new Message-ID), e.g. after fixing an address.

Task `flush_ops_mail`: the ops alerts that could not be mailed when they were raised (SMTP down)
go out now, each once (they wait in the mail ledger).
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task
from tthc.dag_support.assets import FLAGS
from tthc.dag_support.defaults import DEFAULT_ARGS, START, TAGS, WINDOW_PARAMS


@dag(
    dag_id="tthc_report",
    schedule=[FLAGS],
    start_date=START,
    catchup=False,
    max_active_runs=1,
    tags=TAGS,
    doc_md=__doc__,
    default_args=DEFAULT_ARGS,
    params={**WINDOW_PARAMS,
            "resend": Param(False, type="boolean", description="Send again even if already sent for this date")},
)
def tthc_report():
    @task
    def send_digest(**context):
        from tthc.core.window import window_from_context
        from tthc.reports import tasks

        return tasks.send_digest(window_from_context(context), resend=context["params"]["resend"])

    send_digest()

    @task
    def flush_ops_mail(**context):
        """Ops alerts that could not be mailed when raised (SMTP down) go out now, once."""
        from tthc.core.window import window_from_context
        from tthc.reports import tasks

        return tasks.flush_ops_mail(window_from_context(context))

    flush_ops_mail()


tthc_report()
