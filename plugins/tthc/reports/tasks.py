"""The report stage's tasks: the nightly digest, the periodic KSTTHC reports, and the mail to the approver when
their answer could not be recorded, each sent once."""

from __future__ import annotations

from typing import Any

from tthc.core.config import get_endpoint, load_department
from tthc.core.window import RunWindow
from tthc.db.session import session_scope


def send_digest(window: RunWindow, resend: bool = False) -> dict[str, Any]:
    """The nightly digest, to the roles that receive it, once per run date (unless ``resend``)."""
    from tthc.reports.digest import build_digest, digest_mail, should_send
    from tthc.reports.mail import YagmailMailer, send_once

    dept = load_department()
    with session_scope() as session:
        digest = build_digest(session, window_start=window.start, window_end=window.end, as_of=window.as_of,
                              csdl_warn_after=dept.csdl_verify_working_days)
        mail = digest_mail(digest, dept)
        if not should_send(digest, dept):
            return {"sent": False, "reason": "nothing to say (the all-quiet digest goes out weekly)",
                    "subject": mail.subject}
        mailer = YagmailMailer.from_endpoint(get_endpoint("tthc_smtp"))
        outcome = send_once(session, mailer, mail, archive_dir=dept.archive_path(), resend=resend)
    return {"sent": outcome.sent, "reason": outcome.reason, "subject": mail.subject, "sent_to": outcome.sent_to,
            "skipped": outcome.skipped, "late": len(digest.late), "pending": len(digest.pending)}


def send_periodic(window: RunWindow, period_key: str | None = None, resend: bool = False) -> dict[str, Any]:
    """Send the periodic KSTTHC reports due on the run date (or the one named by ``period_key``)."""
    from tthc.reports.mail import YagmailMailer, send_once
    from tthc.reports.periodic.build import periodic_mail
    from tthc.reports.periodic.periods import due_periods, parse_period_key

    dept = load_department()
    periods = [parse_period_key(period_key, dept.report_cutoff_day)] if period_key else \
        due_periods(window.as_of, dept.report_cutoff_day)
    if not periods:
        return {"sent": [], "reason": f"no report period ends on {window.as_of:%d/%m/%Y}"}
    mailer = YagmailMailer.from_endpoint(get_endpoint("tthc_smtp"))
    out = []
    for period in periods:
        with session_scope() as session:
            mail = periodic_mail(session, dept, period)
            outcome = send_once(session, mailer, mail, archive_dir=dept.archive_path(), resend=resend)
        out.append({"period": period.key, "subject": mail.subject, "sent_to": outcome.sent_to,
                    "skipped": outcome.skipped})
    return {"sent": out}


def flush_ops_mail(window: RunWindow) -> dict[str, Any]:
    """Send the ops alerts that could not be sent when they were raised (SMTP down), each once. Fails
    while some still cannot be sent, so Airflow retries and the run shows it."""
    from tthc.reports.mail import MailError, YagmailMailer, send_pending

    dept = load_department()
    mailer = YagmailMailer.from_endpoint(get_endpoint("tthc_smtp"))
    with session_scope() as session:
        outcome = send_pending(session, mailer, archive_dir=dept.archive_path())
    if outcome.pending:
        raise MailError(f"{len(outcome.pending)} ops mail(s) still not sent ({len(outcome.sent)} sent now): "
                        + "; ".join(outcome.pending[:3]))
    return {"sent": outcome.sent, "as_of": window.as_of.isoformat()}


def mail_answer_problem(draft: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """Tell the approver's role that their answer on ``draft`` was not recorded and why (once per answer)."""
    from tthc.reports.approval import answer_problem_mail
    from tthc.reports.mail import YagmailMailer, send_once

    dept = load_department()
    mail = answer_problem_mail(dept, draft, result)
    with session_scope() as session:
        outcome = send_once(session, YagmailMailer.from_endpoint(get_endpoint("tthc_smtp")), mail,
                            archive_dir=dept.archive_path())
    return {"sent_to": outcome.sent_to, "skipped": outcome.skipped, "reason": outcome.reason,
            "subject": mail.subject}
