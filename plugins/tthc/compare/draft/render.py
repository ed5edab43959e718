"""Renderings of a :class:`~tthc.compare.draft.model.DraftBatch`: the Word document (docxtpl, from the
template :func:`make_template` builds) and the HTML preview. Both deterministic: the same flags give the
same bytes."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime
from pathlib import Path

from tthc.compare.draft.model import TEMPLATE_DOCX, TEMPLATE_HTML, DraftBatch
from tthc.core.config import templates_dir
from tthc.core.render import environment, render

# ---------------------------------------------------------------- HTML preview


def render_html(batch: DraftBatch) -> str:
    """The draft as one HTML page (autoescaped, inline CSS, NFC)."""
    return render(environment(), TEMPLATE_HTML, b=batch)


# ---------------------------------------------------------------- Word


def _fixed_zip(path: Path) -> None:
    """Rewrite the .docx with fixed timestamps so the same content gives the same bytes."""
    with zipfile.ZipFile(path) as zin:
        parts = [(info.filename, zin.read(info)) for info in zin.infolist()]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in parts:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zout.writestr(info, data)
    path.write_bytes(buf.getvalue())


def render_docx(batch: DraftBatch, path: str | Path, template: str | Path | None = None) -> Path:
    """Fill the Word template with the batch and save it to ``path`` (deterministic bytes)."""
    from docxtpl import DocxTemplate
    from jinja2 import Environment, StrictUndefined

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tpl = DocxTemplate(str(template or templates_dir() / TEMPLATE_DOCX))
    tpl.render({"b": batch}, jinja_env=Environment(undefined=StrictUndefined, autoescape=True), autoescape=True)
    tpl.save(str(path))
    _fixed_zip(path)
    return path


_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")


def template_tags(path: str | Path) -> list[str]:
    """The Jinja tags of a Word template, in document order (to compare a template with make_template's)."""
    with zipfile.ZipFile(path) as z:
        xml = z.read("word/document.xml").decode("utf-8")
    text = re.sub(r"<[^>]+>", "", xml)
    return _TAG.findall(text)


def make_template(path: str | Path | None = None) -> Path:
    """Build the Word template (python-docx) with its docxtpl tags; the shipped file is its output.

    Regenerate with ``python -c "from tthc.compare.draft import make_template; make_template()"``.
    """
    from docx import Document
    from docx.enum.section import WD_ORIENT, WD_SECTION
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    path = Path(path or templates_dir() / TEMPLATE_DOCX)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = Document()
    props = doc.core_properties
    props.title = "Dự thảo Quyết định công bố danh mục thủ tục hành chính"
    props.author = props.last_modified_by = "tthc-pipeline"
    props.created = props.modified = datetime(2026, 1, 1)
    props.revision = 1
    props.comments = "Mẫu sinh bởi tthc.compare.draft.make_template"

    normal = doc.styles["Normal"]
    normal.font.name = "Times New Roman"
    normal.font.size = Pt(14)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "Times New Roman")
    normal.paragraph_format.space_after = Pt(0)

    first = doc.sections[0]
    first.page_width, first.page_height = Cm(21), Cm(29.7)
    first.top_margin = first.bottom_margin = Cm(2)
    first.left_margin, first.right_margin = Cm(3), Cm(2)

    center, justify = WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.JUSTIFY

    def para(container, text="", *, bold=False, italic=False, align=None, size=None, indent=False,
             before=0, after=0, reuse=False):
        p = container.paragraphs[0] if reuse else container.add_paragraph()
        if text:
            run = p.add_run(text)
            run.bold, run.italic = bold or None, italic or None
            if size:
                run.font.size = Pt(size)
        if align is not None:
            p.alignment = align
        if indent:
            p.paragraph_format.first_line_indent = Cm(1)
        p.paragraph_format.space_before, p.paragraph_format.space_after = Pt(before), Pt(after)
        return p

    def tag(container, text):  # a {%p …%} control paragraph (removed by docxtpl)
        return para(container, text)

    def borderless(table):
        tbl_pr = table._tbl.tblPr
        borders = OxmlElement("w:tblBorders")
        for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
            el = OxmlElement(f"w:{edge}")
            el.set(qn("w:val"), "nil")
            borders.append(el)
        tbl_pr.append(borders)

    def widths(table, cm):
        """Column widths every renderer honours: the table's grid, a fixed layout and its total width, as
        well as each cell's (Word reads the cells, LibreOffice the grid)."""
        table.autofit = False
        tbl = table._tbl
        for col, w in zip(tbl.tblGrid.findall(qn("w:gridCol")), cm, strict=False):
            col.set(qn("w:w"), str(Cm(w).twips))
        tbl_pr = tbl.tblPr
        layout = OxmlElement("w:tblLayout")
        layout.set(qn("w:type"), "fixed")
        tbl_pr.append(layout)
        width = tbl_pr.find(qn("w:tblW"))
        if width is None:
            width = OxmlElement("w:tblW")
            tbl_pr.append(width)
        width.set(qn("w:w"), str(Cm(sum(cm)).twips))
        width.set(qn("w:type"), "dxa")
        for row in table.rows:
            for cell, w in zip(row.cells, cm, strict=False):
                cell.width = Cm(w)

    # national header: agency (left) and motto (right), then số and place/date
    head = doc.add_table(rows=2, cols=2)
    borderless(head)
    head.alignment = WD_TABLE_ALIGNMENT.CENTER
    widths(head, [7.0, 10.0])  # a little wider than the text: the two titles stay on one line each
    left, right = head.rows[0].cells
    para(left, "ỦY BAN NHÂN DÂN", align=center, size=13, reuse=True)
    para(left, "{{ b.province_upper }}", bold=True, align=center, size=13)
    para(left, "—————", align=center, size=13)
    para(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold=True, align=center, size=12, reuse=True)
    para(right, "Độc lập - Tự do - Hạnh phúc", bold=True, align=center, size=14)
    para(right, "———————————", align=center, size=13)
    left, right = head.rows[1].cells
    para(left, "Số: …/QĐ-UBND", align=center, size=13, reuse=True)
    para(right, "{{ b.place }}, ngày … tháng … năm …", italic=True, align=center, size=13, reuse=True)

    para(doc, "QUYẾT ĐỊNH", bold=True, align=center, before=18)
    para(doc, "{{ b.title }}", bold=True, align=center)
    para(doc, "—————", align=center, after=6)
    para(doc, "{{ b.chairman }}", bold=True, align=center, before=6, after=12)
    tag(doc, "{%p for c in b.can_cu %}")
    para(doc, "{{ c }}", italic=True, align=justify, indent=True, after=6)
    tag(doc, "{%p endfor %}")
    para(doc, "{{ b.proposal }}", italic=True, align=justify, indent=True, after=6)
    para(doc, "QUYẾT ĐỊNH:", bold=True, align=center, before=12, after=12)
    for n in (1, 2, 3):
        p = para(doc, f"Điều {n}. ", bold=True, align=justify, indent=True, after=6)
        p.add_run(f"{{{{ b.dieu_{n} }}}}")

    sign = doc.add_table(rows=1, cols=2)
    borderless(sign)
    widths(sign, [8, 8])
    left, right = sign.rows[0].cells
    para(left, "Nơi nhận:", bold=True, italic=True, size=12, before=12, reuse=True)
    tag(left, "{%p for n in b.noi_nhan %}")
    para(left, "{{ n }}", size=11)
    tag(left, "{%p endfor %}")
    para(right, "CHỦ TỊCH", bold=True, align=center, before=12, reuse=True)

    # annex, on a landscape page
    annex = doc.add_section(WD_SECTION.NEW_PAGE)
    annex.orientation = WD_ORIENT.LANDSCAPE
    annex.page_width, annex.page_height = Cm(29.7), Cm(21)
    annex.top_margin = annex.bottom_margin = annex.left_margin = annex.right_margin = Cm(2)
    para(doc, "PHỤ LỤC", bold=True, align=center)
    para(doc, "{{ b.annex_title }}", bold=True, align=center)
    para(doc, "{{ b.annex_subtitle }}", italic=True, align=center, after=12)
    para(doc, "{{ b.part_title }}", bold=True, after=6)
    tag(doc, "{%p for s in b.sections %}")
    para(doc, "{{ s.heading }}", bold=True, before=6, after=6)
    tag(doc, "{%p for lv in s.levels %}")
    para(doc, "{{ lv.heading }}", bold=True, before=6, after=6)

    def annex_table(headers, cells, cm):
        table = doc.add_table(rows=7, cols=len(headers))
        table.style = doc.styles["Table Grid"]
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        for cell, text in zip(table.rows[0].cells, headers, strict=True):
            para(cell, text, bold=True, align=center, size=12, reuse=True)
        header_pr = table.rows[0]._tr.get_or_add_trPr()
        header_pr.append(OxmlElement("w:tblHeader"))  # repeat the header on every page
        para(table.rows[1].cells[0], "{%tr for f in lv.fields %}", reuse=True)
        merged = table.rows[2].cells[0].merge(table.rows[2].cells[-1])
        para(merged, "{{ f.name }}", bold=True, size=12, reuse=True)
        para(table.rows[3].cells[0], "{%tr for r in f.rows %}", reuse=True)
        for cell, text in zip(table.rows[4].cells, cells, strict=True):
            para(cell, text, size=12, align=center if text in ("{{ r.stt }}", "{{ r.code }}") else None, reuse=True)
        for row in (table.rows[2], table.rows[4]):  # a procedure's row is never cut across two pages
            row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
        merged.paragraphs[0].paragraph_format.keep_with_next = True  # a field's heading stays with its rows
        para(table.rows[5].cells[0], "{%tr endfor %}", reuse=True)
        para(table.rows[6].cells[0], "{%tr endfor %}", reuse=True)
        widths(table, cm)
        return table

    tag(doc, "{%p if s.abolition %}")
    annex_table(["STT", "Mã TTHC", "Tên thủ tục hành chính", "Tên VBQPPL quy định việc bãi bỏ thủ tục hành chính",
                 "Ghi chú"],
                ["{{ r.stt }}", "{{ r.code }}", "{{ r.name }}", "{{ r.abolition_basis }}", "{{ r.note }}"],
                [1.2, 2.5, 9.5, 7.5, 5.0])
    tag(doc, "{%p else %}")
    annex_table(["STT", "Mã TTHC", "Tên thủ tục hành chính", "Thời hạn giải quyết", "Địa điểm thực hiện",
                 "Phí, lệ phí (nếu có)", "Căn cứ pháp lý", "Ghi chú"],
                ["{{ r.stt }}", "{{ r.code }}", "{{ r.name }}", "{{ r.processing_time }}", "{{ r.location }}",
                 "{{ r.fee }}", "{{ r.legal_basis }}", "{{ r.note }}"],
                [1.2, 2.0, 5.4, 3.0, 3.4, 2.6, 4.9, 3.2])
    tag(doc, "{%p endif %}")
    tag(doc, "{%p endfor %}")
    tag(doc, "{%p endfor %}")

    doc.save(str(path))
    _fixed_zip(path)
    return path
