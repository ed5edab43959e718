"""Selectors of the ministry website's decision listing (the sandbox serves the same layout)."""

SOURCE_NAME = "ministry_site"
LISTING_PATH = "/bo-khcn/van-ban"
AGENCY_NAME = "Bộ Khoa học và Công nghệ"
DATE_FORMAT = "%d/%m/%Y"
MAX_PAGES = 50

ROW = "table.list-van-ban tr.van-ban"
ROW_SO_HIEU = "td.so-hieu a"
ROW_SIGNED = "td.ngay-ban-hanh"
ROW_EFFECTIVE = "td.ngay-hieu-luc"
ROW_TRICH_YEU = "td.trich-yeu"
NEXT_PAGE = "div.pagination a.next"

ANNEX_ROW = "table.phu-luc tr.tthc"
ANNEX_CELLS = {"code": "td.ma", "name": "td.ten", "change": "td.loai", "levels": "td.cap",
               "field": "td.linh-vuc", "replaces": "td.thay-the"}
ATTACHMENT = "div.dinh-kem a"

CHANGE_LABELS = {
    "mới ban hành": "new",
    "sửa đổi, bổ sung": "amended",
    "thay thế": "replaced",
    "bãi bỏ": "abolished",
}
LEVEL_LABELS = {"cấp tỉnh": "cap_tinh", "cấp xã": "cap_xa", "cấp trung ương": "cap_trung_uong"}
