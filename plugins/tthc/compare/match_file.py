"""``tthc match FILE.csv``: match a list of procedure names (and optional codes) to the catalogue.

The CSV is UTF-8 (a BOM is tolerated) with a header row holding ``name`` and optionally ``code``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tthc.compare.matching import Candidate, Matcher, ReviewMemory

VERDICT_VI = {"matched": "khớp", "review": "cần xem xét", "not_found": "không có trong danh mục"}
HEADERS = ("STT", "Tên nhập vào", "Mã khớp", "Tên trong danh mục", "Điểm", "Kết quả")


def read_items(path_csv: str | Path) -> list[tuple[int, str, str | None]]:
    """(row number in the file, name, code) of each data row; ValueError naming the problem otherwise."""
    path = Path(path_csv)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    if "name" not in header:
        raise ValueError(f"{path}: no 'name' column in the header row (found: {', '.join(header) or 'nothing'})")
    reader.fieldnames = header
    items = []
    for row in reader:
        name = (row.get("name") or "").strip()
        code = (row.get("code") or "").strip() or None
        if not name and not code:
            continue  # blank line
        items.append((reader.line_num, name, code))
    return items


def run_match_file(path_csv: str | Path, candidates: Sequence[Candidate], *, memory: ReviewMemory | None = None,
                   session: Any = None) -> list[dict[str, Any]]:
    """One dict per data row: row, name, input_code, verdict, code, matched_name, score, reason, alternatives."""
    items = read_items(path_csv)
    matcher = Matcher(candidates, memory=memory, session=session)
    results = matcher.match_many([(name, code, None) for _, name, code in items])
    return [{"row": row, "name": name, "input_code": code, "verdict": res.verdict, "code": res.code,
             "matched_name": res.name, "score": res.score, "reason": res.reason,
             "alternatives": [tuple(a) for a in res.alternatives]}
            for (row, name, code), res in zip(items, results, strict=True)]


def _cut(text: str | None, width: int) -> str:
    text = text or ""
    return text if len(text) <= width else text[:width - 1] + "…"


def format_rows(rows: Sequence[dict[str, Any]], width: int = 48) -> str:
    """A plain-text table of :func:`run_match_file` rows, verdicts in Vietnamese."""
    table = [HEADERS] + [(str(r["row"]), _cut(r["name"], width), r["code"] or "", _cut(r["matched_name"], width),
                          f"{r['score']:.1f}", VERDICT_VI[r["verdict"]]) for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADERS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    counts = {v: sum(r["verdict"] == k for r in rows) for k, v in VERDICT_VI.items()}
    lines.append("")
    lines.append(", ".join(f"{v}: {n}" for v, n in counts.items()))
    return "\n".join(lines)
