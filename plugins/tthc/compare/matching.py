"""Match procedure names from decisions and spreadsheets to the catalogue (rapidfuzz, blocked by field).

Order of the rules in :meth:`Matcher.match`:

1. a person's earlier decision on the same (normalised) name, from a :class:`ReviewMemory`;
2. a code that exists in the catalogue → ``matched`` (score 100);
3. a code that does not exist → name matching below, but the verdict is at most ``review``: an item is
   never auto-matched to a procedure carrying another code (or none);
4. the normalised name equal to exactly one candidate's (or, failing that, equal once accents are dropped)
   → ``matched``; equal to several → ``review`` (the catalogue holds the same name twice);
5. the name ending with a level ("(cấp tỉnh)") that the catalogue name lacks, or words it differently
   ("thực hiện tại cấp tỉnh", "(Cấp tỉnh) Thủ tục …") → ``matched`` when exactly one candidate fits that
   level; the name without a level while the catalogue names it at several levels → ``review``;
6. fuzzy: :data:`SCORER` over the item's field block (all candidates when the field is unknown or the
   block has nothing close) → ``matched`` only if the best score ≥ :data:`AUTO`, it leads the second
   best by ≥ :data:`MARGIN` *and* the two names have the same words but for one mistyped word
   (:func:`words_differ_only_by_typos`); else ``review`` if ≥ :data:`REVIEW`; else ``not_found``.
   A best candidate from outside the item's field is at most ``review``.

Levels are a blocking key: a level the item's name states (:func:`name_level`) that differs from the
candidate's (stated by its name, else the catalogue's levels) makes rules 4–6 answer ``review``, never
``matched``, whatever the score.

Scores alone cannot be trusted for auto-matching: on the real national list "Cấp lại thẻ kiểm định viên …"
scores 96.4 (token_sort_ratio) against "Cấp thẻ kiểm định viên …", a different procedure; without the
word check an early run of the evaluation (token_sort_ratio, 95/3) made 703 wrong auto-matches of 4,043.
With it, every (scorer, AUTO 88–96, MARGIN 0–3) setting had precision 1.00; ``fuzz.ratio`` had the best recall (word order in procedure
names is fixed, and token sorting moves a mistyped word). The thresholds were chosen with
:func:`tthc_dev.match_eval.evaluate` on variants of real procedure names (see that module).
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, NamedTuple, Protocol

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from tthc.core.text import clean, match_key

AUTO = 95.0
MARGIN = 3.0
REVIEW = 80.0
ALTERNATIVES = 3
SCORER = fuzz.ratio  # chosen by match_eval.sweep over ratio / token_sort_ratio / WRatio
_CHUNK = 2048  # rows of a cdist block at once (bounds memory: CHUNK × block size float32)

Verdict = Literal["matched", "review", "not_found"]

_PAREN_CODE = re.compile(r"\s*[(\[]\s*(?:mã(?:\s+(?:số|tthc|thủ tục))?\s*:?\s*)?\d\s*\.\s*\d{6}\s*[)\]]",
                         re.IGNORECASE)
_TRAILING_CODE = re.compile(r"\s*[-–:]\s*(?:mã(?:\s+(?:số|tthc))?\s*:?\s*)?\d\.\d{6}\s*$", re.IGNORECASE)
_LEADING_CODE = re.compile(r"^\s*(?:mã(?:\s+(?:số|tthc))?\s*:?\s*)?\d\.\d{6}\s*[-–.:)]\s*", re.IGNORECASE)
_KH_CN = re.compile(r"\bkh\s*&\s*cn\b", re.IGNORECASE)
# whole-word abbreviations, applied to the match key (lower case, no punctuation)
_WORD_ABBREVIATIONS = {
    "khcn": "khoa học và công nghệ",
    "tcđlcl": "tiêu chuẩn đo lường chất lượng",
    "gcn": "giấy chứng nhận",
    "shtt": "sở hữu trí tuệ",
    "nlnt": "năng lượng nguyên tử",
    "ubnd": "ủy ban nhân dân",
}
_WORD_RE = re.compile(r"\b(" + "|".join(_WORD_ABBREVIATIONS) + r")\b")
_WS = re.compile(r"\s+")
_LEVEL_SUFFIX = re.compile(r"\s+cấp\s+(tỉnh|xã|huyện|trung ương|bộ)$")
_LEVEL_PREFIX = re.compile(r"^cấp\s+(tỉnh|xã|huyện|trung ương|bộ)\s+(?:thủ tục\s+)?")
_LEVEL_LEAD = (re.compile(r"\s+tthc$"), re.compile(r"\s+(?:tại|ở)$"), re.compile(r"\s+(?:thực hiện|áp dụng)$"))
# A level qualifier of a name (the real lists write "(cấp tỉnh)", "(thực hiện tại cấp tỉnh)", "(TTHC cấp trung
# ương)", "(Cấp tỉnh) Thủ tục …", "… tại cấp xã"): in brackets at either end, or "cấp …" ending the name.
_QUALIFIER = r"(?:thực hiện\s+|áp dụng\s+)?(?:tại\s+|ở\s+)?(?:tthc\s+)?(cấp\s+(?:tỉnh|xã|huyện|trung ương|bộ)|trung ương)"
_LEVEL_IN_BRACKETS_END = re.compile(r"[(\[]\s*" + _QUALIFIER + r"\s*[)\]]\s*\.?$", re.IGNORECASE)
_LEVEL_IN_BRACKETS_START = re.compile(r"^\s*[(\[]\s*" + _QUALIFIER + r"\s*[)\]]", re.IGNORECASE)
_LEVEL_AT_END = re.compile(r"\s(cấp\s+(?:tỉnh|xã|huyện|trung ương|bộ))\s*\.?$", re.IGNORECASE)
LEVEL_OF_WORDS = {"cấp tỉnh": "cap_tinh", "cấp xã": "cap_xa", "cấp huyện": "cap_huyen",
                  "cấp trung ương": "cap_trung_uong", "cấp bộ": "cap_trung_uong", "trung ương": "cap_trung_uong"}


@lru_cache(maxsize=65536)
def normalise_name(name: str | None) -> str:
    """The comparison key of a procedure name: :func:`tthc.core.text.match_key` plus common abbreviations
    expanded, codes in brackets ("( 1.001498 )") dropped, a leading "Thủ tục" dropped, spaces collapsed."""
    t = clean(name)
    for rx in (_PAREN_CODE, _TRAILING_CODE, _LEADING_CODE):
        t = rx.sub("", t)
    t = _KH_CN.sub("khoa học và công nghệ", t)
    t = match_key(t)
    t = _WORD_RE.sub(lambda m: _WORD_ABBREVIATIONS[m.group(1)], t)
    t = _WS.sub(" ", t).strip()
    while _unaccented(t[:8]) == "thu tuc ":  # also "Thu tuc", "thủ tuc"
        t = t[8:]
    return t


def _strip_marks(ch: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))


_UNACCENT = str.maketrans({chr(c): _strip_marks(chr(c)) for c in range(0xC0, 0x1F00)
                           if _strip_marks(chr(c)) != chr(c)} | {"đ": "d", "Đ": "D"})


def _unaccented(key: str) -> str:
    """``key`` without diacritics (NFC input; đ → d)."""
    return key.translate(_UNACCENT)


def words_differ_only_by_typos(a: str, b: str, vocabulary: set[str] | frozenset[str] = frozenset(),
                               max_words: int = 1) -> bool:
    """True when normalised names ``a`` (typed) and ``b`` (catalogue) have the same words in the same order
    but for at most ``max_words`` mistyped words of ``a``: accents missing, or one letter dropped, doubled,
    swapped or changed. A mistyped word must not itself be a word of ``vocabulary`` (the catalogue's
    words): a word added, dropped or replaced by another real word ("Cấp lại …" / "Cấp …", "giám định" /
    "đánh giá") or a different number makes a different procedure, however high the similarity score."""
    wa, wb = a.split(), b.split()
    if len(wa) != len(wb):
        return False
    diff = [(x, y) for x, y in zip(wa, wb, strict=True) if x != y]
    if len(diff) > max_words:
        return False
    for x, y in diff:
        if x in vocabulary or any(c.isdigit() for c in x + y):
            return False
        if _unaccented(x) != _unaccented(y) and not (len(y) >= 4 and OSA.distance(x, y) <= 1):
            return False
    return True


@lru_cache(maxsize=65536)
def name_level(name: str | None) -> str | None:
    """The level a procedure name states ("… (cấp tỉnh)" → ``cap_tinh``; "(TTHC cấp trung ương)", "(Cấp xã)
    …", "… tại cấp xã" too), or None. A level in the middle of a name ("… nhiệm vụ khoa học và công nghệ cấp
    tỉnh sử dụng ngân sách …") describes something else and is not read."""
    text = _WS.sub(" ", clean(name).lower())
    m = _LEVEL_IN_BRACKETS_END.search(text) or _LEVEL_IN_BRACKETS_START.search(text) or _LEVEL_AT_END.search(text)
    if m is None:
        return None
    return LEVEL_OF_WORDS.get(_WS.sub(" ", m.group(1)))


def _level_stems(key: str) -> list[tuple[str, str]]:
    """A key ending with a level ("… thực hiện tại cấp tỉnh") as (stem, level) pairs, shortest cut first:
    "… thực hiện tại", "… thực hiện", "…" — the words before "cấp" may belong to the name itself. A key
    starting with one ("cấp tỉnh thủ tục mua sáng chế …", from "(Cấp tỉnh) Thủ tục …") gives the rest."""
    lead = _LEVEL_PREFIX.match(key)
    if lead and lead.end() < len(key):
        return [(key[lead.end():], lead.group(1))]
    m = _LEVEL_SUFFIX.search(key)
    if not m or m.start() == 0:
        return []
    stem, level = key[:m.start()], m.group(1)
    out = [(stem, level)]
    for rx in _LEVEL_LEAD:
        stem = rx.sub("", stem)
        if stem and stem != out[-1][0]:
            out.append((stem, level))
    return out


# --- people's decisions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonDecision:
    """What a person decided for a name sent to review: the catalogue code, or None ("not in the catalogue")."""

    code: str | None


class ReviewMemory(Protocol):
    """Where people's decisions on review items are kept, keyed by :func:`normalise_name` of the item name.

    ``session`` is the caller's database session (a DB-backed store needs it; in-memory ones ignore it).
    """

    def remember(self, session: Any, name: str, code: str | None) -> None: ...

    def recall(self, session: Any, name: str) -> PersonDecision | None: ...


class DictReviewMemory:
    """In-memory :class:`ReviewMemory` (tests, one-off CLI runs)."""

    def __init__(self) -> None:
        self._decisions: dict[str, PersonDecision] = {}

    def remember(self, session: Any, name: str, code: str | None) -> None:
        self._decisions[normalise_name(name)] = PersonDecision(code)

    def recall(self, session: Any, name: str) -> PersonDecision | None:
        return self._decisions.get(normalise_name(name))

    def __len__(self) -> int:
        return len(self._decisions)


# --- matching ------------------------------------------------------------------------------------------


class Candidate(NamedTuple):
    code: str | None
    name: str
    field_key: str | None = None
    levels: tuple[str, ...] = ()  # the catalogue's levels (cap_tinh, cap_xa, …); () when unknown


class Alternative(NamedTuple):
    code: str | None
    name: str
    score: float


@dataclass
class MatchResult:
    verdict: Verdict
    code: str | None = None
    name: str | None = None
    score: float = 0.0
    alternatives: list[Alternative] = field(default_factory=list)
    reason: str = ""
    index: int | None = field(default=None, repr=False, compare=False)  # the candidate's position


@dataclass
class _Block:
    keys: list[str]
    idx: list[int]


def candidates_from_catalogue(session: Any, *, include_abolished: bool = True) -> list[Candidate]:
    """The province catalogue (``procedures``) as match candidates."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from tthc.db.models import Procedure

    stmt = select(Procedure).options(selectinload(Procedure.field)).order_by(Procedure.id)
    if not include_abolished:
        stmt = stmt.where(Procedure.status == "active")
    return [Candidate(p.code, p.name, p.field.key if p.field else None, tuple(p.level_list))
            for p in session.scalars(stmt)]


class Matcher:
    """Matches names (and codes) to a fixed list of candidates; build once, match many times."""

    def __init__(self, candidates: Sequence[Candidate], *, memory: ReviewMemory | None = None,
                 session: Any = None, auto: float = AUTO, margin: float = MARGIN, review: float = REVIEW,
                 scorer: Any = SCORER) -> None:
        self.candidates = [c if isinstance(c, Candidate) else Candidate(*c) for c in candidates]
        self.memory, self.session = memory, session
        self.auto, self.margin, self.review, self.scorer = auto, margin, review, scorer
        self.keys = [normalise_name(c.name) for c in self.candidates]
        # a candidate's level: the one its name states, else the catalogue's
        self.cand_levels = [frozenset([lv]) if (lv := name_level(c.name)) else frozenset(c.levels)
                            for c in self.candidates]
        self.by_code: dict[str, int] = {}
        self.by_key: dict[str, list[int]] = defaultdict(list)
        self.by_unaccented: dict[str, list[int]] = defaultdict(list)
        self.by_stem: dict[str, dict[int, str | None]] = defaultdict(dict)
        fields: dict[str | None, list[int]] = defaultdict(list)
        for i, (cand, key) in enumerate(zip(self.candidates, self.keys, strict=True)):
            if cand.code:
                self.by_code.setdefault(cand.code.strip(), i)
            self.by_key[key].append(i)
            self.by_unaccented[_unaccented(key)].append(i)
            for stem, level in _level_stems(key) or [(key, None)]:
                self.by_stem[stem].setdefault(i, level)
            fields[cand.field_key].append(i)
        unfielded = fields.get(None, [])
        # a field's block also holds the candidates whose field is unknown
        self.blocks = {f: _Block([self.keys[i] for i in ids + unfielded], ids + unfielded)
                       for f, ids in fields.items() if f is not None}
        self.vocabulary = frozenset(w for k in self.keys for w in k.split())
        self.global_block = _Block(self.keys, list(range(len(self.keys))))

    # -- helpers
    def _result(self, verdict: Verdict, i: int | None, score: float, alts: list[Alternative],
                reason: str) -> MatchResult:
        cand = self.candidates[i] if i is not None else None
        return MatchResult(verdict, cand.code if cand else None, cand.name if cand else None, round(score, 1),
                           alts, reason, index=i)

    def _alts(self, scored: list[tuple[int, float]], skip: int | None = None) -> list[Alternative]:
        out = [Alternative(self.candidates[i].code, self.candidates[i].name, round(s, 1))
               for i, s in scored if i != skip]
        return out[:ALTERNATIVES]

    def _in_field(self, i: int, field_key: str | None) -> bool:
        return field_key is None or field_key not in self.blocks or self.candidates[i].field_key in (None, field_key)

    def _block_for(self, field_key: str | None) -> _Block:
        return self.blocks.get(field_key, self.global_block) if field_key else self.global_block

    def _extract(self, key: str, block: _Block) -> list[tuple[int, float]]:
        hits = process.extract(key, block.keys, scorer=self.scorer, processor=None, limit=ALTERNATIVES + 1,
                               score_cutoff=min(self.review, 50.0))
        return [(block.idx[j], float(s)) for _, s, j in hits]

    # -- the rules
    def match(self, name: str, code: str | None = None, field_key: str | None = None) -> MatchResult:
        key = normalise_name(name)
        return self._match_key(name, key, code, field_key, None)

    def _match_key(self, name: str, key: str, code: str | None, field_key: str | None,
                   scored: list[tuple[int, float]] | None) -> MatchResult:
        pre = self._decided_or_code(name, code)
        if pre is not None:
            return pre
        res = self._exact(key, field_key) or self._fuzzy(key, field_key, scored)
        return self._cap(self._level_cap(res, name), code)

    def _level_cap(self, res: MatchResult, name: str) -> MatchResult:
        """A level stated in the item's name is a blocking key: never auto-matched to a procedure of another
        level (by its name, else the catalogue's levels); such a match goes to review."""
        level = name_level(name)
        if res.verdict != "matched" or level is None or res.index is None:
            return res
        known = self.cand_levels[res.index]
        if known and level not in known:
            res.verdict = "review"
            theirs = ", ".join(sorted(known))
            res.reason = f"the name says {level}, the catalogue procedure is {theirs}: not matched across levels"
        return res

    def _decided_or_code(self, name: str, code: str | None) -> MatchResult | None:
        if self.memory is not None:
            decided = self.memory.recall(self.session, name)
            if decided is not None:
                if decided.code is None:
                    return MatchResult("not_found", score=100.0, reason="decided by a person: not in the catalogue")
                i = self.by_code.get(decided.code)
                if i is not None:
                    return self._result("matched", i, 100.0, [], "decided by a person")
        code = (code or "").strip()
        if code and code in self.by_code:
            return self._result("matched", self.by_code[code], 100.0, [], "code found in the catalogue")
        return None

    @staticmethod
    def _cap(res: MatchResult, code: str | None) -> MatchResult:
        """An item whose code is unknown is never auto-matched to another procedure."""
        code = (code or "").strip()
        if code and res.verdict == "matched":
            res.verdict = "review"
            res.reason = f"code {code} is not in the catalogue; the name resembles {res.code or 'a procedure without code'}"
        elif code:
            res.reason = f"code {code} is not in the catalogue; {res.reason}"
        return res

    def _exact(self, key: str, field_key: str | None) -> MatchResult | None:
        if not key:
            return MatchResult("not_found", reason="empty name")
        exact = self.by_key.get(key) or self.by_unaccented.get(_unaccented(key)) or []
        if exact:
            inside = [i for i in exact if self._in_field(i, field_key)]
            if len(exact) == 1 and inside:
                return self._result("matched", exact[0], 100.0, [], "same name")
            others = [(i, 100.0) for i in exact]
            if len(inside) == 1 and field_key is not None:
                return self._result("matched", inside[0], 100.0, self._alts(others, inside[0]),
                                    "same name, the only one in the item's field")
            first = (inside or exact)[0]
            reason = "same name in another field" if not inside else "the catalogue holds this name more than once"
            return self._result("review", first, 100.0, self._alts(others, first), reason)
        for stem, level in _level_stems(key):
            group = self.by_stem.get(stem)
            if not group:
                continue
            fits = [i for i, lv in group.items() if lv == level]
            if not fits and len(group) == 1 and None in group.values():
                fits = list(group)
            if len(fits) == 1 and self._in_field(fits[0], field_key):
                alts = self._alts([(i, 100.0) for i in group], fits[0])
                return self._result("matched", fits[0], 100.0, alts, "same name, level worded differently")
            break  # several procedures share the name at different levels: leave it to the scores
        if not _level_stems(key) and (group := self.by_stem.get(key)):
            # "Cấp lại thẻ căn cước" against "… (thực hiện tại cấp tỉnh)" / "… (cấp trung ương)": which level?
            ids = [i for i in group if self._in_field(i, field_key)] or list(group)
            return self._result("review", ids[0], 100.0, self._alts([(i, 100.0) for i in group], ids[0]),
                                "same name but the catalogue names the level")
        return None

    def _fuzzy(self, key: str, field_key: str | None, scored: list[tuple[int, float]] | None) -> MatchResult:
        if scored is None:
            block = self._block_for(field_key)
            scored = self._extract(key, block)
            if (not scored or scored[0][1] < self.review) and block is not self.global_block:
                scored = self._extract(key, self.global_block)
        if not scored or scored[0][1] < self.review:
            return MatchResult("not_found", score=round(scored[0][1], 1) if scored else 0.0,
                               alternatives=self._alts(scored), reason="no catalogue name is close enough")
        best, best_score = scored[0]
        second = scored[1][1] if len(scored) > 1 else 0.0
        alts = self._alts(scored, best)
        if not self._in_field(best, field_key):
            return self._result("review", best, best_score, alts, "closest name is in another field")
        if best_score >= self.auto and best_score - second >= self.margin:
            if words_differ_only_by_typos(key, self.keys[best], self.vocabulary):
                return self._result("matched", best, best_score, alts, "same words but for a typo")
            return self._result("review", best, best_score, alts, "similar name but different words")
        why = "another name is almost as close" if best_score >= self.auto else "similar but not the same name"
        return self._result("review", best, best_score, alts, why)

    # -- many at once
    def match_many(self, items: Iterable[tuple[str, str | None, str | None]], *, workers: int = 1) -> list[MatchResult]:
        """Match ``(name, code, field_key)`` items; fuzzy scoring is batched per field block with
        :func:`rapidfuzz.process.cdist` (``workers=-1`` uses every core). Same results as :meth:`match`."""
        import numpy as np

        items = list(items)
        keys: list[str] = [""] * len(items)
        results: list[MatchResult | None] = [None] * len(items)
        pending: dict[int, list[int]] = defaultdict(list)  # id(block) -> item indexes needing fuzzy scores
        blocks: dict[int, _Block] = {}
        for n, (name, code, fkey) in enumerate(items):
            pre = self._decided_or_code(name, code)
            if pre is not None:
                results[n] = pre
                continue
            keys[n] = key = normalise_name(name)
            res = self._exact(key, fkey)
            if res is not None:
                results[n] = self._cap(self._level_cap(res, name), code)
                continue
            block = self._block_for(fkey)
            blocks[id(block)] = block
            pending[id(block)].append(n)
        cutoff = min(self.review, 50.0)
        retry: list[int] = []
        for bid, rows in pending.items():
            block = blocks[bid]
            top = self._top_scores(np, [keys[n] for n in rows], block, cutoff, workers)
            for n, scored in zip(rows, top, strict=True):
                if (not scored or scored[0][1] < self.review) and block is not self.global_block:
                    retry.append(n)
                    continue
                name, code, fkey = items[n]
                results[n] = self._match_key(name, keys[n], code, fkey, scored)
        if retry:
            top = self._top_scores(np, [keys[n] for n in retry], self.global_block, cutoff, workers)
            for n, scored in zip(retry, top, strict=True):
                name, code, fkey = items[n]
                results[n] = self._match_key(name, keys[n], code, fkey, scored)
        return results  # type: ignore[return-value]

    def _top_scores(self, np: Any, queries: list[str], block: _Block, cutoff: float,
                    workers: int) -> list[list[tuple[int, float]]]:
        out: list[list[tuple[int, float]]] = []
        k = min(ALTERNATIVES + 1, len(block.keys))
        if k == 0:
            return [[] for _ in queries]
        for start in range(0, len(queries), _CHUNK):
            chunk = queries[start:start + _CHUNK]
            m = process.cdist(chunk, block.keys, scorer=self.scorer, processor=None, score_cutoff=cutoff,
                              dtype=np.float64, workers=workers)
            part = np.argpartition(-m, k - 1, axis=1)[:, :k] if k < m.shape[1] else np.tile(np.arange(m.shape[1]), (len(chunk), 1))
            for r in range(len(chunk)):
                cols = sorted(part[r], key=lambda c, r=r: (-m[r, c], c))
                out.append([(block.idx[c], float(m[r, c])) for c in cols if m[r, c] > 0])
        return out
