"""Typed SQLAlchemy 2 models of the province catalogue and the pipeline's ledgers.

Natural keys carry unique constraints so every writer can upsert and every task stays idempotent.
Vocabulary (values stored in English, shown in Vietnamese by the reports):
- levels: ``cap_tinh`` (provincial), ``cap_xa`` (commune), ``cap_trung_uong`` (central);
- change types: ``new``, ``amended`` (sửa đổi, bổ sung), ``replaced`` (thay thế), ``abolished`` (bãi bỏ).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tthc.db.base import Base

CHANGE_TYPES = ("new", "amended", "replaced", "abolished")
LEVELS = ("cap_tinh", "cap_xa", "cap_trung_uong")
FLAG_ACTIONS = ("announce_new", "re_announce", "announce_abolition")
FLAG_STATUSES = ("open", "approved", "announced", "review")
ANNOUNCEMENT_STATUSES = ("draft", "approved", "rejected")


class Agency(Base):
    __tablename__ = "agencies"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    portal_id: Mapped[str | None] = mapped_column(String(32))
    code: Mapped[str | None] = mapped_column(String(64))


class Field(Base):
    """Lĩnh vực: a field of administrative procedures."""

    __tablename__ = "fields"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    portal_id: Mapped[str | None] = mapped_column(String(32))


class Procedure(Base):
    """One procedure of the province's catalogue (danh mục TTHC)."""

    __tablename__ = "procedures"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(Text)
    name_key: Mapped[str] = mapped_column(Text, index=True)
    field_id: Mapped[int | None] = mapped_column(ForeignKey("fields.id"))
    levels: Mapped[str] = mapped_column(String(64), default="")  # comma-separated LEVELS
    agency: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | abolished
    processing_time: Mapped[str | None] = mapped_column(Text)
    fee: Mapped[str | None] = mapped_column(Text)
    legal_basis: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    field: Mapped[Field | None] = relationship()
    versions: Mapped[list[ProcedureVersion]] = relationship(back_populates="procedure", order_by="ProcedureVersion.version")

    @property
    def level_list(self) -> list[str]:
        return [lv for lv in self.levels.split(",") if lv]


class ProcedureVersion(Base):
    """Version history: a snapshot of a procedure each time its content changes."""

    __tablename__ = "procedure_versions"
    __table_args__ = (UniqueConstraint("procedure_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedures.id"))
    version: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(String(255))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    procedure: Mapped[Procedure] = relationship(back_populates="versions")


class RawSnapshot(Base):
    """A page or API answer as fetched, kept so parsing can be replayed offline."""

    __tablename__ = "raw_snapshots"
    id: Mapped[int] = mapped_column(primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(Text)
    request: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(128))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def _decision_year(params: dict) -> int:
    """Year of signing, else of publication, else of ingestion."""
    day = params.get("signed_date") or params.get("published_date") or params.get("ingested_at")
    return day.year


class Decision(Base):
    """A ministry decision announcing procedures (Quyết định công bố TTHC)."""

    __tablename__ = "decisions"
    # số hiệu numbers restart every year: the natural key is (số hiệu, agency, year signed)
    __table_args__ = (UniqueConstraint("so_hieu_key", "agency_name", "year", name="uq_decision_natural"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    # 255: the portal's CODE may carry more than the number ("2226/QĐ-UBND ngày 04/12/2025", see
    # ../shared/reference); longer values fail with ingest.store.FieldTooLongError, as every column does
    so_hieu: Mapped[str] = mapped_column(String(255))  # normalised (text.normalise_so_hieu), NFC
    so_hieu_key: Mapped[str] = mapped_column(String(255))  # text.normalise_so_hieu
    trich_yeu: Mapped[str] = mapped_column(Text)
    agency_name: Mapped[str] = mapped_column(String(255))
    agency_portal_id: Mapped[str | None] = mapped_column(String(32))
    year: Mapped[int] = mapped_column(Integer, default=lambda ctx: _decision_year(ctx.get_current_parameters()))
    signed_date: Mapped[date | None] = mapped_column(Date)
    published_date: Mapped[date | None] = mapped_column(Date)
    effective_date: Mapped[date | None] = mapped_column(Date)
    field_keys: Mapped[str] = mapped_column(Text, default="")  # comma-separated field names/keys
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("raw_snapshots.id"))
    ingested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sources: Mapped[list[DecisionSource]] = relationship(back_populates="decision")
    items: Mapped[list[DecisionItem]] = relationship(back_populates="decision", order_by="DecisionItem.id")


class DecisionSource(Base):
    """Where a decision was seen: one row per (source, external id)."""

    __tablename__ = "decision_sources"
    __table_args__ = (UniqueConstraint("source", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"))
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(1000))  # the portal's id, or a site's decision page URL
    url: Mapped[str | None] = mapped_column(Text)
    decision: Mapped[Decision] = relationship(back_populates="sources")


class DecisionItem(Base):
    """One procedure touched by a decision."""

    __tablename__ = "decision_items"
    __table_args__ = (UniqueConstraint("decision_id", "name_key", name="uq_item_natural"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"))
    change_type: Mapped[str] = mapped_column(String(16))
    code: Mapped[str | None] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(Text)
    name_key: Mapped[str] = mapped_column(Text)
    levels: Mapped[str] = mapped_column(String(64), default="")
    field_key: Mapped[str | None] = mapped_column(String(64))
    replaces_code: Mapped[str | None] = mapped_column(String(16))
    external_id: Mapped[str | None] = mapped_column(String(64))
    decision: Mapped[Decision] = relationship(back_populates="items")


class Flag(Base):
    """Something the province must announce (công bố), why, and by when."""

    __tablename__ = "flags"
    __table_args__ = (UniqueConstraint("decision_id", "procedure_key", "action", name="uq_flag_natural"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("decision_items.id"))
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"))
    procedure_key: Mapped[str] = mapped_column(String(255))  # code, or "name:" + name key when no code
    procedure_code: Mapped[str | None] = mapped_column(String(16))
    procedure_name: Mapped[str] = mapped_column(Text)
    levels: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    deadline: Mapped[date] = mapped_column(Date)
    deadline_rule: Mapped[str] = mapped_column(String(64))
    is_late: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_for: Mapped[date] = mapped_column(Date)  # the run's date (data interval end)
    announcement_id: Mapped[int | None] = mapped_column(ForeignKey("announcements.id"))
    # how the item was matched to the catalogue: verdict, score, candidate and alternatives (review queue)
    match_info: Mapped[dict | None] = mapped_column(JSON)
    decision: Mapped[Decision] = relationship()
    item: Mapped[DecisionItem] = relationship()
    announcement: Mapped[Announcement | None] = relationship(back_populates="flags")
    sources: Mapped[list[FlagSource]] = relationship(back_populates="flag", order_by="FlagSource.id",
                                                     cascade="all, delete-orphan")


class FlagSource(Base):
    """One decision item behind a flag. A later decision touching a procedure whose flag is still waiting
    adds a source to that flag (merge) instead of a second flag; the flag keeps the earliest deadline.
    ``role``: ``main`` (the item's own procedure) or ``replaced_old`` (the procedure a replacing item
    abolishes). One row per (item, role): re-running never adds a source twice."""

    __tablename__ = "flag_sources"
    __table_args__ = (UniqueConstraint("item_id", "role", name="uq_flag_source_natural"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    flag_id: Mapped[int] = mapped_column(ForeignKey("flags.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("decision_items.id"))
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    deadline: Mapped[date] = mapped_column(Date)
    deadline_rule: Mapped[str] = mapped_column(String(64))
    is_late: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | review
    flag: Mapped[Flag] = relationship(back_populates="sources")
    decision: Mapped[Decision] = relationship()
    item: Mapped[DecisionItem] = relationship()


class MatchDecision(Base):
    """A person's decision on a name the matcher sent to review, reused on every later run: the catalogue
    code it is, or no code ("not in the catalogue"). Keyed by ``matching.normalise_name`` of the name."""

    __tablename__ = "match_decisions"
    __table_args__ = (UniqueConstraint("name_key", name="uq_match_decision_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name_key: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    code: Mapped[str | None] = mapped_column(String(16))
    decided_by: Mapped[str] = mapped_column(String(128))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)


class Announcement(Base):
    """A provincial decision announcing the list (Quyết định công bố danh mục TTHC của Chủ tịch UBND)."""

    __tablename__ = "announcements"
    id: Mapped[int] = mapped_column(primary_key=True)
    batch_key: Mapped[str] = mapped_column(String(64), unique=True)
    so_hieu: Mapped[str | None] = mapped_column(String(64))
    signed_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="draft")  # ANNOUNCEMENT_STATUSES
    created_for: Mapped[date | None] = mapped_column(Date)  # the run that drafted it
    draft_docx: Mapped[str | None] = mapped_column(Text)  # path of the DOCX draft
    draft_html: Mapped[str | None] = mapped_column(Text)  # path of the HTML preview
    title: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)  # the reviewer's comment (why rejected)
    flags: Mapped[list[Flag]] = relationship(back_populates="announcement", order_by="Flag.id")
    answers: Mapped[list[ApprovalAnswer]] = relationship(back_populates="announcement",
                                                         order_by="ApprovalAnswer.id")


DRAFT_FILE_KINDS = ("docx", "html")


class DraftFile(Base):
    """The bytes of a draft's document (``docx``) and its preview (``html``), kept in the store so every
    process (the API server that serves the KSTTHC page, any worker) reads what the drafting worker wrote.
    One row per (announcement, kind); re-drafting the same batch replaces it."""

    __tablename__ = "draft_files"
    __table_args__ = (UniqueConstraint("announcement_id", "kind", name="uq_draft_file_natural"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcements.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # DRAFT_FILE_KINDS
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(128))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    content_hash: Mapped[str] = mapped_column(String(64))  # sha256 hex
    size: Mapped[int] = mapped_column(Integer)
    created_for: Mapped[date] = mapped_column(Date)  # the run that drafted it


class ApprovalAnswer(Base):
    """Every answer a person gave on a draft, recorded or refused (with why): the approval's audit trail,
    and what the next request shows when an answer could not be recorded. One row per (announcement,
    answered_at, answered_by): a task retry records the same answer once."""

    __tablename__ = "approval_answers"
    __table_args__ = (UniqueConstraint("announcement_id", "answered_at", "answered_by",
                                       name="uq_approval_answer_natural"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcements.id"), index=True)
    answered_by: Mapped[str] = mapped_column(String(128))
    answered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    choice: Mapped[str] = mapped_column(String(32))  # the option chosen (Phê duyệt / Từ chối), or ""
    form: Mapped[dict] = mapped_column(JSON)  # the fields as typed
    outcome: Mapped[str] = mapped_column(String(16))  # recorded | refused
    problem: Mapped[str | None] = mapped_column(Text)  # why it was refused (Vietnamese, shown to the person)
    announcement: Mapped[Announcement] = relationship(back_populates="answers")


class Posting(Base):
    """Ledger of what was published where: one row per (channel, object, version)."""

    __tablename__ = "postings"
    __table_args__ = (UniqueConstraint("channel", "object_key", "version", name="uq_posting_natural"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    object_key: Mapped[str] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="posted")
    posted_for: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PostingClaim(Base):
    """One writer per channel object: a try claims (channel, object, version) before writing it and
    deletes the claim with the ledger row it then stores. ``holder`` names the try (DAG, run, task,
    try number, host, process); a claim whose ``lease_until`` has passed may be taken over (its holder
    is presumed dead), by a writer that looks the object up on the channel first."""

    __tablename__ = "posting_claims"
    __table_args__ = (UniqueConstraint("channel", "object_key", "version", name="uq_posting_claim"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    object_key: Mapped[str] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer)
    holder: Mapped[str] = mapped_column(String(255))
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lease_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    taken_over_from: Mapped[str | None] = mapped_column(String(255))


class MailLog(Base):
    """Ledger of emails: one row per (kind, period, recipient); a row ``sent`` means that recipient got
    that report for that period (rows from before per-recipient sending have recipient "")."""

    __tablename__ = "mail_log"
    __table_args__ = (UniqueConstraint("kind", "period_key", "recipient", name="uq_mail_natural"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    period_key: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(255), default="")
    subject: Mapped[str] = mapped_column(Text)
    recipients: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="sending")  # sending | sent | failed
    sends: Mapped[int] = mapped_column(Integer, default=1)  # 1, then +1 for each deliberate resend
    archive_path: Mapped[str | None] = mapped_column(Text)  # the .eml kept after sending
    # a mail that must go out even if its sender never runs again (ops alerts): what to send, kept until
    # it is sent, so a later flush (tthc.reports.mail.send_pending) delivers it once SMTP answers again
    payload: Mapped[dict | None] = mapped_column(JSON)
    attempted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # the last SMTP attempt
    sending_by: Mapped[str | None] = mapped_column(String(255))  # host:pid:random of that attempt's process
    last_error: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Watermark(Base):
    """Per-source high-water mark of what has been fully ingested."""

    __tablename__ = "watermarks"
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))
    updated_for: Mapped[date | None] = mapped_column(Date)


ATTACHMENT_STATUSES = ("stored", "too_large", "unsupported", "failed", "fetch_failed")
# a download failing this many times in a row is persistent: listed in the nightly digest, one ops alert
ATTACHMENT_ALERT_ATTEMPTS = 3


class Attachment(Base):
    """A file attached to a decision (văn bản đính kèm), stored by content hash, with its extracted text.

    One row per (decision, url). ``status``: ``stored`` (file kept, text extracted), ``too_large`` (over the
    size limit, nothing kept), ``unsupported`` (file kept, no text extractor for its type), ``failed`` (file
    kept, text extraction failed: see ``error``), ``fetch_failed`` (the download failed: ``http_status``,
    ``error``; retried on the run of ``next_retry_for``, never again when that is empty). ``attempts``
    counts downloads in a row that failed (0 once one succeeds). ``source`` is the source that listed it.
    ``text_key`` is ``tthc.core.text.search_key(text)`` for search.
    """

    __tablename__ = "attachments"
    __table_args__ = (UniqueConstraint("decision_id", "url", name="uq_attachment_natural"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    filename: Mapped[str] = mapped_column(String(255))
    content_hash: Mapped[str | None] = mapped_column(String(64))  # sha256 hex; None when too_large
    size: Mapped[int | None] = mapped_column(Integer)  # bytes; for too_large, what was announced or received
    content_type: Mapped[str | None] = mapped_column(String(128))
    text: Mapped[str | None] = mapped_column(Text)  # extracted text, NFC, one paragraph per line
    text_key: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    source: Mapped[str | None] = mapped_column(String(64))
    http_status: Mapped[int | None] = mapped_column(Integer)  # of the last download, when it got an answer
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_retry_for: Mapped[date | None] = mapped_column(Date, index=True)  # a run date, never the clock
    decision: Mapped[Decision] = relationship()


class SourceHealth(Base):
    """Consecutive failed runs per source, so a source down for N nights alerts once."""

    __tablename__ = "source_health"
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    first_failure_for: Mapped[date | None] = mapped_column(Date)
    last_failure_for: Mapped[date | None] = mapped_column(Date)
    last_success_for: Mapped[date | None] = mapped_column(Date)
    last_error: Mapped[str | None] = mapped_column(Text)


class HttpCacheEntry(Base):
    """Validators (ETag / Last-Modified) and body of the last GET of a URL, for conditional requests;
    robots.txt files too (with the time they were fetched)."""

    __tablename__ = "http_cache"
    url: Mapped[str] = mapped_column(String(1000), primary_key=True)
    etag: Mapped[str | None] = mapped_column(String(255))
    last_modified: Mapped[str | None] = mapped_column(String(64))
    content_type: Mapped[str | None] = mapped_column(String(128))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FetchLog(Base):
    """Every request a source made and the snapshot that answered it: replay mode reads this."""

    __tablename__ = "fetch_log"
    __table_args__ = (UniqueConstraint("request_key", name="uq_fetch_request"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    request_key: Mapped[str] = mapped_column(String(64))  # sha256 of method, URL and body
    method: Mapped[str] = mapped_column(String(8))
    url: Mapped[str] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("raw_snapshots.id"))
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# ---------------------------------------------------------------- procedure details (the national portal's page)

DETAIL_DRIFT_STATUSES = ("review", "acknowledged", "explained")


class ProcedureDetails(Base):
    """One content version of a procedure's public page on the national portal (CSDL quốc gia).

    Keyed by the portal's internal id (``portal_id``, the ``ID`` of a decision's item rows) and ``version``
    (1, 2, … each time the parsed content changes; ``content_hash`` is sha256 of that content). ``data``
    holds what the page says (:meth:`tthc.ingest.sources.national_portal.procedure_page.ProcedurePage.as_data`:
    per-channel time limits and fees, legal bases, agencies, result, subjects, documents, …); ``layout``
    says which page it came from (``full``, or ``citizen`` when only the by-code page could be read: see
    ``data["missing"]``). ``procedure_id`` ties it to the catalogue procedure of the same code.

    ``change``: ``first`` (first version), ``decision`` (a decision about this procedure explains the
    change: ``decision_id``) or ``drift`` (it changed on the portal with no decision: ``drift_status``
    ``review`` until a person acknowledges it or a decision arrives, ``explained``)."""

    __tablename__ = "procedure_details"
    __table_args__ = (UniqueConstraint("portal_id", "version", name="uq_procedure_details_version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    portal_id: Mapped[str] = mapped_column(String(32), index=True)
    version: Mapped[int] = mapped_column(Integer)
    code: Mapped[str | None] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(Text)
    levels: Mapped[str] = mapped_column(String(64), default="")  # comma-separated LEVELS (and cap_huyen)
    layout: Mapped[str] = mapped_column(String(16))
    content_hash: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict] = mapped_column(JSON)
    url: Mapped[str] = mapped_column(Text)
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("raw_snapshots.id"))
    procedure_id: Mapped[int | None] = mapped_column(ForeignKey("procedures.id"))
    fetched_for: Mapped[date] = mapped_column(Date)  # the run date this version was first read
    checked_for: Mapped[date] = mapped_column(Date)  # the last run date the page was read (same content)
    change: Mapped[str] = mapped_column(String(16), default="first")
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))  # the decision it follows
    drift_status: Mapped[str | None] = mapped_column(String(16))
    reviewed_by: Mapped[str | None] = mapped_column(String(128))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    procedure: Mapped[Procedure | None] = relationship()


class ItemDetails(Base):
    """The procedure details behind one decision item, and the state of fetching them (one row per item).

    ``status``: ``fetched`` (``details_id`` set), ``missing`` (the portal holds no page for it: chưa có trên
    CSDL quốc gia), ``failed`` (network, HTTP or layout error: ``error``, retried from ``next_retry_for``, a
    run date, with a backoff; given up after ``attempts`` reaches the limit) or ``no_reference`` (the item
    has neither a portal id nor a code)."""

    __tablename__ = "item_details"
    __table_args__ = (UniqueConstraint("item_id", name="uq_item_details_item"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("decision_items.id"))
    details_id: Mapped[int | None] = mapped_column(ForeignKey("procedure_details.id"))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_retry_for: Mapped[date | None] = mapped_column(Date)
    http_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    checked_for: Mapped[date] = mapped_column(Date)
    item: Mapped[DecisionItem] = relationship()
    details: Mapped[ProcedureDetails | None] = relationship()


# The later stages' models, re-exported here (their module imports Base and the models above).
from tthc.db.later_models import (  # noqa: E402
    CSDL_VERIFICATION_STATUSES,
    FEEDBACK_CHANNELS,
    FEEDBACK_KINDS,
    FEEDBACK_STATUSES,
    CsdlVerification,
    FeedbackItem,
    PortalListing,
)

__all__ = ["Base", "CSDL_VERIFICATION_STATUSES", "FEEDBACK_CHANNELS", "FEEDBACK_KINDS", "FEEDBACK_STATUSES",
           "CsdlVerification", "FeedbackItem", "PortalListing"]
