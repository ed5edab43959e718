"""reports.chart: the periodic report's PNG chart (no pyplot state, deterministic bytes)."""

from __future__ import annotations

import io
import warnings
from dataclasses import replace

import matplotlib
from PIL import Image
from tthc.reports.periodic.chart import chart_size, render_chart
from tthc.reports.periodic.model import PeriodicReport, Row, Totals
from tthc.reports.periodic.periods import period_for, previous

Q2 = period_for("quarter", 2026, 2)


def _report(rows: list[Row] | None = None) -> PeriodicReport:
    rows = rows if rows is not None else [
        Row("Hoạt động khoa học và công nghệ", "cap_tinh", new=3, amended=1, on_time=4, csdl=4),
        Row("Hoạt động khoa học và công nghệ", "cap_xa", new=1, abolished=2, on_time=2, late=1),
        Row("Năng lượng nguyên tử, an toàn bức xạ và hạt nhân", "cap_tinh", amended=2, late=2),
    ]
    return PeriodicReport(Q2, "Sở Khoa học và Công nghệ", "Thành phố Hồ Chí Minh", [], rows,
                          Totals.of(rows, 2), previous(Q2), Totals(announcements=1, new=2, amended=1, on_time=3))


def test_chart_is_a_png_of_the_expected_size():
    report = _report()
    data = render_chart(report)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        assert img.format == "PNG"
        assert img.size == chart_size(report) == (1000, 550)
        assert img.mode in ("RGBA", "RGB")
        # something was drawn: not a blank canvas
        assert len(set(img.convert("RGB").getdata())) > 10
    assert b"Software" not in data and b"matplotlib" not in data.lower()


def test_chart_is_byte_identical_for_the_same_report():
    report = _report()
    assert render_chart(report) == render_chart(_report())
    other = replace(report, rows=[replace(report.rows[0], new=4)])
    assert render_chart(other) != render_chart(report)


def test_chart_draws_vietnamese_text_without_missing_glyphs():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        render_chart(_report())
    assert not [w for w in caught if "missing from" in str(w.message).lower()]


def test_chart_leaves_no_global_state():
    import matplotlib.pyplot as plt

    before_figs, before_rc = plt.get_fignums(), dict(matplotlib.rcParams)
    render_chart(_report())
    assert plt.get_fignums() == before_figs
    assert dict(matplotlib.rcParams) == before_rc


def test_chart_of_an_empty_period_and_of_many_fields():
    empty = _report(rows=[])
    data = render_chart(empty)
    with Image.open(io.BytesIO(data)) as img:
        assert img.size == (1000, 550)
    many = _report(rows=[Row(f"Lĩnh vực số {i}", "cap_tinh", new=i, on_time=i) for i in range(1, 9)])
    with Image.open(io.BytesIO(render_chart(many))) as img:
        assert img.size == chart_size(many) == (1600, 550)
