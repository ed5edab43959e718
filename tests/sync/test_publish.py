"""sync.publish with the three channels against the sandbox over real HTTP (SQLite and PostgreSQL).

An approved announcement (two amended procedures, one new with a scraped ``<script>`` in its name, one
abolished) is published to the CMS, the provincial portal and the national CSDL; then faults: a 500
after the server committed, a timeout, 401, 422, a crash between the write and the ledger row, each
followed by a re-run. Every channel must end with exactly one copy of each object, with the latest
content. A dry run sends nothing; reconciliation finds and repairs drift.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import func, select
from tthc.db.models import Posting, Procedure
from tthc.sync.channels.base import AuthError, ChannelError, RejectedError
from tthc.sync.channels.cms import CmsChannel
from tthc.sync.channels.csdl import CsdlChannel
from tthc.sync.channels.province_portal import ProvincePortalChannel
from tthc.sync.plan import csdl_co_quan, objects_for
from tthc.sync.publish import plan_action, reconcile, sync_channel

RUN = datetime(2026, 11, 26, 1, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
AS_OF = date(2026, 11, 26)
SCRIPT_NAME = "Thủ tục thử nghiệm <script>alert(1)</script> đồng bộ"
NAMES = ("cms", "province_portal", "csdl")
WRITES = ("POST", "PUT", "PATCH", "DELETE")


class Crash(Exception):
    """The worker dies between the channel's answer and the ledger write."""


@pytest.fixture
def approved(story):
    """One approved announcement (77/QĐ-UBND): 1 new procedure (its name carries <script>), 2 amended, 1
    abolished."""
    procs = story.catalogue("cap_tinh")
    d = story.decision("555/QĐ-BKHCN", published=date(2026, 11, 20), signed=date(2026, 11, 18),
                       effective=date(2026, 12, 15), trich_yeu="Về việc công bố thủ tục hành chính")
    story.item(d, SCRIPT_NAME, "new", code="1.055555", levels=["cap_tinh"], field_key="chuyen_giao_cong_nghe")
    for p in procs[:2]:
        story.item(d, p.name, "amended", code=p.code)
    story.item(d, procs[2].name, "abolished", code=procs[2].code)
    story.flag()
    story.approve("77/QĐ-UBND", commit=True)
    return story.session


def channels(sandbox, **kw):
    return {
        "cms": CmsChannel(sandbox.url, sandbox.cms_token, **kw),
        "province_portal": ProvincePortalChannel(sandbox.url, sandbox.portal_token, **kw),
        "csdl": CsdlChannel(sandbox.url, sandbox.csdl_token, csdl_co_quan_default(), **kw),
    }


def csdl_co_quan_default():
    from tthc.core.config import load_department

    return csdl_co_quan(load_department())


def sync_all(s, dept, sandbox, **kw):
    out = {}
    for name, ch in channels(sandbox).items():
        out[name] = sync_channel(s, ch, objects_for(name, s, dept), run_date=AS_OF, **kw)
    return out


def _get(sandbox, path, token, **params):
    r = requests.get(sandbox.url + path, params=params, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    r.raise_for_status()
    return r.json()


def cms_items(sandbox, kind):
    return _get(sandbox, f"/wp-json/wp/v2/{kind}", sandbox.cms_token, status="any", per_page=100)


def portal_items(sandbox):
    return _get(sandbox, "/dvc-tinh/api/v1/thu-tuc", sandbox.portal_token, page_size=200)["items"]


def csdl_items(sandbox):
    return _get(sandbox, "/csdl/api/v1/quyet-dinh-cong-bo", sandbox.csdl_token)


def writes(sandbox) -> int:
    return sum(v for k, v in sandbox.stats().items() if k.split(" ", 1)[0] in WRITES)


def assert_one_copy_each(s, dept, sandbox):
    """Each channel holds exactly one copy of each object, showing the latest content."""
    posts, pages = cms_items(sandbox, "posts"), cms_items(sandbox, "pages")
    for kind, items in (("post", posts), ("page", pages)):
        keys = [i["meta"]["tthc_key"] for i in items]
        assert len(keys) == len(set(keys)), f"duplicate CMS {kind}s: {keys}"
    cms_wanted = {o.key: o for o in objects_for("cms", s, dept)}
    shown = {i["meta"]["tthc_key"]: i for i in posts + pages}
    assert set(shown) == set(cms_wanted)
    for key, obj in cms_wanted.items():
        assert shown[key]["meta"]["tthc_hash"] == obj.digest
        assert shown[key]["status"] == ("draft" if obj.withdrawn else "publish")
    records = portal_items(sandbox)
    assert sorted(r["ma_ngoai"] for r in records) == sorted(o.key for o in objects_for("province_portal", s, dept))
    for obj in objects_for("province_portal", s, dept):
        rec = next(r for r in records if r["ma_ngoai"] == obj.key)
        assert rec["ten_thu_tuc"] == obj.fields["ten_thu_tuc"]
        assert rec["trang_thai"] == ("da_thu_hoi" if obj.withdrawn else "dang_ap_dung")
    csdl = csdl_items(sandbox)
    assert [r["so_hieu"] for r in csdl] == [o.fields["so_hieu"] for o in objects_for("csdl", s, dept)]


def test_first_sync_publishes_everything_once_and_rerun_sends_nothing(approved, dept, sandbox):
    s = approved
    first = sync_all(s, dept, sandbox)
    assert (first["cms"].created, first["cms"].withdrawn) == (4, 1)  # 1 post + 3 pages; abolished page unpublished
    assert (first["province_portal"].created, first["province_portal"].withdrawn) == (3, 1)
    assert first["csdl"].created == 1
    assert_one_copy_each(s, dept, sandbox)
    record = csdl_items(sandbox)[0]
    assert record["so_hieu"] == "77/QĐ-UBND" and record["co_quan"] == "Ủy ban nhân dân Thành phố Hồ Chí Minh"
    assert sorted(t["loai"] for t in record["thu_tuc"]) == ["bai_bo", "moi", "sua_doi", "sua_doi"]
    post = cms_items(sandbox, "posts")[0]
    assert "Quyết định số 77/QĐ-UBND" in post["title"]["rendered"]
    assert "/wp-content/uploads/" in post["content"]["rendered"]  # the annex file is attached
    before = writes(sandbox)
    again = sync_all(s, dept, sandbox)
    assert all(r.unchanged == len(objects_for(n, s, dept)) for n, r in again.items())
    assert writes(sandbox) == before


def test_scraped_script_arrives_escaped(approved, dept, sandbox):
    s = approved
    sync_all(s, dept, sandbox)
    page = next(p for p in cms_items(sandbox, "pages") if p["meta"]["tthc_key"] == "procedure:1.055555")
    assert "<script" not in page["content"]["rendered"] and "<script" not in page["title"]["rendered"]
    assert "&lt;script&gt;" in page["content"]["rendered"]
    record = next(r for r in portal_items(sandbox) if r["ma_ngoai"] == "procedure:1.055555")
    assert "<script" not in record["ten_thu_tuc"] and "đồng bộ" in record["ten_thu_tuc"]
    public = requests.get(page["link"], timeout=10).text
    assert "<script>alert(1)</script>" not in public


def test_changed_content_is_updated_in_place_with_a_new_ledger_version(approved, dept, sandbox):
    s = approved
    sync_all(s, dept, sandbox)
    page_ids = {p["meta"]["tthc_key"]: p["id"] for p in cms_items(sandbox, "pages")}
    proc = s.scalar(select(Procedure).where(Procedure.code == "1.055555"))
    proc.fee = "Không"
    s.commit()
    result = sync_all(s, dept, sandbox)
    # the page, and the post whose annex shows the fee; the CSDL record lists no fees
    assert result["cms"].updated == 2 and result["province_portal"].updated == 1 and result["csdl"].unchanged == 1
    assert {p["meta"]["tthc_key"]: p["id"] for p in cms_items(sandbox, "pages")} == page_ids
    rec = next(r for r in portal_items(sandbox) if r["ma_ngoai"] == "procedure:1.055555")
    assert "Phí, lệ phí: Không" in rec["noi_dung"]
    versions = s.scalars(select(Posting.version).where(Posting.channel == "cms",
                                                       Posting.object_key == "procedure:1.055555")).all()
    assert sorted(versions) == [1, 2]
    assert_one_copy_each(s, dept, sandbox)


def test_later_abolition_withdraws_page_and_portal_record(approved, story, dept, sandbox):
    s = approved
    sync_all(s, dept, sandbox)
    d = story.decision("600/QĐ-BKHCN", published=date(2026, 11, 24), signed=date(2026, 11, 23),
                       effective=date(2027, 1, 15), trich_yeu="Bãi bỏ")
    story.item(d, SCRIPT_NAME, "abolished", code="1.055555")
    story.flag()
    story.approve("78/QĐ-UBND", commit=True)
    result = sync_all(s, dept, sandbox)
    assert result["cms"].withdrawn == 1 and result["province_portal"].withdrawn == 1 and result["csdl"].created == 1
    page = next(p for p in cms_items(sandbox, "pages") if p["meta"]["tthc_key"] == "procedure:1.055555")
    assert page["status"] == "draft" and "Đã bãi bỏ theo Quyết định số 78/QĐ-UBND" in page["content"]["rendered"]
    rec = next(r for r in portal_items(sandbox) if r["ma_ngoai"] == "procedure:1.055555")
    assert rec["trang_thai"] == "da_thu_hoi"
    assert s.scalar(select(Procedure.status).where(Procedure.code == "1.055555")) == "abolished"
    assert_one_copy_each(s, dept, sandbox)


CREATE_ROUTES = {"cms": "POST /wp-json/wp/v2/pages", "province_portal": "POST /dvc-tinh/api/v1/thu-tuc",
                 "csdl": "POST /csdl/api/v1/quyet-dinh-cong-bo"}


@pytest.mark.parametrize("name", NAMES)
def test_500_after_the_server_committed_is_adopted_not_duplicated(approved, dept, sandbox, name):
    s = approved
    sandbox.add_fault(CREATE_ROUTES[name], "after_success_500", times=1)
    result = sync_channel(s, channels(sandbox)[name], objects_for(name, s, dept), run_date=AS_OF)
    assert result.adopted == 1
    sync_all(s, dept, sandbox)
    assert_one_copy_each(s, dept, sandbox)


@pytest.mark.parametrize("name", NAMES)
def test_crash_between_write_and_ledger_then_rerun(approved, dept, sandbox, name):
    s = approved

    def crash(obj, published):
        raise Crash(obj.key)

    with pytest.raises(Crash):
        sync_channel(s, channels(sandbox)[name], objects_for(name, s, dept), run_date=AS_OF, on_written=crash)
    s.rollback()
    assert s.scalar(select(func.count()).select_from(Posting).where(Posting.channel == name)) == 0
    rerun = sync_channel(s, channels(sandbox)[name], objects_for(name, s, dept), run_date=AS_OF)
    assert rerun.adopted == 1
    sync_all(s, dept, sandbox)
    assert_one_copy_each(s, dept, sandbox)


def test_timeout_then_rerun_gives_one_copy(approved, dept, sandbox):
    s = approved
    sandbox.add_fault("POST /dvc-tinh/api/v1/thu-tuc", "timeout", times=1, delay=1.5)
    portal = ProvincePortalChannel(sandbox.url, sandbox.portal_token, timeout=0.5)
    with pytest.raises(ChannelError):
        sync_channel(s, portal, objects_for("province_portal", s, dept), run_date=AS_OF)
    import time

    time.sleep(1.5)  # the server finishes the request the client gave up on
    sync_all(s, dept, sandbox)
    assert_one_copy_each(s, dept, sandbox)


def test_transient_5xx_on_update_is_retried_by_the_transport(approved, dept, sandbox):
    s = approved
    sync_all(s, dept, sandbox)
    proc = s.scalar(select(Procedure).where(Procedure.code == "1.055555"))
    proc.fee = "50.000 đồng"
    s.commit()
    sandbox.add_fault("PUT /dvc-tinh/api/v1/thu-tuc*", "http_503", times=1)
    result = sync_channel(s, channels(sandbox)["province_portal"], objects_for("province_portal", s, dept),
                          run_date=AS_OF)
    assert result.updated == 1


def test_bad_token_is_a_clear_error_and_the_token_is_never_logged(approved, dept, sandbox, caplog):
    s = approved
    caplog.set_level(logging.DEBUG)
    secret = "wrong-token-ABC123"
    for ch in (CmsChannel(sandbox.url, secret), ProvincePortalChannel(sandbox.url, secret),
               CsdlChannel(sandbox.url, secret, "x")):
        with pytest.raises(AuthError, match="401") as info:
            sync_channel(s, ch, objects_for(ch.name, s, dept), run_date=AS_OF)
        assert secret not in str(info.value)
    sync_all(s, dept, sandbox)
    assert secret not in caplog.text and sandbox.cms_token not in caplog.text
    for row in s.scalars(select(Posting)):
        assert all(tok not in str(v) for tok in (sandbox.cms_token, sandbox.portal_token, sandbox.csdl_token)
                   for v in (row.url, row.external_id, row.content_hash, row.object_key))


def test_validation_error_rejects_one_object_and_publishes_the_others(approved, dept, sandbox):
    s = approved
    objects = objects_for("province_portal", s, dept)
    objects[0].fields["cap_thuc_hien"] = []  # the portal answers 422
    with pytest.raises(RejectedError, match="1 object") as info:
        sync_channel(s, channels(sandbox)["province_portal"], objects, run_date=AS_OF)
    assert objects[0].key in str(info.value)
    assert len(portal_items(sandbox)) == len(objects) - 1
    assert s.scalar(select(func.count()).select_from(Posting).where(Posting.channel == "province_portal")) == \
        len(objects) - 1


def test_dry_run_sends_nothing_and_shows_the_plan(approved, dept, sandbox):
    s = approved
    before = dict(sandbox.stats())
    for name in NAMES:
        result = sync_channel(s, channels(sandbox)[name], objects_for(name, s, dept), run_date=AS_OF, dry_run=True)
        assert result.dry_run and result.created == 0
        assert {p["action"] for p in result.planned} <= {"create", "create_withdrawn"}
        assert len(result.planned) == len(objects_for(name, s, dept))
    assert sandbox.stats() == before
    assert s.scalar(select(func.count()).select_from(Posting)) == 0


def test_plan_action():
    from tthc.sync.channels.base import ChannelObject

    live, gone = ChannelObject("k", "page", "t", {"a": 1}), ChannelObject("k", "page", "t", {"a": 1}, withdrawn=True)
    assert plan_action(None, live) == "create"
    assert plan_action(None, gone) == "create_withdrawn"
    row = Posting(channel="cms", object_key="k", version=1, content_hash=live.digest, status="posted")
    assert plan_action(row, live) == "unchanged"
    assert plan_action(row, gone) == "withdraw"
    assert plan_action(row, ChannelObject("k", "page", "t", {"a": 2})) == "update"


def test_reconcile_finds_and_repairs_missing_stale_and_extra(approved, dept, sandbox):
    s = approved
    sync_all(s, dept, sandbox)
    h = {"Authorization": f"Bearer {sandbox.cms_token}"}
    pages = cms_items(sandbox, "pages")
    live = [p for p in pages if p["status"] == "publish"]
    # missing: a page deleted by hand; stale: a post edited by hand; extra: a page of ours nobody wants
    requests.delete(f"{sandbox.url}/wp-json/wp/v2/pages/{live[0]['id']}", params={"force": "true"}, headers=h,
                    timeout=10).raise_for_status()
    post = cms_items(sandbox, "posts")[0]
    requests.put(f"{sandbox.url}/wp-json/wp/v2/posts/{post['id']}", json={"content": "sửa tay"}, headers=h,
                 timeout=10).raise_for_status()
    requests.post(f"{sandbox.url}/wp-json/wp/v2/pages", headers=h, timeout=10,
                  json={"title": "Cũ", "content": "cũ", "status": "publish", "slug": "procedure-9-999999",
                        "meta": {"tthc_key": "procedure:9.999999"}}).raise_for_status()
    cms = channels(sandbox)["cms"]
    report = reconcile(s, cms, objects_for("cms", s, dept), run_date=AS_OF, repair=False)
    assert report.missing == [live[0]["meta"]["tthc_key"]]
    assert report.stale == [post["meta"]["tthc_key"]]
    assert report.extra == ["procedure:9.999999"] and report.repaired == []
    fixed = reconcile(s, cms, objects_for("cms", s, dept), run_date=AS_OF)
    assert sorted(fixed.repaired) == sorted(report.missing + report.stale + report.extra)
    clean = reconcile(s, cms, objects_for("cms", s, dept), run_date=AS_OF)
    assert clean.drift == 0
    extra = next(p for p in cms_items(sandbox, "pages") if p["meta"].get("tthc_key") == "procedure:9.999999")
    assert extra["status"] == "draft"


def test_reconcile_portal_and_csdl_stale_content(approved, dept, sandbox):
    s = approved
    sync_all(s, dept, sandbox)
    rec = next(r for r in portal_items(sandbox) if r["trang_thai"] == "dang_ap_dung")
    body = {k: rec[k] for k in ("ma_ngoai", "ma_thu_tuc", "linh_vuc", "cap_thuc_hien", "co_quan_thuc_hien",
                                "quyet_dinh_cong_bo", "noi_dung")} | {"ten_thu_tuc": "Tên bị sửa tay"}
    requests.put(f"{sandbox.url}/dvc-tinh/api/v1/thu-tuc/{rec['id']}", json=body, timeout=10,
                 headers={"Authorization": f"Bearer {sandbox.portal_token}"}).raise_for_status()
    ch = channels(sandbox)
    report = reconcile(s, ch["province_portal"], objects_for("province_portal", s, dept), run_date=AS_OF)
    assert report.stale == [rec["ma_ngoai"]] and report.repaired == [rec["ma_ngoai"]]
    assert reconcile(s, ch["csdl"], objects_for("csdl", s, dept), run_date=AS_OF).drift == 0
    assert_one_copy_each(s, dept, sandbox)
