"""Run the sandbox (HTTP systems + SMTP sink) in the foreground until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import os
import signal
import threading
from pathlib import Path

from tthc_dev.sandbox.app import DEFAULT_DATA_DIR, Sandbox
from tthc_dev.sandbox.smtp_sink import SmtpSink

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_SMTP_PORT = 2525
DEFAULT_STATE_DIR = Path("var/sandbox")


def serve(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    smtp_port: int = DEFAULT_SMTP_PORT,
    data_dir: Path | None = None,
    state_dir: Path = DEFAULT_STATE_DIR,
    outbox: Path | None = None,
    synthetic: int = 0,
    provinces: bool = True,
    own_listing_lag_days: int | None = 3,
) -> None:
    """Start both servers, print their addresses and block until SIGTERM/SIGINT.

    Writes ``state_dir/sandbox.pid`` while running. ``outbox`` defaults to ``state_dir/outbox``.
    """
    state_dir = Path(state_dir)
    data_dir = Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR
    outbox = Path(outbox) if outbox is not None else state_dir / "outbox"
    state_dir.mkdir(parents=True, exist_ok=True)
    pid_file = state_dir / "sandbox.pid"

    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    sandbox = Sandbox(data_dir=data_dir, state_dir=state_dir, host=host, port=port, synthetic=synthetic,
                      provinces=provinces, own_listing_lag_days=own_listing_lag_days)
    sink = SmtpSink(outbox=outbox, host=host, port=smtp_port)
    try:
        sandbox.start()
        sink.start()
        pid_file.write_text(f"{os.getpid()}\n", encoding="utf-8")
        print(f"sandbox http: {sandbox.url}", flush=True)
        print(f"sandbox smtp: smtp://{host}:{sink.port} (outbox {outbox})", flush=True)
        print(f"sandbox pid {os.getpid()} (stop with SIGTERM or Ctrl-C)", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        sink.stop()
        sandbox.stop()
        pid_file.unlink(missing_ok=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        print("sandbox stopped", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--smtp-port", type=int, default=DEFAULT_SMTP_PORT)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    parser.add_argument("--outbox", type=Path, default=None)
    parser.add_argument("--no-provinces", action="store_true",
                        help="list no other province's decisions on the national decision list")
    parser.add_argument("--own-listing-lag-days", type=int, default=3,
                        help="days from signing until the national list shows a decision pushed to the CSDL "
                             "(negative: never)")
    args = parser.parse_args(argv)
    lag = args.own_listing_lag_days if args.own_listing_lag_days >= 0 else None
    serve(args.host, args.port, args.smtp_port, args.data_dir, args.state_dir, args.outbox,
          provinces=not args.no_provinces, own_listing_lag_days=lag)


if __name__ == "__main__":
    main()
