"""attachments: content-addressed store, bounded download, text extraction, fetch per decision, search."""

from __future__ import annotations

import hashlib
import io
import threading
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import docx
import pytest
import sqlalchemy as sa
from tthc.core.http import SourceError, make_session
from tthc.core.text import is_nfc
from tthc.db.models import Attachment, Decision
from tthc.ingest.attachments import (
    AttachmentStore,
    ExtractionError,
    TooLarge,
    download,
    extract_text,
    fetch_attachments,
    filename_from,
    search,
)

RUN = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
TITLE = "Quyết định công bố thủ tục hành chính"


def make_pdf(lines: list[str]) -> bytes:
    """A minimal one-page PDF (Helvetica, ASCII text) with a correct xref table."""
    esc = [ln.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for ln in lines]
    stream = ("BT /F1 12 Tf 72 770 Td 16 TL " + " ".join(f"({ln}) '" for ln in esc) + " ET").encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def make_docx() -> bytes:
    doc = docx.Document()
    # NFD on purpose: the extracted text must come back NFC
    doc.add_paragraph(unicodedata.normalize("NFD", TITLE) + "   của   Bộ Khoa học và Công nghệ")
    doc.add_paragraph("Điều 1. Công bố kèm theo Quyết định này 02 thủ tục mới ban hành.")
    table = doc.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Mã số"
    table.cell(0, 1).text = "Tên thủ tục"
    table.cell(1, 0).text = "1.013245"
    table.cell(1, 1).text = "Cấp giấy phép tiến hành công việc bức xạ"
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def make_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "not a document")
    return buf.getvalue()


DOCX = make_docx()  # built once: python-docx stamps the creation time into the file
PDF = make_pdf(["Quyet dinh cong bo thu tuc hanh chinh", "Bo Khoa hoc va Cong nghe"])
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class FileServer:
    """A tiny HTTP server: path → (status, body, headers); counts hits per path."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes, dict[str, str]]] = {}
        self.hits: Counter[str] = Counter()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                server.hits[self.path] += 1
                status, body, headers = server.routes.get(self.path, (404, b"not found", {}))
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                if "no-length" not in headers.get("X-Test", ""):
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the client stopped reading: expected
                    pass

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def add(self, path: str, body: bytes, content_type: str | None, status: int = 200, **headers: str) -> str:
        hdrs = {k.replace("_", "-"): v for k, v in headers.items()}
        if content_type:
            hdrs["Content-Type"] = content_type
        self.routes[path] = (status, body, hdrs)
        return self.url + path


@pytest.fixture
def files() -> Iterator[FileServer]:
    srv = FileServer()
    srv.thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


@pytest.fixture
def http():
    s = make_session(retries=0, min_interval=0)
    yield s
    s.close()


@pytest.fixture
def store(tmp_path) -> AttachmentStore:
    return AttachmentStore(tmp_path / "store")


def add_decision(session, so_hieu: str = "3050/QĐ-BKHCN") -> Decision:
    d = Decision(so_hieu=so_hieu, so_hieu_key=so_hieu, trich_yeu=TITLE, agency_name="Bộ Khoa học và Công nghệ",
                 field_keys="", ingested_at=RUN)
    session.add(d)
    session.flush()
    return d


# -- store ----------------------------------------------------------------------------------------


def test_store_is_content_addressed_and_idempotent(store, tmp_path):
    data = b"%PDF-1.4 hello"
    sha = hashlib.sha256(data).hexdigest()
    got_sha, path = store.put(data)
    assert got_sha == sha
    assert path == tmp_path / "store" / sha[:2] / sha == store.path(sha)
    assert path.read_bytes() == data
    mtime = path.stat().st_mtime_ns
    assert store.put(data) == (sha, path)  # second put: same place, file untouched
    assert path.stat().st_mtime_ns == mtime
    assert store.get(sha) == data and store.has(sha)
    assert [p.name for p in path.parent.iterdir()] == [sha]  # no temp files left behind
    other = hashlib.sha256(b"other").hexdigest()
    assert not store.has(other)
    with pytest.raises(FileNotFoundError):
        store.get(other)
    with pytest.raises(ValueError):
        store.path("../../etc/passwd")


def test_store_defaults_to_var_dir(tmp_path):
    from tthc.core.config import var_dir

    assert AttachmentStore().root == var_dir() / "attachments"
    assert AttachmentStore().root.is_relative_to(tmp_path)  # TTHC_VAR_DIR points into the test's tmp dir


# -- download -------------------------------------------------------------------------------------


def test_download_sandbox_pdf(sandbox, http):
    code = sandbox.catalogue.decisions[0].attachment
    got = download(http, f"{sandbox.url}/web/jsp/download_file.jsp?ma={code}", max_bytes=1_000_000)
    assert got.content.startswith(b"%PDF-")
    assert got.content_type == "application/pdf"
    assert got.filename.endswith(".pdf") and got.filename != "download_file.jsp"
    text = extract_text(got.content, got.filename, got.content_type)
    assert text.startswith("Quyet dinh so ")
    with pytest.raises(SourceError, match="404"):  # an unknown code is a 404, not an empty file
        download(http, f"{sandbox.url}/web/jsp/download_file.jsp?ma=abc", max_bytes=1_000_000)


@pytest.mark.parametrize("announce_length", [True, False])
def test_download_stops_beyond_max_bytes(files, http, announce_length):
    body = b"x" * 300_000
    url = files.add("/big.bin", body, "application/octet-stream",
                    **({} if announce_length else {"X-Test": "no-length"}))
    with pytest.raises(TooLarge) as exc:
        download(http, url, max_bytes=1000)
    assert exc.value.max_bytes == 1000
    if announce_length:
        assert exc.value.size == len(body)  # refused from the header, before reading the body
    else:
        assert 1000 < exc.value.size < len(body)  # stopped part-way through the stream
    assert download(http, url, max_bytes=len(body)).content == body  # exactly the limit is allowed


def test_download_errors_and_filenames(files, http):
    with pytest.raises(SourceError, match="500"):
        download(http, files.add("/boom", b"oops", "text/plain", status=500), max_bytes=100)
    with pytest.raises(SourceError):
        download(http, "http://127.0.0.1:9/nothing", max_bytes=100)  # connection refused
    url = files.add("/get?id=7", b"abc", "text/plain",
                    Content_Disposition="attachment; filename*=UTF-8''Quy%E1%BA%BFt%20%C4%91%E1%BB%8Bnh.txt")
    assert download(http, url, max_bytes=100).filename == "Quyết định.txt"
    assert filename_from('attachment; filename="../../QD 12.pdf"', "http://x/y") == "QD 12.pdf"
    assert filename_from(None, "http://x/files/Quy%E1%BA%BFt.docx?v=1") == "Quyết.docx"
    assert filename_from(None, "http://x/") == "attachment"


# -- extraction -----------------------------------------------------------------------------------


def test_extract_docx_paragraphs_and_table_nfc():
    text = extract_text(DOCX, "qd.docx", DOCX_TYPE)
    assert is_nfc(text)
    lines = text.split("\n")
    assert lines[0] == TITLE + " của Bộ Khoa học và Công nghệ"  # NFC, spaces collapsed within the line
    assert lines[1].startswith("Điều 1.")
    assert "Mã số | Tên thủ tục" in lines
    assert "1.013245 | Cấp giấy phép tiến hành công việc bức xạ" in lines
    # detected by content even when served as octet-stream under a meaningless name
    assert extract_text(DOCX, "download_file.jsp", "application/octet-stream") == text


def test_extract_pdf_html_text_and_unsupported():
    assert extract_text(PDF, "qd.pdf", "application/pdf") == (
        "Quyet dinh cong bo thu tuc hanh chinh\nBo Khoa hoc va Cong nghe")
    html = ("<html><head><title>t</title><style>p{}</style></head><body><p>Quyết  định</p>"
            "<script>var x=1;</script><p>công bố &amp; thủ tục</p></body></html>").encode()
    assert extract_text(html, "a.html", "text/html; charset=utf-8") == "Quyết định\ncông bố & thủ tục"
    nfd = unicodedata.normalize("NFD", "Quyết định\n\n  công   bố ").encode("utf-8")
    assert extract_text(nfd, "a.txt", "text/plain") == "Quyết định\ncông bố"
    assert extract_text(make_zip(), "a.zip", "application/zip") is None
    assert extract_text(b"\xd0\xcf\x11\xe0 old word", "a.doc", "application/msword") is None
    with pytest.raises(ExtractionError):
        extract_text(b"%PDF-1.4\ngarbage, no xref", "bad.pdf", "application/pdf")
    with pytest.raises(ExtractionError):
        extract_text(b"PK\x03\x04 truncated", "bad.docx", DOCX_TYPE)


# -- fetch for a decision, search -----------------------------------------------------------------


def test_fetch_attachments_statuses_and_idempotency(session, files, http, store):
    LIMIT = 100_000  # noqa: N806
    assert len(DOCX) < LIMIT
    decision = add_decision(session)
    urls = {
        "docx": files.add("/qd.docx", DOCX, DOCX_TYPE),
        "pdf": files.add("/dl?ma=1", PDF, "application/pdf", Content_Disposition='attachment; filename="QD.pdf"'),
        "corrupt": files.add("/bad.pdf", b"%PDF-1.4\nthis is not a pdf", "application/pdf"),
        "zip": files.add("/files.zip", make_zip(), "application/zip"),
        "big": files.add("/big.pdf", b"%PDF-" + b"0" * 200_000, "application/pdf", X_Test="no-length"),
    }
    result = fetch_attachments(session, decision, [*urls.values(), urls["pdf"]], http, store, max_bytes=LIMIT,
                               fetched_at=RUN)
    session.commit()
    assert result.counts == {"stored": 2, "too_large": 1, "unsupported": 1, "failed": 1, "skipped": 0}
    rows = {a.url: a for a in session.scalars(sa.select(Attachment))}
    assert len(rows) == 5  # the duplicated URL was fetched once

    docx_row = rows[urls["docx"]]
    assert docx_row.status == "stored" and docx_row.filename == "qd.docx"
    assert docx_row.content_hash == hashlib.sha256(DOCX).hexdigest()
    assert store.get(docx_row.content_hash) == DOCX and docx_row.size == len(DOCX)
    assert docx_row.text.startswith(TITLE) and is_nfc(docx_row.text)
    assert docx_row.fetched_at.replace(tzinfo=UTC) == RUN

    pdf_row = rows[urls["pdf"]]
    assert (pdf_row.status, pdf_row.filename, pdf_row.content_type) == ("stored", "QD.pdf", "application/pdf")
    assert "Quyet dinh cong bo" in pdf_row.text

    bad = rows[urls["corrupt"]]
    assert bad.status == "failed" and bad.text is None and "pdf" in bad.error
    assert store.has(bad.content_hash)  # kept, so it can be re-read without downloading
    unsupported = rows[urls["zip"]]
    assert unsupported.status == "unsupported" and unsupported.text is None and store.has(unsupported.content_hash)
    big = rows[urls["big"]]
    assert big.status == "too_large" and big.content_hash is None and big.size > LIMIT
    assert sum(1 for p in store.root.rglob("*") if p.is_file()) == 4  # nothing stored for the large one

    before = files.hits.copy()
    again = fetch_attachments(session, decision, list(urls.values()), http, store, max_bytes=LIMIT,
                              fetched_at=datetime(2026, 11, 27, tzinfo=UTC))
    session.commit()
    assert files.hits == before  # nothing downloaded again
    assert again.counts == {"stored": 0, "too_large": 0, "unsupported": 0, "failed": 1, "skipped": 4}
    assert session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 5

    # a higher limit lets the too-large file through on a later run
    third = fetch_attachments(session, decision, [urls["big"]], http, store, max_bytes=1_000_000, fetched_at=RUN)
    assert files.hits["/big.pdf"] == before["/big.pdf"] + 1
    assert third.counts["failed"] == 1 and rows[urls["big"]].status == "failed"  # "%PDF-000…" is not a PDF


def test_fetch_attachments_network_error_is_recorded_not_raised(session, files, http, store):
    """A failed download no longer raises (issue 12, case 3: it rolled the whole source back)."""
    decision = add_decision(session)
    ok = files.add("/ok.txt", "Quyết định".encode(), "text/plain; charset=utf-8")
    result = fetch_attachments(session, decision, [ok, files.url + "/gone.pdf"], http, store, fetched_at=RUN)
    session.commit()
    assert result.counts["stored"] == 1 and result.counts["fetch_failed"] == 1
    rows = {a.url: a for a in session.scalars(sa.select(Attachment))}
    assert rows[ok].status == "stored"
    assert (rows[files.url + "/gone.pdf"].status, rows[files.url + "/gone.pdf"].http_status) == ("fetch_failed", 404)


def test_attachment_natural_key_is_unique(session):
    decision = add_decision(session)
    session.commit()
    with pytest.raises(sa.exc.IntegrityError):
        for _ in range(2):
            session.add(Attachment(decision_id=decision.id, url="http://x/a.pdf", filename="a.pdf",
                                   status="stored", fetched_at=RUN))
            session.flush()
    session.rollback()


def test_search_ignores_case_and_tone_placement(session, files, http, store):
    hit = add_decision(session, "3050/QĐ-BKHCN")
    miss = add_decision(session, "12/QĐ-BTC")
    fetch_attachments(session, hit, [files.add("/qd.docx", DOCX, DOCX_TYPE)], http, store, fetched_at=RUN)
    other = "<p>Quyết định về phí và lệ phí; hoà giải ở cơ sở</p>".encode()
    fetch_attachments(session, miss, [files.add("/x.html", other, "text/html; charset=utf-8")], http, store,
                      fetched_at=RUN)
    session.commit()

    results = search(session, "QUYẾT ĐỊNH công bố")
    assert [(d.so_hieu, a.filename) for d, a, _ in results] == [("3050/QĐ-BKHCN", "qd.docx")]
    snippet = results[0][2]
    assert "Quyết định công bố" in snippet and len(snippet) <= 170

    # NFD query, old-style tone placement ("hoà") against new-style text, and the other way round
    assert [d.so_hieu for d, _, _ in search(session, unicodedata.normalize("NFD", "tiến hành CÔNG VIỆC"))] == [
        "3050/QĐ-BKHCN"]
    assert [d.so_hieu for d, _, _ in search(session, "hòa giải")] == ["12/QĐ-BTC"]
    assert {d.so_hieu for d, _, _ in search(session, "quyết định")} == {"3050/QĐ-BKHCN", "12/QĐ-BTC"}
    assert search(session, "quyết định", limit=1)[0][0].so_hieu == "12/QĐ-BTC"  # newest first
    assert search(session, "thủ tục không tồn tại") == []
    assert search(session, "100%") == []  # LIKE wildcards in the query are literal
    assert search(session, "  ") == []


def test_snippet_is_centred_on_a_hit_deep_in_a_long_text():
    from tthc.core.text import search_key
    from tthc.ingest.attachments import snippet

    text = "mở đầu " * 100 + "Điều 5. Hiệu lực thi hành của Quyết định" + " kết thúc" * 100
    out = snippet(text, search_key("hiệu lực thi hành"))
    assert "Hiệu lực thi hành" in out and out.startswith("…") and out.endswith("…")
    assert len(out) <= 162
