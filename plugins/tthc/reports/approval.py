"""The mail to the approver when their answer on a draft could not be recorded (``tthc_approve`` asks again).

Goes to the roles that receive ``approval`` (default ``lanh_dao``, the officials who sign; the KSTTHC
staff when no official is listed), not only to IT: the person who answered is the one who can fix it.
Once per refused answer (ledger key: the draft and the time of the answer).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tthc.core.config import Department
from tthc.core.links import draft_page, required_actions_page, ui_base_url
from tthc.core.render import environment, render
from tthc.core.window import VN_TZ
from tthc.reports.mail import OutgoingMail


def problem_recipients(dept: Department) -> tuple[str, ...]:
    return tuple(dept.recipients_for("approval") or dept.recipients_for("digest"))


def answer_problem_mail(dept: Department, draft: Mapping[str, Any], result: Mapping[str, Any]) -> OutgoingMail:
    base = ui_base_url(dept)
    at = datetime.fromisoformat(result["answered_at"]).astimezone(VN_TZ)
    links = {"page": draft_page(base, draft["announcement_id"]), "airflow": required_actions_page(base)}
    context = {"dept": dept, "draft": draft, "result": result, "at": at, "links": links}
    key = hashlib.sha256(f"{draft['announcement_id']}|{result['answered_at']}".encode()).hexdigest()[:24]
    env = environment()
    return OutgoingMail(
        kind="approval_problem", period_key=key, sender=dept.sender, recipients=problem_recipients(dept),
        subject=f"[KSTTHC] Câu trả lời phê duyệt dự thảo chưa ghi nhận được — cần trả lời lại ({at:%d/%m/%Y})",
        html=render(env, "approval_problem.html.j2", **context),
        text=render(env, "approval_problem.txt.j2", **context),
    )
