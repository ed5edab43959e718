"""A small process supervisor: what docker compose's ``restart: always`` does, for the native topology.

``python -m tthc_dev.supervisor SPEC.json`` starts every component of the spec, each in its own process
group with its output appended to ``<logs>/<name>.log``, and restarts any that exits, after an
exponential backoff (1 s, 2 s, 4 s … at most ``backoff_max``; back to 1 s once a component has run
``stable_after`` seconds). Every exit and restart is logged (its own log: ``<logs>/supervisor.log``).

The state file (``pids.json``, written atomically on every change) names the supervisor's pid, each
component's current pid, every process group ever started and the restart counts, so that a stop
(:func:`stop`) finds everything, the process groups of components that died and were replaced
included (a SIGKILLed Celery worker can leave its task processes running in its old group).

On SIGTERM or SIGINT the supervisor stops restarting, sends SIGTERM to every group, waits ``grace``
seconds, then SIGKILLs what is left, and exits. Standard library only: it must outlive what it watches.

Spec: ``{"state_file": ..., "logs": ..., "backoff_max": 30, "stable_after": 60, "grace": 20,
"components": {"name": {"cmd": [...], "env": {...}}}}`` (``env``: added to the supervisor's own).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("tthc_dev.supervisor")


@dataclass
class Component:
    name: str
    cmd: list[str]
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen | None = None
    started: float = 0.0
    failures: int = 0  # exits in a row without a stable run (sets the backoff)
    restarts: int = 0
    due: float | None = None  # when to restart it (after an exit)


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(tmp, path)


class Supervisor:
    def __init__(self, components: dict[str, dict[str, Any]], state_file: Path, logs: Path, *,
                 backoff_max: float = 30.0, stable_after: float = 60.0, grace: float = 20.0,
                 poll: float = 0.2) -> None:
        self.components = {n: Component(n, list(c["cmd"]), dict(c.get("env") or {})) for n, c in components.items()}
        self.state_file, self.logs = Path(state_file), Path(logs)
        self.backoff_max, self.stable_after, self.grace, self.poll = backoff_max, stable_after, grace, poll
        self.groups: list[int] = []
        self.stopping = False

    # -- one component
    def _start(self, c: Component) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        with open(self.logs / f"{c.name}.log", "ab") as out:
            c.proc = subprocess.Popen(c.cmd, env={**os.environ, **c.env}, stdout=out, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        c.started, c.due = time.monotonic(), None
        self.groups.append(c.proc.pid)
        log.info("started %s (pid %d)%s", c.name, c.proc.pid, f", restart #{c.restarts}" if c.restarts else "")

    def backoff(self, failures: int) -> float:
        return min(2.0 ** max(failures - 1, 0), self.backoff_max)

    def _check(self, c: Component, now: float) -> bool:
        """Notice an exit and plan the restart; start what is due. True when something changed."""
        if c.proc is not None and c.due is None:
            code = c.proc.poll()
            if code is None:
                return False
            ran = now - c.started
            c.failures = 1 if ran >= self.stable_after else c.failures + 1
            delay = self.backoff(c.failures)
            c.due = now + delay
            log.warning("%s (pid %d) exited with code %s after %.1f s; restarting in %.0f s", c.name, c.proc.pid,
                        code, ran, delay)
            return True
        if c.due is not None and now >= c.due and not self.stopping:
            c.restarts += 1
            self._start(c)
            return True
        return False

    def state(self) -> dict[str, Any]:
        return {"supervisor": os.getpid(),
                "pids": {n: c.proc.pid for n, c in self.components.items() if c.proc is not None},
                "groups": self.groups, "restarts": {n: c.restarts for n, c in self.components.items()}}

    def _save(self) -> None:
        _write_json(self.state_file, self.state())

    # -- the loop
    def run(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        for c in self.components.values():
            self._start(c)
        self._save()
        while not self.stopping:
            now = time.monotonic()
            changed = [self._check(c, now) for c in self.components.values()]
            if any(changed):
                self._save()
            time.sleep(self.poll)
        self.stop_all()

    def _on_signal(self, signum, _frame) -> None:
        log.info("signal %d: stopping every component", signum)
        self.stopping = True

    def stop_all(self) -> None:
        kill_groups(self.groups, self.grace)
        for c in self.components.values():
            if c.proc is not None:
                try:
                    c.proc.wait(timeout=1)
                except subprocess.TimeoutExpired:
                    pass
        log.info("stopped")


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def kill_groups(groups: list[int], grace: float) -> None:
    """SIGTERM every process group, wait up to ``grace`` seconds, SIGKILL what is left."""
    for pgid in groups:
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(group_alive(g) for g in groups):
        time.sleep(0.2)
    for pgid in groups:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def marked_processes(marker: str, value: str) -> list[int]:
    """Pids of this user's processes whose environment has ``marker=value`` (Linux ``/proc``): every
    process a topology started, whatever group or parent it ended up with."""
    wanted = f"{marker}={value}".encode()
    found = []
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            env = (entry / "environ").read_bytes()
        except OSError:
            continue
        if wanted in env.split(b"\0"):
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:  # reap it if it is our own child
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop(state_file: Path, *, marker: tuple[str, str] | None = None, grace: float = 20) -> dict[str, Any]:
    """Stop a supervised set: SIGTERM the supervisor and wait for it (it stops its components), then —
    so nothing is left, even if the supervisor was killed — every process group it ever started and
    every process carrying ``marker`` (``(name, value)`` in its environment). Returns the last state."""
    state = json.loads(Path(state_file).read_text(encoding="utf-8"))
    supervisor = state.get("supervisor")
    if supervisor and _alive(supervisor):
        os.kill(supervisor, signal.SIGTERM)
        deadline = time.monotonic() + grace + 10
        while time.monotonic() < deadline and _alive(supervisor):
            time.sleep(0.2)
    state = json.loads(Path(state_file).read_text(encoding="utf-8"))  # its last word
    kill_groups(sorted(set(state.get("groups", [])) | set(state.get("pids", {}).values())), grace=5)
    if marker is not None:
        left = marked_processes(*marker)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
                log.warning("killed pid %d left behind (marked %s)", pid, marker[0])
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(_running(p) for p in left):
            time.sleep(0.05)
    return state


def _running(pid: int) -> bool:
    """Alive and not a zombie (a killed process whose parent has not reaped it yet is done)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return _alive(pid)
    return stat.rsplit(") ", 1)[1][:1] not in ("Z", "X")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stdout)
    Supervisor(spec["components"], Path(spec["state_file"]), Path(spec["logs"]),
               backoff_max=float(spec.get("backoff_max", 30)), stable_after=float(spec.get("stable_after", 60)),
               grace=float(spec.get("grace", 20))).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
