"""dag_support.ingest_alerts: an ingest task that succeeded but read its source incompletely N nights in
a row sends the source's single streak alert (shared with FailureStreakNotifier); a persistent
attachment failure sends one alert per URL, ever; an alert never raises."""

from __future__ import annotations

import email
import email.policy
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from tthc.dag_support.ingest_alerts import alert_after_ingest
from tthc.dag_support.notifiers import FailureStreakNotifier
from tthc.db.health import record_failure
from tthc.db.models import MailLog

VN = ZoneInfo("Asia/Ho_Chi_Minh")
SOURCE = "bo_khcn_sandbox"
REASON = "bo_khcn_sandbox: page 1 (http://x/bo-khcn/van-ban?page=1) was truncated (no '</html>' at its end)"


def _night(session, day: int) -> dict:
    record_failure(session, SOURCE, date(2026, 12, day), f"Đọc chưa hết nguồn, mốc giữ nguyên: {REASON}")
    session.commit()
    return {"source": SOURCE, "incomplete_reason": REASON, "attachment_alerts": []}


def _bodies(smtp_sink) -> list[tuple[str, str]]:
    out = []
    for path in smtp_sink.messages():
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        out.append((str(msg["Subject"]), msg.get_body(("plain",)).get_content()))
    return out


def test_an_incomplete_streak_alerts_once_like_a_failing_one(session, smtp_sink, monkeypatch, dept) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_SMTP", f"smtp://127.0.0.1:{smtp_sink.port}")
    threshold = dept.source_failure_threshold
    for day in range(1, threshold):
        alert_after_ingest(_night(session, day))
    assert smtp_sink.messages() == []  # below the threshold: the digest lists it, no alert yet

    alert_after_ingest(_night(session, threshold))
    alert_after_ingest(_night(session, threshold))  # a retry of the same night
    [(subject, body)] = _bodies(smtp_sink)
    assert f"Nguồn {SOURCE} chưa đọc hết {threshold} lượt liên tiếp" in subject
    assert REASON in body and "không quyết định nào bị bỏ sót" in body

    # the streak goes on as failed runs: the task's FailureStreakNotifier finds the alert already sent
    context = {"exception": RuntimeError("HTTP 503"), "params": {},
               "data_interval_start": datetime(2026, 12, threshold, 1, tzinfo=VN),
               "data_interval_end": datetime(2026, 12, threshold + 1, 1, tzinfo=VN)}
    FailureStreakNotifier(SOURCE).notify(context)
    assert len(smtp_sink.messages()) == 1
    assert [m.kind for m in session.scalars(select(MailLog))] == ["source_down"]


def test_a_complete_run_sends_nothing(session, smtp_sink, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_SMTP", f"smtp://127.0.0.1:{smtp_sink.port}")
    for day in range(1, 5):
        record_failure(session, SOURCE, date(2026, 12, day), "SourceError: HTTP 500")
    session.commit()
    alert_after_ingest({"source": SOURCE, "incomplete_reason": None, "attachment_alerts": []})
    assert smtp_sink.messages() == []


def test_an_attachment_alert_goes_once_per_url(session, smtp_sink, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_SMTP", f"smtp://127.0.0.1:{smtp_sink.port}")
    failure = {"url": "https://csdl.dichvucong.gov.vn/web/jsp/download_file.jsp?ma=abc", "source": "national_portal",
               "decision": "3050/QĐ-BKHCN", "http_status": 404, "attempts": 3, "next_retry_for": "2026-12-08",
               "error": "national_portal: attachment of decision 3050/QĐ-BKHCN: …: HTTP 404"}
    other = {**failure, "url": failure["url"] + "d"}
    summary = {"source": "national_portal", "incomplete_reason": None, "attachment_alerts": [failure, other]}
    alert_after_ingest(summary)
    alert_after_ingest(summary)  # the next night, still failing: no second mail
    mails = _bodies(smtp_sink)
    assert len(mails) == 2
    subject, body = mails[0]
    assert "3050/QĐ-BKHCN" in subject and "HTTP 404" in body and "08/12/2026" in body
    assert "national_portal" in body and failure["url"] in body


def test_an_alert_never_raises(session, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_SMTP", "smtp://127.0.0.1:9")  # nothing listens
    alert_after_ingest({"source": "national_portal", "incomplete_reason": None,
                        "attachment_alerts": [{"url": "http://x/a.pdf", "attempts": 3}]})
    alert_after_ingest({"source": SOURCE, "incomplete_reason": REASON})
