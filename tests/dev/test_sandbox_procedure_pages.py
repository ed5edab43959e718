"""sandbox.procedure_pages: the national portal's procedure pages for every sandbox procedure, in the real
layouts (the project's parser reads them back to the data they were made from)."""

from __future__ import annotations

from datetime import date

import requests
from support.sandbox_yaml import sandbox_yaml
from tthc.core.text import clean
from tthc.ingest.sources.national_portal.procedure_page import (
    CITIZEN_PATH,
    FULL_PATH,
    ProcedureNotFoundError,
    parse_procedure_page,
)

LEVEL = {"cap_tinh": "Cấp Tỉnh", "cap_xa": "Cấp Xã", "cap_trung_uong": "Cấp Bộ"}


def _procedures() -> list[dict]:
    return sandbox_yaml("procedures.yaml")


def test_every_procedure_has_details_in_the_real_style():
    procs = _procedures()
    assert len(procs) == 61
    for p in procs:
        d = p["details"]
        assert d["channels"] and d["legal_bases"] and d["documents"] and d["result"], p["code"]
        assert {c["channel"] for c in d["channels"]} == {"Trực tiếp", "Trực tuyến", "Dịch vụ bưu chính"}
        for basis in d["legal_bases"]:
            assert basis["number"] in p["legal_basis"], p["code"]  # the catalogue's basis, detailed
            date(*reversed([int(x) for x in basis["issued"].split("-")]))  # dd-mm-yyyy, as the portal writes
        assert d["level"] == ", ".join(LEVEL[lv] for lv in p["levels"])


def test_both_layouts_of_every_procedure_read_back(sandbox):
    for p in _procedures():
        d = p["details"]
        url = f"{sandbox.url}{FULL_PATH}?ma_thu_tuc={p['portal_id']}"
        response = requests.get(url, timeout=10)
        assert response.status_code == 200 and response.headers["ETag"] and response.headers["Last-Modified"]
        assert "&agrave;" in response.text or "&aacute;" in response.text  # Latin-1 letters as entities
        page = parse_procedure_page(response.content, url)
        assert (page.layout, page.code, page.portal_id, page.name) == ("full", p["code"], p["portal_id"], p["name"])
        assert page.steps == "" and page.requirements == ""  # loaded by JavaScript on the real page
        assert [(c.channel, c.deadline, c.fee.replace("\n", " ")) for c in page.channels] == [
            (c["channel"], c["deadline"], clean(c["fee"])) for c in d["channels"]]
        assert [b.number for b in page.legal_bases] == [b["number"] for b in d["legal_bases"]]
        assert (page.result, page.agencies, page.decision_no) == (d["result"], d["agencies"], d["decision_no"])
        assert page.levels == p["levels"]

        url = f"{sandbox.url}{CITIZEN_PATH}?ma_thu_tuc={p['code']}"
        citizen = parse_procedure_page(requests.get(url, timeout=10).content, url)
        assert (citizen.layout, citizen.code, citizen.portal_id) == ("citizen", p["code"], p["portal_id"])
        assert citizen.steps.splitlines() == d["steps"].splitlines()
        assert all(c.fee == "" for c in citizen.channels)  # as on the real page


def test_an_unknown_procedure_is_the_empty_template_and_pages_are_conditional(sandbox):
    for url in (f"{sandbox.url}{FULL_PATH}?ma_thu_tuc=1", f"{sandbox.url}{CITIZEN_PATH}?ma_thu_tuc=9.999999"):
        response = requests.get(url, timeout=10)
        assert response.status_code == 200
        try:
            parse_procedure_page(response.content, url)
        except ProcedureNotFoundError:
            pass
        else:
            raise AssertionError(f"{url}: an unknown procedure must read as not found")
    url = f"{sandbox.url}{FULL_PATH}?ma_thu_tuc=201001"
    etag = requests.get(url, timeout=10).headers["ETag"]
    assert requests.get(url, headers={"If-None-Match": etag}, timeout=10).status_code == 304
    sandbox.amend_procedure("2.002248", date(2026, 12, 1), result="Giấy chứng nhận (mẫu mới)")
    changed = requests.get(url, headers={"If-None-Match": etag}, timeout=10)
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert parse_procedure_page(changed.content, url).result == "Giấy chứng nhận (mẫu mới)"
    sandbox.reset()  # forgets the change
    assert requests.get(url, headers={"If-None-Match": etag}, timeout=10).status_code == 304
