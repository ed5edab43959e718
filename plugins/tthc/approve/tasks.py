"""The approve stage's tasks: find the draft waiting for a person, then record the person's answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tthc.core.config import load_department
from tthc.core.window import RunWindow
from tthc.db.session import session_scope


def pending_draft() -> dict[str, Any] | None:
    """The draft waiting for approval, without making one (``tthc_approve`` starts here)."""
    from tthc.catalogue.announcements import draft_info, waiting_draft

    with session_scope() as session:
        ann = waiting_draft(session)
        return draft_info(ann, created=False).as_dict() if ann is not None and ann.flags else None


def record_approval(window: RunWindow, draft: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    """Store the approver's answer (from the HITL task's XCom). Returns the announcement's new state."""
    from tthc.approve.answer import record_response
    from tthc.approve.options import APPROVE

    chosen = response.get("chosen_options") or []
    form = response.get("params_input") or {}
    user = response.get("responded_by_user") or {}
    at = response.get("responded_at") or window.end
    at = datetime.fromisoformat(at) if isinstance(at, str) else at
    with session_scope() as session:
        ann = record_response(session, draft["announcement_id"], approved=APPROVE in chosen,
                              so_hieu=form.get("so_hieu"), signed_date=form.get("ngay_ky"),
                              decided_by=str(user.get("name") or user.get("id") or "?"), decided_at=at,
                              note=form.get("ghi_chu"), as_of=window.as_of, dept=load_department())
        return {"announcement_id": ann.id, "status": ann.status, "so_hieu": ann.so_hieu,
                "signed_date": ann.signed_date.isoformat() if ann.signed_date else None,
                "flags": len(ann.flags), "decided_by": ann.decided_by}
