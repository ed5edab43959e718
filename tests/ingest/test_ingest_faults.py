"""What an ingest run does when a source misbehaves (the sandbox's fault injection), on SQLite and
PostgreSQL: retried faults end in a complete run; the others fail the run with a SourceError, leave the
watermark and the stored rows as they were, and never look like "nothing new"."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import delete, func, select
from support.sandbox_yaml import sandbox_yaml
from tthc.core.http import LayoutChangedError, SnapshotRecorder, SourceError
from tthc.core.text import clean, match_key
from tthc.db.models import Decision, DecisionItem, SourceHealth
from tthc.ingest.http_cache import source_session
from tthc.ingest.runs import get_watermark, ingest_html_site, ingest_portal
from tthc.ingest.sources.html_listing import load_all
from tthc.ingest.sources.html_listing.client import HtmlListingClient
from tthc.ingest.sources.national_portal import settings as portal_settings
from tthc.ingest.sources.national_portal.client import HttpPortalClient
from tthc.ingest.sources.national_portal.settings import SOURCE_NAME as PORTAL_SOURCE
from tthc_dev.sandbox import DATA_DIR

DATA = DATA_DIR
VN = ZoneInfo("Asia/Ho_Chi_Minh")
RUN_TIME = datetime(2026, 12, 1, 1, 0, tzinfo=VN)
EARLY = date(2026, 10, 1)  # a first run up to here leaves later decisions for the faulted run
ALL = date(2026, 12, 1)  # every demo decision is published before this
MINISTRY_SOURCE = "bo_khcn_sandbox"

REST = f"POST {portal_settings.REST_PATH}"
LIST_ROUTE = f"{REST}:{portal_settings.SERVICE_LIST}"
NEW_ITEMS_ROUTE = f"{REST}:get_procedures_by_dp_id_service_v2"
PAGE_ROUTE = f"GET {portal_settings.DETAIL_PATH}"
LISTING_ROUTE = "GET /bo-khcn/van-ban"

pytestmark = pytest.mark.usefixtures("seeded")


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tthc.core.http.MAX_RETRY_AFTER", 0.5)


# ------------------------------------------------------------------ expectations from the demo data


def _demo() -> list[dict]:
    return yaml.safe_load((DATA / "decisions.yaml").read_text(encoding="utf-8"))


def _procedures() -> dict[str, dict]:
    return {str(p["code"]): p for p in sandbox_yaml("procedures.yaml")}


def _expected(dept, window_end: date) -> list[dict]:
    watched = {match_key(m) for m in dept.ministries}
    return [d for d in _demo() if match_key(d["agency"]) in watched
            and date.fromisoformat(str(d["published"])) < window_end]


def _portal_items(decision: dict) -> set[tuple[str, str]]:
    """(name, change type) as the portal groups them (a replacement: a new item and the old one rescinded)."""
    procedures = _procedures()
    out = set()
    for i in decision["items"]:
        change = {"replaced": "new"}.get(i["change"], i["change"])
        out.add((i["name"], change))
        if i["change"] == "replaced" and i.get("replaces"):
            proc = procedures.get(i["replaces"])
            out.add((proc["name"] if proc else f"Thủ tục {i['replaces']}", "abolished"))
    return out


# ------------------------------------------------------------------ running the ingest


def _portal(session, sandbox, dept, window_end: date, *, refresh_from: date | None = None, retries: int = 2):
    recorder = SnapshotRecorder(fetched_at=RUN_TIME)
    client = HttpPortalClient(sandbox.url, session=source_session(session, retries=retries), recorder=recorder)
    result = ingest_portal(session, client, recorder, dept, window_end=window_end, run_time=RUN_TIME,
                           refresh_from=refresh_from)
    session.commit()
    return result


def _ministry(session, sandbox, dept, window_end: date, retries: int = 2):
    recorder = SnapshotRecorder(fetched_at=RUN_TIME)
    client = HtmlListingClient(load_all()[MINISTRY_SOURCE], base_url=sandbox.url,
                               session=source_session(session, retries=retries), recorder=recorder)
    result = ingest_html_site(session, client, recorder, dept, window_end=window_end, run_time=RUN_TIME)
    session.commit()
    return result


def _failing_portal(session, sandbox, dept, window_end: date, error=SourceError, match: str | None = None):
    with pytest.raises(error, match=match) as info:
        _portal(session, sandbox, dept, window_end)
    session.rollback()
    return info.value


def _so_hieu_counts(session) -> dict[str, int]:
    return dict(session.execute(select(Decision.so_hieu, func.count()).group_by(Decision.so_hieu)).all())


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def _state(session) -> tuple:
    session.expire_all()
    return (get_watermark(session, PORTAL_SOURCE), _so_hieu_counts(session), _count(session, DecisionItem))


def _assert_all_stored_once(session, dept, window_end: date) -> None:
    expected = _expected(dept, window_end)
    assert _so_hieu_counts(session) == {d["so_hieu"]: 1 for d in expected}
    stored = {d.so_hieu: d for d in session.scalars(select(Decision))}
    for d in expected:
        assert {(i.name, i.change_type) for i in stored[d["so_hieu"]].items} == _portal_items(d), d["so_hieu"]


def _newest_mark(dept, window_end: date) -> str:
    newest = max(_expected(dept, window_end), key=lambda d: (str(d["published"]), int(d["portal_id"])))
    return f"{newest['published']}|{newest['portal_id']}"


# ------------------------------------------------------------------ HTTP errors


def test_500_once_on_the_list_is_retried(session, sandbox, dept) -> None:
    sandbox.add_fault(LIST_ROUTE, "http_500", times=1)
    result = _portal(session, sandbox, dept, ALL)
    status = sandbox.status_stats()
    assert status[f"{LIST_ROUTE} 500"] == 1
    assert status[f"{LIST_ROUTE} 200"] == 1
    _assert_all_stored_once(session, dept, ALL)
    assert result.decisions_new == len(_expected(dept, ALL))
    assert get_watermark(session, PORTAL_SOURCE) == _newest_mark(dept, ALL)


def test_500_always_on_an_item_service_fails_the_run_then_a_clean_rerun_completes(session, sandbox, dept) -> None:
    sandbox.add_fault(NEW_ITEMS_ROUTE, "http_500")
    err = _failing_portal(session, sandbox, dept, ALL, match="HTTP 500")
    assert "get_procedures_by_dp_id_service_v2" in str(err)
    assert sandbox.status_stats()[f"{NEW_ITEMS_ROUTE} 500"] == 3  # the request and two retries
    assert get_watermark(session, PORTAL_SOURCE) is None
    assert _count(session, Decision) == 0 and _count(session, DecisionItem) == 0

    sandbox.clear_faults()
    _portal(session, sandbox, dept, ALL)
    _assert_all_stored_once(session, dept, ALL)
    assert get_watermark(session, PORTAL_SOURCE) == _newest_mark(dept, ALL)

    again = _portal(session, sandbox, dept, ALL)  # and a further run adds nothing
    assert again.decisions_new == 0
    _assert_all_stored_once(session, dept, ALL)


def test_500_always_after_an_earlier_run_keeps_the_earlier_state(session, sandbox, dept) -> None:
    _portal(session, sandbox, dept, EARLY)
    before = _state(session)
    assert before[0] is not None and before[1]
    sandbox.add_fault(NEW_ITEMS_ROUTE, "http_500")
    _failing_portal(session, sandbox, dept, ALL, match="HTTP 500")
    assert _state(session) == before


def test_429_with_retry_after_on_the_portal_page_is_retried(session, sandbox, dept) -> None:
    sandbox.add_fault(PAGE_ROUTE, "http_429", times=1, retry_after=1)  # waits min(1, 0.5) s
    _portal(session, sandbox, dept, ALL)
    status = sandbox.status_stats()
    assert status[f"{PAGE_ROUTE} 429"] == 1
    assert status[f"{PAGE_ROUTE} 200"] == len(_expected(dept, ALL))
    _assert_all_stored_once(session, dept, ALL)


def test_429_always_fails_the_run(session, sandbox, dept) -> None:
    _portal(session, sandbox, dept, EARLY)
    before = _state(session)
    sandbox.add_fault(PAGE_ROUTE, "http_429", retry_after=30)  # capped at MAX_RETRY_AFTER (0.5 s here)
    _failing_portal(session, sandbox, dept, ALL, match="HTTP 429")
    assert _state(session) == before


def test_ministry_detail_500_fails_the_run_and_keeps_its_watermark(session, sandbox, dept) -> None:
    _ministry(session, sandbox, dept, EARLY)
    mark = get_watermark(session, MINISTRY_SOURCE)
    assert mark is not None
    sandbox.add_fault("GET /bo-khcn/van-ban/*", "http_500")
    with pytest.raises(SourceError, match="HTTP 500"):
        _ministry(session, sandbox, dept, ALL)
    session.rollback()
    assert get_watermark(session, MINISTRY_SOURCE) == mark


# ------------------------------------------------------------------ slow, truncated, changed answers


@pytest.fixture
def short_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("tthc.core.http", "tthc.ingest.sources.national_portal.client", "tthc.ingest.sources.html_listing.client"):
        monkeypatch.setattr(f"{module}.DEFAULT_TIMEOUT", (1, 0.5))


@pytest.mark.usefixtures("short_timeout")
def test_timeout_always_fails_the_run(session, sandbox, dept) -> None:
    _portal(session, sandbox, dept, EARLY)
    before = _state(session)
    sandbox.add_fault(LIST_ROUTE, "timeout", delay=1.5)
    err = _failing_portal(session, sandbox, dept, ALL)
    assert "timed out" in str(err).lower() or "timeout" in str(err).lower()
    assert sandbox.stats()[LIST_ROUTE] == 1 + 3  # the earlier run, then the request and two retries
    assert _state(session) == before


@pytest.mark.usefixtures("short_timeout")
def test_timeout_once_is_retried(session, sandbox, dept) -> None:
    sandbox.add_fault(LIST_ROUTE, "timeout", times=1, delay=1.5)
    _portal(session, sandbox, dept, ALL)
    assert sandbox.stats()[LIST_ROUTE] == 2
    _assert_all_stored_once(session, dept, ALL)


@pytest.mark.usefixtures("short_timeout")
def test_ministry_listing_timeout_fails_the_run(session, sandbox, dept) -> None:
    sandbox.add_fault(LISTING_ROUTE, "timeout", delay=1.5)
    with pytest.raises(SourceError, match=MINISTRY_SOURCE):
        _ministry(session, sandbox, dept, ALL)
    session.rollback()
    assert get_watermark(session, MINISTRY_SOURCE) is None


def test_truncated_list_is_malformed_json_never_nothing_new(session, sandbox, dept) -> None:
    _portal(session, sandbox, dept, EARLY)
    before = _state(session)
    sandbox.add_fault(LIST_ROUTE, "truncated", times=1)
    _failing_portal(session, sandbox, dept, ALL, match="malformed JSON")
    assert sandbox.stats()[LIST_ROUTE] == 2  # not retried: a 200 with a bad body
    assert _state(session) == before

    result = _portal(session, sandbox, dept, ALL)  # the next run picks up the gap
    assert result.watermark_before == before[0]
    assert result.decisions_new == len(_expected(dept, ALL)) - len(_expected(dept, EARLY)) > 0
    _assert_all_stored_once(session, dept, ALL)


def test_truncated_item_answer_fails_the_run(session, sandbox, dept) -> None:
    sandbox.add_fault(NEW_ITEMS_ROUTE, "truncated", times=1)
    _failing_portal(session, sandbox, dept, ALL, match="malformed JSON")
    assert get_watermark(session, PORTAL_SOURCE) is None and _count(session, Decision) == 0


def test_layout_changed_ministry_listing_names_site_and_selector(session, sandbox, dept) -> None:
    sandbox.add_fault(LISTING_ROUTE, "layout_changed")
    with pytest.raises(LayoutChangedError) as info:
        _ministry(session, sandbox, dept, ALL)
    session.rollback()
    message = str(info.value)
    assert MINISTRY_SOURCE in message
    assert load_all()[MINISTRY_SOURCE].row in message  # "table.list-van-ban tr.van-ban"
    assert get_watermark(session, MINISTRY_SOURCE) is None and _count(session, Decision) == 0


def test_layout_changed_ministry_detail_page(session, sandbox, dept) -> None:
    sandbox.add_fault("GET /bo-khcn/van-ban/*", "layout_changed")
    with pytest.raises(LayoutChangedError, match=MINISTRY_SOURCE):
        _ministry(session, sandbox, dept, ALL)
    session.rollback()
    assert _count(session, Decision) == 0


def test_layout_changed_portal_json_keys(session, sandbox, dept) -> None:
    _portal(session, sandbox, dept, EARLY)
    before = _state(session)
    sandbox.add_fault(LIST_ROUTE, "layout_changed")
    err = _failing_portal(session, sandbox, dept, ALL, error=LayoutChangedError)
    assert "decision list" in str(err) and "CODE" in str(err)
    assert _state(session) == before


def test_layout_changed_portal_page(session, sandbox, dept) -> None:
    sandbox.add_fault(PAGE_ROUTE, "layout_changed")
    err = _failing_portal(session, sandbox, dept, ALL, error=LayoutChangedError)
    assert "table.table-info-row" in str(err)


# ------------------------------------------------------------------ NFD


def test_nfd_everywhere_is_stored_nfc_like_a_clean_run(session, sandbox, dept) -> None:
    sandbox.add_fault(f"{REST}:*", "nfd")
    sandbox.add_fault(PAGE_ROUTE, "nfd")
    _portal(session, sandbox, dept, ALL)
    assert sandbox.stats()[LIST_ROUTE] >= 1

    expected = _expected(dept, ALL)
    stored = {d.so_hieu: d for d in session.scalars(select(Decision))}
    assert set(stored) == {clean(d["so_hieu"]) for d in expected}
    for d in expected:
        row = stored[d["so_hieu"]]
        texts = [row.so_hieu, row.so_hieu_key, row.trich_yeu, row.agency_name, row.field_keys,
                 *(i.name for i in row.items), *(i.name_key for i in row.items)]
        assert all(unicodedata.is_normalized("NFC", t) for t in texts), d["so_hieu"]
        assert row.trich_yeu == clean(d["trich_yeu"])
        assert row.agency_name == clean(d["agency"])
        assert row.field_keys.split(",") == d["fields"]  # field names decomposed still map to the keys
        assert {(i.name, i.change_type) for i in row.items} == {(clean(n), c) for n, c in _portal_items(d)}
        assert row.signed_date == date.fromisoformat(str(d["signed"]))


# ------------------------------------------------------------------ a decision published while paging


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr("tthc.ingest.sources.national_portal.settings.PAGE_SIZE", 4)
    monkeypatch.setattr("tthc.ingest.runs.PAGE_SIZE", 4)
    # list_decisions reads settings.PAGE_SIZE when called (page_size=None): patched above
    return 4


@pytest.mark.usefixtures("small_pages")
def test_insert_while_paging_skips_and_duplicates_nothing(session, sandbox, dept) -> None:
    sandbox.add_fault(LIST_ROUTE, "insert_while_paging", times=1, count=1)
    first = _portal(session, sandbox, dept, ALL)
    pages = sandbox.stats()[LIST_ROUTE]
    assert pages >= 4  # 15 decisions, 4 a page: really paged

    expected = _expected(dept, ALL)
    assert _so_hieu_counts(session) == {d["so_hieu"]: 1 for d in expected}
    assert first.decisions_new == len(expected)
    # the new decision went in at the top after page 1 was served: this run did not see it, so the
    # watermark must stay below it for the next run to take it
    assert first.watermark_after == _newest_mark(dept, ALL)
    new_ids = {int(d.portal_id) for d in sandbox.catalogue.decisions} - {int(d["portal_id"]) for d in _demo()}
    [new_id] = new_ids
    assert int(first.watermark_after.split("|")[1]) < new_id

    second = _portal(session, sandbox, dept, ALL)
    assert second.decisions_new == 1
    counts = _so_hieu_counts(session)
    assert len(counts) == len(expected) + 1 and set(counts.values()) == {1}
    assert second.watermark_after.endswith(f"|{new_id}")
    new = session.scalars(select(Decision).where(Decision.so_hieu.not_in([d["so_hieu"] for d in expected]))).one()
    assert [i.name for i in new.items] == [f"Thủ tục hành chính mới ban hành số {new_id}"]


@pytest.mark.usefixtures("small_pages")
def test_insert_while_paging_after_an_earlier_run(session, sandbox, dept) -> None:
    _portal(session, sandbox, dept, date(2026, 11, 5))
    sandbox.add_fault(LIST_ROUTE, "insert_while_paging", times=1, count=2)
    _portal(session, sandbox, dept, ALL)
    assert _so_hieu_counts(session) == {d["so_hieu"]: 1 for d in _expected(dept, ALL)}
    _portal(session, sandbox, dept, ALL)
    counts = _so_hieu_counts(session)
    assert len(counts) == len(_expected(dept, ALL)) + 2 and set(counts.values()) == {1}


# ------------------------------------------------------------------ full refresh


def test_full_refresh_restores_deleted_items_without_duplicates(session, sandbox, dept) -> None:
    _portal(session, sandbox, dept, ALL)
    mark = get_watermark(session, PORTAL_SOURCE)
    victim = session.scalars(select(Decision).where(Decision.so_hieu == _expected(dept, ALL)[0]["so_hieu"])).one()
    n_items = len(victim.items)
    assert n_items > 0
    session.execute(delete(DecisionItem).where(DecisionItem.decision_id == victim.id))
    session.commit()
    session.expire_all()
    assert _count(session, DecisionItem) > 0 and not victim.items

    result = _portal(session, sandbox, dept, ALL, refresh_from=date(2026, 7, 1))
    session.expire_all()
    assert result.decisions_new == 0
    assert result.decisions_seen == len(_demo())
    assert len(victim.items) == n_items
    _assert_all_stored_once(session, dept, ALL)
    assert get_watermark(session, PORTAL_SOURCE) == mark


def test_full_refresh_of_an_old_window_never_moves_the_watermark_back(session, sandbox, dept) -> None:
    _portal(session, sandbox, dept, ALL)
    mark = get_watermark(session, PORTAL_SOURCE)
    result = _portal(session, sandbox, dept, EARLY, refresh_from=date(2026, 7, 1))
    assert result.watermark_after == mark
    assert get_watermark(session, PORTAL_SOURCE) == mark
    _assert_all_stored_once(session, dept, ALL)


# ------------------------------------------------------------------ through the pipeline function


def _window(as_of: date):
    from tthc.core.window import make_window

    end = datetime(as_of.year, as_of.month, as_of.day, tzinfo=VN)
    return make_window(end - timedelta(days=1), end)


def test_pipeline_ingest_records_success(session, sandbox, dept, monkeypatch: pytest.MonkeyPatch) -> None:
    from tthc.ingest.tasks import ingest_national_portal

    monkeypatch.setenv("AIRFLOW_CONN_TTHC_PORTAL", sandbox.url)
    summary = ingest_national_portal(_window(ALL))
    assert summary["source"] == PORTAL_SOURCE
    assert summary["decisions_new"] == len(_expected(dept, ALL))
    session.expire_all()
    _assert_all_stored_once(session, dept, ALL)
    health = session.get(SourceHealth, PORTAL_SOURCE)
    assert health.consecutive_failures == 0 and health.last_success_for == ALL


def test_pipeline_failure_leaves_health_to_the_notifier(session, sandbox, dept, monkeypatch) -> None:
    from tthc.db.health import record_failure
    from tthc.ingest.tasks import ingest_national_portal

    monkeypatch.setenv("AIRFLOW_CONN_TTHC_PORTAL", sandbox.url)
    ingest_national_portal(_window(EARLY))
    record_failure(session, PORTAL_SOURCE, date(2026, 10, 2), "SourceError: earlier night")
    session.commit()
    before = _state(session)
    health_before = session.get(SourceHealth, PORTAL_SOURCE)
    snapshot = (health_before.consecutive_failures, health_before.last_success_for, health_before.last_failure_for)

    sandbox.add_fault(LIST_ROUTE, "truncated")
    with pytest.raises(SourceError, match="malformed JSON"):
        ingest_national_portal(_window(ALL))
    assert _state(session) == before
    health = session.get(SourceHealth, PORTAL_SOURCE)
    assert (health.consecutive_failures, health.last_success_for, health.last_failure_for) == snapshot == (
        1, EARLY, date(2026, 10, 2))
