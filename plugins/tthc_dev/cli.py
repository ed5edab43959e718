"""The development subcommands of ``tthc`` (registered through the ``tthc.cli`` entry-point group):

    tthc sandbox serve                 run the local simulator of the portals, CMS and SMTP
    tthc demo                          run the DAGs end to end on the embedded default
    tthc prod-local up|down|status     the production topology natively (PostgreSQL, Redis, Celery workers)
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from tthc.cli import parse_date
from tthc.core.config import var_dir

from tthc_dev.sandbox import DATA_DIR


def cmd_sandbox(args: argparse.Namespace) -> int:
    from tthc_dev.sandbox.serve import serve

    serve(host=args.host, port=args.port, smtp_port=args.smtp_port, data_dir=Path(args.data_dir),
          state_dir=Path(args.state_dir), outbox=Path(args.outbox), synthetic=args.synthetic)
    return 0


def cmd_prod_local(args: argparse.Namespace) -> int:
    from tthc_dev import prodlocal

    if args.action == "up":
        topo = prodlocal.up(fresh=not args.keep)
        print(f"Airflow UI/API: {topo.api_url} (user {prodlocal.ADMIN_USER}, password {prodlocal.ADMIN_PASSWORD})\n"
              f"sandbox: {topo.sandbox_url}  SMTP sink: 127.0.0.1:{topo.smtp_port}\nlogs: {topo.logs}\n"
              "stop with: tthc prod-local down")
    elif args.action == "down":
        stopped = prodlocal.down()
        print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    else:
        try:
            for name, alive in prodlocal.status().items():
                print(f"{name:14} {'running' if alive else 'STOPPED'}")
        except FileNotFoundError:
            print("not running")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from tthc_dev.demo import run_demo

    return run_demo(as_of=args.as_of)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the development subcommands to the ``tthc`` parser."""
    sb = sub.add_parser("sandbox", help="local simulator of the outside world")
    sb.add_argument("action", choices=["serve"])
    sb.add_argument("--host", default="127.0.0.1")
    sb.add_argument("--port", type=int, default=8765)
    sb.add_argument("--smtp-port", type=int, default=8025)
    sb.add_argument("--data-dir", default=str(DATA_DIR))
    sb.add_argument("--state-dir", default=str(var_dir() / "sandbox"))
    sb.add_argument("--outbox", default=str(var_dir() / "outbox"))
    sb.add_argument("--synthetic", type=int, default=0,
                    help="add N generated decisions (Jan–Jun 2026) for load tests and backfill rehearsals")
    sb.set_defaults(func=cmd_sandbox)

    pl = sub.add_parser("prod-local", help="the production topology on this machine (no Docker), supervised: "
                                          "a process that exits is restarted with backoff")
    pl.add_argument("action", choices=["up", "down", "status"])
    pl.add_argument("--keep", action="store_true", help="up: keep the databases and state of the last run")
    pl.set_defaults(func=cmd_prod_local)

    demo = sub.add_parser("demo", help="run the DAGs end to end on the embedded default")
    demo.add_argument("--as-of", type=parse_date, default=date(2026, 11, 26),
                      help="the demo's run date (default 2026-11-26, so the demo is reproducible)")
    demo.set_defaults(func=cmd_demo)
