"""``tthc feedback``: citizens' feedback (phản ánh, kiến nghị) for the officers who handle it.

    tthc feedback list [--open | --status S]          what is waiting, by deadline (no sender's contact)
    tthc feedback show ID                              one item in full, the sender's contact included
    tthc feedback classify ID KIND --reason TEXT       regulation | handling | out_of_scope, with why
    tthc feedback assign ID OFFICER                    who handles it (status assigned)
    tthc feedback answer ID (--text TEXT | --file F)   record the answer; the next tthc_feedback run
                                                       publishes it on the procedure's page
    tthc feedback import FILE                          feedback from other channels (.xlsx/.csv), all or nothing

ID is the number of PAKN-<ID> (the digest and the list show it).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import UTC, date, datetime
from pathlib import Path

IMPORT_HELP = """Columns (header row, any order): Mã phản ánh, Kênh tiếp nhận (national / letter / one_stop / other
or their Vietnamese labels), Ngày tiếp nhận (dd/mm/yyyy), Nội dung — required; Mã TTHC, Tên thủ tục hành chính,
Người gửi, Liên hệ, Phân loại, Lý do phân loại — optional. Every row is checked first; nothing is imported
if one is wrong (the errors name the row). Importing the same file again changes nothing
(docs/operations.md, Citizens' feedback)."""


def _today() -> date:
    """An officer's action is dated when it is given (the one place the clock is the right time)."""
    from tthc.core.window import VN_TZ

    return datetime.now(UTC).astimezone(VN_TZ).date()


def cmd_feedback(args: argparse.Namespace) -> int:
    from tthc.db.session import session_scope
    from tthc.feedback.answer import FeedbackError

    try:
        with session_scope() as session:
            return _ACTIONS[args.action](session, args)
    except FeedbackError as exc:
        print(str(exc), file=sys.stderr)
        return 2


def _list(session, args) -> int:
    from tthc.feedback.queries import list_lines, status_of

    today = args.as_of or _today()
    lines = list_lines(session, status=args.status, open_only=args.open)
    for x in lines:
        print(f"[{x.reference}] {status_of(x, today)}{' (tạm tính)' if x.provisional else ''} · {x.status} · "
              f"{x.channel}, nhận {x.received_on:%d/%m/%Y}\n      {x.procedure} ({x.field})\n      {x.excerpt}")
    print(f"{len(lines)} phản ánh, kiến nghị." if lines else "Không có phản ánh, kiến nghị nào.")
    return 0


def _show(session, args) -> int:
    from tthc.feedback.queries import officer_view

    view = officer_view(session, args.id)
    if view is None:
        print(f"Không có PAKN-{args.id}.", file=sys.stderr)
        return 2
    line = view["line"]
    contact = (f"{view['sender_name']} <{view['sender_contact']}>" if view["sender_contact"] else view["sender_name"]) \
        or (f"đã xoá ngày {view['contact_purged_on']:%d/%m/%Y}" if view["contact_purged_on"] else "không có")
    print(f"{view['reference']} · {line.status} · {line.channel}, nhận {line.received_on:%d/%m/%Y} · hạn xử lý "
          f"{line.deadline:%d/%m/%Y}{' (tạm tính)' if line.provisional else ''}\n"
          f"Thủ tục: {line.procedure} ({line.field})\n"
          f"Người gửi (chỉ dùng để trả lời, không công khai): {contact}\n"
          f"Phân loại: {view['kind'] or 'chưa phân loại'}{' — ' + view['kind_reason'] if view['kind_reason'] else ''}\n"
          f"Người xử lý: {view['assigned_to'] or 'chưa phân công'}\n\nNội dung:\n{view['text']}")
    if view["answer"]:
        print(f"\nKết quả xử lý ({view['answered_on']:%d/%m/%Y}):\n{view['answer']}")
    if view["reply_url"]:
        print(f"\nĐã công khai: {view['reply_url']}")
    return 0


def _classify(session, args) -> int:
    from tthc.feedback.answer import classify

    item = classify(session, args.id, args.kind, args.reason)
    print(f"Đã phân loại {item.reference}: {item.kind} — {item.kind_reason}")
    return 0


def _assign(session, args) -> int:
    from tthc.feedback.answer import assign

    item = assign(session, args.id, args.officer)
    print(f"Đã phân công {item.reference} cho {item.assigned_to}.")
    return 0


def _answer(session, args) -> int:
    from tthc.feedback.answer import FeedbackError, record_answer

    if bool(args.text) == bool(args.file):
        raise FeedbackError("Cho đúng một trong --text NỘI DUNG hoặc --file TỆP (give --text or --file).")
    text = args.text if args.text else Path(args.file).read_text(encoding="utf-8")
    item = record_answer(session, args.id, text, by=args.by or getpass.getuser(), on=args.on or _today())
    print(f"Đã ghi kết quả xử lý {item.reference}; lần chạy tthc_feedback sau sẽ công khai trên trang thủ tục.")
    return 0


def _import(session, args) -> int:
    from tthc.catalogue.feedback import load_rules
    from tthc.core.workdays import WorkCalendar
    from tthc.feedback.importer import FeedbackFileError, import_feedback

    try:
        result = import_feedback(session, args.file, today=args.as_of or _today(), rules=load_rules(),
                                 calendar=WorkCalendar.from_file())
    except FeedbackFileError as exc:
        session.rollback()
        print(str(exc), file=sys.stderr)
        return 2
    print(f"Đã nhập {result.stored} phản ánh, kiến nghị mới; {result.already} đã có từ trước.")
    return 0


_ACTIONS = {"list": _list, "show": _show, "classify": _classify, "assign": _assign, "answer": _answer,
            "import": _import}


def register(sub: argparse._SubParsersAction, parse_date) -> None:
    fb = sub.add_parser("feedback", help="citizens' feedback (phản ánh, kiến nghị): list, show, classify, assign, "
                        "answer, import", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    fb_sub = fb.add_subparsers(dest="action", required=True)
    ls = fb_sub.add_parser("list", help="feedback by deadline (no sender's contact)")
    ls.add_argument("--open", action="store_true", help="only what is not answered yet")
    ls.add_argument("--status", choices=("received", "assigned", "answered", "published"))
    ls.add_argument("--as-of", type=parse_date, help="judge deadlines on this date (default today)")
    show = fb_sub.add_parser("show", help="one item in full, the sender's contact included")
    show.add_argument("id", type=int)
    cl = fb_sub.add_parser("classify", help="regulation | handling | out_of_scope, with the reason")
    cl.add_argument("id", type=int)
    cl.add_argument("kind", choices=("regulation", "handling", "out_of_scope"))
    cl.add_argument("--reason", required=True)
    asg = fb_sub.add_parser("assign", help="who handles it")
    asg.add_argument("id", type=int)
    asg.add_argument("officer")
    ans = fb_sub.add_parser("answer", help="record the answer (published on the procedure's page by the next run)")
    ans.add_argument("id", type=int)
    ans.add_argument("--text", help="the answer")
    ans.add_argument("--file", help="a UTF-8 text file with the answer (blank lines part paragraphs)")
    ans.add_argument("--by", help="who answered (default: this account)")
    ans.add_argument("--on", type=parse_date, help="date of the answer (default today)")
    imp = fb_sub.add_parser("import", help="feedback from other channels (.xlsx or .csv)", description=IMPORT_HELP)
    imp.add_argument("file")
    imp.add_argument("--as-of", type=parse_date, help="the import's date (default today)")
    fb.set_defaults(func=cmd_feedback)
