"""config: department settings precedence, connection URIs, endpoints and the catalogue DB URL."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from tthc.core.config import Department, catalogue_db_url, get_endpoint, load_department, parse_conn_uri

OTHER_DEPT_YAML = """\
name: "Sở Thông tin và Truyền thông"
province: "Tỉnh Điện Biên"
ministries: ["Bộ Thông tin và Truyền thông"]
fields: [bao_chi, xuat_ban]
levels: [cap_tinh]
ingest_start: "2026-03-01"
mail:
  sender: "stttt@dienbien.gov.vn"
  recipients: ["a@dienbien.gov.vn", "b@dienbien.gov.vn"]
"""

OTHER_DEPT_JSON = {
    "name": "Sở Y tế",
    "province": "Tỉnh Điện Biên",
    "fields": ["thiet_bi_y_te"],
    "levels": ["cap_tinh", "cap_xa"],
    "ingest_start": "2026-07-15",
    "mail": {"sender": "syt@dienbien.gov.vn", "recipients": ["vp@dienbien.gov.vn"]},
}


# --- load_department ---------------------------------------------------------------------------

def test_default_department_file() -> None:
    d = load_department()
    assert isinstance(d, Department)
    assert d.name == "Sở Khoa học và Công nghệ"
    assert d.province == "Thành phố Hồ Chí Minh"
    assert d.ministries == ["Bộ Khoa học và Công nghệ"]
    assert d.fields == ["hoat_dong_khcn", "so_huu_tri_tue", "tieu_chuan_do_luong_chat_luong",
                        "nang_luong_nguyen_tu", "chuyen_giao_cong_nghe"]
    assert d.levels == ["cap_tinh", "cap_xa"]
    assert d.ingest_start == date(2026, 6, 1)
    assert d.sender == "kstthc@sokhcn.tphcm.gov.vn"
    assert d.recipients == ["vanphong@sokhcn.tphcm.gov.vn"]
    assert d.ops_recipients == ["it@sokhcn.tphcm.gov.vn"]


def test_department_file_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "dept.yaml"
    f.write_text(OTHER_DEPT_YAML, encoding="utf-8")
    monkeypatch.setenv("TTHC_DEPARTMENT_FILE", str(f))
    d = load_department()
    assert d.name == "Sở Thông tin và Truyền thông"
    assert d.fields == ["bao_chi", "xuat_ban"]
    assert d.levels == ["cap_tinh"]
    assert d.ingest_start == date(2026, 3, 1)
    assert d.recipients == ["a@dienbien.gov.vn", "b@dienbien.gov.vn"]
    assert d.ops_recipients == []  # optional key absent
    assert d.note == ""


def test_explicit_path_argument(tmp_path: Path) -> None:
    f = tmp_path / "dept.yaml"
    f.write_text(OTHER_DEPT_YAML, encoding="utf-8")
    assert load_department(f).name == "Sở Thông tin và Truyền thông"


def test_airflow_variable_env_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "dept.yaml"
    f.write_text(OTHER_DEPT_YAML, encoding="utf-8")
    monkeypatch.setenv("TTHC_DEPARTMENT_FILE", str(f))
    monkeypatch.setenv("AIRFLOW_VAR_TTHC_DEPARTMENT", json.dumps(OTHER_DEPT_JSON, ensure_ascii=False))
    d = load_department()
    assert d.name == "Sở Y tế"  # the Variable wins over the file
    assert d.fields == ["thiet_bi_y_te"]
    assert d.levels == ["cap_tinh", "cap_xa"]
    assert d.ingest_start == date(2026, 7, 15)
    assert d.ministries == []


@pytest.mark.parametrize("drop", ["name", "fields", "levels", "ingest_start", "mail"])
def test_missing_key_is_value_error(drop: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = dict(OTHER_DEPT_JSON)
    del data[drop]
    f = tmp_path / "dept.yaml"
    f.write_text(json.dumps(data), encoding="utf-8")  # JSON is valid YAML
    monkeypatch.setenv("TTHC_DEPARTMENT_FILE", str(f))
    expected = "sender" if drop == "mail" else drop
    with pytest.raises(ValueError, match=f"missing key '{expected}'"):
        load_department()


def test_missing_key_in_variable_is_value_error(monkeypatch: pytest.MonkeyPatch) -> None:
    data = {k: v for k, v in OTHER_DEPT_JSON.items() if k != "province"}
    monkeypatch.setenv("AIRFLOW_VAR_TTHC_DEPARTMENT", json.dumps(data))
    with pytest.raises(ValueError, match="province"):
        load_department()


# --- parse_conn_uri ----------------------------------------------------------------------------

def test_parse_http_uri_with_token_as_password() -> None:
    ep = parse_conn_uri("tthc_cms", "http://:s3cr%2Ft0k@cms.example.vn:8443/api/v1")
    assert ep.conn_id == "tthc_cms"
    assert ep.base_url == "http://cms.example.vn:8443/api/v1"
    assert ep.login is None
    assert ep.password == "s3cr/t0k"  # percent-decoded
    assert ep.host == "cms.example.vn"
    assert ep.port == 8443
    assert ep.extra == {}


def test_parse_http_uri_without_port_or_path() -> None:
    ep = parse_conn_uri("tthc_portal", "https://dichvucong.gov.vn")
    assert ep.base_url == "https://dichvucong.gov.vn"
    assert ep.port is None
    assert (ep.login, ep.password) == (None, None)


def test_parse_smtp_uri_with_query_extras() -> None:
    ep = parse_conn_uri("tthc_smtp", "smtp://mailer%40so:pa%3Ass@mail.example.vn:2525?starttls=false&timeout=30"
                                     "&from_name=S%E1%BB%9F%20KH%26CN")
    assert ep.base_url == "smtp://mail.example.vn:2525"
    assert ep.login == "mailer@so"
    assert ep.password == "pa:ss"
    assert ep.host == "mail.example.vn" and ep.port == 2525
    assert ep.extra == {"starttls": "false", "timeout": "30", "from_name": "Sở KH&CN"}


def test_parse_json_form() -> None:
    uri = json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": 8765, "schema": "portal",
                      "login": "u", "password": "p", "extra": {"verify": False}})
    ep = parse_conn_uri("tthc_portal", uri)
    assert ep.base_url == "http://127.0.0.1:8765/portal"
    assert (ep.login, ep.password) == ("u", "p")
    assert ep.extra == {"verify": False}
    assert ep.port == 8765


def test_parse_json_form_with_string_extra_and_no_port() -> None:
    uri = json.dumps({"conn_type": "https", "host": "csdl.example.vn", "extra": json.dumps({"k": "v"})})
    ep = parse_conn_uri("tthc_x", "  " + uri)
    assert ep.base_url == "https://csdl.example.vn"
    assert ep.extra == {"k": "v"}
    assert ep.login is None


# --- get_endpoint ------------------------------------------------------------------------------

def test_get_endpoint_reads_airflow_conn_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_PORTAL", "http://:tok@127.0.0.1:8765/portal?page_size=50")
    ep = get_endpoint("tthc_portal")
    assert ep.conn_id == "tthc_portal"
    assert ep.base_url == "http://127.0.0.1:8765/portal"
    assert ep.password == "tok"
    assert ep.extra == {"page_size": "50"}


def test_get_endpoint_unconfigured_is_lookup_error() -> None:
    with pytest.raises(LookupError, match="AIRFLOW_CONN_TTHC_NOWHERE"):
        get_endpoint("tthc_nowhere")


# --- catalogue_db_url --------------------------------------------------------------------------

def test_catalogue_db_url_default_is_sqlite_under_var_dir(tmp_path: Path) -> None:
    # conftest points TTHC_VAR_DIR at tmp_path / "var"
    url = catalogue_db_url()
    assert url == f"sqlite:///{tmp_path / 'var' / 'tthc.db'}"
    assert (tmp_path / "var").is_dir()


def test_catalogue_db_url_from_airflow_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_CATALOGUE", "postgres://tthc:pw@db.internal:5433/tthc")
    assert catalogue_db_url() == "postgresql+psycopg2://tthc:pw@db.internal:5433/tthc"


def test_catalogue_db_url_connection_without_login(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_CATALOGUE", "postgresql://db:5432/catalogue")
    url = make_url(catalogue_db_url())
    assert url.drivername == "postgresql+psycopg2"
    assert (url.username, url.password, url.host, url.port, url.database) == ("postgres", None, "db", 5432,
                                                                              "catalogue")


def test_catalogue_db_url_sqlalchemy_url_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_CATALOGUE",
                       json.dumps({"conn_type": "generic", "extra": {"sqlalchemy_url": "sqlite:////srv/t.db"}}))
    assert catalogue_db_url() == "sqlite:////srv/t.db"


def test_tthc_db_url_wins_over_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_CATALOGUE", "postgres://tthc:pw@db:5432/tthc")
    monkeypatch.setenv("TTHC_DB_URL", "sqlite:////elsewhere/x.db")
    assert catalogue_db_url() == "sqlite:////elsewhere/x.db"


def test_catalogue_db_url_keeps_special_characters_in_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_TTHC_CATALOGUE", "postgresql://tthc:p%40ss%2Fw@db:5432/tthc")
    url = make_url(catalogue_db_url())
    assert (url.username, url.password, url.host, url.port, url.database) == ("tthc", "p@ss/w", "db", 5432, "tthc")


def test_recipients_per_role_and_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = dict(OTHER_DEPT_JSON)
    data["mail"] = {"sender": "s@x.gov.vn", "roles": {"lanh_dao": ["gd@x.gov.vn"], "kstthc": ["k@x.gov.vn", "gd@x.gov.vn"],
                                                      "it": ["it@x.gov.vn"]},
                    "reports": {"periodic": ["lanh_dao", "kstthc"]}, "archive_dir": str(tmp_path / "arc")}
    f = tmp_path / "dept.yaml"
    f.write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setenv("TTHC_DEPARTMENT_FILE", str(f))
    d = load_department()
    assert d.recipients_for("periodic") == ["gd@x.gov.vn", "k@x.gov.vn"]  # once each, in role order
    assert d.recipients == ["k@x.gov.vn", "gd@x.gov.vn"]  # digest: kstthc by default
    assert d.ops_recipients == ["it@x.gov.vn"]
    assert d.archive_path() == tmp_path / "arc"
    data["mail"]["reports"] = {"digest": ["giam_doc"]}
    f.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="unknown roles"):
        load_department()


def test_bundled_department_roles() -> None:
    d = load_department()
    assert d.recipients_for("periodic") == ["giamdoc@sokhcn.tphcm.gov.vn", "vanphong@sokhcn.tphcm.gov.vn"]
    assert d.report_cutoff_day == 15 and d.airflow_url == "http://localhost:8080"
