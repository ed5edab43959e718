"""The catalogue file's columns as departments write them, and the cell rules shared by the import and
the reference lists."""

from __future__ import annotations

import re

from tthc.core.labels import LEVEL_CODES, UNKNOWN_LEVEL
from tthc.core.text import match_key

COLUMNS = ["STT", "Mã TTHC", "Tên thủ tục hành chính", "Lĩnh vực", "Cấp thực hiện", "Cơ quan thực hiện", "Trạng thái"]
STT, CODE, NAME, FIELD, LEVEL, AGENCY, STATUS = COLUMNS
REQUIRED_COLUMNS = [NAME]  # a list of names alone imports; everything else may be blank or absent
CODE_RE = re.compile(r"^\d\.\d{6}$")
NEEDS_INPUT = "cần bổ sung"  # what the export writes in a cell nobody knows yet; the import reads it as blank
BLANK_MARKS = {NEEDS_INPUT, UNKNOWN_LEVEL.lower(), "-", "—"}
# other headers seen in departments' lists → the column they mean (compared by match_key)
HEADER_ALIASES = {match_key(alias): column for alias, column in [
    ("Mã thủ tục", CODE), ("Mã số TTHC", CODE), ("Mã số thủ tục", CODE), ("Mã TTHC", CODE), ("Mã", CODE),
    ("Tên thủ tục", NAME), ("Tên TTHC", NAME), ("Tên thủ tục hành chính", NAME),
    ("Lĩnh vực", FIELD), ("Cấp thực hiện", LEVEL), ("Cơ quan thực hiện", AGENCY), ("Trạng thái", STATUS),
]}


def is_blank(text: str) -> bool:
    """An empty cell, or one saying that nobody knows the value yet ("cần bổ sung", "Chưa xác định")."""
    return not text or text.lower() in BLANK_MARKS


def parse_levels(text: str) -> tuple[tuple[str, ...], list[str]]:
    """("Cấp tỉnh; Cấp xã") → ((cap_tinh, cap_xa), []); unknown parts are returned as the second value.
    Each level once, in the order written."""
    levels: list[str] = []
    bad: list[str] = []
    if is_blank(text):
        return (), bad
    for part in re.split(r"[;,]", text):
        part = part.strip().lower()
        if not part:
            continue
        if part in LEVEL_CODES:
            levels.append(LEVEL_CODES[part])
        else:
            bad.append(part)
    return tuple(dict.fromkeys(levels)), bad
