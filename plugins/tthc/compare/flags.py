"""Decide what the province must announce (công bố) for each ingested decision item.

Rules (thin form; matching by rapidfuzz and merging of open flags come with the compare issue):
- only items at levels the province implements (cấp tỉnh, cấp xã) in the department's fields are
  flagged; central-level items are recorded as "not applicable";
- new → announce; amended → re-announce; replaced → announce the new one and abolish the old;
  abolished → announce the abolition;
- an item contradicting the catalogue (amending or abolishing an unknown procedure) or whose level is
  unknown is flagged with status ``review`` for a person to decide;
- idempotent: one flag per (decision, procedure, action); re-running never duplicates one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from tthc.compare.deadlines import province_deadline
from tthc.config import Department
from tthc.db.models import Decision, DecisionItem, Flag, Procedure

ACTION_FOR_CHANGE = {"new": "announce_new", "amended": "re_announce", "replaced": "announce_new",
                     "abolished": "announce_abolition"}
REASON = {
    "new": "Thủ tục mới ban hành theo Quyết định {so_hieu} của {agency}",
    "amended": "Thủ tục được sửa đổi, bổ sung theo Quyết định {so_hieu} của {agency}",
    "replaced": "Thủ tục thay thế thủ tục {replaces} theo Quyết định {so_hieu} của {agency}",
    "abolished": "Thủ tục bị bãi bỏ theo Quyết định {so_hieu} của {agency}",
    "replaced_old": "Thủ tục bị thay thế bởi thủ tục {name} theo Quyết định {so_hieu} của {agency}",
}


@dataclass
class CompareResult:
    flags_created: int = 0
    flags_updated: int = 0
    review: int = 0
    not_applicable: int = 0
    items_seen: int = 0
    created: list[str] = field(default_factory=list)


def _catalogue_entry(session: Session, code: str | None, name_key: str) -> Procedure | None:
    if code:
        proc = session.scalar(select(Procedure).where(Procedure.code == code))
        if proc is not None:
            return proc
    return session.scalars(select(Procedure).where(Procedure.name_key == name_key)).first()


def _upsert_flag(session: Session, result: CompareResult, *, decision: Decision, item: DecisionItem,
                 key: str, code: str | None, name: str, levels: str, action: str, reason: str,
                 status: str, as_of: date) -> None:
    deadline = province_deadline(effective_date=decision.effective_date, published_date=decision.published_date
                                 or decision.signed_date, as_of=as_of)
    flag = session.scalar(select(Flag).where(Flag.decision_id == decision.id, Flag.procedure_key == key,
                                             Flag.action == action))
    if flag is None:
        session.add(Flag(item_id=item.id, decision_id=decision.id, procedure_key=key, procedure_code=code,
                         procedure_name=name, levels=levels, action=action, reason=reason,
                         deadline=deadline.due, deadline_rule=deadline.rule.id, is_late=deadline.is_late,
                         status=status, created_for=as_of))
        result.flags_created += 1
        result.created.append(f"{decision.so_hieu}: {action} {code or name}")
        if status == "review":
            result.review += 1
        return
    if flag.status in ("open", "review"):
        # dates may have been completed by another source since; lateness is judged on this run's date
        changed = (flag.deadline, flag.is_late) != (deadline.due, deadline.is_late) or flag.procedure_code != code
        flag.deadline, flag.deadline_rule, flag.is_late = deadline.due, deadline.rule.id, deadline.is_late
        flag.procedure_code = flag.procedure_code or code
        flag.levels = levels or flag.levels
        if changed:
            result.flags_updated += 1


def compare(session: Session, dept: Department, *, as_of: date) -> CompareResult:
    """Flag every applicable item of every stored decision (idempotent)."""
    result = CompareResult()
    scope_levels = set(dept.levels)
    scope_fields = set(dept.fields)
    items = session.scalars(select(DecisionItem).join(Decision).order_by(Decision.published_date, DecisionItem.id))
    for item in items:
        result.items_seen += 1
        decision = item.decision
        proc = _catalogue_entry(session, item.code, item.name_key)
        levels = [lv for lv in (item.levels or (proc.levels if proc else "")).split(",") if lv]
        field_key = item.field_key or (proc.field.key if proc and proc.field else None)
        decision_fields = {f for f in decision.field_keys.split(",") if f}
        in_fields = field_key in scope_fields if field_key else bool(decision_fields & scope_fields)
        if not in_fields:
            result.not_applicable += 1
            continue
        if levels and not scope_levels.intersection(levels):
            result.not_applicable += 1  # central level only: recorded, not flagged
            continue
        status, note = "open", ""
        if not levels:
            status, note = "review", " (chưa xác định được cấp thực hiện)"
        elif item.change_type in ("amended", "abolished") and proc is None:
            status, note = "review", " (thủ tục chưa có trong danh mục của tỉnh)"
        code = item.code or (proc.code if proc else None)
        fmt = {"so_hieu": decision.so_hieu, "agency": decision.agency_name, "replaces": item.replaces_code or "",
               "name": item.name}
        _upsert_flag(session, result, decision=decision, item=item, key=code or f"name:{item.name_key}", code=code,
                     name=item.name, levels=",".join(levels), action=ACTION_FOR_CHANGE[item.change_type],
                     reason=REASON[item.change_type].format(**fmt) + note, status=status, as_of=as_of)
        if item.change_type == "replaced" and item.replaces_code:
            old = session.scalar(select(Procedure).where(Procedure.code == item.replaces_code))
            old_status, old_note = ("open", "") if old else ("review", " (thủ tục bị thay thế chưa có trong danh mục)")
            _upsert_flag(session, result, decision=decision, item=item, key=item.replaces_code,
                         code=item.replaces_code, name=old.name if old else item.replaces_code,
                         levels=old.levels if old else ",".join(levels), action="announce_abolition",
                         reason=REASON["replaced_old"].format(**fmt) + old_note, status=old_status, as_of=as_of)
    session.flush()
    return result
