"""A procedure's public page on the national portal, parsed into a :class:`ProcedurePage` (pure, no I/O).

The portal shows a procedure in two layouts (both captured in the shared reference material):

* **full** — ``/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html?ma_thu_tuc=<internal id>``
  (``procedure_detail_page.html``): the popup ``#popupChitietTTHC`` holds ``div.row.info-row`` rows,
  each a ``.key`` label ("Mã thủ tục:", "Số quyết định:", "Cấp thực hiện:", "Cách thức thực hiện:" with a
  table of hình thức nộp / thời hạn giải quyết / phí, lệ phí / mô tả, "Thành phần hồ sơ:", "Căn cứ pháp lý:"
  with a table of số ký hiệu / trích yếu / ngày ban hành / cơ quan ban hành, …) and its value. "Trình tự
  thực hiện" and "Yêu cầu, điều kiện" are filled by JavaScript after load (empty in the HTML).
* **citizen** — ``/p/home/dvc-chi-tiet-thu-tuc-hanh-chinh.html?ma_thu_tuc=<code>``
  (``procedure_detail_3.000001.html``): an ``h1.main-title`` with the name, a "Xem chi tiết" link to the
  full page (``a.url[href*=dvc-tthc-thu-tuc-hanh-chinh-chi-tiet]``, which carries the internal id) and
  ``h2.main-title-sub`` sections: Trình tự thực hiện, Cách thức thực hiện (``td[data-title]`` cells),
  Thành phần hồ sơ, Cơ quan thực hiện, Yêu cầu, điều kiện thực hiện. It has **no** code in its text (only
  in a script: ``var procedure_code = '…'``), no level, field, decision number, subjects, result or legal
  bases, and its fee cells stay empty (fees come from a pop-up filled by JavaScript). What it lacks is
  listed in :attr:`ProcedurePage.missing`; the ingest follows its link to the full page.

A page in neither layout, or a layout missing what every page of it has, raises
:class:`~tthc.core.http.LayoutChangedError` naming the selector or label — never a silent blank. A full
page whose code and name are both empty is :class:`ProcedureNotFoundError` (chưa có trên CSDL quốc gia):
the portal's pages carry that popup as an empty template until something fills it (the real decision page,
``decision_115010_details.html``, has it empty, filled by JavaScript), which is what a page for an id the
portal does not hold shows.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tthc.core.http import LayoutChangedError, SourceError
from tthc.core.text import clean, match_key

FULL_PATH = "/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html"  # ?ma_thu_tuc=<internal id>
CITIZEN_PATH = "/p/home/dvc-chi-tiet-thu-tuc-hanh-chinh.html"  # ?ma_thu_tuc=<code>
WORD_EXPORT_PATH = "/jsp/tthc/export/export_word_detail_tthc.jsp"  # ?maTTHC=<code>&idTTHC=<id>

NO_INFO = "không có thông tin"
_CODE = re.compile(r"^\d\.\d{6}$")
_SCRIPT_VAR = re.compile(r"""var\s+(procedure_code|procedure_id)\s*=\s*['"]([^'"]*)['"]""")

FULL_REQUIRED = ("mã thủ tục", "tên thủ tục", "cách thức thực hiện")
CITIZEN_SECTIONS = ("cách thức thực hiện", "thành phần hồ sơ", "cơ quan thực hiện")
# what the citizen layout never carries (the full page has it)
CITIZEN_MISSING = ("decision_no", "level", "procedure_type", "field", "subjects", "competent_agency",
                   "result", "legal_bases", "fees")
CHANNEL_HEADERS = {"hình thức nộp": "channel", "thời hạn giải quyết": "deadline", "phí lệ phí": "fee",
                   "mô tả": "description"}
LEGAL_HEADERS = {"số ký hiệu": "number", "trích yếu": "title", "ngày ban hành": "issued",
                 "cơ quan ban hành": "agency"}
DOCUMENT_HEADERS = {"tên giấy tờ": "name", "mẫu đơn tờ khai": "form", "số lượng": "quantity"}


class ProcedureNotFoundError(SourceError):
    """The portal holds no procedure under this id or code (chưa có trên CSDL quốc gia)."""


@dataclass(frozen=True)
class Channel:
    """One row of "Cách thức thực hiện": how to submit, the time limit, fees, remarks."""

    channel: str
    deadline: str
    fee: str
    description: str = ""


@dataclass(frozen=True)
class LegalBasis:
    """One row of "Căn cứ pháp lý"; ``issued`` as the portal writes it (dd-mm-yyyy)."""

    number: str
    title: str
    issued: str
    agency: str


@dataclass(frozen=True)
class Document:
    name: str
    form: str
    quantity: str


@dataclass(frozen=True)
class DocumentGroup:
    """A case of "Thành phần hồ sơ" (its title may be empty) and its documents."""

    title: str
    documents: tuple[Document, ...]


@dataclass(frozen=True)
class ProcedurePage:
    layout: str  # "full" | "citizen"
    portal_id: str | None
    code: str | None
    name: str
    decision_no: str = ""
    level: str = ""  # "Cấp thực hiện" as written ("Cấp Tỉnh", "Cấp Bộ, Cơ quan khác")
    procedure_type: str = ""
    field: str = ""
    steps: str = ""
    channels: tuple[Channel, ...] = ()
    documents: tuple[DocumentGroup, ...] = ()
    subjects: str = ""
    agencies: str = ""  # Cơ quan thực hiện
    competent_agency: str = ""
    address: str = ""
    result: str = ""
    legal_bases: tuple[LegalBasis, ...] = ()
    requirements: str = ""
    missing: tuple[str, ...] = ()

    @property
    def levels(self) -> list[str]:
        return parse_levels(self.level)

    def as_data(self) -> dict[str, Any]:
        """JSON-able content (what a stored version keeps and compares)."""
        return asdict(self)


LEVEL_WORDS = {"cấp tỉnh": "cap_tinh", "cấp xã": "cap_xa", "cấp huyện": "cap_huyen", "cấp bộ": "cap_trung_uong",
               "cấp trung ương": "cap_trung_uong", "trung ương": "cap_trung_uong"}


def parse_levels(text: str) -> list[str]:
    """"Cấp Tỉnh, Cấp Xã" → ["cap_tinh", "cap_xa"]; "Cơ quan khác" and unknown words are dropped."""
    out: list[str] = []
    for part in re.split(r"[,;]", text or ""):
        level = LEVEL_WORDS.get(match_key(part))
        if level and level not in out:
            out.append(level)
    return out


def full_url(base_url: str, portal_id: str) -> str:
    return f"{base_url.rstrip('/')}{FULL_PATH}?ma_thu_tuc={portal_id}"


def citizen_url(base_url: str, code: str) -> str:
    return f"{base_url.rstrip('/')}{CITIZEN_PATH}?ma_thu_tuc={code}"


# ---------------------------------------------------------------- text helpers


def _text(node) -> str:
    """The node's text, NFC, whitespace collapsed; "Không có thông tin" is empty."""
    if node is None:
        return ""
    for br in node.find_all("br"):
        br.replace_with("\n")
    text = clean(node.get_text(" "))
    return "" if text.lower().strip(" .") == NO_INFO else text


def _cell(node) -> str:
    """A table cell's text: one line per ``br``-separated line, each cleaned."""
    if node is None:
        return ""
    for br in node.find_all("br"):
        br.replace_with("\n")
    lines = [clean(line) for line in node.get_text(" ").splitlines()]
    text = "\n".join(line for line in lines if line)
    return "" if text.lower().strip(" .") == NO_INFO else text


def _lines(node) -> str:
    """Text keeping one line per paragraph (``p``/``br``/line breaks), for long free-text fields."""
    if node is None:
        return ""
    for br in node.find_all("br"):
        br.replace_with("\n")
    for p in node.find_all(["p", "li", "div"]):
        p.insert_after("\n")
    lines = [clean(line) for line in node.get_text("").splitlines()]
    text = "\n".join(line for line in lines if line)
    return "" if text.lower().strip(" .") == NO_INFO else text


def _label(text: str) -> str:
    """A label's key: "Cách thức thực hiện:" → "cách thức thực hiện"."""
    return match_key(text.rstrip(": "))


def _table(table, headers: dict[str, str], what: str, url: str) -> list[dict[str, str]]:
    """Rows of ``table`` as dicts keyed by ``headers`` (matched on the header text, in any order); a
    header missing raises LayoutChangedError naming it."""
    found = [_label(th.get_text(" ")) for th in table.select("thead th")] or \
        [_label(td.get_text(" ")) for td in (table.select_one("tr") or table).find_all(["th", "td"])]
    index: dict[str, int] = {}
    for i, head in enumerate(found):
        if head in headers:
            index[headers[head]] = i
    missing = [h for h, key in headers.items() if key not in index and key not in ("description", "form")]
    if missing:
        raise LayoutChangedError(f"national portal procedure page {url}: {what} table has no column "
                                 f"{missing} (found {found})")
    rows = []
    body = table.select("tbody tr") or table.select("tr")[1:]
    for tr in body:
        cells = tr.find_all("td", recursive=False)
        if not cells:
            continue
        row = {key: _cell(cells[i]) if i < len(cells) else "" for key, i in index.items()}
        for key in headers.values():
            row.setdefault(key, "")
        if any(row.values()):
            rows.append(row)
    return rows


def _channels(node, url: str, layout: str) -> tuple[Channel, ...]:
    if node is None or not _text(node):
        return ()
    table = node if node.name == "table" else node.find("table")
    if table is None:
        raise LayoutChangedError(f"national portal procedure page {url}: 'Cách thức thực hiện' has text but no "
                                 f"table ({layout} layout)")
    return tuple(Channel(clean(r["channel"]), clean(r["deadline"]), r["fee"], r["description"])
                 for r in _table(table, CHANNEL_HEADERS, "'Cách thức thực hiện'", url))


def _legal_bases(node, url: str) -> tuple[LegalBasis, ...]:
    if node is None or not _text(node):
        return ()
    table = node.find("table")
    if table is None:
        raise LayoutChangedError(f"national portal procedure page {url}: 'Căn cứ pháp lý' has text but no table")
    return tuple(LegalBasis(clean(r["number"]), clean(r["title"]), clean(r["issued"]), clean(r["agency"]))
                 for r in _table(table, LEGAL_HEADERS, "'Căn cứ pháp lý'", url))


def _document_rows(table, url: str) -> tuple[Document, ...]:
    rows = _table(table, DOCUMENT_HEADERS, "'Thành phần hồ sơ'", url)
    out = []
    for r in rows:
        quantity = re.sub(r"[\s,]*(?:-\s*)?(Bản sao)", r", \1", r["quantity"].replace("\n", " "))
        out.append(Document(clean(r["name"]), clean(r["form"]), clean(quantity).strip(", ")))
    return tuple(out)


# ---------------------------------------------------------------- the two layouts


def _full(soup, url: str) -> ProcedurePage:
    scope = soup.select_one("#popupChitietTTHC") or soup
    rows: dict[str, Any] = {}
    for row in scope.select("div.row.info-row"):
        key = row.find(class_="key", recursive=False)
        if key is None:
            continue
        value = key.find_next_sibling("div")
        rows.setdefault(_label(key.get_text(" ")), value)
    missing = [k for k in FULL_REQUIRED if k not in rows]
    if missing:
        raise LayoutChangedError(f"national portal procedure page {url}: no 'div.row.info-row .key' labelled "
                                 f"{missing} (layout changed?)")

    def text(label: str, lines: bool = False) -> str:
        node = rows.get(label)
        return _lines(node) if lines else _text(node)

    code = text("mã thủ tục")
    name = text("tên thủ tục")
    if not code and not name:
        raise ProcedureNotFoundError(f"national portal procedure page {url}: no such procedure (empty code and name)")
    if code and not _CODE.match(code):
        raise LayoutChangedError(f"national portal procedure page {url}: 'Mã thủ tục' is {code!r}, "
                                 "not a code d.dddddd")
    documents: list[DocumentGroup] = []
    docs_node = rows.get("thành phần hồ sơ")
    if docs_node is not None:
        title = ""
        for child in docs_node.find_all(["div", "table"], recursive=False):
            if child.name == "div" and "key" in (child.get("class") or []):
                title = _text(child)
            elif child.name == "table":
                documents.append(DocumentGroup(title, _document_rows(child, url)))
                title = ""
    return ProcedurePage(
        layout="full", portal_id=_id_from(url) or _script_vars(soup).get("procedure_id") or None,
        code=code or None, name=name, decision_no=text("số quyết định"), level=text("cấp thực hiện"),
        procedure_type=text("loại thủ tục"), field=text("lĩnh vực"), steps=text("trình tự thực hiện", True),
        channels=_channels(rows.get("cách thức thực hiện"), url, "full"), documents=tuple(documents),
        subjects=text("đối tượng thực hiện"), agencies=text("cơ quan thực hiện"),
        competent_agency=text("cơ quan có thẩm quyền"), address=text("địa chỉ tiếp nhận hs"),
        result=text("kết quả thực hiện"), legal_bases=_legal_bases(rows.get("căn cứ pháp lý"), url),
        requirements=text("yêu cầu điều kiện thực hiện", True),
    )


def _citizen(soup, url: str) -> ProcedurePage:
    title = soup.select_one("h1.main-title")
    if title is None or not _text(title):
        raise LayoutChangedError(f"national portal procedure page {url}: no 'h1.main-title' (layout changed?)")
    sections: dict[str, Any] = {}
    for h2 in soup.select("h2.main-title-sub"):
        body = h2.find_next_sibling(lambda tag: tag.name in ("div", "table") and "divider-gray" not in
                                    (tag.get("class") or []))
        sections.setdefault(_label(h2.get_text(" ")), body)
    missing = [s for s in CITIZEN_SECTIONS if s not in sections]
    if missing:
        raise LayoutChangedError(f"national portal procedure page {url}: no 'h2.main-title-sub' {missing}")
    documents = []
    for item in (sections["thành phần hồ sơ"].select("div.item") if sections["thành phần hồ sơ"] else []):
        table = item.find("table")
        head = item.select_one(".title")
        group_title = clean(head.get("title") or "") if head is not None else ""
        documents.append(DocumentGroup(group_title or _text(head), _document_rows(table, url) if table else ()))
    link = soup.select_one("a.url[href*='dvc-tthc-thu-tuc-hanh-chinh-chi-tiet']")
    script = _script_vars(soup)
    code = script.get("procedure_code") or None
    code = code if code and _CODE.match(code) else None
    return ProcedurePage(
        layout="citizen", portal_id=(_id_from(link.get("href", "")) if link is not None else None)
        or script.get("procedure_id") or None,
        code=code, name=_text(title),
        steps=_lines(sections.get("trình tự thực hiện")),
        channels=_channels(sections.get("cách thức thực hiện"), url, "citizen"), documents=tuple(documents),
        agencies=_text(sections.get("cơ quan thực hiện")),
        requirements=_lines(sections.get("yêu cầu điều kiện thực hiện")),
        missing=CITIZEN_MISSING if code else ("code", *CITIZEN_MISSING),
    )


def _id_from(url: str) -> str | None:
    parts = urlsplit(url or "")
    if "dvc-tthc-thu-tuc-hanh-chinh-chi-tiet" not in parts.path:
        return None
    value = (parse_qs(parts.query).get("ma_thu_tuc") or [""])[0].strip()
    return value if value.isdigit() else None


def _script_vars(soup) -> dict[str, str]:
    out: dict[str, str] = {}
    for script in soup.find_all("script"):
        for name, value in _SCRIPT_VAR.findall(script.string or ""):
            out.setdefault(name, value.strip())
    return out


def complete_with_citizen(full: ProcedurePage, citizen: ProcedurePage) -> ProcedurePage:
    """The full page with what only the citizen page has in its HTML (the steps and the requirements, which
    the full page loads with JavaScript)."""
    return replace(full, steps=full.steps or citizen.steps, requirements=full.requirements or citizen.requirements)


def parse_procedure_page(html: str | bytes, url: str = "") -> ProcedurePage:
    """Parse either layout (see the module docstring)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "lxml")
    if soup.select_one("#popupChitietTTHC") is not None or soup.select_one("div.row.info-row") is not None:
        return _full(soup, url)
    if soup.select_one("h2.main-title-sub") is not None:
        return _citizen(soup, url)
    raise LayoutChangedError(f"national portal procedure page {url}: neither 'div.row.info-row' (full layout) nor "
                             "'h2.main-title-sub' (citizen layout) found (layout changed?)")
