"""Publish to one channel exactly once, and reconcile what it shows with what it should.

The postings ledger has one row per (channel, object, version): version 1 is the first publication,
each change of content adds the next version (updated in place on the channel, same external id), and
a withdrawal adds a version with status ``withdrawn``. Its ``content_hash`` is the object's digest:
unchanged content is never re-sent.

Exactly once: before creating, the channel is asked for the object's idempotency key
(:meth:`Channel.find`); a create that failed on our side (timeout, 500 after the server committed) is
looked up again at once. Each object is committed with its ledger row before the next one, so a crash
loses at most the ledger row of the object in flight, and the re-run adopts it instead of duplicating.

``dry_run``: the plan (create / update / withdraw / unchanged per object) from the ledger alone; no
request is sent to the channel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from tthc.db.models import Posting
from tthc.sync.channels.base import Channel, ChannelError, ChannelObject, Published, RejectedError

log = logging.getLogger(__name__)

OnWritten = Callable[[ChannelObject, Published], None]


@dataclass
class SyncResult:
    channel: str
    dry_run: bool = False
    created: int = 0
    updated: int = 0
    withdrawn: int = 0
    unchanged: int = 0
    adopted: int = 0  # found on the channel after a lost answer or ledger write
    rejected: list[str] = field(default_factory=list)  # refused by the channel (validation): key and reason
    planned: list[dict[str, str]] = field(default_factory=list)  # dry run: what would be done
    urls: list[str] = field(default_factory=list)


def latest_posting(session: Session, channel: str, key: str) -> Posting | None:
    return session.scalars(select(Posting).where(Posting.channel == channel, Posting.object_key == key)
                           .order_by(Posting.version.desc())).first()


def _record(session: Session, channel: Channel, obj: ChannelObject, published: Published, prior: Posting | None,
            status: str, run_date: date) -> None:
    session.add(Posting(channel=channel.name, object_key=obj.key, version=(prior.version + 1) if prior else 1,
                        content_hash=obj.digest, external_id=published.external_id, url=published.url,
                        status=status, posted_for=run_date))
    session.commit()  # one object, one ledger row: a later failure does not undo what was recorded


def _create_once(channel: Channel, obj: ChannelObject) -> tuple[Published, bool]:
    """Create, unless the channel already holds it; a create whose answer was lost is looked up again."""
    found = channel.find(obj)
    if found is not None:
        return found, True
    try:
        return channel.create(obj), False
    except RejectedError:
        raise
    except ChannelError:
        found = channel.find(obj)  # the server may have committed before failing (500, timeout)
        if found is None:
            raise
        log.warning("%s: create of %s failed but the object exists: adopted", channel.name, obj.key)
        return found, True


def plan_action(prior: Posting | None, obj: ChannelObject) -> str:
    if obj.withdrawn:
        if prior is None:
            return "create_withdrawn"  # never published by us: created unpublished (find adopts a hand-made one)
        if prior.status == "withdrawn" and prior.content_hash == obj.digest:
            return "unchanged"
        return "withdraw"
    if prior is None:
        return "create"
    if prior.status == "posted" and prior.content_hash == obj.digest:
        return "unchanged"
    return "update"


def sync_channel(session: Session, channel: Channel, objects: list[ChannelObject], *, run_date: date,
                 dry_run: bool = False, on_written: OnWritten | None = None) -> SyncResult:
    """Make ``channel`` show ``objects`` (see the module docstring). ``on_written`` is called after each
    successful write and before its ledger row is stored (tests raise there to simulate a crash)."""
    result = SyncResult(channel.name, dry_run=dry_run)
    for obj in objects:
        prior = latest_posting(session, channel.name, obj.key)
        action = plan_action(prior, obj)
        if dry_run:
            result.planned.append({"action": action, "key": obj.key, "title": obj.title})
            if action == "unchanged":
                result.unchanged += 1
            continue
        if action == "unchanged":
            result.unchanged += 1
            continue
        try:
            _apply(session, channel, obj, prior, action, result, run_date, on_written)
        except RejectedError as exc:  # this object's data: report it, go on with the others
            log.error("%s refused %s: %s", channel.name, obj.key, exc)
            session.rollback()
            result.rejected.append(f"{obj.key}: {exc}")
    if result.rejected:
        raise RejectedError(f"{channel.label}: {len(result.rejected)} object(s) refused, the others were "
                            f"published: " + "; ".join(result.rejected))
    return result


def _apply(session: Session, channel: Channel, obj: ChannelObject, prior: Posting | None, action: str,
           result: SyncResult, run_date: date, on_written: OnWritten | None) -> None:
    if action in ("create", "create_withdrawn"):
        published, adopted = _create_once(channel, obj)
        if adopted:
            published = channel.withdraw(published.external_id, obj) if obj.withdrawn \
                else channel.update(published.external_id, obj)
            result.adopted += 1
        elif obj.withdrawn:
            result.withdrawn += 1
        else:
            result.created += 1
    elif action == "withdraw":
        published = channel.withdraw(prior.external_id, obj)
        result.withdrawn += 1
    else:
        published = channel.update(prior.external_id, obj)
        result.updated += 1
    if on_written is not None:
        on_written(obj, published)
    _record(session, channel, obj, published, prior, "withdrawn" if obj.withdrawn else "posted", run_date)
    if published.url:
        result.urls.append(published.url)


# -- reconciliation ----------------------------------------------------------------------------------


@dataclass
class DriftReport:
    channel: str
    missing: list[str] = field(default_factory=list)  # should be shown, is not
    stale: list[str] = field(default_factory=list)  # shown with other content (or live while withdrawn)
    extra: list[str] = field(default_factory=list)  # ours, shown, but should not be
    repaired: list[str] = field(default_factory=list)
    unrepaired: list[str] = field(default_factory=list)  # with the reason

    @property
    def drift(self) -> int:
        return len(self.missing) + len(self.stale) + len(self.extra)


def reconcile(session: Session, channel: Channel, objects: list[ChannelObject], *, run_date: date,
              repair: bool = True) -> DriftReport:
    """Read back what ``channel`` shows, compare it with ``objects`` and (``repair``) fix what we own."""
    report = DriftReport(channel.name)
    remote = {r.key: r for r in channel.list_owned()}
    wanted = {o.key: o for o in objects}
    for obj in objects:
        shown = remote.get(obj.key)
        prior = latest_posting(session, channel.name, obj.key)
        if shown is None:
            if obj.withdrawn:
                continue  # nothing shown, nothing to show
            report.missing.append(obj.key)
            if repair:
                published = channel.create(obj)
                _record(session, channel, obj, published, prior, "posted", run_date)
                report.repaired.append(obj.key)
            continue
        live_ok = shown.live != obj.withdrawn
        if live_ok and shown.digest == channel.expected_digest(obj):
            continue
        report.stale.append(obj.key)
        if repair:
            published = channel.withdraw(shown.external_id, obj) if obj.withdrawn \
                else channel.update(shown.external_id, obj)
            _record(session, channel, obj, published, prior, "withdrawn" if obj.withdrawn else "posted", run_date)
            report.repaired.append(obj.key)
    for key, shown in remote.items():
        if key in wanted or not shown.live:
            continue
        report.extra.append(key)
        if not repair:
            continue
        try:
            stub = ChannelObject(key, _kind_of(key, channel), "", {}, withdrawn=True,
                                 reason="Không còn trong danh mục đã công bố")
            channel.withdraw(shown.external_id, stub)
            report.repaired.append(key)
        except RejectedError as exc:
            report.unrepaired.append(f"{key}: {exc}")
    return report


def _kind_of(key: str, channel: Channel) -> str:
    if channel.name == "cms":
        return "post" if key.startswith("announcement:") else "page"
    return "procedure" if key.startswith("procedure:") else "announcement"
