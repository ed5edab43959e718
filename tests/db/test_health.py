"""Source health (tthc.db.health) and its alert (alerts.FailureStreakNotifier): a source down N nights in a
row sends ONE ops email; a success resets the streak."""

from __future__ import annotations

import email
import email.policy
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from tthc.core.http import SourceError
from tthc.dag_support.notifiers import FailureStreakNotifier
from tthc.db.health import alert_key, record_failure, record_success
from tthc.db.models import MailLog, SourceHealth

VN = ZoneInfo("Asia/Ho_Chi_Minh")
SOURCE = "national_portal"


# ------------------------------------------------------------------ counting


def test_record_failure_counts_distinct_run_dates(session) -> None:
    row = record_failure(session, SOURCE, date(2026, 11, 1), "SourceError: HTTP 503")
    assert (row.consecutive_failures, row.first_failure_for, row.last_failure_for) == (
        1, date(2026, 11, 1), date(2026, 11, 1))
    row = record_failure(session, SOURCE, date(2026, 11, 1), "SourceError: timeout")  # a retry of that night
    assert row.consecutive_failures == 1
    assert row.last_error == "SourceError: timeout"
    row = record_failure(session, SOURCE, date(2026, 11, 2), "SourceError: HTTP 500")
    assert row.consecutive_failures == 2
    row = record_failure(session, SOURCE, date(2026, 11, 2), "again")
    assert row.consecutive_failures == 2
    row = record_failure(session, SOURCE, date(2026, 11, 3), "x" * 5000)
    assert row.consecutive_failures == 3
    assert row.first_failure_for == date(2026, 11, 1)
    assert len(row.last_error) == 2000
    session.commit()
    session.expire_all()
    stored = session.get(SourceHealth, SOURCE)
    assert stored.consecutive_failures == 3 and stored.last_failure_for == date(2026, 11, 3)


def test_sources_are_counted_separately(session) -> None:
    record_failure(session, "a", date(2026, 11, 1), "e")
    record_failure(session, "a", date(2026, 11, 2), "e")
    assert record_failure(session, "b", date(2026, 11, 2), "e").consecutive_failures == 1
    assert session.get(SourceHealth, "a").consecutive_failures == 2


def test_record_success_resets_and_a_new_streak_has_a_new_key(session) -> None:
    first = record_failure(session, SOURCE, date(2026, 11, 1), "e")
    record_failure(session, SOURCE, date(2026, 11, 2), "e")
    key_1 = alert_key(first)
    record_success(session, SOURCE, date(2026, 11, 3))
    session.flush()
    row = session.get(SourceHealth, SOURCE)
    assert row.consecutive_failures == 0
    assert row.first_failure_for is None
    assert row.last_success_for == date(2026, 11, 3)

    row = record_failure(session, SOURCE, date(2026, 11, 4), "e")
    assert row.consecutive_failures == 1
    assert row.first_failure_for == date(2026, 11, 4)
    assert alert_key(row) != key_1


def test_failure_after_success_on_the_last_failed_date_counts(session) -> None:
    """A manual re-run of a failed date succeeds, then that date fails again: a new streak of one."""
    record_failure(session, SOURCE, date(2026, 11, 1), "e")
    record_success(session, SOURCE, date(2026, 11, 1))
    assert record_failure(session, SOURCE, date(2026, 11, 1), "e").consecutive_failures == 1


def test_rerun_of_an_earlier_failed_date_of_the_streak_does_not_count(session) -> None:
    record_failure(session, SOURCE, date(2026, 11, 1), "e")
    record_failure(session, SOURCE, date(2026, 11, 2), "e")
    row = record_failure(session, SOURCE, date(2026, 11, 1), "e")  # night 1 cleared and failed again
    assert row.consecutive_failures == 2  # two distinct failed dates


def test_record_success_creates_the_row(session) -> None:
    record_success(session, "bo_khcn_sandbox", date(2026, 11, 1))
    session.flush()
    row = session.get(SourceHealth, "bo_khcn_sandbox")
    assert row.consecutive_failures == 0 and row.last_success_for == date(2026, 11, 1)


# ------------------------------------------------------------------ the notifier


def _context(night: int) -> dict:
    """The failure context of the run for the night of 2026-11-<night> (its data interval ends then)."""
    end = datetime(2026, 11, night, 1, 0, tzinfo=VN)
    ti = SimpleNamespace(dag_id="tthc_ingest", run_id=f"scheduled__2026-11-{night:02d}",
                         task_id="ingest_national_portal", try_number=1)
    return {"ti": ti, "exception": SourceError(f"national portal: HTTP 503 (night {night})"),
            "data_interval_start": end - timedelta(days=1), "data_interval_end": end, "params": {}}


def _subjects(smtp_sink) -> list[str]:
    out = []
    for path in smtp_sink.messages():
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        out.append(str(msg["Subject"]))
    return out


@pytest.fixture
def smtp_env(smtp_sink, monkeypatch: pytest.MonkeyPatch, db_url):
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_SMTP", f"smtp://127.0.0.1:{smtp_sink.port}")
    return smtp_sink


def test_one_mail_on_the_third_consecutive_night(session, smtp_env, dept) -> None:
    assert dept.source_failure_threshold == 3 and dept.ops_recipients
    notifier = FailureStreakNotifier(SOURCE)
    sent_after: dict[int, int] = {}
    for night in range(1, 6):
        notifier.notify(_context(night))
        sent_after[night] = len(smtp_env.messages())
    assert sent_after == {1: 0, 2: 0, 3: 1, 4: 1, 5: 1}

    [subject] = _subjects(smtp_env)
    assert SOURCE in subject and "3 lượt" in subject
    [path] = smtp_env.messages()
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert dept.ops_recipients[0] in str(msg["To"])
    body = msg.get_body(("plain",)).get_content()
    assert "night 3" in body  # the latest error at the time of the alert
    assert "01/11/2026" in body  # since the first failed night

    session.expire_all()
    row = session.get(SourceHealth, SOURCE)
    assert row.consecutive_failures == 5 and row.first_failure_for == date(2026, 11, 1)
    assert [m.kind for m in session.scalars(select(MailLog))] == ["source_down"]


def test_retries_of_a_night_do_not_count_or_resend(session, smtp_env) -> None:
    notifier = FailureStreakNotifier(SOURCE)
    for night in (1, 1, 2, 2, 2):
        notifier.notify(_context(night))
    assert smtp_env.messages() == []
    notifier.notify(_context(3))
    notifier.notify(_context(3))  # the task's retry on night 3: the alert is not sent twice
    assert len(smtp_env.messages()) == 1
    session.expire_all()
    assert session.get(SourceHealth, SOURCE).consecutive_failures == 3


def test_new_streak_after_success_alerts_again(session, smtp_env) -> None:
    notifier = FailureStreakNotifier(SOURCE)
    for night in (1, 2, 3):
        notifier.notify(_context(night))
    assert len(smtp_env.messages()) == 1

    record_success(session, SOURCE, date(2026, 11, 4))
    session.commit()

    for night in (5, 6):
        notifier.notify(_context(night))
    assert len(smtp_env.messages()) == 1
    notifier.notify(_context(7))
    assert len(smtp_env.messages()) == 2
    subjects = _subjects(smtp_env)
    assert all(SOURCE in s and "3 lượt" in s for s in subjects)
    session.expire_all()
    assert [m.status for m in session.scalars(select(MailLog).order_by(MailLog.id))] == ["sent", "sent"]


def test_window_params_decide_the_night(session, smtp_env) -> None:
    """An operator's backfill (params window_end) counts for the night it names, not the data interval."""
    notifier = FailureStreakNotifier(SOURCE)
    ctx = _context(1)
    ctx["params"] = {"window_start": "2026-10-09T00:00:00+07:00", "window_end": "2026-10-10T00:00:00+07:00"}
    notifier.notify(ctx)
    session.expire_all()
    assert session.get(SourceHealth, SOURCE).last_failure_for == date(2026, 10, 10)


def test_notifier_never_raises(session, monkeypatch: pytest.MonkeyPatch, db_url) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_SMTP", "smtp://127.0.0.1:9")  # nothing listens
    notifier = FailureStreakNotifier(SOURCE)
    for night in (1, 2, 3):
        notifier.notify(_context(night))  # the third cannot be mailed: logged, not raised
    session.expire_all()
    assert session.get(SourceHealth, SOURCE).consecutive_failures == 3
    assert session.scalar(select(MailLog.status)) == "failed"
