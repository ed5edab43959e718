"""The native topology supervises itself (issue 12, case 15): ``tthc_dev.supervisor`` restarts a
component that exits, with exponential backoff, logs it, and a stop leaves no process behind — not even
one that left its process group (as a SIGKILLed Celery worker's task process does).

Components here are small Python processes; the real topology (``tthc prod-local``) is exercised in
tests/e2e/test_topology_faults.py (kill the scheduler, see it come back)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tthc_dev.supervisor import Supervisor, marked_processes, stop

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"
SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]
# a component that starts a process of its own in a new session (out of its group), then sleeps
ESCAPER = [sys.executable, "-c",
           "import subprocess, sys, time; p = subprocess.Popen([sys.executable, '-c', 'import time; "
           "time.sleep(600)'], start_new_session=True); open(sys.argv[1], 'w').write(str(p.pid)); time.sleep(600)"]


def _wait(what: str, check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][:1] not in ("Z", "X")
    except OSError:
        return False


@pytest.fixture
def supervised(tmp_path: Path):
    """Start a supervisor process over the given components; always stopped at the end."""
    started: list[Path] = []
    marker = ("TTHC_TEST_SUPERVISED", str(tmp_path))

    def start(components: dict, backoff_max: float = 30.0) -> Path:
        state = tmp_path / "pids.json"
        spec = {"state_file": str(state), "logs": str(tmp_path / "logs"), "backoff_max": backoff_max,
                "stable_after": 60, "grace": 5, "components": components}
        (tmp_path / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": f"{PLUGINS}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
               marker[0]: marker[1]}
        subprocess.Popen([sys.executable, "-m", "tthc_dev.supervisor", str(tmp_path / "spec.json")], env=env,
                         start_new_session=True, stdout=open(tmp_path / "supervisor.out", "ab"),  # noqa: SIM115
                         stderr=subprocess.STDOUT)
        _wait("the state file", lambda: state.exists() and set(_state(state)["pids"]) == set(components))
        started.append(state)
        return state

    yield start, marker
    for state in started:
        if state.exists():
            stop(state, marker=marker, grace=5)


def _state(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_a_killed_component_comes_back_and_the_restart_is_logged(supervised, tmp_path):
    start, _ = supervised
    state = start({"scheduler": {"cmd": SLEEPER}, "worker1": {"cmd": SLEEPER}})
    first = _state(state)["pids"]
    os.kill(first["scheduler"], signal.SIGKILL)
    again = _wait("the scheduler to be restarted",
                  lambda: (p := _state(state)["pids"])["scheduler"] != first["scheduler"] and p)
    assert _alive(again["scheduler"]) and again["worker1"] == first["worker1"]
    assert _state(state)["restarts"] == {"scheduler": 1, "worker1": 0}
    log = (tmp_path / "supervisor.out").read_text()
    assert f"scheduler (pid {first['scheduler']}) exited with code -9" in log and "restart #1" in log


def test_a_component_that_keeps_exiting_backs_off_exponentially(supervised, tmp_path):
    start, _ = supervised
    state = start({"dag-processor": {"cmd": [sys.executable, "-c", "raise SystemExit(3)"]}}, backoff_max=4)
    _wait("four restarts", lambda: _state(state)["restarts"]["dag-processor"] >= 4, timeout=30)
    delays = [line.rsplit("restarting in ", 1)[1] for line in (tmp_path / "supervisor.out").read_text().splitlines()
              if "restarting in" in line]
    assert delays[:5] == ["1 s", "2 s", "4 s", "4 s", "4 s"][:len(delays[:5])] and len(delays) >= 4
    assert "exited with code 3" in (tmp_path / "supervisor.out").read_text()


def test_backoff_resets_after_a_stable_run():
    sup = Supervisor({}, Path("/nonexistent"), Path("/nonexistent"), backoff_max=30, stable_after=60)
    assert [sup.backoff(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


def test_stop_leaves_no_process_behind(supervised, tmp_path):
    start, marker = supervised
    escaped_file = tmp_path / "escaped.pid"
    state = start({"worker1": {"cmd": [*ESCAPER, str(escaped_file)]}, "api-server": {"cmd": SLEEPER}})
    escaped = int(_wait("the escaped process", lambda: escaped_file.exists() and escaped_file.read_text()))
    pids = _state(state)["pids"]
    supervisor = _state(state)["supervisor"]
    os.kill(pids["worker1"], signal.SIGKILL)  # like a SIGKILLed Celery worker: its own child survives
    _wait("the worker to come back", lambda: _state(state)["pids"]["worker1"] != pids["worker1"])
    assert _alive(escaped)
    second = int(_wait("the new worker's own process",
                       lambda: escaped_file.read_text() != str(escaped) and escaped_file.read_text()))
    last = stop(state, marker=marker, grace=5)
    assert sorted(last["pids"]) == ["api-server", "worker1"]
    names = {supervisor: "supervisor", escaped: "escaped", second: "escaped 2"} | \
        {p: n for n, p in pids.items()} | {p: n for n, p in last["pids"].items()}
    for pid, name in names.items():
        assert not _alive(pid), (name, pid)
    assert marked_processes(*marker) == []
