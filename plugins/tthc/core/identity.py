"""Which process holds something (a claim on a channel object, a mail being sent), and whether it is gone.

An identity is ``host:pid:random``. A holder on another host can only be presumed dead when its lease
runs out; one on this host whose process no longer exists is certainly gone (a killed worker's task),
so what it held may be taken over at once. A reused pid only makes the check say "alive": safe.
"""

from __future__ import annotations

import os
import socket
import uuid


def process_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def is_gone(identity: str | None) -> bool:
    """True when ``identity`` (or the ``host:pid:random`` after its last " @ ") names a process of this
    host that no longer exists."""
    if not identity:
        return False
    host, _, rest = identity.rpartition(" @ ")[2].partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
