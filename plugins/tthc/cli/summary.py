"""The end-of-run summary printed by ``make demo`` / ``tthc summary``: what the pipeline now holds."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from tabulate import tabulate

from tthc.core.labels import ACTION_NAMES, FLAG_STATUS_NAMES, levels_vn
from tthc.core.render import vn_date
from tthc.db.models import (
    Announcement,
    CsdlVerification,
    Decision,
    DecisionItem,
    FeedbackItem,
    Flag,
    MailLog,
    Posting,
)
from tthc.db.session import session_scope

MAIL_STATUS = {"sent": "Đã gửi", "sending": "Đang gửi", "failed": "Lỗi gửi"}
DRAFT_STATUS = {"draft": "Chờ phê duyệt", "approved": "Đã phê duyệt", "rejected": "Bị từ chối"}


def collect(as_of: date, outbox: Path) -> dict:
    with session_scope() as s:
        decisions = list(s.scalars(select(Decision).order_by(Decision.published_date, Decision.id)))
        items = s.scalar(select(func.count()).select_from(DecisionItem)) or 0
        flags = list(s.scalars(select(Flag).order_by(Flag.deadline, Flag.id)))
        postings = Counter(p.channel for p in s.scalars(select(Posting)))
        mails = list(s.scalars(select(MailLog).order_by(MailLog.id)))
        drafts = list(s.scalars(select(Announcement).order_by(Announcement.id)))
        feedback = Counter(i.status for i in s.scalars(select(FeedbackItem)))
        checks = list(s.scalars(select(CsdlVerification).order_by(CsdlVerification.announcement_id)))
        return {
            "decisions": [(d.so_hieu, d.agency_name, vn_date(d.published_date), vn_date(d.effective_date),
                           len(d.items)) for d in decisions],
            "items": items,
            "flags": [(f.procedure_code or "—", f.procedure_name[:60], levels_vn(f.levels),
                       ACTION_NAMES.get(f.action, f.action), vn_date(f.deadline),
                       "Quá hạn" if f.status == "open" and f.deadline < as_of else FLAG_STATUS_NAMES.get(f.status, f.status))
                      for f in flags],
            "drafts": [(a.so_hieu or "—", vn_date(a.signed_date), DRAFT_STATUS.get(a.status, a.status), len(a.flags),
                        a.draft_docx or "—") for a in drafts],
            "postings": dict(postings),
            "feedback": dict(feedback),
            "csdl": [(v.announcement.so_hieu or "—",
                      "Đã công khai trên CSDL quốc gia" if v.status == "verified" else "Chưa thấy trên CSDL quốc gia",
                      vn_date(v.listed_on), vn_date(v.checked_for), len(v.missing or []), len(v.extra or []))
                     for v in checks],
            "mails": [(m.kind, m.period_key, MAIL_STATUS.get(m.status, m.status), m.subject) for m in mails],
            "outbox": sorted(str(p) for p in outbox.glob("*.eml")) if outbox.exists() else [],
        }


def print_summary(as_of: date, outbox: Path) -> dict:
    data = collect(as_of, outbox)
    print(f"\n=== tthc-pipeline: tình trạng đến ngày {vn_date(as_of)} ===\n")
    print(f"Decisions ingested: {len(data['decisions'])} ({data['items']} procedure items)")
    print(tabulate(data["decisions"], headers=["Số hiệu", "Cơ quan", "Công bố", "Hiệu lực", "TTHC"]))
    print(f"\nProcedures flagged: {len(data['flags'])}")
    print(tabulate(data["flags"], headers=["Mã", "Tên thủ tục", "Cấp", "Nội dung", "Hạn công bố", "Trạng thái"]))
    print(f"\nProvincial announcement drafts: {len(data['drafts'])}")
    print(tabulate(data["drafts"] or [("—",) * 5], headers=["Số hiệu", "Ngày ký", "Trạng thái", "TTHC", "Dự thảo"]))
    print("\nPostings per channel:")
    print(tabulate(sorted(data["postings"].items()) or [("—", 0)], headers=["Kênh", "Bài đăng"]))
    fb = data["feedback"]
    print(f"\nCitizens' feedback (phản ánh, kiến nghị): {sum(fb.values())} — "
          + (", ".join(f"{k} {v}" for k, v in sorted(fb.items())) or "none"))
    print("\nPublication on the national CSDL (read back from the national decision list):")
    print(tabulate(data["csdl"] or [("—",) * 6], headers=["Số hiệu", "Trạng thái", "Có trên danh sách",
                                                        "Kiểm tra", "Thiếu", "Thừa"]))
    print(f"\nEmails: {len([m for m in data['mails'] if m[2] == MAIL_STATUS['sent']])} sent")
    print(tabulate(data["mails"], headers=["Loại", "Kỳ", "Trạng thái", "Tiêu đề"]))
    print("\nSaved messages (SMTP sink):")
    for path in data["outbox"]:
        print(f"  {path}")
    return data
