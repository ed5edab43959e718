"""From flags to a draft provincial announcement (one draft at a time, so what a person approves is
exactly what was drafted).

:func:`prepare_draft` (``tthc_compare``, after flagging): if no draft is waiting for approval, the flags
ready to announce (status ``open``, not in a waiting or approved draft) become one
:class:`~tthc.db.models.Announcement` (status ``draft``), keyed by :func:`tthc.compare.draft.batch_key`
of its flags, and its DOCX and HTML preview are stored in the catalogue database (``draft_files``: the
API server that serves them on the KSTTHC page and the worker that drafted need not share a disk) and
written under ``<var>/drafts/``. Re-running gives the same key and the same files. With the department
setting ``draft.part_two``, Phần II (the content of each procedure, from the national database) is made
too (``…-phan-ii.docx``, stored the same way). While a draft waits, newly flagged procedures wait for the
next one. The person's answer is recorded by :mod:`tthc.approve.answer`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from tthc.catalogue.announcements import (
    DOCX_TYPE,
    DraftInfo,
    draft_info,
    part_two_path,
    store_draft_file,
    waiting_draft,
)
from tthc.compare.draft import batch_key, build_batch, render_docx, render_html
from tthc.core.config import Department
from tthc.db.models import Announcement, Flag


def _ready_flags(session: Session) -> list[Flag]:
    stmt = (select(Flag).outerjoin(Announcement, Flag.announcement_id == Announcement.id)
            .where(Flag.status == "open",
                   (Flag.announcement_id.is_(None)) | (Announcement.status == "rejected"))
            .order_by(Flag.id))
    return list(session.scalars(stmt))


def prepare_draft(session: Session, dept: Department, *, as_of: date, out_dir: Path) -> DraftInfo | None:
    """The draft waiting for approval (creating it from the ready flags if none waits), or None."""
    ann = waiting_draft(session)
    if ann is not None and ann.flags:
        return draft_info(ann, created=False)
    if ann is not None:  # nothing left in it (cannot normally happen): close it
        ann.status, ann.note = "rejected", "Bản dự thảo không còn thủ tục nào"
    flags = _ready_flags(session)
    if not flags:
        return None
    key = batch_key(flags)
    ann = session.scalar(select(Announcement).where(Announcement.batch_key == key))
    created = ann is None
    if ann is None:
        ann = Announcement(batch_key=key, status="draft", created_for=as_of)
        session.add(ann)
    else:  # the same flags were rejected before: ask again
        ann.status, ann.created_for = "draft", as_of
    session.flush()
    for flag in flags:
        flag.announcement_id = ann.id
    session.flush()
    batch = build_batch(session, flags, dept)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"du-thao-qd-cong-bo-{as_of:%Y%m%d}-{key[:12]}"
    docx = render_docx(batch, out_dir / f"{stem}.docx")
    html = out_dir / f"{stem}.html"
    html.write_text(render_html(batch), encoding="utf-8")
    if dept.draft_part_two:
        from tthc.compare.draft.part_two import render_part_two

        part_two = render_part_two(batch, part_two_path(docx))
        store_draft_file(session, ann, "part_two", part_two.name, DOCX_TYPE, part_two.read_bytes(), as_of)
    ann.draft_docx, ann.draft_html, ann.title = str(docx), str(html), batch.title
    store_draft_file(session, ann, "docx", docx.name, DOCX_TYPE, docx.read_bytes(), as_of)
    store_draft_file(session, ann, "html", html.name, "text/html; charset=utf-8", html.read_bytes(), as_of)
    session.flush()
    session.refresh(ann)
    return draft_info(ann, created=created)
