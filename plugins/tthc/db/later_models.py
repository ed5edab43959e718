"""The models added with the later stages: citizens' feedback (phản ánh, kiến nghị), the national
decision list as read and the publication verifications. Re-exported by :mod:`tthc.db.models`, so
every model is imported from there (one ``Base.metadata`` for Alembic)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tthc.db.base import Base

# Procedure and Announcement (tthc.db.models) are named as strings: SQLAlchemy resolves them in the
# declarative registry, and this module does not import models.py (which re-exports this one).

# ---------------------------------------------------------------- citizens' feedback (phản ánh, kiến nghị)

FEEDBACK_CHANNELS = ("website", "national", "letter", "one_stop", "other")
FEEDBACK_KINDS = ("regulation", "handling", "out_of_scope")
FEEDBACK_STATUSES = ("received", "assigned", "answered", "published")


class FeedbackItem(Base):
    """One piece of feedback (phản ánh, kiến nghị) from a person or an organisation about a procedure.

    Natural key (``channel``, ``source_id``): a website comment's id, or the reference of a row of the
    spreadsheet import (the national feedback system's number, a letter's number). ``text`` is cleaned
    (no markup, NFC). ``sender_name`` and ``sender_contact`` are personal data kept only to answer: never
    published, never mailed beyond the officer (see docs/operations.md, Personal data); erased
    (``contact_purged_on``) once the retention period after the answer has passed. ``deadline`` is counted
    in working days from ``received_on`` by the rule ``deadline_rule`` (settings/feedback.yaml). ``status``:
    received → assigned → answered → published (the answer shown on the procedure's page); an item
    received by another channel ends at ``answered`` unless its page is known."""

    __tablename__ = "feedback_items"
    __table_args__ = (UniqueConstraint("channel", "source_id", name="uq_feedback_natural"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # FEEDBACK_CHANNELS
    source_id: Mapped[str] = mapped_column(String(255))
    received_on: Mapped[date] = mapped_column(Date, index=True)
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    procedure_id: Mapped[int | None] = mapped_column(ForeignKey("procedures.id"))
    procedure_code: Mapped[str | None] = mapped_column(String(16))
    procedure_name: Mapped[str] = mapped_column(Text, default="")
    field_name: Mapped[str] = mapped_column(String(255), default="")
    page_id: Mapped[str | None] = mapped_column(String(64))  # the CMS page it was left on (reply target)
    text: Mapped[str] = mapped_column(Text)
    sender_name: Mapped[str | None] = mapped_column(String(255))
    sender_contact: Mapped[str | None] = mapped_column(String(255))
    contact_purged_on: Mapped[date | None] = mapped_column(Date)
    kind: Mapped[str | None] = mapped_column(String(16))  # FEEDBACK_KINDS, None until classified
    kind_reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="received")  # FEEDBACK_STATUSES
    assigned_to: Mapped[str | None] = mapped_column(String(128))
    deadline: Mapped[date] = mapped_column(Date)
    deadline_rule: Mapped[str] = mapped_column(String(64))
    deadline_provisional: Mapped[bool] = mapped_column(default=False)
    answer_text: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(128))
    answered_on: Mapped[date | None] = mapped_column(Date)
    published_on: Mapped[date | None] = mapped_column(Date)
    reply_id: Mapped[str | None] = mapped_column(String(64))
    reply_url: Mapped[str | None] = mapped_column(Text)
    created_for: Mapped[date] = mapped_column(Date)  # the run (or import) that stored it
    procedure: Mapped[Procedure | None] = relationship("Procedure")  # noqa: F821

    @property
    def reference(self) -> str:
        """How officers and the public name it: PAKN-<id>."""
        return f"PAKN-{self.id}"

    @property
    def ledger_key(self) -> str:
        """The postings ledger's object key of its public answer."""
        return f"feedback:{self.channel}:{self.source_id}"


# ---------------------------------------------------------------- the national decision list (all agencies)


class PortalListing(Base):
    """One row of the national portal's decision list (Quyết định công bố), whoever published it: a
    ministry, or one of the 34 provinces' People's Committees (UBND tỉnh / thành phố) announcing its own
    list or re-publishing a ministry's decision for its territory. Kept as the list shows it (``so_hieu``
    the CODE cleaned, ``so_hieu_key`` by ``text.normalise_so_hieu``), keyed by the portal's ``ID``.

    ``groups``: the procedure groups of the decision (``{"new": [names], "amended": [...], "abolished":
    [...]}``), read only for the department's own province (publication verification); None when not
    read. ``seen_for``: the run date that first stored the row."""

    __tablename__ = "portal_listings"
    __table_args__ = (UniqueConstraint("portal_id", name="uq_portal_listing_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    portal_id: Mapped[str] = mapped_column(String(32))
    so_hieu: Mapped[str] = mapped_column(String(255))
    so_hieu_key: Mapped[str] = mapped_column(String(255), index=True)
    trich_yeu: Mapped[str] = mapped_column(Text)
    agency_name: Mapped[str] = mapped_column(String(255))
    agency_portal_id: Mapped[str | None] = mapped_column(String(32))
    published_date: Mapped[date] = mapped_column(Date, index=True)
    groups: Mapped[dict | None] = mapped_column(JSON)
    seen_for: Mapped[date] = mapped_column(Date)


CSDL_VERIFICATION_STATUSES = ("waiting", "verified")


class CsdlVerification(Base):
    """Whether an approved announcement is published on the national CSDL, as read from the national
    decision list (not our own push): one row per announcement. ``verified``: the list shows the
    province's decision with that số hiệu (``listing_id``; ``listed_on`` its publishing date,
    ``verified_for`` the run date that first saw it), ``missing`` the approved procedures it does not list,
    ``extra`` the procedures it lists that were not approved. ``waiting``: not listed yet as of
    ``checked_for``; ``due`` is the working day from which the digest warns."""

    __tablename__ = "csdl_verifications"
    __table_args__ = (UniqueConstraint("announcement_id", name="uq_csdl_verification_announcement"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcements.id"))
    status: Mapped[str] = mapped_column(String(16))
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("portal_listings.id"))
    listed_on: Mapped[date | None] = mapped_column(Date)
    verified_for: Mapped[date | None] = mapped_column(Date)
    checked_for: Mapped[date] = mapped_column(Date)
    due: Mapped[date] = mapped_column(Date)
    missing: Mapped[list | None] = mapped_column(JSON)
    extra: Mapped[list | None] = mapped_column(JSON)
    announcement: Mapped[Announcement] = relationship("Announcement")  # noqa: F821
    listing: Mapped[PortalListing | None] = relationship()
