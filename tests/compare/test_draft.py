"""compare.draft: the draft provincial decision (Quyết định công bố danh mục TTHC), read back from the .docx."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from docx import Document
from docx.table import Table
from docx.text.paragraph import Paragraph
from sqlalchemy import select
from tthc.compare.draft import batch_key, build_batch, make_template, render_docx, render_html
from tthc.compare.draft.model import NO_CODE, TEMPLATE_DOCX
from tthc.compare.draft.render import template_tags
from tthc.compare.flags import compare
from tthc.core.config import templates_dir
from tthc.db.models import Flag, Procedure
from tthc.ingest.runs import upsert_decision, upsert_item

RUN = datetime(2026, 11, 26, 1, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
AS_OF = date(2026, 11, 26)
NEW_NAME = "Thủ tục hỗ trợ ươm tạo công nghệ <script>alert(1)</script>"
NEW_NO_CODE = "Thủ tục đăng ký hoạt động sở hữu trí tuệ cấp xã"
REPLACEMENT = "Thủ tục thay thế về chuyển giao công nghệ"

A = "Danh mục thủ tục hành chính mới ban hành"
B = "Danh mục thủ tục hành chính được sửa đổi, bổ sung hoặc thay thế"
C = "Danh mục thủ tục hành chính bị bãi bỏ"


def _procs(session, level: str) -> list[Procedure]:
    return list(session.scalars(select(Procedure).where(Procedure.levels == level).order_by(Procedure.code)))


def _scenario(s, dept) -> dict:
    """Two ministry decisions, every change type, both levels, two fields; returns what was used."""
    def by_code(code: str) -> Procedure:
        return s.scalar(select(Procedure).where(Procedure.code == code))

    # Chuyển giao công nghệ (cấp tỉnh) ×3; Sở hữu trí tuệ at both levels
    amended, replaced, abolished = by_code("1.001155"), by_code("2.002248"), by_code("2.002249")
    both = by_code("2.002815")
    assert both.levels == "cap_tinh,cap_xa" and {amended.levels, replaced.levels, abolished.levels} == {"cap_tinh"}
    amended.processing_time, amended.fee = "15 ngày làm việc", "Không"
    amended.legal_basis = "Luật Chuyển giao công nghệ số 07/2017/QH14;\nNghị định số 76/2018/NĐ-CP"
    d1, _ = upsert_decision(s, so_hieu="100/QĐ-BKHCN", agency_name="Bộ Khoa học và Công nghệ", run_time=RUN,
                            trich_yeu="Về việc công bố thủ tục hành chính mới ban hành, sửa đổi, bổ sung",
                            signed_date=date(2026, 11, 18), published_date=date(2026, 11, 20),
                            effective_date=date(2026, 12, 15), field_keys="chuyen_giao_cong_nghe,so_huu_tri_tue")
    d2, _ = upsert_decision(s, so_hieu="205/QĐ-BKHCN", agency_name="Bộ Khoa học và Công nghệ", run_time=RUN,
                            trich_yeu="Công bố thủ tục hành chính bị bãi bỏ",
                            signed_date=date(2026, 11, 21), published_date=date(2026, 11, 22),
                            effective_date=date(2026, 12, 20), field_keys="chuyen_giao_cong_nghe")
    upsert_item(s, d1, name=NEW_NAME, change_type="new", code="1.050001", levels=["cap_tinh"],
                field_key="chuyen_giao_cong_nghe")
    upsert_item(s, d1, name=NEW_NO_CODE, change_type="new", levels=["cap_xa"], field_key="so_huu_tri_tue")
    upsert_item(s, d1, name=amended.name, change_type="amended", code=amended.code)
    upsert_item(s, d1, name=both.name, change_type="amended", code=both.code)
    upsert_item(s, d2, name=REPLACEMENT, change_type="replaced", code="1.050002", levels=["cap_tinh"],
                field_key="chuyen_giao_cong_nghe", replaces_code=replaced.code)
    upsert_item(s, d2, name=abolished.name, change_type="abolished", code=abolished.code)
    compare(s, dept, as_of=AS_OF)
    s.flush()
    return {"amended": amended, "replaced": replaced, "abolished": abolished, "both": both}


def _flags(s) -> list[Flag]:
    return list(s.scalars(select(Flag).order_by(Flag.id)))


def _read(path: Path) -> tuple[list[str], dict]:
    """Paragraph texts in body order (table cells included) and the annex tables by (section, level)."""
    doc = Document(str(path))
    texts: list[str] = []
    tables: dict[tuple[str, str], list[list[str]]] = {}
    section = level = ""
    for child in doc.element.body.iterchildren():
        if child.tag.endswith("}p"):
            text = Paragraph(child, doc).text
            texts.append(text)
            if text[:3] in ("A. ", "B. ", "C. "):
                section, level = text[3:], ""
            elif text.startswith(("I. ", "II. ")):
                level = text.split(". ", 1)[1]
        elif child.tag.endswith("}tbl"):
            table = Table(child, doc)
            rows = [[c.text for c in row.cells] for row in table.rows]
            texts.extend(line for r in rows for c in r for line in c.split("\n"))
            if section:
                tables[(section, level)] = rows
    return texts, tables


def _data_rows(rows: list[list[str]]) -> list[list[str]]:
    """Procedure rows (not the header or a field's heading row, whose merged cells repeat one text)."""
    return [r for r in rows[1:] if len(set(r)) > 1]


def test_docx_reads_back_sections_rows_and_can_cu(seeded, dept, tmp_path):
    s = seeded
    used = _scenario(s, dept)
    flags = _flags(s)
    assert {f.action for f in flags} == {"announce_new", "re_announce", "announce_abolition"}
    batch = build_batch(s, flags, dept)
    path = render_docx(batch, tmp_path / f"{batch.file_stem}.docx")
    texts, tables = _read(path)
    assert all(unicodedata.is_normalized("NFC", t) for t in texts)
    joined = "\n".join(texts)

    # header, title, department, chairman, decision articles
    assert "ỦY BAN NHÂN DÂN" in texts and "THÀNH PHỐ HỒ CHÍ MINH" in texts
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in texts and "Độc lập - Tự do - Hạnh phúc" in texts
    assert "Số: …/QĐ-UBND" in texts
    assert "Thành phố Hồ Chí Minh, ngày … tháng … năm …" in texts
    assert "QUYẾT ĐỊNH" in texts and "QUYẾT ĐỊNH:" in texts
    title = next(t for t in texts if t.startswith("Về việc công bố Danh mục thủ tục hành chính"))
    assert "mới ban hành, được sửa đổi, bổ sung hoặc thay thế và bị bãi bỏ" in title
    assert "trong lĩnh vực Sở hữu trí tuệ và Chuyển giao công nghệ" in title
    assert title.endswith("thuộc phạm vi chức năng quản lý của Sở Khoa học và Công nghệ")
    assert "CHỦ TỊCH ỦY BAN NHÂN DÂN THÀNH PHỐ HỒ CHÍ MINH" in texts
    assert "Theo đề nghị của Giám đốc Sở Khoa học và Công nghệ." in texts
    for n in (1, 2, 3):
        assert any(t.startswith(f"Điều {n}. ") for t in texts)
    assert "CHỦ TỊCH" in texts
    assert not any("{{" in t or "{%" in t for t in texts)  # every tag rendered

    # Căn cứ: the standard basis, then each ministry decision, dates dd/mm/yyyy
    can_cu = [t for t in texts if t.startswith("Căn cứ ") and t.endswith(";")]
    assert can_cu[0].startswith("Căn cứ Luật Tổ chức chính quyền địa phương")
    assert any("63/2010/NĐ-CP" in t and "92/2017/NĐ-CP" in t for t in can_cu)
    assert any("02/2017/TT-VPCP" in t for t in can_cu)
    assert can_cu[-2:] == [
        "Căn cứ Quyết định số 100/QĐ-BKHCN ngày 18/11/2026 của Bộ trưởng Bộ Khoa học và Công nghệ về việc "
        "công bố thủ tục hành chính mới ban hành, sửa đổi, bổ sung;",
        "Căn cứ Quyết định số 205/QĐ-BKHCN ngày 21/11/2026 của Bộ trưởng Bộ Khoa học và Công nghệ về việc "
        "công bố thủ tục hành chính bị bãi bỏ;",
    ]
    assert [d.so_hieu for d in batch.decisions] == ["100/QĐ-BKHCN", "205/QĐ-BKHCN"]

    # annex: part, sections in order, levels, fields
    assert "Phần I. DANH MỤC THỦ TỤC HÀNH CHÍNH" in texts
    headings = [t for t in texts if t[:3] in ("A. ", "B. ", "C. ")]
    assert headings == [f"A. {A}", f"B. {B}", f"C. {C}"]
    tinh, xa = "Thủ tục hành chính cấp tỉnh", "Thủ tục hành chính cấp xã"
    assert set(tables) == {(A, tinh), (A, xa), (B, tinh), (B, xa), (C, tinh)}

    a_tinh = _data_rows(tables[(A, tinh)])
    assert tables[(A, tinh)][0][:3] == ["STT", "Mã TTHC", "Tên thủ tục hành chính"]
    assert tables[(A, tinh)][1][0] == "Chuyển giao công nghệ"  # the field's heading row
    assert [r[:3] for r in a_tinh] == [["1", "1.050001", NEW_NAME]]
    assert a_tinh[0][4] == "Trung tâm Phục vụ hành chính công Thành phố Hồ Chí Minh"
    a_xa = _data_rows(tables[(A, xa)])
    assert tables[(A, xa)][1][0] == "Sở hữu trí tuệ"
    assert [r[:3] for r in a_xa] == [["1", NO_CODE, NEW_NO_CODE]]
    assert a_xa[0][4] == "Bộ phận Một cửa UBND cấp xã"
    # not in the catalogue, no details from the national database: the cells say why, never a bare "—"
    assert a_xa[0][3] == a_xa[0][5] == a_xa[0][6] == "Chưa tra cứu trên CSDL quốc gia"

    b_tinh = _data_rows(tables[(B, tinh)])
    assert [r[0] for r in b_tinh] == ["1", "2", "3"]  # numbered within the level, across fields
    assert [r[1] for r in b_tinh] == [used["both"].code, used["amended"].code, "1.050002"]  # department's field order
    assert [r[0] for r in tables[(B, tinh)] if len(set(r)) == 1] == ["Sở hữu trí tuệ", "Chuyển giao công nghệ"]
    assert {r[1]: r[2] for r in b_tinh} == {used["amended"].code: used["amended"].name,
                                            used["both"].code: used["both"].name, "1.050002": REPLACEMENT}
    row = next(r for r in b_tinh if r[1] == used["amended"].code)  # from the catalogue
    assert row[3:7] == ["15 ngày làm việc", "Trung tâm Phục vụ hành chính công Thành phố Hồ Chí Minh", "Không",
                        "Luật Chuyển giao công nghệ số 07/2017/QH14; Nghị định số 76/2018/NĐ-CP"]
    replacement = next(r for r in b_tinh if r[1] == "1.050002")
    assert f"Thay thế thủ tục mã {used['replaced'].code}" in replacement[-1]
    b_xa = _data_rows(tables[(B, xa)])
    assert [r[:3] for r in b_xa] == [["1", used["both"].code, used["both"].name]]  # both levels: listed twice

    c_tinh = _data_rows(tables[(C, tinh)])
    assert tables[(C, tinh)][0][3] == "Tên VBQPPL quy định việc bãi bỏ thủ tục hành chính"
    assert [r[0] for r in c_tinh] == ["1", "2"]
    abolished = {r[1]: r for r in c_tinh}
    assert set(abolished) == {used["replaced"].code, used["abolished"].code}
    for row in abolished.values():
        assert row[3] == "Quyết định số 205/QĐ-BKHCN ngày 21/11/2026 của Bộ trưởng Bộ Khoa học và Công nghệ"
    assert "Được thay thế bởi thủ tục thay thế về chuyển giao công nghệ (1.050002)" in \
        abolished[used["replaced"].code][4]
    # nothing of section A leaks into C, nor the other way round
    assert NEW_NAME not in [r[2] for r in c_tinh] and used["abolished"].name not in [r[2] for r in a_tinh]
    assert "<script>" in joined  # the scraped name is text in Word, kept verbatim


def test_only_sections_with_rows_appear(seeded, dept, tmp_path):
    s = seeded
    known = _procs(s, "cap_tinh")[0]
    d, _ = upsert_decision(s, so_hieu="300/QĐ-BKHCN", agency_name="Bộ Khoa học và Công nghệ", run_time=RUN,
                           trich_yeu="Công bố thủ tục hành chính bị bãi bỏ", signed_date=date(2026, 11, 19),
                           field_keys="chuyen_giao_cong_nghe")
    upsert_item(s, d, name=known.name, change_type="abolished", code=known.code)
    compare(s, dept, as_of=AS_OF)
    batch = build_batch(s, _flags(s), dept)
    texts, tables = _read(render_docx(batch, tmp_path / "only_c.docx"))
    assert [t for t in texts if t[:3] in ("A. ", "B. ", "C. ")] == [f"A. {C}"]  # lettered in order
    assert not any(t.endswith(("mới ban hành", "sửa đổi, bổ sung hoặc thay thế")) for t in texts)
    assert not any("cấp xã" == t[-6:] for t in texts if t.startswith(("I. ", "II. ")))
    assert list(tables) == [(C, "Thủ tục hành chính cấp tỉnh")]
    assert _data_rows(tables[(C, "Thủ tục hành chính cấp tỉnh")])[0][:3] == ["1", known.code, known.name]
    title = next(t for t in texts if t.startswith("Về việc công bố"))
    assert title.startswith("Về việc công bố Danh mục thủ tục hành chính bị bãi bỏ trong lĩnh vực")


def test_html_preview_has_the_same_rows_and_escapes(seeded, dept):
    s = seeded
    used = _scenario(s, dept)
    batch = build_batch(s, _flags(s), dept)
    html = render_html(batch)
    assert unicodedata.is_normalized("NFC", html)
    assert "<script>" not in html
    assert "Thủ tục hỗ trợ ươm tạo công nghệ &lt;script&gt;alert(1)&lt;/script&gt;" in html
    for heading in (f"A. {A}", f"B. {B}", f"C. {C}", "I. Thủ tục hành chính cấp tỉnh",
                    "II. Thủ tục hành chính cấp xã", "Phần I. DANH MỤC THỦ TỤC HÀNH CHÍNH"):
        assert heading in html
    for proc in used.values():
        assert f">{proc.code}<" in html
    assert f">{NO_CODE}<" in html and NEW_NO_CODE in html and REPLACEMENT in html
    assert "Căn cứ Quyết định số 100/QĐ-BKHCN ngày 18/11/2026" in html
    assert "Căn cứ Quyết định số 205/QĐ-BKHCN ngày 21/11/2026" in html
    assert "Sở Khoa học và Công nghệ" in html and "CHỦ TỊCH ỦY BAN NHÂN DÂN THÀNH PHỐ HỒ CHÍ MINH" in html
    rows = sum(len(sec.rows) for sec in batch.sections)
    assert html.count('<td style="text-align: center;">') == 2 * rows  # STT and code cells


def test_deterministic(seeded, dept, tmp_path):
    s = seeded
    _scenario(s, dept)
    flags = _flags(s)
    first, second = build_batch(s, flags, dept), build_batch(s, list(reversed(flags)), dept)
    assert first.key == second.key == batch_key(flags) == batch_key(reversed(flags))
    assert len(first.key) == 64 and first.file_stem == second.file_stem
    assert batch_key(flags[:-1]) != first.key
    one = render_docx(first, tmp_path / "one" / f"{first.file_stem}.docx")
    two = render_docx(second, tmp_path / "two" / f"{second.file_stem}.docx")
    assert _read(one)[0] == _read(two)[0]
    assert one.read_bytes() == two.read_bytes()
    assert render_html(first) == render_html(second)


def test_shipped_template_is_make_template_output(tmp_path):
    shipped = templates_dir() / TEMPLATE_DOCX
    assert shipped.exists(), "run make_template() and commit include/templates/quyet_dinh_cong_bo.docx"
    fresh = make_template(tmp_path / "fresh.docx")
    assert template_tags(fresh) == template_tags(shipped)
    assert "{%tr for r in f.rows %}" in template_tags(shipped)
    texts = lambda p: [p_.text for p_ in Document(str(p)).paragraphs]  # noqa: E731
    assert texts(fresh) == texts(shipped)


def test_province_wording(seeded, dept):
    from dataclasses import replace

    s = seeded
    _scenario(s, dept)
    batch = build_batch(s, _flags(s), replace(dept, province="Tỉnh Đồng Nai"))
    assert batch.place == "Đồng Nai" and batch.province_upper == "TỈNH ĐỒNG NAI"
    assert batch.section("new").levels[0].rows[0].location == "Trung tâm Phục vụ hành chính công tỉnh Đồng Nai"
    assert "Chánh Văn phòng Ủy ban nhân dân tỉnh" in batch.dieu_3

