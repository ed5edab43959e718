"""What an officer does with a piece of feedback: classify it (with a reason), assign it, record the answer.

Every change is checked before it is stored and refused with a Vietnamese message saying what to do
(:class:`FeedbackError`): an answer must have text, must not show an e-mail address or phone number (the
answer is published on the procedure's page: the sender's contact never is), and cannot change once
published. Status: received → assigned → answered → published (the last by :mod:`tthc.feedback.publish`).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from tthc.catalogue.feedback import contains_contact, load_rules
from tthc.core.text import clean
from tthc.db.models import FEEDBACK_KINDS, FeedbackItem

MAX_ANSWER = 20_000


class FeedbackError(ValueError):
    """A change refused; the message (Vietnamese) says why and what to do."""


def get_item(session: Session, item_id: int) -> FeedbackItem:
    item = session.get(FeedbackItem, item_id)
    if item is None:
        raise FeedbackError(f"Không có phản ánh, kiến nghị PAKN-{item_id}.")
    return item


def _paragraphs(text: str) -> str:
    """The answer's text as typed: NFC, control characters removed, paragraphs kept (blank lines part them)."""
    lines = [clean(line) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def classify(session: Session, item_id: int, kind: str, reason: str) -> FeedbackItem:
    if kind not in FEEDBACK_KINDS:
        labels = load_rules().kinds
        raise FeedbackError("Phân loại không hợp lệ: chọn một trong " +
                            "; ".join(f"{k} ({labels.get(k, k)})" for k in FEEDBACK_KINDS) + ".")
    reason = clean(reason)
    if not reason:
        raise FeedbackError("Ghi rõ lý do phân loại.")
    item = get_item(session, item_id)
    item.kind, item.kind_reason = kind, reason[:2000]
    return item


def assign(session: Session, item_id: int, officer: str) -> FeedbackItem:
    officer = clean(officer)[:128]
    if not officer:
        raise FeedbackError("Ghi tên hoặc tài khoản của người được phân công xử lý.")
    item = get_item(session, item_id)
    if item.status in ("answered", "published"):
        raise FeedbackError(f"{item.reference} đã có kết quả xử lý; không phân công lại.")
    item.assigned_to, item.status = officer, "assigned"
    return item


def record_answer(session: Session, item_id: int, text: str, *, by: str, on: date) -> FeedbackItem:
    """Store the answer (kết quả xử lý) of ``item_id`` given on ``on`` by ``by``; the next run publishes it."""
    item = get_item(session, item_id)
    if item.status == "published":
        raise FeedbackError(f"{item.reference} đã được công khai kết quả xử lý trên trang thủ tục; không sửa được "
                            "câu trả lời đã công khai.")
    answer = _paragraphs(text)
    if not answer:
        raise FeedbackError("Câu trả lời trống: nhập nội dung kết quả xử lý.")
    if len(answer) > MAX_ANSWER:
        raise FeedbackError(f"Câu trả lời dài hơn {MAX_ANSWER:,} ký tự: rút gọn, hoặc đính kèm văn bản trả lời "
                            "trên trang của Sở.".replace(",", "."))
    if contains_contact(answer, item.sender_contact):
        raise FeedbackError("Câu trả lời có địa chỉ thư điện tử hoặc số điện thoại: câu trả lời được công khai trên "
                            "trang thủ tục, không được nêu thông tin liên hệ của người gửi (hay của bất kỳ ai). "
                            "Bỏ thông tin đó rồi ghi lại.")
    if on < item.received_on:
        raise FeedbackError(f"Ngày trả lời {on:%d/%m/%Y} trước ngày tiếp nhận {item.received_on:%d/%m/%Y}.")
    item.answer_text, item.answered_by, item.answered_on = answer, clean(by)[:128] or "?", on
    item.status = "answered"
    return item
