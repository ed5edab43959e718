"""Attachments never block decisions (issue 12, cases 3 and 11), on SQLite and PostgreSQL.

A failed download (404, 5xx after the session's retries, a timeout, a link that is not http(s)) is
recorded with its URL, HTTP status, decision, source, error, attempts and next retry date (counted in
run dates); the decision is stored and the run succeeds; later runs retry what is due, with backoff; a
failure persisting ``ATTACHMENT_ALERT_ATTEMPTS`` tries is in the digest and in ONE ops alert. Before the
fix the download raised inside the source's transaction: no decision stored, every night.
"""

from __future__ import annotations

import email
import email.policy
import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import func, select
from tthc.core.http import SnapshotRecorder, make_session
from tthc.core.text import match_key
from tthc.core.window import make_window
from tthc.db.models import ATTACHMENT_ALERT_ATTEMPTS, Attachment, Decision, MailLog, SourceHealth
from tthc.ingest.attachments import AttachmentStore, fetch_attachments, next_retry
from tthc.ingest.runs import get_watermark, ingest_html_site
from tthc.ingest.sources.html_listing import load_site_config
from tthc.ingest.sources.html_listing.client import HtmlListingClient
from tthc.ingest.sources.national_portal.settings import SOURCE_NAME as PORTAL_SOURCE
from tthc_dev.sandbox import DATA_DIR

VN = ZoneInfo("Asia/Ho_Chi_Minh")
FIRST = date(2026, 12, 1)  # every demo decision is published before this
DOWNLOAD_ROUTE = "GET /web/jsp/download_file.jsp"
RUN = datetime(2026, 12, 1, 1, 0, tzinfo=VN)

pytestmark = pytest.mark.usefixtures("seeded")


@pytest.fixture(autouse=True)
def _no_backoff_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """The session still retries a 5xx three times, without sleeping between the tries."""
    monkeypatch.setattr("tthc.core.http._Retry.get_backoff_time", lambda self: 0.0)


def _window(as_of: date):
    end = datetime(as_of.year, as_of.month, as_of.day, 1, tzinfo=VN)
    return make_window(end - timedelta(days=1), end)


def _portal_expected(dept) -> set[str]:
    watched = {match_key(m) for m in dept.ministries}
    demo = yaml.safe_load((DATA_DIR / "decisions.yaml").read_text(encoding="utf-8"))
    return {d["so_hieu"] for d in demo if match_key(d["agency"]) in watched
            and date.fromisoformat(str(d["published"])) < FIRST}


def _attachments(session) -> list[Attachment]:
    session.expire_all()
    return list(session.scalars(select(Attachment).order_by(Attachment.id)))


# ------------------------------------------------------------------ through the task, night after night


def test_failing_downloads_never_block_the_decisions_and_are_retried_with_backoff(
        session, sandbox, dept, monkeypatch, smtp_sink) -> None:
    from tthc.dag_support.ingest_alerts import alert_after_ingest
    from tthc.ingest.tasks import ingest_national_portal
    from tthc.reports.digest import build_digest, digest_mail

    monkeypatch.setenv("AIRFLOW_CONN_TTHC_PORTAL", sandbox.url)
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_SMTP", f"smtp://127.0.0.1:{smtp_sink.port}")
    sandbox.add_fault(DOWNLOAD_ROUTE, "http_500")  # every attachment of the portal, every try

    nights: dict[date, dict[str, Any]] = {}
    downloads: dict[date, int] = {}

    def night(as_of: date) -> dict[str, Any]:
        before = sandbox.stats().get(DOWNLOAD_ROUTE, 0)
        nights[as_of] = summary = ingest_national_portal(_window(as_of))
        alert_after_ingest(summary)
        downloads[as_of] = sandbox.stats().get(DOWNLOAD_ROUTE, 0) - before
        return summary

    first = night(FIRST)
    expected = _portal_expected(dept)
    # the decisions are stored and the watermark moved: before the fix, 0 stored and the task failed
    assert first["decisions_new"] == len(expected) and first["incomplete_reason"] is None
    assert set(session.scalars(select(Decision.so_hieu))) == expected
    assert get_watermark(session, PORTAL_SOURCE) == first["watermark_after"] is not None
    assert session.get(SourceHealth, PORTAL_SOURCE).consecutive_failures == 0  # not a failed run
    rows = _attachments(session)
    assert len(rows) == first["attachments_failed"] == len(expected) and first["attachments"] == 0
    assert downloads[FIRST] == 4 * len(rows)  # each: the request and the session's 3 retries
    for row in rows:
        assert (row.status, row.http_status, row.attempts, row.source) == ("fetch_failed", 500, 1, PORTAL_SOURCE)
        assert row.next_retry_for == FIRST + timedelta(days=1)
        assert PORTAL_SOURCE in row.error and row.decision.so_hieu in row.error and "HTTP 500" in row.error

    night(FIRST + timedelta(days=1))  # second try: due
    assert downloads[FIRST + timedelta(days=1)] == 4 * len(rows)
    assert {(a.attempts, a.next_retry_for) for a in _attachments(session)} == {(2, FIRST + timedelta(days=3))}
    night(FIRST + timedelta(days=2))  # not due: no download at all
    assert downloads[FIRST + timedelta(days=2)] == 0
    third = night(FIRST + timedelta(days=3))  # third try: persistent now
    assert {a.attempts for a in _attachments(session)} == {ATTACHMENT_ALERT_ATTEMPTS}
    assert len(third["attachment_alerts"]) == len(rows) and third["incomplete_reason"] is None

    mails = smtp_sink.messages()
    assert len(mails) == len(rows)  # one ops alert per attachment
    msg = email.message_from_bytes(mails[0].read_bytes(), policy=email.policy.default)
    body = msg.get_body(("plain",)).get_content()
    assert "Cảnh báo vận hành" in str(msg["Subject"]) and "tệp đính kèm" in str(msg["Subject"])
    assert PORTAL_SOURCE in body and "HTTP 500" in body and "/web/jsp/download_file.jsp" in body
    assert {m.kind for m in session.scalars(select(MailLog))} == {"attachment"}

    digest = build_digest(session, window_start=_window(FIRST + timedelta(days=3)).start,
                          window_end=_window(FIRST + timedelta(days=3)).end, as_of=FIRST + timedelta(days=3))
    assert len(digest.failing_attachments) == min(len(rows), 10)
    mail = digest_mail(digest, dept)
    assert "tệp đính kèm không tải được" in mail.subject
    assert "không tải được tệp đính kèm của quyết định" in mail.text and "HTTP 500" in mail.text
    assert "/web/jsp/download_file.jsp" in mail.html

    sandbox.clear_faults()
    night(FIRST + timedelta(days=7))  # the fourth try succeeds; the alert was not sent again
    assert len(smtp_sink.messages()) == len(rows)
    assert {(a.status, a.attempts, a.next_retry_for) for a in _attachments(session)} == {("stored", 0, None)}
    assert nights[FIRST + timedelta(days=7)]["attachments"] == len(rows)
    assert session.scalar(select(func.count()).select_from(Decision)) == len(expected)  # nothing twice


def test_backoff_is_counted_in_run_dates() -> None:
    day = date(2026, 12, 1)
    assert [next_retry(day, n) for n in (1, 2, 3, 4, 5, 6, 7)] == [
        day + timedelta(days=d) for d in (1, 2, 4, 8, 16, 30, 30)]
    assert next_retry(day, 10) is None  # given up: listed in the digest, not tried again


# ------------------------------------------------------------------ a tiny site: 404, timeouts, bad schemes


class _Handler(BaseHTTPRequestHandler):
    pages: dict[str, tuple[int, bytes]] = {}
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's API
        self.hits.append(self.path)
        status, body = self.pages.get(self.path, (404, b"not found"))
        if status == 0:  # a server that never answers in time
            threading.Event().wait(2)
            status = 200
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8" if body.startswith(b"<") else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def site() -> Iterator[tuple[str, dict[str, tuple[int, bytes]], list[str]]]:
    pages: dict[str, tuple[int, bytes]] = {}
    hits: list[str] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("H", (_Handler,), {"pages": pages, "hits": hits}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", pages, hits
    finally:
        server.shutdown()
        server.server_close()


SITE_YAML = """\
name: tiny_ministry
agency: "Bộ Khoa học và Công nghệ"
base_url: "http://example.invalid"
listing: {path: "/docs"}
row: "div.doc"
fields:
  so_hieu: "h3 a"
  signed: "p.date"
  trich_yeu: "p.summary"
  detail_link: "h3 a"
detail:
  fields:
    so_hieu: "#so"
  attachments: "a.file"
"""


def _html(body: str) -> bytes:
    return f"<html><head><meta charset='utf-8'></head><body>{body}</body></html>".encode()


def test_a_404_and_hostile_links_leave_the_decision_stored(session, dept, site, tmp_path: Path) -> None:
    url, pages, hits = site
    pages["/docs"] = (200, _html('<div class="doc"><h3><a href="/docs/7">7/QĐ-BKHCN</a></h3><p class="date">'
                                 '20/11/2026</p><p class="summary">Về việc công bố thủ tục hành chính</p></div>'))
    links = ["/files/ok.txt", "/files/gone.pdf", "file:///etc/passwd", "data:text/plain,abc", "vbscript:msgbox(1)",
             "javascript:alert(1)", "http://[::1"]
    pages["/docs/7"] = (200, _html('<span id="so">7/QĐ-BKHCN</span>'
                                   + "".join(f'<a class="file" href="{h}">tệp</a>' for h in links)))
    pages["/files/ok.txt"] = (200, "Quyết định số 7".encode())
    (tmp_path / "tiny_ministry.yaml").write_text(SITE_YAML, encoding="utf-8")
    cfg = load_site_config(tmp_path / "tiny_ministry.yaml")
    http = make_session(retries=0, min_interval=0)
    store = AttachmentStore(tmp_path / "store")
    recorder = SnapshotRecorder(fetched_at=RUN)
    client = HtmlListingClient(cfg, base_url=url, session=http, recorder=recorder)

    def fetch(decision, urls):
        return fetch_attachments(session, decision, urls, http, store, fetched_at=RUN, source=cfg.name,
                                 as_of=FIRST)

    result = ingest_html_site(session, client, recorder, dept, window_end=FIRST, run_time=RUN, attachments=fetch)
    session.commit()
    assert result.decisions_new == 1 and result.incomplete_reason is None  # before: InvalidSchema, or HTTP 404
    assert get_watermark(session, "tiny_ministry") == "2026-11-20"
    rows = {a.url: a for a in _attachments(session)}
    assert set(rows) == {f"{url}/files/ok.txt", f"{url}/files/gone.pdf"}  # only http(s) links are kept
    assert rows[f"{url}/files/ok.txt"].status == "stored"
    gone = rows[f"{url}/files/gone.pdf"]
    assert (gone.status, gone.http_status, gone.attempts, gone.next_retry_for) == (
        "fetch_failed", 404, 1, FIRST + timedelta(days=1))
    assert "tiny_ministry" in gone.error and "7/QĐ-BKHCN" in gone.error and "HTTP 404" in gone.error
    assert result.attachments == 1 and result.attachments_failed == 1
    assert not any("passwd" in h or "msgbox" in h for h in hits)


def test_a_timeout_and_a_bad_scheme_are_recorded(session, site, tmp_path: Path, monkeypatch) -> None:
    url, pages, _ = site
    monkeypatch.setattr("tthc.ingest.attachments.DEFAULT_TIMEOUT", (1, 0.5))
    pages["/slow.pdf"] = (0, b"%PDF-1.4")
    decision = Decision(so_hieu="8/QĐ-BKHCN", so_hieu_key="8/QĐ-BKHCN", trich_yeu="x", field_keys="",
                        agency_name="Bộ Khoa học và Công nghệ", ingested_at=RUN)
    session.add(decision)
    session.flush()
    result = fetch_attachments(session, decision, [f"{url}/slow.pdf", "file:///etc/passwd"],
                               make_session(retries=0, min_interval=0), AttachmentStore(tmp_path / "s"),
                               fetched_at=RUN, source="tiny", as_of=FIRST)
    session.commit()
    assert result.counts["fetch_failed"] == 2
    rows = {a.url: a for a in _attachments(session)}
    slow, bad = rows[f"{url}/slow.pdf"], rows["file:///etc/passwd"]
    assert slow.http_status is None and "timed out" in slow.error.lower() and slow.next_retry_for == FIRST + timedelta(1)
    assert "not an http(s) link" in bad.error and bad.next_retry_for is None  # trying again cannot help
