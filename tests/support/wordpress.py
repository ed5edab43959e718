"""A real WordPress for the contract tests: Debian's ``wordpress`` package served by ``php -S``, on a
MariaDB of its own (a Unix socket, no networking), everything under one temporary directory.

Nothing is written outside that directory: the site is a tree of symlinks to the package's files
(``/usr/share/wordpress``) with a ``wp-config.php`` of its own (Debian's reads
``/etc/wordpress/config-<host>.php``; this one is never consulted), its own ``wp-content`` (uploads,
mu-plugins) and a router script that sends ``/wp-json/...`` and pretty permalinks to ``index.php``.
A MariaDB the machine image may run is left alone.

Setup (:meth:`LocalWordPress.start`): ``mariadb-install-db`` + ``mariadbd``, the site installed from
the PHP CLI (``wp_install``, mail turned off: the installer otherwise waits ~10 s for ``sendmail``),
pretty permalinks, an editor and an author account with an Application Password each
(``WP_ENVIRONMENT_TYPE=local`` makes them usable over plain http on loopback), the project's
must-use plugin installed. :meth:`reset` empties the site between tests; :meth:`stop` ends both
servers.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

PACKAGES = ("wordpress", "mariadb-server", "php-cli", "php-mysql")
WP_SOURCE = Path("/usr/share/wordpress")
PHP_DIR = Path(__file__).with_name("wp_php")
ROOT = Path(__file__).resolve().parents[2]
MU_PLUGIN = ROOT / "include" / "wordpress" / "tthc-meta.php"
USERS = ({"login": "bientap", "role": "editor"}, {"login": "tacgia", "role": "author"})


def missing_tools() -> list[str]:
    """What is missing to run a real WordPress here (empty: everything is installed)."""
    missing = [name for name in ("php", "mariadbd", "mariadb-install-db", "mariadb") if shutil.which(name) is None]
    if not (WP_SOURCE / "wp-settings.php").is_file():
        missing.append(str(WP_SOURCE))
    if shutil.which("php") and subprocess.run(["php", "-r", "exit(function_exists('mysqli_connect') ? 0 : 1);"],
                                              capture_output=True).returncode:
        missing.append("php-mysql (mysqli)")
    return missing


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Account:
    login: str
    role: str
    app_password: str


@dataclass
class LocalWordPress:
    base: Path
    port: int = 0
    accounts: dict[str, Account] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    _db: subprocess.Popen | None = None
    _web: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def site(self) -> Path:
        return self.base / "site"

    @property
    def socket(self) -> Path:
        return self.base / "db" / "mysqld.sock"

    @property
    def mu_plugins(self) -> Path:
        return self.site / "wp-content" / "mu-plugins"

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> LocalWordPress:
        started = time.monotonic()
        try:
            self._start_db()
            self.timings["mariadb"] = time.monotonic() - started
            self.port = self.port or free_port()
            self._build_site()
            mark = time.monotonic()
            self._install()
            self.timings["install"] = time.monotonic() - mark
            self._start_web()
            self.install_plugin()
        except BaseException:
            self.stop()
            raise
        self.timings["setup"] = time.monotonic() - started
        return self

    def stop(self) -> None:
        for proc in (self._web, self._db):
            if proc is None or proc.poll() is not None:
                continue
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        self._web = self._db = None

    def _start_db(self) -> None:
        datadir = self.base / "db"
        datadir.mkdir(parents=True)
        user = ["--user=root"] if os.geteuid() == 0 else []
        small = ["--innodb-log-file-size=16M", "--innodb-buffer-pool-size=64M", "--skip-log-bin"]
        _run(["mariadb-install-db", "--no-defaults", f"--datadir={datadir}", "--skip-test-db",
              "--auth-root-authentication-method=normal", *user, *small], "mariadb-install-db")
        log = open(self.base / "mariadbd.log", "wb")  # noqa: SIM115 - kept open for the server's life
        self._db = subprocess.Popen(
            ["mariadbd", "--no-defaults", f"--datadir={datadir}", f"--socket={self.socket}", "--skip-networking",
             f"--pid-file={datadir / 'mysqld.pid'}", f"--log-error={self.base / 'mariadbd.err'}", *user, *small,
             "--innodb-flush-log-at-trx-commit=2"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            done = subprocess.run(["mariadb", "--no-defaults", f"--socket={self.socket}", "-uroot", "-e",
                                   "CREATE DATABASE IF NOT EXISTS wordpress CHARACTER SET utf8mb4"],
                                  capture_output=True, text=True)
            if done.returncode == 0:
                return
            if self._db.poll() is not None or time.monotonic() > deadline:
                err = (self.base / "mariadbd.err")
                raise RuntimeError(f"MariaDB did not start: {done.stderr.strip()} "
                                   f"{err.read_text()[-2000:] if err.exists() else ''}")
            time.sleep(0.2)

    def _build_site(self) -> None:
        site = self.site
        site.mkdir(parents=True)
        for entry in WP_SOURCE.iterdir():
            if entry.name not in ("wp-config.php", "wp-content"):
                (site / entry.name).symlink_to(entry)
        content = site / "wp-content"
        for sub in ("uploads", "mu-plugins", "plugins"):
            (content / sub).mkdir(parents=True)
        (content / "themes").symlink_to(WP_SOURCE / "wp-content" / "themes")
        salts = "\n".join(f"define('{name}', '{secrets.token_hex(32)}');" for name in (
            "AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY", "AUTH_SALT", "SECURE_AUTH_SALT",
            "LOGGED_IN_SALT", "NONCE_SALT"))
        (site / "wp-config.php").write_text(f"""<?php
// The contract tests' own configuration (Debian's /etc/wordpress lookup is not used).
define('DB_NAME', 'wordpress');
define('DB_USER', 'root');
define('DB_PASSWORD', '');
define('DB_HOST', 'localhost:{self.socket}');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
$table_prefix = 'wp_';
{salts}
define('WP_HOME', '{self.url}');
define('WP_SITEURL', '{self.url}');
define('WP_CONTENT_DIR', '{content}');
define('WP_CONTENT_URL', '{self.url}/wp-content');
define('WP_ENVIRONMENT_TYPE', 'local'); // Application Passwords over plain http on loopback
define('DISABLE_WP_CRON', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_HTTP_BLOCK_EXTERNAL', true);
define('WP_DEBUG', false);
if (!defined('ABSPATH')) {{
    define('ABSPATH', __DIR__ . '/');
}}
require_once ABSPATH . 'wp-settings.php';
""", encoding="utf-8")
        for name in ("router.php", "setup.php"):
            shutil.copy(PHP_DIR / name, site / name)

    def _install(self) -> None:
        args = {"title": "Sở Khoa học và Công nghệ (thử nghiệm)", "admin": "quantri", "users": list(USERS)}
        out = _run(["php", str(self.site / "setup.php"), json.dumps(args)], "WordPress install",
                   cwd=self.site, env={**os.environ, "TTHC_WP_URL": self.url})
        data = json.loads(out.strip().splitlines()[-1])
        self.accounts = {login: Account(login, u["role"], u["app_password"]) for login, u in data["users"].items()}

    def _start_web(self) -> None:
        log = open(self.base / "php-server.log", "wb")  # noqa: SIM115
        self._web = subprocess.Popen(["php", "-S", f"127.0.0.1:{self.port}", "-t", str(self.site),
                                      str(self.site / "router.php")],
                                     cwd=self.site, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(self.url + "/wp-json/", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if self._web.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"php -S did not serve WordPress: {(self.base / 'php-server.log').read_text()[-2000:]}")
            time.sleep(0.1)

    # -- what tests change -----------------------------------------------------------------------

    def install_plugin(self) -> None:
        shutil.copy(MU_PLUGIN, self.mu_plugins / MU_PLUGIN.name)

    def remove_plugin(self) -> None:
        (self.mu_plugins / MU_PLUGIN.name).unlink(missing_ok=True)

    def auth(self, login: str = "bientap") -> tuple[str, str]:
        return login, self.accounts[login].app_password

    def php(self, code: str) -> str:
        """Run PHP inside the site (WordPress loaded) and return what it prints."""
        script = self.base / "snippet.php"
        script.write_text("<?php\ndefine('ABSPATH', " + json.dumps(str(self.site) + "/") + ");\n"
                          "$_SERVER['HTTP_HOST'] = '127.0.0.1';\nrequire ABSPATH . 'wp-load.php';\n" + code,
                          encoding="utf-8")
        return _run(["php", str(script)], "PHP snippet", cwd=self.site)

    def reset(self) -> None:
        """Delete every post, page and media item (with their files): an empty site, same accounts."""
        self.php("""
foreach (get_posts(array('post_type' => array('post', 'page', 'attachment'), 'post_status' => array('publish', 'future', 'draft', 'pending', 'private', 'trash', 'auto-draft', 'inherit'),
                         'numberposts' => -1, 'fields' => 'ids')) as $id) {
    wp_delete_post($id, true);
}
""")
        self.install_plugin()


def _run(cmd: list[str], what: str, **kwargs) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}): {done.stderr.strip()[-2000:]} {done.stdout[-500:]}")
    return done.stdout
