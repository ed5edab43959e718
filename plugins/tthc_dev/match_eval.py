"""A labelled evaluation of :mod:`tthc.compare.matching` on real procedure names, and a national-scale bench.

The evaluation reads the published procedures of the national portal from the reference directory the
caller gives (``../shared/reference``; nothing is copied into the project) and builds, deterministically:

- a catalogue: every distinct code, except a *held-out* set — one procedure of each pair of real names
  that are close but different ("Cấp lại …" / "Cấp …", "… cấp tỉnh" / "… cấp trung ương");
- positives: for a sample of ~300 catalogued procedures (all close-pair members kept plus a hashed sample
  of the rest), the variants people really type: NFD text, old tone placement (hoà, thuỷ), case changes,
  "Thủ tục" added or removed, abbreviations (KH&CN, GCN, SHTT, …), punctuation and spacing noise, a
  trailing "(cấp tỉnh)" or code "( 1.001498 )", a one-letter typo, one word without accents;
- negatives: the held-out names and variants of them (true label: not in the catalogue), and items
  carrying an unknown code (must never be auto-matched).

``recall`` = positives auto-matched to the right code / positives; ``precision_auto`` = right auto-matches
/ all auto-matches (positives and negatives). Names that the catalogue holds under several codes can only
go to review and are left out of the positives (counted in ``ambiguous_names``).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import time
import tracemalloc
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process
from tthc.compare import matching
from tthc.compare.matching import Candidate, Matcher, normalise_name

PROCEDURE_FILES = ("published_procedures_citizens.json", "published_procedures_businesses.json")
SAMPLE = 300
CLOSE = 85.0  # token_sort_ratio between normalised names at which two real procedures count as a close pair

_NEW_TO_OLD_TONE = {"òa": "oà", "óa": "oá", "ỏa": "oả", "õa": "oã", "ọa": "oạ", "òe": "oè", "óe": "oé",
                    "ỏe": "oẻ", "õe": "oẽ", "ọe": "oẹ", "ùy": "uỳ", "úy": "uý", "ủy": "uỷ", "ũy": "uỹ", "ụy": "uỵ"}
_NEW_TONE_RE = re.compile("(" + "|".join(_NEW_TO_OLD_TONE) + r")(?!\w)")
_ABBREVIATE = [("khoa học và công nghệ", "KH&CN"), ("Khoa học và Công nghệ", "KHCN"), ("giấy chứng nhận", "GCN"),
               ("Giấy chứng nhận", "GCN"), ("sở hữu trí tuệ", "SHTT"), ("năng lượng nguyên tử", "NLNT"),
               ("tiêu chuẩn đo lường chất lượng", "TCĐLCL"), ("Ủy ban nhân dân", "UBND"),
               ("Uỷ ban nhân dân", "UBND"), ("ủy ban nhân dân", "UBND")]
_LEVEL_WORDS = re.compile(r"cấp (tỉnh|xã|huyện|trung ương|bộ)", re.IGNORECASE)


def default_reference_dir() -> Path:
    from tthc.core.config import project_root

    return Path(os.environ.get("TTHC_REFERENCE_DIR") or project_root().parent / "shared" / "reference")


def load_reference_procedures(reference_dir: str | Path) -> list[tuple[str, str]]:
    """(code, name) of every distinct published procedure, sorted by code."""
    base = Path(reference_dir) / "national-portal" / "procedures"
    seen: dict[str, str] = {}
    for fname in PROCEDURE_FILES:
        for row in json.loads((base / fname).read_text(encoding="utf-8")):
            code, name = (row.get("TTHC_MA") or "").strip(), (row.get("NAME") or "").strip()
            if code and name:
                seen.setdefault(code, name)
    return sorted(seen.items())


def _h(*parts: str) -> int:
    return int.from_bytes(hashlib.sha1("|".join(parts).encode()).digest()[:8], "big")


# --- variants ------------------------------------------------------------------------------------------


def _lower_first(s: str) -> str:
    return s[:1].lower() + s[1:]


def _typo(name: str, rnd: random.Random) -> str | None:
    words = [(m.start(), m.end()) for m in re.finditer(r"\w{5,}", name)]
    if len(name) < 30 or not words:
        return None
    a, b = rnd.choice(words)
    w = name[a:b]
    k = rnd.randrange(1, len(w) - 1)
    kind = rnd.choice(("drop", "double", "swap"))
    if kind == "drop":
        w = w[:k] + w[k + 1:]
    elif kind == "double":
        w = w[:k] + w[k] + w[k:]
    else:
        w = w[:k - 1] + w[k] + w[k - 1] + w[k + 1:]
    return name[:a] + w + name[b:]


def _unaccent_word(name: str, rnd: random.Random) -> str | None:
    words = [(m.start(), m.end()) for m in re.finditer(r"\w+", name)
             if any(unicodedata.combining(c) for c in unicodedata.normalize("NFD", m.group(0)))]
    if not words:
        return None
    a, b = rnd.choice(words)
    w = "".join(c for c in unicodedata.normalize("NFD", name[a:b]) if not unicodedata.combining(c))
    return name[:a] + w.replace("đ", "d").replace("Đ", "D") + name[b:]


def _punct_noise(name: str, rnd: random.Random) -> str:
    t = name
    t = t.replace(", ", rnd.choice((" , ", ",", ";  ")))
    t = re.sub(r"\s+", lambda _: rnd.choice((" ", "  ", " \n")), t, count=2)
    return rnd.choice(("- ", "", "  ", "+ ")) + t + rnd.choice((".", ";", " ", "..", ""))


def variants(code: str, name: str) -> list[tuple[str, str]]:
    """(kind, variant) pairs people really produce for ``name`` (only the kinds that apply)."""
    rnd = random.Random(_h("variants", code))
    out = [("nfd", unicodedata.normalize("NFD", name))]
    if _NEW_TONE_RE.search(name):
        out.append(("old_tone", _NEW_TONE_RE.sub(lambda m: _NEW_TO_OLD_TONE[m.group(0)], name)))
    out.append(("upper", name.upper()))
    out.append(("lower", name.lower()))
    if name.lower().startswith("thủ tục "):
        out.append(("no_thu_tuc", name[len("thủ tục "):]))
    else:
        out.append(("thu_tuc", "Thủ tục " + _lower_first(name)))
    for full, short in _ABBREVIATE:
        if full in name:
            out.append(("abbreviation", name.replace(full, short)))
            break
    out.append(("punctuation", _punct_noise(name, rnd)))
    if not _LEVEL_WORDS.search(name):
        out.append(("level_suffix", name + rnd.choice((" (cấp tỉnh)", " - cấp tỉnh", " (Cấp tỉnh)"))))
    elif name.endswith("(thực hiện tại cấp tỉnh)"):
        out.append(("level_suffix", name.replace("(thực hiện tại cấp tỉnh)", "(cấp tỉnh)")))
    out.append(("code_suffix", f"{name} ( {code} )"))
    if (t := _typo(name, rnd)) is not None:
        out.append(("typo", t))
    if (t := _unaccent_word(name, rnd)) is not None:
        out.append(("unaccented_word", t))
    out.append(("combined", "thủ tục " + unicodedata.normalize("NFD", name.upper()) + " "))
    return out


# --- the labelled set ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    code: str | None  # code given with the item (None for name-only items)
    label: str | None  # the right catalogue code, None = not in the catalogue
    kind: str
    group: str  # positive | negative | unknown_code


@dataclass
class EvalSet:
    catalogue: list[Candidate]
    cases: list[Case]
    held_out: list[tuple[str, str]]
    ambiguous_names: int


def close_pairs(procs: list[tuple[str, str]], threshold: float = CLOSE) -> list[tuple[int, int, float]]:
    """Pairs (i, j, score) of different procedures whose normalised names are close but not equal."""
    keys = [normalise_name(n) for _, n in procs]
    m = process.cdist(keys, keys, scorer=fuzz.token_sort_ratio, processor=None, score_cutoff=threshold,
                      workers=-1)
    pairs = []
    for i in range(len(keys)):
        for j in range(i + 1, len(keys)):
            if m[i, j] >= threshold and keys[i] != keys[j]:
                pairs.append((i, j, float(m[i, j])))
    return pairs


def build_eval_set(reference_dir: str | Path, sample: int = SAMPLE) -> EvalSet:
    procs = load_reference_procedures(reference_dir)
    by_key: dict[str, list[int]] = defaultdict(list)
    for i, (_, n) in enumerate(procs):
        by_key[normalise_name(n)].append(i)
    ambiguous = {i for ids in by_key.values() if len(ids) > 1 for i in ids}
    pairs = close_pairs(procs)
    # hold out one member of each close pair (the one with the larger hash), so its neighbour stays
    held: set[int] = set()
    kept_close: set[int] = set()
    for i, j, _ in sorted(pairs, key=lambda p: -p[2]):
        if i in held or j in held:
            continue
        drop, keep = (i, j) if _h("hold", procs[i][0]) > _h("hold", procs[j][0]) else (j, i)
        if keep in ambiguous or drop in ambiguous:
            continue
        if len(held) < 120:
            held.add(drop)
        kept_close.add(keep)
    catalogue = [Candidate(c, n, None) for k, (c, n) in enumerate(procs) if k not in held]
    eligible = [k for k in range(len(procs)) if k not in held and k not in ambiguous]
    hard = sorted(k for k in kept_close if k in eligible)
    rest = sorted((k for k in eligible if k not in kept_close), key=lambda k: _h("sample", procs[k][0]))
    chosen = (hard + rest)[:max(sample, 0)] if len(hard) < sample else hard[:sample]
    cases: list[Case] = []
    for k in sorted(chosen):
        code, name = procs[k]
        cases.append(Case(name, None, code, "exact", "positive"))
        cases.extend(Case(v, None, code, kind, "positive") for kind, v in variants(code, name))
        if _h("unknown", code) % 5 == 0:  # an item citing a code the catalogue lacks
            cases.append(Case(name, "9.9" + code[-5:], None, "unknown_code", "unknown_code"))
    for k in sorted(held):
        code, name = procs[k]
        cases.append(Case(name, None, None, "held_out", "negative"))
        cases.extend(Case(v, None, None, "held_out_" + kind, "negative") for kind, v in variants(code, name)
                     if kind in ("nfd", "upper", "thu_tuc", "punctuation", "typo", "unaccented_word", "combined"))
    return EvalSet(catalogue, cases, [procs[k] for k in sorted(held)], len(ambiguous))


def score_cases(matcher: Matcher, cases: list[Case]) -> dict[str, Any]:
    results = matcher.match_many([(c.name, c.code, None) for c in cases])
    auto = review = not_found = correct_auto = false_auto = positives = hits = 0
    misses: dict[str, int] = defaultdict(int)
    false: list[dict[str, Any]] = []
    for case, res in zip(cases, results, strict=True):
        auto += res.verdict == "matched"
        review += res.verdict == "review"
        not_found += res.verdict == "not_found"
        if res.verdict == "matched":
            if case.label is not None and res.code == case.label:
                correct_auto += 1
            else:
                false_auto += 1
                false.append({"name": case.name, "kind": case.kind, "label": case.label, "got": res.code,
                              "score": res.score, "reason": res.reason})
        if case.group == "positive":
            positives += 1
            if res.verdict == "matched" and res.code == case.label:
                hits += 1
            else:
                misses[case.kind] += 1
    return {"n": len(cases), "positives": positives, "auto": auto, "review": review, "not_found": not_found,
            "false_auto": false_auto, "precision_auto": round(correct_auto / auto, 4) if auto else 1.0,
            "recall": round(hits / positives, 4) if positives else 0.0, "misses_by_kind": dict(misses),
            "false_auto_examples": false[:10]}


def evaluate(reference_dir: str | Path | None = None, *, auto: float = matching.AUTO,
             margin: float = matching.MARGIN, review: float = matching.REVIEW, scorer: Any = None) -> dict[str, Any]:
    """Precision of auto-matches and recall on the labelled set built from ``reference_dir``."""
    es = build_eval_set(reference_dir or default_reference_dir())
    m = Matcher(es.catalogue, auto=auto, margin=margin, review=review, scorer=scorer or matching.SCORER)
    out = score_cases(m, es.cases)
    out.update(catalogue=len(es.catalogue), held_out=len(es.held_out), ambiguous_names=es.ambiguous_names,
               thresholds={"auto": auto, "margin": margin, "review": review},
               scorer=getattr(scorer or matching.SCORER, "__name__", str(scorer)))
    return out


def sweep(reference_dir: str | Path | None = None, autos: Iterable[float] = (85, 88, 90, 92, 93, 94, 95, 96, 97),
          margins: Iterable[float] = (0, 1, 2, 3, 4, 5, 6), scorers: Iterable[Any] = (fuzz.token_sort_ratio,
                                                                                     fuzz.WRatio, fuzz.ratio)):
    """The figures for each (scorer, AUTO, MARGIN): how the module constants were chosen."""
    es = build_eval_set(reference_dir or default_reference_dir())
    rows = []
    for scorer in scorers:
        for a in autos:
            for mg in margins:
                r = score_cases(Matcher(es.catalogue, auto=a, margin=mg, scorer=scorer), es.cases)
                rows.append({"scorer": scorer.__name__, "auto": a, "margin": mg, "precision_auto": r["precision_auto"],
                             "recall": r["recall"], "false_auto": r["false_auto"]})
    return rows


# --- national-scale bench (``make bench``; never timed in tests) ----------------------------------------


def _synthetic_national(reference_dir: Path | None, provinces: int, rows: int, items: int, seed: int = 7):
    """Per-province catalogues of ``rows`` candidates (in ~40 fields) and ``items`` decision items across
    the provinces, a quarter of them without codes (variants of catalogue names, 1 in 10 not catalogued)."""
    rnd = random.Random(seed)
    try:
        base = [n for _, n in load_reference_procedures(reference_dir or default_reference_dir())]
    except OSError:
        base = [f"Cấp giấy phép hoạt động loại {i} trong lĩnh vực số {i % 97}" for i in range(2500)]
    fields = [f"field_{i:02d}" for i in range(40)]
    catalogues: list[list[Candidate]] = []
    for p in range(provinces):
        names = rnd.sample(base, min(rows, len(base)))
        while len(names) < rows:
            names.append(f"{rnd.choice(base)} (tỉnh {p}, mục {len(names)})")
        catalogues.append([Candidate(f"{p + 1}.{i:06d}", n, fields[_h(n) % len(fields)])
                           for i, n in enumerate(names)])
    work: list[list[tuple[str, str | None, str | None]]] = [[] for _ in range(provinces)]
    for n in range(items):
        p = n % provinces
        cand = rnd.choice(catalogues[p])
        if n % 4:
            work[p].append((cand.name, cand.code, cand.field_key))
            continue
        kind, name = rnd.choice(variants(cand.code or "", cand.name))
        if n % 40 == 0:
            name = rnd.choice(base) + " đối với tổ chức nước ngoài"
        work[p].append((name, None, cand.field_key if n % 8 else None))
    return catalogues, work


def _run(catalogues, work, workers: int) -> tuple[float, float, dict[str, int]]:
    """Seconds of an untraced run, then peak traced memory (MiB) of a second run under tracemalloc
    (tracing slows Python down ~3×, so it is not timed); the name cache is emptied before each run."""

    def once() -> dict[str, int]:
        normalise_name.cache_clear()
        verdicts: dict[str, int] = defaultdict(int)
        for cands, items in zip(catalogues, work, strict=True):
            for r in Matcher(cands).match_many(items, workers=workers):
                verdicts[r.verdict] += 1
        return dict(verdicts)

    t = time.perf_counter()
    verdicts = once()
    seconds = time.perf_counter() - t
    tracemalloc.start()
    once()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak / 2**20, verdicts


def bench_match_national(reference_dir: str | Path | None = None, *, provinces: int = 34, rows: int = 2000,
                         items: int = 100_000, scales: Iterable[int] = (1, 4), workers: int = -1,
                         naive_items: int = 200) -> dict[str, Any]:
    """Seconds and peak traced memory (MiB, see :func:`_run`) to match ``items`` × scale decision items against 34 province
    catalogues of 2,000 rows, and a naive all-pairs baseline (every item against every row of every
    province with :func:`rapidfuzz.fuzz.token_sort_ratio` on un-normalised names) timed on a slice and
    scaled up."""
    ref = Path(reference_dir) if reference_dir else None
    out: dict[str, Any] = {"bench": "match_national", "provinces": provinces, "rows_per_province": rows}
    for scale in scales:
        catalogues, work = _synthetic_national(ref, provinces, rows, items * scale)
        seconds, peak, verdicts = _run(catalogues, work, workers)
        out[f"x{scale}"] = {"items": items * scale, "seconds": round(seconds, 2), "peak_mib": round(peak, 1),
                            "verdicts": verdicts}
    catalogues, work = _synthetic_national(ref, provinces, rows, naive_items)
    every = [c.name for cands in catalogues for c in cands]
    sample = [name for items_ in work for name, _, _ in items_][:naive_items]
    t = time.perf_counter()
    for name in sample:
        best = max(every, key=lambda c, name=name: fuzz.token_sort_ratio(name, c))
        del best
    per_item = (time.perf_counter() - t) / len(sample)
    out["naive_all_pairs"] = {"items_timed": len(sample), "seconds_per_item": round(per_item, 4),
                              "estimated_seconds_x1": round(per_item * items), "pairs_per_item": len(every)}
    return out


if __name__ == "__main__":  # pragma: no cover
    import sys

    ref = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    print(json.dumps(evaluate(ref), ensure_ascii=False, indent=1))
