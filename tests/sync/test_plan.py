"""sync.plan: what each channel should show, from approved announcements only."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from docx import Document
from sqlalchemy import select
from tthc.db.models import Procedure
from tthc.ingest.runs import upsert_item
from tthc.sync.plan import cms_objects, csdl_objects, portal_objects, procedure_states

RUN = datetime(2026, 11, 26, 1, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
AS_OF = date(2026, 11, 26)


def _decision(story, so_hieu, published=date(2026, 11, 20)):
    return story.decision(so_hieu, published=published, effective=date(2027, 1, 15))


def test_nothing_is_planned_before_approval(story, dept):
    s = story.session
    d = _decision(story, "1/QĐ-BKHCN")
    upsert_item(s, d, name="Thủ tục mới A", change_type="new", code="1.050001", levels=["cap_tinh"],
                field_key="chuyen_giao_cong_nghe")
    story.flag()
    story.draft()
    assert cms_objects(s, dept) == [] and portal_objects(s, dept) == [] and csdl_objects(s, dept) == []


def test_objects_of_an_approved_announcement(story, dept):
    s = story.session
    old = s.scalars(select(Procedure).where(Procedure.levels == "cap_tinh").order_by(Procedure.code)).first()
    d = _decision(story, "1/QĐ-BKHCN")
    upsert_item(s, d, name="Thủ tục thay thế B", change_type="replaced", code="1.050002", levels=["cap_tinh", "cap_xa"],
                field_key="chuyen_giao_cong_nghe", replaces_code=old.code)
    story.flag()
    story.approve("10/QĐ-UBND")

    csdl = csdl_objects(s, dept)
    assert len(csdl) == 1 and csdl[0].key == "announcement:10/QĐ-UBND:2026"
    assert csdl[0].fields["ngay_ky"] == "2026-11-26"
    assert sorted((t["ma"], t["loai"]) for t in csdl[0].fields["thu_tuc"]) == sorted([("1.050002", "thay_the"),
                                                                                      (old.code, "bai_bo")])
    portal = {o.key: o for o in portal_objects(s, dept)}
    assert set(portal) == {"procedure:1.050002", f"procedure:{old.code}"}
    new = portal["procedure:1.050002"]
    assert new.fields["cap_thuc_hien"] == ["cap_tinh", "cap_xa"] and not new.withdrawn
    assert new.fields["quyet_dinh_cong_bo"] == {"so_hieu": "10/QĐ-UBND", "ngay_ky": "2026-11-26"}
    assert portal[f"procedure:{old.code}"].withdrawn  # replaced → the old one is withdrawn
    # the approval put the new procedure in the catalogue and marked the replaced one abolished
    assert s.scalar(select(Procedure.status).where(Procedure.code == "1.050002")) == "active"
    assert s.scalar(select(Procedure.status).where(Procedure.code == old.code)) == "abolished"

    cms = {o.key: o for o in cms_objects(s, dept)}
    post = cms["announcement:10/QĐ-UBND:2026"]
    assert post.kind == "post" and "10/QĐ-UBND" in post.title
    name, ctype, data = post.attachment
    assert name.endswith(".docx") and ctype.endswith("wordprocessingml.document")
    import io

    text = "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)
    assert "Kèm theo Quyết định số 10/QĐ-UBND ngày 26 tháng 11 năm 2026" in text
    assert cms["procedure:1.050002"].kind == "page" and cms[f"procedure:{old.code}"].withdrawn
    # deterministic: the same database gives the same digests (nothing re-sent on the next run)
    assert [o.digest for o in cms_objects(s, dept)] == [o.digest for o in cms.values()]


def test_later_announcement_wins_for_a_procedure(story, dept):
    s = story.session
    d1 = _decision(story, "1/QĐ-BKHCN")
    upsert_item(s, d1, name="Thủ tục mới C", change_type="new", code="1.050003", levels=["cap_tinh"],
                field_key="chuyen_giao_cong_nghe")
    story.flag()
    story.approve("11/QĐ-UBND")
    d2 = _decision(story, "2/QĐ-BKHCN", published=date(2026, 11, 24))
    upsert_item(s, d2, name="Thủ tục mới C", change_type="abolished", code="1.050003")
    story.flag()
    story.approve("12/QĐ-UBND")
    (state,) = procedure_states(s, dept)
    assert state.abolished and [a.so_hieu for a in state.announcements] == ["11/QĐ-UBND", "12/QĐ-UBND"]
    (portal,) = portal_objects(s, dept)
    assert portal.withdrawn and portal.reason == "Bãi bỏ theo Quyết định số 12/QĐ-UBND"
    assert len(csdl_objects(s, dept)) == 2
