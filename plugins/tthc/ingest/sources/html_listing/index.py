"""A light index of the configured sites, for DAG files at parse time (only PyYAML, no validation:
the task validates the full configuration when it runs and fails with a clear error)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

SITES_DIR = Path(__file__).resolve().parent / "sites"


@dataclass(frozen=True)
class SiteEntry:
    name: str
    pool: str
    enabled: bool
    path: Path


def site_entries(directory: Path = SITES_DIR) -> list[SiteEntry]:
    entries = []
    for path in sorted(directory.glob("*.yaml")):
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
        entries.append(SiteEntry(name=str(data.get("name") or path.stem), pool=str(data.get("pool") or "html_sites"),
                                 enabled=bool(data.get("enabled", True)), path=path))
    return entries
