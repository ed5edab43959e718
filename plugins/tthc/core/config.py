"""Configuration: the department's settings, runtime paths, the catalogue database URL and endpoints.

Precedence, highest first:
- department settings: Airflow Variable ``tthc_department`` (JSON), file named by
  ``TTHC_DEPARTMENT_FILE``, the bundled ``settings/department.yaml``;
- catalogue database: ``TTHC_DB_URL``, the Airflow Connection ``tthc_catalogue``, SQLite under ``var/``;
- endpoints: Airflow Connections (``tthc_portal``, ``tthc_ministry_site``, ``tthc_cms``, ``tthc_smtp``),
  which Airflow also reads from ``AIRFLOW_CONN_<ID>`` environment variables.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import yaml

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # plugins/tthc
SETTINGS_DIR = PACKAGE_DIR / "settings"


def project_root() -> Path:
    """The checkout root (``plugins/tthc`` → root); ``TTHC_HOME`` overrides it."""
    if env := os.environ.get("TTHC_HOME"):
        return Path(env)
    return PACKAGE_DIR.parents[1]


def var_dir() -> Path:
    """Runtime state (databases, outbox, snapshots). ``TTHC_VAR_DIR`` overrides ``<root>/var``."""
    path = Path(os.environ.get("TTHC_VAR_DIR") or project_root() / "var")
    path.mkdir(parents=True, exist_ok=True)
    return path


def templates_dir() -> Path:
    env = os.environ.get("TTHC_TEMPLATES_DIR")
    return Path(env) if env else project_root() / "include" / "templates"


# approval: the mail when an answer on a draft could not be recorded (tthc_approve asks again)
DEFAULT_REPORT_ROLES = {"digest": ["kstthc"], "periodic": ["lanh_dao", "kstthc"], "ops": ["it"],
                        "approval": ["lanh_dao"]}
ROLE_NAMES = {"lanh_dao": "Lãnh đạo", "kstthc": "Bộ phận kiểm soát TTHC", "it": "Kỹ thuật (CNTT)"}


@dataclass(frozen=True)
class Department:
    """The department's settings. Mail goes to roles (``lanh_dao`` leaders, ``kstthc`` the KSTTHC staff,
    ``it`` the technical team); ``report_roles`` says which roles receive which report."""

    name: str
    province: str
    ministries: list[str]
    fields: list[str]
    levels: list[str]
    ingest_start: date
    sender: str
    recipients: list[str]  # of the nightly digest (derived from roles)
    ops_recipients: list[str] = field(default_factory=list)  # of ops alerts (derived from roles)
    note: str = ""
    source_failure_threshold: int = 3  # alerts.source_failures: failed runs in a row before one ops alert
    roles: dict[str, list[str]] = field(default_factory=dict)
    report_roles: dict[str, list[str]] = field(default_factory=lambda: dict(DEFAULT_REPORT_ROLES))
    archive_dir: str = ""  # where every sent report is archived (.eml + .html); default <var>/mail-archive
    airflow_url: str = ""  # base URL of the Airflow UI, for links in the digest
    quiet_weekday: int = 0  # weekday (0 = Monday) of the weekly "all quiet" digest
    report_cutoff_day: int = 15  # periodic reports run from this day of the month before the period
    # the draft decision: Địa điểm thực hiện per level (cap_tinh, cap_xa; default from the province) and
    # whether to write Phần II (Nội dung cụ thể của từng thủ tục hành chính) beside the annex
    draft_locations: dict[str, str] = field(default_factory=dict)
    draft_part_two: bool = False
    # the province's People's Committee as the national decision list names it (AGENCY_NAME, AGENCY_ID):
    # whose decisions are ours when verifying publication and comparing provinces
    province_agency: str = ""
    province_agency_id: str = ""
    # working days after signing after which an announcement not yet seen on the national CSDL is warned
    csdl_verify_working_days: int = 5

    def recipients_for(self, report: str) -> list[str]:
        """Addresses of the roles that receive ``report`` (digest, periodic, ops), in order, once each."""
        out: list[str] = []
        for role in self.report_roles.get(report, []):
            for address in self.roles.get(role, []):
                if address not in out:
                    out.append(address)
        return out

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> Department:
        mail = data.get("mail") or {}
        try:
            sender = str(mail["sender"])
            roles = {str(k): [str(a) for a in (v or [])] for k, v in (mail.get("roles") or {}).items()}
            # the older, flat form: recipients (KSTTHC staff) and ops_recipients (IT)
            if "recipients" in mail:
                roles.setdefault("kstthc", [str(r) for r in mail["recipients"] or []])
            if "ops_recipients" in mail:
                roles.setdefault("it", [str(r) for r in mail["ops_recipients"] or []])
            if not roles:
                raise KeyError("mail.roles")
            report_roles = {**DEFAULT_REPORT_ROLES,
                            **{str(k): [str(r) for r in v] for k, v in (mail.get("reports") or {}).items()}}
            for report, wanted in report_roles.items():
                unknown = [r for r in wanted if r not in roles and r not in ROLE_NAMES]
                if unknown:
                    raise ValueError(f"department settings: mail.reports.{report} names unknown roles {unknown}")
            dept = cls(
                name=str(data["name"]),
                province=str(data["province"]),
                ministries=[str(m) for m in data.get("ministries") or []],
                fields=[str(f) for f in data["fields"]],
                levels=[str(lv) for lv in data["levels"]],
                ingest_start=date.fromisoformat(str(data["ingest_start"])),
                sender=sender,
                recipients=[],
                note=str(data.get("note") or ""),
                source_failure_threshold=int((data.get("alerts") or {}).get("source_failures", 3)),
                roles=roles,
                report_roles=report_roles,
                archive_dir=str(mail.get("archive_dir") or ""),
                airflow_url=str(data.get("airflow_url") or "").rstrip("/"),
                quiet_weekday=int(mail.get("quiet_weekday", 0)),
                report_cutoff_day=int((data.get("reports") or {}).get("cutoff_day", 15)),
                draft_locations={str(k): str(v) for k, v in ((data.get("draft") or {}).get("locations") or {}).items()
                                 if v},
                draft_part_two=bool((data.get("draft") or {}).get("part_two", False)),
                province_agency=str((data.get("province_agency") or {}).get("name")
                                    or f"UBND {data['province']}"),
                province_agency_id=str((data.get("province_agency") or {}).get("portal_id") or ""),
                csdl_verify_working_days=int((data.get("csdl_verification") or {}).get("warn_after_working_days", 5)),
            )
        except KeyError as exc:  # pragma: no cover - message tested via load_department
            raise ValueError(f"department settings: missing key {exc}") from exc
        if not 1 <= dept.report_cutoff_day <= 28:
            raise ValueError("department settings: reports.cutoff_day must be between 1 and 28")
        object.__setattr__(dept, "recipients", dept.recipients_for("digest"))
        object.__setattr__(dept, "ops_recipients", dept.recipients_for("ops"))
        return dept

    def archive_path(self) -> Path:
        return Path(self.archive_dir) if self.archive_dir else var_dir() / "mail-archive"


def load_department(path: str | Path | None = None) -> Department:
    """The department settings (see module docstring for precedence)."""
    if path is None:
        raw = _airflow_variable("tthc_department")
        if raw:
            return Department.from_mapping(json.loads(raw))
        path = os.environ.get("TTHC_DEPARTMENT_FILE") or SETTINGS_DIR / "department.yaml"
    with open(path, encoding="utf-8") as fh:
        return Department.from_mapping(yaml.safe_load(fh))


def _airflow_variable(key: str) -> str | None:
    """An Airflow Variable when running inside Airflow with one set; otherwise None."""
    env = os.environ.get(f"AIRFLOW_VAR_{key.upper()}")
    if env:
        return env
    if not os.environ.get("AIRFLOW_CTX_DAG_ID"):
        return None
    try:
        from airflow.sdk import Variable

        return Variable.get(key, default=None)
    except Exception:  # noqa: BLE001 - absent Variable or no Airflow: fall back to files
        return None


@dataclass(frozen=True)
class Endpoint:
    """Where an external system lives and how to authenticate to it."""

    conn_id: str
    base_url: str
    login: str | None = None
    password: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or ""

    @property
    def port(self) -> int | None:
        return urlsplit(self.base_url).port


def parse_conn_uri(conn_id: str, uri: str) -> Endpoint:
    """Parse an Airflow-style connection URI (``http://login:pass@host:port/path?k=v``)."""
    if uri.lstrip().startswith("{"):
        data = json.loads(uri)
        scheme = data.get("conn_type", "http")
        host = data.get("host", "")
        port = f":{data['port']}" if data.get("port") else ""
        schema = data.get("schema") or ""
        base = f"{scheme}://{host}{port}/{schema}".rstrip("/")
        extra = data.get("extra") or {}
        if isinstance(extra, str):
            extra = json.loads(extra)
        return Endpoint(conn_id, base, data.get("login"), data.get("password"), extra)
    parts = urlsplit(uri)
    scheme = parts.scheme.replace("-", "_")
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    base = f"{scheme}://{host}{port}{parts.path}".rstrip("/")
    extra: dict[str, Any] = {}
    for pair in filter(None, parts.query.split("&")):
        key, _, value = pair.partition("=")
        extra[unquote(key)] = unquote(value)
    return Endpoint(
        conn_id,
        base,
        unquote(parts.username) if parts.username else None,
        unquote(parts.password) if parts.password else None,
        extra,
    )


def get_endpoint(conn_id: str) -> Endpoint:
    """The endpoint for an Airflow Connection id.

    Inside an Airflow task the Task SDK resolves it (metadata DB, secrets backends, env vars).
    Outside Airflow (CLI, tests) the ``AIRFLOW_CONN_<ID>`` environment variable is read directly.
    """
    env = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    if env:
        return parse_conn_uri(conn_id, env)
    try:
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection(conn_id)
    except Exception as exc:  # noqa: BLE001
        raise LookupError(
            f"Connection '{conn_id}' is not configured: create it in Airflow (Admin → Connections) "
            f"or set AIRFLOW_CONN_{conn_id.upper()}"
        ) from exc
    return endpoint_from_connection(conn_id, conn)


def endpoint_from_connection(conn_id: str, conn: Any) -> Endpoint:
    """The endpoint of an Airflow ``Connection`` object (as :func:`get_endpoint` reads it)."""
    scheme = conn.conn_type or "http"
    if scheme in ("https", "http") and conn.schema in ("https", "http"):
        scheme, path = conn.schema, ""
    else:
        path = f"/{conn.schema}" if conn.schema else ""
    port = f":{conn.port}" if conn.port else ""
    host = conn.host or ""
    base = host.rstrip("/") if host.startswith("http") else f"{scheme}://{host}{port}{path}"
    return Endpoint(conn_id, base, conn.login, conn.password, dict(conn.extra_dejson))


def catalogue_db_url() -> str:
    """SQLAlchemy URL of the province catalogue database."""
    if url := os.environ.get("TTHC_DB_URL"):
        return url
    if os.environ.get("AIRFLOW_CONN_TTHC_CATALOGUE") or os.environ.get("AIRFLOW_CTX_DAG_ID"):
        try:
            ep = get_endpoint("tthc_catalogue")
        except LookupError:
            ep = None
        if ep is not None:
            if "sqlalchemy_url" in ep.extra:
                return str(ep.extra["sqlalchemy_url"])
            parts = urlsplit(ep.base_url)
            if parts.scheme in ("postgres", "postgresql"):
                auth = ep.login or "postgres"
                if ep.password:
                    auth += ":" + quote(ep.password, safe="")
                return f"postgresql+psycopg2://{auth}@{parts.netloc.split('@')[-1]}{parts.path}"
    return f"sqlite:///{var_dir() / 'tthc.db'}"
