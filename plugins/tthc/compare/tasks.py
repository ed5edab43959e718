"""The compare stage's tasks: flag what the province must announce, then draft the decision to sign."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from tthc.core.config import load_department, var_dir
from tthc.core.window import RunWindow
from tthc.db.session import session_scope


def compare(window: RunWindow) -> dict[str, Any]:
    from tthc.compare.flags import compare as run_compare

    with session_scope() as session:
        result = run_compare(session, load_department(), as_of=window.as_of)
    return asdict(result)


def prepare_draft(window: RunWindow) -> dict[str, Any] | None:
    """The draft decision waiting for approval (made from the ready flags if none waits), or None."""
    from tthc.compare.prepare import prepare_draft as run_prepare

    with session_scope() as session:
        info = run_prepare(session, load_department(), as_of=window.as_of, out_dir=var_dir() / "drafts")
        return info.as_dict() if info else None
