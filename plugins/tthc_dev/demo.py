"""``tthc demo``: the whole pipeline end to end on the embedded default.

SQLite under ``var/`` for the catalogue and Airflow's metadata (Airflow home ``var/airflow``), the
bundled sandbox for the portals, CMS and SMTP, and the five chained DAGs run in order with
``airflow dags test`` over one run window (the day before ``--as-of``, 01:00 to 01:00 Vietnam time).
Running it again gives the same end state and sends nothing twice (the ledgers and the sandbox's
persisted state see to it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

import requests
from tthc.core.config import SETTINGS_DIR, project_root, var_dir
from tthc.core.window import VN_TZ, nightly_window

from tthc_dev.sandbox import DATA_DIR
from tthc_dev.sandbox.app import CMS_EDITOR, DEFAULT_CMS_ACCOUNTS
from tthc_dev.sandbox.smtp_sink import free_port

# tthc_report and tthc_approve both follow tthc_compare; the digest goes out while the draft waits for a person
DAGS = ("tthc_ingest", "tthc_compare", "tthc_report", "tthc_approve", "tthc_sync")
# the sandbox lists the approved decision on the national list 3 days after signing (sandbox.provinces):
# tthc_verify runs this many days after the run date and marks it "đã công khai trên CSDL quốc gia" (on the
# run date itself it would only find it missing: that run is left out to keep the demo short)
VERIFY_AGAIN_AFTER_DAYS = 4
POOLS = {"national_portal": 1, "ministry_site": 1, "cms": 2, "province_portal": 1, "csdl": 1}
# the sandbox CMS's editor account and its Application Password (WordPress ignores the spaces)
CMS_LOGIN = CMS_EDITOR
CMS_APP_PASSWORD = DEFAULT_CMS_ACCOUNTS[CMS_LOGIN][1].replace(" ", "")
CSDL_TOKEN = "sandbox-csdl-token"
PORTAL_TOKEN = "sandbox-portal-token"


def airflow_env(var: Path, http_port: int, smtp_port: int, db_url: str | None = None) -> dict[str, str]:
    """Environment for Airflow and the tasks on the embedded default, pointed at the sandbox."""
    home = var / "airflow"
    home.mkdir(parents=True, exist_ok=True)
    base = f"http://127.0.0.1:{http_port}"
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(project_root() / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(project_root() / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "TTHC_DB_URL": db_url or f"sqlite:///{var / 'tthc.db'}",
        "TTHC_VAR_DIR": str(var),
        "TTHC_RETRY_DELAY_SECONDS": "2",
        "TTHC_MIN_REQUEST_INTERVAL": "0",  # the sandbox is on this machine
        "TTHC_CHANNEL_MIN_INTERVAL": "0",
        "AIRFLOW_CONN_TTHC_PORTAL": base,
        "AIRFLOW_CONN_TTHC_MINISTRY_SITE": base,
        "AIRFLOW_CONN_TTHC_CMS": f"http://{CMS_LOGIN}:{CMS_APP_PASSWORD}@127.0.0.1:{http_port}",
        "AIRFLOW_CONN_TTHC_CSDL": f"http://:{CSDL_TOKEN}@127.0.0.1:{http_port}",
        "AIRFLOW_CONN_TTHC_PROVINCE_PORTAL": f"http://:{PORTAL_TOKEN}@127.0.0.1:{http_port}",
        "AIRFLOW_CONN_TTHC_SMTP": f"smtp://127.0.0.1:{smtp_port}?starttls=false&ssl=false",
    }


def demo_window(as_of: date) -> dict[str, str]:
    return nightly_window(as_of).to_dict()


def prepare_catalogue() -> None:
    from tthc.catalogue.io import import_catalogue, seed_fields
    from tthc.db.session import migrate, session_scope

    migrate()
    with session_scope() as session:
        seed_fields(session, SETTINGS_DIR / "fields.yaml")
    with session_scope() as session:
        result = import_catalogue(session, DATA_DIR / "province_catalogue.csv")
    print(f"catalogue: {result.created} created, {result.updated} updated, {result.unchanged} unchanged")


def wait_for(url: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"sandbox did not answer at {url}")


def run(cmd: list[str], env: dict[str, str], quiet: bool = False) -> None:
    print("$ " + " ".join(cmd), flush=True)
    out = subprocess.run(cmd, env=env, capture_output=quiet, text=True)
    if out.returncode != 0:
        if quiet:
            print(out.stdout[-4000:], out.stderr[-4000:], sep="\n", file=sys.stderr)
        raise SystemExit(f"command failed ({out.returncode}): {' '.join(cmd)}")


def run_demo(as_of: date) -> int:
    var = var_dir()
    http_port, smtp_port = free_port(), free_port()
    env_vars = airflow_env(var, http_port, smtp_port)
    os.environ.update(env_vars)
    env = {**os.environ}
    airflow = str(Path(sys.executable).with_name("airflow"))

    prepare_catalogue()
    run([airflow, "db", "migrate"], env, quiet=True)
    for pool, slots in POOLS.items():
        run([airflow, "pools", "set", pool, str(slots), f"tthc: rate limit for {pool}"], env, quiet=True)

    sandbox = subprocess.Popen(
        [sys.executable, "-m", "tthc_dev.sandbox.serve", "--port", str(http_port),
         "--smtp-port", str(smtp_port), "--state-dir", str(var / "sandbox"), "--outbox", str(var / "outbox")],
        env=env,
    )
    try:
        wait_for(f"http://127.0.0.1:{http_port}/_sandbox/health")
        window = demo_window(as_of)
        logical = datetime.combine(as_of, dtime(1, 0), tzinfo=VN_TZ).isoformat()
        for dag_id in DAGS:
            # the demo has no person to approve the draft: tthc_approve's documented auto_approve param
            conf = json.dumps({**window, "auto_approve": True} if dag_id == "tthc_approve" else window)
            run([airflow, "dags", "test", dag_id, logical, "--conf", conf], env, quiet=True)
            print(f"  {dag_id}: success", flush=True)
        demo_feedback(as_of, http_port, env, airflow)
        later = as_of + timedelta(days=VERIFY_AGAIN_AFTER_DAYS)
        later_logical = datetime.combine(later, dtime(1, 0), tzinfo=VN_TZ).isoformat()
        run([airflow, "dags", "test", "tthc_verify", later_logical, "--conf", json.dumps(demo_window(later))], env,
            quiet=True)
        print(f"  tthc_verify ({later:%d/%m/%Y}): success", flush=True)
    finally:
        sandbox.terminate()
        try:
            sandbox.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sandbox.kill()

    from tthc.cli.summary import print_summary

    print_summary(as_of, outbox=var / "outbox")
    return 0


# -- citizens' feedback (phản ánh, kiến nghị): receive → digest → answer → published reply → report ----------


def _dags_test(airflow: str, env: dict[str, str], dag_id: str, end: datetime) -> None:
    """``airflow dags test`` of one run ending at ``end`` (its window: the day before)."""
    window = {"window_start": (end - timedelta(days=1)).isoformat(), "window_end": end.isoformat()}
    run([airflow, "dags", "test", dag_id, end.isoformat(), "--conf", json.dumps(window)], env, quiet=True)
    print(f"  {dag_id} ({end:%d/%m %H:%M}): success", flush=True)


def demo_feedback(as_of: date, http_port: int, env: dict[str, str], airflow: str) -> None:
    """The sandbox's feedback (``data/feedback.yaml``): visitors comment on the procedure pages published the
    night before; other channels' feedback is imported; the next night's ``tthc_feedback`` receives it and
    ``tthc_report`` mails the digest with it; the demo's officer answers; the next ``tthc_feedback`` run
    publishes the answers on the pages. Idempotent: comments are left once (a marker file in the sandbox's
    state), rows import once, answers are recorded once and published once."""
    import csv

    import yaml
    from sqlalchemy import select
    from tthc.db.models import FeedbackItem, Posting
    from tthc.db.session import session_scope

    data = yaml.safe_load((DATA_DIR / "feedback.yaml").read_text(encoding="utf-8"))
    with session_scope() as s:
        pages = sorted((p.object_key, p.external_id) for p in s.scalars(
            select(Posting).where(Posting.channel == "cms", Posting.object_key.like("procedure:%"),
                                  Posting.status == "posted")))
    if not pages:
        print("  feedback: no procedure page published, skipped")
        return
    base = f"http://127.0.0.1:{http_port}"
    marker = var_dir() / "sandbox" / "demo_feedback_left"
    left_at = datetime.combine(as_of, dtime(9, 30), tzinfo=VN_TZ)
    if not marker.exists():
        for n, c in enumerate(data["comments"]):
            page = pages[n % len(pages)][1]
            gmt = (left_at + timedelta(minutes=47 * n)).astimezone(UTC).replace(tzinfo=None).isoformat()
            requests.post(f"{base}/_sandbox/cms/comments", timeout=10, json={
                "post": int(page), "author_name": c["author"], "author_email": c["email"], "content": c["text"],
                "date_gmt": gmt}).raise_for_status()
        marker.write_text("left\n", encoding="utf-8")
    code = pages[0][0].removeprefix("procedure:")
    rows = [["Mã phản ánh", "Kênh tiếp nhận", "Ngày tiếp nhận", "Mã TTHC", "Nội dung", "Người gửi", "Liên hệ",
             "Phân loại", "Lý do phân loại"]]
    rows += [[r["ref"], r["channel"], f"{as_of + timedelta(days=r['received_days']):%d/%m/%Y}",
              "" if code.startswith("name:") else code, r["text"], r.get("sender", ""), r.get("contact", ""),
              r.get("kind", ""), r.get("reason", "")] for r in data["import"]]
    sheet = var_dir() / "phan-anh-kien-nghi-khac.csv"
    with sheet.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    tthc = str(Path(sys.executable).with_name("tthc"))
    run([tthc, "feedback", "import", str(sheet), "--as-of", as_of.isoformat()], env)

    next_night = datetime.combine(as_of + timedelta(days=1), dtime(1, 0), tzinfo=VN_TZ)
    _dags_test(airflow, env, "tthc_feedback", next_night)  # receives the comments
    _dags_test(airflow, env, "tthc_report", next_night)  # the digest of the next night: the feedback part

    answers = {(i["ref"]): i for i in data["import"]}
    with session_scope() as s:
        items = s.scalars(select(FeedbackItem).order_by(FeedbackItem.id)).all()
        todo = []
        for item in items:
            if item.status in ("answered", "published"):
                continue
            if item.channel == "website":
                text = next((c.get("answer") for c in data["comments"] if c["author"] == item.sender_name), None)
                on = as_of + timedelta(days=1)
            else:
                spec = answers.get(item.source_id, {})
                text, on = spec.get("answer"), as_of + timedelta(days=spec.get("answer_days", 1))
            if text:
                todo.append((item.id, text, on))
    for item_id, text, on in todo:
        run([tthc, "feedback", "answer", str(item_id), "--text", text, "--on", on.isoformat(), "--by",
             "chuyenvien.kstthc"], env)
    _dags_test(airflow, env, "tthc_feedback", next_night + timedelta(hours=1))  # publishes the answers
