"""Import and export of the province's procedure catalogue in the form departments keep it (.xlsx/.csv).

Columns (header row, Vietnamese as in the department's spreadsheets):
``STT, Mã TTHC, Tên thủ tục hành chính, Lĩnh vực, Cấp thực hiện, Cơ quan thực hiện, Trạng thái``.
Only the name column is required (other usual headers are understood: "Mã thủ tục", "Tên thủ tục", ...):
a list of just codes and names imports, its fields and levels filled from what the pipeline knows
(:mod:`tthc.catalogue.fill`) and the rest left "cần bổ sung" (``tthc catalogue incomplete``).

Every row is validated first; a file with any error changes nothing and the errors name their row.
A blank cell means "not given", never "erase": a row without a code, field, level, agency or status keeps
what the catalogue already holds (a procedure re-listed without its code keeps its code). A row without a
code is matched by name; when the name fits several catalogue procedures, the row must give the code.

Reading (:mod:`tthc.catalogue.reader`): every cell as text, size limits checked before a spreadsheet
library sees the file, every problem a message naming the file, the row and what to do. Row numbers in
errors ("dòng N") are the rows the user sees in a spreadsheet, header = row 1, blank rows counted.
Lengths: a value longer than its database column (e.g. ``Cơ quan thực hiện`` over 255 characters) is a
row error before anything is written, so PostgreSQL never sees it (SQLite would store it silently).

Formula injection (OWASP "CSV Injection"): names and agencies come from outside and may start with
``= + - @``, tab or CR. The export writes them through :mod:`tthc.core.spreadsheet`: string cells in the
.xlsx, a leading single quote in the .csv (removed again by the .csv import, so export → import gives back
the same catalogue).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from tthc.catalogue.columns import (
    AGENCY,
    CODE,
    CODE_RE,
    COLUMNS,
    FIELD,
    HEADER_ALIASES,
    LEVEL,
    NAME,
    NEEDS_INPUT,
    REQUIRED_COLUMNS,
    STATUS,
    is_blank,
    parse_levels,
)
from tthc.catalogue.fill import Knowledge, Reference, load_reference
from tthc.catalogue.reader import CatalogueFileError, read_table
from tthc.catalogue.store import ImportResult, save_version
from tthc.core.labels import LEVEL_NAMES, PROCEDURE_STATUS_CODES, PROCEDURE_STATUS_NAMES
from tthc.core.spreadsheet import FORMULA_START, csv_unescape, safe_csv_cell, set_text_cell, xlsx_text
from tthc.core.text import clean, match_key
from tthc.db.models import Field, Procedure

__all__ = ["COLUMNS", "FORMULA_START", "CatalogueFileError", "CatalogueRow", "csv_escape", "csv_unescape",
           "export_catalogue", "import_catalogue", "parse_catalogue", "read_catalogue", "seed_fields"]

SHEET = "Danh mục TTHC"
csv_escape = safe_csv_cell  # the name this module had for it
SEED_HINT = "thêm lĩnh vực vào plugins/tthc/settings/fields.yaml (hoặc tệp --fields) rồi chạy `tthc seed`"


@dataclass(frozen=True)
class CatalogueRow:
    """A checked row; None / () for a blank cell (not given: the catalogue's value is kept, or filled)."""

    row: int
    code: str | None
    name: str
    field_key: str | None
    levels: tuple[str, ...]
    agency: str | None
    status: str | None


def _limit(column: str) -> int | None:
    return getattr(Procedure.__table__.c[column].type, "length", None)


def _check_length(table: str, what: str, value: str, limit: int | None) -> None:
    if limit is not None and len(value) > limit:
        raise ValueError(f"{table}: {what} dài {len(value)} ký tự, tối đa {limit} ({value[:40]}…)")


def seed_fields(session: Session, path: str | Path) -> int:
    """Load fields (lĩnh vực) from a YAML list of {key, name, portal_id}; upsert by key."""
    with open(path, encoding="utf-8") as fh:
        entries = yaml.safe_load(fh) or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) and e.get("key") and e.get("name")
                                                for e in entries):
        raise ValueError(f"{path}: expected a YAML list of entries with key, name and portal_id")
    count = 0
    for entry in entries:
        key, name = str(entry["key"]), clean(entry["name"])
        portal_id = str(entry.get("portal_id") or "") or None
        for what, value, col in (("key", key, Field.key), ("name", name, Field.name), ("portal_id", portal_id or "",
                                                                                       Field.portal_id)):
            _check_length(str(path), f"lĩnh vực {key!r}: {what}", value, col.type.length)
        row = session.scalar(select(Field).where(Field.key == key))
        if row is None:
            row = Field(key=key, name=name)
            session.add(row)
            count += 1
        row.name = name
        row.portal_id = portal_id
    session.flush()
    return count


def field_map(session: Session) -> dict[str, str]:
    """Field key by :func:`match_key` of its name, and by its key."""
    fields = list(session.scalars(select(Field)))
    return {**{match_key(f.name): f.key for f in fields}, **{f.key: f.key for f in fields}}


def _parse_row(number: int, cells: Mapping[str, str], fields: Mapping[str, str], seen_codes: dict[str, int],
               seen_names: dict[str, int], seen_uncoded: dict[str, int]) -> tuple[CatalogueRow | None, list[str]]:
    """One row checked: the row, or None and what is wrong with it. ``seen_*``: code, name key, name key of
    a row without a code → its first row."""
    problems = [] if cells.get(NAME) else [f"thiếu '{NAME}'"]
    name = cells.get(NAME, "")
    code = cells.get(CODE) or None
    if code and not CODE_RE.match(code):
        problems.append(f"mã TTHC '{code}' không đúng dạng d.dddddd")
    field_name = "" if is_blank(cells.get(FIELD, "")) else cells[FIELD]
    field_key = (fields.get(match_key(field_name)) or fields.get(field_name)) if field_name else None
    if field_name and field_key is None:
        problems.append(f"lĩnh vực '{field_name}' không có trong danh mục lĩnh vực — {SEED_HINT}")
    levels, bad_levels = parse_levels(cells.get(LEVEL, ""))
    problems += [f"cấp thực hiện '{part}' không hợp lệ" for part in bad_levels]
    status = None
    if status_text := cells.get(STATUS):
        status = PROCEDURE_STATUS_CODES.get(status_text.lower())
        if status is None:
            problems.append(f"trạng thái '{status_text}' không hợp lệ")
    agency = cells.get(AGENCY) or None
    if agency and (limit := _limit("agency")) and len(agency) > limit:
        problems.append(f"'{AGENCY}' dài {len(agency)} ký tự, tối đa {limit}: rút gọn ô này")
    key = match_key(name)
    # the same procedure twice: the same code, or a name without a code that an earlier row already gave
    if code:
        earlier = seen_codes.get(code) or (seen_uncoded.get(key) if key else None)
    else:
        earlier = seen_names.get(key) if key else None
    if earlier is not None:
        problems.append(f"trùng với dòng {earlier}")
    if code:
        seen_codes.setdefault(code, number)
    elif key:
        seen_uncoded.setdefault(key, number)
    if key:
        seen_names.setdefault(key, number)
    if problems:
        return None, problems
    return CatalogueRow(number, code, name, field_key, levels, agency, status), []


def read_catalogue(path: str | Path, fields: Mapping[str, str]) -> list[CatalogueRow]:
    """The checked rows of a catalogue file; :class:`CatalogueFileError` listing every problem otherwise.
    ``fields``: field key by :func:`match_key` of its name (and by key), see :func:`field_map`."""
    path = Path(path)
    header, rows = read_table(path, HEADER_ALIASES)
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise CatalogueFileError([f"{path.name}: header lacks column(s) {missing} (dòng 1 thiếu cột "
                                  f"{', '.join(missing)}) — dòng 1 là dòng tiêu đề; các cột dùng được: "
                                  f"{', '.join(COLUMNS)}"], path)
    if not fields and any(not is_blank(cells.get(FIELD, "")) for _, cells in rows):
        raise CatalogueFileError([f"{path.name}: chưa có danh mục lĩnh vực trong cơ sở dữ liệu (the fields "
                                  "table is empty) — chạy `tthc seed` rồi nhập lại"], path)
    errors: list[str] = []
    parsed: list[CatalogueRow] = []
    seen: tuple[dict[str, int], dict[str, int], dict[str, int]] = ({}, {}, {})
    for number, cells in rows:
        row, problems = _parse_row(number, cells, fields, *seen)
        if problems:
            errors.append(f"dòng {number}: " + "; ".join(problems))
        elif row is not None:
            parsed.append(row)
    if errors:
        raise CatalogueFileError(errors, path)
    if not parsed:
        raise CatalogueFileError([f"{path.name}: no data rows (không có dòng dữ liệu nào dưới dòng tiêu đề)"], path)
    return parsed


def parse_catalogue(session: Session, path: str | Path) -> list[CatalogueRow]:
    return read_catalogue(path, field_map(session))


def _resolve(session: Session, rows: list[CatalogueRow], path: Path) -> list[tuple[CatalogueRow, Procedure | None]]:
    """Each row's catalogue procedure (None: new), before anything is written: by code; a row without a code
    by name, refused when the name fits several procedures; two rows never take the same procedure."""
    taken: dict[int, int] = {}  # procedure id → row
    plan: list[tuple[CatalogueRow, Procedure | None]] = []
    errors: list[str] = []
    for row in rows:
        same_name = [p for p in session.scalars(select(Procedure).where(Procedure.name_key == match_key(row.name))
                                                .order_by(Procedure.id)) if p.id not in taken]
        if row.code:
            proc = session.scalar(select(Procedure).where(Procedure.code == row.code))
            if proc is None:  # a procedure known only by name may be getting its code now
                proc = next((p for p in same_name if p.code is None), None)
        elif len(same_name) > 1:
            codes = ", ".join(p.code or "chưa có mã" for p in same_name)
            errors.append(f"dòng {row.row}: tên này có ở {len(same_name)} thủ tục trong danh mục ({codes}) — "
                          f"ghi '{CODE}' để chỉ rõ thủ tục nào")
            continue
        else:
            proc = same_name[0] if same_name else None
        if proc is not None and proc.id in taken:
            errors.append(f"dòng {row.row}: cùng thủ tục {proc.code or ''} với dòng {taken[proc.id]}")
            continue
        if proc is not None:
            taken[proc.id] = row.row
        plan.append((row, proc))
    if errors:
        raise CatalogueFileError(errors, path)
    return plan


def import_catalogue(session: Session, path: str | Path, *, references: Iterable[str | Path] = ()) -> ImportResult:
    """Validate the whole file, then upsert by code (or name when no code), recording versions. Blank
    fields and levels are filled from :mod:`tthc.catalogue.fill` (``references``: reference lists); what
    stays unknown is counted in ``result.incomplete``."""
    path = Path(path)
    fields = field_map(session)
    rows = read_catalogue(path, fields)
    refs: list[Reference] = [load_reference(r, fields) for r in references]
    plan = _resolve(session, rows, path)
    knowledge = Knowledge(session, refs)
    field_ids = {f.key: f.id for f in session.scalars(select(Field))}
    result = ImportResult()
    for row, proc in plan:
        values: dict[str, object] = {"code": row.code, "name": row.name, "name_key": match_key(row.name),
                                     "agency": row.agency, "status": row.status}
        field_key, levels = row.field_key, row.levels
        need_field = field_key is None and (proc is None or proc.field_id is None)
        need_levels = not levels and (proc is None or not proc.levels)
        if need_field or need_levels:
            known = knowledge.lookup(row.code, row.name, need_field=need_field, need_levels=need_levels)
            field_key, levels = field_key or known.field_key, levels or known.levels
            result.filled += bool(known.sources)
            result.incomplete += (need_field and field_key is None) or (need_levels and not levels)
        values["field_id"] = field_ids[field_key] if field_key else None
        values["levels"] = ",".join(levels) or None
        save_version(session, proc, values, f"import {path.name}", result)
    session.flush()
    return result


def export_catalogue(session: Session, path: str | Path) -> int:
    """The catalogue in code order to .xlsx or .csv (UTF-8, no BOM), text that looks like a formula kept text.
    A field or level nobody knows yet is written "cần bổ sung" (read back as blank)."""
    import pandas as pd

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise ValueError(f"{path.name}: unsupported file type (use .xlsx or .csv)")
    procs = session.scalars(select(Procedure).order_by(Procedure.code, Procedure.id))
    frame = pd.DataFrame(
        [[i, p.code or "", p.name, p.field.name if p.field else NEEDS_INPUT,
          "; ".join(LEVEL_NAMES[lv] for lv in p.level_list if lv in LEVEL_NAMES) or NEEDS_INPUT, p.agency,
          PROCEDURE_STATUS_NAMES.get(p.status, p.status)]
         for i, p in enumerate(procs, start=1)],
        columns=COLUMNS)
    if suffix == ".xlsx":
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            frame.map(xlsx_text).to_excel(writer, sheet_name=SHEET, index=False)
            for row in writer.sheets[SHEET].iter_rows(min_row=2):
                for cell in row:
                    set_text_cell(cell, cell.value)  # text from outside: a string cell, never a formula
    else:
        frame.map(safe_csv_cell).to_csv(path, index=False, encoding="utf-8", lineterminator="\r\n")
    return len(frame)
