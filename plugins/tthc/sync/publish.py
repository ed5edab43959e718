"""Publish to one channel exactly once, and reconcile what it shows with what it should.

The postings ledger has one row per (channel, object, version): version 1 is the first publication,
each change of content adds the next version (updated in place on the channel, same external id), and
a withdrawal adds a version with status ``withdrawn``. Its ``content_hash`` is the object's digest:
unchanged content is never re-sent.

Exactly once: one writer per object — before writing, the try claims (channel, object, version) in
the store (:mod:`tthc.sync.claims`); a try that finds the object claimed by another live try stops
without writing it and fails after the other objects (retried later). Before creating, the channel is
asked for the object's idempotency key (:meth:`Channel.find`); a create that failed on our side
(timeout, 500 after the server committed) is looked up again at once. Each object is committed with its
ledger row (and its claim released) before the next one, so a crash loses at most the ledger row of
the object in flight, and the re-run adopts it instead of duplicating.

``dry_run``: the plan (create / update / withdraw / unchanged per object) from the ledger alone; no
request is sent to the channel.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tthc.db.models import Posting
from tthc.sync.channels.base import (
    Channel,
    ChannelError,
    ChannelObject,
    Published,
    RejectedError,
    RemoteObject,
)
from tthc.sync.claims import Claim, ClaimedError, ClaimLost, Clock, claim, try_identity, utcnow

log = logging.getLogger(__name__)

OnWritten = Callable[[ChannelObject, Published], None]
Guard = Callable[[], None]


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
    claimed: list[str] = field(default_factory=list)  # held by another live try: not written by this one
    planned: list[dict[str, str]] = field(default_factory=list)  # dry run: what would be done
    urls: list[str] = field(default_factory=list)


def latest_posting(session: Session, channel: str, key: str) -> Posting | None:
    return session.scalars(select(Posting).where(Posting.channel == channel, Posting.object_key == key)
                           .order_by(Posting.version.desc())).first()


def _record(session: Session, channel: Channel, obj: ChannelObject, published: Published, prior: Posting | None,
            status: str, run_date: date, held: Claim | None = None) -> None:
    """Store the ledger row and release the claim in one commit (a later failure does not undo it)."""
    version = held.version if held is not None else (prior.version + 1) if prior else 1
    session.add(Posting(channel=channel.name, object_key=obj.key, version=version, content_hash=obj.digest,
                        external_id=published.external_id, url=published.url, status=status, posted_for=run_date))
    try:
        if held is not None:
            held.settle()
        session.commit()
    except (ClaimLost, IntegrityError) as exc:
        session.rollback()
        log.error("%s %s: written, but the claim was taken over; the other try adopts it: %s",
                  channel.name, obj.key, exc)
        raise ClaimLost(f"{channel.label} {obj.key}: written, but the claim was taken over by another try") \
            from exc


def _create_once(channel: Channel, obj: ChannelObject, guard: Guard | None = None) -> tuple[Published, bool]:
    """Create, unless the channel already holds it; a create whose answer was lost is looked up again.
    ``guard`` is called before the create (the claim's renewal: it raises when the claim was lost)."""
    found = channel.find(obj)
    if found is not None:
        return found, True
    if guard is not None:
        guard()
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


def _claim_next(session: Session, channel: Channel, obj: ChannelObject, holder: str,
                clock: Clock) -> tuple[Claim | None, Posting | None, str]:
    """Claim the object's next ledger version; when another try stored that version meanwhile, look
    again (it may now be unchanged). Returns (claim or None when unchanged, prior, action)."""
    prior = latest_posting(session, channel.name, obj.key)
    action = plan_action(prior, obj)
    for _ in range(3):
        if action == "unchanged":
            return None, prior, action
        version = (prior.version + 1) if prior else 1
        held = claim(session, channel.name, obj.key, version, holder, clock=clock)
        fresh = latest_posting(session, channel.name, obj.key)
        if (fresh.version if fresh else 0) < version:
            return held, prior, action
        held.release()  # written by another try between our look and our claim
        prior, action = fresh, plan_action(fresh, obj)
    raise ClaimedError(f"{channel.name} {obj.key}: the ledger kept moving under this try")


def sync_channel(session: Session, channel: Channel, objects: list[ChannelObject], *, run_date: date,
                 dry_run: bool = False, on_written: OnWritten | None = None, holder: str | None = None,
                 clock: Clock = utcnow, wait_for_claims: float = 0.0) -> SyncResult:
    """Make ``channel`` show ``objects`` (see the module docstring). ``holder`` names this try in its
    claims (default: host, process and a random part). ``wait_for_claims``: seconds to wait, after the
    other objects, for the objects another try holds (its write finishes, or its claim expires) before
    giving up on them. ``on_written`` is called after each successful write and before its ledger row
    is stored (tests raise there to simulate a crash)."""
    result = SyncResult(channel.name, dry_run=dry_run)
    holder = holder or try_identity()
    if dry_run:
        for obj in objects:
            action = plan_action(latest_posting(session, channel.name, obj.key), obj)
            result.planned.append({"action": action, "key": obj.key, "title": obj.title})
            if action == "unchanged":
                result.unchanged += 1
        return result
    held_elsewhere = [o for o in objects if not _sync_one(session, channel, o, holder, clock, result, run_date,
                                                          on_written)]
    deadline = time.monotonic() + wait_for_claims
    while held_elsewhere and time.monotonic() < deadline:
        time.sleep(min(2.0, max(deadline - time.monotonic(), 0)))
        result.claimed.clear()
        held_elsewhere = [o for o in held_elsewhere if not _sync_one(session, channel, o, holder, clock, result,
                                                                     run_date, on_written)]
    if result.claimed:
        raise ClaimedError(f"{channel.label}: {len(result.claimed)} object(s) claimed by another try, not "
                           f"written by this one (retried later); the others were published: "
                           + "; ".join(result.claimed + result.rejected))
    if result.rejected:
        raise RejectedError(f"{channel.label}: {len(result.rejected)} object(s) refused, the others were "
                            f"published: " + "; ".join(result.rejected))
    return result


def _sync_one(session: Session, channel: Channel, obj: ChannelObject, holder: str, clock: Clock,
              result: SyncResult, run_date: date, on_written: OnWritten | None) -> bool:
    """One object: claim, write, record. False when another live try holds it (nothing written)."""
    try:
        held, prior, action = _claim_next(session, channel, obj, holder, clock)
    except ClaimedError as exc:  # another live try writes it: not this one
        log.warning("%s", exc)
        result.claimed.append(str(exc))
        return False
    if held is None:
        result.unchanged += 1
        return True
    try:
        _apply(session, channel, obj, prior, action, result, run_date, on_written, held)
    except RejectedError as exc:  # this object's data: report it, go on with the others
        log.error("%s refused %s: %s", channel.name, obj.key, exc)
        held.release()
        result.rejected.append(f"{obj.key}: {exc}")
    except ClaimLost:
        raise  # this try is a zombie: stop writing at once
    except BaseException:
        held.release()  # alive and stopping: the next try may claim it at once
        raise
    return True


def _apply(session: Session, channel: Channel, obj: ChannelObject, prior: Posting | None, action: str,
           result: SyncResult, run_date: date, on_written: OnWritten | None, held: Claim) -> None:
    if action in ("create", "create_withdrawn"):
        published, adopted = _create_once(channel, obj, held.renew)
        if adopted:
            held.renew()
            published = channel.withdraw(published.external_id, obj) if obj.withdrawn \
                else channel.update(published.external_id, obj)
            result.adopted += 1
        elif obj.withdrawn:
            result.withdrawn += 1
        else:
            result.created += 1
    elif action == "withdraw":
        held.renew()
        published = channel.withdraw(prior.external_id, obj)
        result.withdrawn += 1
    else:
        held.renew()
        published = channel.update(prior.external_id, obj)
        result.updated += 1
    if on_written is not None:
        on_written(obj, published)
    _record(session, channel, obj, published, prior, "withdrawn" if obj.withdrawn else "posted", run_date, held)
    if published.url:
        result.urls.append(published.url)


# -- reconciliation ----------------------------------------------------------------------------------


@dataclass
class DriftReport:
    channel: str
    missing: list[str] = field(default_factory=list)  # should be shown, is not
    stale: list[str] = field(default_factory=list)  # shown with other content (or live while withdrawn)
    extra: list[str] = field(default_factory=list)  # ours, shown, but should not be
    duplicates: list[str] = field(default_factory=list)  # "key: external id" of each extra copy of one key
    repaired: list[str] = field(default_factory=list)
    unrepaired: list[str] = field(default_factory=list)  # with the reason

    @property
    def drift(self) -> int:
        return len(self.missing) + len(self.stale) + len(self.extra) + len(self.duplicates)


def _id_order(remote: RemoteObject) -> tuple[int, str]:
    ext = remote.external_id
    return (int(ext), ext) if ext.isdigit() else (1 << 62, ext)


def _keep(copies: list[RemoteObject], prior: Posting | None) -> RemoteObject:
    """Of several copies of one key, the one the ledger names, else the oldest (the first created)."""
    named = [c for c in copies if prior is not None and c.external_id == prior.external_id]
    return named[0] if named else min(copies, key=_id_order)


class _Repairs:
    """Reconcile's writes on one key go through a claim, like the sync's (a zombie may still be writing)."""

    def __init__(self, session: Session, channel: Channel, report: DriftReport, holder: str, clock: Clock):
        self.session, self.channel, self.report, self.holder, self.clock = session, channel, report, holder, clock

    def claim(self, key: str, prior: Posting | None) -> Claim | None:
        try:
            return claim(self.session, self.channel.name, key, (prior.version + 1) if prior else 1, self.holder,
                         clock=self.clock)
        except ClaimedError as exc:
            self.report.unrepaired.append(f"{key}: {exc}")
            return None


def reconcile(session: Session, channel: Channel, objects: list[ChannelObject], *, run_date: date,
              repair: bool = True, holder: str | None = None, clock: Clock = utcnow) -> DriftReport:
    """Read back what ``channel`` shows, compare it with ``objects`` and (``repair``) fix what we own:
    a missing object is looked up by its key before it is created (adopted if it is there after all);
    two remote objects carrying one key are drift, the extra copies removed (unpublished); every write
    is claimed like the sync's."""
    report = DriftReport(channel.name)
    fix = _Repairs(session, channel, report, holder or try_identity(), clock)
    remote: dict[str, list[RemoteObject]] = defaultdict(list)
    for r in channel.list_owned():
        remote[r.key].append(r)
    wanted = {o.key: o for o in objects}
    for obj in objects:
        prior = latest_posting(session, channel.name, obj.key)
        copies = remote.get(obj.key, [])
        shown = _keep(copies, prior) if copies else None
        extras = [c for c in copies if c is not shown]
        report.duplicates += [f"{obj.key}: {c.external_id}" for c in extras]
        live_ok = shown is not None and shown.live != obj.withdrawn
        fresh = live_ok and shown.digest == channel.expected_digest(obj)
        if shown is None and not obj.withdrawn:
            report.missing.append(obj.key)
        elif shown is not None and not fresh:
            report.stale.append(obj.key)
        if not repair or (fresh and not extras) or (shown is None and obj.withdrawn):
            continue
        held = fix.claim(obj.key, prior)
        if held is None:
            continue
        try:
            _repair_one(session, channel, obj, prior, shown, extras, fresh, held, run_date, report)
        except RejectedError as exc:
            held.release()
            report.unrepaired.append(f"{obj.key}: {exc}")
        except ClaimLost:
            raise
        except BaseException:
            held.release()
            raise
    for key, copies in remote.items():
        if key in wanted:
            continue
        for shown in copies:
            if not shown.live:
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


def _repair_one(session: Session, channel: Channel, obj: ChannelObject, prior: Posting | None,
                shown: RemoteObject | None, extras: list[RemoteObject], fresh: bool, held: Claim, run_date: date,
                report: DriftReport) -> None:
    for extra in extras:  # a second copy of one key (a zombie's create, a hand-made copy): unpublish it
        held.renew()
        channel.remove_duplicate(extra.external_id, obj)
        report.repaired.append(f"{obj.key}: {extra.external_id}")
    if fresh:
        held.release()
        return
    if shown is None:  # missing from the listing: look it up by key before creating
        published, adopted = _create_once(channel, obj, held.renew)
        if adopted:
            held.renew()
            published = channel.withdraw(published.external_id, obj) if obj.withdrawn \
                else channel.update(published.external_id, obj)
    else:
        held.renew()
        published = channel.withdraw(shown.external_id, obj) if obj.withdrawn \
            else channel.update(shown.external_id, obj)
    _record(session, channel, obj, published, prior, "withdrawn" if obj.withdrawn else "posted", run_date, held)
    report.repaired.append(obj.key)


def _kind_of(key: str, channel: Channel) -> str:
    if channel.name == "cms":
        return "post" if key.startswith("announcement:") else "page"
    return "procedure" if key.startswith("procedure:") else "announcement"
