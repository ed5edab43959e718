"""One writer per channel object (issue 12, case 12), on SQLite and PostgreSQL.

Two tries of one sync task racing on a slow channel, a zombie try whose claim was taken over (before and
after its write), a dead try's stale claim, and reconciliation: it looks before it creates, reports two
remote objects carrying one key as drift and removes the extra copy. The fake channel behaves like
WordPress: it accepts a second create of the same key (a second page), so a missing claim shows as a
duplicate.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tthc.db.models import Posting, PostingClaim
from tthc.db.session import get_engine
from tthc.sync.channels.base import Channel, ChannelObject, Published, RemoteObject
from tthc.sync.claims import ClaimedError, ClaimLost, claim, lease_length
from tthc.sync.publish import reconcile, sync_channel

AS_OF = date(2026, 11, 26)


class SlowChannel(Channel):
    """An in-memory channel whose creates take ``delay`` seconds and that, like WordPress, happily holds
    two objects with one key. ``hooks[name]`` (optional) runs inside a call, e.g. to hold a try there."""

    name = "cms"
    label = "CMS (giả lập chậm)"

    def __init__(self, delay: float = 0.3) -> None:
        self.delay = delay
        self.lock = threading.Lock()
        self.objects: dict[int, dict] = {}
        self.calls: list[tuple[str, str]] = []
        self.next_id = 1
        self.hooks: dict[str, object] = {}

    def _hook(self, name: str) -> None:
        hook = self.hooks.get(name)
        if hook is not None:
            hook()

    def copies(self, key: str) -> list[int]:
        with self.lock:
            return [i for i, o in self.objects.items() if o["key"] == key and not o.get("trashed")]

    def find(self, obj: ChannelObject) -> Published | None:
        found = self.copies(obj.key)
        self._hook("find")  # a try may be held here after it looked (and saw nothing)
        return Published(str(found[0])) if found else None

    def create(self, obj: ChannelObject) -> Published:
        time.sleep(self.delay)
        with self.lock:
            new = self.next_id
            self.next_id += 1
            self.objects[new] = {"key": obj.key, "digest": obj.digest, "live": not obj.withdrawn}
            self.calls.append(("create", obj.key))
        return Published(str(new))

    def update(self, external_id: str, obj: ChannelObject) -> Published:
        with self.lock:
            self.objects[int(external_id)].update(digest=obj.digest, live=not obj.withdrawn)
            self.calls.append(("update", obj.key))
        return Published(external_id)

    def withdraw(self, external_id: str, obj: ChannelObject) -> Published:
        with self.lock:
            self.objects[int(external_id)]["live"] = False
            self.calls.append(("withdraw", obj.key))
        return Published(external_id)

    def remove_duplicate(self, external_id: str, obj: ChannelObject) -> None:
        with self.lock:
            self.objects[int(external_id)]["trashed"] = True
            self.calls.append(("trash", obj.key))

    def list_owned(self) -> list[RemoteObject]:
        with self.lock:
            return [RemoteObject(o["key"], str(i), o["live"], o["digest"]) for i, o in self.objects.items()
                    if not o.get("trashed")]

    def creates(self) -> int:
        return sum(1 for op, _ in self.calls if op == "create")


OBJECTS = [ChannelObject(f"procedure:1.00000{n}", "page", f"Thủ tục {n}", {"content": f"Nội dung {n}"})
           for n in range(1, 4)]


def _session(db_url: str) -> Session:
    return Session(get_engine(db_url), expire_on_commit=False)


def _ledger(db_url: str) -> list[tuple[str, int]]:
    with _session(db_url) as s:
        return sorted(s.execute(select(Posting.object_key, Posting.version)).tuples())


def _claims(db_url: str) -> int:
    with _session(db_url) as s:
        return s.scalar(select(func.count()).select_from(PostingClaim))


def _run(db_url: str, channel: Channel, objects=OBJECTS, **kw):
    with _session(db_url) as s:
        return sync_channel(s, channel, objects, run_date=AS_OF, **kw)


def test_two_tries_racing_write_each_object_once(db_url):
    channel = SlowChannel(delay=0.3)
    start = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def one_try(name: str) -> None:
        start.wait()
        try:
            outcomes[name] = _run(db_url, channel, holder=name)
        except Exception as exc:  # noqa: BLE001 - kept for the assertions
            outcomes[name] = exc

    threads = [threading.Thread(target=one_try, args=(f"try{n}",)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert channel.creates() == 3, channel.calls  # without claims both tries create: 6 pages, 3 of them "-2"
    assert all(len(channel.copies(o.key)) == 1 for o in OBJECTS)
    assert _ledger(db_url) == [(o.key, 1) for o in OBJECTS]
    losers = [o for o in outcomes.values() if isinstance(o, ClaimedError)]
    assert losers, outcomes  # at least one try met an object the other held, and said so
    assert all("claimed by another try" in str(o) for o in losers)
    assert _claims(db_url) == 0
    # Airflow retries the loser: everything is there, nothing is written
    before = list(channel.calls)
    again = _run(db_url, channel, holder="try3")
    assert again.unchanged == 3 and channel.calls == before


def test_a_live_claim_stops_a_second_try_without_writing(db_url):
    channel = SlowChannel(delay=0)
    with _session(db_url) as s:
        claim(s, "cms", OBJECTS[0].key, 1, "the first try, still running")
    with pytest.raises(ClaimedError, match="1 object.*claimed by another try") as info:
        _run(db_url, channel, holder="second")
    assert "the first try, still running" in str(info.value)
    assert channel.copies(OBJECTS[0].key) == [] and channel.creates() == 2  # the others were published
    assert _ledger(db_url) == [(o.key, 1) for o in OBJECTS[1:]]


def test_a_dead_tries_stale_claim_is_taken_over_after_looking_the_object_up(db_url):
    """The dead try created the object and died before its ledger row: the next try (after the lease)
    takes the claim over, finds the object by its key and adopts it."""
    channel = SlowChannel(delay=0)
    channel.create(OBJECTS[0])
    with _session(db_url) as s:
        claim(s, "cms", OBJECTS[0].key, 1, "dead try", clock=lambda: datetime.now(UTC) - 2 * lease_length())
    result = _run(db_url, channel, holder="next try")
    assert result.adopted == 1 and result.created == 2
    assert channel.creates() == 3 and len(channel.copies(OBJECTS[0].key)) == 1
    assert _ledger(db_url) == [(o.key, 1) for o in OBJECTS] and _claims(db_url) == 0


def _later() -> datetime:
    return datetime.now(UTC) + lease_length() + timedelta(seconds=5)


def test_zombie_that_looked_before_the_takeover_never_writes_after_it(db_url):
    """A zombie looked (nothing there), then stalled past its lease; a retry takes the claim over and
    creates the object. When the zombie wakes up it must not create a second copy."""
    channel = SlowChannel(delay=0)
    woke, taken = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def zombie_stalls() -> None:
        if threading.current_thread().name == "zombie":
            woke.set()
            taken.wait(20)

    channel.hooks["find"] = zombie_stalls

    def zombie() -> None:
        try:
            outcome["zombie"] = _run(db_url, channel, objects=OBJECTS[:1], holder="zombie")
        except Exception as exc:  # noqa: BLE001
            outcome["zombie"] = exc

    t = threading.Thread(target=zombie, name="zombie")
    t.start()
    assert woke.wait(20)
    retry = _run(db_url, channel, objects=OBJECTS[:1], holder="retry", clock=_later)  # the lease has passed
    taken.set()
    t.join(20)
    assert retry.created == 1
    assert isinstance(outcome["zombie"], ClaimLost), outcome
    assert channel.creates() == 1 and len(channel.copies(OBJECTS[0].key)) == 1
    assert _ledger(db_url) == [(OBJECTS[0].key, 1)] and _claims(db_url) == 0


def test_zombie_that_wrote_before_the_takeover_is_adopted_not_duplicated(db_url):
    """A zombie created the object and stalled before its ledger row; the retry takes the claim over,
    finds the object by its key and adopts it; the zombie's late ledger write is refused."""
    channel = SlowChannel(delay=0)
    wrote, taken = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def stall_after_write(obj, published) -> None:
        wrote.set()
        taken.wait(20)

    def zombie() -> None:
        try:
            outcome["zombie"] = _run(db_url, channel, objects=OBJECTS[:1], holder="zombie",
                                     on_written=stall_after_write)
        except Exception as exc:  # noqa: BLE001
            outcome["zombie"] = exc

    t = threading.Thread(target=zombie)
    t.start()
    assert wrote.wait(20)
    retry = _run(db_url, channel, objects=OBJECTS[:1], holder="retry", clock=_later)
    taken.set()
    t.join(20)
    assert retry.adopted == 1 and retry.created == 0
    assert isinstance(outcome["zombie"], ClaimLost), outcome
    assert channel.creates() == 1 and len(channel.copies(OBJECTS[0].key)) == 1
    assert _ledger(db_url) == [(OBJECTS[0].key, 1)] and _claims(db_url) == 0


def test_reconcile_removes_a_second_copy_of_one_key(db_url):
    channel = SlowChannel(delay=0)
    _run(db_url, channel)
    channel.create(OBJECTS[1])  # what a zombie left before claims existed: a second page with one key
    [kept, extra] = channel.copies(OBJECTS[1].key)
    with _session(db_url) as s:
        report = reconcile(s, channel, OBJECTS, run_date=AS_OF, repair=False)
        assert report.duplicates == [f"{OBJECTS[1].key}: {extra}"] and report.drift == 1
        fixed = reconcile(s, channel, OBJECTS, run_date=AS_OF)
        assert fixed.repaired == [f"{OBJECTS[1].key}: {extra}"]
        assert reconcile(s, channel, OBJECTS, run_date=AS_OF).drift == 0
    assert channel.copies(OBJECTS[1].key) == [kept]  # the one the ledger names stays
    assert channel.creates() == 4 and _claims(db_url) == 0


def test_reconcile_looks_before_it_creates_a_missing_object(db_url):
    """An object the listing does not show (its key field lost) but the key lookup finds is adopted and
    rewritten, not created a second time."""
    channel = SlowChannel(delay=0)
    _run(db_url, channel)
    hidden = channel.copies(OBJECTS[0].key)[0]
    channel.list_owned = lambda: [r for r in SlowChannel.list_owned(channel) if r.external_id != str(hidden)]
    with _session(db_url) as s:
        report = reconcile(s, channel, OBJECTS, run_date=AS_OF)
    assert report.missing == [OBJECTS[0].key] and report.repaired == [OBJECTS[0].key]
    assert channel.creates() == 3 and channel.copies(OBJECTS[0].key) == [hidden]
    assert [v for k, v in _ledger(db_url) if k == OBJECTS[0].key] == [1, 2]  # rewritten: a new version


def test_reconcile_leaves_an_object_another_try_holds(db_url):
    channel = SlowChannel(delay=0)
    _run(db_url, channel)
    channel.create(OBJECTS[2])
    with _session(db_url) as s:
        claim(s, "cms", OBJECTS[2].key, 2, "a sync try still running")
        report = reconcile(s, channel, OBJECTS, run_date=AS_OF)
    assert len(report.duplicates) == 1 and report.repaired == []
    assert "claimed by another try" in report.unrepaired[0]
    assert len(channel.copies(OBJECTS[2].key)) == 2  # untouched while the other try holds it


def test_reconcile_trashes_a_duplicate_cms_page_in_the_sandbox(db_url, sandbox):
    """On the WordPress-like sandbox: a second page with our key (slug ``-2``) is drift; repaired, it goes
    to the trash and the channel lists one copy."""
    from tthc.sync.channels.cms import CmsChannel

    login, password = sandbox.cms_auth()
    cms = CmsChannel(sandbox.url, password, login=login)
    objects = OBJECTS[:2]
    _run(db_url, cms, objects=objects)
    h = {"auth": sandbox.cms_auth()}
    body = {"title": "Bản sao", "content": "bản sao", "status": "publish", "slug": CmsChannel.slug(objects[0]),
            "meta": {"tthc_key": objects[0].key}}
    copy = requests.post(f"{sandbox.url}/wp-json/wp/v2/pages", json=body, **h, timeout=10).json()
    assert copy["slug"].endswith("-2")
    with _session(db_url) as s:
        report = reconcile(s, cms, objects, run_date=AS_OF)
        assert report.duplicates == [f"{objects[0].key}: {copy['id']}"]
        assert reconcile(s, cms, objects, run_date=AS_OF).drift == 0
    pages = requests.get(f"{sandbox.url}/wp-json/wp/v2/pages", params={"status": "any", "per_page": 100},
                         **h, timeout=10).json()
    assert sorted(p["meta"]["tthc_key"] for p in pages) == sorted(o.key for o in objects)
    trashed = requests.get(f"{sandbox.url}/wp-json/wp/v2/pages/{copy['id']}", params={"context": "edit"}, **h, timeout=10).json()
    assert trashed["status"] == "trash"


def test_a_claim_of_a_dead_process_of_this_host_is_taken_over_without_waiting(db_url):
    """A killed worker's task process (same machine) can no longer write: no need to wait for its lease."""
    import socket
    import subprocess
    import sys

    channel = SlowChannel(delay=0)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    with _session(db_url) as s:
        claim(s, "cms", OBJECTS[0].key, 1, f"tthc_sync/r/sync_cms/try1 @ {socket.gethostname()}:"
                                           f"{dead.stdout.strip()}:dead")
    assert _run(db_url, channel, holder="try2").created == 3
    assert _ledger(db_url) == [(o.key, 1) for o in OBJECTS] and _claims(db_url) == 0


def test_a_retry_waits_for_the_object_an_earlier_try_is_still_writing(db_url):
    """The zombie finishes its write and records it while the retry waits: the retry then finds it
    unchanged and succeeds, without writing it."""
    from tthc.sync.publish import _record

    channel = SlowChannel(delay=0)
    with _session(db_url) as s:
        held = claim(s, "cms", OBJECTS[0].key, 1, "zombie still writing")

    def zombie_finishes() -> None:
        time.sleep(1.0)
        with _session(db_url) as z:
            held.session = z
            _record(z, channel, OBJECTS[0], channel.create(OBJECTS[0]), None, "posted", AS_OF, held)

    t = threading.Thread(target=zombie_finishes)
    t.start()
    result = _run(db_url, channel, holder="retry", wait_for_claims=20)
    t.join(10)
    assert (result.created, result.unchanged, result.claimed) == (2, 1, [])
    assert channel.creates() == 3 and len(channel.copies(OBJECTS[0].key)) == 1
    assert _ledger(db_url) == [(o.key, 1) for o in OBJECTS] and _claims(db_url) == 0
