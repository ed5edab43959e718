"""The KSTTHC page and the approval in a real browser: Debian's headless Chromium driven by selenium, against
``airflow standalone`` (api-server with the plugin, scheduler, dag-processor, triggerer) on a catalogue
prepared like a night's compare run left it (a draft waiting, a name in the review queue).

One Airflow and one browser for the whole module; the browser runs in Vietnam's time zone, like an
official's. The screenshots go to docs/screenshots/ (shown in the README).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import select

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "screenshots"
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
USERS = {"admin": ("admin", "admin-pw"), "lanhdao": ("user", "lanhdao-pw"), "viewer": ("viewer", "viewer-pw")}
VN = ZoneInfo("Asia/Ho_Chi_Minh")
WINDOW = {"window_start": "2026-11-25T01:00:00+07:00", "window_end": "2026-11-26T01:00:00+07:00"}
SECRET_KEY = "tthc-browser-test-secret-key"
REVIEW_NAME = "Thủ tục hỗ trợ doanh nghiệp, tổ chức thực hiện giải mã công nghệ"

if not (CHROMIUM and CHROMEDRIVER):
    pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; "
                ".ci/run installs them)", allow_module_level=True)


def wait_for(what: str, check, timeout: float = 120, every: float = 1.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (requests.RequestException, ValueError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def prepare_catalogue(url: str, drafts: Path) -> dict:
    """The state a night's compare run leaves: two procedures drafted, one name for a person to review."""
    from sqlalchemy.orm import Session
    from support.story import Story
    from tthc.catalogue.io import import_catalogue, seed_fields
    from tthc.core.config import load_department
    from tthc.db.session import get_engine, migrate

    migrate(url)
    with Session(get_engine(url), expire_on_commit=False) as s:
        seed_fields(s, ROOT / "plugins" / "tthc" / "settings" / "fields.yaml")
        import_catalogue(s, ROOT / "plugins" / "tthc_dev" / "sandbox" / "data" / "province_catalogue.csv")
        story = Story(s, load_department(), drafts)
        decision = story.decision("100/QĐ-BKHCN", published=date(2026, 11, 20), effective=date(2026, 12, 15),
                                  trich_yeu="Công bố thủ tục hành chính được sửa đổi")
        for p in story.catalogue("cap_tinh")[:3]:
            story.item(decision, p.name, "amended", code=p.code)
        story.item(decision, REVIEW_NAME, "amended", levels=["cap_tinh"], field_key="chuyen_giao_cong_nghe")
        story.flag()
        info = story.draft()
        s.commit()
    for path in (Path(info.docx), Path(info.html)):
        path.unlink()  # the page must serve the draft from the store, not from a worker's disk
    return info.as_dict()


class Airflow:
    """``airflow standalone`` in its own process group, on free ports, with three users."""

    def __init__(self, root: Path, smtp_port: int) -> None:
        from tthc_dev.sandbox.smtp_sink import free_port

        self.root, self.port = root, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        home = root / "airflow"
        home.mkdir(parents=True)
        (home / "passwords.json").write_text(json.dumps({u: pw for u, (_, pw) in USERS.items()}), encoding="utf-8")
        self.catalogue = f"sqlite:///{root / 'tthc.db'}"
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), os.environ.get("PYTHONPATH", "")]),
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",  # only tthc_approve is unpaused
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u}:{r}" for u, (r, _) in USERS.items()),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API__SECRET_KEY": SECRET_KEY,
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "600",
            "TTHC_DB_URL": self.catalogue,
            "TTHC_VAR_DIR": str(root / "var"),
            "TTHC_RETRY_DELAY_SECONDS": "1",
            "AIRFLOW_CONN_TTHC_SMTP": f"smtp://127.0.0.1:{smtp_port}?starttls=false&ssl=false",
        }
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        airflow = str(Path(sys.executable).with_name("airflow"))
        env = {**self.env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        log = open(self.root / "standalone.log", "wb")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen([airflow, "standalone"], env=env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_for("the API server", lambda: requests.get(f"{self.url}/api/v2/monitor/health", timeout=2).ok, 240)
        self.tokens = {u: self._token(u) for u in USERS}
        wait_for("tthc_approve parsed", lambda: self.api("GET", "/dags/tthc_approve").get("dag_id"), 180)

    def stop(self) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
            except ProcessLookupError:
                pass

    def _token(self, user: str) -> str:
        r = requests.post(f"{self.url}/auth/token", json={"username": user, "password": USERS[user][1]}, timeout=10)
        r.raise_for_status()
        return r.json()["access_token"]

    def api(self, method: str, path: str, body: dict | None = None, user: str = "admin") -> dict:
        r = requests.request(method, f"{self.url}/api/v2{path}", json=body, timeout=15,
                             headers={"Authorization": f"Bearer {self.tokens[user]}"})
        if r.status_code == 404:
            return {}
        r.raise_for_status()
        return r.json()

    def approve_state(self, run_id: str) -> str | None:
        return self.api("GET", f"/dags/tthc_approve/dagRuns/{run_id}/taskInstances/approve").get("state")

    def runs(self) -> list[dict]:
        return self.api("GET", "/dags/tthc_approve/dagRuns?order_by=-run_after").get("dag_runs", [])


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from tthc_dev.sandbox.smtp_sink import SmtpSink

    root = tmp_path_factory.mktemp("browser")
    with SmtpSink(outbox=root / "outbox") as sink:
        airflow = Airflow(root, sink.port)
        draft = prepare_catalogue(airflow.catalogue, root / "var" / "drafts")
        try:
            airflow.start()
            yield {"airflow": airflow, "draft": draft, "sink": sink}
        finally:
            airflow.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path_factory.mktemp("downloads")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--lang=vi",
                "--window-size=1280,900"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False, "intl.accept_languages": "vi"})
    # an official's browser in Vietnam (Airflow's UI shows times in the browser's time zone)
    service = Service(CHROMEDRIVER, env={**os.environ, "TZ": "Asia/Ho_Chi_Minh"})
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(60)
    driver.downloads = downloads
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def login(driver, url: str, user: str) -> None:
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(f"{url}/kstthc/")  # not logged in: Airflow's login, then back to the page
    wait_for("the login form", lambda: driver.find_elements(By.NAME, "username"), 60, 0.3)
    assert "/auth/login" in driver.current_url and "kstthc" in driver.current_url
    driver.find_element(By.NAME, "username").send_keys(user)
    driver.find_element(By.NAME, "password").send_keys(USERS[user][1])
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for("the KSTTHC page", lambda: "Kiểm soát TTHC" in driver.page_source, 60, 0.3)


def shot(driver, name: str) -> Path:
    path = SHOTS / name
    driver.save_screenshot(str(path))
    return path


def full_page_shot(driver, name: str, width: int = 1280, max_height: int = 2400) -> Path:
    height = min(max_height, driver.execute_script("return document.documentElement.scrollHeight") + 20)
    driver.set_window_size(width, height)
    try:
        return shot(driver, name)
    finally:
        driver.set_window_size(1280, 900)


def catalogue_session(world):
    from sqlalchemy.orm import Session
    from tthc.db.session import get_engine

    return Session(get_engine(world["airflow"].catalogue))


def test_anonymous_and_read_only_users_cannot_answer(world, browser):
    from selenium.webdriver.common.by import By

    airflow = world["airflow"]
    r = requests.get(f"{airflow.url}/kstthc/", allow_redirects=False, timeout=10)
    assert r.status_code == 303 and r.headers["location"].startswith("/auth/login")
    r = requests.post(f"{airflow.url}/kstthc/review/1", data={"code": "__none__"}, timeout=10,
                      headers={"Origin": airflow.url})
    assert r.status_code == 401
    login(browser, airflow.url, "viewer")
    page = browser.page_source
    assert "viewer (chỉ xem)" in page and REVIEW_NAME in page
    assert not browser.find_elements(By.CSS_SELECTOR, "form.answer")  # nothing to answer with
    # even a well-formed POST (this site, the session's own CSRF token) is refused for a read-only role
    from tthc.ui.security import Viewer, csrf_key, csrf_token

    cookies = {"_token": browser.get_cookie("_token")["value"]}
    csrf = csrf_token(Viewer(None, "viewer", cookies["_token"], False, False), key=csrf_key(SECRET_KEY))
    r = requests.post(f"{airflow.url}/kstthc/review/1", cookies=cookies, timeout=10,
                      data={"csrf": csrf, "code": "__none__"}, headers={"Origin": airflow.url})
    assert r.status_code == 403 and "chỉ có quyền xem" in r.text
    # and the same token from another site, for a user who may answer, is refused too
    login(browser, airflow.url, "lanhdao")
    cookies = {"_token": browser.get_cookie("_token")["value"]}
    csrf = csrf_token(Viewer(None, "lanhdao", cookies["_token"], True, True), key=csrf_key(SECRET_KEY))
    assert f'value="{csrf}"' in browser.page_source  # what the server put in its forms
    r = requests.post(f"{airflow.url}/kstthc/review/1", cookies=cookies, timeout=10,
                      data={"csrf": csrf, "code": "__none__"}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and "không đến từ trang này" in r.text


def test_the_page_at_phone_width(world, browser):
    login(browser, world["airflow"].url, "lanhdao")
    browser.set_window_size(400, 860)
    try:
        browser.get(f"{world['airflow'].url}/kstthc/")
        width = browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= 400, f"the page scrolls sideways at phone width ({width} px)"
        shot(browser, "kstthc-phone.png")
    finally:
        browser.set_window_size(1280, 900)


def test_the_page_the_review_the_draft_and_the_approval(world, browser):
    from selenium.webdriver.common.by import By
    from tthc.db.models import Announcement, DraftFile, MatchDecision

    airflow, draft = world["airflow"], world["draft"]
    ann_id = draft["announcement_id"]
    # tthc_approve asks (a run for the night's window), while the official reads the page
    airflow.api("PATCH", "/dags/tthc_approve", {"is_paused": False})
    run_id = airflow.api("POST", "/dags/tthc_approve/dagRuns", {"logical_date": None, "conf": WINDOW})["dag_run_id"]

    # 1. log in and open the page from Airflow's navigation
    login(browser, airflow.url, "lanhdao")
    browser.get(f"{airflow.url}/")
    link = wait_for("the KSTTHC entry in the navigation",
                    lambda: [a for a in browser.find_elements(By.CSS_SELECTOR, "a, button") if a.text == "KSTTHC"],
                    60, 0.5)[0]
    link.click()
    frame = wait_for("the page in Airflow's frame", lambda: browser.find_elements(By.TAG_NAME, "iframe"), 30, 0.5)[0]
    assert frame.get_attribute("src").rstrip("/").endswith("/kstthc")
    browser.switch_to.frame(frame)
    wait_for("the page inside the frame", lambda: "Kiểm soát TTHC" in browser.page_source, 30, 0.3)
    browser.switch_to.default_content()
    assert "+07:00" in browser.find_element(By.TAG_NAME, "body").text  # the UI's clock: Vietnam time
    shot(browser, "kstthc-page.png")

    # 2. answer the review item (the page alone, as the frame shows it)
    browser.get(f"{airflow.url}/kstthc/#review")
    card = browser.find_element(By.XPATH, f"//div[contains(@class,'card')][.//h3[contains(., '{REVIEW_NAME}')]]")
    card.find_element(By.CSS_SELECTOR, "input[name=code][value='1.001155']").click()
    card.find_element(By.NAME, "note").send_keys("Cùng thủ tục, tên rút gọn")
    card.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for("the answer recorded", lambda: "Đã ghi câu trả lời" in browser.page_source, 30, 0.3)
    card = browser.find_element(By.XPATH, f"//div[contains(@class,'card')][.//h3[contains(., '{REVIEW_NAME}')]]")
    assert "Đã trả lời: mã 1.001155 (lanhdao," in card.text
    browser.execute_script("arguments[0].scrollIntoView()", card)
    shot(browser, "kstthc-review-answered.png")
    with catalogue_session(world) as s:
        row = s.scalar(select(MatchDecision))
        assert (row.code, row.decided_by, row.note) == ("1.001155", "lanhdao", "Cùng thủ tục, tên rút gọn")

    # 3. the draft: its full list, the DOCX from the store (opened), the HTML preview
    browser.get(f"{airflow.url}/kstthc/drafts/{ann_id}")
    assert len(browser.find_elements(By.CSS_SELECTOR, "ol.procs li")) == 3
    browser.find_element(By.LINK_TEXT, "Tải dự thảo (DOCX)").click()
    docx = wait_for("the download", lambda: list(browser.downloads.glob("*.docx")), 30, 0.3)[0]
    from docx import Document

    opened = Document(io.BytesIO(docx.read_bytes()))
    text = "\n".join([p.text for p in opened.paragraphs]
                     + [c.text for t in opened.tables for row in t.rows for c in row.cells])
    assert "100/QĐ-BKHCN" in text and "công bố" in text.lower()
    with catalogue_session(world) as s:
        stored = s.scalar(select(DraftFile).where(DraftFile.announcement_id == ann_id, DraftFile.kind == "docx"))
        assert docx.read_bytes() == stored.content and docx.name == stored.filename
    preview = requests.get(f"{airflow.url}/kstthc/drafts/{ann_id}/du-thao.html", timeout=10,
                           cookies={"_token": browser.get_cookie("_token")["value"]})
    assert preview.ok and "100/QĐ-BKHCN" in preview.text

    # 4. Airflow's own form takes a date that does not exist ("approve response successful"): the run
    #    does not fail; the official is mailed and asked again, with the reason
    wait_for("the approval request", lambda: airflow.approve_state(run_id) == "awaiting_input", 180)
    time.sleep(5)  # answering in the first second of the wait fails the task (notes: airflow-3.3-here.md)
    browser.get(f"{airflow.url}/dags/tthc_approve/runs/{run_id}/tasks/approve/required_actions")
    wait_for("the form", lambda: browser.find_elements(By.ID, "element_ngay_ky"), 60, 0.5)
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "Xem toàn bộ 3 thủ tục và trả lời trên trang KSTTHC" in body and "/v/" not in body
    browser.find_element(By.ID, "element_so_hieu").send_keys("15/QĐ-UBND")
    browser.find_element(By.ID, "element_ngay_ky").send_keys("31/11/2026")
    browser.find_element(By.CSS_SELECTOR, "[data-testid='hitl-option-Phê duyệt']").click()
    again = wait_for("a new request asking again", lambda: [r for r in airflow.runs()
                                                            if r["dag_run_id"].startswith("reask__")], 180, 2)[0]
    wait_for("the first run to end well", lambda: airflow.api("GET", f"/dags/tthc_approve/dagRuns/{run_id}")
             ["state"] in ("success", "failed"), 120)
    assert airflow.api("GET", f"/dags/tthc_approve/dagRuns/{run_id}")["state"] == "success"
    wait_for("the new request", lambda: airflow.approve_state(again["dag_run_id"]) == "awaiting_input", 180)
    mail = wait_for("the mail to the official", lambda: world["sink"].messages(), 60)[0].read_text("utf-8", "replace")
    assert "giamdoc@" in mail
    browser.get(f"{airflow.url}/dags/tthc_approve/runs/{again['dag_run_id']}/tasks/approve/required_actions")
    wait_for("the new form", lambda: "Cần trả lời lại" in browser.find_element(By.TAG_NAME, "body").text, 60, 0.5)
    browser.set_window_size(1280, 1000)
    shot(browser, "airflow-asks-again.png")
    browser.set_window_size(1280, 900)

    # 5. on the KSTTHC page: a wrong date is refused in the form, then the right one is accepted
    time.sleep(3)
    browser.get(f"{airflow.url}/kstthc/drafts/{ann_id}")
    assert "chưa ghi nhận được" in browser.page_source  # the refused answer and why
    browser.find_element(By.CSS_SELECTOR, "input[name=choice][value='Phê duyệt']").click()
    browser.find_element(By.ID, "so_hieu").send_keys("15/QĐ-UBND")
    browser.find_element(By.ID, "ngay_ky").send_keys("31/11/2026")
    browser.find_element(By.CSS_SELECTOR, "form.answer button[type=submit]").click()
    wait_for("the refusal", lambda: "ngày ký không hợp lệ: «31/11/2026»" in browser.page_source, 30, 0.3)
    assert airflow.approve_state(again["dag_run_id"]) == "awaiting_input"  # nothing was sent
    browser.execute_script("document.getElementById('answer').scrollIntoView()")
    shot(browser, "kstthc-wrong-date-refused.png")
    today = datetime.now(VN).strftime("%d/%m/%Y")
    field = browser.find_element(By.ID, "ngay_ky")
    field.clear()
    field.send_keys(today)
    browser.find_element(By.CSS_SELECTOR, "form.answer button[type=submit]").click()
    wait_for("the answer sent", lambda: "Đã gửi câu trả lời tới Airflow" in browser.page_source, 30, 0.3)

    def approved():
        with catalogue_session(world) as s:
            ann = s.get(Announcement, ann_id)
            return ann if ann.status == "approved" else None

    ann = wait_for("the approval recorded", approved, 180, 2)
    assert (ann.so_hieu, ann.signed_date, ann.decided_by) == ("15/QĐ-UBND", datetime.now(VN).date(), "lanhdao")
    browser.get(f"{airflow.url}/kstthc/drafts/{ann_id}")
    assert "đã phê duyệt: Quyết định số 15/QĐ-UBND" in browser.page_source
    full_page_shot(browser, "kstthc-approved.png", max_height=1400)


