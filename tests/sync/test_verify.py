"""sync.verify: an approved announcement is "đã công khai trên CSDL quốc gia" once the national decision list
shows it (the sandbox lists what was pushed to its CSDL a few days after signing), with the discrepancies;
never listed, the digest warns after the configured working days. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
import requests
from sqlalchemy import func, select
from tthc.core.window import nightly_window
from tthc.db.models import CsdlVerification, PortalListing
from tthc.ingest.runs import upsert_item
from tthc.ingest.sources.national_portal.client import HttpPortalClient
from tthc.reports.digest import build_digest, digest_mail
from tthc.sync.plan import csdl_objects
from tthc.sync.verify import compare_groups, verify_publications
from tthc_dev.sandbox.csdl import CSDL_PATH

SO_HIEU = "45/QĐ-UBND"
SIGNED = date(2026, 11, 26)  # a Thursday; the sandbox lists it 3 days later (29/11)


def test_compare_groups():
    approved = [("Thủ tục A", "new"), ("Thủ tục cấp phép B", "amended"), ("Thủ tục C", "abolished")]
    listed = {"new": ["thủ tục a"], "amended": ["Cấp phép B"], "abolished": [], "other": ["Thủ tục D"]}
    missing, extra = compare_groups(approved, {**listed, "abolished": ["Thủ tục C"]})
    assert missing == [] and extra == []  # names compared by match_key ("Thủ tục " prefix, case)
    missing, extra = compare_groups(approved, {"new": ["Thủ tục A", "Thủ tục E"], "abolished": ["Thủ tục cấp phép B"]})
    assert missing == ["Thủ tục cấp phép B (phê duyệt: sửa đổi, bổ sung; trên CSDL: bãi bỏ)", "Thủ tục C"]
    assert extra == ["Thủ tục E"]


def _approved(story):
    s = story.session
    old = story.catalogue()[0]
    d = story.decision("3190/QĐ-BKHCN", published=date(2026, 11, 20), effective=date(2027, 1, 15))
    upsert_item(s, d, name="Thủ tục mới kiểm chứng A", change_type="new", code="1.050001", levels=["cap_tinh"],
                field_key="chuyen_giao_cong_nghe")
    upsert_item(s, d, name=old.name, change_type="amended", code=old.code, levels=["cap_tinh"],
                field_key="chuyen_giao_cong_nghe")
    story.flag()
    story.approve(SO_HIEU, signed=SIGNED, commit=True)
    return old


def _push(sandbox, fields):
    """What the csdl channel sends (the project's own contract), straight to the sandbox's endpoint."""
    r = requests.post(sandbox.url + CSDL_PATH, json=fields, timeout=10,
                      headers={"Authorization": f"Bearer {sandbox.csdl_token}"})
    assert r.status_code == 201, r.text


def _state(s):
    return s.scalar(select(CsdlVerification))


def test_verified_once_listed_and_idempotent(story, sandbox, dept):
    s = story.session
    _approved(story)
    (obj,) = csdl_objects(s, dept)
    _push(sandbox, obj.fields)
    client = HttpPortalClient(sandbox.url)

    early = verify_publications(s, client, dept, date(2026, 11, 27))
    assert early.pending == 1 and early.waiting == [SO_HIEU] and early.verified == [] and early.overdue == []
    assert early.requests == 1  # one page of the province's rows, filtered by its agency_id
    state = _state(s)
    assert (state.status, state.checked_for, state.due) == ("waiting", date(2026, 11, 27), date(2026, 12, 3))

    found = verify_publications(s, client, dept, date(2026, 11, 30))
    assert found.verified == [SO_HIEU] and found.discrepancies == {}
    assert found.requests == 4  # the list page and the three procedure groups
    state = _state(s)
    assert (state.status, state.listed_on, state.verified_for) == ("verified", date(2026, 11, 29), date(2026, 11, 30))
    assert state.missing == [] and state.extra == []
    listing = s.get(PortalListing, state.listing_id)
    assert listing.agency_name == "UBND Thành phố Hồ Chí Minh" and listing.agency_portal_id == "411312"
    assert sorted(listing.groups["new"]) == ["Thủ tục mới kiểm chứng A"] and len(listing.groups["amended"]) == 1

    # again, later or for an earlier window: nothing pending, no request, nothing changes
    for as_of in (date(2026, 11, 30), date(2026, 12, 5), date(2026, 11, 27)):
        again = verify_publications(s, client, dept, as_of)
        assert again.pending == 0 and again.requests == 0
    assert _state(s).verified_for == date(2026, 11, 30)
    assert s.scalar(select(func.count()).select_from(CsdlVerification)) == 1

    # the digest of that night says so
    w = nightly_window(date(2026, 11, 30))
    digest = build_digest(s, window_start=w.start, window_end=w.end, as_of=w.as_of)
    assert [v.announcement.so_hieu for v in digest.csdl_verified] == [SO_HIEU] and digest.csdl_unverified == []
    text = digest_mail(digest, dept).text
    assert "ĐÃ CÔNG KHAI TRÊN CSDL QUỐC GIA (1)" in text and "ngày 29/11/2026" in text


def test_discrepancies_are_reported(story, sandbox, dept):
    s = story.session
    old = _approved(story)
    (obj,) = csdl_objects(s, dept)
    fields = dict(obj.fields)
    # the province's office entered one procedure it was not asked to and left out one that was approved
    fields["thu_tuc"] = [t for t in fields["thu_tuc"] if t["ma"] != old.code] + [
        {"ma": None, "ten": "Thủ tục không có trong quyết định", "loai": "moi"}]
    _push(sandbox, fields)

    result = verify_publications(s, HttpPortalClient(sandbox.url), dept, date(2026, 11, 30))
    assert result.verified == [SO_HIEU]
    assert result.discrepancies == {SO_HIEU: {"missing": [old.name], "extra": ["Thủ tục không có trong quyết định"]}}
    w = nightly_window(date(2026, 11, 30))
    text = digest_mail(build_digest(s, window_start=w.start, window_end=w.end, as_of=w.as_of), dept).text
    assert f"Đã phê duyệt nhưng không có trên CSDL: {old.name}" in text
    assert "Có trên CSDL nhưng không có trong quyết định đã phê duyệt: Thủ tục không có trong quyết định" in text


@pytest.mark.parametrize("warn_after", [5, 2])
def test_never_listed_warns_after_the_working_days(story, sandbox, dept, warn_after):
    s = story.session
    _approved(story)
    (obj,) = csdl_objects(s, dept)
    _push(sandbox, obj.fields)
    sandbox.own_listing_lag_days = None  # the province's office never enters it in the national database
    client = HttpPortalClient(sandbox.url)
    due = {5: date(2026, 12, 3), 2: date(2026, 11, 30)}[warn_after]

    for as_of in (date(2026, 11, 30), date(2026, 12, 4), date(2026, 12, 10)):
        result = verify_publications(s, client, dept, as_of)
        assert result.verified == [] and result.waiting == [SO_HIEU]
    dept_n = type(dept)(**{**dept.__dict__, "csdl_verify_working_days": warn_after})
    for as_of, warned in ((due, False), (date.fromordinal(due.toordinal() + 1), True), (date(2026, 12, 10), True)):
        w = nightly_window(as_of)
        digest = build_digest(s, window_start=w.start, window_end=w.end, as_of=w.as_of,
                              csdl_warn_after=dept_n.csdl_verify_working_days)
        assert bool(digest.csdl_unverified) is warned, as_of
        mail = digest_mail(digest, dept_n)
        assert ("CHƯA THẤY TRÊN CSDL QUỐC GIA (1)" in mail.text) is warned
        assert ("quyết định chưa thấy trên CSDL quốc gia" in mail.subject) is warned
        if warned:
            assert f"Quyết định số {SO_HIEU} ký ngày 26/11/2026" in mail.text
            assert f"quá hạn từ ngày {due:%d/%m/%Y}" in mail.text and "Chưa thấy trên CSDL quốc gia" in mail.html
    assert _state(s).status == "waiting" and _state(s).checked_for == date(2026, 12, 10)


def test_nothing_pending_costs_no_request(session, sandbox, dept):
    result = verify_publications(session, HttpPortalClient(sandbox.url), dept, date(2026, 11, 30))
    assert result.pending == 0 and result.requests == 0
    assert sandbox.stats().get("POST /jsp/rest.jsp:decision_publishment_advanced_search_service_v2", 0) == 0
