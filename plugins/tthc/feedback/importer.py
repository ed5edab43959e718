"""Import feedback received by other channels (the national feedback system, letters, the one-stop desk)
from a spreadsheet (.xlsx or .csv), all or nothing.

Read with the catalogue import's reader (:func:`tthc.catalogue.reader.read_table`: its size, row and cell
limits, no ``<!DOCTYPE``, every cell as text, a .csv's formula escapes undone), then every row is checked
before anything is stored; each problem names its row (dòng N) and what to do. Rows already imported
(same channel and reference) are left as they are, so importing the same file again changes nothing.

Columns (header row; the order does not matter; docs/operations.md, Citizens' feedback):

============================ ========== =====================================================================
Column                       Required   What
============================ ========== =====================================================================
Mã phản ánh                  yes        the reference where it was received (the national system's number,
                                        the letter's number); with the channel, the item's identity
Kênh tiếp nhận               yes        national / letter / one_stop / other, or their Vietnamese labels
                                        ("Hệ thống phản ánh, kiến nghị quốc gia", "Thư, văn bản gửi đến",
                                        "Bộ phận Một cửa", "Kênh khác")
Ngày tiếp nhận               yes        dd/mm/yyyy or yyyy-mm-dd; not after the import date
Nội dung                     yes        the feedback's text (markup removed)
Mã TTHC                      no         the procedure's code (links it to the catalogue and its field)
Tên thủ tục hành chính       no         the procedure's name, when there is no code
Người gửi                    no         personal data: kept only to answer
Liên hệ                      no         e-mail or phone, personal data: kept only to answer
Phân loại                    no         regulation / handling / out_of_scope (or the labels of feedback.yaml)
Lý do phân loại              no*        required when Phân loại is given
============================ ========== =====================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from tthc.catalogue.feedback import CHANNEL_LABELS, FeedbackRules
from tthc.catalogue.reader import CatalogueFileError, read_table
from tthc.core.text import match_key, strip_accents
from tthc.core.workdays import WorkCalendar
from tthc.feedback.receive import Incoming, store

COLUMNS = {"ma phan anh": "ref", "kenh tiep nhan": "channel", "ngay tiep nhan": "date", "noi dung": "text",
           "ma tthc": "code", "ten thu tuc hanh chinh": "name", "nguoi gui": "sender", "lien he": "contact",
           "phan loai": "kind", "ly do phan loai": "reason"}
REQUIRED = {"ref": "Mã phản ánh", "channel": "Kênh tiếp nhận", "date": "Ngày tiếp nhận", "text": "Nội dung"}
IMPORT_CHANNELS = ("national", "letter", "one_stop", "other")


class FeedbackFileError(CatalogueFileError):
    """A feedback file refused whole; ``errors``: one message per problem."""

    def __init__(self, errors: list[str], file: str | Path | None = None) -> None:
        super().__init__(errors, file)
        where = f" {Path(file).name}" if file is not None else ""
        self.args = (f"tệp phản ánh, kiến nghị{where} bị từ chối, không nhập dòng nào (feedback file rejected, "
                     "nothing imported):\n" + "\n".join(errors),)

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass
class ImportResult:
    stored: int = 0
    already: int = 0
    references: list[str] = field(default_factory=list)


def _key(text: str) -> str:
    return " ".join(strip_accents(text).lower().replace("đ", "d").split())


def _channel(value: str) -> str | None:
    wanted = _key(value)
    for code in IMPORT_CHANNELS:
        if wanted in (code, _key(CHANNEL_LABELS[code])):
            return code
    return None


def _day(value: str) -> date | None:
    for fmt in ("%d/%m/%Y", "%Y-%m-%d", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(value.strip(), fmt).date()
        except ValueError:
            continue
    return None


def _kind(value: str, rules: FeedbackRules) -> str | None:
    wanted = _key(value)
    for code, label in rules.kinds.items():
        if wanted in (code, _key(label)):
            return code
    return None


def parse_rows(path: str | Path, *, today: date, rules: FeedbackRules) -> list[Incoming]:
    """Every row of the file as :class:`Incoming`, or :class:`FeedbackFileError` listing each problem."""
    path = Path(path)
    try:
        header, rows = read_table(path)
    except CatalogueFileError as exc:
        raise FeedbackFileError(exc.errors, path) from exc
    columns = {COLUMNS.get(_key(h), "") for h in header}
    missing = [label for key, label in REQUIRED.items() if key not in columns]
    if missing:
        raise FeedbackFileError([f"{path.name}: thiếu cột {', '.join(missing)} (missing columns) — xem mẫu cột "
                                 "trong docs/operations.md, mục Citizens' feedback"], path)
    errors: list[str] = []
    out: list[Incoming] = []
    seen: dict[tuple[str, str], int] = {}
    for number, raw in rows:
        cells = {COLUMNS[_key(h)]: v for h, v in raw.items() if _key(h) in COLUMNS}
        problems: list[str] = []
        ref, text = cells.get("ref", ""), cells.get("text", "")
        channel = _channel(cells.get("channel", ""))
        day = _day(cells.get("date", ""))
        if not ref:
            problems.append("thiếu Mã phản ánh")
        if channel is None:
            problems.append(f"Kênh tiếp nhận {cells.get('channel', '')!r} không hợp lệ (dùng: "
                            + ", ".join(f"{c} / {CHANNEL_LABELS[c]}" for c in IMPORT_CHANNELS) + ")")
        if day is None:
            problems.append(f"Ngày tiếp nhận {cells.get('date', '')!r} không đúng dạng dd/mm/yyyy")
        elif day > today or day.year < 2000:
            problems.append(f"Ngày tiếp nhận {day:%d/%m/%Y} không hợp lý (sau ngày nhập {today:%d/%m/%Y} hoặc "
                            "trước năm 2000)")
        if not text:
            problems.append("thiếu Nội dung")
        kind = None
        if cells.get("kind"):
            kind = _kind(cells["kind"], rules)
            if kind is None:
                problems.append(f"Phân loại {cells['kind']!r} không hợp lệ (dùng: {', '.join(rules.kinds)})")
            elif not cells.get("reason"):
                problems.append("có Phân loại nhưng thiếu Lý do phân loại")
        if channel and ref:
            if (channel, ref) in seen:
                problems.append(f"trùng Mã phản ánh {ref!r} với dòng {seen[channel, ref]}")
            seen[channel, ref] = number
        if problems:
            errors.append(f"{path.name}: dòng {number}: " + "; ".join(problems))
            continue
        code = cells.get("code", "")
        out.append(Incoming(channel, ref, None, day, text, cells.get("sender", ""), cells.get("contact", ""),
                            procedure_key=code, procedure_name=cells.get("name", ""), kind=kind,
                            kind_reason=cells.get("reason") or None))
    if errors:
        raise FeedbackFileError(errors, path)
    return out


def import_feedback(session: Session, path: str | Path, *, today: date, rules: FeedbackRules,
                    calendar: WorkCalendar) -> ImportResult:
    """Check every row, then store the new ones in one transaction (the caller commits)."""
    result = ImportResult()
    for incoming in parse_rows(path, today=today, rules=rules):
        if match_key(incoming.procedure_key) == "":
            incoming.procedure_key = ""
        item, created = store(session, incoming, run_date=today, rules=rules, calendar=calendar)
        if created:
            result.stored += 1
            result.references.append(item.reference)
        else:
            result.already += 1
    return result
