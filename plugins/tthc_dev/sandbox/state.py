"""The sandbox's persisted channel state: JSON files under ``state_dir``, written atomically.

What clients post to the CMS (``cms_posts.json``: posts, pages and media; the uploaded files in
``media/``), the CSDL (``csdl.json``) and the provincial portal (``province_portal.json``) is kept there
so that a restarted sandbox still holds it; :meth:`tthc_dev.sandbox.app.Sandbox.reset` forgets all of it.
Every write replaces the whole file atomically (:mod:`tthc.core.fsutil`): a sandbox killed mid-write
leaves the previous version, never half a file.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tthc.core.fsutil import atomic_write_text


def write_json_atomic(path: Path, payload: Any) -> None:
    atomic_write_text(path, json.dumps(payload, ensure_ascii=False, indent=2))


def read_json(path: Path, default: Any) -> Any:
    if not path.exists():
        return default
    return json.loads(path.read_text(encoding="utf-8"))


def now_iso() -> str:
    """The wall-clock time stamp a real server puts on a stored record (seconds, local time)."""
    return dt.datetime.now().replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class Shared:
    """What the rooms of one sandbox share.

    ``lock``: held around every read and change of a room's state (one lock for all rooms, re-entrant so
    that a reset clears every room under one hold); ``base_url``: the server's address, known once it
    is started (links and ``Location`` headers of created objects).
    """

    state_dir: Path
    lock: threading.RLock
    base_url: Callable[[], str]

    def load(self, name: str, default: Any) -> Any:
        """The JSON state file ``name`` under ``state_dir``, or ``default`` if there is none yet."""
        return read_json(self.state_dir / name, default)

    def save(self, name: str, payload: Any) -> None:
        write_json_atomic(self.state_dir / name, payload)
