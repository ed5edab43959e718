"""The sync stage's tasks: publish what a person approved to each channel, exactly once; read back."""

from __future__ import annotations

import os
from dataclasses import asdict
from typing import Any

from tthc.core.config import get_endpoint, load_department
from tthc.core.window import RunWindow
from tthc.db.session import session_scope

# channel name (ledger column, pool, task suffix) → its Airflow Connection
CHANNELS = {"cms": "tthc_cms", "province_portal": "tthc_province_portal", "csdl": "tthc_csdl"}


def make_channel(name: str):
    """The live client of a channel, configured from its Airflow Connection: the CMS signs in with the
    Connection's login and password (a WordPress Application Password; no login: a Bearer token), the
    other channels send the password as their API token."""
    from tthc.sync.channels.cms import CmsChannel
    from tthc.sync.channels.csdl import CsdlChannel
    from tthc.sync.channels.province_portal import ProvincePortalChannel
    from tthc.sync.plan import csdl_co_quan

    conn_id = CHANNELS[name]
    ep = get_endpoint(conn_id)
    if name == "cms":
        return CmsChannel(ep.base_url, ep.password or "", conn_id=conn_id, login=ep.login)
    if name == "province_portal":
        return ProvincePortalChannel(ep.base_url, ep.password or "", conn_id=conn_id)
    return CsdlChannel(ep.base_url, ep.password or "", csdl_co_quan(load_department()), conn_id=conn_id)


def sync_channel(name: str, window: RunWindow, dry_run: bool = False, try_name: str | None = None) -> dict[str, Any]:
    """Publish the approved announcements and their procedures to one channel, exactly once. ``try_name``
    (``dag/run/task/try``) names this try in its claims, so an operator can tell who holds an object."""
    from tthc.db.health import record_success
    from tthc.sync.claims import try_identity
    from tthc.sync.plan import objects_for
    from tthc.sync.publish import sync_channel as run_sync

    dept = load_department()
    with session_scope() as session:
        objects = objects_for(name, session, dept)
        channel = None if dry_run else make_channel(name)
        # an object another try holds (a zombie of an earlier try still writing): wait for it a while
        wait = float(os.environ.get("TTHC_CLAIM_WAIT_SECONDS", "120"))
        result = run_sync(session, channel or _DryChannel(name), objects, run_date=window.as_of, dry_run=dry_run,
                          holder=try_identity(try_name), wait_for_claims=wait)
    if not dry_run:
        with session_scope() as session:
            record_success(session, f"sync_{name}", window.as_of)
    return asdict(result)


class _DryChannel:
    """Stands for a channel in a dry run: nothing is ever called on it."""

    def __init__(self, name: str) -> None:
        self.name = self.label = name


def reconcile_channels(window: RunWindow, names: list[str], repair: bool = True,
                       try_name: str | None = None) -> dict[str, Any]:
    """Read back each channel, report drift (missing, stale, extra) and repair what we own.
    A channel that cannot be read is reported, not fatal for the others."""
    from tthc.sync.claims import try_identity
    from tthc.sync.plan import objects_for
    from tthc.sync.publish import reconcile

    dept = load_department()
    out: dict[str, Any] = {}
    for name in names:
        try:
            with session_scope() as session:
                report = reconcile(session, make_channel(name), objects_for(name, session, dept),
                                   run_date=window.as_of, repair=repair, holder=try_identity(try_name))
            out[name] = asdict(report) | {"drift": report.drift}
        except Exception as exc:  # noqa: BLE001 - reported per channel; the task fails after all are tried
            out[name] = {"error": f"{type(exc).__name__}: {exc}"}
    return out


def verify_csdl(window: RunWindow) -> dict[str, Any]:
    """Look for the approved announcements on the national decision list (tthc.sync.verify)."""
    from tthc.sync.verify import live_client, verify_publications

    dept = load_department()
    client = live_client(get_endpoint("tthc_portal").base_url)
    with session_scope() as session:
        result = verify_publications(session, client, dept, window.as_of)
    return asdict(result)
