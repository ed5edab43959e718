"""Failure alerts for operators, kept apart from the business reports (a different mail kind and list).

Light at import time: DAG files import this module; the mail machinery loads only when a task fails.
"""

from __future__ import annotations

import hashlib
import logging

from airflow.sdk import BaseNotifier

log = logging.getLogger(__name__)


def send_ops_mail(*, kind: str, key: str, subject: str, text: str) -> None:
    """One ops email (HTML + plain text) to the IT list, at most once per (kind, key) by the mail ledger.

    The mail is kept in the ledger until it is sent: when SMTP is down it goes out later, once (the next
    alert sends what is pending first, and the report DAGs flush it every morning)."""
    from tthc.core.config import get_endpoint, load_department
    from tthc.db.session import session_scope
    from tthc.reports.mail import OutgoingMail, YagmailMailer, send_once, send_pending

    dept = load_department()
    if not dept.ops_recipients:
        return
    mail = OutgoingMail(
        kind=kind, period_key=key, sender=dept.sender, recipients=tuple(dept.ops_recipients),
        subject=subject, html="<pre>" + text.replace("&", "&amp;").replace("<", "&lt;") + "</pre>", text=text,
    )
    mailer = YagmailMailer.from_endpoint(get_endpoint("tthc_smtp"))
    with session_scope() as session:
        send_once(session, mailer, mail, archive_dir=dept.archive_path(), keep=True)
        # SMTP answers: what earlier alerts could not send goes out now, once
        pending = send_pending(session, mailer, archive_dir=dept.archive_path())
    if pending.sent:
        log.info("sent %d pending ops mail(s)", len(pending.sent))


class OpsMailNotifier(BaseNotifier):
    """Mail the department's IT team once per failed task instance (ledger kind ``ops``)."""

    template_fields = ()

    def notify(self, context) -> None:  # type: ignore[override]
        try:
            self._send(context)
        except Exception:  # noqa: BLE001 - an alert must never mask the original failure
            log.exception("could not send the ops alert")

    def _send(self, context) -> None:
        from tthc.core.config import load_department
        from tthc.core.links import task_instance_page, ui_base_url

        ti = context["ti"]
        dag_id, run_id, task_id = ti.dag_id, ti.run_id, ti.task_id
        exc = context.get("exception")
        tries = getattr(ti, "try_number", None)  # what happened, not "after retries" when there were none
        attempt = (f" ở lần chạy thứ {tries}" + (f" (đã thử lại {tries - 1} lần)" if tries > 1 else " (không thử lại)")
                   if isinstance(tries, int) and tries > 0 else "")
        link = task_instance_page(ui_base_url(load_department()), dag_id, run_id, task_id)
        text = (
            f"Tác vụ {task_id} của DAG {dag_id} (lượt chạy {run_id}) bị lỗi{attempt}.\n"
            f"Lỗi: {type(exc).__name__ if exc else 'không rõ'}: {exc}\n\n"
            "Dữ liệu đã lưu trước đó được giữ nguyên; lượt chạy sau sẽ tiếp tục từ mốc đã lưu.\n"
            "Xem nhật ký tác vụ trong giao diện Airflow để biết chi tiết" + (f": {link}" if link else ".")
        )
        send_ops_mail(kind="ops", key=hashlib.sha256(f"{dag_id}|{run_id}|{task_id}".encode()).hexdigest()[:32],
                      subject=f"[KSTTHC][Cảnh báo vận hành] {dag_id}.{task_id} thất bại", text=text)


class FailureStreakNotifier(BaseNotifier):
    """Failure callback of a source's ingest task or a channel's sync task: counts the failed run date
    for that source or channel and, when it has failed ``alerts.source_failures`` runs in a row, sends
    ONE ops email (not one per night)."""

    template_fields = ()

    def __init__(self, source: str, kind: str = "source") -> None:
        super().__init__()
        self.source = source
        self.kind = kind  # "source" (ingest) or "channel" (sync): only the wording differs

    def notify(self, context) -> None:  # type: ignore[override]
        try:
            self._record(context)
        except Exception:  # noqa: BLE001 - an alert must never mask the original failure
            log.exception("could not record the source failure of %s", self.source)

    def _record(self, context) -> None:
        from tthc.core.config import load_department
        from tthc.core.render import vn_date
        from tthc.core.window import window_from_context
        from tthc.db.health import alert_key, record_failure
        from tthc.db.session import session_scope

        dept = load_department()
        as_of = window_from_context(context).as_of
        exc = context.get("exception")
        error = f"{type(exc).__name__}: {exc}" if exc else "không rõ"
        with session_scope() as session:
            row = record_failure(session, self.source, as_of, error)
            count, key, since = row.consecutive_failures, alert_key(row), row.first_failure_for
        if count < dept.source_failure_threshold:
            return
        # one alert per streak: the ledger key is (source, first failed date); a mail that could not be
        # sent on the night the threshold was reached goes out on a later night, never twice
        if self.kind == "channel":
            text = (
                f"Kênh đăng tải «{self.source}» đã lỗi {count} lượt chạy liên tiếp (từ ngày {vn_date(since)}).\n"
                f"Lỗi gần nhất: {error}\n\n"
                "Những gì đã đăng được ghi trong sổ đăng tải và không bị đăng lại; các kênh khác vẫn chạy. Khi "
                "kênh hoạt động trở lại, lượt chạy kế tiếp sẽ đăng phần còn thiếu, đúng một lần. "
                "Cảnh báo này chỉ gửi một lần cho mỗi đợt lỗi.\n"
                "Nếu lỗi là HTTP 401: mã truy cập (token) đã hết hạn hoặc bị thu hồi, cần cập nhật mật khẩu của "
                "Connection tương ứng trong Airflow."
            )
            subject = f"[KSTTHC][Cảnh báo vận hành] Kênh đăng tải {self.source} lỗi {count} lượt liên tiếp"
        else:
            text = (
                f"Nguồn dữ liệu «{self.source}» đã lỗi {count} lượt chạy liên tiếp (từ ngày {vn_date(since)}).\n"
                f"Lỗi gần nhất: {error}\n\n"
                "Trạng thái đã lưu trước đó được giữ nguyên; khi nguồn hoạt động trở lại, lượt chạy kế tiếp sẽ "
                "tự lấy bù phần còn thiếu. Cảnh báo này chỉ gửi một lần cho mỗi đợt lỗi.\n"
                "Nếu lỗi là LayoutChangedError: trang nguồn đã đổi bố cục, cần cập nhật cấu hình bộ chọn (selector)."
            )
            subject = f"[KSTTHC][Cảnh báo vận hành] Nguồn {self.source} lỗi {count} lượt liên tiếp"
        send_ops_mail(kind=f"{self.kind}_down", key=key, text=text, subject=subject)
