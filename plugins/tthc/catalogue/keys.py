"""Natural keys of what the province publishes (the idempotency keys every channel carries)."""

from __future__ import annotations

from tthc.core.text import normalise_so_hieu
from tthc.db.models import Announcement


def announcement_key(so_hieu: str, ngay_ky: str) -> str:
    """``announcement:<normalised số hiệu>:<year>`` (numbers restart every year)."""
    return f"announcement:{normalise_so_hieu(so_hieu)}:{ngay_ky[:4]}"


def ann_key(ann: Announcement) -> str:
    """The key of an approved provincial announcement (its signed number and year)."""
    return announcement_key(ann.so_hieu or "", ann.signed_date.isoformat() if ann.signed_date else "")
