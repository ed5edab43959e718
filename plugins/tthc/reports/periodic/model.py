"""What a periodic KSTTHC report holds: rows per field and level, totals, indicators, announcements."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date

from sqlalchemy.orm import Session

from tthc.catalogue.feedback import Breakdown
from tthc.core.labels import LEVEL_NAMES
from tthc.reports.periodic.periods import Period
from tthc.reports.periodic.provinces import ProvinceComparison

REPORT_LEVELS = ("cap_tinh", "cap_xa")
UNKNOWN_FIELD = "Lĩnh vực chưa xác định"
UNKNOWN_LEVEL = "Chưa xác định"
NO_FEEDBACK = "Chưa có dữ liệu phản ánh, kiến nghị trong hệ thống."
REPORT_TITLE = "Báo cáo tình hình, kết quả thực hiện công tác kiểm soát thủ tục hành chính"

@dataclass(frozen=True)
class Feedback:
    """Phản ánh, kiến nghị received in the period (by its day of receipt): ``handled`` of them answered by the
    period's end, ``late`` of those after their deadline; by field and by channel
    (:class:`tthc.catalogue.feedback.Breakdown`); ``previous``: the same for the previous period."""

    received: int
    handled: int
    late: int = 0
    by_field: tuple[Breakdown, ...] = ()
    by_channel: tuple[Breakdown, ...] = ()
    previous: Feedback | None = None

    @property
    def pending(self) -> int:
        return self.received - self.handled

    @property
    def on_time(self) -> int:
        return self.handled - self.late

    @property
    def indicators(self) -> list[Indicator]:
        """(label, this period, previous period) of the section's comparison table."""
        prev = self.previous or Feedback(0, 0)
        return [Indicator(label, getattr(self, attr), getattr(prev, attr)) for attr, label in FEEDBACK_INDICATORS]


FEEDBACK_INDICATORS = (("received", "Số phản ánh, kiến nghị tiếp nhận"), ("handled", "Đã xử lý"),
                       ("on_time", "- Đúng hạn"), ("late", "- Quá hạn"), ("pending", "Đang xử lý"))


FeedbackSource = Callable[[Session, Period], Feedback | None]


@dataclass
class Row:
    """One (field, level) line of the table; counts are procedures at that level."""

    field: str
    level: str  # cap_tinh | cap_xa | "" (unknown)
    new: int = 0
    amended: int = 0  # sửa đổi, bổ sung, thay thế
    abolished: int = 0
    on_time: int = 0
    late: int = 0
    csdl: int = 0  # verified on the national decision list (tthc.sync.verify)
    csdl_sent: int = 0  # sent through our own csdl channel (a posted csdl posting)
    cms: int = 0
    portal: int = 0

    @property
    def total(self) -> int:
        return self.new + self.amended + self.abolished

    @property
    def level_name(self) -> str:
        return LEVEL_NAMES.get(self.level, self.level) if self.level else UNKNOWN_LEVEL


@dataclass(frozen=True)
class Totals:
    announcements: int = 0
    new: int = 0
    amended: int = 0
    abolished: int = 0
    on_time: int = 0
    late: int = 0
    csdl: int = 0
    csdl_sent: int = 0
    cms: int = 0
    portal: int = 0

    @property
    def procedures(self) -> int:
        return self.new + self.amended + self.abolished

    @classmethod
    def of(cls, rows: list[Row], announcements: int) -> Totals:
        names = [f.name for f in fields(cls) if f.name != "announcements"]
        return cls(announcements, **{n: sum(getattr(r, n) for r in rows) for n in names})

    def minus(self, other: Totals) -> Totals:
        return Totals(**{f.name: getattr(self, f.name) - getattr(other, f.name) for f in fields(self)})


@dataclass(frozen=True)
class Indicator:
    """A line of the comparison with the previous period."""

    label: str
    current: int
    previous: int

    @property
    def diff(self) -> int:
        return self.current - self.previous


# (attribute of Totals, label); labels starting with "-" are parts of the line above
INDICATORS = (
    ("announcements", "Số quyết định công bố TTHC"),
    ("procedures", "Số TTHC được công bố"),
    ("new", "- Mới ban hành"),
    ("amended", "- Sửa đổi, bổ sung, thay thế"),
    ("abolished", "- Bãi bỏ"),
    ("on_time", "Số TTHC công bố đúng hạn"),
    ("late", "Số TTHC công bố trễ hạn"),
    ("csdl", "Công khai trên CSDL quốc gia về TTHC (đã kiểm tra trên CSDL)"),
    ("csdl_sent", "- Đã gửi CSDL quốc gia (kênh của Sở)"),
    ("cms", "Công khai trên Trang TTĐT của Sở"),
    ("portal", "Công khai trên Cổng DVC tỉnh"),
)


@dataclass(frozen=True)
class AnnouncementLine:
    """One provincial announcement of the period."""

    so_hieu: str
    signed_date: date
    title: str
    procedures: int  # procedures at each level, as in the table
    late: int


@dataclass
class PeriodicReport:
    period: Period
    department: str
    province: str
    announcements: list[AnnouncementLine]
    rows: list[Row]
    totals: Totals
    previous_period: Period
    previous: Totals
    feedback: Feedback | None = None
    provinces: ProvinceComparison | None = None  # how the province compares (provinces.py)

    @property
    def diff(self) -> Totals:
        return self.totals.minus(self.previous)

    @property
    def indicators(self) -> list[Indicator]:
        return [Indicator(label, getattr(self.totals, attr), getattr(self.previous, attr))
                for attr, label in INDICATORS]

    @property
    def on_time_rate(self) -> float | None:
        """Percentage announced on time, None when nothing was announced."""
        done = self.totals.on_time + self.totals.late
        return 100 * self.totals.on_time / done if done else None

    @property
    def field_names(self) -> list[str]:
        return list(dict.fromkeys(r.field for r in self.rows))

