"""Sending mail exactly once: the mail ledger plus a yagmail-backed mailer.

Ledger protocol per (kind, period): a row ``sending`` is committed before the SMTP call and turned
``sent`` after it. A row already ``sent`` means the message is never sent again. A row left
``sending`` (the process died mid-send) is retried with the same deterministic Message-ID, so a mail
client shows at most one message even in that rare case.
"""

from __future__ import annotations

import email
import email.policy
import unicodedata
from abc import ABC, abstractmethod
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tthc.config import Endpoint
from tthc.db.models import MailLog


class MailError(RuntimeError):
    pass


@dataclass(frozen=True)
class OutgoingMail:
    kind: str
    period_key: str
    sender: str
    recipients: tuple[str, ...]
    subject: str
    html: str
    text: str

    @property
    def message_id(self) -> str:
        domain = self.sender.rpartition("@")[2] or "localhost"
        return f"<tthc-{self.kind}-{self.period_key}@{domain}>"


class Mailer(ABC):
    @abstractmethod
    def send(self, mail: OutgoingMail) -> None: ...


class YagmailMailer(Mailer):
    """SMTP through yagmail; the plain-text alternative is our own text, not yagmail's copy of the HTML."""

    def __init__(self, host: str, port: int, user: str | None = None, password: str | None = None,
                 starttls: bool = False, ssl: bool = False, timeout: int = 30) -> None:
        self.host, self.port, self.user, self.password = host, port, user, password
        self.starttls, self.ssl, self.timeout = starttls, ssl, timeout

    @classmethod
    def from_endpoint(cls, ep: Endpoint) -> YagmailMailer:
        truthy = ("1", "true", "yes", "on")
        return cls(host=ep.host, port=ep.port or 25, user=ep.login, password=ep.password,
                   starttls=str(ep.extra.get("starttls", "false")).lower() in truthy,
                   ssl=str(ep.extra.get("ssl", "false")).lower() in truthy)

    def send(self, mail: OutgoingMail) -> None:
        import yagmail

        try:
            smtp = yagmail.SMTP(
                user={mail.sender: "Hệ thống KSTTHC"} if not self.user else self.user,
                password=self.password, host=self.host, port=self.port,
                smtp_starttls=self.starttls, smtp_ssl=self.ssl, smtp_skip_login=not self.user,
                soft_email_validation=False, timeout=self.timeout,
            )
            smtp.login()  # opens the connection (no AUTH when smtp_skip_login)
            recipients, raw = smtp.prepare_send(list(mail.recipients), mail.subject, [mail.html],
                                                prettify_html=False, message_id=mail.message_id)
            raw = _replace_plain_part(raw, mail.text)
            refused = smtp.smtp.sendmail(mail.sender, recipients, raw.encode("utf-8") if isinstance(raw, str) else raw)
            smtp.close()
        except MailError:
            raise
        except Exception as exc:  # noqa: BLE001 - smtplib, socket and yagmail errors all mean "not sent"
            raise MailError(f"SMTP {self.host}:{self.port}: {type(exc).__name__}: {exc}") from exc
        if refused:
            raise MailError(f"SMTP refused recipients: {sorted(refused)}")


def _replace_plain_part(raw: str, text: str) -> str:
    msg = email.message_from_string(raw, policy=email.policy.SMTP)
    for part in msg.walk():
        if part.get_content_type() == "text/plain" and not part.get_filename():
            part.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
            break
    return msg.as_string()


@dataclass(frozen=True)
class MailOutcome:
    sent: bool
    reason: str


def send_once(session: Session, mailer: Mailer, mail: OutgoingMail) -> MailOutcome:
    """Send ``mail`` unless the ledger says it was sent; commits the ledger around the send."""
    for value in (mail.subject, mail.html, mail.text):
        if not unicodedata.is_normalized("NFC", value):
            raise ValueError(f"{mail.kind}: text is not Unicode NFC")
    row = session.scalar(select(MailLog).where(MailLog.kind == mail.kind, MailLog.period_key == mail.period_key))
    if row is not None and row.status == "sent":
        return MailOutcome(False, "already sent")
    if row is None:
        row = MailLog(kind=mail.kind, period_key=mail.period_key, subject=mail.subject,
                      recipients=", ".join(mail.recipients), message_id=mail.message_id, status="sending")
        session.add(row)
    row.status, row.subject = "sending", mail.subject
    session.commit()
    try:
        mailer.send(mail)
    except MailError:
        row.status = "failed"
        session.commit()
        raise
    row.status = "sent"
    session.commit()
    return MailOutcome(True, "sent")
