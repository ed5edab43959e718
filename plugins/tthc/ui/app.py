"""The KSTTHC page: a FastAPI app served by Airflow's API server (``plugins/kstthc_ui_plugin.py``).

Server-rendered Jinja pages, no JavaScript; every link is relative, so the page works under any prefix
(Airflow's ``[api] base_url`` path, a proxy). Mounted at ``/kstthc``:

- ``/`` — procedures to announce by urgency (with their deadlines and source decisions), the review queue
  with a form per item, the drafts waiting for approval, what each channel published, the health of
  sources and channels, the reports sent;
- ``/drafts/{id}`` — one draft: its full list of procedures, its files, the approval form;
- ``/drafts/{id}/du-thao.docx`` and ``.html`` — the draft's files, from the store (``draft_files``);
- ``POST /review/{flag_id}`` and ``POST /drafts/{id}`` — the answers (see :mod:`tthc.ui.security`).
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from tthc.approve.options import APPROVE, DATE_PATTERN, REJECT, SO_HIEU_PATTERN
from tthc.core.render import vn_date, vn_number
from tthc.core.window import VN_TZ
from tthc.ui.security import (
    FRAME_HEADERS,
    PAGE_CSP,
    PREVIEW_CSP,
    Forbidden,
    LoginRequired,
    Viewer,
    check_post,
    csrf_token,
    current_viewer,
    login_url,
)

TEMPLATES = Path(__file__).resolve().parent / "templates"
ViewerDep = Annotated[Viewer, Depends(current_viewer)]
FormText = Annotated[str, Form()]
DONE = {"review": "Đã ghi câu trả lời. Lần so sánh kế tiếp (tthc_compare) sẽ áp dụng.",
        "answered": "Đã gửi câu trả lời tới Airflow (tthc_approve). Hệ thống đang ghi nhận; tải lại trang sau ít "
                    "giây để xem kết quả."}


def _vn_datetime(value: datetime | None) -> str:
    if value is None:
        return "—"
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    return value.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y")


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(vn_date=vn_date, vn_number=vn_number, vn_datetime=_vn_datetime)
    env.globals.update(APPROVE=APPROVE, REJECT=REJECT, DATE_PATTERN=DATE_PATTERN, SO_HIEU_PATTERN=SO_HIEU_PATTERN)
    return env


ENV = _environment()


def _home(request: Request) -> str:
    """The page's address relative to ``request`` (every link is relative: the app works under any prefix)."""
    sub = request.url.path[len(request.scope.get("root_path", "")):] or "/"
    return "../" * (sub.count("/") - 1) or "./"


def page(template: str, status: int = 200, **context: object) -> HTMLResponse:
    html = unicodedata.normalize("NFC", ENV.get_template(template).render(**context))
    return HTMLResponse(html, status_code=status, headers={**FRAME_HEADERS, "Content-Security-Policy": PAGE_CSP})


def _now() -> datetime:
    return datetime.now(UTC)  # a person's answer and the page's "today": the wall clock is the right time


def create_app() -> FastAPI:
    app = FastAPI(title="KSTTHC", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        if request.method in ("GET", "HEAD"):
            return RedirectResponse(login_url(request), status_code=303, headers=FRAME_HEADERS)
        return page("message.html.j2", 401, title="Cần đăng nhập", home=_home(request),
                    message="Phiên đăng nhập Airflow đã hết hạn hoặc chưa đăng nhập. Đăng nhập lại rồi gửi lại.")

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return page("message.html.j2", 403, title="Không được phép", home=_home(request),
                    message=f"Không ghi được: {exc}.")

    @app.get("/", response_class=HTMLResponse)
    def index(viewer: ViewerDep, done: str = "", item: int = 0) -> HTMLResponse:
        return _index(viewer, done=DONE.get(done, ""), item=item)

    @app.post("/review/{flag_id}", response_class=HTMLResponse)
    def answer_review(request: Request, flag_id: int, viewer: ViewerDep,
                      csrf: FormText = "", code: FormText = "", other_code: FormText = "",
                      note: FormText = "") -> Response:
        check_post(request, viewer, csrf, needs="review")
        from tthc.compare.review import decide_flag
        from tthc.db.session import session_scope

        chosen = other_code.strip() if code == "__other__" else None if code == "__none__" else code.strip()
        error = "chọn một mã trong danh mục, nhập mã khác, hoặc chọn «không có trong danh mục»" \
            if not code or (code == "__other__" and not chosen) else ""
        if not error:
            try:
                with session_scope() as session:
                    decide_flag(session, flag_id, chosen, decided_by=viewer.name, decided_at=_now(),
                                note=note.strip() or None)
            except (LookupError, ValueError) as exc:
                error = str(exc)
        if error:
            return _index(viewer, errors={flag_id: error}, status=422)
        return RedirectResponse(f"../?done=review&item={flag_id}#review-{flag_id}", status_code=303,
                                headers=FRAME_HEADERS)

    @app.get("/drafts/{announcement_id}", response_class=HTMLResponse)
    def draft(announcement_id: int, viewer: ViewerDep, done: str = "") -> HTMLResponse:
        return _draft(viewer, announcement_id, done=DONE.get(done, ""))

    @app.post("/drafts/{announcement_id}", response_class=HTMLResponse)
    def answer_draft(request: Request, announcement_id: int, viewer: ViewerDep,
                     csrf: FormText = "", choice: FormText = "", so_hieu: FormText = "",
                     ngay_ky: FormText = "", ghi_chu: FormText = "") -> Response:
        check_post(request, viewer, csrf, needs="approve")
        from tthc.approve.answer import AnswerProblem, check_answer
        from tthc.ui import hitl

        form = {"so_hieu": so_hieu.strip() or None, "ngay_ky": ngay_ky.strip() or None,
                "ghi_chu": ghi_chu.strip() or None}
        typed = {"choice": choice, "so_hieu": so_hieu, "ngay_ky": ngay_ky, "ghi_chu": ghi_chu}
        if choice not in (APPROVE, REJECT):
            return _draft(viewer, announcement_id, typed=typed, status=422,
                          errors={"choice": f"chọn «{APPROVE}» hoặc «{REJECT}»"})
        try:  # the rules record_approval applies, against today: refused here, nothing is sent
            check_answer(approved=choice == APPROVE, so_hieu=form["so_hieu"], signed_date=form["ngay_ky"],
                         note=form["ghi_chu"], answered_on=_now().astimezone(VN_TZ).date())
        except AnswerProblem as exc:
            return _draft(viewer, announcement_id, typed=typed, errors=exc.fields, status=422)
        waiting = hitl.waiting_request(announcement_id)
        if waiting is None:
            return _draft(viewer, announcement_id, typed=typed, status=409,
                          errors={"choice": "không có yêu cầu phê duyệt nào đang chờ cho dự thảo này"})
        try:
            hitl.answer_request(waiting, viewer.user, option=choice, form=form)
        except hitl.AnswerRefused as exc:
            return _draft(viewer, announcement_id, typed=typed, status=409,
                          errors={"choice": f"Airflow không nhận câu trả lời: {exc}"})
        return RedirectResponse(f"{announcement_id}?done=answered", status_code=303, headers=FRAME_HEADERS)

    @app.get("/drafts/{announcement_id}/phan-ii.docx")
    def draft_part_two(announcement_id: int, viewer: ViewerDep) -> Response:
        return draft_file(announcement_id, "part_two", viewer)

    @app.get("/drafts/{announcement_id}/du-thao.{kind}")
    def draft_file(announcement_id: int, kind: str, viewer: ViewerDep) -> Response:
        from tthc.catalogue.announcements import draft_file as stored
        from tthc.db.session import session_scope

        with session_scope() as session:
            row = stored(session, announcement_id, kind) if kind in ("docx", "html", "part_two") else None
            if row is None:
                return page("message.html.j2", 404, title="Không có tệp", home="../../",
                            message="Không có tệp này của dự thảo trong cơ sở dữ liệu.")
            content, name, ctype = row.content, row.filename, row.content_type
        disposition = "inline" if kind == "html" else "attachment"
        headers = {**FRAME_HEADERS, "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(name)}",
                   "Content-Security-Policy": PREVIEW_CSP}
        return Response(content, media_type=ctype, headers=headers)

    return app


def _index(viewer: Viewer, *, done: str = "", item: int = 0, errors: dict[int, str] | None = None,
           status: int = 200):
    from tthc.core.config import load_department
    from tthc.db.session import session_scope
    from tthc.ui.state import page_state

    with session_scope() as session:
        state = page_state(session, _now())
        return page("index.html.j2", status, s=state, viewer=viewer, csrf=csrf_token(viewer), done=done,
                    item=item, errors=errors or {}, dept=load_department())


def _draft(viewer: Viewer, announcement_id: int, *, done: str = "", typed: dict[str, str] | None = None,
           errors: dict[str, str] | None = None, status: int = 200):
    from tthc.db.session import session_scope
    from tthc.ui import hitl
    from tthc.ui.state import draft_state

    with session_scope() as session:
        found = draft_state(session, announcement_id)
        if found is None:
            return page("message.html.j2", 404, title="Không có dự thảo", home="../",
                        message=f"Không có dự thảo số {announcement_id}.")
        ann, row = found
        waiting = hitl.waiting_request(announcement_id) if ann.status == "draft" else None
        return page("draft.html.j2", status, ann=ann, d=row, viewer=viewer, csrf=csrf_token(viewer), done=done,
                    waiting=waiting, typed=typed or {}, errors=errors or {}, answers=list(ann.answers))
