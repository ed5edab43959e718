"""Count the unhandled errors of each parser of outside data on generated inputs (a probe, not a test).

    HYPOTHESIS_PROFILE=deep PYTHONPATH=plugins python tests/hypothesis_census.py

runs each ``run_*`` exercise of ``tests/ingest/test_parsers_hypothesis.py`` and
``tests/core/test_text_properties.py`` on the profile's number of generated inputs (2,000 with
``deep``) WITHOUT stopping at the first failure, and prints per parser how many inputs raised an error
that is not documented (or broke a property), by error type. The pytest suite stops at the first one.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE / "ingest"), str(HERE / "core")]

import test_parsers_hypothesis as p  # noqa: E402
import test_text_properties as t  # noqa: E402


def census(name: str, strategy: st.SearchStrategy, run, examples: int) -> Counter[str]:
    errors: Counter[str] = Counter()

    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def probe(value) -> None:
        try:
            run(value)
        except AssertionError as exc:
            line = exc.__traceback__.tb_next.tb_lineno if exc.__traceback__.tb_next else 0
            errors[f"property: {(str(exc) or f'assert at line {line}').splitlines()[0][:60]}"] += 1
        except Exception as exc:  # noqa: BLE001 - counting every undocumented error is the point
            errors[type(exc).__name__] += 1

    probe()
    return errors


def main() -> None:
    examples = {"deep": 2000, "ci": 200}.get(os.environ.get("HYPOTHESIS_PROFILE", "deep"), 2000)
    probes = [
        ("portal decision list", p.DECISION_LIST, p.run_decision_list),
        ("portal items", p.ITEMS, p.run_items),
        ("portal fields", p.FIELDS, p.run_fields),
        ("portal decision page", p.portal_page(), p.run_portal_page),
        ("portal dates", st.one_of(p.PORTAL_DATE, p.DATE_TEXT, p.TRICKY_TEXT, st.text()), p.run_portal_date),
        ("listing (ministry site)", p.khcn_listing(), lambda x: p.run_listing(x, p.KHCN)),
        ("listing (vanban.chinhphu.vn)", p.vanban_listing(), lambda x: p.run_listing(x, p.VANBAN)),
        ("detail (ministry site)", p.khcn_detail(), lambda x: p.run_detail(x, p.KHCN)),
        ("links not http(s): listing", p.khcn_listing(),
         lambda x: _links(p.links_of_listing(x, p.KHCN))),
        ("links not http(s): detail", p.khcn_detail(), lambda x: _links(p.links_of_detail(x, p.KHCN))),
        ("links not http(s): portal page", p.portal_page(), lambda x: _links(p.links_of_portal_page(x))),
        ("text.clean", t.TEXT, t.run_clean),
        ("sanitize.clean_text", t.TEXT, t.run_clean_text),
        ("escaped markup (clean, clean_text)", st.tuples(t.MARKUP, st.integers(1, 3)),
         lambda x: t.run_escaped_markup(*x)),
        ("match_key, normalise_so_hieu, search_key, strip_accents", t.TEXT, t.run_keys),
        ("sanitize.clean_html", st.one_of(t.TEXT, t.MARKUP), t.run_clean_html),
    ]
    total = 0
    for name, strategy, run in probes:
        errors = census(name, strategy, run, examples)
        total += sum(errors.values())
        detail = ", ".join(f"{k} ×{v}" for k, v in errors.most_common()) or "-"
        print(f"{name:58} {sum(errors.values()):5}  {detail}", flush=True)
    print(f"{'total':58} {total:5}")


def _links(urls) -> None:
    assert all(p._is_http(u) for u in urls), "a link that is not http(s) was accepted"


if __name__ == "__main__":
    main()
