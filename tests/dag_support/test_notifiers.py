"""alerts.OpsMailNotifier: one ops email per failed task instance, apart from the business digest."""

from __future__ import annotations

import email
import email.policy
from types import SimpleNamespace

from sqlalchemy import select
from tthc.dag_support.notifiers import OpsMailNotifier
from tthc.db.models import MailLog


def _context():
    ti = SimpleNamespace(dag_id="tthc_ingest", run_id="scheduled__2026-11-25", task_id="ingest_national_portal")
    return {"ti": ti, "exception": RuntimeError("national portal: HTTP 503")}


def test_failure_sends_one_ops_mail(session, smtp_sink, monkeypatch, dept):
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_SMTP", f"smtp://127.0.0.1:{smtp_sink.port}")
    notifier = OpsMailNotifier()
    notifier.notify(_context())
    notifier.notify(_context())  # the same failure reported twice: still one mail
    [path] = smtp_sink.messages()
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert "Cảnh báo vận hành" in str(msg["Subject"]) and "ingest_national_portal" in str(msg["Subject"])
    assert dept.ops_recipients[0] in str(msg["To"])
    assert "HTTP 503" in msg.get_body(("plain",)).get_content()
    assert session.scalar(select(MailLog.kind)) == "ops"


def test_alert_failure_never_raises(session, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_SMTP", "smtp://127.0.0.1:9")  # nothing listens
    OpsMailNotifier().notify(_context())  # logs, does not mask the task's own failure
    assert session.scalar(select(MailLog.status)) == "failed"
