"""``make bench``: measured figures, one JSON object per line (no timing assertions live in tests).

- ``dag_parse``: seconds to parse each DAG file in a fresh interpreter (after ``import airflow.sdk``).
- ``ingest_nightly_nothing_new``: HTTP requests per source in a run that finds nothing new.
- ``ingest_first_run``: requests and seconds for the first ingest of the demo timeline.
- ``detect_latency``: in the production topology (``make prod-local``'s, own databases) with the portal
  watcher polling every 60 s, the sandbox publishes a decision at t: seconds from t to the poll that saw
  it, to the flags and to the draft being stored, and the requests spent while nothing was new
  (``tthc_dev.watch_latency``). Needs PostgreSQL and Redis; ``python -m tthc_dev.bench detect_latency``
  runs it alone.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

from tthc.core.config import SETTINGS_DIR, project_root
from tthc.core.window import VN_TZ

from tthc_dev.sandbox import DATA_DIR


def emit(**record: object) -> None:
    print(json.dumps(record, ensure_ascii=False), flush=True)


def bench_dag_parse() -> None:
    for path in sorted((project_root() / "dags").glob("*.py")):
        code = ("import time, runpy, airflow.sdk\nt=time.perf_counter()\n"
                f"runpy.run_path({str(path)!r})\nprint('RESULT', time.perf_counter()-t)")
        runs = []
        for _ in range(3):
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            runs.append(float([ln for ln in out.stdout.splitlines() if ln.startswith("RESULT")][-1].split()[1]))
        emit(bench="dag_parse", file=path.name, seconds_min=round(min(runs), 4), seconds_max=round(max(runs), 4))


def _ingest_runs(synthetic: int, labels: tuple[str, ...]) -> None:
    """Ingest the sandbox timeline (plus ``synthetic`` generated decisions) once per label, from an
    empty catalogue; every run after the first must find nothing new."""
    from tthc.catalogue.io import import_catalogue, seed_fields
    from tthc.core.config import load_department
    from tthc.core.http import SnapshotRecorder
    from tthc.db.session import migrate, session_scope
    from tthc.ingest.http_cache import source_session
    from tthc.ingest.runs import ingest_html_site, ingest_portal
    from tthc.ingest.sources.html_listing import load_all
    from tthc.ingest.sources.html_listing.client import HtmlListingClient
    from tthc.ingest.sources.national_portal.client import HttpPortalClient

    from tthc_dev.sandbox.app import Sandbox

    data = DATA_DIR
    dept = replace(load_department(), ingest_start=date(2026, 1, 1))
    run_time = datetime(2026, 11, 26, 1, tzinfo=VN_TZ)
    site = load_all()["bo_khcn_sandbox"]
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate(url)
        with session_scope(url) as s:
            seed_fields(s, SETTINGS_DIR / "fields.yaml")
            import_catalogue(s, data / "province_catalogue.csv")
        with Sandbox(data_dir=data, state_dir=Path(tmp) / "sb", synthetic=synthetic) as sb:
            for label in labels:
                per_source = {}
                t = time.perf_counter()
                before = sum(sb.stats().values())
                for name in ("national_portal", site.name):
                    rec = SnapshotRecorder(fetched_at=run_time)
                    with session_scope(url) as s:
                        http = source_session(s)
                        if name == "national_portal":
                            client = HttpPortalClient(sb.url, session=http, recorder=rec)
                            result = ingest_portal(s, client, rec, dept, window_end=date(2026, 11, 26),
                                                   run_time=run_time)
                        else:
                            client = HtmlListingClient(site, base_url=sb.url, session=http, recorder=rec)
                            result = ingest_html_site(s, client, rec, dept, window_end=date(2026, 11, 26),
                                                      run_time=run_time)
                    per_source[name] = {"requests": result.requests, "new_decisions": result.decisions_new,
                                        "items": result.items}
                emit(bench=label, synthetic_decisions=synthetic, seconds=round(time.perf_counter() - t, 3),
                     http_requests_total=sum(sb.stats().values()) - before, sources=per_source)


def bench_ingest() -> None:
    _ingest_runs(0, ("ingest_first_run", "ingest_nightly_nothing_new"))
    # 500 extra decisions: the floor is list pages + 5 calls per watched decision on the portal
    # (page, fields, 3 item groups) and listing pages + 1 detail page per decision on the site
    _ingest_runs(500, ("ingest_backfill", "ingest_backfill_second_run"))


def bench_match() -> None:
    from tthc_dev.match_eval import bench_match_national, default_reference_dir, evaluate

    reference = default_reference_dir()
    if not reference.exists():
        emit(bench="match_quality", skipped=f"no reference material at {reference}")
        return
    quality = evaluate(reference)
    emit(bench="match_quality", **{k: v for k, v in quality.items() if isinstance(v, (int, float, str))})
    national = bench_match_national(reference)
    national.pop("bench", None)
    emit(bench="compare_national", **national)


def bench_detect_latency(poll_seconds: int = 60, idle_polls: int = 2) -> None:
    """See the module docstring; the topology is started and stopped here (databases ``*_bench_watch``)."""
    import shutil
    import socket

    from tthc_dev import prodlocal, watch_latency

    with socket.socket() as sock:
        redis_up = sock.connect_ex(("127.0.0.1", 6379)) == 0
    if not redis_up and not shutil.which("redis-server"):
        emit(bench="detect_latency", skipped="needs Redis (the Celery broker)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "prod-local"
        topo = watch_latency.start(root, poll_seconds, name="bench_watch", redis_db=10)
        try:
            figures = watch_latency.measure(topo, poll_seconds, idle_polls=idle_polls, timeout=300)
        finally:
            prodlocal.down(root)
    emit(bench="detect_latency", **figures)


def main() -> None:
    import os

    os.environ.setdefault("TTHC_MIN_REQUEST_INTERVAL", "0")  # the sandbox is local
    if sys.argv[1:] == ["detect_latency"]:
        bench_detect_latency()
        return
    bench_dag_parse()
    bench_ingest()
    bench_match()
    bench_detect_latency()


if __name__ == "__main__":
    main()
