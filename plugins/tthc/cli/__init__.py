"""The ``tthc`` command: database, catalogue, deadlines, review queue, reports.

    tthc db upgrade                    create / migrate the catalogue database
    tthc seed [--fields FILE]          load the fields (lĩnh vực) table
    tthc catalogue import FILE         load the province catalogue (.xlsx or .csv); all or nothing
    tthc catalogue export FILE         write the catalogue (.xlsx or .csv)
    tthc catalogue incomplete          procedures whose field or level is unknown (cần bổ sung)
    tthc deadline --effective DATE     compute the province's announcement deadline (--check-year YYYY)
    tthc summary --as-of DATE          print what the pipeline holds (decisions, flags, postings, mail)
    tthc search TEXT                   find decisions whose attached files mention TEXT
    tthc match FILE.csv                match pasted annex names (columns name, code) to the catalogue
    tthc review list                   the review queue (names the matcher would not decide alone)
    tthc review decide ID --code CODE  answer a review item (or --not-in-catalogue); reused for that name
    tthc review drift [ID --ack]       details changed on the national database with no decision
    tthc report periodic --period 2026-Q4 --out DIR   render a periodic KSTTHC report (HTML, text, xlsx, chart)
    tthc report digest --as-of 2026-11-26 --out DIR   render the nightly digest of a date (HTML, text)
    tthc feedback list|show|classify|assign|answer|import   citizens' feedback (phản ánh, kiến nghị)
    tthc compare-provinces --period 2026-Q4            our lag beside the other provinces' (median, fastest, count)

Development tools (the ``tthc_dev`` package, installed for development and CI) add their own
subcommands through the ``tthc.cli`` entry-point group: ``tthc sandbox serve``, ``tthc demo``,
``tthc prod-local up|down|status``. A production install without them simply lacks those commands.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date
from importlib.metadata import entry_points
from pathlib import Path

from tthc.core.config import SETTINGS_DIR, var_dir


def parse_date(value: str) -> date:
    """A date as staff write it (dd/mm/yyyy, d/m/yyyy) or ISO (yyyy-mm-dd)."""
    from datetime import datetime

    text = value.strip()
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"not a date: {value!r} (write dd/mm/yyyy, e.g. 15/12/2026, or yyyy-mm-dd)")


DEADLINE_HELP = """The rule (plugins/tthc/settings/deadline_rules.yaml, each with its legal citation):
  - with an effective date: 5 working days before it (Decree 63/2010/ND-CP art. 15, as amended by
    48/2013/ND-CP);
  - without one: 5 working days after the publication date (the department's internal rule).
Working days: Monday to Friday, less Vietnam's public holidays (the `holidays` package) and with each
year's official day swaps (plugins/tthc/settings/workday_overrides.yaml). A deadline counted through a
year whose official schedule is not in that table is "tạm tính" (provisional); --check-year YYYY lists
what a year lacks. Dates: dd/mm/yyyy or yyyy-mm-dd. Example: tthc deadline --effective 15/12/2026
--as-of 26/11/2026"""

CATALOGUE_HELP = """The province catalogue.
  import FILE   all or nothing: every row is checked first; errors name the row (dòng N) and what to do.
                Columns: STT, Mã TTHC, Tên thủ tục hành chính, Lĩnh vực, Cấp thực hiện, Cơ quan thực hiện,
                Trạng thái. Only the name is required: a list of codes and names imports, its fields and
                levels filled from the stored ministry decisions, the names and --reference lists; a blank
                cell never erases a value already in the catalogue. Limits: {file_mib} MiB file, {xml_mib} MiB
                unpacked .xlsx, {rows:,} rows (docs/operations.md).
  export FILE   .xlsx or .csv; unknown fields/levels are written "cần bổ sung".
  incomplete    procedures whose field or level is still unknown (cần bổ sung)."""


def cmd_db(args: argparse.Namespace) -> int:
    from tthc.db.session import migrate

    migrate()
    print("catalogue database is up to date")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    import yaml

    from tthc.catalogue.io import seed_fields
    from tthc.db.session import session_scope

    try:
        with session_scope() as session:
            n = seed_fields(session, args.fields)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        print(f"{args.fields}: không nạp được danh mục lĩnh vực ({exc})", file=sys.stderr)
        return 2
    print(f"fields loaded ({n} new)")
    return 0


def cmd_catalogue(args: argparse.Namespace) -> int:
    from tthc.catalogue.fill import incomplete_procedures
    from tthc.catalogue.io import CatalogueFileError, export_catalogue, import_catalogue
    from tthc.db.session import session_scope

    if args.action == "incomplete":
        with session_scope() as session:
            rows = incomplete_procedures(session)
        for row in rows:
            print(row.line())
        print(f"{len(rows)} thủ tục cần bổ sung lĩnh vực hoặc cấp thực hiện: xuất danh mục (`tthc catalogue "
              "export FILE.xlsx`), điền các ô “cần bổ sung”, rồi nhập lại." if rows else
              "Danh mục đủ lĩnh vực và cấp thực hiện.")
        return 0
    if not args.file:
        print(f"tthc catalogue {args.action}: give the FILE", file=sys.stderr)
        return 2
    if args.action == "import":
        try:
            with session_scope() as session:
                result = import_catalogue(session, args.file, references=args.reference or ())
        except CatalogueFileError as exc:
            print(str(exc), file=sys.stderr)
            return 2
        print(f"imported {args.file}: {result.created} created, {result.updated} updated, "
              f"{result.unchanged} unchanged")
        if result.filled:
            print(f"{result.filled} dòng được bổ sung lĩnh vực/cấp thực hiện từ dữ liệu đã có.")
        if result.incomplete:
            print(f"{result.incomplete} thủ tục còn thiếu lĩnh vực hoặc cấp thực hiện (cần bổ sung): xem "
                  "`tthc catalogue incomplete`.")
        return 0
    try:
        with session_scope() as session:
            n = export_catalogue(session, args.file)
    except (OSError, ValueError) as exc:
        print(f"{args.file}: không ghi được tệp ({exc})", file=sys.stderr)
        return 2
    print(f"exported {n} procedures to {args.file}")
    return 0


def cmd_deadline(args: argparse.Namespace) -> int:
    from tthc.compare.deadlines import province_deadline
    from tthc.core.render import vn_date

    if args.check_year is not None:
        return check_year(args.check_year)
    d = province_deadline(effective_date=args.effective, published_date=args.published, as_of=args.as_of)
    state = "QUÁ HẠN" if d.is_late else "còn hạn"
    provisional = " — tạm tính" if d.provisional else ""
    print(f"Hạn công bố: {vn_date(d.due)} ({state} tính đến {vn_date(args.as_of)}){provisional}")
    print(f"Quy tắc: {d.rule.description}")
    print(f"Căn cứ: {d.rule.citation}{'' if d.rule.checked else ' [chưa đối chiếu văn bản hợp nhất]'}")
    if d.provisional:
        years = ", ".join(map(str, d.unconfirmed_years))
        print(f"Tạm tính: năm {years} chưa có lịch nghỉ lễ, Tết chính thức trong bảng ngày làm việc "
              f"(plugins/tthc/settings/workday_overrides.yaml); hạn được tính theo lịch nghỉ theo luật và có thể "
              f"thay đổi khi có thông báo. Xem: tthc deadline --check-year {d.unconfirmed_years[0]}")
    return 0


def check_year(year: int) -> int:
    """``tthc deadline --check-year YYYY``: what the year's official schedule still lacks (exit 1 if any)."""
    from tthc.core.render import vn_date
    from tthc.core.workdays import EVENTS, WorkCalendar

    calendar = WorkCalendar.from_file()
    missing = calendar.check_year(year)
    entry = calendar.schedule.get(year)
    print(f"Lịch nghỉ lễ, Tết năm {year} (plugins/tthc/settings/workday_overrides.yaml):")
    for key, label in EVENTS.items():
        event = entry.events.get(key) if entry else None
        if event is not None and event.confirmed:
            days = ", ".join(vn_date(d) for d in event.off) or "không có ngày nghỉ thêm"
            work = f"; làm bù {', '.join(vn_date(d) for d in event.work)}" if event.work else ""
            print(f"  ✓ {label}: nghỉ {days}{work}")
            print(f"      nguồn: {event.source}")
    for line in missing:
        print(f"  ✗ {line}")
    for note in entry.notes if entry else ():
        print(f"  ! {note}")
    if missing:
        print(f"Năm {year} chưa đủ lịch chính thức: hạn công bố tính qua năm này được ghi “tạm tính”. Cách bổ sung: "
              "docs/operations.md, mục Deadlines.")
        return 1
    print(f"Năm {year} đã có đủ lịch nghỉ chính thức.")
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    from tthc.cli.summary import print_summary

    print_summary(args.as_of, outbox=Path(args.outbox))
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from tthc.db.session import session_scope
    from tthc.ingest.attachments import search

    with session_scope() as session:
        hits = search(session, args.text, limit=args.limit)
        for decision, attachment, snippet in hits:
            print(f"{decision.so_hieu} ({decision.agency_name}) — {attachment.filename}")
            print(f"    {snippet}")
    if not hits:
        print("Không tìm thấy văn bản nào.")
    return 0


def cmd_match(args: argparse.Namespace) -> int:
    from tthc.compare.match_file import format_rows, run_match_file
    from tthc.compare.matching import candidates_from_catalogue
    from tthc.db.session import session_scope

    with session_scope() as session:
        candidates = candidates_from_catalogue(session)
    try:
        rows = run_match_file(args.file, candidates)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(format_rows(rows, args.format))
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    import getpass
    from datetime import datetime

    from tthc.compare.review import decide_flag, review_queue
    from tthc.db.session import session_scope

    with session_scope() as session:
        if args.action == "list":
            queue = review_queue(session)
            for q in queue:
                near = f"{q.candidate_code} – {q.candidate_name} (điểm {q.score})" if q.candidate_code else "—"
                print(f"[{q.flag_id}] hạn {q.deadline} · {q.decision} · {q.name}\n      lý do: {q.reason}\n"
                      f"      gần giống: {near}")
            print(f"{len(queue)} mục chờ xem xét." if queue else "Không có mục nào chờ xem xét.")
            drifts = print_drifts(session)
            if drifts:
                print(f"{drifts} thay đổi trên CSDL quốc gia chưa có quyết định: tthc review drift SỐ --ack")
            return 0
        if args.action == "drift":
            return cmd_drift(session, args)
        if bool(args.code) == bool(args.not_in_catalogue):
            print("give exactly one of --code CODE or --not-in-catalogue", file=sys.stderr)
            return 2
        try:
            # a person's answer, recorded when given (the one place the wall clock is the right time)
            row = decide_flag(session, args.flag_id, None if args.not_in_catalogue else args.code,
                              decided_by=args.by or getpass.getuser(), decided_at=datetime.now(UTC),
                              note=args.note)
        except (LookupError, ValueError) as exc:
            print(str(exc), file=sys.stderr)
            return 2
        print(f"Đã ghi: «{row.name}» → {row.code or 'không có trong danh mục'}. Lần so sánh sau sẽ áp dụng.")
    return 0


def print_drifts(session) -> int:
    """Print the procedures whose details changed on the national database with no decision."""
    from tthc.catalogue.details import open_drifts
    from tthc.core.render import vn_date

    drifts = open_drifts(session)
    for x in drifts:
        print(f"[thay đổi {x.id}] {x.details.code or 'chưa có mã'} – {x.details.name} "
              f"(thấy ngày {vn_date(x.details.fetched_for)}, chưa có quyết định công bố)")
        for c in x.changes:
            print(f"      {c.label}: «{c.before}» → «{c.after}»")
    return len(drifts)


def cmd_drift(session, args: argparse.Namespace) -> int:
    """``tthc review drift [ID --ack]``: list the changes no decision explains, or acknowledge one."""
    import getpass
    from datetime import datetime

    from tthc.catalogue.details import acknowledge_drift

    if args.details_id is None:
        if not print_drifts(session):
            print("Không có thay đổi nào trên CSDL quốc gia chờ xem xét.")
        return 0
    if not args.ack:
        print("give --ack to acknowledge the change", file=sys.stderr)
        return 2
    try:
        # a person's answer, recorded when given (the one place the wall clock is the right time)
        row = acknowledge_drift(session, args.details_id, by=args.by or getpass.getuser(), at=datetime.now(UTC))
    except LookupError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(f"Đã ghi nhận thay đổi của thủ tục {row.code or row.name} (phiên bản {row.version}).")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Render a report to files (a preview or a sample); nothing is sent and the mail ledger is untouched."""
    from tthc.core.config import load_department
    from tthc.core.window import nightly_window
    from tthc.db.session import session_scope

    dept = load_department()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with session_scope() as session:
        if args.kind == "periodic":
            from tthc.reports.periodic.build import periodic_mail
            from tthc.reports.periodic.periods import parse_period_key

            try:
                period = parse_period_key(args.period, dept.report_cutoff_day)
            except ValueError as exc:
                print(str(exc), file=sys.stderr)
                return 2
            mail = periodic_mail(session, dept, period)
            stem = f"bao-cao-kstthc-{period.key}"
        else:
            from tthc.reports.digest import build_digest, digest_mail

            window = nightly_window(args.as_of)
            digest = build_digest(session, window_start=window.start, window_end=window.end, as_of=window.as_of,
                                  csdl_warn_after=dept.csdl_verify_working_days)
            mail = digest_mail(digest, dept)
            stem = f"ban-tin-{args.as_of.isoformat()}"
    html = mail.html
    for part in mail.parts:
        # the main chart beside the report under its name; other inline images under their own names
        target = out / (f"{stem}.png" if part.cid == "chart" else part.filename if part.cid
                        else f"{stem}{Path(part.filename).suffix}")
        target.write_bytes(part.data)
        if part.cid:  # the preview shows the chart from the file next to it
            html = html.replace(f"cid:{part.cid}", target.name)
    (out / f"{stem}.html").write_text(html, encoding="utf-8")
    (out / f"{stem}.txt").write_text(mail.subject + "\n\n" + mail.text, encoding="utf-8")
    print(f"{mail.subject}\n  → {out / (stem + '.html')}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from tthc.catalogue.reader import MAX_FILE_BYTES, MAX_ROWS, MAX_XLSX_UNPACKED_BYTES
    from tthc.compare.match_file import INPUT_HELP as MATCH_INPUT_HELP  # noqa: N811
    parser = argparse.ArgumentParser(prog="tthc", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="catalogue database")
    db.add_argument("action", choices=["upgrade"])
    db.set_defaults(func=cmd_db)

    seed = sub.add_parser("seed", help="load the fields table")
    seed.add_argument("--fields", default=str(SETTINGS_DIR / "fields.yaml"))
    seed.set_defaults(func=cmd_seed)

    cat = sub.add_parser("catalogue", help="import / export the province catalogue; list what is incomplete",
                         description=CATALOGUE_HELP.format(file_mib=MAX_FILE_BYTES >> 20, rows=MAX_ROWS,
                                                           xml_mib=MAX_XLSX_UNPACKED_BYTES >> 20),
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    cat.add_argument("action", choices=["import", "export", "incomplete"])
    cat.add_argument("file", nargs="?", help="the .xlsx or .csv file (import, export)")
    cat.add_argument("--reference", action="append", metavar="LIST",
                     help="import: a list to fill blank fields/levels from (the national portal's published "
                          "procedures .json, or a .xlsx/.csv in the catalogue's columns); may be repeated")
    cat.set_defaults(func=cmd_catalogue)

    dl = sub.add_parser("deadline", help="compute a province announcement deadline",
                        description="When must the province announce the procedures of a ministry decision?",
                        epilog=DEADLINE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    dl.add_argument("--effective", type=parse_date, help="effective date of the ministry decision (dd/mm/yyyy)")
    dl.add_argument("--published", type=parse_date, help="publication date, used when there is no effective date")
    dl.add_argument("--as-of", type=parse_date, help="the date to judge lateness on (dd/mm/yyyy)")
    dl.add_argument("--check-year", type=int, metavar="YYYY",
                    help="list what the year's official schedule of days off still lacks (exit 1 if anything)")
    dl.set_defaults(func=cmd_deadline)

    sm = sub.add_parser("summary", help="print what the pipeline holds")
    sm.add_argument("--as-of", type=parse_date, required=True)
    sm.add_argument("--outbox", default=str(var_dir() / "outbox"))
    sm.set_defaults(func=cmd_summary)

    se = sub.add_parser("search", help="search the text of decisions' attached files")
    se.add_argument("text")
    se.add_argument("--limit", type=int, default=20)
    se.set_defaults(func=cmd_search)

    ma = sub.add_parser("match", help="match procedure names of a CSV (name, code) to the catalogue",
                        description="Match the procedure names of an annex (pasted into a CSV) to the province "
                                    "catalogue.", epilog=MATCH_INPUT_HELP,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    ma.add_argument("file", help="the CSV file (see below)")
    ma.add_argument("--format", choices=["table", "csv", "json"], default="table",
                    help="table (default, full names), csv (for a spreadsheet) or json")
    ma.set_defaults(func=cmd_match)

    rv = sub.add_parser("review", help="the review queue: list it, answer an item")
    rv_sub = rv.add_subparsers(dest="action", required=True)
    rv_sub.add_parser("list", help="items waiting for a person")
    dec = rv_sub.add_parser("decide", help="answer one item: its catalogue code, or not in the catalogue")
    dec.add_argument("flag_id", type=int, help="the number shown by `tthc review list` and in the digest")
    dec.add_argument("--code", help="the catalogue code the name is")
    dec.add_argument("--not-in-catalogue", action="store_true", help="the name is not in the catalogue")
    dec.add_argument("--by", help="who decides (default: the login name)")
    dec.add_argument("--note", help="a comment kept with the answer")
    drift = rv_sub.add_parser("drift", help="procedures whose details changed on the national database with no "
                                            "decision: list them, or acknowledge one (--ack)")
    drift.add_argument("details_id", type=int, nargs="?", help="the number shown by the list and in the digest")
    drift.add_argument("--ack", action="store_true", help="a person has seen the change")
    drift.add_argument("--by", help="who acknowledges (default: the login name)")
    rv.set_defaults(func=cmd_review)

    rp = sub.add_parser("report", help="render a report to files (preview, samples); sends nothing")
    rp_sub = rp.add_subparsers(dest="kind", required=True)
    per = rp_sub.add_parser("periodic", help="a periodic KSTTHC report")
    per.add_argument("--period", required=True, help="2026-Q4, 2026-H2 or 2026-Y")
    per.add_argument("--out", default="var/reports", help="output folder (default var/reports)")
    dig = rp_sub.add_parser("digest", help="the nightly digest of a date")
    dig.add_argument("--as-of", type=parse_date, default=date(2026, 11, 26), help="the run date (default 2026-11-26)")
    dig.add_argument("--out", default="var/reports", help="output folder (default var/reports)")
    rp.set_defaults(func=cmd_report)

    from tthc.cli.feedback import register as register_feedback

    register_feedback(sub, parse_date)
    from tthc.cli.provinces import add_parser as add_compare_provinces

    add_compare_provinces(sub)

    for entry in entry_points(group="tthc.cli"):  # e.g. tthc_dev: sandbox, demo, prod-local
        entry.load()(sub)

    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "deadline" and args.check_year is None and not (args.effective or args.published):
        print("give --effective or --published (or --check-year YYYY)", file=sys.stderr)
        return 2
    if args.command == "deadline" and args.check_year is None and args.as_of is None:
        print("give --as-of DATE (the date to judge lateness on)", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except Exception as exc:  # noqa: BLE001 - a database not yet created says what to do, not a traceback
        if _missing_table(exc):
            print("Cơ sở dữ liệu danh mục chưa được khởi tạo hoặc chưa cập nhật: chạy `tthc db upgrade` rồi "
                  f"thử lại. ({type(exc).__name__})", file=sys.stderr)
            return 2
        raise


def _missing_table(exc: BaseException) -> bool:
    """A table that does not exist yet: the catalogue database was never migrated (SQLite or PostgreSQL)."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    text = str(getattr(exc, "orig", exc)).lower()
    return isinstance(exc, OperationalError | ProgrammingError) and (
        "no such table" in text or ("relation" in text and "does not exist" in text))


if __name__ == "__main__":
    sys.exit(main())
