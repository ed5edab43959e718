"""Failure alerts for operators, kept apart from the business reports (a different mail kind and list).

Light at import time: DAG files import this module; the mail machinery loads only when a task fails.
"""

from __future__ import annotations

import hashlib
import logging

from airflow.sdk import BaseNotifier

log = logging.getLogger(__name__)


class OpsMailNotifier(BaseNotifier):
    """Mail the department's IT team once per failed task instance (ledger kind ``ops``)."""

    template_fields = ()

    def notify(self, context) -> None:  # type: ignore[override]
        try:
            self._send(context)
        except Exception:  # noqa: BLE001 - an alert must never mask the original failure
            log.exception("could not send the ops alert")

    def _send(self, context) -> None:
        from tthc.config import get_endpoint, load_department
        from tthc.db.session import session_scope
        from tthc.reports.mail import OutgoingMail, YagmailMailer, send_once

        dept = load_department()
        if not dept.ops_recipients:
            return
        ti = context["ti"]
        dag_id, run_id, task_id = ti.dag_id, ti.run_id, ti.task_id
        exc = context.get("exception")
        key = hashlib.sha256(f"{dag_id}|{run_id}|{task_id}".encode()).hexdigest()[:32]
        text = (
            f"Tác vụ {task_id} của DAG {dag_id} (lượt chạy {run_id}) bị lỗi sau các lần thử lại.\n"
            f"Lỗi: {type(exc).__name__ if exc else 'không rõ'}: {exc}\n\n"
            "Dữ liệu đã lưu trước đó được giữ nguyên; lượt chạy sau sẽ tiếp tục từ mốc đã lưu.\n"
            "Xem nhật ký tác vụ trong giao diện Airflow để biết chi tiết."
        )
        mail = OutgoingMail(
            kind="ops", period_key=key, sender=dept.sender, recipients=tuple(dept.ops_recipients),
            subject=f"[KSTTHC][Cảnh báo vận hành] {dag_id}.{task_id} thất bại",
            html="<pre>" + text.replace("&", "&amp;").replace("<", "&lt;") + "</pre>", text=text,
        )
        with session_scope() as session:
            send_once(session, YagmailMailer.from_endpoint(get_endpoint("tthc_smtp")), mail)
