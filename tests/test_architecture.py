"""The package's layer rules (import-linter contracts in pyproject.toml; docs/architecture.md), and sizes.

The contracts run on the real tree, and on a copy of it with a probe import added, to show that each
contract does fail when its rule is broken.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")
MAX_RUNTIME_LINES = 600


def _lint(plugins: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(plugins)}
    return subprocess.run([str(LINT), "--no-cache", str(ROOT / "pyproject.toml")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_contracts_kept():
    out = _lint(ROOT / "plugins")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "3 kept, 0 broken" in out.stdout


# probe file (relative to plugins/) → its import → the contract it must break
PROBES = {
    "core-imports-a-stage": ("tthc/core/_probe.py", "import tthc.sync.plan\n", "Layers"),
    "stage-imports-a-stage": ("tthc/ingest/_probe.py", "from tthc.reports import digest\n", "Layers"),
    "store-imports-catalogue": ("tthc/db/_probe.py", "import tthc.catalogue.keys\n", "Layers"),
    "runtime-imports-dev": ("tthc/cli/_probe.py", "import tthc_dev.demo\n", "never imports the development"),
    "cycle": ("tthc/core/_probe_cycle.py", "import tthc.core.config\n", "No import cycles"),
}


@pytest.mark.parametrize("probe", sorted(PROBES))
def test_a_probe_import_breaks_its_contract(tmp_path, probe):
    plugins = tmp_path / "plugins"
    shutil.copytree(ROOT / "plugins", plugins, ignore=shutil.ignore_patterns("__pycache__", "data"))
    rel, code, contract = PROBES[probe]
    (plugins / rel).write_text(code, encoding="utf-8")
    if probe == "cycle":  # config → probe → config
        config = plugins / "tthc/core/config.py"
        config.write_text(config.read_text(encoding="utf-8") + "\nfrom tthc.core import _probe_cycle  # noqa\n",
                          encoding="utf-8")
    out = _lint(plugins)
    assert out.returncode != 0, out.stdout[-2000:]
    broken = [line for line in out.stdout.splitlines() if line.endswith("BROKEN") or "BROKEN (" in line]
    assert any(contract in line for line in broken), out.stdout[-3000:]


def test_no_runtime_module_over_600_lines():
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / "plugins" / "tthc").rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_RUNTIME_LINES}
    assert long == {}
