"""Publish flagged procedures, one post per ministry decision, exactly once.

The postings ledger is keyed by (channel, object, version) with a content hash: unchanged content is
not re-sent, changed content is updated in place. Before creating, the channel is asked for the
stable slug (idempotency key), so a crash between a successful POST and the ledger write does not
create a duplicate on the re-run.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from jinja2 import Environment
from sqlalchemy import select
from sqlalchemy.orm import Session

from tthc.db.models import Decision, Flag, Posting
from tthc.reports.render import environment
from tthc.sync.channels import Channel

POSTABLE_STATUSES = ("approved", "announced")  # only what a person approved is published


@dataclass
class SyncResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    adopted: int = 0  # found on the channel after a lost ledger write
    urls: list[str] = field(default_factory=list)


def slugify(text: str) -> str:
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def decision_object_key(decision: Decision) -> str:
    return f"decision:{decision.agency_name}:{decision.so_hieu_key}"


def render_post(env: Environment, decision: Decision, flags: list[Flag]) -> tuple[str, str]:
    title = f"Danh mục thủ tục hành chính cần công bố theo Quyết định số {decision.so_hieu} của {decision.agency_name}"
    content = env.get_template("cms_post.html.j2").render(decision=decision, flags=flags)
    return unicodedata.normalize("NFC", title), unicodedata.normalize("NFC", content)


def publish(session: Session, channel: Channel, *, run_date: date, env: Environment | None = None) -> SyncResult:
    env = env or environment()
    result = SyncResult()
    flags = session.scalars(select(Flag).where(Flag.status.in_(POSTABLE_STATUSES)).order_by(Flag.decision_id, Flag.id))
    by_decision: dict[int, list[Flag]] = {}
    for flag in flags:
        by_decision.setdefault(flag.decision_id, []).append(flag)
    for decision_id, group in by_decision.items():
        decision = session.get(Decision, decision_id)
        assert decision is not None
        title, content = render_post(env, decision, group)
        digest = hashlib.sha256((title + "\n" + content).encode()).hexdigest()
        key = decision_object_key(decision)
        slug = slugify(f"tthc {decision.agency_name} {decision.so_hieu}")
        meta = {"so_hieu": decision.so_hieu, "object_key": key}
        ledger = session.scalar(select(Posting).where(Posting.channel == channel.name, Posting.object_key == key,
                                                      Posting.version == 1))
        if ledger is not None and ledger.content_hash == digest:
            result.unchanged += 1
            continue
        if ledger is not None and ledger.external_id:
            published = channel.update(ledger.external_id, title, content, meta)
            ledger.content_hash, ledger.url, ledger.posted_for = digest, published.url, run_date
            result.updated += 1
        else:
            existing = channel.find(slug)
            if existing is not None:
                published = channel.update(existing.external_id, title, content, meta)
                result.adopted += 1
            else:
                published = channel.create(slug, title, content, meta)
                result.created += 1
            session.add(Posting(channel=channel.name, object_key=key, version=1, content_hash=digest,
                                external_id=published.external_id, url=published.url, posted_for=run_date))
        session.commit()  # one post, one ledger row: a later failure does not undo what was recorded
        if published.url:
            result.urls.append(published.url)
    return result
