"""What each channel should show, computed from the database (never from the channels).

Only what a person approved is published:

- every approved announcement (Quyết định công bố of the Chủ tịch UBND) → a CMS post with its annex and
  the annex file, and a record in the national CSDL listing its procedures;
- every procedure such an announcement touched → a CMS page and a record on the provincial portal,
  with the catalogue's current content; abolished → unpublished / withdrawn.

Keys: ``announcement:<normalised số hiệu>:<year>`` and ``procedure:<code>`` (or
``procedure:name:<name key>`` while a procedure has no code).
"""

from __future__ import annotations

import html
import tempfile
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from tthc.catalogue.keys import ann_key
from tthc.catalogue.lookups import find_procedure
from tthc.compare.draft import DraftBatch, build_batch, render_docx
from tthc.core.config import Department
from tthc.core.labels import levels_vn
from tthc.core.render import environment, vn_date
from tthc.core.sanitize import clean_html, clean_text
from tthc.db.models import Announcement
from tthc.sync.channels.base import ChannelObject

PROVINCIAL_LEVELS = ("cap_tinh", "cap_xa")
CSDL_KIND = {"announce_new": "moi", "re_announce": "sua_doi", "announce_abolition": "bai_bo"}
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass
class ProcedureState:
    key: str
    code: str | None
    name: str
    field: str
    levels: list[str]
    agency: str
    processing_time: str
    fee: str
    legal_basis: str
    abolished: bool
    announcements: list[Announcement] = field(default_factory=list)

    @property
    def last(self) -> Announcement:
        return self.announcements[-1]


def approved_announcements(session: Session) -> list[Announcement]:
    return list(session.scalars(select(Announcement).where(Announcement.status == "approved")
                                .order_by(Announcement.signed_date, Announcement.id)))


def procedure_states(session: Session, dept: Department) -> list[ProcedureState]:
    """Every procedure an approved announcement touched, with its current content."""
    states: dict[str, ProcedureState] = {}
    for ann in approved_announcements(session):
        for flag in sorted(ann.flags, key=lambda f: f.id):
            key = f"procedure:{flag.procedure_key}"
            proc = find_procedure(session, flag.procedure_code, flag.procedure_name)
            state = states.get(key)
            levels = [lv for lv in (proc.levels if proc else flag.levels).split(",") if lv in PROVINCIAL_LEVELS]
            field_name = (proc.field.name if proc and proc.field else
                          (flag.item.field_key if flag.item and flag.item.field_key else "Chưa xác định"))
            fresh = ProcedureState(
                key=key, code=flag.procedure_code or (proc.code if proc else None),
                name=proc.name if proc else flag.procedure_name, field=field_name,
                levels=levels or [lv for lv in flag.levels.split(",") if lv in PROVINCIAL_LEVELS],
                agency=(proc.agency if proc and proc.agency else dept.name),
                processing_time=(proc.processing_time or "") if proc else "", fee=(proc.fee or "") if proc else "",
                legal_basis=(proc.legal_basis or "") if proc else "",
                abolished=flag.action == "announce_abolition" or bool(proc and proc.status == "abolished"),
            )
            if state is not None:  # a later announcement: its view wins
                fresh.abolished = flag.action == "announce_abolition"
            seen = state.announcements if state is not None else []
            fresh.announcements = seen if ann in seen else [*seen, ann]
            states[key] = fresh
    return list(states.values())


def _decision_ref(ann: Announcement) -> dict[str, str]:
    return {"so_hieu": ann.so_hieu or "", "ngay_ky": ann.signed_date.isoformat() if ann.signed_date else ""}


# -- CMS ------------------------------------------------------------------------------------------------


def _annex_file(ann: Announcement, batch: DraftBatch) -> tuple[str, str, bytes]:
    """The annex as DOCX (deterministic: the same flags give the same bytes) with the signed number."""
    day = ann.signed_date
    batch = replace(batch, annex_subtitle=(f"(Kèm theo Quyết định số {ann.so_hieu} ngày {day.day:02d} tháng "
                                           f"{day.month:02d} năm {day.year} của Chủ tịch Ủy ban nhân dân {batch.province})"))
    with tempfile.TemporaryDirectory() as tmp:
        path = render_docx(batch, Path(tmp) / "annex.docx")
        data = path.read_bytes()
    stem = "phu-luc-qd-" + (ann.so_hieu or "").replace("/", "-").lower()
    return unicodedata.normalize("NFC", f"{stem}.docx"), DOCX_TYPE, data


def cms_objects(session: Session, dept: Department) -> list[ChannelObject]:
    env = environment()
    out: list[ChannelObject] = []
    for ann in approved_announcements(session):
        batch = build_batch(session, list(ann.flags), dept)
        title = (f"Quyết định số {ann.so_hieu} ngày {vn_date(ann.signed_date)} của Chủ tịch Ủy ban nhân dân "
                 f"{batch.province} {batch.title[0].lower()}{batch.title[1:]}")
        content = env.get_template("cms_announcement.html.j2").render(a=ann, b=batch)
        out.append(ChannelObject(ann_key(ann), "post", html.escape(clean_text(title), quote=False),
                                 {"content": clean_html(content)}, attachment=_annex_file(ann, batch)))
    for st in procedure_states(session, dept):
        content = env.get_template("cms_procedure.html.j2").render(p=st, levels=levels_vn(",".join(st.levels)))
        # comments open: the procedure's page receives citizens' feedback (the feedback stage reads it); part
        # of the digest, so pages published before it are updated once and opened
        out.append(ChannelObject(st.key, "page", html.escape(clean_text(st.name), quote=False),
                                 {"content": clean_html(content), "comment_status": "open"}, withdrawn=st.abolished,
                                 reason=f"Bãi bỏ theo Quyết định số {st.last.so_hieu}"))
    return out


# -- provincial portal -----------------------------------------------------------------------------------


def portal_objects(session: Session, dept: Department) -> list[ChannelObject]:
    out = []
    for st in procedure_states(session, dept):
        details = [f"Thời hạn giải quyết: {clean_text(st.processing_time)}" if st.processing_time else "",
                   f"Phí, lệ phí: {clean_text(st.fee)}" if st.fee else "",
                   f"Căn cứ pháp lý: {clean_text(st.legal_basis)}" if st.legal_basis else ""]
        fields = {
            "ma_ngoai": st.key,
            "ma_thu_tuc": st.code,
            "ten_thu_tuc": clean_text(st.name),
            "linh_vuc": clean_text(st.field),
            "cap_thuc_hien": st.levels,
            "co_quan_thuc_hien": clean_text(st.agency),
            "quyet_dinh_cong_bo": _decision_ref(st.last),
            "noi_dung": "\n".join(d for d in details if d),
        }
        out.append(ChannelObject(st.key, "procedure", fields["ten_thu_tuc"], fields, withdrawn=st.abolished,
                                 reason=f"Bãi bỏ theo Quyết định số {st.last.so_hieu}"))
    return out


# -- national CSDL ---------------------------------------------------------------------------------------


def csdl_co_quan(dept: Department) -> str:
    return f"Ủy ban nhân dân {dept.province}"


def csdl_objects(session: Session, dept: Department) -> list[ChannelObject]:
    out = []
    for ann in approved_announcements(session):
        items = []
        for flag in sorted(ann.flags, key=lambda f: f.id):
            kind = CSDL_KIND.get(flag.action, "moi")
            if flag.action == "announce_new" and flag.item is not None and flag.item.change_type == "replaced":
                kind = "thay_the"
            items.append({"ma": flag.procedure_code, "ten": clean_text(flag.procedure_name), "loai": kind,
                          "ma_ngoai": f"procedure:{flag.procedure_key}"})
        fields = {**_decision_ref(ann), "co_quan": csdl_co_quan(dept), "thu_tuc": items}
        out.append(ChannelObject(ann_key(ann), "announcement", ann.so_hieu or "", fields))
    return out


def objects_for(channel_name: str, session: Session, dept: Department) -> list[ChannelObject]:
    builders = {"cms": cms_objects, "province_portal": portal_objects, "csdl": csdl_objects}
    return builders[channel_name](session, dept)
