"""dag_support.notifiers: the ops alert says which try failed (not "after retries" when there were none)
and links to the task instance at the deployment's real UI address."""

from __future__ import annotations

import email
import email.policy
from types import SimpleNamespace

import pytest
from tthc.dag_support.notifiers import OpsMailNotifier


@pytest.mark.parametrize("tries, said", [(1, "ở lần chạy thứ 1 (không thử lại)"),
                                         (3, "ở lần chạy thứ 3 (đã thử lại 2 lần)")])
def test_the_alert_says_what_happened_and_links_to_it(session, smtp_sink, monkeypatch, tries, said):
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_SMTP", f"smtp://127.0.0.1:{smtp_sink.port}")
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://af.sokhcn.vn")
    ti = SimpleNamespace(dag_id="tthc_approve", run_id="manual__2026-11-26T01:00:00+07:00", task_id="approve",
                         try_number=tries)
    OpsMailNotifier().notify({"ti": ti, "exception": RuntimeError("HITL timeout")})
    [path] = smtp_sink.messages()
    text = email.message_from_bytes(path.read_bytes(), policy=email.policy.default).get_body(("plain",)).get_content()
    assert f"bị lỗi {said}." in text and "sau các lần thử lại" not in text
    assert ("https://af.sokhcn.vn/dags/tthc_approve/runs/manual__2026-11-26T01%3A00%3A00%2B07%3A00/tasks/approve"
            in text)
