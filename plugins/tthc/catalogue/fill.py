"""What a catalogue row leaves blank (field, level), filled from what the pipeline already knows; what stays
unknown is "cần bổ sung" and listed by ``tthc catalogue incomplete``.

Many departments keep their catalogue as just a code and a name. Such a file imports; for a blank field or
level the first source below that knows it wins (field and level separately):

1. the catalogue itself: a procedure already in it keeps its field and level (a blank cell never erases);
2. the ministry decisions the ingest stored (``decision_items``: code, name, levels, field), the latest
   decision first; by code, else by name;
3. the procedure's own name, when it states the level the way the national portal writes it:
   "(cấp tỉnh)", "(thực hiện tại cấp xã)", "(TTHC cấp trung ương)";
4. reference lists the operator points at (``tthc catalogue import FILE --reference LIST``):

   - the national portal's list of published procedures as downloaded (a JSON array of objects with
     ``TTHC_MA`` and ``NAME``). It carries no field and no level (only the code, the name, the audience
     ``TYPE`` and ``ISNGANHDOC``), so it gives the level only when its name states it, as in 3;
   - a spreadsheet in the catalogue's own columns (a previous catalogue, another department's list):
     its Lĩnh vực and Cấp thực hiện, by code, else by name.

Why a list of its own rather than the review queue: the review queue holds the matcher's questions about a
ministry decision (a flag with a deadline, answered by "this is code X / not in the catalogue"); a
procedure without a field or level has no decision and no deadline, and is answered by completing the
catalogue (export, fill the "cần bổ sung" cells, import again).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tthc.catalogue.columns import (
    CODE,
    FIELD,
    HEADER_ALIASES,
    LEVEL,
    NAME,
    NEEDS_INPUT,
    is_blank,
    parse_levels,
)
from tthc.catalogue.reader import CatalogueFileError, file_bytes, read_table
from tthc.core.labels import LEVEL_CODES, LEVEL_NAMES
from tthc.core.text import clean, match_key
from tthc.db.models import Decision, DecisionItem, Field, Procedure

# the portal's own way of naming a procedure's level: "(cấp tỉnh)", "(thực hiện tại cấp Trung ương)", ...
_LEVEL_IN_NAME = re.compile(r"\((?:thực hiện tại |tthc |thủ tục )?(cấp (?:tỉnh|xã|trung ương))\)", re.IGNORECASE)
_CODE_KEYS = ("TTHC_MA", "MA_TTHC", "MA_THU_TUC", "code")
_NAME_KEYS = ("NAME", "TEN_TTHC", "TEN_THU_TUC", "name")


def levels_from_name(name: str) -> tuple[str, ...]:
    """The levels a procedure's name states in the portal's way ("… (cấp tỉnh)"), else ()."""
    found = [LEVEL_CODES[m.lower()] for m in _LEVEL_IN_NAME.findall(clean(name))]
    return tuple(dict.fromkeys(found))


@dataclass
class Known:
    field_key: str | None = None
    levels: tuple[str, ...] = ()
    sources: set[str] = field(default_factory=set)


@dataclass
class Reference:
    """A reference list: (field key or None, levels) by code and by name key."""

    name: str
    by_code: dict[str, tuple[str | None, tuple[str, ...]]] = field(default_factory=dict)
    by_name: dict[str, tuple[str | None, tuple[str, ...]]] = field(default_factory=dict)

    def add(self, code: str, name: str, field_key: str | None, levels: tuple[str, ...]) -> None:
        if code:
            self.by_code.setdefault(code, (field_key, levels))
        if name:
            self.by_name.setdefault(match_key(name), (field_key, levels))

    def lookup(self, code: str | None, name: str) -> Iterator[tuple[str | None, tuple[str, ...]]]:
        if code and code in self.by_code:
            yield self.by_code[code]
        if (hit := self.by_name.get(match_key(name))) is not None:
            yield hit


def load_reference(path: str | Path, fields: dict[str, str]) -> Reference:
    """A reference list: the portal's published-procedures JSON, or a .csv/.xlsx in the catalogue's columns.
    ``fields``: field key by :func:`match_key` of its name (and by key)."""
    path = Path(path)
    ref = Reference(path.name)
    if path.suffix.lower() == ".json":
        data = file_bytes(path)
        try:
            entries = json.loads(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise CatalogueFileError([f"{path.name}: không phải tệp JSON đọc được (not readable JSON: {exc}) — "
                                      "dùng đúng tệp danh sách thủ tục tải từ Cổng DVC quốc gia"], path) from exc
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise CatalogueFileError([f"{path.name}: không phải danh sách thủ tục (expected a JSON array of "
                                      "objects with TTHC_MA and NAME, as the national portal publishes it)"], path)
        for entry in entries:
            code = clean(next((str(entry[k]) for k in _CODE_KEYS if entry.get(k)), ""))
            name = clean(next((str(entry[k]) for k in _NAME_KEYS if entry.get(k)), ""))
            ref.add(code, name, None, levels_from_name(name))
        return ref
    _, rows = read_table(path, HEADER_ALIASES)  # the catalogue's own columns; unknown values are skipped
    for _, cells in rows:
        field_name = "" if is_blank(cells.get(FIELD, "")) else cells[FIELD]
        levels, _unknown = parse_levels(cells.get(LEVEL, ""))
        ref.add(cells.get(CODE, ""), cells.get(NAME, ""), fields.get(match_key(field_name)) or fields.get(field_name),
                levels)
    return ref


class Knowledge:
    """Field and level of a procedure from the store's decision items, its name and reference lists."""

    def __init__(self, session: Session, references: Sequence[Reference] = ()) -> None:
        self.session = session
        self.references = list(references)
        self.field_keys = set(session.scalars(select(Field.key)))

    def _items(self, code: str | None, name: str) -> Iterator[tuple[str | None, tuple[str, ...]]]:
        cond = DecisionItem.name_key == match_key(name)
        stmt = (select(DecisionItem.code, DecisionItem.field_key, DecisionItem.levels)
                .join(Decision, Decision.id == DecisionItem.decision_id)
                .where(or_(DecisionItem.code == code, cond) if code else cond)
                .order_by(Decision.signed_date.desc().nulls_last(), DecisionItem.id.desc()))
        rows = self.session.execute(stmt).all()
        rows.sort(key=lambda r: r.code != code if code else False)  # by code first, then by name (stable)
        for r in rows:
            yield r.field_key, tuple(lv for lv in (r.levels or "").split(",") if lv in LEVEL_NAMES)

    def lookup(self, code: str | None, name: str, *, need_field: bool, need_levels: bool) -> Known:
        known = Known()
        sources: list[tuple[str, Iterator[tuple[str | None, tuple[str, ...]]]]] = [
            ("quyết định của bộ", self._items(code, name)),
            ("tên thủ tục", iter([(None, levels_from_name(name))])),
            *((ref.name, ref.lookup(code, name)) for ref in self.references)]
        for label, hits in sources:
            for field_key, levels in hits:
                if need_field and known.field_key is None and field_key in self.field_keys:
                    known.field_key = field_key
                    known.sources.add(label)
                if need_levels and not known.levels and levels:
                    known.levels = levels
                    known.sources.add(label)
                if (known.field_key or not need_field) and (known.levels or not need_levels):
                    return known
        return known


@dataclass(frozen=True)
class Incomplete:
    code: str | None
    name: str
    missing: tuple[str, ...]  # "lĩnh vực", "cấp thực hiện"

    def line(self) -> str:
        return f"{self.code or 'chưa có mã'} – {self.name}: thiếu {', '.join(self.missing)} ({NEEDS_INPUT})"


def incomplete_procedures(session: Session) -> list[Incomplete]:
    """Procedures in force whose field or level is unknown, by code (``tthc catalogue incomplete``)."""
    stmt = (select(Procedure).where(Procedure.status == "active")
            .where(or_(Procedure.field_id.is_(None), Procedure.levels == "", Procedure.levels.is_(None)))
            .order_by(Procedure.code, Procedure.id))
    out = []
    for p in session.scalars(stmt):
        missing = (("lĩnh vực",) if p.field_id is None else ()) + (("cấp thực hiện",) if not p.levels else ())
        out.append(Incomplete(p.code, p.name, missing))
    return out
