"""reports.mail: yagmail to the SMTP sink, the mail ledger, and SMTP down (SQLite and PostgreSQL)."""

from __future__ import annotations

import email
import email.policy

import pytest
from sqlalchemy import select
from tthc.db.models import MailLog
from tthc.reports.mail import XLSX_TYPE, MailError, MailPart, OutgoingMail, YagmailMailer, send_once
from tthc_dev.sandbox.smtp_sink import free_port


def _mail(**kw) -> OutgoingMail:
    base = dict(kind="digest", period_key="2026-11-26", sender="kstthc@sokhcn.tphcm.gov.vn",
                recipients=("vanphong@sokhcn.tphcm.gov.vn",), subject="[KSTTHC] Bản tin ngày 26/11/2026",
                html="<p>Thủ tục chờ công bố: <b>3</b></p>", text="Thủ tục chờ công bố: 3")
    base.update(kw)
    return OutgoingMail(**base)


def _read(path):
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def test_html_and_own_plain_text_arrive(smtp_sink):
    mail = _mail()
    YagmailMailer("127.0.0.1", smtp_sink.port).send(mail.sender, mail.recipients[0], mail.message(mail.recipients[0]))
    [path] = smtp_sink.messages()
    msg = _read(path)
    assert str(msg["Subject"]) == "[KSTTHC] Bản tin ngày 26/11/2026"
    assert msg["Message-ID"] == mail.message_id("vanphong@sokhcn.tphcm.gov.vn")
    assert msg["Message-ID"].startswith("<tthc-digest-2026-11-26-") and msg["Message-ID"].endswith("@sokhcn.tphcm.gov.vn>")
    assert "Hệ thống KSTTHC" in str(msg["From"])
    assert msg.get_body(("plain",)).get_content().strip() == "Thủ tục chờ công bố: 3"
    assert "<b>3</b>" in msg.get_body(("html",)).get_content()


def test_sent_once_per_period(session, smtp_sink):
    mailer = YagmailMailer("127.0.0.1", smtp_sink.port)
    assert send_once(session, mailer, _mail()).sent is True
    assert send_once(session, mailer, _mail()).sent is False
    assert len(smtp_sink.messages()) == 1
    assert session.scalar(select(MailLog.status)) == "sent"


def test_smtp_down_is_recorded_and_retried_later(session, smtp_sink):
    down = YagmailMailer("127.0.0.1", free_port())  # nothing listens there
    with pytest.raises(MailError, match="SMTP 127.0.0.1"):
        send_once(session, down, _mail())
    assert session.scalar(select(MailLog.status)) == "failed"
    assert smtp_sink.messages() == []
    assert send_once(session, YagmailMailer("127.0.0.1", smtp_sink.port), _mail()).sent is True
    assert len(smtp_sink.messages()) == 1


def test_non_nfc_text_is_refused(session, smtp_sink):
    import unicodedata

    with pytest.raises(ValueError, match="NFC"):
        send_once(session, YagmailMailer("127.0.0.1", smtp_sink.port),
                  _mail(subject=unicodedata.normalize("NFD", "Bản tin")))
    assert smtp_sink.messages() == []


def test_one_message_per_recipient_once_each_and_resend(session, smtp_sink, tmp_path):
    mailer = YagmailMailer("127.0.0.1", smtp_sink.port)
    mail = _mail(recipients=("a@x.gov.vn", "b@x.gov.vn"))
    out = send_once(session, mailer, mail, archive_dir=tmp_path / "arc")
    assert out.sent_to == ["a@x.gov.vn", "b@x.gov.vn"] and len(smtp_sink.messages()) == 2
    assert {str(_read(p)["To"]) for p in smtp_sink.messages()} == {"a@x.gov.vn", "b@x.gov.vn"}
    # a recipient added later gets it; those served are not served again
    out = send_once(session, mailer, _mail(recipients=("a@x.gov.vn", "b@x.gov.vn", "c@x.gov.vn")))
    assert out.sent_to == ["c@x.gov.vn"] and out.skipped == ["a@x.gov.vn", "b@x.gov.vn"]
    assert len(smtp_sink.messages()) == 3
    # resend: deliberately, with a new Message-ID
    out = send_once(session, mailer, _mail(recipients=("a@x.gov.vn",)), resend=True)
    assert out.sent_to == ["a@x.gov.vn"]
    ids = sorted(str(_read(p)["Message-ID"]) for p in smtp_sink.messages() if "a@x.gov.vn" in str(_read(p)["To"]))
    assert len(ids) == 2 and ids[0] != ids[1]
    row = session.scalar(select(MailLog).where(MailLog.recipient == "a@x.gov.vn"))
    assert row.sends == 2 and row.status == "sent"
    archived = sorted((tmp_path / "arc" / "digest" / "2026-11-26").iterdir())
    assert [p.name for p in archived] == ["a@x.gov.vn.eml", "a@x.gov.vn.html", "b@x.gov.vn.eml", "b@x.gov.vn.html"]
    assert _read(archived[0])["Subject"] == "[KSTTHC] Bản tin ngày 26/11/2026"


def test_inline_image_and_attachment(smtp_sink):
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 20
    mail = _mail(html='<p>Biểu đồ</p><img src="cid:chart">',
                 parts=(MailPart("bieu-do.png", "image/png", png, cid="chart"),
                        MailPart("bao-cao.xlsx", XLSX_TYPE, b"PK\x03\x04data")))
    YagmailMailer("127.0.0.1", smtp_sink.port).send(mail.sender, "a@x.gov.vn", mail.message("a@x.gov.vn"))
    msg = _read(smtp_sink.messages()[0])
    assert msg.get_body(("plain",)).get_content().strip() == "Thủ tục chờ công bố: 3"
    related = [p for p in msg.walk() if p.get("Content-ID") == "<chart>"]
    assert len(related) == 1 and related[0].get_content() == png
    [xlsx] = list(msg.iter_attachments())
    assert xlsx.get_filename() == "bao-cao.xlsx" and xlsx.get_content_type() == XLSX_TYPE
    assert xlsx.get_content() == b"PK\x03\x04data"


def test_smtp_down_then_up_sends_one_message(session, smtp_sink):
    """The task fails while SMTP is down, Airflow retries it, and exactly one message arrives."""
    down = YagmailMailer("127.0.0.1", free_port())
    for _ in range(2):  # two failed attempts
        with pytest.raises(MailError):
            send_once(session, down, _mail())
    up = YagmailMailer("127.0.0.1", smtp_sink.port)
    assert send_once(session, up, _mail()).sent is True
    assert send_once(session, up, _mail()).sent is False
    [path] = smtp_sink.messages()
    assert _read(path)["Message-ID"] == _mail().message_id("vanphong@sokhcn.tphcm.gov.vn")


def test_long_vietnamese_subject_arrives_exactly(smtp_sink):
    subject = ("[KSTTHC] Báo cáo kiểm soát TTHC 6 tháng cuối năm 2026 (15/06/2026 – 14/12/2026): "
               "2 TTHC công bố, 0 trễ hạn")
    mail = _mail(subject=subject)
    YagmailMailer("127.0.0.1", smtp_sink.port).send(mail.sender, "a@x.gov.vn", mail.message("a@x.gov.vn"))
    raw = smtp_sink.messages()[0].read_bytes()
    assert str(_read(smtp_sink.messages()[0])["Subject"]) == subject
    assert max(len(line) for line in raw.split(b"\r\n")) < 998
