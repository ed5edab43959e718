"""The sandbox's read-only demo data: decisions, procedures and fields, plus generated decisions.

Loaded from YAML files in ``data_dir`` (``decisions.yaml``, ``procedures.yaml``; the fields are the
department's own ``settings/fields.yaml`` unless ``data_dir`` has one). ``synthetic=N`` adds N generated
ministry decisions (seeded, deterministic, older than the demo ones) for benchmarks, and
:meth:`Catalogue.publish` adds decisions while the sandbox runs (the ``insert_while_paging`` fault).
Every room reads the same :class:`Catalogue`; what it serves of it (and how) is the room's business.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import random
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from tthc.core.config import SETTINGS_DIR
from tthc.core.text import strip_accents

MINISTRY_AGENCY = "Bộ Khoa học và Công nghệ"
# Agency codes of the national portal's agency list, for agencies the data does not give a code.
KNOWN_AGENCY_CODES = {"bộ khoa học và công nghệ": "G06"}

SYNTHETIC_SEED = 20260101
SYNTHETIC_FIRST_DAY = dt.date(2026, 1, 1)
SYNTHETIC_LAST_DAY = dt.date(2026, 6, 30)


# ---------------------------------------------------------------------------------------------
# Text and date forms shared by the rooms
# ---------------------------------------------------------------------------------------------


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def casefold_key(text: str) -> str:
    """Comparison form: NFC, whitespace collapsed, case-folded (accents kept)."""
    return re.sub(r"\s+", " ", nfc(text)).strip().casefold()


def _date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value).strip()[:10])


def fmt_date(value: dt.date | None, sep: str) -> str:
    if value is None:
        return ""
    return f"{value.day:02d}{sep}{value.month:02d}{sep}{value.year:04d}"


def _digits_hash(text: str, width: int = 6) -> str:
    """A stable decimal string derived from ``text``."""
    number = int(hashlib.sha1(text.encode("utf-8")).hexdigest(), 16) % (10**width)
    return f"{number:0{width}d}"


def _attachment_id(portal_id: str) -> str:
    return hashlib.sha1(f"attachment:{portal_id}".encode()).hexdigest()[:16]


def _decision_order(d: Decision) -> tuple[Any, ...]:
    """Sort key; sorted in reverse it gives the portal's order: newest published first, then highest id."""
    return (d.published or dt.date.min, int(d.portal_id) if d.portal_id.isdigit() else 0, d.portal_id)


def so_hieu_key(so_hieu: str) -> str:
    """Duplicate-detection key of a decision number (NFC, upper case, no spaces, no trailing dots)."""
    return re.sub(r"\s+", "", nfc(so_hieu)).upper().rstrip(".")


def ascii_fold(text: str) -> str:
    return strip_accents(text).encode("ascii", "replace").decode("ascii")


# ---------------------------------------------------------------------------------------------
# Read-only demo data
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    change: str
    code: str | None
    name: str
    levels: tuple[str, ...]
    replaces: str | None


@dataclass(frozen=True)
class Decision:
    portal_id: str
    so_hieu: str
    trich_yeu: str
    agency: str
    agency_portal_id: str
    agency_code: str | None
    signed: dt.date | None
    published: dt.date | None
    effective: dt.date | None
    fields: tuple[str, ...]
    nfd: bool
    items: tuple[Item, ...]
    attachment: str = field(default="")

    def text(self, value: str) -> str:
        """A text value as this decision is served: NFD for the decisions flagged ``nfd``."""
        return unicodedata.normalize("NFD", value) if self.nfd else value


# libyaml's safe loader when PyYAML has it (the same documents, about 9x faster: procedures.yaml is 200 KB
# and every sandbox — one per test — reads it)
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_yaml_list(path: Path, key: str) -> list[dict[str, Any]]:
    payload = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader
    if payload is None:
        return []
    if isinstance(payload, dict):
        payload = payload.get(key, [])
    if not isinstance(payload, list):
        raise ValueError(f"{path}: expected a list of entries")
    return [entry for entry in payload if isinstance(entry, dict)]


def _opt_str(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


class Catalogue:
    """Decisions, procedures and fields loaded from ``data_dir`` (plus ``synthetic`` generated decisions)."""

    def __init__(self, data_dir: Path, synthetic: int = 0, seed: int = SYNTHETIC_SEED,
                 provinces: Callable[[list[Decision], dict[str, str]], list[Decision]] | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.fields: dict[str, dict[str, str]] = {}
        fields_file = self.data_dir / "fields.yaml"
        if not fields_file.exists():  # the demo's fields are the department's own settings file
            fields_file = SETTINGS_DIR / "fields.yaml"
        for entry in _load_yaml_list(fields_file, "fields"):
            key = str(entry["key"])
            self.fields[key] = {"key": key, "portal_id": str(entry["portal_id"]), "name": str(entry["name"])}
        self.procedures: dict[str, dict[str, Any]] = {}
        for entry in _load_yaml_list(self.data_dir / "procedures.yaml", "procedures"):
            code = str(entry["code"])
            self.procedures[code] = {**entry, "code": code, "portal_id": str(entry.get("portal_id") or "")}
        self._initial_procedures = copy.deepcopy(self.procedures)
        decisions = [self._decision(e) for e in _load_yaml_list(self.data_dir / "decisions.yaml", "decisions")]
        if synthetic > 0:
            decisions += self._synthetic(decisions, synthetic, seed)
        # Newest first: published date descending, then portal id descending.
        decisions.sort(key=_decision_order, reverse=True)
        self.decisions: list[Decision] = []
        self.by_id: dict[str, Decision] = {}
        self.by_attachment: dict[str, Decision] = {}
        self._install(decisions)
        self._initial = list(decisions)
        # Like the real data, some decision numbers carry a stray trailing dot: every third one.
        # Fixed at load, so that decisions inserted later do not change the numbers already served.
        self.stray_dot = {d.portal_id for n, d in enumerate(decisions, start=1) if n % 3 == 0}
        if provinces is not None:  # the other provinces' rows (tthc_dev.sandbox.provinces.generate)
            names = {k: f["name"] for k, f in self.fields.items()}
            decisions = sorted([*decisions, *provinces([d for d in decisions if self.is_ministry(d)], names)],
                               key=_decision_order, reverse=True)
            self._install(decisions)
            self._initial = list(decisions)

    def _install(self, decisions: list[Decision]) -> None:
        # Whole new objects, so that a request being served reads one consistent version.
        self.by_id = {d.portal_id: d for d in decisions}
        self.by_attachment = {d.attachment: d for d in decisions}
        self.decisions = decisions

    def insert(self, new: list[Decision]) -> None:
        """Add decisions (a publication while the sandbox runs); the caller holds the sandbox lock."""
        self._install(sorted([*self.decisions, *new], key=_decision_order, reverse=True))

    def restore(self) -> None:
        """Forget the decisions inserted and the procedure pages amended since load."""
        self._install(list(self._initial))
        self.procedures = copy.deepcopy(self._initial_procedures)

    def procedure_by_portal_id(self, portal_id: str) -> dict[str, Any] | None:
        """The procedure the national portal holds under this internal id (None: not on the portal)."""
        if not portal_id:
            return None
        return next((p for p in self.procedures.values() if p.get("portal_id") == portal_id), None)

    def amend_procedure(self, code: str, changed: dt.date, **details: Any) -> None:
        """Change what the portal's page of procedure ``code`` says (``details`` keys replace those of its
        ``details``: a fee, a time limit) as of ``changed`` (its Last-Modified): the portal editing a
        page, with or without a decision. The caller holds the sandbox lock."""
        proc = copy.deepcopy(self.procedures[code])
        proc["details"] = {**(proc.get("details") or {}), **details}
        proc["details_changed"] = changed
        self.procedures = {**self.procedures, code: proc}

    def max_portal_id(self) -> int:
        return max((int(d.portal_id) for d in self.decisions if d.portal_id.isdigit()), default=0)

    def ministry_agency_id(self) -> str:
        return next((d.agency_portal_id for d in self.decisions if self.is_ministry(d)), "13")

    def free_ministry_number(self, start: int, taken: set[str]) -> tuple[int, str]:
        """The first ``n >= start`` whose ``n/QĐ-BKHCN`` is not in ``taken`` (keys of ``so_hieu_key``)."""
        n = start
        while so_hieu_key(f"{n}/QĐ-BKHCN") in taken:
            n += 1
        return n, f"{n}/QĐ-BKHCN"

    def _synthetic(self, existing: list[Decision], count: int, seed: int) -> list[Decision]:
        """``count`` generated ministry decisions published 2026-01-01..2026-06-30 (seeded, deterministic)."""
        rng = random.Random(seed)
        span = (SYNTHETIC_LAST_DAY - SYNTHETIC_FIRST_DAY).days
        published = sorted(SYNTHETIC_FIRST_DAY + dt.timedelta(days=rng.randint(0, span)) for _ in range(count))
        codes = sorted(self.procedures)
        agency_id = next((d.agency_portal_id for d in existing if self.is_ministry(d)), "13")
        first_id = max((int(d.portal_id) for d in existing if d.portal_id.isdigit()), default=100000) + 1
        taken = {so_hieu_key(d.so_hieu) for d in existing}
        phrases = {"new": "mới ban hành", "amended": "được sửa đổi, bổ sung", "abolished": "bị bãi bỏ"}
        out: list[Decision] = []
        number = 0
        for n, day in enumerate(published):
            portal_id = str(first_id + n)
            number, so_hieu = self.free_ministry_number(number + 1, taken)
            taken.add(so_hieu_key(so_hieu))
            chosen = rng.sample(codes, rng.randint(1, min(3, len(codes)))) if codes else [None]
            items = []
            for code in chosen:
                change = rng.choice(("new", "amended", "abolished"))
                proc = self.procedures.get(code) if code else None
                name = str(proc["name"]) if proc else f"Thủ tục hành chính tổng hợp số {portal_id}"
                levels = tuple(str(x) for x in (proc.get("levels") or ["cap_tinh"])) if proc else ("cap_tinh",)
                items.append(Item(change=change, code=code, name=name, levels=levels, replaces=None))
            proc = self.procedures.get(chosen[0]) if chosen[0] else None
            field_key = str(proc.get("field")) if proc and proc.get("field") in self.fields else None
            if field_key is None and self.fields:
                field_key = next(iter(self.fields))
            field_name = self.fields[field_key]["name"] if field_key else "khoa học và công nghệ"
            changes = [phrases[c] for c in ("new", "amended", "abolished") if any(i.change == c for i in items)]
            what = changes[0] if len(changes) == 1 else ", ".join(changes[:-1]) + " và " + changes[-1]
            signed = day - dt.timedelta(days=rng.randint(1, 5))
            out.append(Decision(
                portal_id=portal_id,
                so_hieu=so_hieu,
                trich_yeu=(f"Về việc công bố thủ tục hành chính {what} trong lĩnh vực {field_name.lower()} "
                           f"thuộc phạm vi chức năng quản lý của {MINISTRY_AGENCY}"),
                agency=MINISTRY_AGENCY,
                agency_portal_id=agency_id,
                agency_code=None,
                signed=signed,
                published=day,
                effective=signed + dt.timedelta(days=rng.randint(30, 60)),
                fields=(field_key,) if field_key else (),
                nfd=False,
                items=tuple(items),
                attachment=_attachment_id(portal_id),
            ))
        return out

    @staticmethod
    def _decision(entry: Mapping[str, Any]) -> Decision:
        portal_id = str(entry["portal_id"])
        items = tuple(
            Item(
                change=str(raw.get("change", "")).strip(),
                code=_opt_str(raw.get("code")),
                name=str(raw.get("name", "")),
                levels=tuple(str(level) for level in (raw.get("levels") or [])),
                replaces=_opt_str(raw.get("replaces")),
            )
            for raw in (entry.get("items") or [])
        )
        return Decision(
            portal_id=portal_id,
            so_hieu=str(entry["so_hieu"]),
            trich_yeu=str(entry.get("trich_yeu", "")),
            agency=str(entry.get("agency", "")),
            agency_portal_id=str(entry.get("agency_portal_id", "")),
            agency_code=_opt_str(entry.get("agency_code")),
            signed=_date(entry.get("signed")),
            published=_date(entry.get("published")),
            effective=_date(entry.get("effective")),
            fields=tuple(str(f) for f in (entry.get("fields") or [])),
            nfd=bool(entry.get("nfd", False)),
            items=items,
            attachment=_attachment_id(portal_id),
        )

    def portal_code(self, decision: Decision) -> str:
        """The decision number as the national portal stores it (possibly with a stray dot)."""
        if decision.portal_id in self.stray_dot and not decision.so_hieu.endswith("."):
            return decision.so_hieu + "."
        return decision.so_hieu

    def procedure_id(self, code: str | None, name: str) -> str:
        proc = self.procedures.get(code) if code else None
        if proc and proc.get("portal_id"):
            return str(proc["portal_id"])
        return "9" + _digits_hash(code or nfc(name))

    def agency_code(self, decision: Decision) -> str:
        if decision.agency_code:
            return decision.agency_code
        known = KNOWN_AGENCY_CODES.get(casefold_key(decision.agency))
        if known:
            return known
        prefix = "H" if casefold_key(decision.agency).startswith("ubnd") else "000.00.00.G"
        return prefix + _digits_hash(decision.agency_portal_id or decision.agency, 2)

    def decision_field_names(self, decision: Decision) -> list[tuple[str, str]]:
        return [(self.fields[k]["portal_id"], self.fields[k]["name"]) for k in decision.fields if k in self.fields]

    def is_ministry(self, decision: Decision) -> bool:
        return casefold_key(decision.agency) == casefold_key(MINISTRY_AGENCY)


    def ministry_decisions(self) -> list[Decision]:
        """The ministry's own decisions (what its website lists), newest first."""
        return [d for d in self.decisions if self.is_ministry(d)]

    def group_items(self, decision: Decision, group: str) -> list[tuple[str | None, str]]:
        """(code, name) of the procedures of one item group: new / modified / rescinded."""
        out: list[tuple[str | None, str]] = []
        for item in decision.items:
            if group == "new" and item.change in ("new", "replaced"):
                out.append((item.code, item.name))
            elif group == "modified" and item.change == "amended":
                out.append((item.code, item.name))
            elif group == "rescinded":
                if item.change == "abolished":
                    out.append((item.code, item.name))
                elif item.change == "replaced" and item.replaces:
                    proc = self.procedures.get(item.replaces)
                    name = str(proc["name"]) if proc else f"Thủ tục {item.replaces}"
                    out.append((item.replaces, name))
        return out

    def publish(self, count: int = 1, published: dt.date | None = None, agency: str | None = None,
                signed: dt.date | None = None) -> list[str]:
        """Publish ``count`` new ministry decisions at the top of the portal's list (as happens while a
        client pages through it): published on ``published`` (default: the newest existing date), portal
        ids above all others, one new provincial-level procedure each; ``agency`` (default the ministry)
        names another issuing agency (its own portal id); ``signed`` the signing date (default two days
        before the publication). Returns their portal ids; the caller holds the sandbox lock."""
        newest = published or max((d.published for d in self.decisions if d.published and self.is_ministry(d)),
                                   default=dt.date.today())
        next_id = self.max_portal_id() + 1
        taken = {so_hieu_key(d.so_hieu) for d in self.decisions}
        numbers = [int(m.group(0)) for d in self.decisions
                   if self.is_ministry(d) and (m := re.match(r"\d+", d.so_hieu))]
        number = max(numbers, default=0)
        field_key = next((d.fields[0] for d in self.decisions if self.is_ministry(d) and d.fields), None)
        if field_key is None and self.fields:
            field_key = next(iter(self.fields))
        agency_id = self.ministry_agency_id()
        if agency is not None and casefold_key(agency) != casefold_key(MINISTRY_AGENCY):
            agency_id = str(900 + int(_digits_hash(casefold_key(agency), 2)))
        new: list[Decision] = []
        for n in range(count):
            portal_id = str(next_id + n)
            number, so_hieu = self.free_ministry_number(number + 1, taken)
            taken.add(so_hieu_key(so_hieu))
            signed = signed or newest - dt.timedelta(days=2)
            new.append(Decision(
                portal_id=portal_id,
                so_hieu=so_hieu,
                trich_yeu=f"Về việc công bố thủ tục hành chính mới ban hành thuộc phạm vi chức năng quản lý "
                          f"của {MINISTRY_AGENCY} (công bố bổ sung {portal_id})",
                agency=agency or MINISTRY_AGENCY,
                agency_portal_id=agency_id,
                agency_code=None,
                signed=signed,
                published=newest,
                effective=signed + dt.timedelta(days=45),
                fields=(field_key,) if field_key else (),
                nfd=False,
                items=(Item(change="new", code=None, name=f"Thủ tục hành chính mới ban hành số {portal_id}",
                            levels=("cap_tinh",), replaces=None),),
                attachment=_attachment_id(portal_id),
            ))
        self.insert(new)
        return [d.portal_id for d in new]
