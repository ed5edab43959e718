"""``make bench``: measured figures, one JSON object per line (no timing assertions live in tests).

- ``dag_parse``: seconds to parse each DAG file in a fresh interpreter (after ``import airflow.sdk``).
- ``ingest_nightly_nothing_new``: HTTP requests per source in a run that finds nothing new.
- ``ingest_first_run``: requests and seconds for the first ingest of the demo timeline.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

from tthc.config import PACKAGE_DIR, project_root
from tthc.window import VN_TZ


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


def bench_ingest() -> None:
    from tthc.catalogue import import_catalogue, seed_fields
    from tthc.config import load_department
    from tthc.db.session import migrate, session_scope
    from tthc.ingest import ingest_ministry_site, ingest_portal
    from tthc.sandbox.server import Sandbox
    from tthc.sources.ministry_site.client import MinistrySiteClient
    from tthc.sources.national_portal.client import HttpPortalClient
    from tthc.sources.web import SnapshotRecorder

    data = PACKAGE_DIR / "sandbox" / "data"
    dept = load_department()
    run_time = datetime(2026, 11, 26, 1, tzinfo=VN_TZ)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate(url)
        with session_scope(url) as s:
            seed_fields(s, data / "fields.yaml")
            import_catalogue(s, data / "province_catalogue.csv")
        with Sandbox(data_dir=data, state_dir=Path(tmp) / "sb") as sb:
            for label in ("ingest_first_run", "ingest_nightly_nothing_new"):
                per_source = {}
                t = time.perf_counter()
                for name, make, fn in (
                    ("national_portal", HttpPortalClient, ingest_portal),
                    ("ministry_site", MinistrySiteClient, ingest_ministry_site),
                ):
                    rec = SnapshotRecorder(fetched_at=run_time)
                    client = make(sb.url, recorder=rec)
                    with session_scope(url) as s:
                        result = fn(s, client, rec, dept, window_end=date(2026, 11, 26), run_time=run_time)
                    per_source[name] = {"requests": result.requests, "new_decisions": result.decisions_new}
                emit(bench=label, seconds=round(time.perf_counter() - t, 3), sources=per_source)


def main() -> None:
    bench_dag_parse()
    bench_ingest()


if __name__ == "__main__":
    main()
