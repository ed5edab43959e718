"""Procedure details as the stages read them: what the national portal says about a procedure (stored by
:mod:`tthc.ingest.details`), in the words of a provincial announcement's annex, and how two versions differ.

* :func:`details_for_item` — the current version of an item's procedure, and why there is none;
* :func:`deadline_text`, :func:`fee_text`, :func:`legal_basis_lines`, :func:`agency_for_level` — the annex
  columns (Thời hạn giải quyết, Phí/lệ phí, Căn cứ pháp lý, the agency in Địa điểm thực hiện);
* :func:`diff` — what changed between two versions, labelled in Vietnamese (the drift review);
* :func:`open_drifts`, :func:`acknowledge_drift` — changes on the portal that no decision explains.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tthc.core.text import clean, match_key
from tthc.db.models import DecisionItem, ItemDetails, ProcedureDetails

NOT_ON_CSDL = "Chưa có trên CSDL quốc gia"
NOT_READ = "Chưa đọc được từ CSDL quốc gia"
NO_REFERENCE = NOT_ON_CSDL  # no portal id, no code: the national database has not published it
NOT_FETCHED = "Chưa tra cứu trên CSDL quốc gia"
NO_FEE = "Không"
NO_INFO = "Không có thông tin trên CSDL quốc gia"

_LAW_KINDS = ("Bộ luật", "Luật", "Pháp lệnh")
_KINDS = ("Nghị quyết", "Nghị định", "Thông tư liên tịch", "Thông tư", "Quyết định", "Chỉ thị")
_SUFFIX_KINDS = (("NĐ-CP", "Nghị định"), ("TTLT", "Thông tư liên tịch"), ("TT-", "Thông tư"), ("QĐ-", "Quyết định"),
                 ("NQ-", "Nghị quyết"), ("/QH", "Luật"))
_DEADLINE = re.compile(r"^0*(\d+)\s+(ngày làm việc|ngày|tháng|năm|giờ)\b", re.IGNORECASE)


# ---------------------------------------------------------------- reading


def latest(session: Session, portal_id: str) -> ProcedureDetails | None:
    return session.scalars(select(ProcedureDetails).where(ProcedureDetails.portal_id == portal_id)
                           .order_by(ProcedureDetails.version.desc())).first()


def latest_by_code(session: Session, code: str | None) -> ProcedureDetails | None:
    if not code:
        return None
    return session.scalars(select(ProcedureDetails).where(ProcedureDetails.code == code)
                           .order_by(ProcedureDetails.fetched_for.desc(), ProcedureDetails.id.desc())).first()


def details_for_item(session: Session, item: DecisionItem | None,
                     code: str | None = None) -> tuple[ProcedureDetails | None, str]:
    """The current version of the item's procedure (the newest, whatever version the item was first linked
    to), else one found by ``code``; with the reason when there is none (Vietnamese, for the annex)."""
    link = session.scalar(select(ItemDetails).where(ItemDetails.item_id == item.id)) if item is not None else None
    if link is not None and link.details is not None:
        return latest(session, link.details.portal_id), ""
    found = latest_by_code(session, code or (item.code if item is not None else None))
    if found is not None:
        return found, ""
    if link is None:
        return None, NOT_FETCHED
    return None, {"missing": NOT_ON_CSDL, "no_reference": NO_REFERENCE}.get(link.status, NOT_READ)


# ---------------------------------------------------------------- the annex's words


def _deadline(channel: dict[str, Any]) -> str:
    text = clean(channel.get("deadline"))
    m = _DEADLINE.match(text)
    if m:
        return f"{int(m.group(1)):02d} {m.group(2).lower()}" + text[m.end():]
    return text or clean(channel.get("description")).rstrip(".")


def _by_channel(data: dict[str, Any], value, sep: str = "; ") -> str:
    """One text when every channel says the same, else "Trực tiếp, dịch vụ bưu chính: …; Trực tuyến: …"."""
    groups: dict[str, list[str]] = {}
    for channel in data.get("channels") or []:
        groups.setdefault(value(channel), []).append(clean(channel.get("channel")) or "—")
    if len(groups) <= 1:
        return next(iter(groups), "")
    parts = []
    for text, names in groups.items():
        label = ", ".join(names[:1] + [n[:1].lower() + n[1:] for n in names[1:]])
        parts.append(f"{label}: {text}")
    return sep.join(parts)


def deadline_text(data: dict[str, Any], sep: str = "; ") -> str:
    return _by_channel(data, _deadline, sep) or NO_INFO


def fee_text(data: dict[str, Any], sep: str = "; ") -> str:
    """The fees as the page states them; a full page's empty fee cells mean none (the citizen page leaves
    them empty whatever they are: its fees are not known)."""
    if "fees" in (data.get("missing") or ()):
        return NO_INFO
    if not data.get("channels"):
        return NO_INFO
    return _by_channel(data, lambda c: sep.join(clean(x) for x in str(c.get("fee") or "").splitlines()
                                                if clean(x)) or NO_FEE, sep)


def _issued(text: str) -> str:
    try:
        return datetime.strptime(clean(text), "%d-%m-%Y").strftime("%d/%m/%Y")
    except ValueError:
        return clean(text)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if len(text) > 1 and not text[1:2].isupper() else text


def legal_basis_line(basis: dict[str, Any], short: bool = False) -> str:
    """"Luật Chuyển giao công nghệ số 07/2017/QH14 ngày 19/06/2017"; "Nghị định số 76/2018/NĐ-CP ngày
    15/05/2018 của Chính phủ quy định chi tiết …" (the style of a citation); ``short``: without the trích
    yếu of a decree, circular or decision (the annex's narrow column; a law keeps its name)."""
    number, title = clean(basis.get("number")), clean(basis.get("title")).rstrip(".;")
    agency = clean(basis.get("agency"))
    day = f" ngày {_issued(basis['issued'])}" if clean(basis.get("issued")) else ""
    num = f" số {number}" if number else ""
    law = next((k for k in _LAW_KINDS if title.lower().startswith(k.lower() + " ") or title == k), None)
    if law:
        rest = title[len(law):].strip()
        if rest.lower().startswith("sửa đổi"):  # "Luật số 07/2022/QH15 ngày … sửa đổi, bổ sung …"
            return f"{law}{num}{day} {_lower_first(rest)}"
        return f"{title}{num}{day}"
    kind = next((k for k in _KINDS if title.lower().startswith(k.lower())), None)
    rest = title[len(kind):].strip() if kind else title
    if kind is None:
        kind = next((k for suffix, k in _SUFFIX_KINDS if suffix in number), None)
        if kind is None:
            return f"{title}{num}{day}".strip()
        if kind == "Luật":
            return f"{title}{num}{day}"
    if re.fullmatch(r"(số\s*)?[\d/.-]*", rest):  # "Nghị định 18": the title is only the kind and a number
        rest = ""
    by = f" của {agency}" if agency and kind != "Luật" else ""
    return f"{kind}{num}{day}{by}" + (f" {_lower_first(rest)}" if rest and not short else "")


def legal_basis_lines(data: dict[str, Any], short: bool = False) -> list[str]:
    return [legal_basis_line(b, short) for b in data.get("legal_bases") or []]


def legal_basis_text(data: dict[str, Any], sep: str = "; ", short: bool = False) -> str:
    if "legal_bases" in (data.get("missing") or ()):
        return NO_INFO
    return sep.join(legal_basis_lines(data, short)) or NO_INFO


def agency_for_level(agencies: str, level: str) -> str:
    """The agency of ``level`` among "Sở Khoa học và Công nghệ, Ủy ban nhân dân cấp xã"."""
    parts = [clean(p) for p in re.split(r"[;,]\s*(?=[A-ZĐÂ-ỸỦỤ])", agencies or "") if clean(p)]
    commune = [p for p in parts if "xã" in match_key(p).split()]
    if level == "cap_xa":
        return ", ".join(commune) or ", ".join(parts)
    return ", ".join(p for p in parts if p not in commune) or ", ".join(parts)


# ---------------------------------------------------------------- versions compared

LABELS = {
    "name": "Tên thủ tục", "level": "Cấp thực hiện", "field": "Lĩnh vực", "decision_no": "Số quyết định",
    "deadline": "Thời hạn giải quyết", "fee": "Phí, lệ phí", "legal_bases": "Căn cứ pháp lý",
    "agencies": "Cơ quan thực hiện", "result": "Kết quả thực hiện", "subjects": "Đối tượng thực hiện",
    "documents": "Thành phần hồ sơ", "requirements": "Yêu cầu, điều kiện thực hiện", "steps": "Trình tự thực hiện",
}


def _documents(data: dict[str, Any]) -> str:
    return "; ".join(f"{d.get('name')} ({d.get('quantity')})" for g in data.get("documents") or []
                     for d in g.get("documents") or [])


def summary(data: dict[str, Any]) -> dict[str, str]:
    """The comparable fields of a version's content, as text."""
    return {"name": clean(data.get("name")), "level": clean(data.get("level")), "field": clean(data.get("field")),
            "decision_no": clean(data.get("decision_no")), "deadline": deadline_text(data), "fee": fee_text(data),
            "legal_bases": "; ".join(legal_basis_lines(data)), "agencies": clean(data.get("agencies")),
            "result": clean(data.get("result")), "subjects": clean(data.get("subjects")),
            "documents": _documents(data), "requirements": clean(data.get("requirements")),
            "steps": clean(data.get("steps"))}


@dataclass(frozen=True)
class Change:
    label: str
    before: str
    after: str


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """What differs between two versions' content (labels in Vietnamese)."""
    a, b = summary(before), summary(after)
    return [Change(LABELS[k], a[k] or "—", b[k] or "—") for k in LABELS if a[k] != b[k]]


@dataclass
class Drift:
    details: ProcedureDetails
    previous: ProcedureDetails | None
    changes: list[Change]

    @property
    def id(self) -> int:
        return self.details.id


def open_drifts(session: Session) -> list[Drift]:
    """Changes on the portal no decision explains, waiting for a person (oldest first)."""
    out = []
    for row in session.scalars(select(ProcedureDetails).where(ProcedureDetails.drift_status == "review")
                               .order_by(ProcedureDetails.fetched_for, ProcedureDetails.id)):
        previous = session.scalar(select(ProcedureDetails).where(ProcedureDetails.portal_id == row.portal_id,
                                                                 ProcedureDetails.version == row.version - 1))
        out.append(Drift(row, previous, diff(previous.data, row.data) if previous is not None else []))
    return out


def acknowledge_drift(session: Session, details_id: int, *, by: str, at: datetime) -> ProcedureDetails:
    row = session.get(ProcedureDetails, details_id)
    if row is None or row.drift_status != "review":
        raise LookupError(f"không có thay đổi chi tiết thủ tục số {details_id} chờ xem xét")
    row.drift_status, row.reviewed_by, row.reviewed_at = "acknowledged", by, at
    session.flush()
    return row


def rows_without_details(session: Session, items: list[tuple[DecisionItem | None, str | None, str]]) -> list[
        tuple[str, str, str]]:
    """(code, name, reason) of each (item, code, name) without details."""
    out = []
    for item, code, name in items:
        found, reason = details_for_item(session, item, code)
        if found is None:
            out.append((code or "", name, reason))
    return out




def details_by_item(session: Session, item_ids: list[int]) -> dict[int, ProcedureDetails]:
    """item id → the current version of its procedure's details (items without details are absent)."""
    if not item_ids:
        return {}
    links = session.execute(select(ItemDetails.item_id, ProcedureDetails.portal_id)
                            .join(ProcedureDetails, ItemDetails.details_id == ProcedureDetails.id)
                            .where(ItemDetails.item_id.in_(item_ids))).all()
    portal_ids = {p for _, p in links}
    newest: dict[str, ProcedureDetails] = {}
    for row in session.scalars(select(ProcedureDetails).where(ProcedureDetails.portal_id.in_(portal_ids))
                               .order_by(ProcedureDetails.portal_id, ProcedureDetails.version)):
        newest[row.portal_id] = row
    return {item_id: newest[p] for item_id, p in links if p in newest}
