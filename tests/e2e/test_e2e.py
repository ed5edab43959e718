"""End to end: the DAGs run with ``dag.test()`` against the sandbox, the SMTP sink and the catalogue,
on SQLite and again on PostgreSQL. Asserts the stored decisions, the flags and their deadlines, the posts
the sandbox CMS received, and the text of the email the sink received; a second run sends nothing twice.
"""

from __future__ import annotations

import email
import email.policy
import unicodedata
from datetime import date, datetime, time
from pathlib import Path

import pytest
import requests
import yaml
from sqlalchemy import func, select
from tthc.core.window import VN_TZ
from tthc_dev.sandbox import DATA_DIR

pytestmark = pytest.mark.e2e

AS_OF = date(2026, 11, 26)
# tthc_report and tthc_approve both follow tthc_compare; the digest goes out while the draft waits for a person
DAGS = ("tthc_ingest", "tthc_compare", "tthc_report", "tthc_approve", "tthc_sync")
DATA = DATA_DIR


@pytest.fixture(scope="module")
def airflow_db():
    """A fresh Airflow metadata DB with the pools the DAGs use."""
    from airflow.models.pool import Pool
    from airflow.utils import db

    db.resetdb()
    for name in ("national_portal", "ministry_site", "cms", "province_portal", "csdl"):
        Pool.create_or_update_pool(name, slots=2, description="test", include_deferred=False)
    return True


@pytest.fixture(scope="module")
def dags(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(Path(__file__).resolve().parents[2] / "dags"))
    assert bag.import_errors == {}
    return bag.dags


@pytest.fixture
def wired(monkeypatch, sandbox, smtp_sink, seeded, db_url):
    """Connections pointing at the sandbox and the sink, as an operator would configure them."""
    host, port = sandbox.url.rsplit(":", 1)
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_PORTAL", sandbox.url)
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_MINISTRY_SITE", sandbox.url)
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_CMS", sandbox.cms_connection())
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_PROVINCE_PORTAL", f"http://:{sandbox.portal_token}@127.0.0.1:{port}")
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_CSDL", f"http://:{sandbox.csdl_token}@127.0.0.1:{port}")
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_SMTP", f"smtp://127.0.0.1:{smtp_sink.port}?starttls=false")
    return seeded


def run_all(dags, as_of: date) -> None:
    from airflow.utils.state import DagRunState

    end = datetime.combine(as_of, time(1, 0), tzinfo=VN_TZ)
    conf = {"window_start": end.replace(day=end.day - 1).isoformat(), "window_end": end.isoformat()}
    for dag_id in DAGS:
        # the Human-in-the-loop approval is answered for real in test_approval.py; here it approves at once
        run_conf = {**conf, "auto_approve": True} if dag_id == "tthc_approve" else conf
        run = dags[dag_id].test(logical_date=end, run_conf=run_conf)
        assert run.state == DagRunState.SUCCESS, f"{dag_id} ended {run.state}"


def expected_decisions() -> list[dict]:
    with open(DATA / "decisions.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def test_pipeline_end_to_end(wired, dags, sandbox, smtp_sink, dept):
    from tthc.core.render import vn_date
    from tthc.db.models import Decision, Flag, MailLog, Posting

    session = wired
    run_all(dags, AS_OF)
    session.expire_all()

    # ingest: every watched decision published before the run date, nothing from other ministries
    timeline = expected_decisions()
    watched = {d["so_hieu"] for d in timeline
               if d["agency"] == "Bộ Khoa học và Công nghệ" and date.fromisoformat(d["published"]) < AS_OF}
    stored = {d.so_hieu for d in session.scalars(select(Decision))}
    assert watched <= stored
    assert not any("BYT" in s for s in stored)
    late_published = {d["so_hieu"] for d in timeline if date.fromisoformat(d["published"]) >= AS_OF}
    for decision in session.scalars(select(Decision).where(Decision.so_hieu.in_(late_published))):
        assert decision.published_date is None, "the portal part of a later decision leaked into this window"

    # compare: flags with deadlines 5 working days before the effective date
    flags = list(session.scalars(select(Flag)))
    assert len(flags) > 20
    d2701 = session.scalar(select(Decision).where(Decision.so_hieu == "2701/QĐ-BKHCN"))
    assert d2701.effective_date == date(2026, 12, 15)
    for flag in (f for f in flags if f.decision_id == d2701.id):
        assert flag.deadline == date(2026, 12, 8)  # Mon 15/12 minus 5 working days
        assert flag.is_late is False
    central = session.scalar(select(Decision).where(Decision.so_hieu == "1745/QĐ-BKHCN"))
    assert not [f for f in flags if f.decision_id == central.id], "central-level procedures must not be flagged"
    assert any(f.is_late for f in flags) and any(f.status == "review" for f in flags)

    # approve + sync: the draft was approved (auto_approve), then published on every channel, exactly once
    from tthc.db.models import Announcement

    announcement = session.scalar(select(Announcement))
    assert announcement.status == "approved" and announcement.so_hieu == "0/QĐ-DEMO"
    approved = [f for f in flags if f.status == "approved"]
    assert approved and all(f.announcement_id == announcement.id for f in approved)
    assert not [f for f in flags if f.status == "open"], "every ready flag went into the approved draft"
    posts = requests.get(f"{sandbox.url}/wp-json/wp/v2/posts", params={"per_page": 100, "status": "any"},
                         auth=sandbox.cms_auth(), timeout=10).json()
    pages = requests.get(f"{sandbox.url}/wp-json/wp/v2/pages", params={"per_page": 100, "status": "any"},
                         auth=sandbox.cms_auth(), timeout=10).json()
    assert len(posts) == 1 and "0/QĐ-DEMO" in posts[0]["title"]["rendered"]
    assert "1.014531" in posts[0]["content"]["rendered"]
    procedure_keys = {f"procedure:{f.procedure_key}" for f in approved}
    assert sorted(p["meta"]["tthc_key"] for p in pages) == sorted(procedure_keys)
    portal = requests.get(f"{sandbox.url}/dvc-tinh/api/v1/thu-tuc", params={"page_size": 200}, timeout=10,
                          headers={"Authorization": f"Bearer {sandbox.portal_token}"}).json()["items"]
    assert sorted(r["ma_ngoai"] for r in portal) == sorted(procedure_keys)
    csdl = requests.get(f"{sandbox.url}/csdl/api/v1/quyet-dinh-cong-bo", timeout=10,
                        headers={"Authorization": f"Bearer {sandbox.csdl_token}"}).json()
    assert [r["so_hieu"] for r in csdl] == ["0/QĐ-DEMO"] and len(csdl[0]["thu_tuc"]) == len(approved)
    ledger = session.scalar(select(func.count()).select_from(Posting))
    assert ledger == len(posts) + len(pages) + len(portal) + len(csdl)

    # report: one digest, Vietnamese, NFC, in HTML and plain text
    messages = smtp_sink.messages()
    assert len(messages) == 1
    msg = email.message_from_bytes(messages[0].read_bytes(), policy=email.policy.default)
    subject = str(msg["Subject"])
    assert subject.startswith("[KSTTHC] ") and subject.endswith(f" — {vn_date(AS_OF)}") and "quá hạn" in subject
    assert unicodedata.is_normalized("NFC", subject)
    assert dept.recipients[0] in str(msg["To"])
    plain = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "QUÁ HẠN CÔNG BỐ" in plain and "<table" not in plain
    assert "1.014531" in plain and "08/12/2026" in plain
    assert "<table" in html and "Quá hạn công bố" in html
    assert "CHỜ PHÊ DUYỆT (1)" in plain  # the digest goes out while the draft waits for a person
    assert unicodedata.is_normalized("NFC", plain) and unicodedata.is_normalized("NFC", html)
    assert session.scalar(select(MailLog.status).where(MailLog.kind == "digest")) == "sent"

    # a second run of the same window changes nothing and sends nothing
    counts = (len(flags), len(posts) + len(pages), len(messages))
    stats_before = sandbox.stats()
    run_all(dags, AS_OF)
    session.expire_all()
    posts_after = [x for kind in ("posts", "pages") for x in requests.get(
        f"{sandbox.url}/wp-json/wp/v2/{kind}", params={"per_page": 100, "status": "any"}, auth=sandbox.cms_auth(),
        timeout=10).json()]
    assert (session.scalar(select(func.count()).select_from(Flag)), len(posts_after),
            len(smtp_sink.messages())) == counts
    assert any(k.startswith("POST /wp-json") for k in stats_before), "the first run should have posted"
    stats_after = sandbox.stats()
    writes = {k: v - stats_before.get(k, 0) for k, v in stats_after.items() if k.split(" ")[0] in ("POST", "PUT")
              and not k.startswith("POST /jsp/rest.jsp")}
    assert not any(writes.values()), f"second run wrote to a channel: {writes}"
