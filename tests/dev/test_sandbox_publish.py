"""``POST /_sandbox/publish``: a decision published now, at the top of the portal's list (tests, bench)."""

from __future__ import annotations

import json

import requests


def _first_page(sandbox) -> list[dict]:
    params = {"service": "decision_publishment_advanced_search_service_v2", "provider": "dvcquocgia",
              "type": "ref", "recordPerPage": 5, "pageIndex": 1}
    return requests.post(sandbox.url + "/jsp/rest.jsp", data={"params": json.dumps(params)}, timeout=10).json()


def test_publish_puts_a_decision_on_top(sandbox):
    before = _first_page(sandbox)
    r = requests.post(sandbox.url + "/_sandbox/publish", timeout=10,
                      json={"published": "2026-12-01", "signed": "2026-11-30"})
    assert r.status_code == 200
    body = r.json()
    [new_id], [so_hieu] = body["ids"], body["so_hieu"]
    top = _first_page(sandbox)[0]
    assert (top["ID"], top["PUBLISHING_DATE"], top["AGENCY_NAME"]) == (new_id, "01-12-2026", "Bộ Khoa học và Công nghệ")
    assert top["CODE"].rstrip(".") == so_hieu and int(top["AMOUNT"]) == int(before[0]["AMOUNT"]) + 1
    assert sandbox.catalogue.by_id[new_id].signed.isoformat() == "2026-11-30"
    assert body["published_at"]  # the wall-clock time of the publication


def test_publish_for_another_agency_and_bad_input(sandbox):
    r = requests.post(sandbox.url + "/_sandbox/publish", json={"agency": "Bộ Tài chính", "count": 2}, timeout=10)
    assert r.status_code == 200 and len(r.json()["ids"]) == 2
    top = _first_page(sandbox)[:2]
    assert {t["AGENCY_NAME"] for t in top} == {"Bộ Tài chính"}
    assert top[0]["AGENCY_ID"] != sandbox.catalogue.ministry_agency_id()
    for bad in ({"published": "01/12/2026"}, {"count": 0}, [1]):
        assert requests.post(sandbox.url + "/_sandbox/publish", json=bad, timeout=10).status_code == 400
    sandbox.reset()
    assert _first_page(sandbox)[0]["AGENCY_NAME"] == "Bộ Khoa học và Công nghệ"  # reset forgets them
