"""Phần II of the draft's annex, "Nội dung cụ thể của từng thủ tục hành chính" (a department setting,
``draft.part_two``): for each new, amended or replacing procedure of the batch, what the national database
says of it, under the headings a)–l) provincial announcements use: trình tự, cách thức, thành phần hồ sơ,
thời hạn, đối tượng, cơ quan thực hiện, kết quả, phí và lệ phí, mẫu đơn, yêu cầu, căn cứ pháp lý.

Written as its own Word file beside the draft (python-docx; deterministic bytes). A procedure without
details says why instead of inventing content.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tthc.catalogue.details import NO_INFO, deadline_text, fee_text, legal_basis_lines
from tthc.compare.draft.model import DraftBatch, DraftRow, _text
from tthc.compare.draft.render import _fixed_zip

TITLE = "Phần II. NỘI DUNG CỤ THỂ CỦA TỪNG THỦ TỤC HÀNH CHÍNH"


@dataclass
class Entry:
    number: str  # "1", "2", … within its level
    code: str
    name: str
    reason: str = ""  # why there is no content
    parts: list[tuple[str, list[str]]] = field(default_factory=list)  # (heading, lines)
    channels: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Group:
    heading: str  # "A. …", "I. …"
    level: int
    entries: list[Entry] = field(default_factory=list)


def _lines(text: str | None) -> list[str]:
    return [_text(line) for line in (text or "").splitlines() if _text(line)] or [NO_INFO]


def _entry(row: DraftRow, number: int, batch: DraftBatch) -> Entry:
    entry = Entry(str(number), row.code, row.name)
    page = batch.details.get(row.details_id) if row.details_id else None
    if page is None:
        entry.reason = row.missing_reason or "Chưa có trên CSDL quốc gia"
        return entry
    d = page.data
    documents: list[str] = []
    for group in d.get("documents") or []:
        if _text(group.get("title")):
            documents.append(f"* {_text(group.get('title'))}:")
        documents += [f"- {_text(doc.get('name'))}" + (f" ({_text(doc.get('quantity'))})" if doc.get("quantity") else "")
                      for doc in group.get("documents") or []]
    forms = sorted({_text(doc.get("form")) for g in d.get("documents") or [] for doc in g.get("documents") or []
                    if _text(doc.get("form"))})
    agencies = _text(d.get("agencies"))
    if _text(d.get("competent_agency")) and _text(d.get("competent_agency")) != agencies:
        agencies += f" (cơ quan có thẩm quyền: {_text(d.get('competent_agency'))})"
    entry.channels = list(d.get("channels") or [])
    entry.parts = [
        ("a) Trình tự thực hiện:", _lines(d.get("steps"))),
        ("b) Cách thức thực hiện:", [] if entry.channels else [NO_INFO]),
        ("c) Thành phần, số lượng hồ sơ:", documents or [NO_INFO]),
        ("d) Thời hạn giải quyết:", _lines(deadline_text(d, sep="\n"))),
        ("đ) Đối tượng thực hiện thủ tục hành chính:", _lines(d.get("subjects"))),
        ("e) Cơ quan thực hiện thủ tục hành chính:", _lines(agencies)),
        ("g) Kết quả thực hiện thủ tục hành chính:", _lines(d.get("result"))),
        ("h) Phí, lệ phí:", _lines(fee_text(d, sep="\n"))),
        ("i) Tên mẫu đơn, mẫu tờ khai:", forms or ["Không"]),
        ("k) Yêu cầu, điều kiện thực hiện thủ tục hành chính:", _lines(d.get("requirements"))),
        ("l) Căn cứ pháp lý của thủ tục hành chính:", [f"- {line}." for line in legal_basis_lines(d)] or [NO_INFO]),
    ]
    return entry


def build_part_two(batch: DraftBatch) -> list[Group]:
    """The sections of Phần II: the annex's sections A/B and levels, each procedure once per level."""
    groups: list[Group] = []
    for section in batch.sections:
        if section.abolition:
            continue
        groups.append(Group(section.heading, 1))
        for level in section.levels:
            group = Group(level.heading, 2)
            for number, row in enumerate(level.rows, start=1):
                group.entries.append(_entry(row, number, batch))
            groups.append(group)
    return groups


def render_part_two(batch: DraftBatch, path: str | Path) -> Path:
    """Write Phần II as a Word file (A4, Times New Roman 14, deterministic bytes)."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = Document()
    props = doc.core_properties
    props.title = "Phần II. Nội dung cụ thể của từng thủ tục hành chính"
    props.author = props.last_modified_by = "tthc-pipeline"
    props.created = props.modified = datetime(2026, 1, 1)
    props.revision = 1
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = "Times New Roman", Pt(14)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "Times New Roman")
    normal.paragraph_format.space_after = Pt(3)
    sec = doc.sections[0]
    sec.page_width, sec.page_height = Cm(21), Cm(29.7)
    sec.top_margin = sec.bottom_margin = Cm(2)
    sec.left_margin, sec.right_margin = Cm(3), Cm(2)

    def para(text: str, *, bold=False, italic=False, center=False, indent=0.0, size=None):
        p = doc.add_paragraph()
        run = p.add_run(text)
        run.bold, run.italic = bold or None, italic or None
        if size:
            run.font.size = Pt(size)
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER if center else WD_ALIGN_PARAGRAPH.JUSTIFY
        if indent:
            p.paragraph_format.first_line_indent = Cm(indent)
        return p

    para(TITLE, bold=True, center=True)
    para(batch.annex_subtitle, italic=True, center=True, size=13)
    for group in build_part_two(batch):
        para(group.heading, bold=True)
        for entry in group.entries:
            para(f"{entry.number}. {entry.name}" + (f" ({entry.code})" if entry.code and entry.code[0].isdigit() else ""),
                 bold=True, indent=1)
            if entry.reason:
                para(f"Nội dung thủ tục: {entry.reason}.", italic=True, indent=1)
                continue
            for heading, lines in entry.parts:
                para(heading, bold=True, indent=1)
                if heading.startswith("b)") and entry.channels:
                    table = doc.add_table(rows=1, cols=4)
                    table.style = doc.styles["Table Grid"]
                    table.autofit = False
                    for cell, text in zip(table.rows[0].cells, ("Hình thức nộp", "Thời hạn giải quyết",
                                                                  "Phí, lệ phí", "Mô tả"), strict=True):
                        cell.paragraphs[0].add_run(text).bold = True
                    for channel in entry.channels:
                        cells = table.add_row().cells
                        values = {**channel, "deadline": deadline_text({"channels": [channel]}),
                                  "fee": fee_text({"channels": [channel]})}
                        for cell, key in zip(cells, ("channel", "deadline", "fee", "description"), strict=True):
                            cell.paragraphs[0].add_run(_text(str(values.get(key) or "").replace("\n", "; ")))
                    for col, width in zip(table._tbl.tblGrid.findall(qn("w:gridCol")), (3.2, 3.6, 4.2, 5.0),
                                          strict=True):
                        col.set(qn("w:w"), str(Cm(width).twips))  # the grid: what LibreOffice reads
                    for row in table.rows:
                        for cell, width in zip(row.cells, (3.2, 3.6, 4.2, 5.0), strict=True):
                            cell.width = Cm(width)
                            for p in cell.paragraphs:
                                for run in p.runs:
                                    run.font.size = Pt(12)
                    continue
                for line in lines:
                    para(line, indent=1)
    doc.save(str(path))
    _fixed_zip(path)
    return path
