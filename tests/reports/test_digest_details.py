"""reports.digest: procedures without details on the national database, changes there with no decision
(before/after), provisional ("tạm tính") deadlines, and the warning from 1 November about next year."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from tthc.compare.flags import compare
from tthc.core.workdays import WorkCalendar, parse_schedule
from tthc.db.models import ItemDetails, ProcedureDetails
from tthc.ingest.runs import upsert_decision, upsert_item
from tthc.reports.digest import build_digest, digest_mail

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
START, END = datetime(2026, 11, 25, 1, tzinfo=TZ), datetime(2026, 11, 26, 1, tzinfo=TZ)
CHANNEL = {"channel": "Trực tiếp", "deadline": "7 Ngày làm việc", "fee": "", "description": ""}


def _details(s, version: int, fee: str, day: date, **kw) -> ProcedureDetails:
    row = ProcedureDetails(portal_id="201001", version=version, code="2.002248", name="Thủ tục cấp Giấy chứng nhận "
                           "đăng ký chuyển giao công nghệ", levels="cap_tinh", layout="full", content_hash=str(version),
                           data={"channels": [{**CHANNEL, "fee": fee}]}, url="u", fetched_for=day, checked_for=day, **kw)
    s.add(row)
    s.flush()
    return row


def test_the_digest_lists_rows_without_details_drifts_and_provisional_deadlines(seeded, dept):
    s = seeded
    d, _ = upsert_decision(s, so_hieu="11/QĐ-BKHCN", agency_name="Bộ Khoa học và Công nghệ", run_time=END,
                           trich_yeu="Công bố thủ tục", published_date=date(2026, 11, 25),
                           effective_date=date(2027, 1, 20), field_keys="chuyen_giao_cong_nghe")
    with_details = upsert_item(s, d, name="Thủ tục có trên cơ sở dữ liệu", change_type="new", code="1.033333",
                               levels=["cap_tinh"], field_key="chuyen_giao_cong_nghe")
    without = upsert_item(s, d, name="Thủ tục chưa có trên cơ sở dữ liệu", change_type="new", levels=["cap_tinh"],
                          field_key="chuyen_giao_cong_nghe")
    first = _details(s, 1, "", date(2026, 11, 1), change="first")
    s.add(ItemDetails(item_id=with_details.id, details_id=first.id, status="fetched", attempts=0, checked_for=END.date()))
    s.add(ItemDetails(item_id=without.id, status="missing", attempts=1, checked_for=END.date()))
    _details(s, 2, "Phí: 3.000.000 đồng", date(2026, 11, 25), change="drift", drift_status="review")
    compare(s, dept, as_of=END.date())

    digest = build_digest(s, window_start=START, window_end=END, as_of=END.date())
    assert [(f.procedure_name, why) for f, why in digest.missing_details] == [
        ("Thủ tục chưa có trên cơ sở dữ liệu", "Chưa có trên CSDL quốc gia")]
    (drift,) = digest.drifts
    assert [(c.label, c.before, c.after) for c in drift.changes] == [("Phí, lệ phí", "Không", "Phí: 3.000.000 đồng")]
    assert len(digest.provisional) == 2  # due 13/01/2027, counted through 2027 (no official schedule yet)
    assert digest.schedule_warning.startswith("Chưa có lịch nghỉ lễ, Tết chính thức năm 2027")

    mail = digest_mail(digest, dept)
    assert "1 TTHC thay đổi trên CSDL quốc gia chưa có quyết định" in mail.subject
    assert "CHƯA CÓ NỘI DUNG TRÊN CSDL QUỐC GIA (1)" in mail.text
    assert "- Chưa có mã – Thủ tục chưa có trên cơ sở dữ liệu: Chưa có trên CSDL quốc gia" in mail.text
    assert "THAY ĐỔI TRÊN CSDL QUỐC GIA CHƯA CÓ QUYẾT ĐỊNH (1)" in mail.text
    assert "Phí, lệ phí: «Không» → «Phí: 3.000.000 đồng»" in mail.text
    assert "[13/01/2027, tạm tính]" in mail.text
    assert "LƯU Ý: Chưa có lịch nghỉ lễ, Tết chính thức năm 2027" in mail.text
    assert "Thay đổi trên CSDL quốc gia chưa có quyết định (1)" in mail.html
    assert "(tạm tính)" in mail.html and "Chưa có nội dung trên CSDL quốc gia (1)" in mail.html


def test_the_warning_about_next_year_starts_on_1_november(seeded):
    s = seeded
    october = datetime(2026, 10, 31, 1, tzinfo=TZ)
    assert build_digest(s, window_start=october, window_end=october, as_of=date(2026, 10, 31)).schedule_warning == ""
    november = datetime(2026, 11, 1, 1, tzinfo=TZ)
    assert "2027" in build_digest(s, window_start=november, window_end=november,
                                  as_of=date(2026, 11, 1)).schedule_warning
    # once next year is in the table, no warning
    full = WorkCalendar.from_file()
    events = {k: {"source": f"Thông báo {k}", "checked": True} for k in
              ("tet_duong_lich", "tet_am_lich", "gio_to_hung_vuong", "le_30_4_1_5", "quoc_khanh")}
    calendar = WorkCalendar(full.extra_off, full.extra_work, {**full.schedule, **parse_schedule({2027: {"events": events}})})
    assert build_digest(s, window_start=november, window_end=november, as_of=date(2026, 11, 1),
                        calendar=calendar).schedule_warning == ""


def test_a_quiet_night_with_only_a_drift_is_news(seeded):
    s = seeded
    _details(s, 1, "", date(2026, 11, 1), change="first")
    digest = build_digest(s, window_start=START, window_end=END, as_of=END.date())
    assert digest.quiet
    _details(s, 2, "Phí: 1 đồng", date(2026, 11, 25), change="drift", drift_status="review")
    digest = build_digest(s, window_start=START, window_end=END, as_of=END.date())
    assert not digest.quiet and len(digest.drifts) == 1
