"""Ingest from the sandboxed national portal and ministry website into the catalogue database
(SQLite and PostgreSQL): what is stored, incrementality, watermarks, snapshots, failure handling."""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import func, select
from support.sandbox_yaml import sandbox_yaml
from tthc.core.http import SnapshotRecorder, SourceError, make_session
from tthc.core.text import match_key
from tthc.db.models import Decision, DecisionItem, DecisionSource, RawSnapshot
from tthc.ingest.http_cache import source_session
from tthc.ingest.runs import get_watermark, ingest_html_site, ingest_portal
from tthc.ingest.sources.html_listing import load_all
from tthc.ingest.sources.html_listing.client import HtmlListingClient
from tthc.ingest.sources.national_portal import settings as portal_settings
from tthc.ingest.sources.national_portal.client import HttpPortalClient
from tthc.ingest.sources.national_portal.settings import SOURCE_NAME as PORTAL_SOURCE
from tthc_dev.sandbox import DATA_DIR

DATA = DATA_DIR
MINISTRY_SOURCE = "bo_khcn_sandbox"  # sources/html_listing/sites/bo_khcn_sandbox.yaml
RUN_TIME = datetime(2026, 11, 26, 1, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
WINDOW_1 = date(2026, 11, 26)
WINDOW_2 = date(2026, 12, 1)
LIST_STAT = f"POST {portal_settings.REST_PATH}:{portal_settings.SERVICE_LIST}"

pytestmark = pytest.mark.usefixtures("seeded")


# ------------------------------------------------------------------ expectations from the demo data


def _demo() -> list[dict]:
    return yaml.safe_load((DATA / "decisions.yaml").read_text(encoding="utf-8"))


def _procedures() -> dict[str, dict]:
    return {str(p["code"]): p for p in sandbox_yaml("procedures.yaml")}


def _d(value: str) -> date:
    return date.fromisoformat(value)


def _watched(dept) -> set[str]:
    return {match_key(m) for m in dept.ministries}


def _portal_expected(dept, window_end: date, after: date | None = None) -> list[dict]:
    """Watched decisions published before window_end (and after ``after``, the previous window)."""
    return [d for d in _demo() if match_key(d["agency"]) in _watched(dept)
            and _d(d["published"]) < window_end and (after is None or _d(d["published"]) >= after)]


def _portal_items(decision: dict) -> set[tuple[str, str]]:
    """(name, change type) as the portal groups them: a replacement is a new item plus the old one rescinded."""
    procedures = _procedures()
    out = set()
    for i in decision["items"]:
        if i["change"] in ("new", "replaced"):
            out.add((i["name"], "new"))
        elif i["change"] == "amended":
            out.add((i["name"], "amended"))
        elif i["change"] == "abolished":
            out.add((i["name"], "abolished"))
        if i["change"] == "replaced" and i.get("replaces"):
            proc = procedures.get(i["replaces"])
            out.add((proc["name"] if proc else f"Thủ tục {i['replaces']}", "abolished"))
    return out


# ------------------------------------------------------------------ running the ingest


def _run_portal(session, sandbox, dept, window_end: date, *, commit: bool = True, client=None, recorder=None):
    recorder = recorder or SnapshotRecorder(fetched_at=RUN_TIME)
    client = client or HttpPortalClient(sandbox.url, session=source_session(session, retries=0), recorder=recorder)
    result = ingest_portal(session, client, recorder, dept, window_end=window_end, run_time=RUN_TIME)
    if commit:
        session.commit()
    return result, recorder


def _run_ministry(session, sandbox, dept, window_end: date):
    recorder = SnapshotRecorder(fetched_at=RUN_TIME)
    client = HtmlListingClient(load_all()[MINISTRY_SOURCE], base_url=sandbox.url,
                               session=source_session(session, retries=0), recorder=recorder)
    result = ingest_html_site(session, client, recorder, dept, window_end=window_end, run_time=RUN_TIME)
    session.commit()
    return result, recorder


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def _counts(session) -> dict[str, int]:
    return {m.__name__: _count(session, m) for m in (Decision, DecisionItem, DecisionSource, RawSnapshot)}


def _decisions(session) -> dict[str, Decision]:
    return {d.so_hieu: d for d in session.scalars(select(Decision))}


# ------------------------------------------------------------------ national portal


def test_portal_first_run_stores_watched_decisions_in_window(session, sandbox, dept) -> None:
    expected = _portal_expected(dept, WINDOW_1)
    before_window = [d for d in _demo() if _d(d["published"]) < WINDOW_1]
    unwatched = [d for d in before_window if match_key(d["agency"]) not in _watched(dept)]
    later = [d for d in _demo() if _d(d["published"]) >= WINDOW_1]
    assert unwatched and len(later) == 2  # the demo data has the cases this test is about

    result, _ = _run_portal(session, sandbox, dept, WINDOW_1)

    stored = _decisions(session)
    assert set(stored) == {d["so_hieu"] for d in expected}
    assert not set(stored) & {d["so_hieu"] for d in unwatched + later}
    assert result.decisions_new == len(expected)
    assert sorted(result.so_hieu) == sorted(d["so_hieu"] for d in expected)
    assert result.decisions_seen == len(before_window)
    assert result.skipped_agency == len(unwatched)
    assert result.watermark_before is None

    for d in expected:
        row = stored[d["so_hieu"]]
        assert row.agency_name == d["agency"]
        assert row.trich_yeu == d["trich_yeu"]
        assert row.published_date == _d(d["published"])
        assert row.signed_date == _d(d["signed"])  # from the decision's page
        assert row.effective_date is None  # only the ministry site gives it
        assert row.agency_portal_id == d["agency_portal_id"]
        assert row.field_keys.split(",") == d["fields"]  # portal field ids mapped to the catalogue's keys
        assert {(i.name, i.change_type) for i in row.items} == _portal_items(d)
        assert all(i.external_id for i in row.items)
        if len(d["fields"]) == 1:
            assert {i.field_key for i in row.items} == {d["fields"][0]}
        assert [s.source for s in row.sources] == [PORTAL_SOURCE]
        assert row.sources[0].external_id == d["portal_id"]
        assert row.sources[0].url.endswith(f"{portal_settings.DETAIL_PATH}?ma_quyet_dinh={d['portal_id']}")
    assert result.items == sum(len(_portal_items(d)) for d in expected)


def test_portal_first_run_sets_watermark(session, sandbox, dept) -> None:
    result, _ = _run_portal(session, sandbox, dept, WINDOW_1)
    newest = max((d for d in _demo() if _d(d["published"]) < WINDOW_1),
                 key=lambda d: (_d(d["published"]), int(d["portal_id"])))
    expected = f"{newest['published']}|{newest['portal_id']}"
    assert result.watermark_after == expected
    assert get_watermark(session, PORTAL_SOURCE) == expected


def test_portal_stores_snapshots(session, sandbox, dept) -> None:
    result, recorder = _run_portal(session, sandbox, dept, WINDOW_1)
    snapshots = session.scalars(select(RawSnapshot)).all()
    assert len(snapshots) == len({s.content_hash for s in recorder.snapshots}) > 0
    # every answer fetched was stored: the list, and per stored decision page + fields + 3 groups
    assert len(recorder.snapshots) == result.requests == 1 + result.decisions_new * (2 + len(portal_settings.SERVICE_ITEMS))
    stored_hashes = {s.content_hash for s in snapshots}
    assert stored_hashes == {s.content_hash for s in recorder.snapshots}
    by_id = {s.id: s for s in snapshots}
    for d in _portal_expected(dept, WINDOW_1):
        decision = _decisions(session)[d["so_hieu"]]
        assert decision.snapshot_id is not None
        snap = by_id[decision.snapshot_id]
        assert snap.url == decision.sources[0].url  # the decision's own page
        assert snap.content_type.startswith("text/html")
        assert d["so_hieu"].encode() in snap.content
    list_snap = next(s for s in snapshots if s.request and portal_settings.SERVICE_LIST in s.request)
    assert list_snap.url.endswith(portal_settings.REST_PATH)


def test_portal_second_identical_run_makes_one_request_and_creates_nothing(session, sandbox, dept) -> None:
    first, _ = _run_portal(session, sandbox, dept, WINDOW_1)
    counts = _counts(session)
    stats = sandbox.stats()

    second, _ = _run_portal(session, sandbox, dept, WINDOW_1)

    assert second.requests == 1
    after = sandbox.stats()
    assert after[LIST_STAT] == stats[LIST_STAT] + 1
    assert sum(after.values()) == sum(stats.values()) + 1
    assert _counts(session) == counts
    assert second.decisions_new == second.decisions_seen == second.items == 0
    assert second.so_hieu == []
    assert second.watermark_before == second.watermark_after == first.watermark_after
    assert get_watermark(session, PORTAL_SOURCE) == first.watermark_after


def test_portal_later_run_picks_up_only_later_decisions(session, sandbox, dept) -> None:
    _run_portal(session, sandbox, dept, WINDOW_1)
    counts = _counts(session)
    later = _portal_expected(dept, WINDOW_2, after=WINDOW_1)
    assert len(later) == 2

    result, _ = _run_portal(session, sandbox, dept, WINDOW_2)

    assert sorted(result.so_hieu) == sorted(d["so_hieu"] for d in later)
    assert result.decisions_new == result.decisions_seen == 2
    assert result.skipped_agency == 0
    assert result.requests == 1 + 2 * (2 + len(portal_settings.SERVICE_ITEMS))
    assert _counts(session)["Decision"] == counts["Decision"] + 2
    assert set(_decisions(session)) == {d["so_hieu"] for d in _portal_expected(dept, WINDOW_2)}
    newest = max(later, key=lambda d: (_d(d["published"]), int(d["portal_id"])))
    assert get_watermark(session, PORTAL_SOURCE) == f"{newest['published']}|{newest['portal_id']}"
    for d in later:
        assert {(i.name, i.change_type) for i in _decisions(session)[d["so_hieu"]].items} == _portal_items(d)


def test_portal_nfd_decision_stored_nfc(session, sandbox, dept) -> None:
    nfd = next(d for d in _portal_expected(dept, WINDOW_1) if d.get("nfd"))
    # the sandbox really serves it decomposed
    raw = HttpPortalClient(sandbox.url, session=make_session(retries=0)).call(
        portal_settings.SERVICE_LIST, type="ref", recordPerPage=50, pageIndex=1, keyword="",
        agency_id="-1", field_id="-1", publishing_date="")
    served = next(r for r in raw if r["ID"] == nfd["portal_id"])
    assert not unicodedata.is_normalized("NFC", served["NAME"])

    _run_portal(session, sandbox, dept, WINDOW_1)

    decision = _decisions(session)[nfd["so_hieu"]]
    for text in [decision.so_hieu, decision.so_hieu_key, decision.trich_yeu, decision.agency_name,
                 *(i.name for i in decision.items), *(i.name_key for i in decision.items)]:
        assert unicodedata.is_normalized("NFC", text), text
    assert decision.trich_yeu == nfd["trich_yeu"]
    assert {i.name for i in decision.items} == {n for n, _ in _portal_items(nfd)}


def test_portal_stray_dot_removed(session, sandbox, dept) -> None:
    rows = HttpPortalClient(sandbox.url, session=make_session(retries=0)).list_decisions(1)
    watched_ids = {d["portal_id"]: d for d in _portal_expected(dept, WINDOW_1)}
    dotted = [r for r in rows if r.so_hieu.endswith(".") and r.id in watched_ids]
    assert dotted, "some watched decision in the window is served with a stray dot"

    _run_portal(session, sandbox, dept, WINDOW_1)

    stored = _decisions(session)
    for r in dotted:
        clean = watched_ids[r.id]["so_hieu"]
        assert r.so_hieu == clean + "."
        assert clean in stored
        assert stored[clean].so_hieu == stored[clean].so_hieu_key == clean
    assert not any(s.endswith(".") for s in stored)


def test_portal_failure_leaves_watermark_unchanged(session, sandbox, dept) -> None:
    first_window = date(2026, 10, 1)
    first, _ = _run_portal(session, sandbox, dept, first_window)
    assert first.decisions_new > 0
    mark = get_watermark(session, PORTAL_SOURCE)
    counts = _counts(session)
    remaining = _portal_expected(dept, WINDOW_1, after=first_window)
    assert len(remaining) >= 3

    recorder = SnapshotRecorder(fetched_at=RUN_TIME)
    client = HttpPortalClient(sandbox.url, session=make_session(retries=0), recorder=recorder)
    real_items = client.decision_items
    calls: list[str] = []

    def failing_items(dp_id: str):
        calls.append(dp_id)
        if len(calls) == 3:
            raise SourceError("national portal: connection reset (simulated)")
        return real_items(dp_id)

    client.decision_items = failing_items  # type: ignore[method-assign]
    with pytest.raises(SourceError, match="simulated"):
        ingest_portal(session, client, recorder, dept, window_end=WINDOW_1, run_time=RUN_TIME)
    session.rollback()
    assert len(calls) == 3

    assert get_watermark(session, PORTAL_SOURCE) == mark
    assert _counts(session) == counts

    result, _ = _run_portal(session, sandbox, dept, WINDOW_1)
    assert result.watermark_before == mark
    assert sorted(result.so_hieu) == sorted(d["so_hieu"] for d in remaining)
    stored = _decisions(session)
    assert set(stored) == {d["so_hieu"] for d in _portal_expected(dept, WINDOW_1)}
    for d in remaining:
        assert {(i.name, i.change_type) for i in stored[d["so_hieu"]].items} == _portal_items(d)
    newest = max(remaining, key=lambda d: (_d(d["published"]), int(d["portal_id"])))
    assert get_watermark(session, PORTAL_SOURCE) == f"{newest['published']}|{newest['portal_id']}"


def test_portal_failure_on_first_run_inside_savepoint(session, sandbox, dept) -> None:
    """No watermark yet: a failed run (rolled back to a savepoint) leaves none; the retry stores everything."""
    recorder = SnapshotRecorder(fetched_at=RUN_TIME)
    client = HttpPortalClient(sandbox.url, session=make_session(retries=0), recorder=recorder)
    real_page = client.decision_page
    calls: list[str] = []

    def failing_page(dp_id: str):
        calls.append(dp_id)
        if len(calls) == 3:
            raise SourceError("national portal decision page: HTTP 502 (simulated)")
        return real_page(dp_id)

    client.decision_page = failing_page  # type: ignore[method-assign]
    with pytest.raises(SourceError), session.begin_nested():
        ingest_portal(session, client, recorder, dept, window_end=WINDOW_1, run_time=RUN_TIME)
    assert get_watermark(session, PORTAL_SOURCE) is None
    assert _count(session, Decision) == 0

    result, _ = _run_portal(session, sandbox, dept, WINDOW_1)
    assert set(_decisions(session)) == {d["so_hieu"] for d in _portal_expected(dept, WINDOW_1)}
    assert result.watermark_after == get_watermark(session, PORTAL_SOURCE) is not None


# ------------------------------------------------------------------ ministry website


def _ministry_expected(window_end: date) -> list[dict]:
    agency = "Bộ Khoa học và Công nghệ"
    return [d for d in _demo() if d["agency"] == agency and _d(d["signed"]) < window_end]


def test_ministry_site_enriches_portal_decisions(session, sandbox, dept) -> None:
    portal_expected = {d["so_hieu"] for d in _portal_expected(dept, WINDOW_1)}
    _run_portal(session, sandbox, dept, WINDOW_1)
    portal_items = {so: {i.id for i in d.items} for so, d in _decisions(session).items()}

    result, recorder = _run_ministry(session, sandbox, dept, WINDOW_1)

    ministry_expected = _ministry_expected(WINDOW_1)
    ministry_so_hieu = {d["so_hieu"] for d in ministry_expected}
    stored = _decisions(session)
    # one Decision row per decision, whichever source saw it
    assert set(stored) == portal_expected | ministry_so_hieu
    assert _count(session, Decision) == len(portal_expected | ministry_so_hieu)
    assert result.decisions_seen == len(ministry_expected)
    assert sorted(result.so_hieu) == sorted(ministry_so_hieu - portal_expected)
    assert result.decisions_new == len(ministry_so_hieu - portal_expected)

    for d in ministry_expected:
        decision = stored[d["so_hieu"]]
        sources = sorted(s.source for s in decision.sources)
        if d["so_hieu"] in portal_expected:
            assert sources == sorted([PORTAL_SOURCE, MINISTRY_SOURCE])
            # the portal's items were enriched, not duplicated
            assert {i.id for i in decision.items} == portal_items[d["so_hieu"]]
            assert decision.published_date == _d(d["published"])
        else:
            assert sources == [MINISTRY_SOURCE]
        assert decision.effective_date == _d(d["effective"])
        assert decision.signed_date == _d(d["signed"])
        assert decision.snapshot_id is not None
        by_key = {i.name_key: i for i in decision.items}
        for raw in d["items"]:
            item = by_key[match_key(raw["name"])]
            assert item.change_type == raw["change"]  # "replaced" wins over the portal's "new"
            assert item.code == raw["code"]
            assert item.levels.split(",") == raw["levels"]
            assert item.replaces_code == raw["replaces"]


def test_ministry_site_source_rows_and_watermark(session, sandbox, dept) -> None:
    _run_portal(session, sandbox, dept, WINDOW_1)
    result, _ = _run_ministry(session, sandbox, dept, WINDOW_1)
    both = {d["so_hieu"] for d in _portal_expected(dept, WINDOW_1)} & {d["so_hieu"] for d in _ministry_expected(WINDOW_1)}
    rows = session.execute(
        select(Decision.so_hieu, func.count(DecisionSource.id)).join(DecisionSource).group_by(Decision.so_hieu)
    ).all()
    per_decision = dict(rows)
    assert {so for so, n in per_decision.items() if n == 2} == both
    assert max(per_decision.values()) == 2
    newest_signed = max(_d(d["signed"]) for d in _ministry_expected(WINDOW_1))
    assert result.watermark_after == get_watermark(session, MINISTRY_SOURCE) == newest_signed.isoformat()

    # a second identical run re-reads the listing only and stores nothing new
    counts = _counts(session)
    again, _ = _run_ministry(session, sandbox, dept, WINDOW_1)
    assert again.decisions_seen == again.decisions_new == 0
    assert _counts(session) == counts
    assert get_watermark(session, MINISTRY_SOURCE) == newest_signed.isoformat()


def test_ministry_site_first_then_portal(session, sandbox, dept) -> None:
    """Order does not matter: the portal finds the decisions the ministry site created."""
    _run_ministry(session, sandbox, dept, WINDOW_1)
    n_ministry = _count(session, Decision)
    result, _ = _run_portal(session, sandbox, dept, WINDOW_1)
    portal_so_hieu = {d["so_hieu"] for d in _portal_expected(dept, WINDOW_1)}
    ministry_so_hieu = {d["so_hieu"] for d in _ministry_expected(WINDOW_1)}
    assert _count(session, Decision) == n_ministry + len(portal_so_hieu - ministry_so_hieu)
    stored = _decisions(session)
    for d in _ministry_expected(WINDOW_1):
        if d["so_hieu"] not in portal_so_hieu:
            continue
        decision = stored[d["so_hieu"]]
        assert decision.effective_date == _d(d["effective"])
        assert decision.published_date == _d(d["published"])
        by_key = {i.name_key: i for i in decision.items}
        for raw in d["items"]:
            item = by_key[match_key(raw["name"])]
            assert item.change_type == raw["change"]  # the portal's "new" does not downgrade "replaced"
            assert item.code == raw["code"]
            assert item.external_id  # the portal's id was added


def test_ministry_site_later_window_reads_only_new_rows(session, sandbox, dept) -> None:
    _run_ministry(session, sandbox, dept, WINDOW_1)
    counts = _counts(session)
    later = [d for d in _ministry_expected(WINDOW_2) if _d(d["signed"]) >= WINDOW_1]
    assert later

    result, recorder = _run_ministry(session, sandbox, dept, WINDOW_2)

    assert sorted(result.so_hieu) == sorted(d["so_hieu"] for d in later)
    assert result.decisions_seen == len(later)
    assert _counts(session)["Decision"] == counts["Decision"] + len(later)
    # the listing (one page reaches the watermark) plus one annex per new decision
    assert result.requests == 1 + len(later)
    assert get_watermark(session, MINISTRY_SOURCE) == max(_d(d["signed"]) for d in later).isoformat()


# ------------------------------------------------------------------ paging and the start of ingestion


class _SmallPages(HttpPortalClient):
    """The live client asking for small pages, so the demo list spans several."""

    page_size = 4

    def list_decisions(self, page: int, page_size: int | None = None):
        return super().list_decisions(page, self.page_size)


def test_portal_pages_down_to_the_watermark(session, sandbox, dept, monkeypatch: pytest.MonkeyPatch) -> None:
    import tthc.ingest.runs

    monkeypatch.setattr(tthc.ingest.runs, "PAGE_SIZE", _SmallPages.page_size)
    total = len(_demo())
    assert total > 2 * _SmallPages.page_size

    def run(window_end: date):
        recorder = SnapshotRecorder(fetched_at=RUN_TIME)
        client = _SmallPages(sandbox.url, session=make_session(retries=0), recorder=recorder)
        return _run_portal(session, sandbox, dept, window_end, client=client, recorder=recorder)[0]

    first_window = date(2026, 10, 1)
    stats = sandbox.stats().get(LIST_STAT, 0)
    run(first_window)
    # no watermark yet: every page of the list was read
    pages = -(-total // _SmallPages.page_size)
    assert sandbox.stats()[LIST_STAT] - stats == pages
    assert set(_decisions(session)) == {d["so_hieu"] for d in _portal_expected(dept, first_window)}

    stats = sandbox.stats()[LIST_STAT]
    result = run(WINDOW_1)
    assert sorted(result.so_hieu) == sorted(d["so_hieu"] for d in _portal_expected(dept, WINDOW_1, after=first_window))
    # paging stopped at the page holding the watermark, not at the end of the list
    newest_first = sorted(_demo(), key=lambda d: (_d(d["published"]), int(d["portal_id"])), reverse=True)
    first_known = next(i for i, d in enumerate(newest_first) if _d(d["published"]) < first_window)
    assert sandbox.stats()[LIST_STAT] - stats == first_known // _SmallPages.page_size + 1 < pages
    assert set(_decisions(session)) == {d["so_hieu"] for d in _portal_expected(dept, WINDOW_1)}


def test_portal_starts_at_ingest_start(session, sandbox, dept) -> None:
    oldest = min(_portal_expected(dept, WINDOW_1), key=lambda d: _d(d["published"]))
    start = _d(oldest["published"]) + timedelta(days=1)
    result, _ = _run_portal(session, sandbox, replace(dept, ingest_start=start), WINDOW_1)
    expected = {d["so_hieu"] for d in _portal_expected(dept, WINDOW_1) if _d(d["published"]) >= start}
    assert set(result.so_hieu) == expected
    assert oldest["so_hieu"] not in _decisions(session)


def test_ministry_site_starts_at_ingest_start(session, sandbox, dept) -> None:
    oldest = min(_ministry_expected(WINDOW_1), key=lambda d: _d(d["signed"]))
    start = _d(oldest["signed"]) + timedelta(days=1)
    result, _ = _run_ministry(session, sandbox, replace(dept, ingest_start=start), WINDOW_1)
    expected = {d["so_hieu"] for d in _ministry_expected(WINDOW_1) if _d(d["signed"]) >= start}
    assert set(result.so_hieu) == expected
    assert oldest["so_hieu"] not in _decisions(session)


def test_portal_ingest_start_excludes_older_decisions(session, sandbox, dept) -> None:
    """Decisions published well before ingest_start (more than a day) are not read."""
    by_date = sorted(_portal_expected(dept, WINDOW_1), key=lambda d: _d(d["published"]))
    start = _d(by_date[2]["published"])
    assert _d(by_date[1]["published"]) < start - timedelta(days=1)
    result, _ = _run_portal(session, sandbox, replace(dept, ingest_start=start), WINDOW_1)
    assert set(result.so_hieu) == {d["so_hieu"] for d in by_date[2:]}


def test_portal_skips_decisions_outside_the_department_fields(session, sandbox, dept) -> None:
    """Filtered by field: a watched ministry's decision in none of the department's fields is not stored."""
    narrow = replace(dept, fields=["so_huu_tri_tue"])
    result, _ = _run_portal(session, sandbox, narrow, WINDOW_1)
    expected = [d for d in _portal_expected(dept, WINDOW_1) if not d["fields"] or "so_huu_tri_tue" in d["fields"]]
    assert result.skipped_field == len(_portal_expected(dept, WINDOW_1)) - len(expected) > 0
    assert set(_decisions(session)) == {d["so_hieu"] for d in expected}


def test_same_number_in_another_year_is_another_decision(session) -> None:
    """Số hiệu restart every year: (số hiệu, agency, date) is the key, with a tolerance between sources."""
    from tthc.ingest.runs import upsert_decision

    a, created_a = upsert_decision(session, so_hieu="100/QĐ-BKHCN", agency_name="Bộ Khoa học và Công nghệ",
                                   run_time=RUN_TIME, signed_date=date(2025, 3, 2))
    b, created_b = upsert_decision(session, so_hieu="100/QĐ-BKHCN", agency_name="Bộ Khoa học và Công nghệ",
                                   run_time=RUN_TIME, signed_date=date(2026, 3, 5))
    assert created_a and created_b and a.id != b.id
    # the portal sees a decision signed on 30/12/2025 as published on 02/01/2026: the same decision
    c, _ = upsert_decision(session, so_hieu="200/QĐ-BKHCN.", agency_name="Bộ Khoa học và Công nghệ",
                           run_time=RUN_TIME, signed_date=date(2025, 12, 30))
    d, created_d = upsert_decision(session, so_hieu="200/QĐ-BKHCN", agency_name="Bộ Khoa học và Công nghệ",
                                   run_time=RUN_TIME, published_date=date(2026, 1, 2))
    assert not created_d and d.id == c.id and d.year == 2025
