"""Import and export of the province's procedure catalogue in the form departments keep it (.xlsx/.csv).

Columns (header row, Vietnamese as in the department's spreadsheets):
``STT, Mã TTHC, Tên thủ tục hành chính, Lĩnh vực, Cấp thực hiện, Cơ quan thực hiện, Trạng thái``.
Every row is validated first; a file with any error changes nothing and the errors name their row.

Files are read and written with pandas (openpyxl as its .xlsx engine), every cell as text: a code Excel
stored as the number 1.001155 reads back "1.001155", an empty cell "", never NaN. Rows whose cells are all
blank are skipped. Row numbers in errors ("dòng N") are the rows the user sees when opening the file in a
spreadsheet, header = row 1, blank rows counted (for a .csv with a line break inside a quoted cell this is
the record's row, not its text line). A .csv may start with a UTF-8 BOM (Excel's "CSV UTF-8"); cells beyond
the header's columns are ignored.

Formula injection (OWASP "CSV Injection"): a procedure's name or agency comes from outside and may start
with ``= + - @``, tab or CR. In the .xlsx export such a cell is stored as a string cell (openpyxl would
otherwise store "=..." as a formula), so the value stays exact and nothing is evaluated. A .csv has no cell
types, so there the cell is prefixed with a single quote, as OWASP recommends, and is not evaluated when
the file is opened in a spreadsheet; the .csv import removes that quote again (:func:`csv_unescape`), so
export → import gives back the same catalogue.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from tthc.catalogue.store import ImportResult, save_version
from tthc.core.labels import LEVEL_CODES, LEVEL_NAMES, PROCEDURE_STATUS_CODES, PROCEDURE_STATUS_NAMES
from tthc.core.text import clean, match_key
from tthc.db.models import Field, Procedure

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = ["STT", "Mã TTHC", "Tên thủ tục hành chính", "Lĩnh vực", "Cấp thực hiện", "Cơ quan thực hiện", "Trạng thái"]
REQUIRED = ["Tên thủ tục hành chính", "Lĩnh vực", "Cấp thực hiện"]
CODE_RE = re.compile(r"^\d\.\d{6}$")
SHEET = "Danh mục TTHC"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # OWASP: characters a spreadsheet may read as a formula


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


def _formula_like(text: str) -> bool:
    """Starts with a formula character, maybe after quotes (those get one more, so unescaping is exact)."""
    return text.lstrip("'").startswith(FORMULA_START)


def csv_escape(value: object) -> object:
    """A .csv cell: text a spreadsheet could read as a formula gets a leading single quote."""
    return "'" + value if isinstance(value, str) and _formula_like(value) else value


def csv_unescape(text: str) -> str:
    """A cell read from a .csv: the quote :func:`csv_escape` added removed (``csv_unescape(csv_escape(t)) == t``)."""
    return text[1:] if text.startswith("'") and _formula_like(text) else text


def _read_csv(path: Path) -> pd.DataFrame:
    import pandas as pd

    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogueFileError([f"{path.name}: not UTF-8 text ({exc}); save the file as CSV UTF-8"]) from exc
    try:
        with warnings.catch_warnings():  # a row longer than the header: its extra cells are dropped
            warnings.simplefilter("ignore", pd.errors.ParserWarning)
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=False,
                                index_col=False, engine="python", on_bad_lines=lambda cells: cells)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except pd.errors.ParserError as exc:
        raise CatalogueFileError([f"{path.name}: not a readable .csv file ({exc})"]) from exc
    return frame.fillna("").map(csv_unescape)  # a blank line reads as NaN whatever keep_default_na says


def _read_xlsx(path: Path) -> pd.DataFrame:
    import pandas as pd
    from openpyxl import load_workbook

    book = None
    try:
        book = load_workbook(path, read_only=True, data_only=True)
        # the sheet the user left open, as before; header row 1, blank rows kept (numbering), NaN as ""
        return pd.read_excel(book, sheet_name=book.active.title, engine="openpyxl", dtype=str,
                             keep_default_na=False)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds
        raise CatalogueFileError([f"{path.name}: not a readable .xlsx file ({exc})"]) from exc
    finally:
        if book is not None:
            book.close()  # a read-only workbook keeps its file open until closed


def _read_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(row number as the user sees it in the file, cleaned cells by header) for every non-blank data row."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame = _read_csv(path)
    elif suffix == ".xlsx":
        frame = _read_xlsx(path)
        if frame.columns.empty:
            raise CatalogueFileError([f"{path.name}: empty workbook"])
    else:
        raise CatalogueFileError([f"{path.name}: unsupported file type (use .xlsx or .csv)"])
    frame.columns = [clean(c) for c in frame.columns]
    frame = frame.loc[:, ~frame.columns.duplicated(keep="last")]  # "Lĩnh vực" twice after cleaning: the last
    missing = [c for c in REQUIRED + ["Mã TTHC"] if c not in frame.columns]
    if missing:
        raise CatalogueFileError([f"{path.name}: header lacks column(s) {missing}; expected {COLUMNS}"])
    frame = frame.map(clean)
    frame.index += 2  # the header is row 1
    frame = frame[(frame != "").any(axis=1)]
    return list(frame.to_dict("index").items())


def _parse_row(number: int, cells: Mapping[str, str], fields: dict[str, str],
               seen: dict[str, int]) -> tuple[CatalogueRow | None, list[str]]:
    """One row checked: the row, or None and what is wrong with it. ``seen``: natural key → first row."""
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
        return None, problems
    return CatalogueRow(number, code, cells["Tên thủ tục hành chính"], field_key or "", tuple(levels),
                        cells.get("Cơ quan thực hiện", ""), status or "active"), []


def parse_catalogue(session: Session, path: str | Path) -> list[CatalogueRow]:
    path = Path(path)
    fields = {match_key(f.name): f.key for f in session.scalars(select(Field))}
    fields.update({f.key: f.key for f in session.scalars(select(Field))})
    errors: list[str] = []
    parsed: list[CatalogueRow] = []
    seen: dict[str, int] = {}
    for number, cells in _read_rows(path):
        row, problems = _parse_row(number, cells, fields, seen)
        if problems:
            errors.append(f"dòng {number}: " + "; ".join(problems))
        elif row is not None:
            parsed.append(row)
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
    """The catalogue in code order to .xlsx or .csv (UTF-8, no BOM), text that looks like a formula kept text."""
    import pandas as pd

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise ValueError(f"{path.name}: unsupported file type (use .xlsx or .csv)")
    procs = session.scalars(select(Procedure).order_by(Procedure.code, Procedure.id))
    frame = pd.DataFrame(
        [[i, p.code or "", p.name, p.field.name if p.field else "",
          "; ".join(LEVEL_NAMES[lv] for lv in p.level_list), p.agency, PROCEDURE_STATUS_NAMES.get(p.status, p.status)]
         for i, p in enumerate(procs, start=1)],
        columns=COLUMNS)
    if suffix == ".xlsx":
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            frame.to_excel(writer, sheet_name=SHEET, index=False)
            for row in writer.sheets[SHEET].iter_rows(min_row=2):
                for cell in row:
                    if cell.data_type == "f":  # text openpyxl took for a formula ("=..."): a string cell
                        cell.data_type = "s"
    else:
        frame.map(csv_escape).to_csv(path, index=False, encoding="utf-8", lineterminator="\r\n")
    return len(frame)
