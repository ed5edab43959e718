"""match_eval: on variants of real procedure names, auto-matches are never wrong and nearly all match."""

from __future__ import annotations

from pathlib import Path

from tthc_dev.match_eval import build_eval_set, evaluate, load_reference_procedures, variants


def test_reference_procedures_are_read_in_place(reference: Path) -> None:
    procs = load_reference_procedures(reference)
    assert len(procs) > 2000
    assert len({c for c, _ in procs}) == len(procs)


def test_eval_set_is_deterministic_and_labelled(reference: Path) -> None:
    a, b = build_eval_set(reference), build_eval_set(reference)
    assert a.cases == b.cases
    groups = {c.group for c in a.cases}
    assert groups == {"positive", "negative", "unknown_code"}
    held = {code for code, _ in a.held_out}
    assert not held & {c.code for c in a.catalogue}
    kinds = {c.kind for c in a.cases}
    assert {"nfd", "old_tone", "thu_tuc", "abbreviation", "level_suffix", "code_suffix", "typo"} <= kinds


def test_variants_cover_what_people_type() -> None:
    kinds = dict(variants("1.000001", "Cấp Giấy chứng nhận hoạt động khoa học và công nghệ hòa giải"))
    assert kinds["abbreviation"] == "Cấp GCN hoạt động khoa học và công nghệ hòa giải" or "KH" in kinds["abbreviation"]
    assert "hoà" in kinds["old_tone"]
    assert kinds["thu_tuc"].startswith("Thủ tục cấp")
    assert kinds["code_suffix"].endswith("( 1.000001 )")


def test_precision_and_recall_on_real_names(reference: Path) -> None:
    r = evaluate(reference)
    assert r["n"] > 3000
    assert r["false_auto"] == 0, r["false_auto_examples"]
    assert r["precision_auto"] == 1.0
    assert r["recall"] >= 0.97, r["misses_by_kind"]
