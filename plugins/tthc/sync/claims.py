"""One writer per channel object: a claim in the store before any write.

Before a try writes an object to a channel it claims ``(channel, object key, version)`` — the ledger
version it is about to store — by inserting a ``posting_claims`` row under that unique key, carrying the
try's identity (``holder``) and a lease. The claim is deleted in the same commit as the ledger row. So:

- a second try, or a zombie of an earlier one (a task process that outlived its Celery worker and
  still writes while Airflow retries the task elsewhere), cannot claim the same object: the insert
  hits the unique key, and the loser stops without writing (:class:`ClaimedError`, retried later);
- a claim whose lease has passed belongs to a try presumed dead (or whose process, on this host, is
  gone: :func:`tthc.core.identity.is_gone`): it may be taken over, atomically (compare-and-set on the
  old holder), and the new holder looks the object up on the channel before
  creating it (``publish._create_once``), so whatever the dead try wrote is adopted, not duplicated;
- a writer renews its lease (compare-and-set on its own name) right before every write and gives up
  when it has lost the claim (:class:`ClaimLost`). A lease is :data:`LEASE` long, far longer than one
  write can take (the channels' HTTP timeout is 30 s), so a try that renewed can finish its write
  before anyone may take the claim over: a zombie never writes after its claim was taken.

Leases are wall-clock by nature (a process's liveness), the one place the sync stage reads the clock;
what gets published is still decided by the run's window. The clock is injectable for tests.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tthc.core.identity import is_gone, process_identity
from tthc.db.models import PostingClaim
from tthc.sync.channels.base import ChannelError

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
NO_SYNC = {"synchronize_session": False}  # compare-and-set statements: the database decides, not the session


class ClaimedError(ChannelError):
    """Another live try holds the claim on this object: this try did not write it (retry later)."""


class ClaimLost(ChannelError):
    """This try's claim was taken over (its lease had passed): it stops writing."""


def lease_length() -> timedelta:
    """How long a claim protects its object without renewal (``TTHC_CLAIM_LEASE_SECONDS``, default 600)."""
    return timedelta(seconds=float(os.environ.get("TTHC_CLAIM_LEASE_SECONDS", "600")))


def utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    """SQLite gives naive datetimes back: every stored time is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def try_identity(try_name: str | None = None) -> str:
    """A claim holder's name: the Airflow try (``dag/run/task/try``) when known, then the host, process
    and a random part (:func:`tthc.core.identity.process_identity`), so two tries never share a name."""
    where = process_identity()
    return f"{try_name[:200]} @ {where}" if try_name else where


@dataclass
class Claim:
    session: Session
    id: int
    channel: str
    key: str
    version: int
    holder: str
    lease_until: datetime
    taken_over_from: str | None = None
    clock: Clock = utcnow

    def renew(self) -> None:
        """Extend the lease, if the claim is still this try's; else :class:`ClaimLost` (do not write)."""
        now = self.clock()
        until = now + lease_length()
        done = self.session.execute(update(PostingClaim).where(PostingClaim.id == self.id,
                                                               PostingClaim.holder == self.holder)
                                    .values(lease_until=until), execution_options=NO_SYNC).rowcount
        self.session.commit()
        if done != 1:
            raise ClaimLost(f"{self.channel} {self.key} v{self.version}: the claim of {self.holder} was taken "
                            "over by another try; this try stops writing")
        self.lease_until = until

    def settle(self) -> None:
        """Delete the claim in the caller's transaction (with the ledger row); :class:`ClaimLost` if it is
        no longer this try's."""
        done = self.session.execute(delete(PostingClaim).where(PostingClaim.id == self.id,
                                                               PostingClaim.holder == self.holder),
                                    execution_options=NO_SYNC).rowcount
        if done != 1:
            raise ClaimLost(f"{self.channel} {self.key} v{self.version}: the claim was taken over before the "
                            "ledger row was stored")

    def release(self) -> None:
        """Give the claim up without a ledger row (the write failed or never happened)."""
        try:
            self.session.rollback()
            self.session.execute(delete(PostingClaim).where(PostingClaim.id == self.id,
                                                            PostingClaim.holder == self.holder),
                                 execution_options=NO_SYNC)
            self.session.commit()
        except Exception:  # noqa: BLE001 - a claim that cannot be released expires with its lease
            log.exception("could not release the claim on %s %s", self.channel, self.key)
            self.session.rollback()


def claim(session: Session, channel: str, key: str, version: int, holder: str, *,
          clock: Clock = utcnow) -> Claim:
    """Claim ``(channel, key, version)`` for ``holder`` (committed), taking over an expired claim;
    :class:`ClaimedError` when a live try holds it."""
    for _ in range(3):  # the holder may release between our insert and our look: try again
        now = clock()
        row = PostingClaim(channel=channel, object_key=key, version=version, holder=holder, claimed_at=now,
                           lease_until=now + lease_length())
        session.add(row)
        try:
            session.commit()
            session.expunge(row)  # the claim is handled by id from here on (compare-and-set statements)
            return Claim(session, row.id, channel, key, version, holder, row.lease_until, clock=clock)
        except IntegrityError:
            session.rollback()
        held = session.scalars(select(PostingClaim).where(PostingClaim.channel == channel,
                                                          PostingClaim.object_key == key,
                                                          PostingClaim.version == version)).first()
        if held is None:
            continue
        session.refresh(held)
        session.expunge(held)
        gone = is_gone(held.holder)  # a process of this host that no longer exists: no need to wait
        if _aware(held.lease_until) > now and not gone:
            raise ClaimedError(f"{channel} {key} v{version}: claimed by another try ({held.holder}) until "
                               f"{_aware(held.lease_until):%Y-%m-%d %H:%M:%S} UTC; not written by this try")
        until = now + lease_length()
        old = held.holder
        same = [PostingClaim.id == held.id, PostingClaim.holder == old]
        if not gone:
            same.append(PostingClaim.lease_until < now)
        taken = session.execute(update(PostingClaim).where(*same)
                                .values(holder=holder, claimed_at=now, lease_until=until,
                                        taken_over_from=old[:255]), execution_options=NO_SYNC).rowcount
        session.commit()
        if taken != 1:
            raise ClaimedError(f"{channel} {key} v{version}: another try took the expired claim first")
        log.warning("%s %s v%s: took over the %s claim of %s (the object is looked up before any create)",
                    channel, key, version, "dead process's" if gone else "expired", old)
        return Claim(session, held.id, channel, key, version, holder, until, taken_over_from=old, clock=clock)
    raise ClaimedError(f"{channel} {key} v{version}: the claim kept changing hands; not written by this try")
