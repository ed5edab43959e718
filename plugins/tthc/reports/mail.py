"""Sending mail exactly once per (report, period, recipient): the mail ledger plus a yagmail mailer.

Ledger protocol per (kind, period, recipient): a row ``sending`` is committed before the SMTP call and
turned ``sent`` after it. A row already ``sent`` means that recipient never gets that report for that
period again, unless ``resend`` is asked for (then the row counts one more send and the message gets a
new Message-ID). A row left ``sending`` or ``failed`` (SMTP down, the process died mid-send) is retried
with the same deterministic Message-ID, so a mail client shows at most one message even in that case.

Two senders never send one row at once: a row moves to ``sending`` by compare-and-set (the insert under
the ledger's unique key, or an update conditioned on the state read), and a row another process left
``sending`` is taken over only after :data:`SENDING_LEASE` (that process is presumed dead), or at once
when that process, on this host, no longer exists.

A mail sent with ``keep=True`` (the ops alerts) stores what it says in the row (``payload``) until it is
sent: if SMTP is down when it is due, :func:`send_pending` delivers it later — from the next alert, or
the report DAGs' ``flush_ops_mail`` step — once, even if the task that raised it never runs again.

Each recipient gets their own message (so one bad address does not block the others and the ledger can
say who got what). Every sent message is archived as ``.eml`` and ``.html`` under
``<archive>/<kind>/<period>/`` (``Department.archive_path()``), attachments included in the ``.eml``.
"""

from __future__ import annotations

import email.policy
import hashlib
import logging
import re
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tthc.core.config import Endpoint
from tthc.core.identity import is_gone, process_identity
from tthc.db.models import MailLog

SENDER_NAME = "Hệ thống KSTTHC"
# Serialise without folding headers: the standard library's folding of a long Vietnamese subject into
# several RFC 2047 encoded words can drop the space between two of them ("6 thángcuối năm"); unfolded,
# the subject is one encoded word (well under SMTP's 998-character line limit). Bodies are already
# wrapped (quoted-printable, base64) when they are set.
WIRE_POLICY = email.policy.SMTP.clone(max_line_length=None)
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# a row left ``sending`` this long ago belongs to a sender presumed dead (an SMTP attempt times out in 30 s)
SENDING_LEASE = timedelta(seconds=120)
NO_SYNC = {"synchronize_session": False}

log = logging.getLogger(__name__)


class MailError(RuntimeError):
    pass


class MailBusyError(MailError):
    """Another live sender has the row (nothing was tried on SMTP by this one)."""


@dataclass(frozen=True)
class MailPart:
    """A file sent with a mail: an attachment, or (with ``cid``) an image the HTML shows inline as
    ``<img src="cid:<cid>">``."""

    filename: str
    content_type: str  # e.g. "image/png", XLSX_TYPE
    data: bytes
    cid: str | None = None


@dataclass(frozen=True)
class OutgoingMail:
    kind: str
    period_key: str
    sender: str
    recipients: tuple[str, ...]
    subject: str
    html: str
    text: str
    parts: tuple[MailPart, ...] = ()

    def message_id(self, recipient: str, sends: int = 1) -> str:
        """Deterministic per (kind, period, recipient, send number): a retried send keeps it."""
        domain = self.sender.rpartition("@")[2] or "localhost"
        who = hashlib.sha256(recipient.lower().encode()).hexdigest()[:10]  # short: the header stays unfolded
        suffix = f"-r{sends}" if sends > 1 else ""
        return f"<tthc-{self.kind}-{self.period_key}-{who}{suffix}@{domain}>"

    def message(self, recipient: str, sends: int = 1) -> EmailMessage:
        """The MIME message for one recipient: text/plain and text/html alternatives (the HTML with its
        inline images as related parts), then the attachments."""
        msg = EmailMessage(policy=email.policy.SMTP)
        msg["Subject"] = self.subject
        msg["From"] = formataddr((SENDER_NAME, self.sender))
        msg["To"] = recipient
        msg["Message-ID"] = self.message_id(recipient, sends)
        msg["Date"] = formatdate(localtime=True)  # the moment it is handed to SMTP
        msg.set_content(self.text, subtype="plain", charset="utf-8", cte="quoted-printable")
        msg.add_alternative(self.html, subtype="html", charset="utf-8", cte="quoted-printable")
        html_part = msg.get_payload()[1]
        for part in (p for p in self.parts if p.cid):
            maintype, _, subtype = part.content_type.partition("/")
            html_part.add_related(part.data, maintype=maintype, subtype=subtype, cid=f"<{part.cid}>",
                                  filename=part.filename, disposition="inline")
        for part in (p for p in self.parts if not p.cid):
            maintype, _, subtype = part.content_type.partition("/")
            msg.add_attachment(part.data, maintype=maintype, subtype=subtype, filename=part.filename)
        return msg


class Mailer(ABC):
    @abstractmethod
    def send(self, sender: str, recipient: str, message: EmailMessage) -> None: ...


class YagmailMailer(Mailer):
    """SMTP through yagmail (connection, STARTTLS / SSL, login); the message is built by
    :meth:`OutgoingMail.message`, so the plain-text part is our own text, not a copy of the HTML."""

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

    def send(self, sender: str, recipient: str, message: EmailMessage) -> None:
        import yagmail

        try:
            smtp = yagmail.SMTP(
                user={sender: SENDER_NAME} if not self.user else self.user,
                password=self.password, host=self.host, port=self.port,
                smtp_starttls=self.starttls, smtp_ssl=self.ssl, smtp_skip_login=not self.user,
                soft_email_validation=False, timeout=self.timeout,
            )
            smtp.login()  # opens the connection (no AUTH when smtp_skip_login)
            refused = smtp.smtp.sendmail(sender, [recipient], message.as_bytes(policy=WIRE_POLICY))
            smtp.close()
        except Exception as exc:  # noqa: BLE001 - smtplib, socket and yagmail errors all mean "not sent"
            raise MailError(f"SMTP {self.host}:{self.port}: {type(exc).__name__}: {exc}") from exc
        if refused:
            raise MailError(f"SMTP refused recipient {recipient}: {refused}")


@dataclass
class MailOutcome:
    sent: bool
    reason: str
    sent_to: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already sent earlier
    failed: list[str] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)  # another sender is on it right now
    archived: list[str] = field(default_factory=list)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9@._-]+", "_", name)


def archive(mail: OutgoingMail, recipient: str, message: EmailMessage, archive_dir: Path) -> Path:
    """Keep the sent message (.eml, attachments included) and its HTML body (.html)."""
    folder = archive_dir / _safe(mail.kind) / _safe(mail.period_key)
    folder.mkdir(parents=True, exist_ok=True)
    eml = folder / f"{_safe(recipient)}.eml"
    eml.write_bytes(message.as_bytes(policy=WIRE_POLICY))
    (folder / f"{_safe(recipient)}.html").write_text(mail.html, encoding="utf-8")
    return eml


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _payload(mail: OutgoingMail) -> dict[str, Any]:
    if mail.parts:
        raise ValueError(f"{mail.kind}: a mail kept for a later send cannot carry files")
    return {"sender": mail.sender, "subject": mail.subject, "html": mail.html, "text": mail.text}


def _take(session: Session, mail: OutgoingMail, recipient: str, resend: bool, keep: bool,
          now: datetime) -> MailLog | str:
    """The ledger row of ``recipient``, moved to ``sending`` for this sender by compare-and-set; or why not:
    ``"sent"`` (already sent) or ``"busy"`` (another live sender has it)."""
    me = process_identity()
    for _ in range(3):
        row = session.scalar(select(MailLog).where(MailLog.kind == mail.kind, MailLog.period_key == mail.period_key,
                                                   MailLog.recipient == recipient))
        if row is None:
            row = MailLog(kind=mail.kind, period_key=mail.period_key, recipient=recipient, subject=mail.subject,
                          recipients=recipient, sends=1, status="sending", attempted_at=now, sending_by=me,
                          message_id=mail.message_id(recipient, 1), payload=_payload(mail) if keep else None)
            session.add(row)
            try:
                session.commit()
                return row
            except IntegrityError:  # another sender inserted it first
                session.rollback()
                continue
        session.refresh(row)
        if row.status == "sent" and not resend:
            return "sent"
        if row.status == "sending" and row.attempted_at is not None and \
                _aware(row.attempted_at) > now - SENDING_LEASE and not is_gone(row.sending_by):
            return "busy"
        sends = row.sends + 1 if row.status == "sent" else row.sends
        same = [MailLog.id == row.id, MailLog.status == row.status, MailLog.sends == row.sends]
        same.append(MailLog.attempted_at.is_(None) if row.attempted_at is None
                    else MailLog.attempted_at == row.attempted_at)
        values: dict[str, Any] = {"status": "sending", "subject": mail.subject, "sends": sends, "attempted_at": now,
                                  "sending_by": me, "message_id": mail.message_id(recipient, sends)}
        if keep:
            values["payload"] = _payload(mail)
        taken = session.execute(update(MailLog).where(*same).values(**values), execution_options=NO_SYNC).rowcount
        session.commit()
        session.refresh(row)
        if taken == 1:
            return row
    return "busy"


def send_once(session: Session, mailer: Mailer, mail: OutgoingMail, *, archive_dir: Path | None = None,
              resend: bool = False, keep: bool = False,
              clock: Callable[[], datetime] = _utcnow) -> MailOutcome:
    """Send ``mail`` to each recipient who has not had it (see the module docstring); commits the ledger
    around each send. ``keep``: store the mail in the ledger until it is sent (:func:`send_pending`).
    Raises :class:`MailError` after trying every recipient if any send failed or another sender had one
    (the task retries; those already served are not sent again)."""
    for value in (mail.subject, mail.html, mail.text):
        if not unicodedata.is_normalized("NFC", value):
            raise ValueError(f"{mail.kind}: text is not Unicode NFC")
    if not mail.recipients:
        return MailOutcome(False, "no recipients configured")
    outcome = MailOutcome(False, "")
    errors = []
    for recipient in mail.recipients:
        row = _take(session, mail, recipient, resend, keep, clock())
        if row == "sent":
            outcome.skipped.append(recipient)
            continue
        if row == "busy":
            outcome.busy.append(recipient)
            errors.append(f"{recipient} is being sent by another process")
            continue
        message = mail.message(recipient, row.sends)
        try:
            mailer.send(mail.sender, recipient, message)
        except MailError as exc:
            row.status, row.last_error = "failed", str(exc)[:2000]
            session.commit()
            outcome.failed.append(recipient)
            errors.append(str(exc))
            continue
        row.status, row.last_error = "sent", None
        session.commit()  # first: the message is out; a failing archive must never cause a second send
        outcome.sent_to.append(recipient)
        if archive_dir is not None:
            row.archive_path = str(archive(mail, recipient, message, archive_dir))
            outcome.archived.append(row.archive_path)
            session.commit()
    outcome.sent = bool(outcome.sent_to)
    outcome.reason = "sent" if outcome.sent else ("already sent" if outcome.skipped else "failed")
    if errors:
        not_sent = outcome.failed + outcome.busy
        error = MailError if outcome.failed else MailBusyError
        raise error(f"{mail.kind} {mail.period_key}: not sent to {', '.join(not_sent)}: {errors[0]}")
    return outcome


@dataclass
class PendingOutcome:
    sent: list[str] = field(default_factory=list)  # "kind period recipient"
    pending: list[str] = field(default_factory=list)  # still not sent (with the reason)


def send_pending(session: Session, mailer: Mailer, *, archive_dir: Path | None = None,
                 clock: Callable[[], datetime] = _utcnow) -> PendingOutcome:
    """Send every kept mail (``keep=True``) that is not sent yet: failed, or left ``sending`` by a sender
    presumed dead. Each goes out once (the same compare-and-set as :func:`send_once`); stops trying at
    the first SMTP failure (the server is down: the rest waits for the next flush)."""
    out = PendingOutcome()
    rows = session.scalars(select(MailLog).where(MailLog.payload.is_not(None), MailLog.status != "sent")
                           .order_by(MailLog.id)).all()
    down = None
    for row in rows:
        label = f"{row.kind} {row.period_key} {row.recipient}"
        if down is not None:
            out.pending.append(f"{label}: {down}")
            continue
        p = row.payload or {}
        mail = OutgoingMail(kind=row.kind, period_key=row.period_key, sender=p["sender"], recipients=(row.recipient,),
                            subject=p["subject"], html=p["html"], text=p["text"])
        try:
            done = send_once(session, mailer, mail, archive_dir=archive_dir, keep=True, clock=clock)
        except MailBusyError as exc:
            out.pending.append(f"{label}: {exc}")
            continue
        except MailError as exc:
            out.pending.append(f"{label}: {exc}")
            down = str(exc)
            continue
        if done.sent_to:
            out.sent.append(label)
            log.info("pending mail sent: %s", label)
    return out
