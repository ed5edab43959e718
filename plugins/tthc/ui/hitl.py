"""Answer ``tthc_approve``'s waiting Human-in-the-loop request from the KSTTHC page, as the logged-in user.

The answer goes through the same function as Airflow's REST API (``PATCH …/hitlDetails``): Airflow
checks the request's assigned users, refuses a second answer (409) and resumes the waiting task, which
then runs ``record_approval`` exactly as for an answer given in Airflow's own form. Runs in the API
server, which holds Airflow's metadata database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

APPROVE_DAG, APPROVE_TASK, DRAFT_TASK = "tthc_approve", "approve", "pending_draft"


class AnswerRefused(Exception):
    """Airflow did not take the answer (already answered, not assigned to this user, …)."""


@dataclass(frozen=True)
class WaitingRequest:
    run_id: str
    map_index: int
    asked_at: datetime
    subject: str


def _draft_id(value: Any) -> int | None:
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value.get("announcement_id") if isinstance(value, dict) else None


def waiting_request(announcement_id: int) -> WaitingRequest | None:
    """The unanswered request of ``tthc_approve`` that asks about this draft, if one waits."""
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(HITLDetail.created_at, HITLDetail.subject, TaskInstance.run_id, TaskInstance.map_index)
            .join(TaskInstance, TaskInstance.id == HITLDetail.ti_id)
            .where(TaskInstance.dag_id == APPROVE_DAG, TaskInstance.task_id == APPROVE_TASK,
                   HITLDetail.responded_at.is_(None),
                   TaskInstance.state.in_([TaskInstanceState.AWAITING_INPUT, TaskInstanceState.DEFERRED]))
            .order_by(HITLDetail.created_at.desc())).all()
        for asked_at, subject, run_id, map_index in rows:
            value = session.scalar(select(XComModel.value).where(
                XComModel.dag_id == APPROVE_DAG, XComModel.run_id == run_id, XComModel.task_id == DRAFT_TASK,
                XComModel.key == "return_value", XComModel.map_index == -1))
            if _draft_id(value) == announcement_id:
                return WaitingRequest(run_id, map_index, asked_at, subject)
    return None


def answer_request(request: WaitingRequest, user: Any, *, option: str, form: dict[str, str | None]) -> datetime:
    """Send the answer; returns when Airflow recorded it. :class:`AnswerRefused` when Airflow says no."""
    from airflow.api_fastapi.core_api.datamodels.hitl import UpdateHITLDetailPayload
    from airflow.api_fastapi.core_api.routes.public.hitl import update_hitl_detail
    from airflow.utils.session import create_session
    from fastapi import HTTPException

    try:
        with create_session() as session:
            out = update_hitl_detail(dag_id=APPROVE_DAG, dag_run_id=request.run_id, task_id=APPROVE_TASK,
                                     update_hitl_detail_payload=UpdateHITLDetailPayload(
                                         chosen_options=[option], params_input=form),
                                     user=user, session=session, map_index=request.map_index)
    except HTTPException as exc:
        raise AnswerRefused(str(exc.detail)) from exc
    return out.responded_at
