"""The production topology natively: PostgreSQL, Redis, api-server, scheduler, dag-processor, triggerer and
two Celery workers (``tthc_dev.prodlocal``). ``tthc_ingest`` is triggered through Airflow's REST API; the
Asset-driven chain runs on its own; the approval is answered through the REST API as a person would;
then the outcome is checked in the catalogue database, the sandbox and the SMTP sink, and the task
instances must have run on both workers. Every process started is stopped by PID.

Run alone with ``make test-prod``.
"""

from __future__ import annotations

import email
import email.policy
import time
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

pytestmark = [pytest.mark.prod, pytest.mark.timeout(900)]

CHAIN = ("tthc_ingest", "tthc_compare", "tthc_report", "tthc_approve", "tthc_sync")
WINDOW = {"window_start": "2026-11-25T01:00:00+07:00", "window_end": "2026-11-26T01:00:00+07:00"}
FINISHED = ("success", "failed")


@pytest.fixture(scope="module")
def topo(tmp_path_factory, pg_server_url):
    """The topology on the tests' PostgreSQL server (the system one, or one from the embedded wheel)."""
    import shutil
    import socket

    from tthc_dev import prodlocal

    with socket.socket() as sock:
        redis_up = sock.connect_ex(("127.0.0.1", 6379)) == 0
    if not redis_up and not shutil.which("redis-server"):
        pytest.skip("needs Redis (the Celery broker): install redis-server or run one on 127.0.0.1:6379")
    root = tmp_path_factory.mktemp("prod-local")
    # the portal watcher off: this test drives one REST-triggered run (the watcher has its own test,
    # tests/e2e/test_watch_prod.py; it would start a second run for the decisions after the pinned window)
    t = prodlocal.up(root, paused=True, pg_server_url=pg_server_url, extra_env={"TTHC_WATCH_POLL_SECONDS": "0"})
    _, pids = prodlocal.load(root)
    try:
        yield t
    finally:
        stopped = prodlocal.down(root)
        assert sorted(stopped) == sorted(pids)
        for name, pid in pids.items():
            assert not prodlocal.alive(pid), f"{name} (pid {pid}) still running"


class Api:
    def __init__(self, topo) -> None:
        from tthc_dev import prodlocal

        self.base = topo.api_url + "/api/v2"
        self.headers = {"Authorization": f"Bearer {prodlocal.api_token(topo)}"}

    def get(self, path: str, **params: Any) -> Any:
        r = requests.get(self.base + path, headers=self.headers, params=params, timeout=15)
        r.raise_for_status()
        return r.json()

    def send(self, method: str, path: str, body: dict) -> Any:
        r = requests.request(method, self.base + path, headers=self.headers, json=body, timeout=15)
        assert r.ok, f"{method} {path}: {r.status_code} {r.text[:500]}"
        return r.json()

    def runs(self, dag_id: str) -> list[dict]:
        return self.get(f"/dags/{dag_id}/dagRuns", order_by="-run_after")["dag_runs"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]


def wait_for(what: str, check, timeout: float = 300, every: float = 2.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def finished_run(api: Api, dag_id: str) -> dict | None:
    runs = api.runs(dag_id)
    if runs and all(r["state"] in FINISHED for r in runs):
        return runs[0]
    return None


def test_rest_triggered_chain_on_two_celery_workers(topo):
    from tthc.db.models import Announcement, Decision, Flag, Posting
    from tthc_dev.prodlocal import WORKERS

    api = Api(topo)
    wait_for("the DAGs to be parsed", lambda: all(_exists(api, d) for d in CHAIN), timeout=180)
    for dag_id in CHAIN:
        api.send("PATCH", f"/dags/{dag_id}", {"is_paused": False}) if dag_id != "tthc_ingest" else None
    # tonight's run, triggered through the API (its logical date is the one the scheduler would use, so
    # unpausing the DAG afterwards does not add a second run); the window is pinned for a known outcome
    dag = api.get("/dags/tthc_ingest")
    run = api.send("POST", "/dags/tthc_ingest/dagRuns",
                   {"dag_run_id": "rest-e2e", "logical_date": dag["next_dagrun_logical_date"], "conf": WINDOW})
    assert run["state"] == "queued"
    api.send("PATCH", "/dags/tthc_ingest", {"is_paused": False})

    ingest = wait_for("tthc_ingest", lambda: finished_run(api, "tthc_ingest"))
    assert [r["dag_run_id"] for r in api.runs("tthc_ingest")] == ["rest-e2e"]
    assert ingest["state"] == "success"
    assert wait_for("tthc_compare", lambda: finished_run(api, "tthc_compare"))["state"] == "success"
    assert wait_for("tthc_report", lambda: finished_run(api, "tthc_report"))["state"] == "success"

    # a person approves the draft through the REST API (Required actions in the UI do the same)
    def waiting():
        for r in api.runs("tthc_approve"):
            for ti in api.task_instances("tthc_approve", r["dag_run_id"]):
                if ti["task_id"] == "approve" and ti["state"] == "awaiting_input":
                    return r["dag_run_id"]
        return None

    approve_run = wait_for("the approval request", waiting)
    time.sleep(5)  # answering in the same second as the request was seen to fail (shared notes)
    api.send("PATCH", f"/dags/tthc_approve/dagRuns/{approve_run}/taskInstances/approve/-1/hitlDetails",
             {"chosen_options": ["Phê duyệt"],
              "params_input": {"so_hieu": "123/QĐ-UBND", "ngay_ky": "26/11/2026", "ghi_chu": ""}})
    assert wait_for("tthc_approve", lambda: finished_run(api, "tthc_approve"))["state"] == "success"
    sync = wait_for("tthc_sync", lambda: api.runs("tthc_sync") and finished_run(api, "tthc_sync"))
    assert sync["state"] == "success"

    # the catalogue database (PostgreSQL)
    engine = create_engine(topo.catalogue_url)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Decision)) >= 10
        ann = s.scalar(select(Announcement).where(Announcement.status == "approved"))
        assert (ann.so_hieu, ann.signed_date.isoformat(), ann.decided_by) == ("123/QĐ-UBND", "2026-11-26", "admin")
        approved = s.scalar(select(func.count()).select_from(Flag).where(Flag.status == "approved"))
        ledger = {ch: s.scalar(select(func.count()).select_from(Posting).where(Posting.channel == ch))
                  for ch in ("cms", "province_portal", "csdl")}
    engine.dispose()
    assert approved > 20
    assert ledger == {"cms": approved + 1, "province_portal": approved, "csdl": 1}

    # the sandbox: what each channel shows
    from tthc_dev.prodlocal import CMS_AUTH, TOKENS

    def show(path, token, **params):
        return requests.get(topo.sandbox_url + path, headers={"Authorization": f"Bearer {token}"}, params=params,
                            timeout=10).json()

    posts = requests.get(topo.sandbox_url + "/wp-json/wp/v2/posts", params={"status": "any", "per_page": 100},
                         auth=CMS_AUTH, timeout=10).json()
    assert len(posts) == 1 and "123/QĐ-UBND" in posts[0]["title"]["rendered"]
    assert show("/dvc-tinh/api/v1/thu-tuc", TOKENS["portal"], page_size=200)["total"] == approved
    assert [r["so_hieu"] for r in show("/csdl/api/v1/quyet-dinh-cong-bo", TOKENS["csdl"])] == ["123/QĐ-UBND"]

    # the SMTP sink: one digest, sent while the draft waited for approval
    outbox = sorted((topo.root / "outbox").glob("*.eml"))
    assert len(outbox) == 1
    msg = email.message_from_bytes(outbox[0].read_bytes(), policy=email.policy.default)
    assert "quá hạn" in str(msg["Subject"]) and "CHỜ PHÊ DUYỆT (1)" in msg.get_body(("plain",)).get_content()

    # both Celery workers ran tasks
    hosts = {ti["hostname"] for dag_id in CHAIN for r in api.runs(dag_id)
             for ti in api.task_instances(dag_id, r["dag_run_id"]) if ti["hostname"]}
    assert {h.rsplit("-", 1)[-1] for h in hosts} == set(WORKERS), hosts


def _exists(api: Api, dag_id: str) -> bool:
    try:
        api.get(f"/dags/{dag_id}")
        return True
    except requests.HTTPError:
        return False
