"""Feedback in the nightly digest and the periodic report: the right items and figures, and never the
sender's name or contact (nor any e-mail address or phone number written in the text)."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest
from sqlalchemy import select
from tthc.catalogue.feedback import load_rules
from tthc.core.window import nightly_window
from tthc.core.workdays import WorkCalendar
from tthc.db.models import FeedbackItem, Procedure
from tthc.feedback.answer import record_answer
from tthc.feedback.receive import Incoming, store
from tthc.reports.digest import build_digest, digest_mail
from tthc.reports.periodic.build import build_periodic, feedback_from_store, report_mail
from tthc.reports.periodic.chart import chart_size, render_chart
from tthc.reports.periodic.periods import period_for
from tthc.reports.periodic.xlsx import render_xlsx

AS_OF = date(2026, 11, 26)
SECRETS = ("Hoàng Thị Bí Mật", "bi.mat@example.vn", "0903 111 222")


@pytest.fixture
def items(seeded):
    rules, calendar = load_rules(), WorkCalendar.from_file()
    procs = seeded.scalars(select(Procedure).where(Procedure.code.is_not(None)).order_by(Procedure.id)).all()
    # (channel, ref, received, procedure index, answered on)
    rows = [("website", "101", date(2026, 11, 25), 0, None),  # new last night
            ("national", "Q-1", date(2026, 11, 16), 1, None),  # due 01/12: within 3 working days of 26/11
            ("letter", "L-7", date(2026, 10, 20), 0, None),  # overdue
            ("one_stop", "M-2", date(2026, 10, 1), 2, date(2026, 10, 5)),  # answered on time
            ("national", "Q-0", date(2026, 9, 16), 1, date(2026, 11, 2)),  # answered late
            ("national", "Q-prev", date(2026, 8, 10), 1, date(2026, 8, 12))]  # previous quarter (Q3)
    out = {}
    for channel, ref, day, n, answered in rows:
        text = f"Phản ánh {ref}: hồ sơ rườm rà, liên hệ {SECRETS[1]} hoặc {SECRETS[2]}"
        item, _ = store(seeded, Incoming(channel, ref, None, day, text, SECRETS[0], SECRETS[1],
                                         procedure_key=procs[n].code), run_date=day, rules=rules, calendar=calendar)
        if answered:
            record_answer(seeded, item.id, "Đã rà soát và hướng dẫn lại.", by="cv", on=answered)
        out[ref] = item
    seeded.commit()
    return out


def test_digest_feedback_part(seeded, items, dept):
    window = nightly_window(AS_OF)
    d = build_digest(seeded, window_start=window.start, window_end=window.end, as_of=AS_OF)
    fb = d.feedback
    assert [x.reference for x in fb.new] == [items["101"].reference]
    assert [x.reference for x in fb.overdue] == [items["L-7"].reference]
    calendar = WorkCalendar.from_file()
    due_q1 = items["Q-1"].deadline
    assert AS_OF <= due_q1 <= calendar.add_working_days(AS_OF, fb.soon_days)
    assert [x.reference for x in fb.due_soon] == [items["Q-1"].reference]
    mail = digest_mail(d, dept)
    assert "1 phản ánh, kiến nghị quá hạn xử lý" in mail.subject
    for body in (mail.html, mail.text, mail.subject):
        assert items["L-7"].reference in mail.text
        for secret in SECRETS:
            assert secret not in body
    assert "đã ẩn thông tin liên hệ" in mail.text


def test_periodic_section_four_figures(seeded, items, dept):
    q4 = period_for("quarter", 2026, 4)  # 15/09/2026 – 14/12/2026 (cut-off day 14)
    fb = feedback_from_store(seeded, q4)
    # received in Q4: 101, Q-1, L-7, M-2, Q-0; answered: M-2 on time, Q-0 late; pending 3
    assert (fb.received, fb.handled, fb.on_time, fb.late, fb.pending) == (5, 2, 1, 1, 3)
    assert fb.previous is not None and (fb.previous.received, fb.previous.on_time) == (1, 1)
    channels = {g.name: (g.received, g.on_time, g.late) for g in fb.by_channel}
    assert channels["Hệ thống phản ánh, kiến nghị quốc gia"] == (2, 0, 1)
    assert channels["Bộ phận Một cửa"] == (1, 1, 0)
    assert sum(g.received for g in fb.by_field) == 5
    assert [i.diff for i in fb.indicators][0] == 4

    report = build_periodic(seeded, dept, q4)
    mail = report_mail(report, dept)
    assert "Tiếp nhận 5 phản ánh, kiến nghị; đã xử lý 2; đang xử lý 3." in mail.text
    assert "Đúng hạn 1, quá hạn 1." in mail.text and "Bộ phận Một cửa" in mail.html
    xlsx = render_xlsx(report)
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(xlsx)).active
    sheet_text = " ".join(str(c.value) for row in ws.iter_rows() for c in row if c.value is not None)
    with zipfile.ZipFile(io.BytesIO(xlsx)) as z:
        sheet_text += " ".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))
    assert "Hệ thống phản ánh, kiến nghị quốc gia" in sheet_text
    for secret in SECRETS:
        assert secret not in mail.html and secret not in mail.text and secret not in sheet_text
    png = render_chart(report)
    from PIL import Image

    assert Image.open(io.BytesIO(png)).size == chart_size(report)
    assert chart_size(report)[0] > chart_size(build_periodic(seeded, dept, q4, feedback_source=None))[0]


def test_answered_by_the_period_end_only(seeded, items):
    # answered 02/11 counts in a period ending 14/12, not in one ending 31/10
    item: FeedbackItem = items["Q-0"]
    from tthc.catalogue.feedback import period_figures

    assert period_figures(seeded, date(2026, 9, 1), date(2026, 10, 31)).late == 0
    assert period_figures(seeded, date(2026, 9, 1), date(2026, 11, 30)).late == 1
    assert item.answered_on > item.deadline
