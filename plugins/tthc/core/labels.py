"""Vietnamese labels of the pipeline's codes, one table each (operator-facing text uses these).

Names say the direction: ``*_NAMES`` map a code to its label, ``*_CODES`` map a label (lower case) to
its code.
"""

from __future__ import annotations

LEVEL_NAMES = {"cap_tinh": "Cấp tỉnh", "cap_xa": "Cấp xã", "cap_trung_uong": "Cấp trung ương"}
LEVEL_CODES = {label.lower(): code for code, label in LEVEL_NAMES.items()}  # "cấp tỉnh" → cap_tinh
UNKNOWN_LEVEL = "Chưa xác định"

ACTION_NAMES = {
    "announce_new": "Công bố mới",
    "re_announce": "Công bố sửa đổi, bổ sung",
    "announce_abolition": "Công bố bãi bỏ",
}
FLAG_STATUS_NAMES = {"open": "Chờ công bố", "review": "Cần xem xét", "approved": "Đã duyệt",
                     "announced": "Đã công bố"}
PROCEDURE_STATUS_NAMES = {"active": "Đang áp dụng", "abolished": "Đã bãi bỏ"}
PROCEDURE_STATUS_CODES = {label.lower(): code for code, label in PROCEDURE_STATUS_NAMES.items()}
CHANNEL_NAMES = {"cms": "Trang thông tin điện tử của Sở", "province_portal": "Cổng dịch vụ công cấp tỉnh",
                 "csdl": "CSDL quốc gia về TTHC"}


def levels_vn(value: str) -> str:
    """``cap_tinh,cap_xa`` → ``Cấp tỉnh; Cấp xã`` (``Chưa xác định`` when empty)."""
    return "; ".join(LEVEL_NAMES.get(lv, lv) for lv in value.split(",") if lv) or UNKNOWN_LEVEL
