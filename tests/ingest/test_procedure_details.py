"""ingest.details: each item's procedure page on the (sandbox) national portal, read once per content version,
kept as versions tied to the item and the catalogue; failures recorded and retried; drift without a
decision; replay from the stored snapshots (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select
from tthc.core.http import SnapshotRecorder
from tthc.db.models import DecisionItem, ItemDetails, Procedure, ProcedureDetails, SourceHealth
from tthc.ingest.details import (
    ALERT_ATTEMPTS,
    ProcedurePageClient,
    fetch_procedure_details,
    next_retry,
)
from tthc.ingest.http_cache import source_session
from tthc.ingest.replay import replay_session
from tthc.ingest.runs import ingest_html_site, ingest_portal, upsert_decision, upsert_item
from tthc.ingest.sources.html_listing import load_all
from tthc.ingest.sources.html_listing.client import HtmlListingClient
from tthc.ingest.sources.national_portal.client import HttpPortalClient

RUN = datetime(2026, 11, 26, 1, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
END = date(2026, 11, 26)
FULL = "GET /p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html"
CITIZEN = "GET /p/home/dvc-chi-tiet-thu-tuc-hanh-chinh.html"


def _sources(session, http, url, dept):
    rec = SnapshotRecorder(fetched_at=RUN)
    ingest_portal(session, HttpPortalClient(url, session=http, recorder=rec), rec, dept, window_end=END, run_time=RUN)
    rec = SnapshotRecorder(fetched_at=RUN)
    ingest_html_site(session, HtmlListingClient(load_all()["bo_khcn_sandbox"], base_url=url, session=http,
                                                recorder=rec), rec, dept, window_end=END, run_time=RUN)
    session.commit()


def _details(session, http, url, as_of=END, **kw):
    rec = SnapshotRecorder(fetched_at=datetime.combine(as_of, RUN.timetz()))
    result = fetch_procedure_details(session, ProcedurePageClient(url, http, rec), rec, as_of=as_of, **kw)
    session.commit()
    return result


def _link(session, name_start: str) -> ItemDetails:
    return session.scalars(select(ItemDetails).join(DecisionItem).where(DecisionItem.name.startswith(name_start))
                           .order_by(ItemDetails.id)).first()


def test_items_get_their_details_once_per_content_version(seeded, sandbox, dept):
    http = source_session(seeded, retries=0)
    _sources(seeded, http, sandbox.url, dept)
    first = _details(seeded, http, sandbox.url)
    assert first.linked >= 35 and first.failed == 0
    assert first.missing == 2  # two items whose procedures the portal does not hold (ids not on the portal)
    assert first.no_reference == 1  # neither a portal id nor a code

    link = _link(seeded, "Thủ tục cấp Giấy chứng nhận đăng ký chuyển giao công nghệ (trừ")
    assert link.status == "fetched"
    page = link.details
    assert (page.code, page.portal_id, page.version, page.layout, page.levels) == (
        "2.002248", "201001", 1, "full", "cap_tinh")
    assert page.procedure_id == seeded.scalar(select(Procedure.id).where(Procedure.code == "2.002248"))
    data = page.data
    assert data["channels"][0]["deadline"] == "7 Ngày làm việc"
    assert "5.000.000 đồng" in data["channels"][0]["fee"]
    assert [b["number"] for b in data["legal_bases"]] == ["07/2017/QH14", "76/2018/NĐ-CP"]
    assert data["steps"].startswith("Bước 1")  # from the citizen page: the full one loads it with JavaScript
    assert page.snapshot_id is not None

    # the same procedure in two decisions: one version, two links
    versions = seeded.scalar(select(func.count()).select_from(ProcedureDetails)
                             .where(ProcedureDetails.code == "1.014512"))
    assert versions == 1
    assert seeded.scalar(select(func.count()).select_from(ItemDetails).join(ProcedureDetails)
                         .where(ProcedureDetails.code == "1.014512")) == 2

    # an abolished item's page too: its code is what the matcher uses first
    abolished = seeded.scalars(select(DecisionItem).where(DecisionItem.change_type == "abolished",
                                                          DecisionItem.external_id.is_not(None))).all()
    links = seeded.scalars(select(ItemDetails).where(ItemDetails.item_id.in_([i.id for i in abolished]))).all()
    assert abolished and len(links) == len(abolished) and all(link.details is not None for link in links)

    # next night: the pages are not modified — conditional GETs answered 304, no new version
    before = sandbox.status_stats()
    again = _details(seeded, http, sandbox.url, as_of=END + timedelta(days=1))
    after = sandbox.status_stats()
    assert again.versions_new == 0 and again.linked == 0 and again.refreshed > 0
    # (the two ids the portal does not hold are asked again too: their empty page is not modified either)
    assert after.get(f"{FULL} 304", 0) - before.get(f"{FULL} 304", 0) == again.refreshed + again.missing
    assert after.get(f"{FULL} 200", 0) == before.get(f"{FULL} 200", 0)
    assert seeded.scalar(select(func.max(ProcedureDetails.version))) == 1


def test_a_missing_page_is_retried_with_a_backoff(seeded, sandbox, dept):
    http = source_session(seeded, retries=0)
    d, _ = upsert_decision(seeded, so_hieu="900/QĐ-BKHCN", agency_name="Bộ Khoa học và Công nghệ", run_time=RUN,
                           trich_yeu="Công bố thủ tục mới", signed_date=date(2026, 11, 20),
                           published_date=date(2026, 11, 21))
    upsert_item(seeded, d, name="Thủ tục chưa có trên cơ sở dữ liệu", change_type="new", external_id="777777")
    seeded.commit()
    assert _details(seeded, http, sandbox.url).missing == 1
    link = _link(seeded, "Thủ tục chưa có")
    assert (link.status, link.attempts, link.next_retry_for) == ("missing", 1, END + timedelta(days=1))
    assert "no such procedure" in link.error and "900/QĐ-BKHCN" in link.error
    # not due yet: not asked again
    calls = sandbox.stats().get(FULL, 0)
    _details(seeded, http, sandbox.url, as_of=END)
    assert sandbox.stats().get(FULL, 0) == calls
    _details(seeded, http, sandbox.url, as_of=END + timedelta(days=1))
    seeded.refresh(link)
    assert (link.attempts, link.next_retry_for) == (2, END + timedelta(days=3))
    assert [next_retry(END, n) for n in (1, 2, 3, 6, 9, 10)] == [
        END + timedelta(days=1), END + timedelta(days=2), END + timedelta(days=4), END + timedelta(days=30),
        END + timedelta(days=30), None]


def test_one_failing_page_never_fails_the_step(seeded, sandbox, dept):
    http = source_session(seeded, retries=0)
    _sources(seeded, http, sandbox.url, dept)
    sandbox.add_fault(FULL, "http_500", times=1)
    sandbox.add_fault(FULL, "layout_changed", times=1)
    result = _details(seeded, http, sandbox.url)
    assert result.failed == 2 and result.linked >= 23  # the others were read
    failed = seeded.scalars(select(ItemDetails).where(ItemDetails.status == "failed")).all()
    errors = sorted(f.error for f in failed)
    assert any("HTTP 500" in e for e in errors)
    assert any("'div.row.info-row .key'" in e for e in errors)  # a changed layout names the selector
    assert all(f.next_retry_for == END + timedelta(days=1) and f.details_id is None for f in failed)
    assert "trang thủ tục" in result.failure_reason

    # retried the next night, and read
    later = _details(seeded, http, sandbox.url, as_of=END + timedelta(days=1))
    assert later.failed == 0
    assert not seeded.scalars(select(ItemDetails).where(ItemDetails.status == "failed")).all()


def test_persistent_failures_are_listed(seeded, sandbox, dept):
    http = source_session(seeded, retries=0)
    d, _ = upsert_decision(seeded, so_hieu="901/QĐ-BKHCN", agency_name="Bộ Khoa học và Công nghệ", run_time=RUN,
                           trich_yeu="Công bố", signed_date=date(2026, 11, 20))
    upsert_item(seeded, d, name="Thủ tục cấp Giấy chứng nhận đăng ký hoạt động khoa học và công nghệ",
                change_type="amended", external_id="201325")
    seeded.commit()
    sandbox.add_fault(FULL, "http_503")
    day = END
    for _ in range(ALERT_ATTEMPTS):
        result = _details(seeded, http, sandbox.url, as_of=day)
        link = _link(seeded, "Thủ tục cấp Giấy chứng nhận đăng ký hoạt động")
        day = link.next_retry_for
    assert [f["decision"] for f in result.persistent_failures] == ["901/QĐ-BKHCN"]
    assert result.persistent_failures[0]["attempts"] == ALERT_ATTEMPTS


def test_a_change_on_the_portal_without_a_decision_is_a_drift_to_review(seeded, sandbox, dept):
    from tthc.catalogue.details import acknowledge_drift, open_drifts

    http = source_session(seeded, retries=0)
    _sources(seeded, http, sandbox.url, dept)
    _details(seeded, http, sandbox.url)
    proc = sandbox.catalogue.procedures["2.002248"]
    channels = [{**c, "fee": "Phí: 3.000.000 đồng (Phí thẩm định hợp đồng chuyển giao công nghệ)",
                 "deadline": "10 Ngày làm việc"} for c in proc["details"]["channels"]]
    sandbox.amend_procedure("2.002248", date(2026, 11, 30), channels=channels)
    result = _details(seeded, http, sandbox.url, as_of=date(2026, 12, 1))
    assert result.drift == 1
    row = seeded.scalar(select(ProcedureDetails).where(ProcedureDetails.code == "2.002248",
                                                        ProcedureDetails.version == 2))
    assert (row.change, row.drift_status, row.fetched_for) == ("drift", "review", date(2026, 12, 1))
    (drift,) = open_drifts(seeded)
    changes = {c.label: (c.before, c.after) for c in drift.changes}
    assert set(changes) == {"Thời hạn giải quyết", "Phí, lệ phí"}
    assert changes["Thời hạn giải quyết"] == ("07 ngày làm việc", "10 ngày làm việc")
    assert changes["Phí, lệ phí"][1] == "Phí: 3.000.000 đồng (Phí thẩm định hợp đồng chuyển giao công nghệ)"
    # the item links keep their version; the current one is the newest
    from tthc.catalogue.details import details_for_item

    item = _link(seeded, "Thủ tục cấp Giấy chứng nhận đăng ký chuyển giao công nghệ (trừ").item
    assert details_for_item(seeded, item)[0].version == 2
    # a person acknowledges it: it leaves the queue
    acknowledge_drift(seeded, row.id, by="kstthc", at=RUN)
    assert open_drifts(seeded) == []
    with pytest.raises(LookupError):
        acknowledge_drift(seeded, 10**6, by="kstthc", at=RUN)


def test_a_change_a_decision_explains_is_no_drift(seeded, sandbox, dept):
    from tthc.catalogue.details import open_drifts

    http = source_session(seeded, retries=0)
    _sources(seeded, http, sandbox.url, dept)
    _details(seeded, http, sandbox.url)
    sandbox.amend_procedure("2.002248", date(2026, 11, 30), result="Giấy chứng nhận (mẫu mới)")
    # the portal changed before the decision reached us: first a drift …
    assert _details(seeded, http, sandbox.url, as_of=date(2026, 12, 1)).drift == 1
    # … then the ministry's decision about it arrives: the drift is explained
    d, _ = upsert_decision(seeded, so_hieu="950/QĐ-BKHCN", agency_name="Bộ Khoa học và Công nghệ", run_time=RUN,
                           trich_yeu="Công bố thủ tục sửa đổi", signed_date=date(2026, 11, 28),
                           published_date=date(2026, 12, 1))
    upsert_item(seeded, d, name="Thủ tục cấp Giấy chứng nhận đăng ký chuyển giao công nghệ (sửa đổi)",
                change_type="amended", external_id="201001")
    seeded.commit()
    result = _details(seeded, http, sandbox.url, as_of=date(2026, 12, 2))
    assert result.explained == 1 and open_drifts(seeded) == []
    # and a later change with a decision ingested first is a "decision" version at once
    sandbox.amend_procedure("2.002248", date(2026, 12, 5), result="Giấy chứng nhận (mẫu 2027)")
    d2, _ = upsert_decision(seeded, so_hieu="990/QĐ-BKHCN", agency_name="Bộ Khoa học và Công nghệ", run_time=RUN,
                            trich_yeu="Công bố thủ tục sửa đổi", signed_date=date(2026, 12, 4),
                            published_date=date(2026, 12, 5))
    upsert_item(seeded, d2, name="Thủ tục cấp Giấy chứng nhận đăng ký chuyển giao công nghệ (lần hai)",
                change_type="amended", external_id="201001")
    seeded.commit()
    result = _details(seeded, http, sandbox.url, as_of=date(2026, 12, 6))
    newest = seeded.scalars(select(ProcedureDetails).where(ProcedureDetails.portal_id == "201001")
                            .order_by(ProcedureDetails.version.desc())).first()
    assert (newest.version, newest.change, newest.drift_status) == (3, "decision", None)


def test_replay_rebuilds_the_details_without_the_network(seeded, sandbox, dept):
    http = source_session(seeded, retries=0)
    _sources(seeded, http, sandbox.url, dept)
    _details(seeded, http, sandbox.url)

    def state():
        return sorted((r.portal_id, r.version, r.code, r.content_hash) for r in seeded.scalars(select(ProcedureDetails)))

    live = state()
    links = seeded.scalar(select(func.count()).select_from(ItemDetails).where(ItemDetails.status == "fetched"))
    seeded.execute(delete(ItemDetails))
    seeded.execute(delete(ProcedureDetails))
    seeded.commit()
    url = sandbox.url
    sandbox.stop()
    result = _details(seeded, replay_session(seeded), url, replay=True)
    assert result.failed == 0 and result.missing == 0  # replay records no failure
    assert state() == live
    assert seeded.scalar(select(func.count()).select_from(ItemDetails).where(ItemDetails.status == "fetched")) == links


def test_the_task_counts_a_night_with_failures_in_the_source_health(db_url, seeded, sandbox, dept, monkeypatch):
    from tthc.core.window import nightly_window
    from tthc.ingest import tasks

    http = source_session(seeded, retries=0)
    _sources(seeded, http, sandbox.url, dept)
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_PORTAL", sandbox.url)
    sandbox.add_fault(FULL, "layout_changed", times=1)  # not retried by the transport, unlike a 5xx
    summary = tasks.fetch_procedure_details(nightly_window(END))
    assert summary["failed"] == 1 and summary["linked"] >= 24
    seeded.expire_all()
    health = seeded.get(SourceHealth, "procedure_details")
    assert health.consecutive_failures == 1 and "trang thủ tục" in health.last_error
    summary = tasks.fetch_procedure_details(nightly_window(END + timedelta(days=1)))
    assert summary["failed"] == 0
    seeded.expire_all()
    assert seeded.get(SourceHealth, "procedure_details").consecutive_failures == 0
