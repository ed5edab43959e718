"""``tthc match FILE.csv``: match a list of procedure names (and optional codes) to the catalogue.

INPUT_HELP describes the file; :func:`format_rows` prints the result as a table, CSV or JSON.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tthc.compare.matching import Candidate, Matcher, ReviewMemory

INPUT_HELP = """The input is a CSV file in UTF-8 (a byte-order mark is fine) whose first row is a header
with a column `name` (the procedure name as written in the annex, required) and optionally `code` (its
code when the annex gives one, e.g. 1.001155); other columns are ignored; blank lines are skipped.
Example:
    name,code
    Thủ tục đăng ký hoạt động của tổ chức khoa học và công nghệ,
    Cấp Giấy chứng nhận doanh nghiệp khoa học và công nghệ,1.000004
Results: "khớp" (matched: the code is the catalogue's), "cần xem xét" (only close: the closest catalogue
procedure is shown as a suggestion, never as a match), "không có trong danh mục" (not found)."""

VERDICT_VI = {"matched": "khớp", "review": "cần xem xét", "not_found": "không có trong danh mục"}


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


COLUMNS = ("stt", "line", "name", "input_code", "verdict", "code", "matched_name", "suggested_code",
           "suggested_name", "score", "reason")
HEADERS = {"stt": "STT", "line": "Dòng", "name": "Tên nhập vào", "input_code": "Mã nhập vào", "verdict": "Kết quả",
           "code": "Mã khớp", "matched_name": "Tên trong danh mục", "suggested_code": "Mã gợi ý",
           "suggested_name": "Tên gợi ý", "score": "Điểm", "reason": "Lý do"}


def output_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One flat record per input row, numbered from 1 (``line``: the row in the file). A code is a match
    only when the verdict is "khớp"; for a name that needs review the closest catalogue procedure is a
    suggestion (``suggested_code``), never a match."""
    out = []
    for n, r in enumerate(rows, start=1):
        matched = r["verdict"] == "matched"
        out.append({
            "stt": n, "line": r["row"], "name": r["name"], "input_code": r["input_code"] or "",
            "verdict": VERDICT_VI[r["verdict"]],
            "code": (r["code"] or "") if matched else "",
            "matched_name": (r["matched_name"] or "") if matched else "",
            "suggested_code": (r["code"] or "") if r["verdict"] == "review" else "",
            "suggested_name": (r["matched_name"] or "") if r["verdict"] == "review" else "",
            "score": round(float(r["score"]), 1), "reason": r["reason"] or "",
        })
    return out


def format_rows(rows: Sequence[dict[str, Any]], fmt: str = "table") -> str:
    """The rows of :func:`run_match_file` as ``table`` (plain text, full names), ``csv`` or ``json``."""
    records = output_rows(rows)
    if fmt == "json":
        import json

        return json.dumps(records, ensure_ascii=False, indent=2)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow([HEADERS[c] for c in COLUMNS])
        writer.writerows([[_csv_safe(rec[c]) for c in COLUMNS] for rec in records])
        return buf.getvalue().rstrip("\n")
    if fmt != "table":
        raise ValueError(f"unknown format {fmt!r} (table, csv or json)")
    return _table(records)


def _csv_safe(value: Any) -> Any:
    """A text cell starting with = + - @ (or tab/CR) gets a leading quote, so no spreadsheet runs it as a
    formula (names come from outside)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


TABLE_COLUMNS = ("stt", "name", "code", "matched_name", "suggested_code", "score", "verdict")


def _table(records: list[dict[str, Any]]) -> str:
    table = [tuple(HEADERS[c] for c in TABLE_COLUMNS)]
    table += [tuple(f"{rec[c]:.1f}" if c == "score" else str(rec[c]) for c in TABLE_COLUMNS) for rec in records]
    widths = [max(len(line[i]) for line in table) for i in range(len(TABLE_COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    counts = {v: sum(rec["verdict"] == v for rec in records) for v in VERDICT_VI.values()}
    lines.append("")
    lines.append(", ".join(f"{v}: {n}" for v, n in counts.items()))
    return "\n".join(lines)
