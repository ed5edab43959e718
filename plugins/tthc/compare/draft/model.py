"""Draft the provincial decision announcing the list of procedures (Quyết định công bố danh mục TTHC).

A batch of flags becomes the draft of a Quyết định of the Chủ tịch Ủy ban nhân dân cấp tỉnh in the layout
provincial decisions use (national header, Căn cứ, Điều 1–3, signature block) with its annex:

    Phần I. DANH MỤC THỦ TỤC HÀNH CHÍNH
      A. Danh mục thủ tục hành chính mới ban hành
      B. Danh mục thủ tục hành chính được sửa đổi, bổ sung hoặc thay thế
      C. Danh mục thủ tục hành chính bị bãi bỏ
         I. Thủ tục hành chính cấp tỉnh / II. Thủ tục hành chính cấp xã
            Lĩnh vực …  (rows numbered within each level)

Only the sections and levels that have rows are written; letters and numerals are given in order
(a batch with no new procedure starts at "A. … sửa đổi, bổ sung hoặc thay thế").

Which section a flag goes to: ``announce_new`` → A, except the new procedure of a ``replaced`` item → B
(noted "Thay thế thủ tục …"); ``re_announce`` → B; ``announce_abolition`` → C (the replaced procedure
is noted "Được thay thế bởi …"). A procedure at both levels is listed under each level.

Two renderings of one :class:`DraftBatch`: :func:`render_docx` (docxtpl, from the Word template
``include/templates/quyet_dinh_cong_bo.docx`` that :func:`make_template` builds) and :func:`render_html`
(preview, ``quyet_dinh_cong_bo.html.j2``). Both are deterministic: the same flags give the same bytes.
All text is NFC; dates are dd/mm/yyyy.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from tthc.catalogue.announcements import unconfirmed_years
from tthc.catalogue.details import (
    agency_for_level,
    deadline_text,
    details_for_item,
    fee_text,
    legal_basis_text,
)
from tthc.catalogue.lookups import find_procedure
from tthc.compare.matching import normalise_name
from tthc.core.config import Department
from tthc.core.render import vn_date
from tthc.core.workdays import WorkCalendar
from tthc.db.models import Decision, Field, Flag, ProcedureDetails

TEMPLATE_DOCX = "quyet_dinh_cong_bo.docx"
TEMPLATE_HTML = "quyet_dinh_cong_bo.html.j2"
NO_CODE = "Chưa có mã"
MISSING = "—"
NO_FIELD = "Lĩnh vực chưa xác định"

SECTION_TITLES = {
    "new": "Danh mục thủ tục hành chính mới ban hành",
    "amended": "Danh mục thủ tục hành chính được sửa đổi, bổ sung hoặc thay thế",
    "abolished": "Danh mục thủ tục hành chính bị bãi bỏ",
}
SECTION_KINDS = {"new": "mới ban hành", "amended": "được sửa đổi, bổ sung hoặc thay thế", "abolished": "bị bãi bỏ"}
LEVEL_TITLES = {
    "cap_tinh": "Thủ tục hành chính cấp tỉnh",
    "cap_xa": "Thủ tục hành chính cấp xã",
    "": "Thủ tục hành chính chưa xác định cấp thực hiện",
}
LETTERS = "ABCDEFGH"
NUMERALS = ("I", "II", "III", "IV", "V")

# The legal basis every provincial announcement cites, before the ministry decisions.
STANDARD_CAN_CU = (
    "Căn cứ Luật Tổ chức chính quyền địa phương ngày 16/06/2025;",
    "Căn cứ Nghị định số 63/2010/NĐ-CP ngày 08/06/2010 của Chính phủ về kiểm soát thủ tục hành chính; "
    "Nghị định số 92/2017/NĐ-CP ngày 07/08/2017 của Chính phủ sửa đổi, bổ sung một số điều của các nghị định "
    "liên quan đến kiểm soát thủ tục hành chính;",
    "Căn cứ Thông tư số 02/2017/TT-VPCP ngày 31/10/2017 của Văn phòng Chính phủ hướng dẫn về nghiệp vụ "
    "kiểm soát thủ tục hành chính;",
)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WS = re.compile(r"\s+")


def _text(value: object) -> str:
    """NFC, control characters (invalid in Word XML) removed, whitespace collapsed."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value))
    return _WS.sub(" ", _CONTROL.sub(" ", text)).strip()


def _multiline(value: str | None, missing: str = MISSING) -> str:
    """Catalogue text kept one line per basis, joined by "; "."""
    lines = [_text(line).rstrip(";") for line in (value or "").splitlines()]
    return "; ".join(line for line in lines if line) or missing


def _cell(value: str) -> str:
    """A multi-line annex cell: NFC, each line's spaces collapsed, line breaks kept."""
    lines = [_text(line) for line in unicodedata.normalize("NFC", value or "").splitlines()]
    return "\n".join(line for line in lines if line) or MISSING


def _lower_first(text: str) -> str:
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def _join_vn(parts: list[str]) -> str:
    """"a", "a và b", "a, b và c"."""
    if len(parts) < 2:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " và " + parts[-1]


# ---------------------------------------------------------------- the batch


@dataclass(frozen=True)
class DecisionRef:
    """A ministry decision the batch is based on (căn cứ)."""

    id: int
    so_hieu: str
    agency_name: str
    signed_date: date | None
    effective_date: date | None
    trich_yeu: str
    reference: str  # "Quyết định số 100/QĐ-BKHCN ngày 20/11/2026 của Bộ trưởng Bộ Khoa học và Công nghệ"
    can_cu: str  # the whole Căn cứ paragraph


@dataclass
class DraftRow:
    stt: int
    code: str  # or NO_CODE
    name: str
    processing_time: str = MISSING
    location: str = MISSING
    fee: str = MISSING
    legal_basis: str = MISSING
    abolition_basis: str = ""  # section C: the decision(s) abolishing it
    note: str = ""
    flag_ids: list[int] = field(default_factory=list)
    details_id: int | None = None  # the version of the national database's details the row shows
    missing_reason: str = ""  # why the row has no details ("Chưa có trên CSDL quốc gia", …)
    source: str = ""  # where thời hạn, phí and căn cứ come from: "csdl", "catalogue" or "" (nowhere)

    @property
    def lines(self) -> dict[str, list[str]]:
        """The multi-line cells as lists of lines (the HTML preview)."""
        return {k: getattr(self, k).split("\n") for k in ("processing_time", "location", "fee", "legal_basis")}


@dataclass
class FieldGroup:
    name: str
    rows: list[DraftRow] = field(default_factory=list)


@dataclass
class LevelGroup:
    level: str  # cap_tinh | cap_xa | "" (unknown)
    numeral: str
    title: str
    fields: list[FieldGroup] = field(default_factory=list)

    @property
    def heading(self) -> str:
        return f"{self.numeral}. {self.title}"

    @property
    def rows(self) -> list[DraftRow]:
        return [r for f in self.fields for r in f.rows]


@dataclass
class Section:
    kind: str  # new | amended | abolished
    letter: str
    title: str
    levels: list[LevelGroup] = field(default_factory=list)

    @property
    def heading(self) -> str:
        return f"{self.letter}. {self.title}"

    @property
    def abolition(self) -> bool:
        return self.kind == "abolished"

    @property
    def rows(self) -> list[DraftRow]:
        return [r for lv in self.levels for r in lv.rows]


@dataclass
class DraftBatch:
    """Everything the draft decision says; the templates only lay it out."""

    key: str
    flag_ids: list[int]
    department: str
    province: str
    province_upper: str  # "THÀNH PHỐ HỒ CHÍ MINH"
    place: str  # "Thành phố Hồ Chí Minh" (place of the date line)
    title: str  # "Về việc công bố Danh mục thủ tục hành chính …"
    chairman: str  # "CHỦ TỊCH ỦY BAN NHÂN DÂN THÀNH PHỐ HỒ CHÍ MINH"
    can_cu: list[str]
    proposal: str  # "Theo đề nghị của Giám đốc …."
    dieu_1: str
    dieu_2: str
    dieu_3: str
    noi_nhan: list[str]
    annex_title: str
    annex_subtitle: str
    part_title: str
    sections: list[Section]
    decisions: list[DecisionRef]
    fields: list[str]
    # for the person who checks the draft, never in the signed document (the HTML preview shows them)
    notes: list[str] = field(default_factory=list)
    without_details: list[DraftRow] = field(default_factory=list)
    details: dict[int, ProcedureDetails] = field(default_factory=dict)  # row details_id → the version

    @property
    def file_stem(self) -> str:
        """Stable file name (without extension) for this batch."""
        return f"du_thao_qd_cong_bo_{self.key[:16]}"

    def section(self, kind: str) -> Section | None:
        return next((s for s in self.sections if s.kind == kind), None)


def batch_key(flags: Iterable[Flag]) -> str:
    """sha256 (hex, 64 characters) of the sorted flag ids: the same flags give the same key."""
    ids = sorted({int(f.id) for f in flags})
    return hashlib.sha256(("flags:" + ",".join(map(str, ids))).encode()).hexdigest()


def _signer(agency: str) -> str:
    return f"Bộ trưởng {agency}" if agency.startswith("Bộ ") else agency


def _decision_ref(d: Decision) -> DecisionRef:
    so_hieu, agency = _text(d.so_hieu), _text(d.agency_name)
    day = d.signed_date or d.published_date
    reference = f"Quyết định số {so_hieu}" + (f" ngày {vn_date(day)}" if day else "") + f" của {_signer(agency)}"
    trich = _text(d.trich_yeu).rstrip(";.")
    if trich:
        trich = re.sub(r"^(V/v|v/v)\s*", "về việc ", trich)
        trich = _lower_first(trich)
        if not trich.startswith("về "):
            trich = "về việc " + trich
    can_cu = f"Căn cứ {reference}" + (f" {trich}" if trich else "") + ";"
    return DecisionRef(id=d.id, so_hieu=so_hieu, agency_name=agency, signed_date=day,
                       effective_date=d.effective_date, trich_yeu=_text(d.trich_yeu), reference=reference,
                       can_cu=can_cu)


def _place(province: str) -> str:
    return province[len("Tỉnh "):] if province.startswith("Tỉnh ") else province


def _unit(province: str) -> str:
    """How the province refers to itself after "Ủy ban nhân dân": "Thành phố" or "tỉnh"."""
    return "Thành phố" if province.startswith("Thành phố") else "tỉnh"


def _location(level: str, province: str) -> str:
    if level == "cap_tinh":
        where = "tỉnh " + province[len("Tỉnh "):] if province.startswith("Tỉnh ") else province
        return f"Trung tâm Phục vụ hành chính công {where}"
    if level == "cap_xa":
        return "Bộ phận Một cửa UBND cấp xã"
    return MISSING


def _location_with_agency(base: str, agency: str) -> str:
    """The department's place of submission, then the agency that carries the procedure out (from the
    national database) unless the place already names it."""
    agency = _text(agency)
    if not agency:
        return base
    if base == MISSING:
        return agency
    if normalise_name(agency) in normalise_name(base):
        return base
    return f"{base}\n(cơ quan thực hiện: {agency})"


def _section_kind(flag: Flag) -> str:
    if flag.action == "announce_abolition":
        return "abolished"
    if flag.action == "re_announce" or (flag.item is not None and flag.item.change_type == "replaced"):
        return "amended"
    return "new"


def build_batch(session: Session, flags: list[Flag], dept: Department) -> DraftBatch:
    """Group the flags into the annex of a draft provincial decision (see the module docstring)."""
    flags = sorted({f.id: f for f in flags}.values(), key=lambda f: f.id)
    # every ministry decision behind the flags, including later ones merged into a waiting flag
    behind = {d.id: d for f in flags for d in [f.decision, *(src.decision for src in f.sources)]}
    refs = sorted({i: _decision_ref(d) for i, d in behind.items()}.values(),
                  key=lambda r: (r.signed_date or date.max, r.so_hieu, r.id))
    order = {r.id: i for i, r in enumerate(refs)}
    by_id = {r.id: r for r in refs}
    fields_by_key = {f.key: _text(f.name) for f in session.scalars(select(Field))}
    dept_field_names = [fields_by_key.get(k, k) for k in dept.fields]
    province = _text(dept.province)

    # (kind, level, field) → procedure key → row; flags in the order of the decisions that brought them
    grouped: dict[tuple[str, str, str], dict[str, DraftRow]] = {}
    pages: dict[int, ProcedureDetails] = {}
    for flag in sorted(flags, key=lambda f: (order[f.decision_id], f.item_id, f.id)):
        kind = _section_kind(flag)
        name = _text(flag.procedure_name)
        code = _text(flag.procedure_code) or None
        proc = find_procedure(session, code, name)
        page, why = details_for_item(session, flag.item, code) if kind != "abolished" else (None, "")
        if page is not None:
            pages[page.id] = page
        levels = [lv for lv in (flag.levels or (proc.levels if proc else "")).split(",") if lv]
        in_scope = [lv for lv in ("cap_tinh", "cap_xa") if lv in levels] or [""]
        if proc is not None and proc.field is not None:
            field_name = _text(proc.field.name)
        elif flag.item is not None and flag.item.field_key:
            field_name = fields_by_key.get(flag.item.field_key, _text(flag.item.field_key))
        else:
            field_name = NO_FIELD
        ref = by_id[flag.decision_id]
        item = flag.item
        if kind == "abolished":
            if item is not None and item.change_type == "replaced":  # the procedure it replaces
                replacing = re.sub(r"^thủ tục\s+", "", _text(item.name), flags=re.IGNORECASE)  # not "thủ tục Thủ tục"
                note = f"Được thay thế bởi thủ tục {replacing}" + (f" ({item.code})" if item.code else "")
            else:
                note = ""
        elif kind == "amended":
            if item is not None and item.change_type == "replaced":
                note = f"Thay thế thủ tục mã {item.replaces_code} theo {ref.reference}" if item.replaces_code \
                    else f"Thay thế theo {ref.reference}"
            else:
                note = f"Sửa đổi, bổ sung theo {ref.reference}"
        else:
            note = f"Ban hành theo {ref.reference}"
        for level in in_scope:
            rows = grouped.setdefault((kind, level, field_name), {})
            row = rows.get(flag.procedure_key)
            if row is None:
                base = dept.draft_locations.get(level) or _location(level, province)
                row = rows[flag.procedure_key] = DraftRow(stt=0, code=code or NO_CODE, name=name, location=base)
                if page is not None:  # the national database's details: what the annex must say
                    data = page.data
                    row.processing_time = _cell(deadline_text(data, sep=";\n"))
                    row.fee = _cell(fee_text(data, sep=";\n"))
                    row.legal_basis = _cell(legal_basis_text(data, sep=";\n", short=True))
                    row.location = _location_with_agency(base, agency_for_level(data.get("agencies") or "", level))
                    row.details_id, row.source = page.id, "csdl"
                elif kind != "abolished":  # the catalogue's own text where it has some, else why there is none
                    row.missing_reason = why
                    row.processing_time = _multiline(proc.processing_time if proc else None, why)
                    row.fee = _multiline(proc.fee if proc else None, why)
                    row.legal_basis = _multiline(proc.legal_basis if proc else None, why)
                    row.source = "catalogue" if proc and (proc.processing_time or proc.fee or proc.legal_basis) else ""
            row.flag_ids.append(flag.id)
            if kind == "abolished" and ref.reference not in row.abolition_basis:
                row.abolition_basis = "; ".join(filter(None, [row.abolition_basis, ref.reference]))
            if note and note not in row.note:
                row.note = "; ".join(filter(None, [row.note, note]))

    def field_order(name: str) -> tuple[int, str]:
        return (dept_field_names.index(name) if name in dept_field_names else len(dept_field_names), name)

    sections: list[Section] = []
    for kind in ("new", "amended", "abolished"):
        levels_present = [lv for lv in ("cap_tinh", "cap_xa", "") if any(k[:2] == (kind, lv) for k in grouped)]
        if not levels_present:
            continue
        section = Section(kind=kind, letter=LETTERS[len(sections)], title=SECTION_TITLES[kind])
        for level in levels_present:
            group = LevelGroup(level=level, numeral=NUMERALS[len(section.levels)], title=LEVEL_TITLES[level])
            stt = 0
            names = sorted({k[2] for k in grouped if k[:2] == (kind, level)}, key=field_order)
            for fname in names:
                fg = FieldGroup(name=fname)
                for row in grouped[(kind, level, fname)].values():
                    stt += 1
                    row.stt = stt
                    fg.rows.append(row)
                group.fields.append(fg)
            section.levels.append(group)
        sections.append(section)

    department = _text(dept.name)
    batch_fields = sorted({k[2] for k in grouped if k[2] != NO_FIELD}, key=field_order)
    kinds = [SECTION_KINDS[s.kind] for s in sections]
    subject = "Danh mục thủ tục hành chính " + _join_vn(kinds) if kinds else "Danh mục thủ tục hành chính"
    if batch_fields:
        subject += " trong lĩnh vực " + _join_vn(batch_fields)
    subject += f" thuộc phạm vi chức năng quản lý của {department}"
    unit = _unit(province)
    ministries = sorted({r.agency_name for r in refs})
    batch = DraftBatch(
        key=batch_key(flags),
        flag_ids=[f.id for f in flags],
        department=department,
        province=province,
        province_upper=province.upper(),
        place=_place(province),
        title=f"Về việc công bố {subject}",
        chairman=f"CHỦ TỊCH ỦY BAN NHÂN DÂN {province.upper()}",
        can_cu=[*STANDARD_CAN_CU, *(r.can_cu for r in refs)],
        proposal=f"Theo đề nghị của Giám đốc {department}.",
        dieu_1=f"Công bố kèm theo Quyết định này {subject}.",
        dieu_2="Quyết định này có hiệu lực thi hành kể từ ngày ký.",
        dieu_3=(f"Chánh Văn phòng Ủy ban nhân dân {unit}, Giám đốc {department}, Thủ trưởng các sở, ban, ngành "
                f"{unit}, Chủ tịch Ủy ban nhân dân cấp xã và các tổ chức, cá nhân có liên quan chịu trách nhiệm "
                "thi hành Quyết định này./."),
        noi_nhan=["- Như Điều 3;", "- Văn phòng Chính phủ (Cục Kiểm soát thủ tục hành chính);",
                  *(f"- {m};" for m in ministries),
                  f"- Thường trực Ủy ban nhân dân {unit}: CT, các PCT;", "- Lưu: VT."],
        annex_title=subject.upper(),
        annex_subtitle=(f"(Kèm theo Quyết định số …/QĐ-UBND ngày … tháng … năm … của Chủ tịch Ủy ban nhân dân "
                        f"{province})"),
        part_title="Phần I. DANH MỤC THỦ TỤC HÀNH CHÍNH",
        sections=sections,
        decisions=refs,
        fields=batch_fields,
        details=pages,
    )
    batch.without_details = [r for sec in sections if not sec.abolition for r in sec.rows if r.missing_reason]
    batch.notes = _notes(batch, flags)
    return batch


def _notes(batch: DraftBatch, flags: list[Flag]) -> list[str]:
    """What the person checking the draft should know (never part of the signed document)."""
    notes = []
    if batch.without_details:
        listed = "; ".join(f"{r.code} – {r.name} ({r.missing_reason[:1].lower()}{r.missing_reason[1:]}"
                           + (", đang dùng nội dung trong danh mục của tỉnh" if r.source == "catalogue" else "") + ")"
                           for r in batch.without_details)
        notes.append(f"{len(batch.without_details)} thủ tục chưa có nội dung trên CSDL quốc gia về thủ tục hành "
                     f"chính, cần bổ sung thời hạn, phí, lệ phí và căn cứ pháp lý trước khi trình ký: {listed}.")
    calendar = WorkCalendar.from_file()
    provisional = {y for f in flags for y in unconfirmed_years(f, calendar)}
    if provisional:
        years = ", ".join(map(str, sorted(provisional)))
        count = sum(1 for f in flags if unconfirmed_years(f, calendar))
        notes.append(f"Hạn công bố của {count} thủ tục là tạm tính: năm {years} chưa có lịch nghỉ lễ, Tết chính thức "
                     "trong bảng ngày làm việc (tthc deadline --check-year).")
    return notes
