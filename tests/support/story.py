"""Test support: the decision → flags → draft → approval setup that many tests share."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from tthc.approve.answer import record_response
from tthc.compare.flags import compare
from tthc.compare.prepare import prepare_draft
from tthc.db.models import Procedure
from tthc.ingest.runs import upsert_decision, upsert_item

MOST = "Bộ Khoa học và Công nghệ"


class Story:
    """The setup many tests share, one step each: a ministry decision and its items (ingest's upserts),
    the flags (compare), the draft (prepare) and a person's approval (answer), on the seeded catalogue.

    Defaults are the demo's run: 26/11/2026 01:00 Vietnam time; every step takes the date it runs on.
    """

    def __init__(self, session, dept, drafts: Path | None = None) -> None:
        self.session, self.dept, self.drafts = session, dept, drafts
        self.RUN = datetime(2026, 11, 26, 1, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
        self.AS_OF = date(2026, 11, 26)

    def catalogue(self, level: str = "cap_tinh") -> list:
        """The seeded catalogue's procedures implemented (only) at ``level``, by code."""
        return list(self.session.scalars(select(Procedure).where(Procedure.levels == level)
                                         .order_by(Procedure.code)))

    def decision(self, so_hieu: str, *, published, signed=None, effective=None, fields: str = "chuyen_giao_cong_nghe",
                 trich_yeu: str = "x", agency: str = MOST, run_time=None):
        """A ministry decision as ingest stores it (``signed`` defaults to ``published``)."""
        decision, _ = upsert_decision(self.session, so_hieu=so_hieu, agency_name=agency, run_time=run_time or self.RUN,
                                      trich_yeu=trich_yeu, published_date=published,
                                      signed_date=signed or published, effective_date=effective, field_keys=fields)
        return decision

    def item(self, decision, name: str, change_type: str, **kw):
        return upsert_item(self.session, decision, name=name, change_type=change_type, **kw)

    def flag(self, as_of=None):
        return compare(self.session, self.dept, as_of=as_of or self.AS_OF)

    def draft(self, as_of=None):
        assert self.drafts is not None, "Story(drafts=...) is needed to draft"
        return prepare_draft(self.session, self.dept, as_of=as_of or self.AS_OF, out_dir=self.drafts)

    def answer(self, info, *, approved: bool = True, so_hieu: str | None = None, signed=None, as_of=None,
               by: str = "test", at=None, note: str | None = None):
        as_of = as_of or self.AS_OF
        return record_response(self.session, info.announcement_id, approved=approved, so_hieu=so_hieu,
                               signed_date=signed or as_of, decided_by=by, decided_at=at or self.RUN,
                               note=note, as_of=as_of, dept=self.dept)

    def approve(self, so_hieu: str, *, as_of=None, signed=None, by: str = "test", at=None, commit: bool = False):
        """Draft the ready flags and approve the draft as ``so_hieu`` signed on ``signed`` (default: as_of)."""
        info = self.draft(as_of)
        assert info is not None, "nothing ready to draft"
        self.answer(info, so_hieu=so_hieu, signed=signed, as_of=signed or as_of, by=by, at=at)
        if commit:
            self.session.commit()
        return info


