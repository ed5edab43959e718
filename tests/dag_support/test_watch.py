"""The national portal watcher (``tthc.dag_support.watch``): its async generator run against the sandbox.

No event while nothing is new, one when the ministry publishes, none for an agency the department does
not watch; what it compares with is in the catalogue database, so a restarted trigger agrees; one
request per poll, never a conditional one (the portal answers none).
"""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime

import pytest
import requests
from tthc.core.window import VN_TZ

LIST_KEY = "POST /jsp/rest.jsp:decision_publishment_advanced_search_service_v2"
DAY = date(2026, 12, 1)  # the day of the publications (after every decision of the demo data)
POLL = 0.05


@pytest.fixture
def watched(seeded, sandbox, monkeypatch):
    """The catalogue as after the nightly run of 01/12/2026: the portal's watermark at its newest decision."""
    from tthc.ingest.sources.national_portal.client import HttpPortalClient
    from tthc.ingest.store import set_watermark

    monkeypatch.setenv("AIRFLOW_CONN_TTHC_PORTAL", sandbox.url)
    client = HttpPortalClient(sandbox.url)
    rows = [r for page in range(1, 11) for r in client.list_decisions(page)]  # past other agencies' rows
    newest = max((r for r in rows if r.agency_name == "Bộ Khoa học và Công nghệ"), key=lambda r: r.position)
    set_watermark(seeded, "national_portal", f"{newest.published.isoformat()}|{newest.id}", DAY)
    seeded.commit()
    sandbox.reset()  # the request counters
    return seeded


def trigger(poll: float = POLL):
    from tthc.dag_support.watch import PortalWatchTrigger

    return PortalWatchTrigger(poll_seconds=poll)


def next_event(trig, within: float):
    """The trigger's next event within ``within`` seconds, or None (the generator is then closed)."""

    async def go():
        agen = trig.run()
        try:
            return await asyncio.wait_for(agen.__anext__(), within)
        except TimeoutError:
            return None
        finally:
            await agen.aclose()

    return asyncio.run(go())


def events_of(trig, within: float) -> list:
    """Every event the trigger fires in ``within`` seconds."""

    async def go():
        agen, out = trig.run(), []
        loop = asyncio.get_running_loop()
        end = loop.time() + within
        try:
            while (left := end - loop.time()) > 0:
                try:
                    out.append(await asyncio.wait_for(agen.__anext__(), left))
                except TimeoutError:
                    break
        finally:
            await agen.aclose()
        return out

    return asyncio.run(go())


def test_nothing_new_no_event_one_request_per_poll(watched, sandbox):
    assert next_event(trigger(), 0.6) is None
    stats = sandbox.stats()
    polls = stats.get(LIST_KEY, 0)
    assert polls >= 3  # it did poll, every POLL seconds
    # one request per poll; robots.txt and the agency list once per trigger start; nothing else
    once = {"GET /robots.txt": 1, "POST /jsp/rest.jsp:get_list_agency_service_v2": 1}
    assert {k: v for k, v in stats.items() if k != LIST_KEY} == once


def test_a_ministry_publication_fires_one_event(watched, sandbox):
    [new_id] = sandbox.publish_decisions(1, published=DAY)
    before = datetime.now(VN_TZ)
    events = events_of(trigger(), 1.0)
    assert len(events) == 1, [e.payload for e in events]  # announced once, not on every poll
    payload = events[0].payload
    json.dumps(payload)  # what the triggerer stores on the Asset event must be JSON
    assert [d["id"] for d in payload["decisions"]] == [new_id]
    assert payload["decisions"][0]["published"] == DAY.isoformat()
    assert payload["decisions"][0]["agency"] == "Bộ Khoa học và Công nghệ"
    assert datetime.fromisoformat(payload["detected_at"]) >= before  # the poll's time, after the publication
    assert sandbox.stats()[LIST_KEY] >= 2


def test_an_unwatched_agency_fires_nothing(watched, sandbox):
    sandbox.publish_decisions(2, published=DAY, agency="Bộ Tài chính")
    assert next_event(trigger(), 0.5) is None
    assert sandbox.stats()[LIST_KEY] >= 2


def test_restart_safe_and_quiet_once_ingested(watched, sandbox):
    """A restarted trigger announces what is still not stored (one idempotent ingest); once the watch run
    stored it, nothing more, and the watermark stays out of the day that is not over."""
    from tthc.core.window import watch_window
    from tthc.ingest import tasks
    from tthc.ingest.store import get_watermark

    mark = get_watermark(watched, "national_portal")
    [new_id] = sandbox.publish_decisions(1, published=DAY)
    first = next_event(trigger(), 2.0)
    assert first is not None
    again = next_event(trigger(), 2.0)  # the triggerer restarted before the ingest ran
    assert again is not None and again.payload["decisions"] == first.payload["decisions"]

    # the run the event starts; its window ends at the poll (here 10:00 on the publication day: the
    # trigger's own poll time is the wall clock, which the sandbox's fixed dates do not follow)
    window = watch_window(datetime(2026, 12, 1, 10, tzinfo=VN_TZ))
    assert window.intraday and window.publication_end > DAY == window.as_of
    summary = tasks.ingest_national_portal(window)
    assert summary["decisions_new"] == 1 and summary["incomplete_reason"] is None
    watched.expire_all()
    assert get_watermark(watched, "national_portal") == mark  # 01/12 is not over: the nightly run moves it
    assert next_event(trigger(), 0.5) is None  # stored: nothing to announce, restart or not

    # the next nightly run reads the day again, skips what the watcher stored, then moves the watermark
    from tthc.core.window import nightly_window

    sandbox.reset()
    sandbox.publish_decisions(1, published=DAY)  # reset forgot it: the portal lists it again, same id
    nightly = tasks.ingest_national_portal(nightly_window(date(2026, 12, 2)))
    assert nightly["decisions_new"] == 0 and nightly["requests"] == 1
    watched.expire_all()
    assert get_watermark(watched, "national_portal") == f"{DAY.isoformat()}|{new_id}"


def test_a_failing_portal_is_polled_again(watched, sandbox):
    sandbox.add_fault(LIST_KEY, "http_500", times=1)
    [new_id] = sandbox.publish_decisions(1, published=DAY)
    event = next_event(trigger(), 1.5)
    assert event is not None and event.payload["decisions"][0]["id"] == new_id


def test_the_portal_list_ignores_conditional_requests(sandbox):
    """As the real rest.jsp: no validator, a conditional POST gets the whole page again."""
    from tthc.ingest.sources.national_portal import settings

    body = {"params": json.dumps({"service": settings.SERVICE_LIST, "provider": "dvcquocgia", "type": "ref",
                                  "recordPerPage": 50, "pageIndex": 1})}
    first = requests.post(sandbox.url + settings.REST_PATH, data=body, timeout=10)
    assert first.status_code == 200 and "ETag" not in first.headers and "Last-Modified" not in first.headers
    again = requests.post(sandbox.url + settings.REST_PATH, data=body, timeout=10,
                          headers={"If-None-Match": '"x"', "If-Modified-Since": "Tue, 01 Dec 2026 00:00:00 GMT"})
    assert again.status_code == 200 and again.content == first.content


def test_serialises_and_round_trips():
    from airflow.triggers.base import BaseEventTrigger
    from tthc.dag_support.watch import PortalWatchTrigger

    classpath, kwargs = trigger(60).serialize()
    module, _, name = classpath.rpartition(".")
    cls = getattr(__import__(module, fromlist=[name]), name)
    assert cls is PortalWatchTrigger and issubclass(cls, BaseEventTrigger)
    assert cls(**kwargs).serialize() == (classpath, kwargs)
    assert BaseEventTrigger.hash(classpath, kwargs) == BaseEventTrigger.hash(*cls(**kwargs).serialize())


@pytest.mark.parametrize(("raw", "seconds"), [("", 1800), ("60", 60), ("5", 30), ("0", 0)])
def test_poll_interval_setting(monkeypatch, raw, seconds):
    from tthc.dag_support.assets import portal_decisions
    from tthc.dag_support.watch import poll_seconds_setting

    monkeypatch.setenv("TTHC_WATCH_POLL_SECONDS", raw)
    assert poll_seconds_setting() == seconds
    asset = portal_decisions()
    if seconds == 0:
        assert asset is None
    else:
        assert asset.watchers[0].trigger.poll_seconds == seconds


def test_window_of_a_watch_run():
    from types import SimpleNamespace

    from tthc.core.window import window_from_context

    extra = {"from_trigger": True, "payload": {"detected_at": "2026-12-01T03:30:00+00:00", "decisions": []}}
    w = window_from_context({"triggering_asset_events": {"a": [SimpleNamespace(extra=extra)]},
                             "data_interval_start": None, "data_interval_end": None})
    assert w.intraday and w.end == datetime(2026, 12, 1, 10, 30, tzinfo=VN_TZ)
    assert (w.as_of, w.publication_end, w.settled_before) == (DAY, date(2026, 12, 2), DAY)
    assert "intraday" not in w.to_dict()  # downstream DAGs get an ordinary window ending at the poll


def test_the_connection_from_airflow_metadata(watched, sandbox, monkeypatch):
    """Without AIRFLOW_CONN_TTHC_PORTAL the trigger asks Airflow for the Connection, the async way."""
    from airflow.sdk import BaseHook, Connection

    monkeypatch.delenv("AIRFLOW_CONN_TTHC_PORTAL")
    asked = []

    async def aget_connection(conn_id):
        asked.append(conn_id)
        return Connection(conn_id=conn_id, conn_type="http", host="127.0.0.1", port=sandbox.port)

    monkeypatch.setattr(BaseHook, "aget_connection", aget_connection)
    [new_id] = sandbox.publish_decisions(1, published=DAY)
    event = next_event(trigger(), 2.0)
    assert asked == ["tthc_portal"]
    assert event is not None and event.payload["decisions"][0]["id"] == new_id


def test_a_later_publication_with_a_lower_id_the_same_day(watched, sandbox):
    """The portal orders a day's rows by number, not id (the captured page: 2193/QĐ-UBND. id 115187 above
    2991/QĐ-UBND id 115178): a decision published after the watcher's run may carry a lower id. The watch
    run left the watermark before the day, so the watcher and the next run still see it."""
    from dataclasses import replace

    from tthc.core.window import watch_window
    from tthc.ingest import tasks

    [a_id] = sandbox.publish_decisions(1, published=DAY)
    first = tasks.ingest_national_portal(watch_window(datetime(2026, 12, 1, 10, tzinfo=VN_TZ)))
    assert first["decisions_new"] == 1
    a = sandbox.catalogue.by_id[a_id]
    lower = next(str(n) for n in range(int(a_id) - 1, 0, -1) if str(n) not in sandbox.catalogue.by_id)
    b = replace(a, portal_id=lower, so_hieu="3300/QĐ-BKHCN", attachment=a.attachment + "b")
    with sandbox._lock:
        sandbox.catalogue.insert([b])
    event = next_event(trigger(), 2.0)
    assert event is not None and [d["id"] for d in event.payload["decisions"]] == [lower]
    later = tasks.ingest_national_portal(watch_window(datetime(2026, 12, 1, 15, tzinfo=VN_TZ)))
    assert later["decisions_new"] == 1 and later["so_hieu"] == ["3300/QĐ-BKHCN"]


def test_polls_the_watched_ministry_only_or_the_whole_page(dept):
    """One request per watched ministry, filtered on its agency id; a name the agency list lacks: the
    unfiltered first page."""
    from dataclasses import replace

    from tthc.ingest.watch import FILTERED_PAGE_SIZE, Watcher

    class Client:
        def __init__(self):
            self.calls = []

        def agencies(self):
            self.calls.append("agencies")
            return [("734", "Bộ Khoa học  và  Công nghệ"), ("1301", "Bộ Tài chính")]

        def list_decisions(self, page, page_size=None, agency_id="-1"):
            self.calls.append((page, page_size, agency_id))
            return []

    client = Client()
    watcher = Watcher(client=client)
    assert watcher._rows(client, dept) == [] and watcher._rows(client, dept) == []
    assert client.calls == ["agencies", (1, FILTERED_PAGE_SIZE, "734"), (1, FILTERED_PAGE_SIZE, "734")]
    other = replace(dept, ministries=["Bộ Khoa học và Công nghệ", "Bộ Không Có"])
    client2 = Client()
    Watcher(client=client2, page_size=50)._rows(client2, other)
    assert client2.calls == ["agencies", (1, 50, "-1")]


def test_the_agency_filter_uses_the_ids_of_the_real_lists(reference):
    """The captured agency list and decision list give a ministry the same id (what the filter relies on)."""
    from tthc.ingest.sources.national_portal.helpers import parse_agencies, parse_decision_list

    base = reference / "national-portal" / "decisions"
    agencies = {name: aid for aid, name in
                parse_agencies(json.loads((base / "get_list_agency_service_v2.json").read_text(encoding="utf-8")))}
    rows = parse_decision_list(json.loads(
        (base / "decision_publishment_advanced_search_service_v2.json").read_text(encoding="utf-8")))
    ministry_rows = [r for r in rows if r.agency_name.startswith("Bộ ")]
    assert ministry_rows
    for row in ministry_rows:
        assert agencies[row.agency_name] == row.agency_id, row.so_hieu
