"""reports.digest and reports.render: the Vietnamese nightly digest built from the database."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from zoneinfo import ZoneInfo

from tthc.compare.flags import compare
from tthc.core.render import levels_vn, vn_date
from tthc.ingest.runs import upsert_decision, upsert_item
from tthc.reports.digest import build_digest, digest_mail

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
    assert digest.soon == [] and [f.procedure_code for f in digest.later] == ["1.022222"]  # 08/12: after 03/12
    assert len(digest.review) == 1
    assert {d.so_hieu for d in digest.decisions} == {"10/QĐ-BKHCN", "11/QĐ-BKHCN"}

    mail = digest_mail(digest, dept)
    assert mail.subject == "[KSTTHC] 2 TTHC cần công bố, 1 quá hạn, 1 cần xem xét — 26/11/2026"
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
    from tthc.compare.prepare import prepare_draft

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
    assert mail.subject.endswith("1 cần xem xét, 1 dự thảo chờ phê duyệt — 26/11/2026")
    review_id = digest.review[0].id
    assert f"tthc review decide {review_id} --code 1.001155" in mail.text
    assert "CHỜ PHÊ DUYỆT (1)" in mail.text and draft.docx not in mail.text  # a worker's path: no use to anyone
    assert f"http://localhost:8080/kstthc/drafts/{draft.announcement_id}" in mail.text  # the page serving it
    assert "1.001155 – Thủ tục hỗ trợ doanh nghiệp, tổ chức, cá nhân thực hiện giải mã công nghệ" in mail.html
    assert "Chờ phê duyệt (1)" in mail.html


def _flagged(s, dept, so_hieu, effective, code, published=date(2026, 11, 20)):
    d, _ = upsert_decision(s, so_hieu=so_hieu, agency_name="Bộ Khoa học và Công nghệ", run_time=END, trich_yeu="x",
                           published_date=published, effective_date=effective, field_keys="chuyen_giao_cong_nghe")
    upsert_item(s, d, name=f"Thủ tục {code}", change_type="new", code=code, levels=["cap_tinh"],
                field_key="chuyen_giao_cong_nghe")
    compare(s, dept, as_of=END.date())


def test_urgency_buckets_use_working_days(seeded, dept):
    s = seeded
    # deadlines: 5 working days before the effective date; 26/11 + 5 working days = 03/12 (Thu 26 → Thu 03)
    _flagged(s, dept, "20/QĐ-BKHCN", date(2026, 12, 10), "1.030001")  # due 03/12: within 5 working days
    _flagged(s, dept, "21/QĐ-BKHCN", date(2026, 12, 11), "1.030002")  # due 04/12: later
    _flagged(s, dept, "22/QĐ-BKHCN", date(2026, 11, 27), "1.030003")  # due 20/11: overdue
    digest = build_digest(s, window_start=START, window_end=END, as_of=END.date())
    assert [f.procedure_code for f in digest.soon] == ["1.030001"]
    assert [f.procedure_code for f in digest.later] == ["1.030002"]
    assert [f.procedure_code for f in digest.late] == ["1.030003"]
    mail = digest_mail(digest, dept)
    assert mail.subject == "[KSTTHC] 3 TTHC cần công bố, 1 quá hạn — 26/11/2026"
    assert "ĐẾN HẠN TRONG 5 NGÀY LÀM VIỆC (1)" in mail.text and "#8a4b00" in mail.html and "#b71c1c" in mail.html


def test_quiet_digest_only_on_the_quiet_weekday(seeded, dept):
    from dataclasses import replace

    from tthc.reports.digest import should_send

    s = seeded
    digest = build_digest(s, window_start=START, window_end=END, as_of=END.date())  # Thursday, nothing stored
    assert digest.quiet and not digest.has_news
    assert should_send(digest, dept) is False  # quiet_weekday 0 = Monday
    assert should_send(digest, replace(dept, quiet_weekday=END.date().weekday())) is True
    mail = digest_mail(digest, dept)
    assert mail.subject == "[KSTTHC] Không có việc mới — 26/11/2026"
    assert "Không có việc mới" in mail.text and "QUÁ HẠN" not in mail.text


def test_published_per_channel_failing_sources_and_links(seeded, dept):
    from dataclasses import replace

    from tthc.db.models import Posting, SourceHealth

    s = seeded
    s.add_all([
        Posting(channel="cms", object_key="procedure:1", version=1, content_hash="a", url="http://cms/trang/p-1",
                status="posted", posted_for=END.date()),
        Posting(channel="cms", object_key="procedure:2", version=2, content_hash="b", url="http://cms/trang/p-2",
                status="withdrawn", posted_for=END.date()),
        Posting(channel="csdl", object_key="announcement:1", version=1, content_hash="c", url=None, status="posted",
                posted_for=END.date()),
        Posting(channel="cms", object_key="procedure:3", version=1, content_hash="d", url="http://cms/old",
                status="posted", posted_for=date(2026, 11, 1)),  # another day: not in this digest
        SourceHealth(source="sync_province_portal", consecutive_failures=2, first_failure_for=date(2026, 11, 25),
                     last_error="AuthError: Cổng DVC tỉnh refused the token (HTTP 401)"),
    ])
    s.flush()
    digest = build_digest(s, window_start=START, window_end=END, as_of=END.date())
    assert [(c.channel, c.created_or_updated, c.withdrawn) for c in digest.published] == [("cms", 1, 1), ("csdl", 1, 0)]
    assert [h.source for h in digest.failing] == ["sync_province_portal"]
    mail = digest_mail(digest, replace(dept, airflow_url="https://airflow.sokhcn.vn"))
    assert mail.subject == "[KSTTHC] 1 nguồn/kênh đang lỗi — 26/11/2026"
    assert "http://cms/trang/p-1" in mail.text and "http://cms/old" not in mail.text
    assert "Trang thông tin điện tử của Sở: 1 mục đăng mới hoặc cập nhật, 1 mục gỡ/thu hồi" in mail.text
    assert "sync_province_portal: lỗi 2 lượt liên tiếp từ ngày 25/11/2026" in mail.text
    assert 'href="https://airflow.sokhcn.vn/dags/tthc_ingest"' in mail.html


def test_digest_links_use_airflows_own_base_url_first(dept, monkeypatch):
    """The deployment's real UI address: [api] base_url when set (prod-local, docker-compose), else airflow_url."""
    from tthc.reports.digest import links

    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://kstthc.sokhcn.vn/airflow/")
    assert links(dept)["kstthc"] == "https://kstthc.sokhcn.vn/airflow/kstthc/"
    assert links(dept)["approve"] == "https://kstthc.sokhcn.vn/airflow/required_actions?response_received=false"
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "")
    assert links(dept)["compare"] == "http://localhost:8080/dags/tthc_compare"  # department.yaml airflow_url
    from dataclasses import replace

    assert links(replace(dept, airflow_url="")) == {}  # no address known: no links rather than wrong ones
