"""Writes to the province catalogue shared by the stages: every change is a new procedure version.

:func:`save_version` is the one way a procedure is created or changed (the catalogue import and an
approved announcement both use it); :func:`apply_announcement` brings the catalogue in line with what a
person approved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tthc.core.text import match_key
from tthc.db.models import Field, Procedure, ProcedureVersion


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    filled: int = 0  # rows whose blank field or level was filled from what the pipeline knows
    incomplete: int = 0  # rows whose field or level stays unknown ("cần bổ sung")


def _snapshot(proc: Procedure) -> dict[str, Any]:
    return {"code": proc.code, "name": proc.name, "field": proc.field.key if proc.field else None,
            "levels": proc.levels, "agency": proc.agency, "status": proc.status}


def save_version(session: Session, proc: Procedure | None, values: dict[str, Any], reason: str,
          result: ImportResult) -> None:
    """Create ``proc`` from ``values`` or apply them to it; each change is a new version with ``reason``.

    A value None means "not given": it never erases what the procedure holds (a catalogue row without a
    code keeps the code), and a new procedure gets the column's default. ``reason`` is cut to its column."""
    values = {k: v for k, v in values.items() if v is not None}
    limit = ProcedureVersion.__table__.c.reason.type.length
    if len(reason) > limit:
        reason = reason[:limit - 1] + "…"
    if proc is None:
        proc = Procedure(version=1, **values)
        session.add(proc)
        session.flush()
        session.refresh(proc)
        session.add(ProcedureVersion(procedure_id=proc.id, version=1, snapshot=_snapshot(proc), reason=reason))
        result.created += 1
        return
    if all(getattr(proc, k) == v for k, v in values.items()):
        result.unchanged += 1
        return
    for k, v in values.items():
        setattr(proc, k, v)
    proc.version += 1
    session.flush()
    session.refresh(proc)
    session.add(ProcedureVersion(procedure_id=proc.id, version=proc.version, snapshot=_snapshot(proc), reason=reason))
    result.updated += 1


def apply_announcement(session: Session, flags: list, *, agency: str, reason: str) -> ImportResult:
    """Bring the catalogue in line with an approved provincial announcement (its ``flags``): new and
    re-announced procedures are added or updated (status active), abolished ones marked ``abolished``.
    Each change is a new version with ``reason`` (the signed decision). Idempotent."""
    field_ids = {f.key: f.id for f in session.scalars(select(Field))}
    result = ImportResult()
    for flag in sorted(flags, key=lambda f: f.id):
        name_key = match_key(flag.procedure_name)
        proc = session.scalar(select(Procedure).where(Procedure.code == flag.procedure_code)) \
            if flag.procedure_code else None
        if proc is None:
            proc = session.scalars(select(Procedure).where(Procedure.name_key == name_key)
                                   .order_by(Procedure.id)).first()
        if flag.action == "announce_abolition":
            if proc is None:
                result.unchanged += 1  # nothing to abolish in the catalogue
                continue
            values: dict[str, Any] = {"status": "abolished"}
        else:
            field_key = flag.item.field_key if flag.item is not None else None
            values = {"name": flag.procedure_name, "name_key": name_key, "status": "active"}
            if flag.procedure_code:
                values["code"] = flag.procedure_code
            if flag.levels:
                values["levels"] = flag.levels
            if field_key in field_ids:
                values["field_id"] = field_ids[field_key]
            if proc is None:
                values["agency"] = agency
        save_version(session, proc, values, reason, result)
    session.flush()
    return result
