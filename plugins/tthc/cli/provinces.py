"""``tthc compare-provinces --period 2026-Q4``: how the province compares with the other provinces.

For each ministry decision of the department's fields published in the period: our lag in days (ministry
publication → our decision on the national list, as verified) beside the other provinces' median, the
fastest and the count of the 34 that have announced it; then the same overall. Read from the database
(the national list as the ingest and the verification stored it); nothing is fetched or sent.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _days(value: float | None) -> str:
    from tthc.core.render import vn_number

    if value is None:
        return "—"
    return f"{vn_number(int(value) if value == int(value) else value, 1)} ngày"


def cmd_compare_provinces(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from tthc.core.config import load_department
    from tthc.core.render import vn_date
    from tthc.db.session import session_scope
    from tthc.reports.periodic.build import province_comparison
    from tthc.reports.periodic.periods import parse_period_key

    dept = load_department()
    try:
        period = parse_period_key(args.period, dept.report_cutoff_day)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    with session_scope() as session:
        c = province_comparison(session, dept, period)
    print(f"So sánh với các tỉnh, thành phố — {period.label} ({period.dates})")
    if not c.decisions:
        print("Trong kỳ không có quyết định công bố của Bộ thuộc lĩnh vực của Sở để so sánh.")
        return 0
    rows = [[d.so_hieu, vn_date(d.published), "chưa công bố" if d.ours is None else _days(d.ours), _days(d.median),
             f"{d.fastest[0]}: {_days(d.fastest[1])}" if d.fastest else "—", f"{d.announced}/34"]
            for d in c.decisions]
    rows.append(["Chung cả kỳ", "", "chưa công bố" if c.our_median is None else _days(c.our_median), _days(c.median),
                 f"{c.fastest[0]}: {_days(c.fastest[1])}" if c.fastest else "—", f"{c.announced}/34"])
    print(tabulate(rows, headers=["Quyết định của Bộ", "Bộ công bố", c.own_agency, "Trung vị các tỉnh",
                                  "Nhanh nhất", "Đã công bố"]))
    print(f"Không tính {len(c.ambiguous)} trường hợp không xác định được (docs/sources.md).")
    if args.ambiguous:
        for a in c.ambiguous:
            print(f"  - {a.ministry} ← {a.row}: {a.reason}")
    if args.chart:
        from tthc.reports.periodic.build import build_periodic
        from tthc.reports.periodic.chart import render_provinces_chart

        with session_scope() as session:
            report = build_periodic(session, dept, period)
        Path(args.chart).write_bytes(render_provinces_chart(report))
        print(f"  → {args.chart}")
    return 0


def add_parser(sub) -> None:
    cp = sub.add_parser("compare-provinces", help="how the province compares with the other provinces (lags)",
                        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cp.add_argument("--period", required=True, help="2026-Q4, 2026-H2 or 2026-Y")
    cp.add_argument("--ambiguous", action="store_true", help="list the rows left out as ambiguous")
    cp.add_argument("--chart", help="also write the chart (PNG) to this file")
    cp.set_defaults(func=cmd_compare_provinces)
