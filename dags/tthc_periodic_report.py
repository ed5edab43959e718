"""
### tthc_periodic_report — the quarterly, six-monthly and yearly KSTTHC reports

Runs every morning at 07:00 (Vietnam time) and sends the reports whose period ended the day before:
a period runs from `reports.cutoff_day` (default 15) of the month before it to the day before that in
its last month, so on 15/03 and 15/09 the quarterly report goes out, on 15/06 also the six-monthly one,
on 15/12 also the yearly one; on other days the run does nothing. Each report: an HTML email with the
tables (announced new / amended or replaced / abolished, published on the CSDL and the websites, on
time vs late, per field and level, compared with the previous period), an inline chart, the .xlsx in
the layout of the report form, and a plain-text alternative; to the roles of `mail.reports.periodic`.

Exactly once per (report, period, recipient); archived under `mail.archive_dir`.

Task `flush_ops_mail`: the ops alerts that could not be mailed when they were raised (SMTP down)
go out now, each once (they wait in the mail ledger).

Params: `period` (e.g. `2026-Q4`, `2026-H2`, `2026-Y`) sends that period's report whatever the date
(a late or repeated report); `resend` sends it again to everyone.
"""

from __future__ import annotations

from airflow.sdk import CronTriggerTimetable, Param, dag, task
from tthc.dag_support.defaults import DEFAULT_ARGS, START, TAGS, TZ, WINDOW_PARAMS


@dag(
    dag_id="tthc_periodic_report",
    schedule=CronTriggerTimetable("0 7 * * *", timezone=TZ),
    start_date=START,
    catchup=False,
    max_active_runs=1,
    tags=TAGS,
    doc_md=__doc__,
    default_args=DEFAULT_ARGS,
    params={**WINDOW_PARAMS,
            "period": Param(None, type=["null", "string"], pattern=r"^\d{4}-(Q[1-4]|H[12]|Y)$",
                            description="Send this period's report (2026-Q4, 2026-H2, 2026-Y) whatever the date"),
            "resend": Param(False, type="boolean", description="Send again even if already sent")},
)
def tthc_periodic_report():
    @task
    def send_periodic_reports(**context):
        from tthc.core.window import window_from_context
        from tthc.reports import tasks

        params = context["params"]
        return tasks.send_periodic(window_from_context(context), period_key=params["period"],
                                      resend=params["resend"])

    send_periodic_reports()

    @task
    def flush_ops_mail(**context):
        """Ops alerts that could not be mailed when raised (SMTP down) go out now, once."""
        from tthc.core.window import window_from_context
        from tthc.reports import tasks

        return tasks.flush_ops_mail(window_from_context(context))

    flush_ops_mail()


tthc_periodic_report()
