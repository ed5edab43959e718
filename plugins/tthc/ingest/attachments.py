"""Decision attachments (văn bản đính kèm): download, content-addressed storage, text extraction, search.

- :class:`AttachmentStore` keeps each file once, at ``root/<sha[:2]>/<sha>`` (sha256), written atomically.
- :func:`download` streams a file with a hard size limit (:class:`TooLarge`).
- :func:`extract_text` reads PDF (pypdf), DOCX (python-docx), plain text and HTML; the text is NFC with one
  paragraph per line.
- :func:`fetch_attachments` does all of it for one decision and records an :class:`~tthc.db.models.Attachment`
  row per URL, idempotently. A download that fails (404, 5xx after the session's retries, a timeout, a link
  that is not http(s)) never fails the run and never blocks the decision: it is recorded (``fetch_failed``,
  HTTP status, error naming the source and the decision, attempts) and retried on a later run, with a
  backoff counted in run dates (:func:`retry_due_attachments`); after ``ATTACHMENT_ALERT_ATTEMPTS`` failures
  in a row it is listed in the nightly digest and the IT team gets one ops alert.
- :func:`search` finds decisions by the text of their attachments, insensitive to case and to tone-mark
  placement (:func:`tthc.core.text.search_key`).
"""

from __future__ import annotations

import bisect
import hashlib
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from tthc.core.config import var_dir
from tthc.core.fsutil import atomic_write_bytes
from tthc.core.http import DEFAULT_TIMEOUT, SourceError
from tthc.core.text import clean, search_key
from tthc.db.models import ATTACHMENT_ALERT_ATTEMPTS, Attachment, Decision

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
FETCH_FAILED = "fetch_failed"
MAX_ATTEMPTS = 10  # failed downloads in a row after which a URL is no longer retried (it stays listed)
MAX_BACKOFF_DAYS = 30
CHUNK_SIZE = 64 * 1024
SNIPPET_CHARS = 160

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_WORD = re.compile(r"\w+", re.UNICODE)

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_TEXT_TYPES = ("text/plain",)
_HTML_TYPES = ("text/html", "application/xhtml+xml")


class TooLarge(Exception):  # noqa: N818 - the name the callers use
    """The file is larger than allowed; ``size`` is what was announced or received so far (bytes)."""

    def __init__(self, url: str, size: int, max_bytes: int, filename: str | None = None) -> None:
        super().__init__(f"{url}: more than {max_bytes} bytes ({size} announced or received)")
        self.url = url
        self.size = size
        self.max_bytes = max_bytes
        self.filename = filename


class ExtractionError(Exception):
    """A file of a supported type could not be read (corrupt, encrypted, truncated)."""


class DownloadError(SourceError):
    """A download failed; ``status`` is the HTTP status when the server answered, ``retry`` False when
    trying again cannot help (not an http(s) link)."""

    def __init__(self, message: str, status: int | None = None, retry: bool = True) -> None:
        super().__init__(message)
        self.status, self.retry = status, retry


# -- storage --------------------------------------------------------------------------------------


class AttachmentStore:
    """Content-addressed file store: each distinct content once, at ``root/<sha[:2]>/<sha>``."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else var_dir() / "attachments"

    def path(self, sha: str) -> Path:
        if not _SHA256.match(sha):
            raise ValueError(f"not a sha256 hex digest: {sha!r}")
        return self.root / sha[:2] / sha

    def has(self, sha: str) -> bool:
        return self.path(sha).is_file()

    __contains__ = has

    def put(self, data: bytes) -> tuple[str, Path]:
        """Store ``data`` (no-op when already there); returns its sha256 and path."""
        sha = hashlib.sha256(data).hexdigest()
        target = self.path(sha)
        if target.is_file():
            return sha, target
        atomic_write_bytes(target, data)
        return sha, target

    def get(self, sha: str) -> bytes:
        """The stored content; ``FileNotFoundError`` when absent."""
        return self.path(sha).read_bytes()


# -- download -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Downloaded:
    content: bytes
    content_type: str | None
    filename: str


def download(session: requests.Session, url: str, max_bytes: int) -> Downloaded:
    """GET ``url`` streaming; :class:`TooLarge` beyond ``max_bytes``; a link that is not http(s), network
    and HTTP errors → :class:`DownloadError` (a SourceError)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise DownloadError(f"{url[:200]}: not an http(s) link", retry=False)
    try:
        with session.get(url, stream=True, timeout=DEFAULT_TIMEOUT) as resp:
            if resp.status_code >= 400:
                raise DownloadError(f"{url}: HTTP {resp.status_code}", resp.status_code)
            filename = filename_from(resp.headers.get("Content-Disposition"), url)
            announced = resp.headers.get("Content-Length", "").strip()
            if announced.isdigit() and int(announced) > max_bytes:
                raise TooLarge(url, int(announced), max_bytes, filename)
            buf = bytearray()
            for chunk in resp.iter_content(CHUNK_SIZE):
                buf += chunk
                if len(buf) > max_bytes:
                    raise TooLarge(url, len(buf), max_bytes, filename)
            content_type = resp.headers.get("Content-Type") or None
    except (requests.RequestException, ValueError) as exc:  # ValueError: a URL requests cannot even parse
        raise DownloadError(f"{url}: {exc}") from exc
    return Downloaded(bytes(buf), content_type[:128] if content_type else None, filename)


def filename_from(content_disposition: str | None, url: str) -> str:
    """The file name from a Content-Disposition header (RFC 6266/5987), else the URL's last segment."""
    name = None
    if content_disposition:
        msg = EmailMessage()
        try:
            msg["Content-Disposition"] = content_disposition
            name = msg.get_filename()
        except Exception:  # noqa: BLE001 - malformed header: fall back to the URL
            name = None
        if name:
            try:  # servers often send raw UTF-8, which http.client decodes as Latin-1
                name = name.encode("latin-1").decode("utf-8")
            except (UnicodeEncodeError, UnicodeDecodeError):
                pass
    if not name:
        name = unquote(PurePosixPath(urlsplit(url).path).name)
    name = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1]).strip().strip(".")
    name = re.sub(r"[\x00-\x1f]", "", name) or "attachment"
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 254 - len(ext)] + dot + ext) if dot and len(ext) <= 16 else name[:255]
    return name


# -- text extraction ------------------------------------------------------------------------------


def _kind(data: bytes, filename: str, content_type: str | None) -> str | None:
    """pdf | docx | html | text | None (unsupported), from magic bytes first, then type and name."""
    ctype = (content_type or "").split(";")[0].strip().lower()
    ext = PurePosixPath(filename.lower()).suffix
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                if "word/document.xml" in zf.namelist():
                    return "docx"
        except zipfile.BadZipFile:
            pass
    if ctype == "application/pdf" or ext == ".pdf":
        return "pdf"  # declared PDF without a PDF header: corrupt, extraction will say so
    if ctype == DOCX_TYPE or ext == ".docx":
        return "docx"
    if ctype in _HTML_TYPES or ext in (".html", ".htm", ".xhtml"):
        return "html"
    if ctype in _TEXT_TYPES or ext == ".txt":
        return "text"
    return None


def _charset(content_type: str | None) -> str | None:
    m = re.search(r"charset\s*=\s*\"?([\w.:-]+)", content_type or "", re.IGNORECASE)
    return m.group(1) if m else None


def _decode(data: bytes, content_type: str | None) -> str:
    for enc in filter(None, (_charset(content_type), "utf-8-sig", "cp1258")):
        try:
            return data.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("latin-1")


def _tidy(lines) -> str:
    """NFC and spaces collapsed within each line; blank lines dropped; one paragraph per line."""
    out = []
    for line in lines:
        for part in str(line).splitlines():
            if cleaned := clean(part):
                out.append(cleaned)
    return "\n".join(out)


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted and not reader.decrypt(""):
        raise ExtractionError("encrypted PDF")
    return _tidy(page.extract_text() or "" for page in reader.pages)


def _docx_lines(container) -> list[str]:
    from docx.table import Table

    lines: list[str] = []
    for block in container.iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                cells, seen = [], set()
                for cell in row.cells:
                    if id(cell._tc) in seen:  # a merged cell is repeated once per grid column
                        continue
                    seen.add(id(cell._tc))
                    cells.append(" ".join(_docx_lines(cell)))
                if any(c.strip() for c in cells):
                    lines.append(" | ".join(cells))
        else:
            lines.append(block.text)
    return lines


def _docx_text(data: bytes) -> str:
    import docx

    return _tidy(_docx_lines(docx.Document(io.BytesIO(data))))


def _html_text(data: bytes, content_type: str | None) -> str:
    from bs4 import BeautifulSoup

    charset = _charset(content_type)
    soup = BeautifulSoup(data, "lxml", from_encoding=charset)
    for tag in soup(["script", "style", "noscript", "head"]):
        tag.decompose()
    return _tidy(soup.get_text("\n").splitlines())


def extract_text(data: bytes, filename: str, content_type: str | None) -> str | None:
    """The file's text (NFC, one paragraph per line), None for an unsupported type.

    A supported but unreadable file raises :class:`ExtractionError`.
    """
    kind = _kind(data, filename, content_type)
    if kind is None:
        return None
    try:
        if kind == "pdf":
            return _pdf_text(data)
        if kind == "docx":
            return _docx_text(data)
        if kind == "html":
            return _html_text(data, content_type)
        return _tidy(_decode(data, content_type).splitlines())
    except ExtractionError:
        raise
    except Exception as exc:  # noqa: BLE001 - every parser failure means "this file cannot be read"
        raise ExtractionError(f"{kind}: {type(exc).__name__}: {exc}"[:1000]) from exc


# -- fetch for a decision -------------------------------------------------------------------------


@dataclass
class AttachmentResult:
    """What :func:`fetch_attachments` did: counts by status, plus ``skipped`` (already done) and
    ``waiting`` (a failed download whose retry date has not come)."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("stored", "too_large", "unsupported", "failed", "skipped"), 0))
    attachments: list[Attachment] = field(default_factory=list)
    tried: list[Attachment] = field(default_factory=list)  # downloaded (or attempted) by this call

    def add(self, key: str, row: Attachment) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1
        self.attachments.append(row)

    def merge(self, other: AttachmentResult) -> None:
        for key, n in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + n
        self.attachments += other.attachments
        self.tried += other.tried

    def persistent_failures(self) -> list[dict[str, object]]:
        """The downloads tried now that have failed ``ATTACHMENT_ALERT_ATTEMPTS`` times or more in a row
        (JSON-able, for the task's summary and the ops alert)."""
        return [failure_summary(a) for a in self.tried
                if a.status == FETCH_FAILED and a.attempts >= ATTACHMENT_ALERT_ATTEMPTS]


def failure_summary(row: Attachment) -> dict[str, object]:
    return {"url": row.url, "source": row.source, "decision": row.decision.so_hieu if row.decision else None,
            "http_status": row.http_status, "attempts": row.attempts, "error": row.error,
            "next_retry_for": row.next_retry_for.isoformat() if row.next_retry_for else None}


def next_retry(as_of: date, attempts: int) -> date | None:
    """The run date of the next try after ``attempts`` failed downloads in a row: 1, 2, 4, 8, 16, then
    every 30 days; None (never) after :data:`MAX_ATTEMPTS`. Counted from the run's date, never the clock."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return as_of + timedelta(days=min(2 ** (attempts - 1), MAX_BACKOFF_DAYS))


def _apply_content(row: Attachment, data: bytes, store: AttachmentStore) -> None:
    """Store the file and set hash, size, status, text and error from its extraction."""
    sha, _ = store.put(data)
    row.content_hash, row.size = sha, len(data)
    row.text = row.text_key = row.error = None
    try:
        text = extract_text(data, row.filename, row.content_type)
    except ExtractionError as exc:
        row.status, row.error = "failed", str(exc)
        return
    if text is None:
        row.status = "unsupported"
    else:
        row.status, row.text, row.text_key = "stored", text, search_key(text)


def _record_failure(row: Attachment, exc: SourceError, decision: Decision, source: str | None, as_of: date) -> None:
    row.status = FETCH_FAILED
    row.attempts = (row.attempts or 0) + 1
    row.http_status = getattr(exc, "status", None)
    where = f"{source or 'ingest'}: attachment of decision {decision.so_hieu}"
    row.error = f"{where}: {exc}"[:2000]
    row.next_retry_for = next_retry(as_of, row.attempts) if getattr(exc, "retry", True) else None


def fetch_attachments(
    db_session: Session,
    decision: Decision,
    urls: list[str],
    http: requests.Session,
    store: AttachmentStore,
    max_bytes: int = DEFAULT_MAX_BYTES,
    *,
    fetched_at: datetime,
    source: str | None = None,
    as_of: date | None = None,
) -> AttachmentResult:
    """Download, store and extract each attachment of ``decision``; one Attachment row per URL.

    Idempotent: a URL already ``stored`` or ``unsupported`` (with its file still in the store) is skipped;
    ``failed`` is re-extracted from the stored file without downloading; ``too_large`` is retried only
    when ``max_bytes`` now allows its recorded size; ``fetch_failed`` is tried again only from its
    ``next_retry_for`` (a run date: ``as_of``, by default the date of ``fetched_at``). A download that
    fails is recorded, never raised: the decision is stored all the same. Rows are flushed, not committed.
    """
    result = AttachmentResult()
    as_of = as_of or fetched_at.date()
    if decision.id is None:
        db_session.flush()
    existing = {
        a.url: a for a in db_session.scalars(select(Attachment).where(Attachment.decision_id == decision.id))
    }
    for url in dict.fromkeys(u.strip() for u in urls if u and u.strip()):
        row = existing.get(url)
        if row is not None:
            if row.status in ("stored", "unsupported") and row.content_hash and store.has(row.content_hash):
                result.add("skipped", row)
                continue
            if row.status == "too_large" and (row.size or 0) > max_bytes:
                result.add("skipped", row)
                continue
            if row.status == FETCH_FAILED and (row.next_retry_for is None or row.next_retry_for > as_of):
                result.add("waiting", row)
                continue
            if row.status == "failed" and row.content_hash and store.has(row.content_hash):
                _apply_content(row, store.get(row.content_hash), store)
                row.fetched_at = fetched_at
                result.add(row.status, row)
                continue
        row = row or Attachment(decision_id=decision.id, url=url, attempts=0)
        row.source = source or row.source
        try:
            got = download(http, url, max_bytes)
        except TooLarge as exc:
            row.filename = exc.filename or filename_from(None, url)
            row.content_hash = row.content_type = row.text = row.text_key = None
            row.size, row.status, row.error = exc.size, "too_large", str(exc)
            row.attempts, row.next_retry_for, row.http_status = 0, None, 200
        except SourceError as exc:  # DownloadError, or robots.txt forbidding it
            row.filename = row.filename or filename_from(None, url)
            row.decision = decision
            _record_failure(row, exc, decision, source, as_of)
        else:
            row.filename, row.content_type = got.filename, got.content_type
            row.attempts, row.next_retry_for, row.http_status = 0, None, 200
            _apply_content(row, got.content, store)
        row.fetched_at = fetched_at
        if row.id is None:
            db_session.add(row)
            existing[url] = row
        db_session.flush()
        result.add(row.status, row)
        result.tried.append(row)
    return result


def retry_due_attachments(
    db_session: Session,
    source: str,
    http: requests.Session,
    store: AttachmentStore,
    max_bytes: int = DEFAULT_MAX_BYTES,
    *,
    fetched_at: datetime,
    as_of: date,
) -> AttachmentResult:
    """Try again the failed downloads of ``source`` whose retry date has come (``next_retry_for`` <=
    ``as_of``, the run's date): what a run does after reading its source, so a file missing one night
    (a 404 while the ministry uploads it, a server down) is fetched on a later night."""
    result = AttachmentResult()
    due = db_session.scalars(
        select(Attachment).where(Attachment.source == source, Attachment.status == FETCH_FAILED,
                                 Attachment.next_retry_for.is_not(None), Attachment.next_retry_for <= as_of)
        .order_by(Attachment.decision_id, Attachment.id)
    ).all()
    by_decision: dict[int, list[str]] = {}
    for row in due:
        by_decision.setdefault(row.decision_id, []).append(row.url)
    for decision_id, urls in by_decision.items():
        decision = db_session.get(Decision, decision_id)
        if decision is not None:
            result.merge(fetch_attachments(db_session, decision, urls, http, store, max_bytes,
                                           fetched_at=fetched_at, source=source, as_of=as_of))
    return result


# -- search ---------------------------------------------------------------------------------------


def _like_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def snippet(text: str, query_key: str, width: int = SNIPPET_CHARS) -> str:
    """About ``width`` characters of ``text`` around the first match of ``query_key`` (a search_key)."""
    words = list(_WORD.finditer(text))
    starts, parts, pos = [], [], 0
    for m in words:
        starts.append(pos)
        key = search_key(m.group(0))
        parts.append(key)
        pos += len(key) + 1
    at = " ".join(parts).find(query_key) if query_key else -1
    if at < 0 or not words:
        hit_start, hit_end = 0, 0
    else:
        first = bisect.bisect_right(starts, at) - 1
        last = bisect.bisect_right(starts, at + max(len(query_key) - 1, 0)) - 1
        hit_start, hit_end = words[first].start(), words[last].end()
    begin = max(0, min(hit_start - (width - (hit_end - hit_start)) // 2, len(text) - width))
    end = min(len(text), begin + width)
    if begin > 0:  # do not cut words
        space = text.find(" ", begin, hit_start)
        begin = space + 1 if space >= 0 else begin
    if end < len(text):
        space = text.rfind(" ", hit_end, end)
        end = space if space >= 0 else end
    out = " ".join(text[begin:end].split())
    return ("…" if begin > 0 else "") + out + ("…" if end < len(text) else "")


def search(db_session: Session, query: str, limit: int = 20) -> list[tuple[Decision, Attachment, str]]:
    """(decision, attachment, snippet) for each attachment whose text contains ``query``.

    Compared under :func:`tthc.core.text.search_key` (case, tone-mark placement and punctuation do not matter);
    newest decisions first. An empty query finds nothing.
    """
    key = search_key(query)
    if not key:
        return []
    stmt = (
        select(Decision, Attachment)
        .join(Attachment, Attachment.decision_id == Decision.id)
        .where(Attachment.text_key.like(f"%{_like_escape(key)}%", escape="\\"))
        .order_by(Decision.id.desc(), Attachment.id)
        .limit(limit)
    )
    return [(d, a, snippet(a.text or "", key)) for d, a in db_session.execute(stmt).all()]
