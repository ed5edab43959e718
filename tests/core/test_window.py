"""window: how every DAG resolves its run window."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

from tthc.core.window import VN_TZ, make_window, window_from_context


def test_data_interval_gives_as_of_in_vietnam_time():
    # 01:00 in Vietnam is 18:00 UTC the day before
    ctx = {"data_interval_start": datetime(2026, 11, 24, 18, tzinfo=UTC),
           "data_interval_end": datetime(2026, 11, 25, 18, tzinfo=UTC)}
    w = window_from_context(ctx)
    assert w.as_of == date(2026, 11, 26)
    assert w.end - w.start == timedelta(days=1)


def test_params_override_the_interval():
    ctx = {"params": {"window_start": "2026-11-01T01:00:00+07:00", "window_end": "2026-11-10T01:00:00+07:00"},
           "data_interval_start": datetime(2026, 11, 24, tzinfo=UTC),
           "data_interval_end": datetime(2026, 11, 25, tzinfo=UTC)}
    w = window_from_context(ctx)
    assert (w.start.date(), w.as_of) == (date(2026, 11, 1), date(2026, 11, 10))


def test_triggering_asset_event_carries_the_producer_window():
    events = {"tthc://catalogue/decisions": [
        SimpleNamespace(extra={"window_start": "2026-11-20T01:00:00+07:00", "window_end": "2026-11-21T01:00:00+07:00"}),
        SimpleNamespace(extra={"window_start": "2026-11-21T01:00:00+07:00", "window_end": "2026-11-22T01:00:00+07:00"}),
    ]}
    same = datetime(2026, 11, 30, tzinfo=UTC)
    w = window_from_context({"triggering_asset_events": events, "data_interval_start": same,
                             "data_interval_end": same})
    assert w.as_of == date(2026, 11, 22)


def test_empty_interval_means_the_day_before():
    end = datetime(2026, 11, 26, 1, tzinfo=VN_TZ)
    w = make_window(end, end)
    assert w.start == end - timedelta(days=1)
    assert w.to_dict()["window_end"] == end.isoformat()
