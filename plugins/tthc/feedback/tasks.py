"""The feedback stage's tasks (DAG ``tthc_feedback``, hourly): receive what the website holds, publish the
answers officers recorded, erase contacts past their retention. Each opens its own transaction and returns
a small summary; nothing here reads the clock (the run's window is passed in)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from tthc.core.config import get_endpoint
from tthc.core.window import RunWindow
from tthc.db.session import session_scope

CONN_ID = "tthc_cms"


def make_client():
    from tthc.feedback.wordpress import CommentsClient

    ep = get_endpoint(CONN_ID)
    return CommentsClient(ep.base_url, ep.password or "", login=ep.login, conn_id=CONN_ID)


def receive_website(window: RunWindow) -> dict[str, Any]:
    """The comments held on the procedure pages (one request per 100 pages when nothing is new)."""
    from tthc.catalogue.feedback import load_rules
    from tthc.core.workdays import WorkCalendar
    from tthc.feedback.receive import receive_website as receive

    rules, calendar = load_rules(), WorkCalendar.from_file()
    with session_scope() as session:
        result = receive(session, make_client(), window, rules=rules, calendar=calendar)
    return asdict(result)


def publish_answers(window: RunWindow, try_name: str | None = None) -> dict[str, Any]:
    """Each recorded answer as a reply on the procedure's page, exactly once."""
    from tthc.feedback.publish import holder_name
    from tthc.feedback.publish import publish_answers as publish

    with session_scope() as session:
        result = publish(session, make_client(), run_date=window.as_of, holder=holder_name(try_name))
    return asdict(result)


def purge_contacts(window: RunWindow) -> dict[str, Any]:
    from tthc.catalogue.feedback import load_rules
    from tthc.feedback.privacy import purge_contacts as purge

    with session_scope() as session:
        done = purge(session, as_of=window.as_of, rules=load_rules())
    return {"purged": len(done), "references": done}
