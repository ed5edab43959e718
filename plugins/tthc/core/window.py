"""A run's window (its data interval), resolved the same way in every DAG. Stdlib only: DAG files import it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass(frozen=True)
class RunWindow:
    """``as_of`` (the run date in Vietnam) ends the window; publications on that date belong to the next run."""

    start: datetime
    end: datetime

    @property
    def as_of(self) -> date:
        return self.end.astimezone(VN_TZ).date()

    @property
    def first_day(self) -> date:
        """The first publication date the window covers (its start, in Vietnam)."""
        return self.start.astimezone(VN_TZ).date()

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


def window_from_context(context: Any) -> RunWindow:
    """Resolve the window: DAG params first (operators backfilling by hand), then the window the producer
    put on the triggering Asset event, then this run's own data interval."""
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
    return make_window(context["data_interval_start"], context["data_interval_end"])
