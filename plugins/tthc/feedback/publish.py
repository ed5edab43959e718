"""Publish each recorded answer on the procedure's page, exactly once (công khai kết quả xử lý).

The same rules as the other channels (:mod:`tthc.sync.publish`): the postings ledger (channel ``cms``,
object ``feedback:<channel>:<source id>``, version 1) says what was published; before writing, the try
claims that ledger row (:mod:`tthc.sync.claims`, the one documented hand-off from the sync stage), so a
second try or a zombie of an earlier one stops without writing; before posting, the page is searched for
our reply (our account, the parent comment, the marker ``PAKN-<id>`` in its text), so a try that died
after its POST (or a POST whose answer was lost: a 500 after the commit, a timeout) is adopted, never
posted twice. The ledger row, the claim's release and the item's ``published`` status are one commit.

What is shown: the answer (tags stripped when recorded, escaped here: hostile text is never live markup),
and for feedback left on the page, the visitor's comment is approved with its cleaned text, contacts
masked, under the name "Người gửi phản ánh" (the sender's name and e-mail are never shown). Feedback received
by another channel is answered with a comment at the top of its procedure's page, quoting the masked text;
without a page (no procedure, or one not published) it stays ``answered``.
"""

from __future__ import annotations

import hashlib
import html
import logging
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from tthc.catalogue.feedback import mask_contacts
from tthc.core.render import vn_date
from tthc.db.models import FeedbackItem, Posting
from tthc.feedback.receive import procedure_pages
from tthc.feedback.wordpress import CommentsClient
from tthc.sync.channels.base import ChannelError, RejectedError
from tthc.sync.claims import ClaimedError, ClaimLost, Clock, claim, try_identity, utcnow

log = logging.getLogger(__name__)

CHANNEL = "cms"
PUBLIC_SENDER = "Người gửi phản ánh"


@dataclass
class PublishResult:
    published: int = 0
    adopted: int = 0  # found on the page (an earlier try's POST) and recorded
    no_page: list[str] = field(default_factory=list)
    claimed: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)


def holder_name(try_name: str | None) -> str:
    """This try's name in the claims (``dag/run/task/try`` and the process)."""
    return try_identity(try_name)


def marker(item: FeedbackItem) -> str:
    return f"PAKN-{item.id}"


def _html(text: str) -> str:
    return "\n\n".join("<p>" + html.escape(p, quote=False).replace("\n", "<br />") + "</p>"
                       for p in mask_contacts(text).split("\n\n") if p.strip())


def reply_content(item: FeedbackItem) -> str:
    head = (f"<p><strong>Kết quả xử lý phản ánh, kiến nghị {marker(item)}</strong> "
            f"(tiếp nhận ngày {vn_date(item.received_on)}, trả lời ngày {vn_date(item.answered_on)})</p>")
    quote = "" if item.channel == "website" else f"<blockquote>{_html(item.text)}</blockquote>\n"
    return f"{head}\n{quote}{_html(item.answer_text or '')}"


def public_question(item: FeedbackItem) -> str:
    return _html(item.text)


def target_page(item: FeedbackItem, pages_by_key: dict[str, str]) -> tuple[str | None, str]:
    """(page id, parent comment id) of the reply."""
    if item.channel == "website":
        return item.page_id, item.source_id
    for key in (f"procedure:{item.procedure_code}",) if item.procedure_code else ():
        if key in pages_by_key:
            return pages_by_key[key], "0"
    return None, "0"


def _record(session: Session, item: FeedbackItem, reply: dict, content: str, run_date: date, held) -> None:
    url = str(reply.get("link") or "") or None
    session.add(Posting(channel=CHANNEL, object_key=item.ledger_key, version=1,
                        content_hash=hashlib.sha256(content.encode("utf-8")).hexdigest(),
                        external_id=str(reply["id"]), url=url, status="posted", posted_for=run_date))
    item.status, item.published_on, item.reply_id, item.reply_url = "published", run_date, str(reply["id"]), url
    held.settle()
    session.commit()


def publish_answers(session: Session, client: CommentsClient, *, run_date: date, holder: str | None = None,
                    clock: Clock = utcnow, on_written=None) -> PublishResult:
    """Publish every answer recorded on or before ``run_date`` and not yet published. ``on_written`` is
    called after the reply exists and before the ledger row is stored (tests raise there: a crash)."""
    holder = holder or try_identity()
    result = PublishResult()
    pages_by_key = {key: page for page, key in procedure_pages(session).items()}
    items = session.scalars(select(FeedbackItem).where(FeedbackItem.status == "answered",
                                                       FeedbackItem.answered_on <= run_date)
                            .order_by(FeedbackItem.id)).all()
    for item in items:
        prior = session.scalars(select(Posting).where(Posting.channel == CHANNEL,
                                                      Posting.object_key == item.ledger_key)).first()
        if prior is not None:  # published by an earlier try that stopped before updating the item
            item.status, item.published_on, item.reply_id, item.reply_url = ("published", prior.posted_for,
                                                                              prior.external_id, prior.url)
            session.commit()
            continue
        page, parent = target_page(item, pages_by_key)
        if page is None:
            result.no_page.append(item.reference)
            continue
        try:
            held = claim(session, CHANNEL, item.ledger_key, 1, holder, clock=clock)
        except ClaimedError as exc:
            result.claimed.append(f"{item.reference}: {exc}")
            continue
        try:
            content = reply_content(item)
            held.renew()
            if item.channel == "website":
                try:
                    client.moderate(item.source_id, content=public_question(item), author_name=PUBLIC_SENDER)
                except ChannelError as exc:
                    if "HTTP 404" not in str(exc):
                        raise
                    raise RejectedError(f"the visitor's comment {item.source_id} is no longer on the site (deleted "
                                        "in WordPress): answer the sender directly; nothing was published") from exc
            reply, adopted = _reply_once(client, item, page, parent, content, held.renew)
            if on_written is not None:
                on_written(item, reply)
            _record(session, item, reply, content, run_date, held)
        except RejectedError as exc:
            held.release()
            result.rejected.append(f"{item.reference}: {exc}")
            continue
        except ClaimLost:
            raise
        except BaseException:
            held.release()
            raise
        result.adopted += adopted
        result.published += not adopted
        if item.reply_url:
            result.urls.append(item.reply_url)
    if result.claimed or result.rejected:
        raise ChannelError(f"CMS (phản ánh, kiến nghị): {len(result.claimed)} held by another try, "
                           f"{len(result.rejected)} refused; the others were published: "
                           + "; ".join(result.claimed + result.rejected))
    return result


def _reply_once(client: CommentsClient, item: FeedbackItem, page: str, parent: str, content: str,
                guard) -> tuple[dict, bool]:
    """Our reply, found on the page or posted now; (reply, adopted)."""
    found = client.find_reply(page, parent, marker(item))
    if found is not None:
        return found, True
    guard()
    try:
        return client.post_reply(page, parent, content), False
    except ChannelError as exc:  # a 5xx or a timeout after WordPress stored it; a 409 duplicate
        if isinstance(exc, RejectedError) and "409" not in str(exc):
            raise
        found = client.find_reply(page, parent, marker(item))
        if found is None:
            raise
        log.warning("%s: the reply's POST failed but the reply exists: adopted", item.reference)
        return found, True
