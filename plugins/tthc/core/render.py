"""The Jinja2 environment for every operator-facing text (emails, posts, reports)."""

from __future__ import annotations

import unicodedata
from datetime import date
from decimal import Decimal

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from tthc.core.config import templates_dir
from tthc.core.labels import ACTION_NAMES, FLAG_STATUS_NAMES, levels_vn


def vn_date(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else "—"


def vn_number(value: int | float | Decimal | None, decimals: int | None = None) -> str:
    """A number with Vietnamese separators: thousands ``.``, decimals ``,`` (1234 → "1.234", 12.5 → "12,5").
    ``decimals`` rounds non-integers to that many places (0.333, 1 → "0,3"); integers stay integers."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, int):
        text = f"{value:,d}"
    elif decimals is not None:
        text = f"{value:,.{decimals}f}"
    else:
        text = f"{value:,.15g}"
    return text.translate(_VN_SEPARATORS)


_VN_SEPARATORS = str.maketrans(",.", ".,")


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(templates_dir())),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(vn_date=vn_date, levels_vn=levels_vn, action_vn=lambda a: ACTION_NAMES.get(a, a),
                       status_vn=lambda s: FLAG_STATUS_NAMES.get(s, s), vn_number=vn_number)
    return env


def render(env: Environment, template: str, **context: object) -> str:
    return unicodedata.normalize("NFC", env.get_template(template).render(**context))
