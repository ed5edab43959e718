"""Import and export of the province's procedure catalogue in the form departments keep it (.xlsx/.csv).

Columns (header row, Vietnamese as in the department's spreadsheets):
``STT, Mã TTHC, Tên thủ tục hành chính, Lĩnh vực, Cấp thực hiện, Cơ quan thực hiện, Trạng thái``.
Every row is validated first; a file with any error changes nothing and the errors name their row.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from tthc.catalogue.store import ImportResult, save_version
from tthc.core.labels import LEVEL_CODES, LEVEL_NAMES, PROCEDURE_STATUS_CODES, PROCEDURE_STATUS_NAMES
from tthc.core.text import clean, match_key
from tthc.db.models import Field, Procedure

COLUMNS = ["STT", "Mã TTHC", "Tên thủ tục hành chính", "Lĩnh vực", "Cấp thực hiện", "Cơ quan thực hiện", "Trạng thái"]
REQUIRED = ["Tên thủ tục hành chính", "Lĩnh vực", "Cấp thực hiện"]
CODE_RE = re.compile(r"^\d\.\d{6}$")


class CatalogueFileError(ValueError):
    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("catalogue file rejected, nothing changed:\n" + "\n".join(errors))


@dataclass(frozen=True)
class CatalogueRow:
    row: int
    code: str | None
    name: str
    field_key: str
    levels: tuple[str, ...]
    agency: str
    status: str


def seed_fields(session: Session, path: str | Path) -> int:
    """Load fields (lĩnh vực) from a YAML list of {key, name, portal_id}; upsert by key."""
    with open(path, encoding="utf-8") as fh:
        entries = yaml.safe_load(fh) or []
    count = 0
    for entry in entries:
        key = str(entry["key"])
        row = session.scalar(select(Field).where(Field.key == key))
        if row is None:
            row = Field(key=key, name=clean(entry["name"]))
            session.add(row)
            count += 1
        row.name = clean(entry["name"])
        row.portal_id = str(entry.get("portal_id") or "") or None
    session.flush()
    return count


def _read_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(row number as the user sees it in the file, cells by header) for every non-empty data row."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CatalogueFileError([f"{path.name}: not UTF-8 text ({exc}); save the file as CSV UTF-8"]) from exc
        reader = csv.DictReader(text.splitlines())
        header = [clean(h) for h in reader.fieldnames or []]
        rows = [(reader.line_num, {clean(k): v for k, v in r.items() if k is not None}) for r in reader]
    elif suffix == ".xlsx":
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds
            raise CatalogueFileError([f"{path.name}: not a readable .xlsx file ({exc})"]) from exc
        values = list(wb.active.iter_rows(values_only=True))
        if not values:
            raise CatalogueFileError([f"{path.name}: empty workbook"])
        header = [clean(h) for h in values[0]]
        rows = [(number, dict(zip(header, r, strict=False))) for number, r in enumerate(values[1:], start=2)
                if any(c not in (None, "") for c in r)]
    else:
        raise CatalogueFileError([f"{path.name}: unsupported file type (use .xlsx or .csv)"])
    missing = [c for c in REQUIRED + ["Mã TTHC"] if c not in header]
    if missing:
        raise CatalogueFileError([f"{path.name}: header lacks column(s) {missing}; expected {COLUMNS}"])
    return rows


def parse_catalogue(session: Session, path: str | Path) -> list[CatalogueRow]:
    path = Path(path)
    fields = {match_key(f.name): f.key for f in session.scalars(select(Field))}
    fields.update({f.key: f.key for f in session.scalars(select(Field))})
    errors: list[str] = []
    parsed: list[CatalogueRow] = []
    seen: dict[str, int] = {}
    for number, raw in _read_rows(path):
        cells = {k: clean(v) for k, v in raw.items()}
        problems = [f"thiếu '{c}'" for c in REQUIRED if not cells.get(c)]
        code = cells.get("Mã TTHC") or None
        if code and not CODE_RE.match(code):
            problems.append(f"mã TTHC '{code}' không đúng dạng d.dddddd")
        field_name = cells.get("Lĩnh vực", "")
        field_key = fields.get(match_key(field_name)) or fields.get(field_name)
        if field_name and field_key is None:
            problems.append(f"lĩnh vực '{field_name}' không có trong danh mục lĩnh vực")
        levels: list[str] = []
        for part in re.split(r"[;,]", cells.get("Cấp thực hiện", "")):
            part = part.strip().lower()
            if not part:
                continue
            if part not in LEVEL_CODES:
                problems.append(f"cấp thực hiện '{part}' không hợp lệ")
            else:
                levels.append(LEVEL_CODES[part])
        status = PROCEDURE_STATUS_CODES.get((cells.get("Trạng thái") or "Đang áp dụng").lower())
        if status is None:
            problems.append(f"trạng thái '{cells.get('Trạng thái')}' không hợp lệ")
        natural = code or match_key(cells.get("Tên thủ tục hành chính"))
        if natural in seen:
            problems.append(f"trùng với dòng {seen[natural]}")
        seen.setdefault(natural, number)
        if problems:
            errors.append(f"dòng {number}: " + "; ".join(problems))
            continue
        parsed.append(CatalogueRow(number, code, cells["Tên thủ tục hành chính"], field_key or "", tuple(levels),
                                   cells.get("Cơ quan thực hiện", ""), status or "active"))
    if errors:
        raise CatalogueFileError(errors)
    if not parsed:
        raise CatalogueFileError([f"{path.name}: no data rows"])
    return parsed


def import_catalogue(session: Session, path: str | Path) -> ImportResult:
    """Validate the whole file, then upsert by code (or name when no code), recording versions."""
    rows = parse_catalogue(session, path)
    field_ids = {f.key: f.id for f in session.scalars(select(Field))}
    result = ImportResult()
    for row in rows:
        by_name = select(Procedure).where(Procedure.name_key == match_key(row.name))
        if row.code:  # by code; a procedure known only by name may be getting its code now
            proc = session.scalar(select(Procedure).where(Procedure.code == row.code))
            if proc is None:
                proc = session.scalars(by_name.where(Procedure.code.is_(None))).first()
        else:
            proc = session.scalars(by_name).first()
        values = {"code": row.code, "name": row.name, "name_key": match_key(row.name),
                  "field_id": field_ids[row.field_key], "levels": ",".join(row.levels), "agency": row.agency,
                  "status": row.status}
        save_version(session, proc, values, f"import {Path(path).name}", result)
    session.flush()
    return result


def export_catalogue(session: Session, path: str | Path) -> int:
    path = Path(path)
    procs = list(session.scalars(select(Procedure).order_by(Procedure.code, Procedure.id)))
    rows = [
        [i, p.code or "", p.name, p.field.name if p.field else "",
         "; ".join(LEVEL_NAMES[lv] for lv in p.level_list), p.agency, PROCEDURE_STATUS_NAMES.get(p.status, p.status)]
        for i, p in enumerate(procs, start=1)
    ]
    if path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.title = "Danh mục TTHC"
        ws.append(COLUMNS)
        for r in rows:
            ws.append(r)
        wb.save(path)
    elif path.suffix.lower() == ".csv":
        with open(path, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(COLUMNS)
            writer.writerows(rows)
    else:
        raise ValueError(f"{path.name}: unsupported file type (use .xlsx or .csv)")
    return len(rows)
