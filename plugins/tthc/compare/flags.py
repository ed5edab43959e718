"""Decide what the province must announce (công bố) for each ingested decision item.

Rules:
- every item is matched to the province catalogue with :class:`tthc.compare.matching.Matcher` (code,
  then normalised name, then rapidfuzz blocked by field and by the level a name states); the code is
  the one the procedure's page on the national portal gives (:mod:`tthc.ingest.details`), else the
  decision's; its levels, the decision's, else the page's, else the catalogue's; a person's earlier
  answer for the same name (``match_decisions``) is reused;
- only items at levels the province implements (cấp tỉnh, cấp xã) in the department's fields are
  flagged; central-level items are recorded as "not applicable";
- new → announce; amended → re-announce; replaced → announce the new one and abolish the old;
  abolished → announce the abolition;
- status ``review`` (the review queue: never decided by the machine) when the name is only close to a
  catalogue name, when an item contradicts the catalogue (amending or abolishing an unknown procedure),
  or when its level is unknown; a person's answer (``tthc review decide``) moves it to ``open``;
- merging: a later decision touching a procedure whose flag is still waiting (``open``/``review`` and
  not in a pending or approved draft) becomes another *source* of that flag instead of a second flag;
  the flag keeps the earliest deadline, and its action follows the latest change (an abolition wins;
  a procedure first announced as new stays new);
- idempotent: one source per (item, role) and one flag per (decision, procedure, action); re-running
  never duplicates either. Deadlines are recomputed each run against the run's date (late or not).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tthc.catalogue.details import details_by_item
from tthc.compare.deadlines import province_deadline
from tthc.compare.matching import Candidate, Matcher, MatchResult
from tthc.compare.review import DbReviewMemory
from tthc.core.config import Department
from tthc.db.models import Announcement, Decision, DecisionItem, Flag, FlagSource, Procedure

ACTION_FOR_CHANGE = {"new": "announce_new", "amended": "re_announce", "replaced": "announce_new",
                     "abolished": "announce_abolition"}
REASON = {
    "new": "Thủ tục mới ban hành theo Quyết định {so_hieu} của {agency}",
    "amended": "Thủ tục được sửa đổi, bổ sung theo Quyết định {so_hieu} của {agency}",
    "replaced": "Thủ tục thay thế thủ tục {replaces} theo Quyết định {so_hieu} của {agency}",
    "abolished": "Thủ tục bị bãi bỏ theo Quyết định {so_hieu} của {agency}",
    "replaced_old": "Thủ tục bị thay thế bởi thủ tục {name} theo Quyết định {so_hieu} của {agency}",
}
NOTE_NO_LEVEL = " (chưa xác định được cấp thực hiện)"
NOTE_UNKNOWN = " (thủ tục chưa có trong danh mục của tỉnh)"
NOTE_UNKNOWN_OLD = " (thủ tục bị thay thế chưa có trong danh mục)"
NOTE_CONFIRMED_NEW = " (đã xác nhận: chưa có trong danh mục của tỉnh)"
WAITING = ("open", "review")


@dataclass
class CompareResult:
    flags_created: int = 0
    flags_updated: int = 0
    flags_merged: int = 0  # sources added to a flag that was already waiting
    review: int = 0  # flags in the review queue after this run
    not_applicable: int = 0
    items_seen: int = 0
    created: list[str] = field(default_factory=list)


def _note_for_match(m: MatchResult) -> str:
    if m.code or m.name:
        return (f" (tên gần giống thủ tục {m.code or 'chưa có mã'} «{m.name}», điểm {m.score:g}: "
                "cần người xác nhận)")
    return " (cần người xác nhận)"


def match_info(m: MatchResult) -> dict[str, Any]:
    return {"verdict": m.verdict, "code": m.code, "name": m.name, "score": m.score, "reason": m.reason,
            "alternatives": [{"code": a.code, "name": a.name, "score": a.score} for a in m.alternatives]}


def combine_actions(actions: list[str]) -> str:
    """The action of a flag whose sources asked for ``actions`` (oldest decision first)."""
    out = actions[0]
    for a in actions[1:]:
        if a == "announce_abolition" or out == "announce_abolition":
            out = a  # abolished later wins; a procedure brought back after an abolition is announced again
        elif out != "announce_new":
            out = a  # not yet announced as new: stays new, whatever amends it before the announcement
    return out


class _Flagger:
    def __init__(self, session: Session, result: CompareResult, as_of: date) -> None:
        self.session, self.result, self.as_of = session, result, as_of
        self.touched: set[int] = set()

    def _mergeable(self, key: str, exclude: int | None = None) -> Flag | None:
        stmt = (select(Flag).outerjoin(Announcement, Flag.announcement_id == Announcement.id)
                .where(Flag.procedure_key == key, Flag.status.in_(WAITING),
                       (Flag.announcement_id.is_(None)) | (Announcement.status == "rejected"))
                .order_by(Flag.id))
        if exclude is not None:
            stmt = stmt.where(Flag.id != exclude)
        return self.session.scalars(stmt).first()

    @staticmethod
    def _locked(flag: Flag) -> bool:
        """In a draft waiting for approval, approved or announced: its content no longer changes here."""
        if flag.status not in WAITING:
            return True
        return flag.announcement is not None and flag.announcement.status != "rejected"

    def apply(self, *, decision: Decision, item: DecisionItem, role: str, key: str, code: str | None, name: str,
              levels: str, action: str, reason: str, status: str, info: dict | None) -> None:
        deadline = province_deadline(effective_date=decision.effective_date,
                                     published_date=decision.published_date or decision.signed_date, as_of=self.as_of)
        src = self.session.scalar(select(FlagSource).where(FlagSource.item_id == item.id, FlagSource.role == role))
        if src is not None:
            flag = src.flag
            if self._locked(flag):
                return
            before = (flag.deadline, flag.is_late, flag.status, flag.procedure_key, flag.action)
            src.action, src.reason, src.status = action, reason, status
            src.deadline, src.deadline_rule, src.is_late = deadline.due, deadline.rule.id, deadline.is_late
            if flag.procedure_key != key:  # a person's answer resolved the name to a catalogue code
                other = self._mergeable(key, exclude=flag.id)
                if other is not None:
                    for s in list(flag.sources):
                        s.flag = other
                    self.session.flush()
                    self.session.delete(flag)
                    self.session.flush()
                    flag = other
                else:
                    flag.procedure_key = key
            flag.procedure_code = code or flag.procedure_code
            flag.procedure_name = name if code else flag.procedure_name
            flag.levels = levels or flag.levels
            if info is not None:
                flag.match_info = info
            self._aggregate(flag)
            if before != (flag.deadline, flag.is_late, flag.status, flag.procedure_key, flag.action):
                self.result.flags_updated += 1
            self.touched.add(flag.id)
            return
        src = FlagSource(item_id=item.id, decision_id=decision.id, role=role, action=action, reason=reason,
                         deadline=deadline.due, deadline_rule=deadline.rule.id, is_late=deadline.is_late,
                         status=status)
        flag = self._mergeable(key)
        if flag is not None:
            src.flag = flag
            self.session.add(src)
            flag.procedure_code = flag.procedure_code or code
            flag.levels = levels or flag.levels
            self.session.flush()
            self._aggregate(flag)
            self.result.flags_merged += 1
            self.touched.add(flag.id)
            return
        flag = Flag(item_id=item.id, decision_id=decision.id, procedure_key=key, procedure_code=code,
                    procedure_name=name, levels=levels, action=action, reason=reason, deadline=deadline.due,
                    deadline_rule=deadline.rule.id, is_late=deadline.is_late, status=status,
                    created_for=self.as_of, match_info=info)
        self.session.add(flag)
        src.flag = flag
        self.session.add(src)
        self.session.flush()
        self.result.flags_created += 1
        self.result.created.append(f"{decision.so_hieu}: {action} {code or name}")
        self.touched.add(flag.id)

    def _aggregate(self, flag: Flag) -> None:
        """Earliest deadline of the sources; action by the decisions' order; review if any source is."""
        sources = sorted(flag.sources, key=lambda s: (s.decision.published_date or s.decision.signed_date
                                                      or date.min, s.decision_id, s.id))
        first = min(sources, key=lambda s: (s.deadline, s.id))
        flag.deadline, flag.deadline_rule, flag.is_late = first.deadline, first.deadline_rule, first.is_late
        flag.status = "review" if any(s.status == "review" for s in sources) else "open"
        action = combine_actions([s.action for s in sources])
        if action != flag.action and self.session.scalar(
                select(Flag.id).where(Flag.decision_id == flag.decision_id, Flag.procedure_key == flag.procedure_key,
                                      Flag.action == action, Flag.id != flag.id)) is None:
            flag.action = action
        reasons = list(dict.fromkeys(s.reason for s in sources))
        flag.reason = "; ".join(reasons)


def _catalogue(session: Session) -> tuple[list[Procedure], Matcher]:
    procs = list(session.scalars(select(Procedure).options(selectinload(Procedure.field)).order_by(Procedure.id)))
    cands = [Candidate(p.code, p.name, p.field.key if p.field else None, tuple(p.level_list)) for p in procs]
    return procs, Matcher(cands, memory=DbReviewMemory(session), session=session)


def compare(session: Session, dept: Department, *, as_of: date) -> CompareResult:
    """Flag every applicable item of every stored decision (idempotent)."""
    result = CompareResult()
    flagger = _Flagger(session, result, as_of)
    scope_levels = set(dept.levels)
    scope_fields = set(dept.fields)
    procs, matcher = _catalogue(session)
    by_code = {p.code: p for p in procs if p.code}
    by_name = {(p.code, p.name): p for p in procs}
    items = list(session.scalars(select(DecisionItem).join(Decision)
                                 .order_by(Decision.published_date, Decision.id, DecisionItem.id)))
    details = details_by_item(session, [i.id for i in items])
    # the code the procedure's page on the national portal gives comes first (the item rows carry none)
    codes = [(details[i.id].code if i.id in details and details[i.id].code else None) or i.code for i in items]
    matches = matcher.match_many([(i.name, c, i.field_key) for i, c in zip(items, codes, strict=True)])
    for item, item_code, m in zip(items, codes, matches, strict=True):
        result.items_seen += 1
        decision = item.decision
        proc = by_name.get((m.code, m.name)) if m.verdict == "matched" else None
        page = details.get(item.id)
        if page is not None and proc is not None and page.procedure_id is None and page.code == proc.code:
            page.procedure_id = proc.id  # the details tied to the catalogue procedure
        levels = [lv for lv in (item.levels or (page.levels if page else "") or (proc.levels if proc else ""))
                  .split(",") if lv]
        field_key = item.field_key or (proc.field.key if proc and proc.field else None)
        decision_fields = {f for f in decision.field_keys.split(",") if f}
        in_fields = field_key in scope_fields if field_key else bool(decision_fields & scope_fields)
        if not in_fields:
            result.not_applicable += 1
            continue
        if levels and not scope_levels.intersection(levels):
            result.not_applicable += 1  # central level only: recorded, not flagged
            continue
        by_person = m.reason.startswith("decided by a person")
        status, note = "open", ""
        if m.verdict == "review":
            status, note = "review", _note_for_match(m)
        elif not levels:
            status, note = "review", NOTE_NO_LEVEL
        elif item.change_type in ("amended", "abolished") and proc is None:
            status, note = ("open", NOTE_CONFIRMED_NEW) if by_person else ("review", NOTE_UNKNOWN)
        code = item_code or (proc.code if proc else None)
        name = proc.name if (proc is not None and not item.code and by_person) else item.name
        fmt = {"so_hieu": decision.so_hieu, "agency": decision.agency_name, "replaces": item.replaces_code or "",
               "name": item.name}
        info = match_info(m) if m.verdict != "matched" or m.reason != "code found in the catalogue" else None
        flagger.apply(decision=decision, item=item, role="main", key=code or f"name:{item.name_key}", code=code,
                      name=name, levels=",".join(levels), action=ACTION_FOR_CHANGE[item.change_type],
                      reason=REASON[item.change_type].format(**fmt) + note, status=status, info=info)
        if item.change_type == "replaced" and item.replaces_code:
            old = by_code.get(item.replaces_code)
            old_status, old_note = ("open", "") if old else ("review", NOTE_UNKNOWN_OLD)
            flagger.apply(decision=decision, item=item, role="replaced_old", key=item.replaces_code,
                          code=item.replaces_code, name=old.name if old else item.replaces_code,
                          levels=old.levels if old else ",".join(levels), action="announce_abolition",
                          reason=REASON["replaced_old"].format(**fmt) + old_note, status=old_status, info=None)
    session.flush()
    result.review = session.query(Flag).filter(Flag.status == "review").count()
    return result
