"""Noticed within the hour, in the production topology (``tthc_dev.prodlocal``: PostgreSQL, Redis,
api-server, scheduler, dag-processor, triggerer, two Celery workers) with the portal watcher polling
every 60 s: the sandbox publishes a ministry decision and, without any manual trigger, the triggerer's
watcher starts ``tthc_ingest``, whose Asset starts ``tthc_compare``: the decision's flags and a draft are
stored. The only other ``tthc_ingest`` run is the nightly one that unpausing the DAG starts.

The measuring is shared with ``make bench`` (``tthc_dev.watch_latency``); figures in docs/benchmarks.md.
"""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.prod, pytest.mark.timeout(420)]

POLL_SECONDS = 60


def test_a_publication_reaches_a_stored_draft_without_a_trigger(tmp_path, pg_server_url):
    import shutil
    import socket

    from tthc_dev import prodlocal, watch_latency

    with socket.socket() as sock:
        redis_up = sock.connect_ex(("127.0.0.1", 6379)) == 0
    if not redis_up and not shutil.which("redis-server"):
        pytest.skip("needs Redis (the Celery broker): install redis-server or run one on 127.0.0.1:6379")
    root = tmp_path / "prod-local"
    topo = watch_latency.start(root, POLL_SECONDS, pg_server_url=pg_server_url, name="watch_e2e", redis_db=9)
    _, pids = prodlocal.load(root)
    try:
        figures = watch_latency.measure(topo, POLL_SECONDS, idle_polls=0, timeout=200)
    finally:
        stopped = prodlocal.down(root)
        assert sorted(stopped) == sorted(pids)
    print(figures)
    assert figures["flags"] >= 1
    # detected at the next poll: within one interval (plus the scheduler's and workers' own seconds)
    assert figures["seconds_to_detected"] <= POLL_SECONDS + 15
    assert figures["seconds_to_flags"] <= figures["seconds_to_draft"]
    kinds = sorted(r["run_type"] for r in figures["ingest_runs"])
    assert kinds == ["asset_triggered", "scheduled"], figures["ingest_runs"]  # no manual run, one event
    assert all(r["state"] == "success" for r in figures["ingest_runs"])
