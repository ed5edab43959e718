"""Structural checks of the deployment files (docker-compose.yml, Dockerfile,
.env.example). Nothing is started: there is no Docker engine in CI."""

from __future__ import annotations

import pathlib
import re

import pytest

yaml = pytest.importorskip("yaml")

ROOT = pathlib.Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"

AIRFLOW_SERVICES = (
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
)
LONG_RUNNING = (
    "postgres",
    "redis",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
    "sandbox",
)
REQUIRED_SERVICES = ("postgres", "redis", *AIRFLOW_SERVICES)
TTHC_CONNECTIONS = (
    "AIRFLOW_CONN_TTHC_PORTAL",
    "AIRFLOW_CONN_TTHC_MINISTRY_SITE",
    "AIRFLOW_CONN_TTHC_CMS",
    "AIRFLOW_CONN_TTHC_PROVINCE_PORTAL",
    "AIRFLOW_CONN_TTHC_CSDL",
    "AIRFLOW_CONN_TTHC_SMTP",
)

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR?err}, $VAR;
# "$$" is compose's escape for a literal "$" (expanded later by a shell).
_SUBST_RE = re.compile(r"(?<!\$)\$(?:\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}|([A-Za-z_][A-Za-z0-9_]*))")
_ONLY_SUBST_RE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(?::?[-?][^}]*)?\}$")
_URL_PASSWORD_RE = re.compile(r"^[a-z0-9+.-]+://([^:/@]*):([^@]*)@", re.IGNORECASE)


@pytest.fixture(scope="module")
def compose_text() -> str:
    return COMPOSE_FILE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def compose(compose_text: str) -> dict:
    data = yaml.safe_load(compose_text)
    assert isinstance(data, dict), "docker-compose.yml must be a mapping"
    assert isinstance(data.get("services"), dict), "docker-compose.yml needs a services mapping"
    return data


@pytest.fixture(scope="module")
def services(compose: dict) -> dict:
    return compose["services"]


@pytest.fixture(scope="module")
def env_example_keys() -> set[str]:
    keys = set()
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        keys.add(line.split("=", 1)[0].strip())
    return keys


def _env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # KEY=VALUE list form
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _mount_targets(service: dict) -> dict[str, str]:
    targets = {}
    for volume in service.get("volumes") or []:
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume.get("source", ""), volume["target"]
        targets[target] = source
    return targets


def _healthcheck_cmd(service: dict) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else str(test)


def test_required_services_exist(services):
    missing = [name for name in REQUIRED_SERVICES if name not in services]
    assert missing == []
    assert "sandbox" in services


def test_airflow_services_are_built_from_the_dockerfile(services):
    for name in (*AIRFLOW_SERVICES, "sandbox"):
        build = services[name].get("build")
        context = build.get("context") if isinstance(build, dict) else build
        assert context in (".", "./"), f"{name} must be built from ./Dockerfile"


def test_service_images_and_commands(services):
    assert services["postgres"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7.2-bookworm"
    assert services["airflow-apiserver"]["command"] == "api-server"
    assert services["airflow-scheduler"]["command"] == "scheduler"
    assert services["airflow-dag-processor"]["command"] == "dag-processor"
    assert services["airflow-triggerer"]["command"] == "triggerer"
    assert services["airflow-worker"]["command"] == "celery worker"
    assert "8080:8080" in [str(p) for p in services["airflow-apiserver"]["ports"]]


def test_long_running_services_have_healthchecks(services):
    for name in LONG_RUNNING:
        healthcheck = services[name].get("healthcheck")
        assert healthcheck, f"{name} has no healthcheck"
        assert not healthcheck.get("disable", False), f"{name} healthcheck is disabled"
        assert healthcheck.get("test"), f"{name} healthcheck has no test"


@pytest.mark.parametrize(
    ("service", "fragment"),
    [
        ("postgres", "pg_isready"),
        ("redis", "redis-cli ping"),
        ("airflow-apiserver", "http://localhost:8080/api/v2/version"),
        ("airflow-scheduler", "http://localhost:8974/health"),
        ("airflow-dag-processor", "--job-type DagProcessorJob"),
        ("airflow-triggerer", "--job-type TriggererJob"),
        ("airflow-worker", "inspect ping"),
        ("sandbox", "http://localhost:8765/_sandbox/health"),
    ],
)
def test_healthcheck_commands(services, service, fragment):
    assert fragment in _healthcheck_cmd(services[service])


def test_job_checks_use_escaped_hostname(services):
    # "$${HOSTNAME}" must reach the container shell, not be interpolated by compose.
    for name in ("airflow-dag-processor", "airflow-triggerer", "airflow-worker"):
        assert "$${HOSTNAME}" in _healthcheck_cmd(services[name])


def test_worker_is_scalable(services):
    worker = services["airflow-worker"]
    assert "container_name" not in worker
    ports = worker.get("ports") or []
    assert not any(":" in str(p) for p in ports), "fixed host ports prevent scaling"


def test_init_runs_migrations_and_waits_are_declared(services):
    init = services["airflow-init"]
    script = init["command"] if isinstance(init["command"], str) else "\n".join(init["command"])
    assert "airflow db migrate" in script
    assert "tthc db upgrade" in script
    assert "CREATE DATABASE" in script
    assert script.index("airflow db migrate") < script.index("tthc db upgrade")
    for name in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer", "airflow-worker"):
        depends = services[name]["depends_on"]
        assert depends["airflow-init"]["condition"] == "service_completed_successfully"
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"


def test_celery_executor_with_redis_broker(services):
    for name in AIRFLOW_SERVICES:
        env = _env(services[name])
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://"), name
        assert "@redis:6379/" in env["AIRFLOW__CELERY__BROKER_URL"], name
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://"), name
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://"), name
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@postgres/airflow"), name
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
        assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false"
        assert env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] == "true"


def test_catalogue_database_is_configured(services):
    for name in AIRFLOW_SERVICES:
        env = _env(services[name])
        assert env["TTHC_DB_URL"].startswith("postgresql+psycopg2://"), name
        assert env["TTHC_DB_URL"].endswith("@postgres/tthc"), name
        assert env["AIRFLOW_CONN_TTHC_CATALOGUE"].rstrip("/").endswith("/tthc"), name


def test_airflow_services_mount_project_dirs(services):
    expected = {
        "/opt/airflow/dags": "./dags",
        "/opt/airflow/plugins": "./plugins",
        "/opt/airflow/include": "./include",
        "/opt/airflow/logs": "./var/logs",
    }
    for name in AIRFLOW_SERVICES:
        targets = _mount_targets(services[name])
        for target, source in expected.items():
            assert targets.get(target) == source, f"{name}: {source} not mounted at {target}"


def test_airflow_services_read_optional_env_file(services):
    for name in AIRFLOW_SERVICES:
        env_files = services[name]["env_file"]
        env_files = env_files if isinstance(env_files, list) else [env_files]
        entries = [e if isinstance(e, dict) else {"path": e} for e in env_files]
        assert {"path": ".env", "required": False} in entries, name


def test_sandbox_only_in_demo_profile(services):
    assert services["sandbox"].get("profiles") == ["demo"]
    command = services["sandbox"]["command"]
    command = " ".join(command) if isinstance(command, list) else command
    assert command == "tthc sandbox serve --host 0.0.0.0 --port 8765 --smtp-port 8025"
    for name, service in services.items():
        if name != "sandbox":
            assert not service.get("profiles"), f"{name} must run without a profile"


def test_no_hard_coded_secrets(services, compose_text):
    assert re.search(r"FERNET_KEY:\s*\$\{AIRFLOW__CORE__FERNET_KEY\}\s*$", compose_text, re.M)
    for name, service in services.items():
        for key, value in _env(service).items():
            if re.search(r"FERNET|SECRET|PASSWORD|TOKEN", key):
                assert value == "" or _ONLY_SUBST_RE.match(value), f"{name}: {key} is a literal"
            match = _URL_PASSWORD_RE.match(value)
            if match and match.group(2):
                login, password = match.groups()
                # Only the internal postgres may use the well-known dev default.
                assert login == "airflow" and "@postgres" in value, f"{name}: {key} has credentials"
                assert password in ("airflow", "${POSTGRES_PASSWORD:-airflow}"), f"{name}: {key}"
    postgres_password = _env(services["postgres"])["POSTGRES_PASSWORD"]
    assert postgres_password in ("airflow", "${POSTGRES_PASSWORD:-airflow}")
    assert "5432" not in " ".join(str(p) for p in services["postgres"].get("ports") or [])


def test_connections_come_from_env_not_compose(compose_text, env_example_keys):
    for var in TTHC_CONNECTIONS:
        assert var in env_example_keys
        # Not given a literal value in the compose file.
        assert not re.search(rf"^\s*{var}:\s*\S", compose_text, re.M), var


def test_compose_variables_are_documented(compose_text, env_example_keys):
    referenced = {a or b for a, b in _SUBST_RE.findall(compose_text)}
    assert "AIRFLOW__CORE__FERNET_KEY" in referenced
    missing = sorted(referenced - env_example_keys)
    assert missing == [], f"variables used in docker-compose.yml but missing from .env.example: {missing}"


def test_env_example_leaves_secrets_empty(env_example_keys):
    values = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    for key in ("AIRFLOW__CORE__FERNET_KEY", "_AIRFLOW_WWW_USER_PASSWORD", "POSTGRES_PASSWORD"):
        assert key in values and values[key] == "", key
    assert values["AIRFLOW_UID"] == "50000"
    assert "TTHC_DEPARTMENT_FILE" in values


def test_dockerfile_base_image_and_install():
    lines = [ln.strip() for ln in DOCKERFILE.read_text(encoding="utf-8").splitlines()]
    from_lines = [ln for ln in lines if ln.upper().startswith("FROM ")]
    assert from_lines, "Dockerfile has no FROM"
    assert from_lines[0].split()[1].startswith("apache/airflow:3.3.2")
    assert "USER airflow" in lines
    text = "\n".join(lines)
    assert "-r" in text and "requirements.txt" in text and "-c" in text and "constraints.txt" in text
    assert re.search(r"pip install .*--no-deps", text)
