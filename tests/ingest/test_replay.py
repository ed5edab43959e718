"""sources.replay: parsing re-run offline from the stored snapshots (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select
from tthc.core.http import SnapshotRecorder, SourceError
from tthc.db.models import Decision, DecisionItem, DecisionSource, FetchLog, Flag, Watermark
from tthc.ingest.http_cache import source_session
from tthc.ingest.replay import replay_session
from tthc.ingest.runs import ingest_html_site, ingest_portal
from tthc.ingest.sources.html_listing import load_all
from tthc.ingest.sources.html_listing.client import HtmlListingClient
from tthc.ingest.sources.national_portal.client import HttpPortalClient

RUN = datetime(2026, 11, 26, 1, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
END = date(2026, 11, 26)


def _ingest(session, http, base_url, dept, refresh_from=None):
    rec = SnapshotRecorder(fetched_at=RUN)
    portal = ingest_portal(session, HttpPortalClient(base_url, session=http, recorder=rec), rec, dept,
                           window_end=END, run_time=RUN, refresh_from=refresh_from)
    rec2 = SnapshotRecorder(fetched_at=RUN)
    site = ingest_html_site(session, HtmlListingClient(load_all()["bo_khcn_sandbox"], base_url=base_url,
                                                       session=http, recorder=rec2),
                            rec2, dept, window_end=END, run_time=RUN, refresh_from=refresh_from)
    session.commit()
    return portal, site


def _state(session):
    return sorted(
        (d.so_hieu, d.signed_date, d.effective_date,
         tuple(sorted((i.change_type, i.code or "", i.name) for i in d.items)))
        for d in session.scalars(select(Decision))
    )


def _wipe_parsed(session):
    for model in (Flag, DecisionItem, DecisionSource, Decision, Watermark):
        session.execute(delete(model))
    session.commit()


def test_replay_rebuilds_the_same_data_without_network(seeded, sandbox, dept):
    dept = replace(dept, ingest_start=date(2026, 6, 1))
    _ingest(seeded, source_session(seeded, retries=0), sandbox.url, dept)
    live = _state(seeded)
    assert len(live) >= 13
    assert seeded.scalar(select(func.count()).select_from(FetchLog)) > 70

    _wipe_parsed(seeded)
    url = sandbox.url
    sandbox.stop()  # the network is gone: replay must not need it
    _ingest(seeded, replay_session(seeded), url, dept, refresh_from=dept.ingest_start)
    assert _state(seeded) == live


def test_replay_of_a_request_never_made_fails_clearly(seeded, sandbox, dept):
    client = HttpPortalClient(sandbox.url, session=replay_session(seeded), recorder=SnapshotRecorder(fetched_at=RUN))
    with pytest.raises(SourceError, match="replay: no stored answer"):
        client.list_decisions(1)
