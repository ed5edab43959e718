"""The periodic report's chart (PNG): procedures announced per field, and this period against the previous one.

Drawn on a standalone :class:`matplotlib.figure.Figure` with the Agg canvas (no pyplot, no global figure,
no rcParams changes), DejaVu Sans (bundled with matplotlib, has the Vietnamese glyphs), fixed size and dpi,
and no "Software" metadata: the same report gives the same bytes.
"""

from __future__ import annotations

import io
import textwrap

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from tthc.core.render import vn_number
from tthc.reports.periodic.model import PeriodicReport

FONT = "DejaVu Sans"
DPI = 100
HEIGHT_IN = 5.5
# (attribute, legend label, short label of the comparison panel, colour)
SERIES = (("new", "Mới ban hành", "Mới ban\nhành", "#2E7D32"),
          ("amended", "Sửa đổi, bổ sung, thay thế", "Sửa đổi,\nbổ sung,\nthay thế", "#1565C0"),
          ("abolished", "Bãi bỏ", "Bãi bỏ", "#C62828"))
CURRENT_COLOUR, PREVIOUS_COLOUR = "#37474F", "#B0BEC5"
FEEDBACK_PANEL_IN = 4.0  # the third panel (phản ánh, kiến nghị), when the report has feedback figures
FEEDBACK_BARS = (("received", "Tiếp\nnhận"), ("on_time", "Đúng\nhạn"), ("late", "Quá\nhạn"),
                 ("pending", "Đang\nxử lý"))


def chart_size(report: PeriodicReport) -> tuple[int, int]:
    """Width and height in pixels of the chart of ``report``."""
    n = max(1, len(report.field_names))
    width_in = min(16.0, max(10.0, 5.0 + 1.6 * n)) + (FEEDBACK_PANEL_IN if report.feedback is not None else 0.0)
    return round(width_in * DPI), round(HEIGHT_IN * DPI)


def _per_field(report: PeriodicReport) -> tuple[list[str], dict[str, list[int]]]:
    names = report.field_names
    values = {attr: [sum(getattr(r, attr) for r in report.rows if r.field == name) for name in names]
              for attr, *_ in SERIES}
    return names, values


def _label_bars(ax, bars) -> None:
    ax.bar_label(bars, labels=[vn_number(int(b.get_height())) if b.get_height() else "" for b in bars],
                 padding=2, fontsize=8, fontfamily=FONT)


def render_chart(report: PeriodicReport) -> bytes:
    width_px, height_px = chart_size(report)
    fig = Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    fb = report.feedback
    if fb is None:
        left, right = fig.subplots(1, 2, width_ratios=[3, 1.5])
        panels = (left, right)
    else:
        left, right, third = fig.subplots(1, 3, width_ratios=[3, 1.5, 1.5])
        panels = (left, right, third)
    period = report.period

    names, values = _per_field(report)
    if names:
        width = 0.8 / len(SERIES)
        for i, (attr, label, _, colour) in enumerate(SERIES):
            xs = [k + (i - 1) * width for k in range(len(names))]
            _label_bars(left, left.bar(xs, values[attr], width, label=label, color=colour))
        left.set_xticks(range(len(names)), ["\n".join(textwrap.wrap(n, 22)) for n in names],
                        fontfamily=FONT, fontsize=8)
        left.legend(prop={"family": FONT, "size": 8}, loc="upper right", frameon=False)
    else:
        left.set_xticks([])
        left.text(0.5, 0.5, "Không có thủ tục hành chính được công bố trong kỳ", ha="center", va="center",
                  transform=left.transAxes, fontfamily=FONT, fontsize=10, color="#555555")
    left.set_title("Số TTHC được công bố theo lĩnh vực", fontfamily=FONT, fontsize=11)
    left.set_ylabel("Số thủ tục hành chính", fontfamily=FONT, fontsize=9)

    # this period against the previous one: totals by kind
    groups = [(short, getattr(report.totals, attr), getattr(report.previous, attr)) for attr, _, short, _ in SERIES]
    groups.append(("Tổng số", report.totals.procedures, report.previous.procedures))
    xs = list(range(len(groups)))
    _label_bars(right, right.bar([x - 0.2 for x in xs], [g[1] for g in groups], 0.4, color=CURRENT_COLOUR,
                                 label=f"Kỳ này ({period.label})"))
    _label_bars(right, right.bar([x + 0.2 for x in xs], [g[2] for g in groups], 0.4, color=PREVIOUS_COLOUR,
                                 label=f"Kỳ trước ({report.previous_period.label})"))
    right.set_xticks(xs, [g[0] for g in groups], fontfamily=FONT, fontsize=8)
    right.set_title("So với kỳ trước", fontfamily=FONT, fontsize=11)
    right.legend(prop={"family": FONT, "size": 8}, loc="upper right", frameon=False)

    top = max([1, report.previous.procedures, report.totals.procedures, *[v for vs in values.values() for v in vs]])
    if fb is not None:
        prev = fb.previous
        xs = list(range(len(FEEDBACK_BARS)))
        _label_bars(third, third.bar([x - 0.2 for x in xs], [getattr(fb, a) for a, _ in FEEDBACK_BARS], 0.4,
                                     color=CURRENT_COLOUR, label="Kỳ này"))
        if prev is not None:
            _label_bars(third, third.bar([x + 0.2 for x in xs], [getattr(prev, a) for a, _ in FEEDBACK_BARS], 0.4,
                                         color=PREVIOUS_COLOUR, label="Kỳ trước"))
        third.set_xticks(xs, [label for _, label in FEEDBACK_BARS], fontfamily=FONT, fontsize=8)
        third.set_title("Phản ánh, kiến nghị", fontfamily=FONT, fontsize=11)
        third.legend(prop={"family": FONT, "size": 8}, loc="upper right", frameon=False)
        third.set_ylim(0, max([1, fb.received, prev.received if prev else 0]) * 1.35 + 0.5)
    for ax in panels:
        if ax is not (panels[2] if len(panels) > 2 else None):
            ax.set_ylim(0, top * 1.35 + 0.5)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: vn_number(int(v))))
        ax.tick_params(axis="y", labelsize=8, labelfontfamily=FONT)
        ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle(f"Kết quả công bố thủ tục hành chính {period.label[0].lower()}{period.label[1:]} "
                 f"({period.dates})", fontfamily=FONT, fontsize=12, fontweight="bold")

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


OURS_COLOUR, MEDIAN_COLOUR, FASTEST_COLOUR = "#1565C0", "#90A4AE", "#2E7D32"


def render_provinces_chart(report: PeriodicReport) -> bytes:
    """How the province compares (provinces.py): per ministry decision and overall, our lag in days beside
    the other provinces' median and the fastest, with the count of the 34 that have announced."""
    c = report.provinces
    decisions = c.decisions if c is not None else []
    labels = [f"{d.so_hieu}\n(Bộ công bố {d.published:%d/%m/%Y})\n{d.announced}/34 tỉnh đã công bố"
              for d in decisions] + [f"Chung cả kỳ\n{c.announced if c else 0}/34 tỉnh đã công bố"]
    ours = [d.ours for d in decisions] + [c.our_median if c else None]
    medians = [d.median for d in decisions] + [c.median if c else None]
    fastest = [d.fastest[1] if d.fastest else None for d in decisions] + [c.fastest[1] if c and c.fastest else None]
    height_in = max(3.5, 1.6 + 0.85 * len(labels))
    fig = Figure(figsize=(10, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ys = list(range(len(labels)))[::-1]
    own = c.own_agency if c else "Tỉnh"
    for offset, values, colour, label in ((-0.27, ours, OURS_COLOUR, own),
                                          (0, medians, MEDIAN_COLOUR, "Trung vị các tỉnh"),
                                          (0.27, fastest, FASTEST_COLOUR, "Tỉnh nhanh nhất")):
        bars = ax.barh([y - offset for y in ys], [v if v is not None else 0 for v in values], 0.26, color=colour,
                       label=label)
        ax.bar_label(bars, labels=[("chưa công bố" if colour == OURS_COLOUR else "—") if v is None
                                   else vn_number(int(v) if v == int(v) else v, 1) for v in values],
                     padding=3, fontsize=8, fontfamily=FONT)
    top = max([1, *[v for v in (*ours, *medians, *fastest) if v is not None]])
    ax.set_xlim(0, top * 1.3 + 2)
    ax.set_yticks(ys, labels, fontfamily=FONT, fontsize=8)
    ax.set_xlabel("Số ngày từ khi Bộ công bố đến khi tỉnh công bố", fontfamily=FONT, fontsize=9)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: vn_number(int(v))))
    ax.tick_params(axis="x", labelsize=8, labelfontfamily=FONT)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(prop={"family": FONT, "size": 8}, loc="upper center", bbox_to_anchor=(0.5, -0.09), ncols=3,
              frameon=False)
    ax.set_title(f"So sánh với các tỉnh, thành phố — {report.period.label} ({report.period.dates})",
                 fontfamily=FONT, fontsize=11, fontweight="bold")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()
