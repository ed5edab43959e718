"""Catalogue database: SQLAlchemy 2 models, sessions and Alembic migrations."""

from tthc.db.models import (  # noqa: F401
    Agency,
    Announcement,
    Base,
    Decision,
    DecisionItem,
    DecisionSource,
    Field,
    Flag,
    MailLog,
    Posting,
    PostingClaim,
    Procedure,
    ProcedureVersion,
    RawSnapshot,
    Watermark,
)
from tthc.db.session import get_engine, migrate, session_scope  # noqa: F401
