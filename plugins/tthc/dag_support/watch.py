"""The national portal watcher: an event trigger that runs in Airflow's triggerer and starts
``tthc_ingest`` within one poll interval of a new ministry decision (light: the DAG file imports it).

    PortalWatchTrigger ──(triggerer, every poll_seconds)──▶ Asset tthc://national-portal/decisions
        ──▶ tthc_ingest (also nightly at 01:00, the safety net) ──▶ tthc_compare ──▶ ...

Each poll is one request per watched ministry (one here: the first page of the decision list filtered
on the ministry, see :mod:`tthc.ingest.watch`): at the
default 30 minutes, at most 48 a day. An event is fired only when that page shows a decision of a
watched agency newer than the stored watermark and not stored yet; its payload carries the poll's time,
from which the ingest run takes its window (:func:`tthc.core.window.watch_window`).

The trigger is serialisable (class path + ``poll_seconds``, ``conn_id``, ``page_size``); its state is
the catalogue database, so it is safe across triggerer restarts. A poll that fails (portal or database
down) is logged and tried again at the next poll; it never ends the trigger.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

# TTHC_WATCH_POLL_SECONDS: seconds between two polls (read when the DAG file is parsed; the trigger's
# kwargs carry it); 0 turns the watcher off (tthc_ingest runs nightly only).
DEFAULT_POLL_SECONDS = 1800
MIN_POLL_SECONDS = 30
CLASSPATH = "tthc.dag_support.watch.PortalWatchTrigger"


def poll_seconds_setting() -> int:
    """The poll interval from ``TTHC_WATCH_POLL_SECONDS`` (default 1800 = 30 min; 0 = no watcher);
    anything between 0 and 30 s is raised to 30 s (be polite to a government server)."""
    raw = os.environ.get("TTHC_WATCH_POLL_SECONDS", "").strip()
    value = int(raw) if raw else DEFAULT_POLL_SECONDS
    return 0 if value <= 0 else max(value, MIN_POLL_SECONDS)


def _now() -> datetime:
    return datetime.now(UTC)


class PortalWatchTrigger(BaseEventTrigger):
    """Polls the national decision list; yields one event per poll that finds something new."""

    def __init__(self, poll_seconds: float = DEFAULT_POLL_SECONDS, conn_id: str = "tthc_portal",
                 page_size: int = 50, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.poll_seconds = float(poll_seconds)
        self.conn_id = conn_id
        self.page_size = int(page_size)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return CLASSPATH, {"poll_seconds": self.poll_seconds, "conn_id": self.conn_id, "page_size": self.page_size}

    def _watcher(self, base_url: str | None):
        from tthc.ingest.watch import Watcher  # sqlalchemy, requests, bs4: imported in a thread, not the loop

        return Watcher(conn_id=self.conn_id, page_size=self.page_size, base_url=base_url)

    async def _base_url(self) -> str | None:
        """The portal's address: ``AIRFLOW_CONN_<ID>`` (read by the watcher), else the Connection from
        Airflow's metadata, asked the triggerer's asynchronous way."""
        if os.environ.get(f"AIRFLOW_CONN_{self.conn_id.upper()}"):
            return None
        from airflow.sdk import BaseHook

        from tthc.core.config import endpoint_from_connection

        conn = await BaseHook.aget_connection(self.conn_id)
        return endpoint_from_connection(self.conn_id, conn).base_url

    async def run(self) -> AsyncIterator[TriggerEvent]:
        watcher = None
        while watcher is None:
            try:
                watcher = await asyncio.to_thread(self._watcher, await self._base_url())
            except Exception as exc:  # noqa: BLE001 - e.g. the Connection not created yet
                self.log.warning("national portal watcher: cannot start (%s); trying again", exc)
                await asyncio.sleep(self.poll_seconds)
        while True:
            try:
                payload = await asyncio.to_thread(watcher.poll, _now())
            except Exception as exc:  # noqa: BLE001 - a failed poll is retried at the next one
                self.log.warning("national portal watcher: poll %d failed: %s", watcher.polls, exc)
                payload = None
            if payload is not None:
                self.log.info("national portal watcher: new decisions %s",
                              ", ".join(d["so_hieu"] for d in payload["decisions"]))
                yield TriggerEvent(payload)
            await asyncio.sleep(self.poll_seconds)
