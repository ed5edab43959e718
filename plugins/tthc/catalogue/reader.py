"""Reading a catalogue spreadsheet (.xlsx or .csv) safely: whatever the file, the result is its rows or a
:class:`CatalogueFileError` whose messages name the file, the row and what to do — never a traceback.

Limits, checked BEFORE a spreadsheet library parses the file (a file over a limit is refused, whole):

- ``MAX_FILE_BYTES`` (20 MiB): the file as stored on disk (an .xlsx is compressed). A catalogue of 20,000
  procedures is about 0.7 MiB as .xlsx and 4.8 MiB as .csv; a department's (some 200) a few dozen KiB.
- ``MAX_XLSX_UNPACKED_BYTES`` (32 MiB): the sum of the uncompressed sizes of the .xlsx's parts, read from the
  zip's central directory (20,000 rows written by openpyxl unpack to 14 MiB). A "zip bomb" (a 0.4 MiB file
  unpacking to 208 MB of sheet XML) is refused here, before anything is inflated. Python's ``zipfile``,
  which openpyxl uses, never yields more than a part's declared size (a part that inflates further fails
  its CRC check), so the declared sizes bound what is read.
- ``MAX_ROWS`` (20,000 data rows, blank rows counted): every worksheet's row elements are counted in one
  streaming pass (``expat``, constant memory) and a sheet with more is refused, because openpyxl's
  read-only mode parses a whole sheet to size it before pandas reads a row; a .csv is counted as read.
- ``MAX_CELL_CHARS`` (131,072, the ``csv`` module's ``field_size_limit``): a longer .csv cell is refused,
  with its row (usually an unclosed quote that swallowed the rest of the file).
- An .xlsx part with a ``<!DOCTYPE`` is refused: spreadsheets never carry one, and it is how XML entity
  expansion ("billion laughs") and external entities get in. The same streaming pass finds it before
  openpyxl sees the file, so this holds whether or not ``defusedxml`` is installed (openpyxl uses it when
  present; the project does not require it; the standard ``expat`` 2.4+ also caps entity amplification).

A .csv is read with the ``csv`` module from text opened with ``newline=""`` semantics, so only CR and LF
end a record: U+2028/U+2029 (line and paragraph separators) and a line break inside a quoted cell stay in
the cell. It is read strictly: an unclosed quote is an error naming its row, not a silently merged row.
"""

from __future__ import annotations

import csv
import io
import zipfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING
from xml.parsers import expat

from tthc.core.spreadsheet import csv_unescape
from tthc.core.text import clean, match_key

if TYPE_CHECKING:
    import pandas as pd

MAX_FILE_BYTES = 20 * 2**20
MAX_XLSX_UNPACKED_BYTES = 32 * 2**20
MAX_ROWS = 20_000
MAX_CELL_CHARS = 131_072  # csv.field_size_limit()'s default; the module's global is left alone
SAVE_AS_XLSX = "mở tệp bằng Excel và lưu lại dạng Excel Workbook (.xlsx), hoặc xuất ra CSV UTF-8"


class CatalogueFileError(ValueError):
    """A catalogue file (or reference list) that cannot be imported; ``errors``: one message per problem."""

    def __init__(self, errors: list[str], file: str | Path | None = None) -> None:
        self.errors = errors
        self.file = str(file) if file is not None else None
        where = f" {Path(file).name}" if file is not None else ""
        super().__init__(f"tệp danh mục{where} bị từ chối, không thay đổi gì (catalogue file rejected, "
                         "nothing changed):\n" + "\n".join(errors))


def _vn(n: int) -> str:
    """A count as Vietnamese writes it (20.000)."""
    return f"{n:,}".replace(",", ".")


def _too_many_rows() -> str:
    return f"nhiều hơn {_vn(MAX_ROWS)} dòng dữ liệu (more than {MAX_ROWS:,} rows)"


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def file_bytes(path: Path) -> bytes:
    """The file's bytes, once (no second read that could see another file); its problems as messages."""
    name = path.name or str(path)
    try:
        if path.is_dir():
            raise CatalogueFileError([f"{path}: là một thư mục, không phải tệp (is a directory) — chỉ ra tệp "
                                      f".xlsx hoặc .csv, ví dụ {path / 'danh_muc.xlsx'}"], path)
        if not path.exists():
            raise CatalogueFileError([f"{path}: không tìm thấy tệp (file not found) — kiểm tra đường dẫn và tên "
                                      "tệp"], path)
        if not path.is_file():
            raise CatalogueFileError([f"{path}: không phải tệp thông thường (not a regular file) — chỉ ra tệp "
                                      ".xlsx hoặc .csv"], path)
        with open(path, "rb") as fh:
            data = fh.read(min(path.stat().st_size, MAX_FILE_BYTES) + 1)  # never a 20 MiB buffer for a small file
    except CatalogueFileError:
        raise
    except (OSError, ValueError) as exc:  # ValueError: a path with a NUL byte
        raise CatalogueFileError([f"{path}: không đọc được tệp ({getattr(exc, 'strerror', None) or exc}) — kiểm "
                                  "tra đường dẫn và quyền đọc tệp"], path) from exc
    if len(data) > MAX_FILE_BYTES:
        raise CatalogueFileError([f"{name}: tệp lớn hơn giới hạn {_mib(MAX_FILE_BYTES)} (file larger than "
                                  f"{_mib(MAX_FILE_BYTES)}) — một danh mục thủ tục chỉ cỡ vài trăm KB; kiểm tra "
                                  "lại tệp hoặc chia nhỏ"], path)
    return data


# --- .csv ---------------------------------------------------------------------------------------------


def csv_records(name: str, data: bytes) -> list[list[str]]:
    """The records of a UTF-8 .csv (a BOM is fine), header first; quotes added by the export removed."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise CatalogueFileError([f"{name}: không phải văn bản UTF-8 (not UTF-8 text: byte 0x{data[exc.start]:02x} "
                                  f"at line {line}) — lưu lại tệp dạng “CSV UTF-8” (Excel: Lưu thành → CSV "
                                  "UTF-8)"], name) from exc
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[list[str]] = []
    while True:
        row = len(records) + 1  # the spreadsheet row of the record being read (header = 1)
        try:
            record = next(reader)
        except StopIteration:
            return records
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                problem = (f"một ô dài hơn {_vn(MAX_CELL_CHARS)} ký tự (a cell longer than {MAX_CELL_CHARS:,} "
                           "characters) — thường do thiếu dấu ngoặc kép đóng ô, khiến phần còn lại của tệp "
                           "thành một ô; sửa ô đó")
            else:
                problem = (f"không đọc được dòng này ({exc}) — kiểm tra dấu ngoặc kép: một ô có dấu \" phải "
                           "được bao trong \"...\" và dấu \" bên trong viết thành \"\"")
            raise CatalogueFileError([f"{name}: dòng {row}: {problem}"], name) from exc
        if row > MAX_ROWS + 1:
            raise CatalogueFileError([f"{name}: {_too_many_rows()} — kiểm tra lại tệp hoặc chia nhỏ"], name)
        records.append([csv_unescape(cell) for cell in record])


# --- .xlsx --------------------------------------------------------------------------------------------


class _Stop(Exception):
    """Raised by the expat handlers to stop reading a part early, saying why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason  # "doctype" | "rows" | "root" (the root element is no worksheet: done)


def _scan_part(part: zipfile.ZipExtFile) -> str:
    """One pass of ``expat`` over an XML part, in constant memory, no tree built: "doctype" when a DOCTYPE
    comes before the root element; "rows" for a worksheet with more than ``MAX_ROWS + 1`` row elements;
    else "ok" (any other part is read only up to its root element; a part that is not XML is left to
    openpyxl, which says what it cannot read)."""
    parser = expat.ParserCreate()
    rows = 0
    root: str | None = None

    def doctype(*_: object) -> None:
        raise _Stop("doctype")

    def element(name: str, _attrs: object) -> None:
        nonlocal rows, root
        local = name.rsplit(":", 1)[-1]  # no namespace processing: "row" or "x:row"
        if root is None:
            root = local
            if local != "worksheet":
                raise _Stop("root")
        elif local == "row":
            rows += 1
            if rows > MAX_ROWS + 1:
                raise _Stop("rows")

    parser.StartDoctypeDeclHandler = doctype
    parser.StartElementHandler = element
    try:
        while chunk := part.read(256 * 1024):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except _Stop as stop:
        return "ok" if stop.reason == "root" else stop.reason
    except expat.ExpatError:
        pass
    return "ok"


def check_xlsx_package(name: str, data: bytes) -> None:
    """The checks made before openpyxl reads an .xlsx: a zip; unpacked size within the limit (from the
    central directory); no part with a DOCTYPE; no worksheet with more rows than the limit."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            unpacked = sum(i.file_size for i in infos)
            if unpacked > MAX_XLSX_UNPACKED_BYTES:
                raise CatalogueFileError([
                    f"{name}: tệp giải nén ra {_mib(unpacked)}, quá giới hạn {_mib(MAX_XLSX_UNPACKED_BYTES)} "
                    f"(unpacks to {_mib(unpacked)}, over the {_mib(MAX_XLSX_UNPACKED_BYTES)} limit: a zip bomb or "
                    "a sheet full of empty cells) — chép các cột danh mục sang một sổ tính mới rồi lưu lại"], name)
            for info in infos:
                if info.is_dir():
                    continue
                with zf.open(info) as part:
                    found = _scan_part(part)
                if found == "doctype":
                    raise CatalogueFileError([
                        f"{name}: phần {info.filename} có khai báo DOCTYPE, điều mà tệp Excel không bao giờ có (an "
                        "XML DOCTYPE: entity expansion is refused) — " + SAVE_AS_XLSX], name)
                if found == "rows":
                    raise CatalogueFileError([
                        f"{name}: trang tính {info.filename} có {_too_many_rows()} — xoá các dòng thừa (kể cả dòng "
                        "trống có định dạng ở cuối trang) hoặc chia nhỏ danh mục"], name)
    except CatalogueFileError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, NotImplementedError, OSError, EOFError,
            ValueError, RuntimeError) as exc:  # RuntimeError: an encrypted part; zlib.error: a damaged part
        raise CatalogueFileError([f"{name}: không phải tệp .xlsx đọc được (not a readable .xlsx file: {exc}) — "
                                  + SAVE_AS_XLSX], name) from exc


def xlsx_frame(name: str, data: bytes) -> pd.DataFrame:
    """The active sheet as text cells (header row 1, blank rows kept for numbering), after the checks."""
    check_xlsx_package(name, data)  # before anything parses the file
    import pandas as pd
    from openpyxl import load_workbook

    book = None
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = book.active
        if sheet is None or not hasattr(sheet, "iter_rows"):
            kind = "không có trang tính nào (has no worksheet)" if sheet is None else \
                "trang đang mở không phải bảng tính (the active sheet is a chart)"
            raise CatalogueFileError([f"{name}: sổ tính {kind} — mở tệp, chọn trang danh mục thủ tục rồi lưu "
                                      "lại"], name)
        frame = pd.read_excel(book, sheet_name=sheet.title, engine="openpyxl", dtype=str,
                              keep_default_na=False, nrows=MAX_ROWS + 1)
    except CatalogueFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - openpyxl and pandas raise many kinds on a damaged file
        raise CatalogueFileError([f"{name}: không phải tệp .xlsx đọc được (not a readable .xlsx file: "
                                  f"{type(exc).__name__}: {exc}) — " + SAVE_AS_XLSX], name) from exc
    finally:
        if book is not None:
            book.close()  # a read-only workbook keeps its file open until closed
    if len(frame) > MAX_ROWS:
        raise CatalogueFileError([f"{name}: {_too_many_rows()} — kiểm tra lại tệp (các dòng trống có định dạng ở "
                                  "cuối trang cũng được tính: xoá chúng) hoặc chia nhỏ"], name)
    return frame


# --- both ---------------------------------------------------------------------------------------------


def read_table(path: str | Path, aliases: dict[str, str] | None = None) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """(header, rows) of a .csv or .xlsx: header cells cleaned (and renamed by ``aliases``, keyed by
    :func:`match_key`); each non-blank data row as (its row number in a spreadsheet, header = 1, blank rows
    counted; cleaned cells by column). A column named twice: the last one counts."""
    path = Path(path)
    suffix = path.suffix.lower()
    data = file_bytes(path)
    if suffix not in (".csv", ".xlsx"):
        raise CatalogueFileError([f"{path.name}: unsupported file type (loại tệp không hỗ trợ) — dùng .xlsx "
                                  "hoặc .csv"], path)
    if suffix == ".csv":
        records = csv_records(path.name, data)
        header, body = (records[0], records[1:]) if records else ([], [])
    else:
        frame = xlsx_frame(path.name, data)
        if frame.columns.empty:
            raise CatalogueFileError([f"{path.name}: empty workbook (sổ tính trống) — trang đang mở không có "
                                      "dữ liệu; chọn trang danh mục rồi lưu lại"], path)
        header = [str(c) for c in frame.columns]
        body = frame.fillna("").values.tolist()
    header = [clean(h) for h in header]
    if aliases:
        header = [aliases.get(match_key(h), h) for h in header]
    rows: list[tuple[int, dict[str, str]]] = []
    for number, cells in enumerate(body, start=2):
        if any(len(c) > MAX_CELL_CHARS for c in cells):  # an .xlsx cell (a .csv one failed while reading)
            raise CatalogueFileError([f"{path.name}: dòng {number}: một ô dài hơn {_vn(MAX_CELL_CHARS)} ký tự (a "
                                      f"cell longer than {MAX_CELL_CHARS:,} characters) — sửa ô đó"], path)
        values = dict(zip(header, (clean(c) for c in cells), strict=False))  # cells beyond the header: ignored
        if any(values.values()):
            rows.append((number, values))
    return header, rows
