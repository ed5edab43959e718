"""Spreadsheet cells from outside data, written so that no spreadsheet program runs them.

Formula injection (OWASP "CSV Injection"): a procedure name, a field name or a decision number comes from
a ministry, the national portal or a person, and may start with ``= + - @``, tab or CR. Every .xlsx and
.csv the project writes puts such text through this module:

- .xlsx: :func:`set_text_cell` stores the value as a string cell (openpyxl would store any text starting
  with "=" as a formula), so the value stays exact and nothing is evaluated. Characters an XML file cannot
  hold (C0 controls other than tab, LF, CR) are dropped instead of failing the whole workbook.
- .csv: a file has no cell types, so :func:`safe_csv_cell` prefixes a formula-like cell with a single
  quote, as OWASP recommends; :func:`csv_unescape` removes it again when the project reads the file back,
  so ``csv_unescape(safe_csv_cell(t)) == t`` for every text.

The cell object is duck-typed (``value`` and ``data_type``, as openpyxl's cells have), so this module
needs no spreadsheet library.
"""

from __future__ import annotations

import re
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # OWASP: characters a spreadsheet may read as a formula
# what openpyxl refuses in a cell (openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE): XML 1.0 has no such characters
_XML_ILLEGAL = re.compile(r"[\000-\010\013\014\016-\037]")


def formula_like(text: str) -> bool:
    """Starts with a formula character, maybe after quotes (those get one more, so unescaping is exact)."""
    return text.lstrip("'").startswith(FORMULA_START)


def safe_csv_cell(value: Any) -> Any:
    """A .csv cell from outside data: text a spreadsheet could read as a formula gets a leading quote."""
    return "'" + value if isinstance(value, str) and formula_like(value) else value


def csv_unescape(text: str) -> str:
    """A cell read from a .csv the project wrote: the quote :func:`safe_csv_cell` added removed."""
    return text[1:] if text.startswith("'") and formula_like(text) else text


def xlsx_text(value: Any) -> Any:
    """Text without the characters an .xlsx cannot hold (anything else unchanged)."""
    return _XML_ILLEGAL.sub("", value) if isinstance(value, str) else value


def set_text_cell(cell: Any, value: Any) -> Any:
    """Write ``value`` into an openpyxl cell; text (from outside or not) is always a string cell, never a
    formula. Numbers, dates and None are written as they are. Returns the cell."""
    value = xlsx_text(value)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # openpyxl made "=..." a formula ("f"): text it is
    return cell
