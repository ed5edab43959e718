"""Receive feedback: store each item once (natural key: channel + source id), linked to its procedure and
field, its text cleaned, its deadline counted.

From the website: the comments held for moderation on the procedure pages the pipeline published (the
postings ledger says which page is which procedure: ``cms`` rows of ``procedure:<code>`` keys), left
before the end of the run's window. A comment already stored is left as it is (the officer's work on it
stays); the sender's name and e-mail (``author_email``, which WordPress shows only to a moderator) are
kept for answering only (:mod:`tthc.catalogue.feedback`; docs/operations.md, Personal data).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tthc.catalogue.feedback import FeedbackRules, deadline_for
from tthc.core.sanitize import clean_text
from tthc.core.text import match_key
from tthc.core.window import VN_TZ, RunWindow
from tthc.core.workdays import WorkCalendar
from tthc.db.models import FeedbackItem, Posting, Procedure
from tthc.feedback.wordpress import CommentsClient, raw_text

MAX_TEXT = 20_000  # characters kept of one item's text (a longer one is cut, and says so)
CUT = " […]"


@dataclass
class Incoming:
    """One piece of feedback as a channel gives it (before it is stored)."""

    channel: str
    source_id: str
    received_at: datetime | None
    received_on: date
    text: str
    sender_name: str = ""
    sender_contact: str = ""
    procedure_key: str = ""  # "procedure:<code>" / "procedure:name:<key>" (website), or a code (import)
    procedure_name: str = ""
    page_id: str | None = None
    kind: str | None = None
    kind_reason: str | None = None


@dataclass
class ReceiveResult:
    channel: str
    read: int = 0
    stored: int = 0
    already: int = 0
    outside_window: int = 0
    references: list[str] = field(default_factory=list)


def clean_feedback_text(text: str) -> str:
    cleaned = clean_text(text)
    return cleaned if len(cleaned) <= MAX_TEXT else cleaned[: MAX_TEXT - len(CUT)] + CUT


def procedure_pages(session: Session) -> dict[str, str]:
    """CMS page id → procedure key, from the postings ledger (the latest version of each key)."""
    out: dict[str, tuple[int, str]] = {}
    rows = session.scalars(select(Posting).where(Posting.channel == "cms", Posting.object_key.like("procedure:%"),
                                                 Posting.external_id.is_not(None))).all()
    for row in rows:
        seen = out.get(row.external_id)
        if seen is None or seen[0] < row.version:
            out[row.external_id] = (row.version, row.object_key)
    return {page: key for page, (_, key) in out.items()}


def find_procedure(session: Session, key: str) -> Procedure | None:
    """The catalogue procedure of a ledger key (``procedure:<code>``, ``procedure:name:<name key>``) or a code."""
    bare = key.removeprefix("procedure:")
    if bare.startswith("name:"):
        return session.scalars(select(Procedure).where(Procedure.name_key == bare[5:])).first()
    if not bare:
        return None
    return session.scalars(select(Procedure).where(Procedure.code == bare)).first()


def store(session: Session, incoming: Incoming, *, run_date: date, rules: FeedbackRules,
          calendar: WorkCalendar) -> tuple[FeedbackItem, bool]:
    """Insert ``incoming`` unless its (channel, source id) is stored; (item, created)."""
    found = session.scalars(select(FeedbackItem).where(FeedbackItem.channel == incoming.channel,
                                                       FeedbackItem.source_id == incoming.source_id)).first()
    if found is not None:
        return found, False
    proc = find_procedure(session, incoming.procedure_key) if incoming.procedure_key else None
    if proc is None and incoming.procedure_name:
        proc = session.scalars(select(Procedure).where(Procedure.name_key == match_key(incoming.procedure_name))).first()
    due = deadline_for(incoming.received_on, rules, calendar)
    item = FeedbackItem(
        channel=incoming.channel, source_id=incoming.source_id[:255], received_on=incoming.received_on,
        received_at=incoming.received_at, procedure_id=proc.id if proc else None,
        procedure_code=proc.code if proc else (incoming.procedure_key or None),
        procedure_name=proc.name if proc else clean_text(incoming.procedure_name),
        field_name=proc.field.name if proc and proc.field else "", page_id=incoming.page_id,
        text=clean_feedback_text(incoming.text), sender_name=clean_text(incoming.sender_name)[:255] or None,
        sender_contact=clean_text(incoming.sender_contact)[:255] or None, kind=incoming.kind,
        kind_reason=incoming.kind_reason, status="received", deadline=due.day, deadline_rule=due.rule,
        deadline_provisional=due.provisional, created_for=run_date)
    if item.procedure_code and len(item.procedure_code) > 16:
        item.procedure_code = None
    session.add(item)
    session.flush()
    return item, True


class UnreadableComment(ValueError):
    """A comment WordPress gave without a readable id, page or date: the run fails loudly (never "nothing new")."""


def _gmt(comment: dict) -> datetime:
    text = str(comment.get("date_gmt") or comment.get("date") or "")
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError as exc:
        raise UnreadableComment(f"CMS comment {comment.get('id')!r}: unreadable date {text[:40]!r}") from exc
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def incoming_of(comment: dict, pages: dict[str, str], window_end: datetime) -> Incoming | None | str:
    """The :class:`Incoming` of one held comment; None when it is not a new piece of feedback on one of our
    pages (another page, a reply in a thread); ``"later"`` when left after ``window_end`` (the next run's).
    :class:`UnreadableComment` for a comment without an id or a readable date."""
    if not isinstance(comment, dict) or not str(comment.get("id") or "").isdigit():
        raise UnreadableComment(f"CMS: a comment without an id: {str(comment)[:80]!r}")
    page = str(comment.get("post") or "")
    if page not in pages or str(comment.get("parent") or "0") != "0":
        return None
    stamp = _gmt(comment)
    if stamp >= window_end:
        return "later"
    return Incoming("website", str(comment["id"]), stamp, stamp.astimezone(VN_TZ).date(),
                    raw_text(comment.get("content")), str(comment.get("author_name") or ""),
                    str(comment.get("author_email") or ""), procedure_key=pages[page], page_id=page)


def receive_website(session: Session, client: CommentsClient, window: RunWindow, *, rules: FeedbackRules,
                    calendar: WorkCalendar) -> ReceiveResult:
    """Store the held comments of our procedure pages left before the window's end."""
    result = ReceiveResult("website")
    pages = procedure_pages(session)
    if not pages:
        return result
    for comment in client.held(list(pages)):
        result.read += 1
        incoming = incoming_of(comment, pages, window.end)
        if incoming is None:
            continue
        if incoming == "later":
            result.outside_window += 1
            continue
        item, created = store(session, incoming, run_date=window.as_of, rules=rules, calendar=calendar)
        if created:
            result.stored += 1
            result.references.append(item.reference)
        else:
            result.already += 1
    session.commit()
    return result
