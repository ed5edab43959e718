"""reports.digest and reports.render: the Vietnamese nightly digest built from the database."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from zoneinfo import ZoneInfo

from tthc.compare.flags import compare
from tthc.ingest import upsert_decision, upsert_item
from tthc.reports.digest import build_digest, digest_mail
from tthc.reports.render import levels_vn, vn_date

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
START, END = datetime(2026, 11, 25, 1, tzinfo=TZ), datetime(2026, 11, 26, 1, tzinfo=TZ)


def test_filters():
    assert vn_date(date(2026, 1, 5)) == "05/01/2026"
    assert vn_date(None) == "—"
    assert levels_vn("cap_tinh,cap_xa") == "Cấp tỉnh; Cấp xã"
    assert levels_vn("") == "Chưa xác định"


def test_digest_lists_late_pending_and_review(seeded, dept):
    s = seeded
    late, _ = upsert_decision(s, so_hieu="10/QĐ-BKHCN", agency_name="Bộ Khoa học và Công nghệ", run_time=END,
                              trich_yeu="Công bố thủ tục cũ", published_date=date(2026, 10, 1),
                              effective_date=date(2026, 10, 20), field_keys="chuyen_giao_cong_nghe")
    upsert_item(s, late, name="Thủ tục đã quá hạn", change_type="new", code="1.011111", levels=["cap_tinh"],
                field_key="chuyen_giao_cong_nghe")
    fresh, _ = upsert_decision(s, so_hieu="11/QĐ-BKHCN", agency_name="Bộ Khoa học và Công nghệ", run_time=END,
                               trich_yeu="Công bố thủ tục mới", published_date=date(2026, 11, 25),
                               effective_date=date(2026, 12, 15), field_keys="chuyen_giao_cong_nghe")
    upsert_item(s, fresh, name="Thủ tục còn hạn", change_type="new", code="1.022222", levels=["cap_xa"],
                field_key="chuyen_giao_cong_nghe")
    upsert_item(s, fresh, name="Thủ tục chưa rõ cấp", change_type="new", field_key="chuyen_giao_cong_nghe")
    compare(s, dept, as_of=END.date())

    digest = build_digest(s, window_start=START, window_end=END, as_of=END.date())
    assert [f.procedure_code for f in digest.late] == ["1.011111"]
    assert [f.procedure_code for f in digest.pending] == ["1.022222"]
    assert len(digest.review) == 1
    assert {d.so_hieu for d in digest.decisions} == {"10/QĐ-BKHCN", "11/QĐ-BKHCN"}

    mail = digest_mail(digest, dept)
    assert mail.subject == "[KSTTHC] Bản tin ngày 26/11/2026: 2 TTHC chờ công bố, 1 quá hạn, 1 cần xem xét"
    assert mail.recipients == tuple(dept.recipients)
    for text in (mail.subject, mail.html, mail.text):
        assert unicodedata.is_normalized("NFC", text)
    assert "QUÁ HẠN CÔNG BỐ (1)" in mail.text and "Thủ tục đã quá hạn" in mail.text
    assert "08/12/2026" in mail.text and "Cấp xã" in mail.text
    assert "<table" in mail.html and "Cần xem xét (1)" in mail.html
    assert "<table" not in mail.text


def test_digest_escapes_html_in_data(seeded, dept):
    s = seeded
    d, _ = upsert_decision(s, so_hieu="12/QĐ-BKHCN", agency_name="Bộ Khoa học và Công nghệ", run_time=END,
                           trich_yeu="<script>alert(1)</script>", published_date=date(2026, 11, 25),
                           effective_date=date(2026, 12, 15), field_keys="chuyen_giao_cong_nghe")
    upsert_item(s, d, name="Thủ tục <b>đậm</b>", change_type="new", code="1.033333", levels=["cap_tinh"],
                field_key="chuyen_giao_cong_nghe")
    compare(s, dept, as_of=END.date())
    mail = digest_mail(build_digest(s, window_start=START, window_end=END, as_of=END.date()), dept)
    assert "<script>" not in mail.html and "&lt;script&gt;" in mail.html
    assert "&lt;b&gt;đậm&lt;/b&gt;" in mail.html


def test_digest_shows_review_queue_with_candidate_and_waiting_draft(seeded, dept, tmp_path):
    from tthc.compare.announce import prepare_draft

    s = seeded
    d, _ = upsert_decision(s, so_hieu="13/QĐ-BKHCN", agency_name="Bộ Khoa học và Công nghệ", run_time=END,
                           trich_yeu="Sửa đổi", published_date=date(2026, 11, 25),
                           effective_date=date(2026, 12, 15), field_keys="chuyen_giao_cong_nghe")
    # close to catalogue 1.001155 but a word group missing: review, never auto-matched
    upsert_item(s, d, name="Thủ tục hỗ trợ doanh nghiệp, tổ chức thực hiện giải mã công nghệ", change_type="amended",
                levels=["cap_tinh"], field_key="chuyen_giao_cong_nghe")
    upsert_item(s, d, name="Thủ tục còn hạn", change_type="new", code="1.022222", levels=["cap_xa"],
                field_key="chuyen_giao_cong_nghe")
    compare(s, dept, as_of=END.date())
    draft = prepare_draft(s, dept, as_of=END.date(), out_dir=tmp_path)
    digest = build_digest(s, window_start=START, window_end=END, as_of=END.date())
    assert len(digest.review) == 1 and [a.id for a in digest.drafts] == [draft.announcement_id]
    mail = digest_mail(digest, dept)
    assert mail.subject.endswith("1 cần xem xét, 1 dự thảo chờ phê duyệt")
    review_id = digest.review[0].id
    assert f"tthc review decide {review_id} --code 1.001155" in mail.text
    assert "CHỜ PHÊ DUYỆT (1)" in mail.text and draft.docx in mail.text
    assert "1.001155 – Thủ tục hỗ trợ doanh nghiệp, tổ chức, cá nhân thực hiện giải mã công nghệ" in mail.html
    assert "Chờ phê duyệt (1)" in mail.html
