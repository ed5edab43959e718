"""The Jinja2 environment for every operator-facing text (emails, posts, reports)."""

from __future__ import annotations

import unicodedata
from datetime import date

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from tthc.config import templates_dir

LEVEL_NAMES = {"cap_tinh": "Cấp tỉnh", "cap_xa": "Cấp xã", "cap_trung_uong": "Cấp trung ương"}
ACTION_NAMES = {
    "announce_new": "Công bố mới",
    "re_announce": "Công bố sửa đổi, bổ sung",
    "announce_abolition": "Công bố bãi bỏ",
}
STATUS_NAMES = {"open": "Chờ công bố", "review": "Cần xem xét", "approved": "Đã duyệt", "announced": "Đã công bố"}


def vn_date(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else "—"


def levels_vn(value: str) -> str:
    return "; ".join(LEVEL_NAMES.get(lv, lv) for lv in value.split(",") if lv) or "Chưa xác định"


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(templates_dir())),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(vn_date=vn_date, levels_vn=levels_vn, action_vn=lambda a: ACTION_NAMES.get(a, a),
                       status_vn=lambda s: STATUS_NAMES.get(s, s))
    return env


def render(env: Environment, template: str, **context: object) -> str:
    return unicodedata.normalize("NFC", env.get_template(template).render(**context))
