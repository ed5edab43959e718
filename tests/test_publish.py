"""sync.publish and sync.channels against the sandbox CMS over real HTTP (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import select
from tthc.compare.flags import compare
from tthc.db.models import Flag, Posting
from tthc.ingest import upsert_decision, upsert_item
from tthc.sync.channels import ChannelError, CmsChannel
from tthc.sync.publish import publish, slugify

RUN = datetime(2026, 11, 26, 1, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
AS_OF = date(2026, 11, 26)


def _posts(sandbox) -> list[dict]:
    r = requests.get(f"{sandbox.url}/wp-json/wp/v2/posts", params={"per_page": 100},
                     headers={"Authorization": f"Bearer {sandbox.cms_token}"}, timeout=10)
    r.raise_for_status()
    return r.json()


def _approve(session, dept, tmp_path):
    """Draft the ready flags and approve the draft, as tthc_approve does after a person's answer."""
    from tthc.compare.announce import prepare_draft, record_response

    info = prepare_draft(session, dept, as_of=AS_OF, out_dir=tmp_path)
    record_response(session, info.announcement_id, approved=True, so_hieu="77/QĐ-UBND", signed_date=AS_OF,
                    decided_by="test", decided_at=RUN, as_of=AS_OF)


@pytest.fixture
def flagged(seeded, dept, tmp_path):
    d, _ = upsert_decision(seeded, so_hieu="555/QĐ-BKHCN", agency_name="Bộ Khoa học và Công nghệ", run_time=RUN,
                           trich_yeu="Về việc công bố thủ tục hành chính mới", published_date=date(2026, 11, 20),
                           signed_date=date(2026, 11, 18), effective_date=date(2026, 12, 15),
                           field_keys="chuyen_giao_cong_nghe")
    upsert_item(seeded, d, name="Thủ tục thử nghiệm đồng bộ", change_type="new", code="1.055555",
                levels=["cap_tinh"], field_key="chuyen_giao_cong_nghe")
    compare(seeded, dept, as_of=AS_OF)
    _approve(seeded, dept, tmp_path)
    seeded.commit()
    return seeded


def test_slugify_is_ascii_and_stable():
    assert slugify("TTHC Bộ Khoa học và Công nghệ 555/QĐ-BKHCN") == "tthc-bo-khoa-hoc-va-cong-nghe-555-qd-bkhcn"


def test_publish_creates_then_is_unchanged_then_updates_in_place(flagged, sandbox):
    cms = CmsChannel(sandbox.url, sandbox.cms_token)
    first = publish(flagged, cms, run_date=AS_OF)
    assert (first.created, first.updated, first.unchanged) == (1, 0, 0)
    posts = _posts(sandbox)
    assert len(posts) == 1
    assert "555/QĐ-BKHCN" in posts[0]["title"]["rendered"]
    assert "1.055555" in posts[0]["content"]["rendered"] and "08/12/2026" in posts[0]["content"]["rendered"]

    second = publish(flagged, cms, run_date=AS_OF)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 1)

    flag = flagged.scalar(select(Flag))
    flag.procedure_name = "Thủ tục thử nghiệm đồng bộ (đã sửa)"
    flagged.commit()
    third = publish(flagged, cms, run_date=AS_OF)
    assert third.updated == 1
    posts = _posts(sandbox)
    assert len(posts) == 1 and "(đã sửa)" in posts[0]["content"]["rendered"]


def test_lost_ledger_write_does_not_duplicate(flagged, sandbox):
    """A crash after the POST and before the ledger write: the re-run finds the slug and adopts the post."""
    cms = CmsChannel(sandbox.url, sandbox.cms_token)
    publish(flagged, cms, run_date=AS_OF)
    for row in flagged.scalars(select(Posting)):
        flagged.delete(row)
    flagged.commit()
    again = publish(flagged, cms, run_date=AS_OF)
    assert again.adopted == 1 and again.created == 0
    assert len(_posts(sandbox)) == 1
    assert flagged.scalar(select(Posting.external_id)) == str(_posts(sandbox)[0]["id"])


def test_bad_token_is_a_clear_error(flagged, sandbox):
    with pytest.raises(ChannelError, match="401"):
        publish(flagged, CmsChannel(sandbox.url, "wrong-token"), run_date=AS_OF)
    assert flagged.scalar(select(Posting)) is None


def test_review_flags_are_not_published(seeded, dept, sandbox):
    d, _ = upsert_decision(seeded, so_hieu="556/QĐ-BKHCN", agency_name="Bộ Khoa học và Công nghệ", run_time=RUN,
                           trich_yeu="x", published_date=date(2026, 11, 20), field_keys="chuyen_giao_cong_nghe")
    upsert_item(seeded, d, name="Thủ tục chưa rõ cấp", change_type="new", field_key="chuyen_giao_cong_nghe")
    compare(seeded, dept, as_of=AS_OF)
    assert publish(seeded, CmsChannel(sandbox.url, sandbox.cms_token), run_date=AS_OF).created == 0
    assert _posts(sandbox) == []


def test_flags_not_yet_approved_are_not_published(seeded, dept, sandbox, tmp_path):
    from tthc.compare.announce import prepare_draft

    d, _ = upsert_decision(seeded, so_hieu="557/QĐ-BKHCN", agency_name="Bộ Khoa học và Công nghệ", run_time=RUN,
                           trich_yeu="x", published_date=date(2026, 11, 20), effective_date=date(2026, 12, 15),
                           field_keys="chuyen_giao_cong_nghe")
    upsert_item(seeded, d, name="Thủ tục chờ phê duyệt", change_type="new", code="1.055556", levels=["cap_tinh"],
                field_key="chuyen_giao_cong_nghe")
    compare(seeded, dept, as_of=AS_OF)
    cms = CmsChannel(sandbox.url, sandbox.cms_token)
    assert publish(seeded, cms, run_date=AS_OF).created == 0  # open: not drafted
    prepare_draft(seeded, dept, as_of=AS_OF, out_dir=tmp_path)
    assert publish(seeded, cms, run_date=AS_OF).created == 0  # drafted, waiting for a person
    assert _posts(sandbox) == []
