"""An ops alert is never lost (issue 12, case 14): an alert raised while SMTP is down waits in the mail
ledger and is delivered once SMTP is back — by the next alert or by the report DAGs' flush step —
exactly once, even with two flushers at the same time (SQLite and PostgreSQL)."""

from __future__ import annotations

import email
import email.policy
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from tthc.core.window import nightly_window
from tthc.dag_support.notifiers import FailureStreakNotifier, OpsMailNotifier
from tthc.db.models import MailLog
from tthc.db.session import get_engine
from tthc.reports import tasks
from tthc.reports.mail import SENDING_LEASE, MailError, OutgoingMail, YagmailMailer, send_once, send_pending

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def _ops_context(task_id: str, night: int = 26) -> dict:
    end = datetime(2026, 11, night, 1, 0, tzinfo=VN)
    ti = SimpleNamespace(dag_id="tthc_sync", run_id=f"scheduled__2026-11-{night:02d}", task_id=task_id, try_number=3)
    return {"ti": ti, "exception": RuntimeError(f"{task_id}: HTTP 503"), "params": {},
            "data_interval_start": end - timedelta(days=1), "data_interval_end": end}


def _subjects(sink) -> list[str]:
    return sorted(str(email.message_from_bytes(p.read_bytes(), policy=email.policy.default)["Subject"])
                  for p in sink.messages())


def _rows(db_url) -> list[tuple[str, str]]:
    with Session(get_engine(db_url)) as s:
        return [(m.kind, m.status) for m in s.scalars(select(MailLog).order_by(MailLog.id))]


@pytest.fixture
def smtp(smtp_sink, monkeypatch, db_url):
    """The SMTP sink, on a fixed port the tests stop and start."""
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_SMTP", f"smtp://127.0.0.1:{smtp_sink.port}")
    return smtp_sink


def test_alert_raised_while_smtp_is_down_is_sent_once_by_the_flush(smtp, db_url):
    smtp.stop()
    OpsMailNotifier().notify(_ops_context("sync_cms"))  # SMTP down: logged, kept in the ledger
    assert _rows(db_url) == [("ops", "failed")]
    with pytest.raises(MailError, match="1 ops mail"):  # still down: the flush step fails (and is retried)
        tasks.flush_ops_mail(nightly_window(date(2026, 11, 27)))
    smtp.start()
    out = tasks.flush_ops_mail(nightly_window(date(2026, 11, 27)))
    assert len(out["sent"]) == 1
    assert tasks.flush_ops_mail(nightly_window(date(2026, 11, 28)))["sent"] == []  # once
    assert _subjects(smtp) == ["[KSTTHC][Cảnh báo vận hành] tthc_sync.sync_cms thất bại"]
    msg = email.message_from_bytes(smtp.messages()[0].read_bytes(), policy=email.policy.default)
    assert "sync_cms: HTTP 503" in msg.get_body(("plain",)).get_content()
    assert _rows(db_url) == [("ops", "sent")]


def test_the_next_alert_delivers_the_pending_one_first(smtp, db_url):
    smtp.stop()
    OpsMailNotifier().notify(_ops_context("sync_cms"))
    smtp.start()
    OpsMailNotifier().notify(_ops_context("sync_csdl"))  # SMTP answers again: both go out, once each
    OpsMailNotifier().notify(_ops_context("sync_csdl"))
    assert _subjects(smtp) == ["[KSTTHC][Cảnh báo vận hành] tthc_sync.sync_cms thất bại",
                               "[KSTTHC][Cảnh báo vận hành] tthc_sync.sync_csdl thất bại"]
    assert _rows(db_url) == [("ops", "sent"), ("ops", "sent")]


def test_a_streak_alert_lost_on_its_night_goes_out_after_the_channel_recovered(smtp, db_url):
    """Before: the streak alert was re-sent only if the source failed again the next night."""
    notifier = FailureStreakNotifier("sync_cms", kind="channel")
    for night in (1, 2):
        notifier.notify(_ops_context("sync_cms", night))
    smtp.stop()
    notifier.notify(_ops_context("sync_cms", 3))  # the threshold is reached while SMTP is down
    smtp.start()  # the channel recovers: no further failure, no further alert
    tasks.flush_ops_mail(nightly_window(date(2026, 11, 4)))
    tasks.flush_ops_mail(nightly_window(date(2026, 11, 5)))
    assert _subjects(smtp) == ["[KSTTHC][Cảnh báo vận hành] Kênh đăng tải sync_cms lỗi 3 lượt liên tiếp"]


class SlowMailer(YagmailMailer):
    def send(self, sender, recipient, message) -> None:
        time.sleep(0.3)
        super().send(sender, recipient, message)


def _pending_mail(db_url, dept, n: int) -> None:
    with Session(get_engine(db_url), expire_on_commit=False) as s:
        for i in range(n):
            mail = OutgoingMail(kind="ops", period_key=f"k{i}", sender=dept.sender, recipients=("it@x.gov.vn",),
                                subject=f"[KSTTHC][Cảnh báo vận hành] lỗi {i}", html="<pre>lỗi</pre>", text="lỗi")
            with pytest.raises(MailError):
                send_once(s, YagmailMailer("127.0.0.1", 9), mail, keep=True)


def test_two_flushers_at_once_send_each_alert_once(smtp, db_url, dept):
    _pending_mail(db_url, dept, 3)
    start = threading.Barrier(2)

    def flush() -> None:
        start.wait()
        with Session(get_engine(db_url), expire_on_commit=False) as s:
            send_pending(s, SlowMailer("127.0.0.1", smtp.port))

    threads = [threading.Thread(target=flush) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(smtp.messages()) == 3  # without the compare-and-set both flushers send all three
    assert _rows(db_url) == [("ops", "sent")] * 3


def _set_sending(db_url, by: str, at: datetime) -> None:
    with Session(get_engine(db_url)) as s:
        s.execute(update(MailLog).values(status="sending", sending_by=by, attempted_at=at))
        s.commit()


def test_a_mail_left_sending_by_a_live_process_waits_for_its_lease(smtp, db_url, dept):
    _pending_mail(db_url, dept, 1)
    now = datetime.now(UTC)
    _set_sending(db_url, "another-host:4242:abcd", now)  # another machine's worker, mid-send
    with Session(get_engine(db_url), expire_on_commit=False) as s:
        out = send_pending(s, YagmailMailer("127.0.0.1", smtp.port))
        assert out.sent == [] and "another process" in out.pending[0]
        later = send_pending(s, YagmailMailer("127.0.0.1", smtp.port), clock=lambda: now + SENDING_LEASE * 2)
        assert len(later.sent) == 1
    assert len(smtp.messages()) == 1


def test_a_mail_left_sending_by_a_dead_process_of_this_host_is_taken_over_at_once(smtp, db_url, dept):
    import socket

    _pending_mail(db_url, dept, 1)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    _set_sending(db_url, f"{socket.gethostname()}:{dead.stdout.strip()}:dead", datetime.now(UTC))
    with Session(get_engine(db_url), expire_on_commit=False) as s:
        assert len(send_pending(s, YagmailMailer("127.0.0.1", smtp.port)).sent) == 1
    assert len(smtp.messages()) == 1
