"""An SMTP server that accepts every message and stores it as an ``.eml`` file (the sandbox's mail)."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import os
import socket
import tempfile
import threading
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


def free_port(host: str = "127.0.0.1") -> int:
    """A currently free TCP port on ``host`` (aiosmtpd's Controller cannot bind port 0 itself)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class _StoreHandler:
    """aiosmtpd handler writing each message, exactly as received, to the outbox."""

    def __init__(self, outbox: Path) -> None:
        self.outbox = outbox
        self._seq = itertools.count(1)
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd API
        raw = envelope.original_content
        if raw is None:
            raw = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        with self._lock:
            seq = next(self._seq)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        sha8 = hashlib.sha256(raw).hexdigest()[:8]
        target = self.outbox / f"{stamp}-{seq:04d}-{sha8}.eml"
        self.outbox.mkdir(parents=True, exist_ok=True)
        # Write to a temporary name first so that readers never see a half-written message.
        fd, tmp = tempfile.mkstemp(prefix=".incoming-", suffix=".tmp", dir=self.outbox)
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
        os.replace(tmp, target)
        return "250 Message accepted for delivery"


class SmtpSink:
    """``SmtpSink(outbox).start()`` listens on ``host:port`` (port 0 picks a free one)."""

    def __init__(self, outbox: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.outbox = Path(outbox)
        self.host = host
        self.port = port
        self._controller: Controller | None = None

    def start(self) -> SmtpSink:
        if self._controller is not None:
            return self
        self.outbox.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port("127.0.0.1" if self.host in ("", "0.0.0.0") else self.host)
        controller = Controller(_StoreHandler(self.outbox), hostname=self.host, port=self.port)
        controller.start()
        self._controller = controller
        return self

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def messages(self) -> list[Path]:
        """Stored messages, oldest first."""
        if not self.outbox.exists():
            return []
        return sorted(self.outbox.glob("*.eml"))
