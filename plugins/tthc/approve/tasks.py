"""The approve stage's tasks: find the draft waiting for a person, then record the person's answer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tthc.core.config import load_department
from tthc.core.window import VN_TZ, RunWindow
from tthc.db.session import session_scope


def pending_draft() -> dict[str, Any] | None:
    """The draft waiting for approval, without making one (``tthc_approve`` starts here)."""
    from tthc.catalogue.announcements import draft_info, waiting_draft

    with session_scope() as session:
        ann = waiting_draft(session)
        return draft_info(ann, created=False).as_dict() if ann is not None and ann.flags else None


def _answered_at(response: dict[str, Any], window: RunWindow) -> datetime:
    at = response.get("responded_at") or window.end
    at = datetime.fromisoformat(at) if isinstance(at, str) else at
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)


def record_approval(window: RunWindow, draft: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    """Store the approver's answer (from the HITL task's XCom). Returns the announcement's new state:
    ``status`` ``approved`` or ``rejected``; ``reask`` when what was typed cannot be recorded (the answer
    is logged with the reason, which the next request shows); ``not_waiting`` when the draft was answered
    meanwhile (nothing to ask)."""
    from tthc.approve.answer import AnswerProblem, ApprovalError, record_response
    from tthc.approve.options import APPROVE, REJECT
    from tthc.catalogue.announcements import record_answer
    from tthc.db.models import Announcement

    chosen = response.get("chosen_options") or []
    form = dict(response.get("params_input") or {})
    user = response.get("responded_by_user") or {}
    who = str(user.get("name") or user.get("id") or "?")
    at = _answered_at(response, window)
    answered_on = at.astimezone(VN_TZ).date()  # the signing date is checked against this day
    base = {"announcement_id": draft["announcement_id"], "answered_by": who, "answered_at": at.isoformat(),
            "window": window.to_dict()}
    choice = APPROVE if APPROVE in chosen else REJECT if REJECT in chosen else ""
    with session_scope() as session:
        ann = session.get(Announcement, draft["announcement_id"])
        if ann is None:
            return {**base, "status": "not_waiting", "problem": "không còn bản dự thảo này"}
        try:  # record_response checks everything before it changes anything
            if not choice:
                raise AnswerProblem({"choice": f"chưa chọn «{APPROVE}» hay «{REJECT}»"})
            ann = record_response(session, ann.id, approved=choice == APPROVE, so_hieu=form.get("so_hieu"),
                                  signed_date=form.get("ngay_ky"), decided_by=who, decided_at=at,
                                  note=form.get("ghi_chu"), answered_on=answered_on, dept=load_department())
        except AnswerProblem as exc:
            record_answer(session, ann, answered_by=who, answered_at=at, choice=choice, form=form,
                          outcome="refused", problem=str(exc))
            return {**base, "status": "reask", "problem": str(exc), "fields": exc.fields,
                    "reask_run_id": f"reask__{ann.id}__{at:%Y%m%dT%H%M%S}"}
        except ApprovalError as exc:  # the draft is no longer waiting: asking again would not help
            record_answer(session, ann, answered_by=who, answered_at=at, choice=choice, form=form,
                          outcome="refused", problem=str(exc))
            return {**base, "status": "not_waiting", "problem": str(exc)}
        record_answer(session, ann, answered_by=who, answered_at=at, choice=choice, form=form, outcome="recorded")
        return {**base, "status": ann.status, "so_hieu": ann.so_hieu,
                "signed_date": ann.signed_date.isoformat() if ann.signed_date else None,
                "flags": len(ann.flags), "decided_by": ann.decided_by}
