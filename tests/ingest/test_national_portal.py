"""The national portal source: parsing of the real reference answers, and the HTTP client against
the sandbox (wire format, error handling)."""

from __future__ import annotations

import json
import socket
import threading
import unicodedata
from collections.abc import Iterator
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from support.sandbox_yaml import sandbox_yaml
from tthc.core.config import SETTINGS_DIR
from tthc.core.http import LayoutChangedError, SnapshotRecorder, SourceError, make_session
from tthc.core.text import normalise_so_hieu
from tthc.ingest.sources.national_portal import settings
from tthc.ingest.sources.national_portal.client import HttpPortalClient
from tthc.ingest.sources.national_portal.helpers import (
    PortalDecision,
    PortalItem,
    parse_decision_list,
    parse_detail_page,
    parse_fields,
    parse_items,
    parse_portal_date,
)
from tthc_dev.sandbox import DATA_DIR

DATA = DATA_DIR
LIST_FILE = "decision_publishment_advanced_search_service_v2.json"
NEW_FILE = "decision_115010_get_procedures_by_dp_id_service_v2.json"
MODIFIED_FILE = "decision_115010_get_modified_procedures_by_dp_id_service_v2.json"
RESCINDED_FILE = "decision_115010_get_rescinded_procedures_by_dp_id_service_v2.json"
FIELDS_FILE = "decision_115010_get_fields_by_dp_id_services_v2.json"
DETAIL_FILE = "decision_115010_details.html"


def _ref(reference: Path, name: str):
    return json.loads((reference / "national-portal" / "decisions" / name).read_text(encoding="utf-8"))


def _demo_decisions() -> list[dict]:
    return yaml.safe_load((DATA / "decisions.yaml").read_text(encoding="utf-8"))


def _demo_procedures() -> dict[str, dict]:
    return {str(p["code"]): p for p in sandbox_yaml("procedures.yaml")}


def _newest_first(decisions: list[dict]) -> list[dict]:
    return sorted(decisions, key=lambda d: (date.fromisoformat(d["published"]), int(d["portal_id"])), reverse=True)


# ------------------------------------------------------------------ helpers on the real answers


def test_parse_decision_list_real_answer(reference: Path) -> None:
    raw = _ref(reference, LIST_FILE)
    rows = parse_decision_list(raw)
    assert len(rows) == len(raw) == 50
    assert all(isinstance(r, PortalDecision) for r in rows)
    first = rows[0]
    assert first.id == raw[0]["ID"] == "115187"
    assert first.so_hieu == "2193/QĐ-UBND."  # parse keeps the portal's text as it is
    assert normalise_so_hieu(first.so_hieu) == "2193/QĐ-UBND"
    assert first.published == date(2025, 12, 9)
    assert first.agency_name == "UBND tỉnh Thái Nguyên"
    assert first.agency_id == "370865"
    # AMOUNT (a string on the wire) is the total number of rows, as an int
    assert first.total == 23039 and all(r.total == 23039 for r in rows)
    assert first.position == (date(2025, 12, 9), 115187)
    for r, src in zip(rows, raw, strict=True):
        assert r.id == src["ID"]
        assert r.so_hieu == src["CODE"].strip()
        day, month, year = (int(p) for p in src["PUBLISHING_DATE"].split("-"))
        assert r.published == date(year, month, day)
    # the list is newest first
    assert [r.published for r in rows] == sorted((r.published for r in rows), reverse=True)


def test_stray_trailing_dots_in_real_list(reference: Path) -> None:
    rows = parse_decision_list(_ref(reference, LIST_FILE))
    dotted = [r for r in rows if r.so_hieu.endswith(".")]
    assert {r.so_hieu for r in dotted} == {"2193/QĐ-UBND.", "02204/QĐ-UBND."}
    for r in dotted:
        assert not normalise_so_hieu(r.so_hieu).endswith(".")
    # the dotted and undotted 02204/QĐ-UBND rows share one key
    keys = [normalise_so_hieu(r.so_hieu) for r in rows if r.so_hieu.startswith("02204/")]
    assert keys == ["02204/QĐ-UBND", "02204/QĐ-UBND"]


def test_parse_items_modified_group(reference: Path) -> None:
    raw = _ref(reference, MODIFIED_FILE)
    items = parse_items(raw, "amended")
    assert [i.id for i in items] == ["388421", "109830", "109833", "109836"]
    assert items[1] == PortalItem(id="109830", name="Công bố đủ điều kiện sản xuất trang thiết bị y tế",
                                  change_type="amended", total=4)
    assert all(i.change_type == "amended" and i.total == 4 for i in items)
    assert all(unicodedata.is_normalized("NFC", i.name) for i in items)


@pytest.mark.parametrize("name,change", [(NEW_FILE, "new"), (RESCINDED_FILE, "abolished")])
def test_parse_items_empty_groups(reference: Path, name: str, change: str) -> None:
    raw = _ref(reference, name)
    assert raw == []
    assert parse_items(raw, change) == []


def test_parse_fields_real_answer(reference: Path) -> None:
    assert parse_fields(_ref(reference, FIELDS_FILE)) == [("256", "Thiết bị y tế")]


@pytest.mark.parametrize("as_bytes", [True, False])
def test_parse_detail_page_real_page(reference: Path, as_bytes: bool) -> None:
    path = reference / "national-portal" / "decisions" / DETAIL_FILE
    html = path.read_bytes() if as_bytes else path.read_text(encoding="utf-8")
    page = parse_detail_page(html, "https://thutuc.dichvucong.gov.vn/p/home/x.html?ma_quyet_dinh=115010")
    assert page.so_hieu == "2751/QĐ-UBND"
    assert page.signed == date(2025, 12, 3)
    assert page.agency_name == "UBND tỉnh Điện Biên"
    assert page.attachments == ()  # the attachments cell is empty on this page


def test_parse_detail_page_resolves_attachment_links() -> None:
    html = """<table class="table-info-row">
    <tr><td class="key">Số quyết định</td><td class="value"> 12/QĐ-BKHCN. </td></tr>
    <tr><td class="key">Ngày quyết định</td><td class="value"></td></tr>
    <tr><td class="key">File đính kèm</td><td class="value"><a href="/web/jsp/download_file.jsp?ma=ab">a.pdf</a>
    <a href="b.pdf">b</a></td></tr></table>"""
    page = parse_detail_page(html, "https://portal.example/p/home/detail.html?ma_quyet_dinh=1")
    assert page.so_hieu == "12/QĐ-BKHCN."
    assert page.signed is None
    assert page.agency_name is None
    assert page.attachments == ("https://portal.example/web/jsp/download_file.jsp?ma=ab",
                                "https://portal.example/p/home/b.pdf")


# ------------------------------------------------------------------ malformed inputs


@pytest.mark.parametrize("payload", [{"ID": "1"}, "[]", None, 42])
def test_decision_list_not_a_list(payload) -> None:
    with pytest.raises(LayoutChangedError, match="expected a JSON array"):
        parse_decision_list(payload)


def test_decision_list_row_missing_key(reference: Path) -> None:
    raw = _ref(reference, LIST_FILE)
    del raw[3]["PUBLISHING_DATE"]
    with pytest.raises(LayoutChangedError, match=r"row 3 lacks \['PUBLISHING_DATE'\]"):
        parse_decision_list(raw)


def test_decision_list_row_not_an_object(reference: Path) -> None:
    raw = _ref(reference, LIST_FILE)
    raw[1] = "115178"
    with pytest.raises(LayoutChangedError, match="row 1 is not an object"):
        parse_decision_list(raw)


def test_items_row_missing_key(reference: Path) -> None:
    raw = _ref(reference, MODIFIED_FILE)
    del raw[0]["PROCEDURE_NAME"]
    with pytest.raises(LayoutChangedError, match="PROCEDURE_NAME"):
        parse_items(raw, "amended")


def test_fields_row_missing_key() -> None:
    with pytest.raises(LayoutChangedError, match="NAME"):
        parse_fields([{"ID": "256"}])


@pytest.mark.parametrize("bad", ["2025-12-09", "09/12/2025", "31-02-2025", "", "hôm nay"])
def test_bad_date_in_list(reference: Path, bad: str) -> None:
    raw = _ref(reference, LIST_FILE)
    raw[0]["PUBLISHING_DATE"] = bad
    with pytest.raises(LayoutChangedError, match="expected dd-mm-yyyy"):
        parse_decision_list(raw)


def test_parse_portal_date_tolerates_whitespace() -> None:
    assert parse_portal_date(" 03-12-2025\n") == date(2025, 12, 3)


def test_detail_page_without_info_table(reference: Path) -> None:
    html = (reference / "national-portal" / "decisions" / DETAIL_FILE).read_text(encoding="utf-8")
    renamed = html.replace('class="table-info-row"', 'class="table-info"')
    assert renamed != html
    with pytest.raises(LayoutChangedError, match=r"table\.table-info-row"):
        parse_detail_page(renamed, "u")


def test_detail_page_without_number_row() -> None:
    html = '<table class="table-info-row"><tr><td class="key">Trích yếu</td><td class="value">x</td></tr></table>'
    with pytest.raises(LayoutChangedError, match="Số quyết định"):
        parse_detail_page(html)


def test_detail_page_bad_signing_date(reference: Path) -> None:
    html = (reference / "national-portal" / "decisions" / DETAIL_FILE).read_text(encoding="utf-8")
    broken = html.replace("03-12-2025", "2025/12/03")
    with pytest.raises(LayoutChangedError, match="unexpected date"):
        parse_detail_page(broken)


# ------------------------------------------------------------------ the HTTP client on the sandbox


def _expected_groups(decision: dict, procedures: dict[str, dict]) -> list[tuple[str, str]]:
    """(name, change type) as the portal groups them: replaced → new + the old one rescinded."""
    new = [(i["name"], "new") for i in decision["items"] if i["change"] in ("new", "replaced")]
    amended = [(i["name"], "amended") for i in decision["items"] if i["change"] == "amended"]
    abolished = []
    for i in decision["items"]:
        if i["change"] == "abolished":
            abolished.append((i["name"], "abolished"))
        elif i["change"] == "replaced" and i.get("replaces"):
            proc = procedures.get(i["replaces"])
            abolished.append((proc["name"] if proc else f"Thủ tục {i['replaces']}", "abolished"))
    return new + amended + abolished


def test_list_decisions_newest_first(sandbox) -> None:
    demo = _newest_first(_demo_decisions())
    client = HttpPortalClient(sandbox.url, session=make_session(retries=0))
    rows = client.list_decisions(1)
    assert [r.id for r in rows] == [d["portal_id"] for d in demo]
    assert [r.position for r in rows] == sorted((r.position for r in rows), reverse=True)
    assert all(r.total == len(demo) for r in rows)
    by_id = {d["portal_id"]: d for d in demo}
    for r in rows:
        d = by_id[r.id]
        assert normalise_so_hieu(r.so_hieu) == d["so_hieu"]
        assert r.published == date.fromisoformat(d["published"])
        assert r.agency_id == d["agency_portal_id"]
        assert r.agency_name == d["agency"]  # NFC even for the decision served in NFD
        assert r.trich_yeu == d["trich_yeu"]
    assert any(r.so_hieu.endswith(".") for r in rows), "the sandbox serves some numbers with a stray dot"
    assert client.requests_made == 1
    assert sandbox.stats()[f"POST /jsp/rest.jsp:{settings.SERVICE_LIST}"] == 1


def test_list_decisions_paging(sandbox) -> None:
    demo = _newest_first(_demo_decisions())
    client = HttpPortalClient(sandbox.url, session=make_session(retries=0))
    page2 = client.list_decisions(2, page_size=4)
    assert [r.id for r in page2] == [d["portal_id"] for d in demo[4:8]]
    assert client.list_decisions(99) == []


def test_decision_items_all_groups(sandbox) -> None:
    demo = _demo_decisions()
    procedures = _demo_procedures()
    client = HttpPortalClient(sandbox.url, session=make_session(retries=0))
    # a decision with all three groups non-empty, one of its items a replacement
    decision = next(d for d in demo if {"replaced", "amended", "abolished"} <= {i["change"] for i in d["items"]})
    items = client.decision_items(decision["portal_id"])
    assert [(i.name, i.change_type) for i in items] == _expected_groups(decision, procedures)
    assert {i.change_type for i in items} == {"new", "amended", "abolished"}
    assert all(i.id for i in items)
    assert client.requests_made == len(settings.SERVICE_ITEMS)


def test_decision_items_every_demo_decision(sandbox) -> None:
    procedures = _demo_procedures()
    client = HttpPortalClient(sandbox.url, session=make_session(retries=0))
    for decision in _demo_decisions():
        items = client.decision_items(decision["portal_id"])
        assert [(i.name, i.change_type) for i in items] == _expected_groups(decision, procedures)
        assert all(unicodedata.is_normalized("NFC", i.name) for i in items)


def test_decision_items_pages_through_a_group(sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a page size smaller than a group, every page is fetched and nothing is lost."""
    demo = _demo_decisions()
    procedures = _demo_procedures()
    decision = max(demo, key=lambda d: sum(i["change"] == "amended" for i in d["items"]))
    n_amended = sum(i["change"] == "amended" for i in decision["items"])
    assert n_amended >= 2
    monkeypatch.setattr(settings, "ITEM_PAGE_SIZE", 1)
    client = HttpPortalClient(sandbox.url, session=make_session(retries=0))
    items = client.decision_items(decision["portal_id"])
    assert [(i.name, i.change_type) for i in items] == _expected_groups(decision, procedures)


def test_decision_fields_and_page(sandbox) -> None:
    fields = {f["key"]: f for f in yaml.safe_load((SETTINGS_DIR / "fields.yaml").read_text(encoding="utf-8"))}
    decision = next(d for d in _demo_decisions() if len(d["fields"]) > 1)
    recorder = SnapshotRecorder(fetched_at=datetime(2026, 11, 26))
    client = HttpPortalClient(sandbox.url, session=make_session(retries=0), recorder=recorder)
    assert client.decision_fields(decision["portal_id"]) == [
        (fields[k]["portal_id"], fields[k]["name"]) for k in decision["fields"]
    ]
    page = client.decision_page(decision["portal_id"])
    assert normalise_so_hieu(page.so_hieu) == decision["so_hieu"]
    assert page.signed == date.fromisoformat(decision["signed"])
    assert page.agency_name == decision["agency"]
    assert len(page.attachments) == 1 and page.attachments[0].startswith(sandbox.url + "/web/jsp/download_file.jsp?ma=")
    # both answers were recorded, the page with its URL and no request body
    assert [s.request is None for s in recorder.snapshots] == [False, True]
    assert recorder.snapshots[1].url == f"{sandbox.url}{settings.DETAIL_PATH}?ma_quyet_dinh={decision['portal_id']}"
    assert json.loads(recorder.snapshots[0].request)["dp_id"] == decision["portal_id"]
    assert client.requests_made == 2


def test_decision_page_nfd_decision_is_nfc(sandbox) -> None:
    decision = next(d for d in _demo_decisions() if d.get("nfd"))
    client = HttpPortalClient(sandbox.url, session=make_session(retries=0))
    page = client.decision_page(decision["portal_id"])
    assert page.agency_name == decision["agency"]
    assert unicodedata.is_normalized("NFC", page.agency_name)


# ------------------------------------------------------------------ HTTP failures → SourceError


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused_is_source_error() -> None:
    client = HttpPortalClient(f"http://127.0.0.1:{_closed_port()}", session=make_session(retries=0))
    with pytest.raises(SourceError, match="national portal"):
        client.list_decisions(1)
    with pytest.raises(SourceError, match="decision page 1"):
        client.decision_page("1")


def test_http_404_is_source_error(sandbox) -> None:
    client = HttpPortalClient(sandbox.url + "/nowhere", session=make_session(retries=0))
    with pytest.raises(SourceError, match="HTTP 404") as exc:
        client.list_decisions(1)
    assert not isinstance(exc.value, LayoutChangedError)


def test_unknown_decision_page_is_source_error(sandbox) -> None:
    client = HttpPortalClient(sandbox.url, session=make_session(retries=0))
    with pytest.raises(SourceError, match="HTTP 404"):
        client.decision_page("999999")


class _Garbage(BaseHTTPRequestHandler):
    status = 200
    body = b"<html>Service temporarily unavailable</html>"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        if self.path == "/robots.txt":  # the polite session asks once per host; not a service call
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.server.hits += 1  # type: ignore[attr-defined]
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.server.body)))  # type: ignore[attr-defined]
        self.end_headers()
        self.wfile.write(self.server.body)  # type: ignore[attr-defined]

    do_GET = do_POST = _answer  # noqa: N815

    def log_message(self, format, *args) -> None:  # noqa: A002
        pass


@pytest.fixture
def garbage_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Garbage)
    server.daemon_threads = True
    server.status, server.body, server.hits = 200, _Garbage.body, 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _url(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_port}"


@pytest.mark.parametrize("body", [b"<html>Service temporarily unavailable</html>", b'[{"ID": "1"', b"\xff\xfe[]"])
def test_malformed_json_is_source_error(garbage_server, body: bytes) -> None:
    garbage_server.body = body
    client = HttpPortalClient(_url(garbage_server), session=make_session(retries=0))
    with pytest.raises(SourceError, match="malformed JSON"):
        client.list_decisions(1)
    assert garbage_server.hits == 1


def test_json_of_wrong_shape_is_layout_change(garbage_server) -> None:
    garbage_server.body = b'{"error": "maintenance"}'
    client = HttpPortalClient(_url(garbage_server), session=make_session(retries=0))
    with pytest.raises(LayoutChangedError, match="expected a JSON array, got dict"):
        client.list_decisions(1)


def test_server_error_is_source_error_after_retries(garbage_server) -> None:
    garbage_server.status, garbage_server.body = 503, b"[]"
    client = HttpPortalClient(_url(garbage_server), session=make_session(retries=1, backoff=0))
    with pytest.raises(SourceError, match="HTTP 503"):
        client.list_decisions(1)
    assert garbage_server.hits == 2  # one retry, then the error


def test_client_error_is_not_retried(garbage_server) -> None:
    garbage_server.status, garbage_server.body = 403, b"forbidden"
    client = HttpPortalClient(_url(garbage_server), session=make_session(retries=3, backoff=0))
    with pytest.raises(SourceError, match="HTTP 403"):
        client.decision_page("1")
    assert garbage_server.hits == 1


def test_detail_page_without_table_from_server(garbage_server) -> None:
    garbage_server.body = "<html><body><p>Bảo trì hệ thống</p></body></html>".encode()
    client = HttpPortalClient(_url(garbage_server), session=make_session(retries=0))
    with pytest.raises(LayoutChangedError, match="table-info-row"):
        client.decision_page("115010")
