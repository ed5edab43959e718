"""compare.draft with procedure details: the annex's thời hạn giải quyết, địa điểm thực hiện, phí/lệ phí and căn
cứ pháp lý from the national database, the reason on a row without them, Phần II, and the document as
LibreOffice renders it (no "—" in those columns for a procedure that has details)."""

from __future__ import annotations

import shutil
import subprocess
import unicodedata
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from docx import Document
from sqlalchemy import select
from tthc.compare.draft import build_batch, render_docx, render_html
from tthc.compare.draft.part_two import build_part_two, render_part_two
from tthc.compare.flags import compare
from tthc.db.models import DecisionItem, Flag, ItemDetails
from tthc.ingest.details import store_page
from tthc.ingest.runs import upsert_decision, upsert_item
from tthc.ingest.sources.national_portal.procedure_page import complete_with_citizen, parse_procedure_page
from tthc_dev.sandbox.data import Catalogue
from tthc_dev.sandbox.procedure_pages import citizen_page, full_page

RUN = datetime(2026, 11, 26, 1, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
AS_OF = date(2026, 11, 26)
SANDBOX_DATA = Path(__file__).resolve().parents[2] / "plugins" / "tthc_dev" / "sandbox" / "data"
NO_DETAILS = "Thủ tục đăng ký hoạt động thử nghiệm chưa công bố trên cơ sở dữ liệu"


def _store(s, item: DecisionItem, code: str) -> None:
    """What the ingest stores for ``item``: the sandbox's pages of ``code``, parsed, as a version and a link."""
    proc = Catalogue(SANDBOX_DATA).procedures[code]
    page = complete_with_citizen(parse_procedure_page(full_page(proc, proc["portal_id"]), "full"),
                                 parse_procedure_page(citizen_page(proc), "citizen"))
    row, _ = store_page(s, page, f"https://dichvucong.gov.vn/{code}", None, code, AS_OF, item)
    s.add(ItemDetails(item_id=item.id, details_id=row.id, status="fetched", attempts=0, checked_for=AS_OF))
    s.flush()


def _scenario(s, dept):
    d, _ = upsert_decision(s, so_hieu="100/QĐ-BKHCN", agency_name="Bộ Khoa học và Công nghệ", run_time=RUN,
                           trich_yeu="Về việc công bố thủ tục hành chính mới ban hành, sửa đổi, bổ sung",
                           signed_date=date(2026, 11, 18), published_date=date(2026, 11, 20),
                           effective_date=date(2026, 12, 15), field_keys="chuyen_giao_cong_nghe,hoat_dong_khcn")
    amended = upsert_item(s, d, name="Thủ tục cấp Giấy chứng nhận đăng ký chuyển giao công nghệ (trừ trường hợp "
                          "thuộc thẩm quyền của Bộ Khoa học và Công nghệ)", change_type="amended", external_id="201001")
    new = upsert_item(s, d, name="Xét hỗ trợ hoạt động nghiên cứu và triển khai, chuyển giao công nghệ",
                      change_type="amended", external_id="201033")
    missing = upsert_item(s, d, name=NO_DETAILS, change_type="new", levels=["cap_tinh"], field_key="hoat_dong_khcn")
    _store(s, amended, "2.002248")
    _store(s, new, "1.012870")
    s.add(ItemDetails(item_id=missing.id, status="missing", attempts=1, checked_for=AS_OF, error="no such procedure"))
    compare(s, dept, as_of=AS_OF)
    s.flush()
    return list(s.scalars(select(Flag).order_by(Flag.id)))


def test_rows_with_details_say_what_the_national_database_says(seeded, dept):
    flags = _scenario(seeded, dept)
    batch = build_batch(seeded, flags, dept)
    rows = {r.code: r for sec in batch.sections for r in sec.rows}
    cgcn = rows["2.002248"]
    assert cgcn.source == "csdl" and cgcn.details_id is not None and cgcn.missing_reason == ""
    assert cgcn.processing_time == "07 ngày làm việc"
    assert cgcn.fee == ("Phí: 0,1% tổng giá trị hợp đồng, tối thiểu 5.000.000 đồng, tối đa 10.000.000 đồng "
                        "(Phí thẩm định hợp đồng chuyển giao công nghệ)")
    assert cgcn.legal_basis == ("Luật Chuyển giao công nghệ số 07/2017/QH14 ngày 19/06/2017;\n"
                                "Nghị định số 76/2018/NĐ-CP ngày 15/05/2018 của Chính phủ")
    assert cgcn.location == ("Trung tâm Phục vụ hành chính công Thành phố Hồ Chí Minh\n"
                             "(cơ quan thực hiện: Sở Khoa học và Công nghệ)")
    # a procedure at both levels: each level's row names its own agency; per-channel time limits
    both = [r for sec in batch.sections for lv in sec.levels for r in lv.rows if r.code == "1.012870"]
    assert [r.location for r in both] == [
        "Trung tâm Phục vụ hành chính công Thành phố Hồ Chí Minh\n(cơ quan thực hiện: Sở Khoa học và Công nghệ)",
        "Bộ phận Một cửa UBND cấp xã"]  # the commune's agency is the place itself
    assert both[0].processing_time == "Trực tiếp, dịch vụ bưu chính: 30 ngày làm việc;\nTrực tuyến: 28 ngày làm việc"
    # the row without details says why, in each column, and the checker's notes list it
    (row,) = batch.without_details
    assert row.name == NO_DETAILS and row.missing_reason == "Chưa có trên CSDL quốc gia"
    assert row.processing_time == row.fee == row.legal_basis == "Chưa có trên CSDL quốc gia"
    assert NO_DETAILS in batch.notes[0] and "trước khi trình ký" in batch.notes[0]
    # a department's place of submission replaces the default
    custom = build_batch(seeded, flags, replace(dept, draft_locations={"cap_tinh": "Trung tâm Phục vụ hành chính "
                                                                      "công Thành phố, số 1 Lê Lợi"}))
    row = next(r for sec in custom.sections for r in sec.rows if r.code == "2.002248")
    assert row.location.startswith("Trung tâm Phục vụ hành chính công Thành phố, số 1 Lê Lợi\n")


def test_docx_and_html_show_the_details(seeded, dept, tmp_path):
    flags = _scenario(seeded, dept)
    batch = build_batch(seeded, flags, dept)
    doc = Document(str(render_docx(batch, tmp_path / "draft.docx")))
    cells = {row.cells[1].text: [c.text for c in row.cells] for t in doc.tables for row in t.rows}
    assert cells["2.002248"][3] == "07 ngày làm việc"
    assert cells["2.002248"][6].splitlines() == ["Luật Chuyển giao công nghệ số 07/2017/QH14 ngày 19/06/2017;",
                                                 "Nghị định số 76/2018/NĐ-CP ngày 15/05/2018 của Chính phủ"]
    html = render_html(batch)
    assert "Ghi chú cho người kiểm tra dự thảo" in html and NO_DETAILS in html
    assert "Luật Chuyển giao công nghệ số 07/2017/QH14 ngày 19/06/2017;<br>Nghị định số 76/2018/NĐ-CP" in html
    assert unicodedata.is_normalized("NFC", html)
    # the notes are for the checker only, never in the document to sign
    assert not any("người kiểm tra" in p.text for p in doc.paragraphs)


def test_part_two(seeded, dept, tmp_path):
    flags = _scenario(seeded, dept)
    batch = build_batch(seeded, flags, dept)
    groups = build_part_two(batch)
    entries = {e.code: e for g in groups for e in g.entries}
    cgcn = entries["2.002248"]
    headings = [h for h, _ in cgcn.parts]
    assert [h[:2] for h in headings] == ["a)", "b)", "c)", "d)", "đ)", "e)", "g)", "h)", "i)", "k)", "l)"]
    parts = dict(cgcn.parts)
    assert parts["a) Trình tự thực hiện:"][0].startswith("Bước 1:")
    assert parts["d) Thời hạn giải quyết:"] == ["07 ngày làm việc"]
    assert parts["l) Căn cứ pháp lý của thủ tục hành chính:"][1].startswith(
        "- Nghị định số 76/2018/NĐ-CP ngày 15/05/2018 của Chính phủ quy định chi tiết")
    assert len(cgcn.channels) == 3
    missing = next(e for g in groups for e in g.entries if e.name == NO_DETAILS)
    assert missing.reason == "Chưa có trên CSDL quốc gia" and missing.parts == []
    path = render_part_two(batch, tmp_path / "p2.docx")
    text = "\n".join(p.text for p in Document(str(path)).paragraphs)
    assert text.startswith("Phần II. NỘI DUNG CỤ THỂ CỦA TỪNG THỦ TỤC HÀNH CHÍNH")
    assert "Nội dung thủ tục: Chưa có trên CSDL quốc gia." in text
    assert render_part_two(batch, tmp_path / "again.docx").read_bytes() == path.read_bytes()  # deterministic


@pytest.fixture(scope="module")
def soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        pytest.skip("LibreOffice is not installed: apt-get install -y libreoffice-writer-nogui poppler-utils "
                    "(.ci/run installs it)")
    return found


def test_the_rendered_annex_has_no_dash_where_details_exist(soffice, seeded, sandbox, dept, tmp_path):
    """The demo's path (sandbox portal → details → flags → draft), rendered by LibreOffice: on the annex's pages
    (landscape) no "—" at all; every procedure with details shows its time limit and its first legal basis."""
    from pypdf import PdfReader
    from tthc.compare.prepare import prepare_draft
    from tthc.core.http import SnapshotRecorder
    from tthc.ingest.details import ProcedurePageClient, fetch_procedure_details
    from tthc.ingest.http_cache import source_session
    from tthc.ingest.runs import ingest_html_site, ingest_portal
    from tthc.ingest.sources.html_listing import load_all
    from tthc.ingest.sources.html_listing.client import HtmlListingClient
    from tthc.ingest.sources.national_portal.client import HttpPortalClient

    s, http = seeded, source_session(seeded, retries=0)
    rec = SnapshotRecorder(fetched_at=RUN)
    ingest_portal(s, HttpPortalClient(sandbox.url, session=http, recorder=rec), rec, dept, window_end=AS_OF,
                  run_time=RUN)
    rec = SnapshotRecorder(fetched_at=RUN)
    ingest_html_site(s, HtmlListingClient(load_all()["bo_khcn_sandbox"], base_url=sandbox.url, session=http,
                                          recorder=rec), rec, dept, window_end=AS_OF, run_time=RUN)
    rec = SnapshotRecorder(fetched_at=RUN)
    fetch_procedure_details(s, ProcedurePageClient(sandbox.url, http, rec), rec, as_of=AS_OF)
    compare(s, dept, as_of=AS_OF)
    for flag in s.scalars(select(Flag).where(Flag.status == "review")):
        flag.status = "open"  # as if a person had answered the review queue: every flag in the draft
    info = prepare_draft(s, dept, as_of=AS_OF, out_dir=tmp_path / "drafts")
    s.commit()
    batch = build_batch(s, list(s.scalars(select(Flag).where(Flag.announcement_id == info.announcement_id))), dept)
    with_details = [r for sec in batch.sections if not sec.abolition for r in sec.rows if r.source == "csdl"]
    assert len(with_details) >= 15

    out = tmp_path / "pdf"
    subprocess.run([soffice, "--headless", "--convert-to", "pdf", "--outdir", str(out), info.docx], check=True,
                   capture_output=True, timeout=180, env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    reader = PdfReader(str(out / (Path(info.docx).stem + ".pdf")))
    annex = [p for p in reader.pages if float(p.mediabox.width) > float(p.mediabox.height)]
    assert annex, "the annex is on landscape pages"
    text = "\n".join(p.extract_text() for p in annex)
    assert "—" not in text
    flat = " ".join(text.split())
    for row in with_details:
        assert row.code in flat
        assert row.processing_time.split("\n")[0].split(":")[-1].strip().split(";")[0] in flat, row.code
    assert "Chưa có trên CSDL quốc gia" in flat  # and the rows without details say why
