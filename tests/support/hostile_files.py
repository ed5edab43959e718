"""Hand-made hostile spreadsheets for the catalogue import tests: what a careless or hostile outside world
sends (a workbook without a sheet, XML entity expansion, a zip bomb)."""

from __future__ import annotations

import zipfile
from pathlib import Path

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '{sheet_override}</Types>')
SHEET_OVERRIDE = ('<Override PartName="/xl/worksheets/sheet1.xml" '
                  'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>')
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>')
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets>{sheets}</sheets></workbook>')
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>')
SHEET_REL = ('<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
             'worksheet" Target="worksheets/sheet1.xml"/>')
SHEET_HEAD = ('<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
SHEET_TAIL = "</sheetData></worksheet>"
HEADER = ("STT", "Mã TTHC", "Tên thủ tục hành chính", "Lĩnh vực", "Cấp thực hiện")


def _inline_row(number: int, cells: tuple[str, ...]) -> str:
    return f'<row r="{number}">' + "".join(
        f'<c t="inlineStr"><is><t>{c}</t></is></c>' for c in cells) + "</row>"


def write_workbook(path: Path, sheet_xml: str | bytes | None, *, compresslevel: int = 6) -> Path:
    """A minimal .xlsx with one sheet whose XML is ``sheet_xml`` (no sheet at all when None)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES.format(
            sheet_override="" if sheet_xml is None else SHEET_OVERRIDE))
        zf.writestr("_rels/.rels", ROOT_RELS)
        zf.writestr("xl/workbook.xml", WORKBOOK.format(
            sheets="" if sheet_xml is None else '<sheet name="Danh mục" sheetId="1" r:id="rId1"/>'))
        zf.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.format(rels="" if sheet_xml is None else SHEET_REL))
        if sheet_xml is not None:
            zf.writestr("xl/worksheets/sheet1.xml", sheet_xml)
    return path


def no_worksheet(path: Path) -> Path:
    """A workbook whose <sheets> is empty (Excel refuses to save one; other tools write them)."""
    return write_workbook(path, None)


def billion_laughs(path: Path, levels: int = 10) -> Path:
    """A sheet whose one cell is an entity expanding to 10**levels "lol"s (the classic XML bomb)."""
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{"".join(f"&lol{i - 1};" for _ in range(10))}">' for i in range(1, levels)]
    xml = ('<?xml version="1.0"?><!DOCTYPE worksheet [' + "".join(entities) + "]>" + SHEET_HEAD
           + _inline_row(1, HEADER) + _inline_row(2, ("1", "1.000001", f"&lol{levels - 1};", "Sở hữu trí tuệ",
                                                       "Cấp tỉnh")) + SHEET_TAIL)
    return write_workbook(path, xml)


def zip_bomb(path: Path, target_bytes: int = 208_000_000) -> Path:
    """A small .xlsx whose sheet XML is ``target_bytes`` of blank-looking rows (no row numbers, so every row
    compresses to nothing): the shape of the 505 KB → 208 MB file of the probe."""
    row = "<row><c/></row>"
    head = SHEET_HEAD + _inline_row(1, HEADER)
    count = (target_bytes - len(head) - len(SHEET_TAIL)) // len(row)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES.format(sheet_override=SHEET_OVERRIDE))
        zf.writestr("_rels/.rels", ROOT_RELS)
        zf.writestr("xl/workbook.xml", WORKBOOK.format(sheets='<sheet name="Danh mục" sheetId="1" r:id="rId1"/>'))
        zf.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.format(rels=SHEET_REL))
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as out:
            out.write(head.encode())
            chunk = (row * 100_000).encode()
            for _ in range(count // 100_000):
                out.write(chunk)
            out.write((row * (count % 100_000)).encode())
            out.write(SHEET_TAIL.encode())
    return path
