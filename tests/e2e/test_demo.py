"""demo + summary: ``tthc demo`` (what ``make demo`` runs) end to end, twice, in a fresh runtime dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import yaml
from tthc_dev.sandbox import DATA_DIR

pytestmark = pytest.mark.e2e
DATA = DATA_DIR


def _demo(var: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env["TTHC_VAR_DIR"] = str(var)
    return subprocess.run([sys.executable, "-m", "tthc.cli", "demo"], env=env, capture_output=True, text=True,
                          timeout=900)


def test_demo_twice_same_end_state_nothing_sent_twice(tmp_path):
    var = tmp_path / "var"
    first = _demo(var)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    out = first.stdout
    timeline = yaml.safe_load((DATA / "decisions.yaml").read_text(encoding="utf-8"))
    # watched decisions on the portal before the run date, plus those already signed and listed on the
    # ministry website although the portal publishes them later
    expected = [d for d in timeline if d["agency"] == "Bộ Khoa học và Công nghệ"
                and min(date.fromisoformat(d["published"]), date.fromisoformat(d["signed"])) < date(2026, 11, 26)]
    assert f"Decisions ingested: {len(expected)} " in out
    assert "Procedures flagged:" in out and "Hạn công bố" in out
    assert "cms" in out and "Emails: 1 sent" in out
    # the draft decision was written and (demo only) approved by tthc_approve's auto_approve param
    assert "Provincial announcement drafts: 1" in out and "Đã phê duyệt" in out and "0/QĐ-DEMO" in out
    # tthc_verify four days later: the sandbox lists the approved decision three days after signing
    csdl = out[out.index("Publication on the national CSDL"):]
    assert "0/QĐ-DEMO" in csdl and "Đã công khai trên CSDL quốc gia" in csdl and "29/11/2026" in csdl
    assert len(list((var / "drafts").glob("*.docx"))) == 1
    emls = sorted((var / "outbox").glob("*.eml"))
    assert len(emls) == 1 and str(emls[0]) in out
    posts = json.loads((var / "sandbox" / "cms_posts.json").read_text(encoding="utf-8"))["posts"]

    second = _demo(var)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert sorted((var / "outbox").glob("*.eml")) == emls
    assert json.loads((var / "sandbox" / "cms_posts.json").read_text(encoding="utf-8"))["posts"] == posts

    def tail(text: str) -> str:
        return text[text.index("Decisions ingested"):]

    assert tail(second.stdout) == tail(out)
