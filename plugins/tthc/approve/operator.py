"""The Airflow operator of ``tthc_approve``'s Human-in-the-loop step: a person approves or rejects the draft decision.

:class:`DraftApprovalOperator` is Airflow's :class:`~airflow.providers.standard.operators.hitl.HITLOperator`
with the department's options and form: *Phê duyệt* (approve) or *Từ chối* (reject), the signed
decision's number (``so_hieu``), its signing date (``ngay_ky``, dd/mm/yyyy) and a note (the reason of a
rejection). It shows the draft that the upstream task returned, with links to it on the KSTTHC page
(its full list of procedures, the DOCX and the HTML preview, served from the store); with no draft it
skips (nothing waits for a person).

The form's fields are optional, with JSON-schema patterns for the number and the date: which fields an
answer needs depends on the option chosen, which Airflow's form cannot express, and Airflow 3.3's form
does not enforce ``pattern`` (it only keeps the buttons disabled while a *required* field is empty). So an
answer is kept as typed here and checked by ``record_approval`` (:func:`tthc.approve.answer.check_answer`),
which asks again with the reason instead of failing the run. The KSTTHC page's own form checks the same
rules before it sends anything.

``auto_approve`` (a DAG param, default off) answers at once with a placeholder number: for the demo and
for tests of the rest of the chain, never for production. Real answers come from the KSTTHC page, the
Airflow UI (Required actions) or its REST API (``PATCH …/taskInstances/approve/-1/hitlDetails``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import Param
from airflow.sdk.exceptions import AirflowSkipException

from tthc.approve.options import APPROVE, AUTO_SO_HIEU, AUTO_USER, DATE_PATTERN, REJECT, SO_HIEU_PATTERN
from tthc.core.window import window_from_context

RESPONSE_TIMEOUT = timedelta(days=7)
MAX_LISTED = 30

FORM = {
    "so_hieu": Param(None, type=["null", "string"], pattern=SO_HIEU_PATTERN, title="Số hiệu quyết định đã ký",
                     description="Ví dụ 123/QĐ-UBND. Bắt buộc khi phê duyệt; để trống khi từ chối."),
    "ngay_ky": Param(None, type=["null", "string"], pattern=DATE_PATTERN, title="Ngày ký (dd/mm/yyyy)",
                     description="Ví dụ 25/11/2026, không sau ngày hôm nay. Bắt buộc khi phê duyệt."),
    "ghi_chu": Param(None, type=["null", "string"], title="Ghi chú (lý do từ chối)",
                     description="Bắt buộc khi từ chối: điều cần sửa trong dự thảo."),
}


def approval_body(draft: dict[str, Any], procedures: list[str], links: Mapping[str, str]) -> str:
    """Markdown shown to the approver. ``links``: ``page`` (the draft on the KSTTHC page), ``docx``, ``html``."""
    lines = [f"**{draft['title']}**", ""]
    if draft.get("problem"):
        lines += [f"> ⚠️ **Cần trả lời lại.** {draft['problem']}.", ""]
    lines += [
        f"- Số thủ tục: {draft['flag_count']} (quá hạn: {draft['late']})",
        f"- Hạn công bố sớm nhất: {_vn(draft['earliest_deadline'])}",
        f"- Theo quyết định của Bộ: {', '.join(draft['decisions'])}",
        f"- Dự thảo: [tải về bản DOCX]({links['docx']}) · [xem bản HTML]({links['html']})",
        f"- [Xem toàn bộ {draft['flag_count']} thủ tục và trả lời trên trang KSTTHC]({links['page']})", "",
        "Thủ tục trong dự thảo (hạn sớm nhất trước):", "",
    ]
    if draft.get("part_two") and links.get("part_two"):
        lines.insert(-3, f"- Phần II, nội dung cụ thể của từng thủ tục: [tải về bản DOCX]({links['part_two']})")
    lines += [f"{i}. {p}" for i, p in enumerate(procedures[:MAX_LISTED], 1)]
    if len(procedures) > MAX_LISTED:
        lines.append(f"\n… và {len(procedures) - MAX_LISTED} thủ tục khác: "
                     f"[xem danh sách đầy đủ]({links['page']}).")
    lines += ["", f"**{APPROVE}:** nhập số hiệu và ngày ký của quyết định đã ký. "
                  f"**{REJECT}:** ghi lý do vào ô Ghi chú."]
    return "\n".join(lines)


def draft_links(announcement_id: int) -> dict[str, str]:
    """Links to the draft on the KSTTHC page: absolute when the UI's address is known, else from the root."""
    from tthc.core.config import load_department
    from tthc.core.links import draft_file_url, draft_page, ui_base_url

    base = ui_base_url(load_department())
    if base:
        return {"page": draft_page(base, announcement_id), "docx": draft_file_url(base, announcement_id, "docx"),
                "html": draft_file_url(base, announcement_id, "html"),
                "part_two": draft_file_url(base, announcement_id, "part_two")}
    return {"page": f"/kstthc/drafts/{announcement_id}", "docx": f"/kstthc/drafts/{announcement_id}/du-thao.docx",
            "html": f"/kstthc/drafts/{announcement_id}/du-thao.html",
            "part_two": f"/kstthc/drafts/{announcement_id}/phan-ii.docx"}


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
        self.subject = (("Trả lời lại: " if draft.get("problem") else "")
                        + f"Phê duyệt dự thảo Quyết định công bố {draft['flag_count']} thủ tục hành chính"
                        + (f" ({draft['late']} quá hạn)" if draft["late"] else ""))
        self.body = approval_body(draft, _procedure_lines(draft["announcement_id"]),
                                  draft_links(draft["announcement_id"]))
        if context["params"].get("auto_approve"):
            self.log.warning("auto_approve is set: approving draft %s without a person (demo only)",
                             draft["batch_key"][:12])
            window = window_from_context(context)
            return {"chosen_options": [APPROVE],
                    "params_input": {"so_hieu": AUTO_SO_HIEU, "ngay_ky": f"{window.as_of:%d/%m/%Y}",
                                     "ghi_chu": "auto_approve"},
                    "responded_at": window.end.isoformat(), "responded_by_user": AUTO_USER}
        return super().execute(context)

    def validate_params_input(self, params_input: Mapping) -> None:
        """Keep the answer as typed: ``record_approval`` checks it and asks again with the reason (a schema
        error raised here would fail the task, and the person would see only "approve response
        successful")."""
        return None


def _procedure_lines(announcement_id: int) -> list[str]:
    from tthc.catalogue.announcements import procedure_lines
    from tthc.db.models import Announcement
    from tthc.db.session import session_scope

    with session_scope() as session:
        ann = session.get(Announcement, announcement_id)
        return procedure_lines(ann) if ann is not None else []
