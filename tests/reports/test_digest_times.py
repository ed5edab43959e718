"""The digest leads with time: each new ministry decision, how long until the pipeline stored it (from 0:00
of its publication day, Vietnam time) and how far its draft got."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from tthc.compare.flags import compare
from tthc.ingest.runs import upsert_decision, upsert_item
from tthc.reports.digest import build_digest, detection_hours, digest_mail

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
START, END = datetime(2026, 11, 25, 1, tzinfo=TZ), datetime(2026, 11, 26, 1, tzinfo=TZ)
MINISTRY = "Bộ Khoa học và Công nghệ"


def _decision(s, so_hieu, run_time, published, code, levels=("cap_tinh",)):
    d, _ = upsert_decision(s, so_hieu=so_hieu, agency_name=MINISTRY, run_time=run_time, trich_yeu="Công bố",
                           published_date=published, effective_date=date(2027, 1, 15),
                           field_keys="chuyen_giao_cong_nghe")
    upsert_item(s, d, name=f"Thủ tục {code}", change_type="new", code=code, levels=list(levels),
                field_key="chuyen_giao_cong_nghe")
    return d


def test_digest_leads_with_detection_time_and_draft(seeded, dept, tmp_path):
    from tthc.compare.prepare import prepare_draft

    s = seeded
    # noticed by the watcher at 10:30 on its publication day; the other by the nightly run at 01:00 the
    # next day, with only a central-level procedure (nothing for the province to announce)
    watched = _decision(s, "41/QĐ-BKHCN", datetime(2026, 11, 25, 10, 30, tzinfo=TZ), date(2026, 11, 25), "1.041001")
    nightly = _decision(s, "42/QĐ-BKHCN", END, date(2026, 11, 24), "1.041002", levels=("cap_trung_uong",))
    compare(s, dept, as_of=END.date())
    prepare_draft(s, dept, as_of=END.date(), out_dir=tmp_path)
    s.commit()

    digest = build_digest(s, window_start=START, window_end=END, as_of=END.date())
    by = {t.decision.so_hieu: t for t in digest.times}
    assert by["41/QĐ-BKHCN"].hours == pytest.approx(10.5)
    assert by["41/QĐ-BKHCN"].state == "draft_ready" and by["41/QĐ-BKHCN"].flags == 1
    assert by["42/QĐ-BKHCN"].hours == pytest.approx(49.0)  # 24/11 0:00 → 26/11 01:00
    assert by["42/QĐ-BKHCN"].state == "nothing"

    mail = digest_mail(digest, dept)
    for text in (mail.html, mail.text):
        assert unicodedata.is_normalized("NFC", text)
    lead = ("Quyết định mới của Bộ: 41/QĐ-BKHCN (Bộ Khoa học và Công nghệ, công bố 25/11/2026) — "
            "phát hiện sau 10,5 giờ; dự thảo sẵn sàng (1 thủ tục).")
    assert lead in mail.text
    assert "42/QĐ-BKHCN (Bộ Khoa học và Công nghệ, công bố 24/11/2026) — phát hiện sau 49 giờ; " \
           "không có thủ tục phải công bố." in mail.text
    # it leads: before the counts and every other section
    assert mail.text.index(lead) < mail.text.index("- Quá hạn công bố")
    assert "<strong>phát hiện sau 10,5 giờ</strong>; dự thảo sẵn sàng (1 thủ tục)." in mail.html
    assert mail.html.index("Quyết định mới của Bộ") < mail.html.index("quá hạn</td>")
    assert watched.id != nightly.id


def test_approved_and_undated(seeded, dept, tmp_path):
    from tthc.compare.prepare import prepare_draft
    from tthc.db.models import Announcement

    s = seeded
    _decision(s, "43/QĐ-BKHCN", END, date(2026, 11, 25), "1.043001")
    undated = _decision(s, "44/QĐ-BKHCN", END, None, "1.043002", levels=("cap_trung_uong",))
    undated.signed_date = date(2026, 11, 20)  # the ministry site: a signing date, no publication date
    compare(s, dept, as_of=END.date())
    prepare_draft(s, dept, as_of=END.date(), out_dir=tmp_path)
    ann = s.query(Announcement).one()
    ann.status = "approved"
    s.commit()
    by = {t.decision.so_hieu: t for t in build_digest(s, window_start=START, window_end=END, as_of=END.date()).times}
    assert by["43/QĐ-BKHCN"].state == "approved" and by["43/QĐ-BKHCN"].hours == pytest.approx(25.0)
    assert by["44/QĐ-BKHCN"].hours is None
    assert by["44/QĐ-BKHCN"].delay_vn == "phát hiện ngày 26/11/2026 (nguồn không ghi ngày công bố)"


def test_detection_hours_in_any_zone():
    from types import SimpleNamespace

    utc_stored = SimpleNamespace(published_date=date(2026, 11, 25),
                                 ingested_at=datetime(2026, 11, 25, 2, 0, tzinfo=ZoneInfo("UTC")))  # 09:00 VN
    assert detection_hours(utc_stored) == pytest.approx(9.0)
    naive = SimpleNamespace(published_date=date(2026, 11, 25), ingested_at=datetime(2026, 11, 25, 9, 0))
    assert detection_hours(naive, TZ) == pytest.approx(9.0)
    assert detection_hours(SimpleNamespace(published_date=None, ingested_at=END)) is None


def test_a_backlog_is_said_in_days():
    from types import SimpleNamespace

    from tthc.reports.digest import NewDecisionTime

    def line(hours):
        return NewDecisionTime(SimpleNamespace(), hours, 1, "draft_ready").delay_vn

    assert line(9.54) == "phát hiện sau 9,5 giờ"
    assert line(71.9) == "phát hiện sau 71,9 giờ"
    assert line(3553.0) == "phát hiện sau 148 ngày"


def test_a_decision_is_new_in_one_digest_only(seeded, dept):
    """Windows are half-open, (start, end]: a decision stored by the run ending at 01:00 on 26/11 (its
    ``ingested_at`` is the run's end) is new in that night's digest, not again in the next night's."""
    from datetime import timedelta

    s = seeded
    _decision(s, "43/QĐ-BKHCN", END, date(2026, 11, 25), "1.041003")
    s.commit()
    tonight = build_digest(s, window_start=START, window_end=END, as_of=END.date())
    tomorrow = build_digest(s, window_start=END, window_end=END + timedelta(days=1), as_of=END.date() + timedelta(days=1))
    assert [d.so_hieu for d in tonight.decisions] == ["43/QĐ-BKHCN"]
    assert [d.so_hieu for d in tomorrow.decisions] == []
    assert [t.decision.so_hieu for t in tomorrow.times] == []
