"""Ops alerts an ingest task sends although it succeeded (it never fails for these):

* a source whose runs were **incomplete** (or failed) ``alerts.source_failures`` nights in a row: the same
  single alert per streak as :class:`~tthc.dag_support.notifiers.FailureStreakNotifier` sends for failed
  runs (same ledger kind and key, so a streak mixing both alerts once);
* an **attachment** whose download failed ``ATTACHMENT_ALERT_ATTEMPTS`` times in a row: one alert per
  URL, ever (the mail ledger is keyed by the URL), never a failed run.

Light at import time, like the notifiers: everything loads when an alert is due.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from tthc.dag_support.notifiers import send_ops_mail

log = logging.getLogger(__name__)


def alert_after_ingest(summary: dict[str, Any]) -> None:
    """Send what ``summary`` (an ingest task's result) calls for; never raises (an alert must not fail
    the task that stored the decisions)."""
    try:
        _incomplete_streak(summary)
    except Exception:  # noqa: BLE001
        log.exception("could not send the incomplete-source alert of %s", summary.get("source"))
    for failure in summary.get("attachment_alerts") or []:
        try:
            _attachment(failure)
        except Exception:  # noqa: BLE001
            log.exception("could not send the attachment alert for %s", failure.get("url"))


def _incomplete_streak(summary: dict[str, Any]) -> None:
    if not summary.get("incomplete_reason"):
        return
    from tthc.core.config import load_department
    from tthc.core.render import vn_date
    from tthc.db.health import alert_key
    from tthc.db.models import SourceHealth
    from tthc.db.session import session_scope

    source = summary["source"]
    with session_scope() as session:
        row = session.get(SourceHealth, source)
        if row is None:
            return
        count, key, since = row.consecutive_failures, alert_key(row), row.first_failure_for
    if count < load_department().source_failure_threshold:
        return
    text = (
        f"Nguồn dữ liệu «{source}» chưa được đọc hết {count} lượt chạy liên tiếp (từ ngày {vn_date(since)}).\n"
        f"Lý do lần gần nhất: {summary['incomplete_reason']}\n\n"
        "Những quyết định đã đọc được vẫn được lưu và được so sánh như thường; mốc đọc (watermark) của nguồn "
        "được giữ nguyên, nên lượt chạy sau đọc lại từ mốc cũ và không quyết định nào bị bỏ sót. Cần kiểm "
        "tra trang nguồn: phân trang (liên kết «trang sau», thanh phân trang), giới hạn listing.max_pages "
        "trong cấu hình của trang, hoặc trường AMOUNT của cổng quốc gia. Cảnh báo này chỉ gửi một lần cho "
        "mỗi đợt lỗi."
    )
    send_ops_mail(kind="source_down", key=key, text=text,
                  subject=f"[KSTTHC][Cảnh báo vận hành] Nguồn {source} chưa đọc hết {count} lượt liên tiếp")


def _attachment(failure: dict[str, Any]) -> None:
    from datetime import date

    from tthc.core.render import vn_date

    url = str(failure["url"])
    retry = failure.get("next_retry_for")
    status = f" (HTTP {failure['http_status']})" if failure.get("http_status") else ""
    text = (
        f"Không tải được tệp đính kèm của quyết định {failure.get('decision')} (nguồn «{failure.get('source')}») "
        f"sau {failure.get('attempts')} lần thử{status}.\n"
        f"Địa chỉ: {url}\n"
        f"Lỗi gần nhất: {failure.get('error')}\n\n"
        "Quyết định đã được lưu và xử lý như thường; chỉ thiếu tệp đính kèm (và nội dung để tìm kiếm). "
        + (f"Hệ thống sẽ tự thử lại ngày {vn_date(date.fromisoformat(retry))}. " if retry
           else "Hệ thống đã ngừng thử lại: cần kiểm tra địa chỉ trên trang nguồn. ")
        + "Cảnh báo này chỉ gửi một lần cho mỗi tệp."
    )
    send_ops_mail(kind="attachment", key=hashlib.sha256(url.encode()).hexdigest()[:32], text=text,
                  subject=f"[KSTTHC][Cảnh báo vận hành] Không tải được tệp đính kèm của quyết định "
                          f"{failure.get('decision')}")
