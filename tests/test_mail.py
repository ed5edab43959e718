"""reports.mail: yagmail to the SMTP sink, the mail ledger, and SMTP down (SQLite and PostgreSQL)."""

from __future__ import annotations

import email
import email.policy

import pytest
from sqlalchemy import select
from tthc.db.models import MailLog
from tthc.reports.mail import MailError, OutgoingMail, YagmailMailer, send_once
from tthc.sandbox.smtp_sink import free_port


def _mail(**kw) -> OutgoingMail:
    base = dict(kind="digest", period_key="2026-11-26", sender="kstthc@sokhcn.tphcm.gov.vn",
                recipients=("vanphong@sokhcn.tphcm.gov.vn",), subject="[KSTTHC] Bản tin ngày 26/11/2026",
                html="<p>Thủ tục chờ công bố: <b>3</b></p>", text="Thủ tục chờ công bố: 3")
    base.update(kw)
    return OutgoingMail(**base)


def test_html_and_own_plain_text_arrive(smtp_sink):
    YagmailMailer("127.0.0.1", smtp_sink.port).send(_mail())
    [path] = smtp_sink.messages()
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert str(msg["Subject"]) == "[KSTTHC] Bản tin ngày 26/11/2026"
    assert msg["Message-ID"] == "<tthc-digest-2026-11-26@sokhcn.tphcm.gov.vn>"
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
