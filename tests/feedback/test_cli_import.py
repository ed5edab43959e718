"""``tthc feedback``: the spreadsheet import (all or nothing, idempotent, formula-safe, bounded like the
catalogue import) and the officer's commands; a generated-input test of the import's parser."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from tthc.catalogue.feedback import load_rules, mask_contacts
from tthc.cli import main
from tthc.db.models import FeedbackItem, Procedure
from tthc.feedback.importer import FeedbackFileError, parse_rows

HEADER = ["Mã phản ánh", "Kênh tiếp nhận", "Ngày tiếp nhận", "Mã TTHC", "Tên thủ tục hành chính", "Nội dung",
          "Người gửi", "Liên hệ", "Phân loại", "Lý do phân loại"]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_import_all_or_nothing_then_idempotent(seeded, tmp_path, capsys):
    code = seeded.scalars(select(Procedure.code).where(Procedure.code.is_not(None)).order_by(Procedure.id)).first()
    good = [["PAKN-QG-1", "Hệ thống phản ánh, kiến nghị quốc gia", "20/11/2026", code, "", "Thời hạn giải quyết dài",
             "Trần Văn B", "0988 777 666", "regulation", "Kiến nghị sửa quy định về thời hạn"],
            ["THU-12", "letter", "2026-11-21", "", "", "=HYPERLINK(\"http://x\",\"bấm\")", "", "", "", ""]]
    bad = good + [["", "fax", "31/02/2026", "", "", "", "", "", "khác", ""]]
    assert main(["feedback", "import", str(write_csv(tmp_path / "bad.csv", bad)), "--as-of", "2026-11-26"]) == 2
    err = capsys.readouterr().err
    assert "dòng 4" in err and "Mã phản ánh" in err and "Kênh tiếp nhận" in err and "Ngày tiếp nhận" in err
    assert seeded.scalar(select(func.count()).select_from(FeedbackItem)) == 0, "nothing imported"

    path = write_csv(tmp_path / "good.csv", good)
    assert main(["feedback", "import", str(path), "--as-of", "2026-11-26"]) == 0
    assert "Đã nhập 2" in capsys.readouterr().out
    assert main(["feedback", "import", str(path), "--as-of", "2026-11-26"]) == 0
    assert "Đã nhập 0" in capsys.readouterr().out and seeded.scalar(select(func.count()).select_from(FeedbackItem)) == 2
    seeded.expire_all()
    first = seeded.scalars(select(FeedbackItem).where(FeedbackItem.source_id == "PAKN-QG-1")).one()
    assert (first.channel, first.procedure_code, first.kind, first.sender_contact) == ("national", code, "regulation",
                                                                                        "0988 777 666")
    assert first.field_name  # linked through the catalogue
    formula = seeded.scalars(select(FeedbackItem).where(FeedbackItem.source_id == "THU-12")).one()
    assert formula.text.startswith("=HYPERLINK") and formula.channel == "letter"  # text, stored as written


def test_import_refuses_a_missing_column_and_a_future_date(tmp_path):
    rules = load_rules()
    with pytest.raises(FeedbackFileError, match="thiếu cột"):
        parse_rows(write_csv(tmp_path / "a.csv", [["1", "letter"]], header=["Mã phản ánh", "Kênh tiếp nhận"]),
                   today=date(2026, 11, 26), rules=rules)
    with pytest.raises(FeedbackFileError, match="không hợp lý"):
        parse_rows(write_csv(tmp_path / "b.csv", [["1", "letter", "27/11/2026", "", "", "x", "", "", "", ""]]),
                   today=date(2026, 11, 26), rules=rules)


def test_import_keeps_the_catalogue_readers_limits(tmp_path):
    big = tmp_path / "big.csv"
    big.write_bytes(b"x" * (20 * 2**20 + 1))
    with pytest.raises(FeedbackFileError):
        parse_rows(big, today=date(2026, 11, 26), rules=load_rules())


def test_officer_commands(seeded, tmp_path, capsys):
    write_csv(tmp_path / "f.csv", [["M-1", "one_stop", "02/11/2026", "", "", "Nộp hồ sơ phải đi lại nhiều lần",
                                    "Lê C", "le.c@example.vn", "", ""]])
    assert main(["feedback", "import", str(tmp_path / "f.csv"), "--as-of", "2026-11-26"]) == 0
    item_id = seeded.scalars(select(FeedbackItem.id)).one()
    capsys.readouterr()
    assert main(["feedback", "list", "--as-of", "2026-11-26"]) == 0
    listing = capsys.readouterr().out
    assert f"PAKN-{item_id}" in listing and "le.c@example.vn" not in listing and "Lê C" not in listing
    assert main(["feedback", "show", str(item_id)]) == 0
    assert "le.c@example.vn" in capsys.readouterr().out  # the officer sees the contact
    assert main(["feedback", "classify", str(item_id), "handling", "--reason", "Về cách giải quyết hồ sơ"]) == 0
    assert main(["feedback", "assign", str(item_id), "cv.motcua"]) == 0
    assert main(["feedback", "answer", str(item_id), "--text", "Gọi le.c@example.vn"]) == 2
    assert "thư điện tử" in capsys.readouterr().err
    answer = tmp_path / "tra-loi.txt"
    answer.write_text("Đã chấn chỉnh bộ phận một cửa.\n\nXin cảm ơn.", encoding="utf-8")
    assert main(["feedback", "answer", str(item_id), "--file", str(answer), "--on", "2026-11-20", "--by", "cv"]) == 0
    seeded.expire_all()
    item = seeded.get(FeedbackItem, item_id)
    assert (item.status, item.kind, item.assigned_to, item.answered_on) == ("answered", "handling", "cv.motcua",
                                                                            date(2026, 11, 20))
    assert item.answer_text == "Đã chấn chỉnh bộ phận một cửa.\n\nXin cảm ơn."


cell = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@given(rows=st.lists(st.lists(cell, min_size=len(HEADER), max_size=len(HEADER)), max_size=6))
def test_generated_files_give_rows_or_row_errors(tmp_path_factory, rows):
    path = write_csv(tmp_path_factory.mktemp("gen") / "g.csv", rows)
    try:
        out = parse_rows(path, today=date(2026, 11, 26), rules=load_rules())
    except FeedbackFileError as exc:
        assert exc.errors and all("dòng" in e or "thiếu cột" in e or "g.csv" in e for e in exc.errors)
        return
    assert all(i.source_id and i.text and i.received_on <= date(2026, 11, 26) for i in out)


@given(st.text(max_size=200), st.emails())
def test_masking_never_leaves_an_email(text, email):
    assert email not in mask_contacts(f"{text} {email} {text}")


comment = st.fixed_dictionaries({
    "id": st.one_of(st.integers(1, 10**6), st.text(max_size=5)),
    "post": st.sampled_from([7, 8, "7", None]),
    "parent": st.sampled_from([0, 3, None]),
    "date_gmt": st.one_of(st.datetimes().map(lambda d: d.isoformat()), st.text(max_size=20)),
    "content": st.one_of(st.text(max_size=300), st.fixed_dictionaries({"raw": st.text(max_size=300)})),
    "author_name": st.text(max_size=30), "author_email": st.text(max_size=30)})


@given(comment)
def test_generated_comments_give_feedback_none_or_a_documented_error(c):
    from tthc.core.window import nightly_window
    from tthc.feedback.receive import UnreadableComment, clean_feedback_text, incoming_of

    try:
        got = incoming_of(c, {"7": "procedure:1.000001"}, nightly_window(date(2026, 11, 26)).end)
    except UnreadableComment:
        return
    if got is None or got == "later":
        return
    text = clean_feedback_text(got.text)
    import re

    assert re.search(r"<\s*[a-zA-Z/!?]", text) is None, "no markup survives"  # a bare "<" may stay
    assert got.page_id == "7" and got.source_id == str(c["id"])
