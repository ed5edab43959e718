"""Lookups in the province catalogue."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tthc.core.text import match_key
from tthc.db.models import Procedure


def find_procedure(session: Session, code: str | None, name: str) -> Procedure | None:
    """The catalogue procedure with this code, else the first with this name (match key)."""
    if code:
        proc = session.scalar(select(Procedure).where(Procedure.code == code))
        if proc is not None:
            return proc
    return session.scalars(select(Procedure).where(Procedure.name_key == match_key(name)).order_by(Procedure.id)).first()
