"""The Airflow operator of ``tthc_approve``'s Human-in-the-loop step: a person approves or rejects the draft decision.

:class:`DraftApprovalOperator` is Airflow's :class:`~airflow.providers.standard.operators.hitl.HITLOperator`
with the department's options and form: *Phê duyệt* (approve) or *Từ chối* (reject), the signed
decision's number (``so_hieu``), its signing date (``ngay_ky``, dd/mm/yyyy) and a note. It shows the
draft that the upstream task returned; with no draft it skips (nothing waits for a person).

``auto_approve`` (a DAG param, default off) answers at once with a placeholder number: for the demo and
for tests of the rest of the chain, never for production. Real answers come from the Airflow UI
(Required actions) or its REST API (``PATCH …/taskInstances/approve/-1/hitlDetails``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import Param
from airflow.sdk.exceptions import AirflowSkipException

from tthc.approve.options import APPROVE, AUTO_SO_HIEU, AUTO_USER, REJECT
from tthc.core.window import window_from_context

RESPONSE_TIMEOUT = timedelta(days=7)
MAX_LISTED = 30

FORM = {
    "so_hieu": Param("", type="string", title="Số hiệu quyết định đã ký",
                     description="Ví dụ 123/QĐ-UBND. Bắt buộc khi phê duyệt."),
    "ngay_ky": Param("", type="string", title="Ngày ký (dd/mm/yyyy)", description="Bắt buộc khi phê duyệt."),
    "ghi_chu": Param("", type="string", title="Ghi chú", description="Lý do từ chối hoặc ghi chú khác."),
}


def approval_body(draft: dict[str, Any], procedures: list[str]) -> str:
    """Markdown shown to the approver."""
    lines = [
        f"**{draft['title']}**", "",
        f"- Số thủ tục: {draft['flag_count']} (quá hạn: {draft['late']})",
        f"- Hạn công bố sớm nhất: {_vn(draft['earliest_deadline'])}",
        f"- Theo quyết định của Bộ: {', '.join(draft['decisions'])}",
        f"- Dự thảo (DOCX): `{draft['docx']}`",
        f"- Bản xem trước (HTML, có ghi chú cho người kiểm tra): `{draft['html']}`",
    ]
    if draft.get("part_two"):
        lines.append(f"- Phần II, nội dung cụ thể của từng thủ tục (DOCX): `{draft['part_two']}`")
    lines += ["", "Thủ tục trong dự thảo:", ""]
    lines += [f"{i}. {p}" for i, p in enumerate(procedures[:MAX_LISTED], 1)]
    if len(procedures) > MAX_LISTED:
        lines.append(f"… và {len(procedures) - MAX_LISTED} thủ tục khác (xem dự thảo).")
    lines += ["", "Phê duyệt: nhập số hiệu và ngày ký của quyết định đã ký. Từ chối: ghi lý do."]
    return "\n".join(lines)


def _vn(iso: str) -> str:
    y, m, d = iso.split("-")
    return f"{d}/{m}/{y}"


class DraftApprovalOperator(HITLOperator):
    """Approve or reject the draft returned by ``draft_task_id``; see the module docstring."""

    def __init__(self, *, draft_task_id: str, **kwargs: Any) -> None:
        kwargs.setdefault("response_timeout", RESPONSE_TIMEOUT)
        kwargs.pop("params", None)  # the DAG's params reach every operator; this one's form is FORM
        super().__init__(subject="Phê duyệt dự thảo Quyết định công bố danh mục TTHC", options=[APPROVE, REJECT],
                         params=dict(FORM), **kwargs)
        self.draft_task_id = draft_task_id

    def execute(self, context: Any) -> Any:
        draft = context["ti"].xcom_pull(task_ids=self.draft_task_id)
        if not draft:
            raise AirflowSkipException("Không có dự thảo nào chờ phê duyệt")
        self.subject = (f"Phê duyệt dự thảo Quyết định công bố {draft['flag_count']} thủ tục hành chính"
                        + (f" ({draft['late']} quá hạn)" if draft["late"] else ""))
        self.body = approval_body(draft, _procedure_lines(draft["announcement_id"]))
        if context["params"].get("auto_approve"):
            self.log.warning("auto_approve is set: approving draft %s without a person (demo only)",
                             draft["batch_key"][:12])
            window = window_from_context(context)
            return {"chosen_options": [APPROVE],
                    "params_input": {"so_hieu": AUTO_SO_HIEU, "ngay_ky": f"{window.as_of:%d/%m/%Y}",
                                     "ghi_chu": "auto_approve"},
                    "responded_at": window.end.isoformat(), "responded_by_user": AUTO_USER}
        return super().execute(context)


def _procedure_lines(announcement_id: int) -> list[str]:
    from tthc.catalogue.announcements import procedure_lines
    from tthc.db.models import Announcement
    from tthc.db.session import session_scope

    with session_scope() as session:
        ann = session.get(Announcement, announcement_id)
        return procedure_lines(ann) if ann is not None else []
