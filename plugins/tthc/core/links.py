"""Addresses in the deployment's web UI, for every link the pipeline writes (emails, the approval request).

The base is the address people open Airflow at: Airflow's own ``[api] base_url`` when it is set (the
setting Airflow itself uses for its links; ``AIRFLOW__API__BASE_URL``), else the department settings'
``airflow_url``, else none (then the emails carry no links rather than wrong ones). The KSTTHC page is the
plugin app mounted at ``/kstthc`` (``tthc.ui``).
"""

from __future__ import annotations

import os
from urllib.parse import quote

from tthc.core.config import Department

KSTTHC_PREFIX = "/kstthc"


def airflow_base_url() -> str:
    """Airflow's ``[api] base_url`` ("" when unset or Airflow is not installed)."""
    env = os.environ.get("AIRFLOW__API__BASE_URL")
    if env is not None:
        return env.strip().rstrip("/")
    try:
        from airflow.sdk.configuration import conf
    except ImportError:  # pragma: no cover - the runtime always has Airflow; tools may not
        return ""
    try:
        return (conf.get("api", "base_url", fallback="") or "").strip().rstrip("/")
    except Exception:  # noqa: BLE001 - an unreadable config means "not set"
        return ""


def ui_base_url(dept: Department) -> str:
    """Where people open the Airflow UI: ``[api] base_url``, else ``airflow_url``, else ""."""
    return airflow_base_url() or dept.airflow_url.rstrip("/")


def kstthc_page(base: str) -> str:
    return f"{base}{KSTTHC_PREFIX}/" if base else ""


def draft_page(base: str, announcement_id: int) -> str:
    """The draft's page on the KSTTHC page: its full list of procedures, its files, the answer form."""
    return f"{base}{KSTTHC_PREFIX}/drafts/{announcement_id}" if base else ""


def draft_file_url(base: str, announcement_id: int, kind: str) -> str:
    """The draft's DOCX (``kind`` docx), HTML preview (``html``) or Phần II (``part_two``), from the store."""
    name = "phan-ii.docx" if kind == "part_two" else f"du-thao.{kind}"
    return f"{base}{KSTTHC_PREFIX}/drafts/{announcement_id}/{name}" if base else ""


def dag_page(base: str, dag_id: str) -> str:
    return f"{base}/dags/{dag_id}" if base else ""


def required_actions_page(base: str) -> str:
    """Airflow's list of Human-in-the-loop requests waiting for someone (3.1+: ``/required_actions``)."""
    return f"{base}/required_actions?response_received=false" if base else ""


def task_instance_page(base: str, dag_id: str, run_id: str, task_id: str) -> str:
    return f"{base}/dags/{dag_id}/runs/{quote(run_id, safe='')}/tasks/{task_id}" if base else ""
