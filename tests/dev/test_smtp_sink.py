"""The sandbox SMTP sink stores every message it receives as an .eml file."""

from __future__ import annotations

import email
import re
import smtplib
import socket
from email.message import EmailMessage
from email.policy import default

import pytest
from tthc_dev.sandbox.smtp_sink import SmtpSink

NAME = re.compile(r"\d{8}-\d{6}-\d{4}-[0-9a-f]{8}\.eml")


def _message(subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "ksttthc@sokhcn.example.gov.vn"
    msg["To"] = "lanhdao@sokhcn.example.gov.vn"
    msg["Subject"] = subject
    msg.set_content(body)
    return msg


def test_sink_stores_messages_as_eml(tmp_path):
    outbox = tmp_path / "outbox"
    with SmtpSink(outbox) as sink:
        assert sink.port > 0
        assert sink.messages() == []
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as client:
            client.send_message(_message("Báo cáo TTHC tuần 12", "Có 3 quyết định mới cần xử lý."))
            client.send_message(_message("Nhắc hạn", "Còn 2 ngày làm việc."), to_addrs=["a@example.vn", "b@example.vn"])
        stored = sink.messages()
    assert len(stored) == 2
    assert all(NAME.fullmatch(p.name) for p in stored)
    assert stored == sorted(stored)
    assert [p.name for p in outbox.iterdir() if not p.name.endswith(".eml")] == []

    first = email.message_from_bytes(stored[0].read_bytes(), policy=default)
    assert first["Subject"] == "Báo cáo TTHC tuần 12"
    assert first["To"] == "lanhdao@sokhcn.example.gov.vn"
    assert first.get_content().strip() == "Có 3 quyết định mới cần xử lý."
    second = email.message_from_bytes(stored[1].read_bytes(), policy=default)
    assert second["Subject"] == "Nhắc hạn"
    # Stored exactly as received: no headers added by the sink.
    raw = stored[0].read_bytes()
    assert b"X-Peer" not in raw and b"X-MailFrom" not in raw and b"X-Envelope-To" not in raw
    assert raw.startswith(b"From: ksttthc@sokhcn.example.gov.vn")


def test_sink_stops_listening_and_restarts_on_a_given_port(tmp_path):
    sink = SmtpSink(tmp_path / "outbox").start()
    port = sink.port
    sink.stop()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    with SmtpSink(tmp_path / "outbox", port=port) as again:
        assert again.port == port
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.send_message(_message("Sau khi khởi động lại", "ok"))
        assert len(again.messages()) == 1
