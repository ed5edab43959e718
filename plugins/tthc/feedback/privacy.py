"""Personal data of feedback senders (Decree 13/2023/NĐ-CP): kept only to answer, erased after retention.

The sender's name and contact are erased (set to nothing, ``contact_purged_on`` set) once
``retention_days`` (settings/feedback.yaml) have passed since the answer was published, or recorded when
there was no page to publish it on. The feedback's text, procedure, dates and answer stay: the reports
count them, and they hold no contact once masked (:func:`tthc.catalogue.feedback.mask_contacts` is applied
to everything shown). Counted from the run's date, never the clock.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tthc.catalogue.feedback import FeedbackRules
from tthc.db.models import FeedbackItem


def purge_contacts(session: Session, *, as_of: date, rules: FeedbackRules) -> list[str]:
    """Erase the contacts whose retention ended on or before ``as_of``; the references purged."""
    limit = as_of - timedelta(days=rules.retention_days)
    done: list[str] = []
    items = session.scalars(select(FeedbackItem).where(FeedbackItem.contact_purged_on.is_(None),
                                                       FeedbackItem.status.in_(("answered", "published")))).all()
    for item in items:
        closed = item.published_on or item.answered_on
        if closed is None or closed > limit:
            continue
        item.sender_name = item.sender_contact = None
        item.contact_purged_on = as_of
        done.append(item.reference)
    session.commit()
    return done
