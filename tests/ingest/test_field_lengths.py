"""External strings against their columns' lengths (issue 12, case 9), on SQLite AND PostgreSQL.

PostgreSQL refused an over-long value with a raw ``DataError`` (SQLite stored it silently, so the SQLite
tests never saw it): now the number a source really sends fits (số hiệu widened to 255), and anything
longer is a :class:`FieldTooLongError` naming the source, the column, the limit and the value's start.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from tthc.core.http import SnapshotRecorder, SourceError, make_session
from tthc.db.models import Decision, DecisionItem
from tthc.ingest.runs import get_watermark, ingest_portal
from tthc.ingest.sources.national_portal import settings as portal_settings
from tthc.ingest.sources.national_portal.client import HttpPortalClient
from tthc.ingest.store import FieldTooLongError, add_source, upsert_decision, upsert_item

RUN = datetime(2026, 12, 1, 1, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
AGENCY = "Bộ Khoa học và Công nghệ"

pytestmark = pytest.mark.usefixtures("seeded")


def _decision(session, **values):
    decision, _ = upsert_decision(session, so_hieu=values.pop("so_hieu", "9/QĐ-BKHCN"),
                                  agency_name=values.pop("agency_name", AGENCY), run_time=RUN,
                                  source="bo_khcn_sandbox", signed_date=date(2026, 11, 20), **values)
    return decision


def test_a_long_so_hieu_from_the_portal_is_stored(session) -> None:
    so_hieu = "2226/QĐ-UBND-" + "SVHTTDL-" * 8 + "KH"  # 79 characters: over the old 64
    assert len(so_hieu) > 64
    decision = _decision(session, so_hieu=so_hieu)
    session.commit()  # PostgreSQL: DataError before the fix
    session.expire_all()
    assert session.get(Decision, decision.id).so_hieu_key == so_hieu.upper()


@pytest.mark.parametrize(("field", "values", "column", "limit"), [
    ("agency", {"agency_name": "Bộ " + "Khoa học và Công nghệ " * 12}, "decisions.agency_name", 255),
    ("so_hieu", {"so_hieu": "1/" + "QĐ-" * 90}, "decisions.so_hieu_key", 255),
    ("agency id", {"agency_portal_id": "9" * 40}, "decisions.agency_portal_id", 32),
])
def test_a_decision_value_too_long_is_named(session, field, values, column, limit) -> None:
    with pytest.raises(FieldTooLongError) as info:
        _decision(session, **values)
    session.rollback()
    err = info.value
    assert isinstance(err, SourceError) and (err.column, err.limit) == (column, limit)
    message = str(err)
    assert message.startswith("bo_khcn_sandbox: ") and column in message and str(limit) in message
    assert repr(err.value[:40])[:-1] in message  # the value's start, as checked (normalised)
    assert session.scalar(select(func.count()).select_from(Decision)) == 0


@pytest.mark.parametrize(("values", "column", "limit"), [
    ({"code": "1.004227.000.00.00.H12"}, "decision_items.code", 16),
    ({"replaces_code": "1.004227.000.00.00.H12"}, "decision_items.replaces_code", 16),
    ({"external_id": "x" * 80}, "decision_items.external_id", 64),
])
def test_an_item_value_too_long_is_named(session, values, column, limit) -> None:
    decision = _decision(session)
    with pytest.raises(FieldTooLongError, match=rf"bo_khcn_sandbox: {column} has \d+ characters, more than its {limit}"):
        upsert_item(session, decision, name="Thủ tục A", change_type="new", source="bo_khcn_sandbox", **values)
    session.rollback()


def test_a_source_id_may_be_a_long_url_but_not_endless(session) -> None:
    decision = _decision(session)
    long_url = "https://bo.example.gov.vn/van-ban/" + "quyet-dinh-cong-bo-thu-tuc-" * 20  # 574 characters
    add_source(session, decision, "bo_khcn_sandbox", long_url, long_url)
    session.commit()  # PostgreSQL: DataError before the fix (255)
    with pytest.raises(FieldTooLongError, match="decision_sources.external_id"):
        add_source(session, decision, "bo_khcn_sandbox", long_url * 2, long_url)
    session.rollback()


class _LongItemIds(HttpPortalClient):
    def call(self, service: str, **params: Any) -> Any:
        answer = super().call(service, **params)
        if service in portal_settings.SERVICE_ITEMS:
            for row in answer:
                row["ID"] = row["ID"] * 20
        return answer


def test_the_portal_sending_an_overlong_item_id_fails_the_run_with_words(session, sandbox, dept) -> None:
    recorder = SnapshotRecorder(fetched_at=RUN)
    client = _LongItemIds(sandbox.url, session=make_session(retries=0), recorder=recorder)
    with pytest.raises(FieldTooLongError, match=r"^national_portal: decision_items\.external_id .* more than its 64"):
        ingest_portal(session, client, recorder, dept, window_end=date(2026, 12, 1), run_time=RUN)
    session.rollback()
    assert get_watermark(session, "national_portal") is None
    assert session.scalar(select(func.count()).select_from(DecisionItem)) == 0
