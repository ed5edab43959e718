"""``tthc prod-local``: the production topology, natively on this machine (no Docker).

The same parts as ``docker-compose.yml``: PostgreSQL (Airflow's metadata in ``tthc_airflow_prod``, the
catalogue in ``tthc_catalogue_prod``), Redis (the Celery broker, database 7), ``airflow api-server``,
``scheduler``, ``dag-processor``, ``triggerer`` and two Celery workers (``worker1``, ``worker2``) with the
CeleryExecutor, plus the bundled sandbox (portals, CMS, CSDL, SMTP sink) in place of the outside world.

``up`` starts PostgreSQL and Redis if they are down, (re)creates the two databases, migrates them,
loads the demo catalogue, sets the pools and starts a supervisor (:mod:`tthc_dev.supervisor`) that
starts every process in its own process group and restarts any that exits, with exponential backoff
(compose's ``restart: always``); it writes the PIDs to ``<var>/prod-local/pids.json``. ``down`` stops
the supervisor (which stops its components), then every process group it ever started and every
process carrying the topology's marker in its environment (a SIGKILLed worker's surviving task
processes included): no orphans. Logs: ``<var>/prod-local/logs/<process>.log`` (restarts in
``supervisor.log``); Airflow home: ``<var>/prod-local/airflow``.

Each worker reports its own host name to Airflow (``hostname_callable`` = :func:`worker_hostname`), so
the task instances show which worker ran them.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import requests
from tthc.core.config import project_root, var_dir

from tthc_dev.demo import CMS_APP_PASSWORD, CMS_LOGIN, CSDL_TOKEN, POOLS, PORTAL_TOKEN
from tthc_dev.sandbox import DATA_DIR
from tthc_dev.sandbox.smtp_sink import free_port

# the PostgreSQL server, without a database name; "{db}" marks where it goes when the URL has a query
# (a socket URL); TTHC_PROD_PG_URL overrides it (same form as the tests' TTHC_TEST_PG_URL)
PG = "postgresql+psycopg2://postgres@127.0.0.1:5432"


def pg_url_for(server_url: str, db: str) -> str:
    return server_url.format(db=db) if "{db}" in server_url else f"{server_url.rstrip('/')}/{db}"
REDIS_URL = "redis://127.0.0.1:6379/7"
ADMIN_USER, ADMIN_PASSWORD = "admin", "tthc-prod-local"
WORKERS = ("worker1", "worker2")
TOKENS = {"csdl": CSDL_TOKEN, "portal": PORTAL_TOKEN}
CMS_AUTH = (CMS_LOGIN, CMS_APP_PASSWORD)  # the sandbox CMS's editor account (Basic auth, as WordPress)


def worker_hostname() -> str:
    """``hostname_callable`` of the workers: the machine's name plus the worker's (``TTHC_WORKER_NAME``)."""
    name = os.environ.get("TTHC_WORKER_NAME")
    host = socket.getfqdn()
    return f"{host}-{name}" if name else host


@dataclass
class Topology:
    root: Path
    api_port: int
    http_port: int
    smtp_port: int
    pg_server_url: str = PG
    name: str = "prod"  # the databases are tthc_airflow_<name> and tthc_catalogue_<name>
    redis_db: int = 7  # the Celery broker's Redis database
    sandbox_smtp: bool = True  # False: the sandbox does not serve SMTP; the caller runs a sink on smtp_port

    @property
    def home(self) -> Path:
        return self.root / "airflow"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def catalogue_url(self) -> str:
        return pg_url_for(self.pg_server_url, f"tthc_catalogue_{self.name}")

    @property
    def airflow_db_url(self) -> str:
        return pg_url_for(self.pg_server_url, f"tthc_airflow_{self.name}")

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:6379/{self.redis_db}"

    def env(self) -> dict[str, str]:
        base = self.sandbox_url
        return {
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.airflow_db_url,
            "AIRFLOW__CELERY__BROKER_URL": self.redis_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + self.airflow_db_url.replace("+psycopg2", "", 1),
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__CORE__DAGS_FOLDER": str(project_root() / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(project_root() / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
            "AIRFLOW__API__BASE_URL": self.api_url,  # links in mails and the approval request
            "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
            "AIRFLOW__API_AUTH__JWT_SECRET": "tthc-prod-local-jwt-secret-not-for-production",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.home / "passwords.json"),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "TTHC_DB_URL": self.catalogue_url,
            "TTHC_VAR_DIR": str(self.root / "var"),
            "TTHC_RETRY_DELAY_SECONDS": "5",
            "TTHC_MIN_REQUEST_INTERVAL": "0",
            "TTHC_CHANNEL_MIN_INTERVAL": "0",
            "AIRFLOW_CONN_TTHC_PORTAL": base,
            "AIRFLOW_CONN_TTHC_MINISTRY_SITE": base,
            "AIRFLOW_CONN_TTHC_CMS": f"http://{CMS_LOGIN}:{CMS_APP_PASSWORD}@127.0.0.1:{self.http_port}",
            "AIRFLOW_CONN_TTHC_PROVINCE_PORTAL": f"http://:{TOKENS['portal']}@127.0.0.1:{self.http_port}",
            "AIRFLOW_CONN_TTHC_CSDL": f"http://:{TOKENS['csdl']}@127.0.0.1:{self.http_port}",
            "AIRFLOW_CONN_TTHC_SMTP": f"smtp://127.0.0.1:{self.smtp_port}?starttls=false&ssl=false",
        }


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def ensure_services(pg_server_url: str = PG) -> list[str]:
    """Start PostgreSQL and Redis if they are down (the commands .ci/run uses). Returns what it did."""
    done = []
    if pg_server_url == PG and not _listening(5432):
        versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
        if not versions:
            raise RuntimeError("PostgreSQL is not running on 127.0.0.1:5432 and no local cluster was found")
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"], check=True)
        done.append("postgresql started")
    if not _listening(6379):
        if not shutil.which("redis-server"):
            raise RuntimeError("Redis is not running on 127.0.0.1:6379 and redis-server is not installed")
        subprocess.run(["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379",
                        "--save", "", "--appendonly", "no"], check=True)
        done.append("redis started")
    for port in ((5432, 6379) if pg_server_url == PG else (6379,)):
        deadline = time.monotonic() + 20
        while not _listening(port):
            if time.monotonic() > deadline:
                raise RuntimeError(f"127.0.0.1:{port} did not come up")
            time.sleep(0.2)
    return done


def recreate_databases(pg_server_url: str = PG, name: str = "prod", redis_url: str = REDIS_URL) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(pg_url_for(pg_server_url, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for db in (f"tthc_airflow_{name}", f"tthc_catalogue_{name}"):
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{db}"'))
    admin.dispose()
    import redis

    redis.Redis.from_url(redis_url).flushdb()


def _pids_file(root: Path) -> Path:
    return root / "pids.json"


MARKER = "TTHC_PROD_LOCAL_ROOT"  # in every process the topology starts (down finds them all by it)


def _run(cmd: list[str], env: dict[str, str]) -> None:
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")


def components(topo: Topology) -> dict[str, dict]:
    """What the supervisor runs: name → command and the environment it adds."""
    bin_dir = Path(sys.executable).parent
    airflow, tthc = str(bin_dir / "airflow"), str(bin_dir / "tthc")
    root = topo.root
    out: dict[str, dict] = {
        "sandbox": {"cmd": [tthc, "sandbox", "serve", "--port", str(topo.http_port), "--smtp-port",
                            str(topo.smtp_port if topo.sandbox_smtp else free_port()), "--state-dir", str(root / "sandbox"), "--outbox",
                            str(root / "outbox")]},
        "api-server": {"cmd": [airflow, "api-server", "--port", str(topo.api_port)]},
    }
    for name in ("scheduler", "dag-processor", "triggerer"):
        out[name] = {"cmd": [airflow, name]}
    for n, worker in enumerate(WORKERS):
        out[worker] = {"cmd": [airflow, "celery", "worker", "--celery-hostname", f"{worker}@%h", "--concurrency", "2"],
                       "env": {"TTHC_WORKER_NAME": worker,
                               "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tthc_dev.prodlocal.worker_hostname",
                               "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(8793 + n)}}
    return out


def up(root: Path | None = None, *, fresh: bool = True, paused: bool = False, timeout: float = 180,
       pg_server_url: str | None = None, backoff_max: float = 30, extra_env: dict[str, str] | None = None,
       name: str = "prod", redis_db: int = 7, sandbox_smtp: bool = True) -> Topology:
    """Start the whole topology (see the module docstring) and wait until the API answers. ``paused``:
    the DAGs start paused (a test unpauses what it drives, so no scheduled run gets in its way).
    ``extra_env``: added to every component's environment (tests: shorter timeouts). ``name`` and
    ``redis_db``: whose databases (two topologies never share them). ``sandbox_smtp=False``: the caller
    runs the SMTP sink on ``smtp_port`` (a test stops and starts it)."""
    root = root or var_dir() / "prod-local"
    if _pids_file(root).exists():
        down(root)
    if fresh and root.exists():
        shutil.rmtree(root)
    pg = pg_server_url or os.environ.get("TTHC_PROD_PG_URL") or PG
    topo = Topology(root, free_port(), free_port(), free_port(), pg, name, redis_db, sandbox_smtp)
    root.mkdir(parents=True, exist_ok=True)
    topo.home.mkdir(parents=True, exist_ok=True)
    (topo.home / "passwords.json").write_text(json.dumps({ADMIN_USER: ADMIN_PASSWORD}), encoding="utf-8")
    ensure_services(pg)
    if fresh:
        recreate_databases(pg, name, topo.redis_url)
    env = {**os.environ, **topo.env(), **(extra_env or {}), MARKER: str(root),
           "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True" if paused else "False"}
    bin_dir = Path(sys.executable).parent
    airflow, tthc = str(bin_dir / "airflow"), str(bin_dir / "tthc")
    _run([airflow, "db", "migrate"], env)
    _run([tthc, "db", "upgrade"], env)
    _run([tthc, "seed"], env)
    _run([tthc, "catalogue", "import", str(DATA_DIR / "province_catalogue.csv")], env)
    pools = root / "pools.json"  # one CLI call for all of them (each call costs ~2 s of start-up)
    pools.write_text(json.dumps({pool: {"slots": slots, "description": f"tthc rate limit for {pool}",
                                        "include_deferred": False} for pool, slots in POOLS.items()}),
                     encoding="utf-8")
    _run([airflow, "pools", "import", str(pools)], env)
    (root / "topology.json").write_text(json.dumps(asdict(topo) | {"root": str(root)}, indent=2), encoding="utf-8")
    spec = {"state_file": str(_pids_file(root)), "logs": str(topo.logs), "backoff_max": backoff_max,
            "stable_after": 60, "grace": 20, "components": components(topo)}
    (root / "supervisor.json").write_text(json.dumps(spec, indent=2), encoding="utf-8")
    topo.logs.mkdir(parents=True, exist_ok=True)
    with open(topo.logs / "supervisor.log", "ab") as out:
        subprocess.Popen([sys.executable, "-m", "tthc_dev.supervisor", str(root / "supervisor.json")], env=env,
                         stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 30
    while not (_pids_file(root).exists() and set(load(root)[1]) == set(spec["components"])):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the supervisor did not start the components; see {topo.logs / 'supervisor.log'}")
        time.sleep(0.2)
    wait_until_ready(topo, timeout)
    return topo


def wait_until_ready(topo: Topology, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            health = requests.get(f"{topo.api_url}/api/v2/monitor/health", timeout=2).json()
            sandbox = requests.get(f"{topo.sandbox_url}/_sandbox/health", timeout=2).ok
            if health.get("metadatabase", {}).get("status") == "healthy" and \
                    health.get("scheduler", {}).get("status") == "healthy" and sandbox:
                return
            last = json.dumps(health)
        except (requests.RequestException, ValueError) as exc:
            last = str(exc)
        time.sleep(1)
    raise RuntimeError(f"prod-local did not become healthy in {timeout:.0f} s: {last}; logs in {topo.logs}")


def _state(root: Path) -> dict:
    return json.loads(_pids_file(root).read_text(encoding="utf-8"))


def load(root: Path | None = None) -> tuple[Topology, dict[str, int]]:
    """The topology and each component's current pid (a restarted component has a new one)."""
    root = root or var_dir() / "prod-local"
    t = json.loads((root / "topology.json").read_text(encoding="utf-8"))
    topo = Topology(**(t | {"root": Path(t["root"])}))
    return topo, _state(root)["pids"] if _pids_file(root).exists() else {}


def restarts(root: Path | None = None) -> dict[str, int]:
    """How many times the supervisor restarted each component."""
    return _state(root or var_dir() / "prod-local").get("restarts", {})


def alive(pid: int) -> bool:
    try:  # reap it if it is our own child (else a stopped process lingers as a zombie)
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def down(root: Path | None = None, grace: float = 20) -> list[str]:
    """Stop the topology (:func:`tthc_dev.supervisor.stop`: the supervisor, every process group it ever
    started, every process carrying the topology's marker). Returns the components that were running."""
    from tthc_dev.supervisor import stop

    root = root or var_dir() / "prod-local"
    if not _pids_file(root).exists():
        return []
    state = stop(_pids_file(root), marker=(MARKER, str(root)), grace=grace)
    _pids_file(root).unlink()
    return sorted(state.get("pids", {}))


def status(root: Path | None = None) -> dict[str, bool]:
    root = root or var_dir() / "prod-local"
    state = _state(root)
    out = {"supervisor": alive(state["supervisor"])} if state.get("supervisor") else {}
    return out | {name: alive(pid) for name, pid in state["pids"].items()}


# -- REST helpers (tests, operators' scripts) ------------------------------------------------------------


def api_token(topo: Topology) -> str:
    r = requests.post(f"{topo.api_url}/auth/token", json={"username": ADMIN_USER, "password": ADMIN_PASSWORD},
                      timeout=10)
    r.raise_for_status()
    return r.json()["access_token"]
