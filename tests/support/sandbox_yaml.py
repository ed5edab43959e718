"""The sandbox's data files as tests read them: parsed once per session (libyaml when PyYAML has it) and
handed out as deep copies, so a test may change what it gets. procedures.yaml is 200 KB: parsing it with
the pure-Python loader in every helper call cost about 0.25 s each, 6 s in one ingest test."""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(__file__).resolve().parents[2] / "plugins" / "tthc_dev" / "sandbox" / "data"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@lru_cache(maxsize=8)
def _parsed(name: str) -> Any:
    return yaml.load((DATA_DIR / name).read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506 - safe loader


def sandbox_yaml(name: str) -> Any:
    """A deep copy of the parsed ``plugins/tthc_dev/sandbox/data/<name>``."""
    return copy.deepcopy(_parsed(name))
