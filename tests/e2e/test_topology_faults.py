"""Faults in the real topology (issue 12): ``tthc prod-local`` (CeleryExecutor, two workers, PostgreSQL,
Redis, the supervisor) runs the chain ingest → compare → report → approve → sync while the machine
fails under it:

1. PostgreSQL restarts in the middle of ``tthc_ingest`` (a short restart, then a 20 s outage);
2. the scheduler is SIGKILLed in the middle of the chain (the supervisor brings it back);
3. SMTP stops during ``tthc_report`` (the digest's first try fails; SMTP comes back);
4. a Celery worker is SIGKILLed in the middle of ``tthc_sync`` while the CMS is slow: its task process
   survives (it runs in a session of its own) and keeps publishing while Airflow, after the heartbeat
   timeout, retries the task on a worker — two tries of one task writing at once;
5. SMTP stops again while a periodic report is due: the report fails after its retries, and its ops
   alert cannot be sent; SMTP comes back, the report is run again and the alert is flushed.

After recovery and Airflow's retries: every decision stored once (the same set as a fault-free ingest of
the same sources), every channel object once (one live copy per key, the ledger agreeing), every report
and alert sent once (one message per ledger row and recipient, Message-IDs unique, no row left unsent).
The figures are printed (``-s``) and written to ``<tmp>/faults.json``; docs/faults.md keeps those of a
reference run. Skipped only when Redis cannot be had (or PostgreSQL cannot be restarted: no local cluster).
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

pytestmark = [pytest.mark.prod, pytest.mark.timeout(600)]

CHAIN = ("tthc_ingest", "tthc_compare", "tthc_report", "tthc_approve", "tthc_sync")
WINDOW = {"window_start": "2026-11-25T01:00:00+07:00", "window_end": "2026-11-26T01:00:00+07:00"}
FINISHED = ("success", "failed")
SYSTEM_PG = "postgresql+psycopg2://postgres@127.0.0.1:5432"
EXTRA_ENV = {
    # a dead worker's task is noticed after 20 s instead of 5 min (Airflow's default), so the test can
    # watch the retry overlap with the surviving task process
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
    "TTHC_RETRY_DELAY_SECONDS": "5",
    # the portal watcher off: the chain here is the REST-triggered one (the watcher: test_watch_prod.py)
    "TTHC_WATCH_POLL_SECONDS": "0",
}


def _pg_version() -> str | None:
    if not shutil.which("pg_ctlcluster") or not os.path.isdir("/etc/postgresql"):
        return None
    versions = sorted(os.listdir("/etc/postgresql"))
    return versions[-1] if versions else None


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Pg:
    """The machine's PostgreSQL cluster (shared: always started again)."""

    def __init__(self, version: str) -> None:
        self.version = version

    def ctl(self, action: str) -> None:
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", self.version, "main", action], check=True,
                       capture_output=True, timeout=120)

    def ensure_up(self) -> None:
        if not _port_open(5432):
            self.ctl("start")
        deadline = time.monotonic() + 60
        while not _port_open(5432) and time.monotonic() < deadline:
            time.sleep(0.5)


@pytest.fixture(scope="module")
def pg(pg_server_url):
    version = _pg_version()
    if pg_server_url != SYSTEM_PG or version is None:
        pytest.skip("the PostgreSQL restart faults need the machine's cluster (pg_ctlcluster) at 127.0.0.1:5432")
    control = Pg(version)
    yield control
    control.ensure_up()


@pytest.fixture(scope="module")
def topo(tmp_path_factory, pg, pg_server_url):
    from tthc_dev import prodlocal
    from tthc_dev.sandbox.smtp_sink import SmtpSink

    if not _port_open(6379) and not shutil.which("redis-server"):
        pytest.skip("needs Redis (the Celery broker): install redis-server or run one on 127.0.0.1:6379")
    root = tmp_path_factory.mktemp("topology-faults")
    t = prodlocal.up(root, paused=True, pg_server_url=pg_server_url, name="faults", redis_db=8, backoff_max=8,
                     sandbox_smtp=False, extra_env=EXTRA_ENV)
    sink = SmtpSink(outbox=root / "outbox", port=t.smtp_port).start()
    t.sink = sink  # type: ignore[attr-defined]
    try:
        yield t
    finally:
        sink.stop()
        pg.ensure_up()
        stopped = prodlocal.down(root)
        assert "scheduler" in stopped
        from tthc_dev.supervisor import marked_processes

        assert marked_processes(prodlocal.MARKER, str(root)) == [], "processes left behind"


class Api:
    def __init__(self, topo) -> None:
        from tthc_dev import prodlocal

        self.topo = topo
        self.base = topo.api_url + "/api/v2"
        self.headers = {"Authorization": f"Bearer {prodlocal.api_token(topo)}"}

    def get(self, path: str, **params):
        r = requests.get(self.base + path, headers=self.headers, params=params, timeout=15)
        r.raise_for_status()
        return r.json()

    def send(self, method: str, path: str, body: dict):
        r = requests.request(method, self.base + path, headers=self.headers, json=body, timeout=15)
        assert r.ok, f"{method} {path}: {r.status_code} {r.text[:500]}"
        return r.json()

    def runs(self, dag_id: str) -> list[dict]:
        return self.get(f"/dags/{dag_id}/dagRuns", order_by="-run_after")["dag_runs"]

    def tis(self, dag_id: str, run_id: str) -> list[dict]:
        return self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]

    def ti(self, dag_id: str, task_id: str, states: tuple[str, ...]) -> dict | None:
        for run in self.runs(dag_id):
            for ti in self.tis(dag_id, run["dag_run_id"]):
                if ti["task_id"] == task_id and ti["state"] in states:
                    return ti | {"dag_run_id": run["dag_run_id"]}
        return None


def wait_for(what: str, check, timeout: float = 240, every: float = 1.0):
    """Poll ``check`` (API errors while the database is down count as "not yet")."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except (requests.RequestException, ValueError, KeyError):
            value = None
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def finished(api: Api, dag_id: str, run_id: str | None = None) -> dict | None:
    """The DAG's latest run (or ``run_id``) once every run of it has finished."""
    runs = api.runs(dag_id)
    if run_id is not None:
        runs = [r for r in runs if r["dag_run_id"] == run_id]
    if runs and all(r["state"] in FINISHED for r in runs):
        return runs[0]
    return None


class Log:
    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.faults: list[dict] = []

    def __call__(self, msg: str) -> None:
        print(f"[{time.monotonic() - self.t0:6.1f} s] {msg}", flush=True)

    def fault(self, name: str, **detail) -> None:
        self.faults.append({"fault": name, "at_s": round(time.monotonic() - self.t0, 1), **detail})
        self(f"FAULT {name} {detail}")


def _sandbox(topo, method: str, path: str, token: str | None = None, auth=None, **kw):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = requests.request(method, topo.sandbox_url + path, headers=headers, auth=auth, timeout=15, **kw)
    r.raise_for_status()
    return r.json()


def _cms_items(topo, kind: str) -> list[dict]:
    """What the CMS holds, read as the channel's WordPress user (HTTP Basic, application password)."""
    from tthc_dev.prodlocal import CMS_AUTH

    return _sandbox(topo, "GET", f"/wp-json/wp/v2/{kind}", auth=CMS_AUTH,
                    params={"status": "any", "per_page": 100, "context": "edit"})


def _state(root: Path) -> dict:
    return json.loads((root / "pids.json").read_text(encoding="utf-8"))


def test_chain_survives_machine_faults(topo, pg, tmp_path):
    from tthc_dev.prodlocal import TOKENS, WORKERS, alive

    log, api = Log(), Api(topo)
    root = topo.root
    wait_for("the DAGs to be parsed", lambda: all(api.get(f"/dags/{d}") for d in CHAIN), timeout=180)
    for dag_id in (*CHAIN[1:], "tthc_periodic_report"):
        api.send("PATCH", f"/dags/{dag_id}", {"is_paused": False})
    # the portal answers slowly for a while, so the PostgreSQL faults land while tthc_ingest works
    _sandbox(topo, "POST", "/_sandbox/faults", json={"route": "POST /jsp/rest.jsp*", "fault": "timeout", "delay": 1,
                                                     "times": 25})
    dag = api.get("/dags/tthc_ingest")
    api.send("POST", "/dags/tthc_ingest/dagRuns", {"dag_run_id": "faults", "logical_date":
                                                   dag["next_dagrun_logical_date"], "conf": WINDOW})
    api.send("PATCH", "/dags/tthc_ingest", {"is_paused": False})

    # -- 1. PostgreSQL restarts in the middle of tthc_ingest --------------------------------------
    wait_for("tthc_ingest to work", lambda: api.ti("tthc_ingest", "ingest_national_portal", ("running",)),
             every=0.5)
    time.sleep(2)
    try:
        log.fault("postgresql_restart", seconds_down=0)
        pg.ctl("restart")
        time.sleep(6)
        log.fault("postgresql_outage", seconds_down=20,
                  ingest_running=bool(finished(api, "tthc_ingest") is None))
        pg.ctl("stop")
        time.sleep(20)
    finally:
        pg.ensure_up()
    log("PostgreSQL back")
    ingest = wait_for("tthc_ingest", lambda: finished(api, "tthc_ingest"), timeout=300)
    log(f"tthc_ingest {ingest['state']}")
    assert ingest["state"] == "success", api.tis("tthc_ingest", "faults")

    # -- 2. the scheduler is killed mid-chain; 3. SMTP stops during tthc_report -------------------
    wait_for("tthc_compare", lambda: api.runs("tthc_compare"), every=0.5)
    killed = _state(root)["pids"]["scheduler"]
    log.fault("scheduler_sigkill", pid=killed)
    os.kill(killed, signal.SIGKILL)
    log.fault("smtp_down_during_report")
    topo.sink.stop()
    back = wait_for("the scheduler to come back", lambda: (p := _state(root)["pids"]["scheduler"]) != killed and p,
                    timeout=60)
    log(f"scheduler restarted by the supervisor (pid {back})")
    wait_for("the digest to fail once", lambda: api.ti("tthc_report", "send_digest", ("up_for_retry",)),
             timeout=300, every=0.5)
    topo.sink.start()
    log("SMTP back")
    assert wait_for("tthc_compare", lambda: finished(api, "tthc_compare"))["state"] == "success"
    assert wait_for("tthc_report", lambda: finished(api, "tthc_report"))["state"] == "success"

    # -- a person approves; 4. a worker is killed in the middle of tthc_sync -----------------------
    _sandbox(topo, "POST", "/_sandbox/faults", json={"route": "POST /wp-json/wp/v2/pages", "fault": "timeout",
                                                     "delay": 2.5})
    approve = wait_for("the approval request", lambda: api.ti("tthc_approve", "approve", ("awaiting_input",)))
    time.sleep(5)  # answering in the same second as the request was seen to fail (shared notes)
    api.send("PATCH", f"/dags/tthc_approve/dagRuns/{approve['dag_run_id']}/taskInstances/approve/-1/hitlDetails",
             {"chosen_options": ["Phê duyệt"],
              "params_input": {"so_hieu": "123/QĐ-UBND", "ngay_ky": "26/11/2026", "ghi_chu": ""}})
    first = wait_for("sync_cms to publish", lambda: (ti := api.ti("tthc_sync", "sync_cms", ("running",)))
                     and len(_cms_items(topo, "pages")) >= 3 and ti, timeout=300, every=0.5)
    worker = first["hostname"].rsplit("-", 1)[-1]
    assert worker in WORKERS, first
    group = _state(root)["pids"][worker]
    zombie = int(first["pid"])
    pages_at_kill = len(_cms_items(topo, "pages"))
    log.fault("worker_sigkill_mid_sync", worker=worker, task_pid=zombie, pages_at_kill=pages_at_kill)
    os.killpg(group, signal.SIGKILL)
    time.sleep(1)
    assert alive(zombie), "the task process should outlive its worker (it has a session of its own)"

    # -- 5. SMTP stops while a periodic report is due (its alert waits in the ledger) --------------
    log.fault("smtp_down_during_periodic_report")
    topo.sink.stop()
    api.send("POST", "/dags/tthc_periodic_report/dagRuns", {"dag_run_id": "q4-smtp-down", "logical_date": None,
                                                             "conf": WINDOW | {"period": "2026-Q4"}})
    retry = wait_for("sync_cms to be retried", lambda: (ti := api.ti("tthc_sync", "sync_cms", ("running",)))
                     and ti["try_number"] > first["try_number"] and ti, timeout=240, every=0.5)
    pages_at_retry = len(_cms_items(topo, "pages"))
    zombie_alive_at_retry = alive(zombie)
    log(f"sync_cms try {retry['try_number']} on {retry['hostname']}; the first try's process alive: "
        f"{zombie_alive_at_retry}; pages {pages_at_kill} at the kill, {pages_at_retry} at the retry")
    assert wait_for("the periodic report to fail", lambda: finished(api, "tthc_periodic_report", "q4-smtp-down"),
                    timeout=240)["state"] == "failed"
    topo.sink.start()
    log("SMTP back; the periodic report is run again")
    api.send("POST", "/dags/tthc_periodic_report/dagRuns", {"dag_run_id": "q4-again", "logical_date": None,
                                                             "conf": WINDOW | {"period": "2026-Q4"}})
    sync = wait_for("tthc_sync", lambda: finished(api, "tthc_sync"), timeout=300)
    log(f"tthc_sync {sync['state']}")
    assert wait_for("the periodic report", lambda: finished(api, "tthc_periodic_report", "q4-again"),
                    timeout=240)["state"] == "success"
    wait_for("the first try's process to end", lambda: not alive(zombie), timeout=120)
    assert sync["state"] == "success", api.tis("tthc_sync", sync["dag_run_id"])

    # -- the outcome ----------------------------------------------------------------------------------
    _sandbox(topo, "DELETE", "/_sandbox/faults")
    figures = _check_outcome(topo, api, tmp_path)
    retried = {f"{dag_id}.{ti['task_id']}": ti["try_number"] - 1 for dag_id in (*CHAIN, "tthc_periodic_report")
               for run in api.runs(dag_id) for ti in api.tis(dag_id, run["dag_run_id"]) if ti["try_number"] > 1}
    figures |= {"faults": log.faults, "tasks_retried": retried, "retries": sum(retried.values()),
                "restarts": _state(root)["restarts"], "zombie_pages_published": pages_at_retry - pages_at_kill,
                "zombie_alive_at_retry": zombie_alive_at_retry, "seconds": round(time.monotonic() - log.t0)}
    (tmp_path / "faults.json").write_text(json.dumps(figures, indent=2, ensure_ascii=False), encoding="utf-8")
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    assert figures["restarts"]["scheduler"] >= 1 and figures["restarts"][worker] >= 1
    assert zombie_alive_at_retry and pages_at_retry > pages_at_kill, \
        "the killed worker's task process should have kept publishing until the retry started"
    assert TOKENS  # the channel checks ran with the topology's tokens


def _reference_decisions(topo, tmp_path: Path) -> dict[tuple, int]:
    """What a fault-free ingest of the same sources stores: (số hiệu key, agency, year) → items."""
    from tthc.catalogue.io import import_catalogue, seed_fields
    from tthc.core.window import make_window
    from tthc.db.session import migrate, session_scope
    from tthc.ingest import tasks
    from tthc.ingest.sources.html_listing.index import site_entries
    from tthc_dev.sandbox import DATA_DIR

    url = f"sqlite:///{tmp_path / 'reference.db'}"
    env = {"TTHC_DB_URL": url, "AIRFLOW_CONN_TTHC_PORTAL": topo.sandbox_url,
           "AIRFLOW_CONN_TTHC_MINISTRY_SITE": topo.sandbox_url, "TTHC_VAR_DIR": str(tmp_path / "var")}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        migrate(url)
        with session_scope(url) as s:
            seed_fields(s, Path(__file__).resolve().parents[2] / "plugins/tthc/settings/fields.yaml")
            import_catalogue(s, DATA_DIR / "province_catalogue.csv")
        window = make_window(WINDOW["window_start"], WINDOW["window_end"])
        tasks.ingest_national_portal(window)
        for site in (e for e in site_entries() if e.enabled):
            tasks.ingest_site(site.name, window)
        return _decisions(url)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _decisions(url: str) -> dict[tuple, int]:
    from tthc.db.models import Decision, DecisionItem

    engine = create_engine(url)
    with Session(engine) as s:
        rows = s.execute(select(Decision.so_hieu_key, Decision.agency_name, Decision.year,
                                func.count(DecisionItem.id)).outerjoin(DecisionItem)
                         .group_by(Decision.id)).all()
    engine.dispose()
    keys = [tuple(r[:3]) for r in rows]
    assert len(keys) == len(set(keys)), "a decision stored twice"
    return {tuple(r[:3]): r[3] for r in rows}


def _check_outcome(topo, api: Api, tmp_path: Path) -> dict:
    from tthc.core.config import load_department
    from tthc.db.models import MailLog, Posting, PostingClaim
    from tthc.sync.plan import objects_for
    from tthc_dev.prodlocal import CMS_AUTH, TOKENS

    # every decision stored once: the same set as a fault-free ingest of the same sources
    stored = _decisions(topo.catalogue_url)
    reference = _reference_decisions(topo, tmp_path)
    lost = sorted(set(reference) - set(stored))
    assert lost == [] and set(stored) == set(reference), {"lost": lost, "extra": set(stored) - set(reference)}
    assert stored == reference  # and every item of each

    # every channel object once: one copy per key, what the catalogue says, the ledger agreeing
    engine = create_engine(topo.catalogue_url)
    dept = load_department()
    with Session(engine) as s:
        wanted = {ch: {o.key: o for o in objects_for(ch, s, dept)} for ch in ("cms", "province_portal", "csdl")}
        ledger = Counter((p.channel, p.object_key) for p in s.scalars(select(Posting)))
        claims_left = s.scalar(select(func.count()).select_from(PostingClaim))
        mail = list(s.scalars(select(MailLog)))
    engine.dispose()
    cms = _cms_items(topo, "posts") + _cms_items(topo, "pages")
    trashed = [i for kind in ("posts", "pages")
               for i in _sandbox(topo, "GET", f"/wp-json/wp/v2/{kind}", auth=CMS_AUTH,
                                 params={"status": "trash", "per_page": 100, "context": "edit"})]
    cms_keys = Counter(i["meta"]["tthc_key"] for i in cms if i["meta"].get("tthc_key"))
    portal = _sandbox(topo, "GET", "/dvc-tinh/api/v1/thu-tuc", TOKENS["portal"], params={"page_size": 200})["items"]
    portal_keys = Counter(r["ma_ngoai"] for r in portal)
    csdl = Counter(r["so_hieu"] for r in _sandbox(topo, "GET", "/csdl/api/v1/quyet-dinh-cong-bo", TOKENS["csdl"]))
    duplicates = {k: n for c in (cms_keys, portal_keys, csdl) for k, n in c.items() if n > 1}
    assert duplicates == {}
    assert set(cms_keys) == set(wanted["cms"]) and set(portal_keys) == set(wanted["province_portal"])
    assert set(csdl) == {o.fields["so_hieu"] for o in wanted["csdl"].values()}
    for ch, objects in wanted.items():
        assert {k for (c, k) in ledger if c == ch} == set(objects), ch
    for item in cms:  # the content each shows is the latest, live or withdrawn as it should
        obj = wanted["cms"][item["meta"]["tthc_key"]]
        assert item["meta"]["tthc_hash"] == obj.digest
        assert item["status"] == ("draft" if obj.withdrawn else "publish")
    assert claims_left == 0

    # every report and alert sent once: one message per ledger row, Message-IDs unique, none unsent
    messages = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in topo.sink.messages()]
    ids = Counter(str(m["Message-ID"]) for m in messages)
    assert [i for i, n in ids.items() if n > 1] == []
    unsent = [(m.kind, m.period_key, m.recipient, m.status) for m in mail if m.status != "sent"]
    assert unsent == []
    assert sorted(ids) == sorted(m.message_id for m in mail)
    kinds = Counter(m.kind for m in mail)
    assert kinds["digest"] >= 1 and kinds["periodic"] >= 1 and kinds["ops"] >= 1, kinds
    failed = sorted(f"{dag_id}.{ti['task_id']}" for dag_id in (*CHAIN, "tthc_periodic_report")
                    for run in api.runs(dag_id) for ti in api.tis(dag_id, run["dag_run_id"])
                    if ti["state"] == "failed" and ti["task_id"] != "channels_published")  # it mails nothing
    alerts = sorted(str(m["Subject"]).split("] ", 2)[-1].removesuffix(" thất bại") for m in messages
                    if "Cảnh báo vận hành" in str(m["Subject"]))
    assert alerts == failed, (alerts, failed)  # one alert per failed task, each once
    return {"decisions": len(stored), "items": sum(stored.values()), "decisions_lost": len(lost),
            "decisions_duplicated": 0, "channel_objects": {ch: len(o) for ch, o in wanted.items()},
            "channel_duplicates": len(duplicates), "cms_trashed_copies": len(trashed),
            "mails": dict(kinds), "messages": len(messages), "mail_duplicates": 0, "failed_tasks": failed}
