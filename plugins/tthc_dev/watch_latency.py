"""How soon a new ministry decision is noticed: the production topology (``tthc_dev.prodlocal``) with the
portal watcher polling every ``poll_seconds``; the sandbox publishes a decision at *t*; nobody triggers
anything. Measured: seconds from *t* to the poll that saw it, to the ``tthc_ingest`` run the watcher
started, to the decision's flags and to its draft being stored (the catalogue database, read every
half second), and the list requests spent while nothing was new.

Used by ``make bench`` (``detect_latency``) and by ``tests/e2e/test_watch_prod.py``.

Before *t*, the catalogue is as a nightly run leaves it (the portal's watermark at the newest decision
listed), so the watcher has nothing to say until the publication; *t* is taken right after an idle
poll, the worst case (the next poll is a whole interval away).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from tthc_dev import prodlocal

LIST_KEY = "POST /jsp/rest.jsp:decision_publishment_advanced_search_service_v2"
WATCHED_AGENCY = "Bộ Khoa học và Công nghệ"


def start(root: Path, poll_seconds: int = 60, *, name: str = "watch", redis_db: int = 9,
          pg_server_url: str | None = None) -> prodlocal.Topology:
    """The topology with every DAG paused, the watcher at ``poll_seconds``, DAG files parsed every 5 s (an
    unpaused DAG's watcher starts within seconds)."""
    return prodlocal.up(root, paused=True, pg_server_url=pg_server_url, name=name, redis_db=redis_db,
                        extra_env={"TTHC_WATCH_POLL_SECONDS": str(poll_seconds),
                                   "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "5",
                                   "TTHC_RETRY_DELAY_SECONDS": "5"})


class _Api:
    def __init__(self, topo: prodlocal.Topology) -> None:
        self.base = topo.api_url + "/api/v2"
        self.headers = {"Authorization": f"Bearer {prodlocal.api_token(topo)}"}

    def get(self, path: str, **params: Any) -> Any:
        r = requests.get(self.base + path, headers=self.headers, params=params, timeout=15)
        r.raise_for_status()
        return r.json()

    def patch(self, path: str, body: dict) -> Any:
        r = requests.patch(self.base + path, headers=self.headers, json=body, timeout=15)
        r.raise_for_status()
        return r.json()


def _wait(what: str, check, timeout: float, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def _list_requests(topo: prodlocal.Topology) -> int:
    stats = requests.get(topo.sandbox_url + "/_sandbox/stats", timeout=5).json()["requests"]
    return int(stats.get(LIST_KEY, 0))


def _settle_watermark(topo: prodlocal.Topology) -> str:
    """The sources' watermarks as a nightly run of today leaves them: the portal's at the newest watched
    decision listed; the ministry site's at yesterday (its newest row is older: nothing to re-read), the
    day the decision published today is signed (the site's annex gives its procedure's level)."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session
    from tthc.ingest.sources.national_portal.client import HttpPortalClient
    from tthc.ingest.store import set_watermark

    client = HttpPortalClient(topo.sandbox_url)
    newest = None
    for page in range(1, 41):  # other agencies' rows (the provinces') may fill the first pages
        rows = client.list_decisions(page)
        newest = max((r for r in rows if r.agency_name == WATCHED_AGENCY), key=lambda r: r.position, default=None)
        if newest is not None or not rows:
            break
    if newest is None:
        raise RuntimeError(f"no decision of {WATCHED_AGENCY} on the sandbox's list")
    value = f"{newest.published.isoformat()}|{newest.id}"
    engine = create_engine(topo.catalogue_url)
    from tthc.core.window import VN_TZ
    from tthc.ingest.sources.html_listing.index import site_entries

    yesterday = datetime.now(VN_TZ).date() - timedelta(days=1)
    with Session(engine) as s:
        set_watermark(s, "national_portal", value, newest.published)
        for site in (x for x in site_entries() if x.enabled):
            set_watermark(s, site.name, yesterday.isoformat(), yesterday)
        s.commit()
    engine.dispose()
    return value


def _stored(topo: prodlocal.Topology, so_hieu: str) -> tuple[int, bool]:
    """(flags of the decision, whether a draft holding them is stored with its files)."""
    from sqlalchemy import create_engine, func, select
    from sqlalchemy.orm import Session
    from tthc.db.models import Announcement, Decision, DraftFile, Flag

    engine = create_engine(topo.catalogue_url)
    try:
        with Session(engine) as s:
            flags = list(s.scalars(select(Flag).join(Decision, Flag.decision_id == Decision.id)
                                   .where(Decision.so_hieu == so_hieu)))
            ann_ids = {f.announcement_id for f in flags if f.announcement_id}
            draft = bool(ann_ids) and bool(s.scalar(
                select(func.count()).select_from(DraftFile).join(Announcement)
                .where(Announcement.id.in_(ann_ids), Announcement.status == "draft")))
            return len(flags), draft
    finally:
        engine.dispose()


def _idle(api: _Api) -> bool:
    """No tthc_ingest or tthc_compare run queued or running, and the nightly run the unpausing started
    (catchup is off: the latest interval only) is done."""
    ingest = api.get("/dags/tthc_ingest/dagRuns")["dag_runs"]
    compare = api.get("/dags/tthc_compare/dagRuns")["dag_runs"]
    return bool(ingest) and all(r["state"] in ("success", "failed") for r in ingest + compare) \
        and len(compare) >= len(ingest)


def measure(topo: prodlocal.Topology, poll_seconds: int, *, idle_polls: int = 1, timeout: float = 240
            ) -> dict[str, Any]:
    """Unpause ``tthc_ingest`` and ``tthc_compare``; once the nightly run the unpausing starts is done,
    wait for ``idle_polls`` quiet polls of the watcher, publish, and time what follows (see the module
    docstring). Raises TimeoutError if a stage never comes."""
    from tthc.core.window import VN_TZ

    api = _Api(topo)
    _wait("the DAGs to be parsed", lambda: _exists(api, "tthc_ingest") and _exists(api, "tthc_compare"), 120)
    mark = _settle_watermark(topo)
    for dag_id in ("tthc_compare", "tthc_ingest"):
        api.patch(f"/dags/{dag_id}", {"is_paused": False})
    _wait("the nightly run started by unpausing", lambda: _idle(api), timeout, every=1.0)
    runs_before = api.get("/dags/tthc_ingest/dagRuns")["total_entries"]
    quiet_from, first = time.monotonic(), _list_requests(topo)
    # from here on nothing but the watcher reads the list: each request is one poll
    _wait(f"{idle_polls} idle poll(s)", lambda: _list_requests(topo) >= first + idle_polls, timeout)
    idle_requests = _list_requests(topo) - first
    idle_seconds = time.monotonic() - quiet_from
    if not _idle(api) or api.get("/dags/tthc_ingest/dagRuns")["total_entries"] != runs_before:
        raise AssertionError("the watcher started a run while nothing was new")

    today = datetime.now(VN_TZ).date()  # the portal dates a publication by its day
    t = time.monotonic()
    signed = today - timedelta(days=1)
    published = requests.post(topo.sandbox_url + "/_sandbox/publish", timeout=10,
                              json={"published": today.isoformat(), "signed": signed.isoformat()}).json()
    new_id, so_hieu = published["ids"][0], published["so_hieu"][0]
    before = first + idle_requests
    detected = _wait("the poll that sees it", lambda: _list_requests(topo) > before and time.monotonic(), timeout)
    run = _wait("the tthc_ingest run the watcher starts", lambda: next(
        (r for r in api.get("/dags/tthc_ingest/dagRuns", order_by="-run_after")["dag_runs"]
         if r["run_type"] == "asset_triggered"), None), timeout)
    run_seen = time.monotonic()
    flags_at = _wait("the flags", lambda: _stored(topo, so_hieu)[0] and time.monotonic(), timeout)
    draft_at = _wait("the draft", lambda: _stored(topo, so_hieu)[1] and time.monotonic(), timeout)
    runs = api.get("/dags/tthc_ingest/dagRuns", order_by="-run_after")["dag_runs"]
    return {
        "poll_seconds": poll_seconds,
        "watermark_before": mark,
        "published": {"id": new_id, "so_hieu": so_hieu, "date": today.isoformat()},
        "idle_polls": idle_polls,
        "idle_seconds": round(idle_seconds, 1),
        "idle_requests": idle_requests,
        "seconds_to_detected": round(detected - t, 1),
        "seconds_to_ingest_run": round(run_seen - t, 1),
        "seconds_to_flags": round(flags_at - t, 1),
        "seconds_to_draft": round(draft_at - t, 1),
        "flags": _stored(topo, so_hieu)[0],
        "ingest_runs": [{"run_type": r["run_type"], "state": r["state"]} for r in runs],
        "ingest_run": run["dag_run_id"],
    }


def _exists(api: _Api, dag_id: str) -> bool:
    try:
        api.get(f"/dags/{dag_id}")
        return True
    except requests.HTTPError:
        return False
