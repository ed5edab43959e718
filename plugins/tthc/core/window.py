"""A run's window (its data interval), resolved the same way in every DAG. Stdlib only: DAG files import it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass(frozen=True)
class RunWindow:
    """``as_of`` (the run date in Vietnam) ends the window; publications on that date belong to the next run.

    ``intraday``: a run the portal watcher started during the day (:func:`watch_window`). It also reads
    what was published on ``as_of`` itself (``publication_end``), but that day is not over: what it read
    of it never moves a watermark (``settled_before``), so the nightly run still reads the whole day.
    """

    start: datetime
    end: datetime
    intraday: bool = False

    @property
    def as_of(self) -> date:
        return self.end.astimezone(VN_TZ).date()

    @property
    def first_day(self) -> date:
        """The first publication date the window covers (its start, in Vietnam)."""
        return self.start.astimezone(VN_TZ).date()

    @property
    def publication_end(self) -> date:
        """The first publication date the run does not read (exclusive)."""
        return self.as_of + timedelta(days=1) if self.intraday else self.as_of

    @property
    def settled_before(self) -> date:
        """Publications dated before this day are final: only they may move a watermark."""
        return self.as_of

    def to_dict(self) -> dict[str, str]:
        return {"window_start": self.start.isoformat(), "window_end": self.end.isoformat()}


def _dt(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=VN_TZ)
    return datetime.fromtimestamp(value.timestamp(), tz=value.tzinfo)


def nightly_window(as_of: date) -> RunWindow:
    """The window of the nightly run dated ``as_of``: 01:00 the day before to 01:00 that day, Vietnam time."""
    end = datetime.combine(as_of, time(1, 0), tzinfo=VN_TZ)
    return RunWindow(end - timedelta(days=1), end)


def make_window(start: Any, end: Any) -> RunWindow:
    """A window from interval bounds; an empty interval (manual or asset-triggered run) means the day
    before ``end``."""
    s, e = _dt(start), _dt(end)
    if s >= e:
        s = e - timedelta(days=1)
    return RunWindow(s, e)


def watch_window(detected_at: Any) -> RunWindow:
    """The window of a run the portal watcher started: the day up to the poll that saw the new decision
    (``detected_at``, carried on the trigger's event), reading that day's publications too."""
    end = _dt(detected_at)
    return RunWindow(end - timedelta(days=1), end, intraday=True)


def _watch_payload(extra: Any) -> dict[str, Any] | None:
    """The payload of an Asset event fired by the portal watcher (``tthc.dag_support.watch``), if it is one."""
    if not isinstance(extra, dict) or not extra.get("from_trigger"):
        return None
    payload = extra.get("payload")
    return payload if isinstance(payload, dict) and payload.get("detected_at") else None


def window_from_context(context: Any) -> RunWindow:
    """Resolve the window: DAG params first (operators backfilling by hand), then the window the producer
    put on the triggering Asset event, then the portal watcher's event (:func:`watch_window` of its
    latest poll), then this run's own data interval (an Asset-triggered run has none: its ``run_after``)."""
    params = context.get("params") or {}
    if params.get("window_end"):
        return make_window(params.get("window_start") or params["window_end"], params["window_end"])
    events = context.get("triggering_asset_events") or {}
    latest = None
    for asset_events in events.values():
        for event in asset_events:
            extra = getattr(event, "extra", None) or {}
            if extra.get("window_end") and (latest is None or extra["window_end"] > latest["window_end"]):
                latest = extra
    if latest is not None:
        return make_window(latest["window_start"], latest["window_end"])
    detected = [p["detected_at"] for asset_events in events.values() for event in asset_events
                if (p := _watch_payload(getattr(event, "extra", None)))]
    if detected:
        return watch_window(max(detected, key=lambda d: _dt(d)))
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    if end is None:
        run_after = getattr(context.get("dag_run"), "run_after", None)
        if run_after is None:
            raise ValueError("the run has no data interval, no window param and no window on its Asset events")
        return make_window(run_after, run_after)
    return make_window(start if start is not None else end, end)
