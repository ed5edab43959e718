"""PoliteSession: User-Agent, robots.txt, per-host throttling, conditional GET and retries, over real HTTP
(the sandbox, or a tiny local server where the sandbox cannot show what was sent)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from tthc.core import http as web
from tthc.core.http import USER_AGENT, MemoryHttpCache, PoliteSession, RobotsDisallowedError

LISTING = "/bo-khcn/van-ban"


# ------------------------------------------------------------------ a tiny server that records what it got


class _Recorder(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        server = self.server
        server.hits.append((self.command, self.path, dict(self.headers)))  # type: ignore[attr-defined]
        server.times.append((self.path, time.monotonic()))  # type: ignore[attr-defined]
        if self.path in server.fail_once:  # type: ignore[attr-defined]
            server.fail_once.discard(self.path)  # type: ignore[attr-defined]
            status, body = 500, b"error"
        elif self.path == "/robots.txt":
            status, body = server.robots  # type: ignore[attr-defined]
        else:
            status, body = 200, b"ok"
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class TinyServer:
    def __init__(self, robots: tuple[int, bytes]) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
        self.httpd.hits = []  # type: ignore[attr-defined]
        self.httpd.robots = robots  # type: ignore[attr-defined]
        self.httpd.times = []  # type: ignore[attr-defined]
        self.httpd.fail_once = set()  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def hits(self) -> list[tuple[str, str, dict[str, str]]]:
        return self.httpd.hits  # type: ignore[attr-defined]

    def paths(self) -> list[str]:
        return [p for _, p, _ in self.hits]


@pytest.fixture
def tiny_404() -> Iterator[TinyServer]:
    """A server without robots.txt (404)."""
    server = TinyServer((404, b"not found"))
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def tiny_rules() -> Iterator[TinyServer]:
    server = TinyServer((200, b"User-agent: *\nDisallow: /secret/\n"))
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


# ------------------------------------------------------------------ identity and robots.txt


def test_user_agent_is_sent_on_every_request(tiny_404: TinyServer) -> None:
    http = PoliteSession(retries=0)
    http.get(tiny_404.url + "/a")
    http.get(tiny_404.url + "/b", headers={"Accept": "text/html"})
    assert tiny_404.paths() == ["/robots.txt", "/a", "/b"]
    for _, _, headers in tiny_404.hits:
        assert headers["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("tthc-pipeline/")


def test_robots_fetched_once_per_host_and_disallowed_path_not_requested(sandbox) -> None:
    http = PoliteSession(retries=0)
    assert http.get(sandbox.url + LISTING).status_code == 200
    assert http.get(sandbox.url + LISTING).status_code == 200
    with pytest.raises(RobotsDisallowedError, match="/private/x"):
        http.get(sandbox.url + "/private/x")
    stats = sandbox.stats()
    assert stats["GET /robots.txt"] == 1
    assert stats[f"GET {LISTING}"] == 2
    assert not any("/private" in key for key in stats)  # never asked for
    # another origin (same server, other host name) gets its own robots.txt
    other = sandbox.url.replace("127.0.0.1", "localhost")
    assert http.get(other + LISTING).status_code == 200
    assert sandbox.stats()["GET /robots.txt"] == 2


def test_robots_rules_are_applied_per_path(tiny_rules: TinyServer) -> None:
    http = PoliteSession(retries=0)
    assert http.get(tiny_rules.url + "/public").status_code == 200
    with pytest.raises(RobotsDisallowedError):
        http.get(tiny_rules.url + "/secret/page")
    assert tiny_rules.paths() == ["/robots.txt", "/public"]


def test_robots_404_allows_everything(tiny_404: TinyServer) -> None:
    http = PoliteSession(retries=0)
    for path in ("/private/x", "/secret/y", "/anything"):
        assert http.get(tiny_404.url + path).status_code == 200
    assert tiny_404.paths() == ["/robots.txt", "/private/x", "/secret/y", "/anything"]


def test_respect_robots_false_skips_robots(sandbox) -> None:
    http = PoliteSession(retries=0, respect_robots=False)
    assert http.get(sandbox.url + "/private/x").status_code == 403
    assert "GET /robots.txt" not in sandbox.stats()


# ------------------------------------------------------------------ per-host throttle


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_min_interval_per_host_with_injected_clock(sandbox) -> None:
    clock = FakeClock()
    http = PoliteSession(retries=0, min_interval=2.0, clock=clock, sleep=clock.sleep)
    host = sandbox.url.removeprefix("http://")

    http.get(sandbox.url + LISTING)  # robots.txt (first on this host: no wait), then the page: 2 s
    assert clock.sleeps == [pytest.approx(2.0)]

    clock.now += 0.5  # 0.5 s of work since the last request
    http.get(sandbox.url + LISTING)
    assert clock.sleeps[1:] == [pytest.approx(1.5)]

    clock.now += 5.0  # long enough: no wait
    http.get(sandbox.url + LISTING)
    assert len(clock.sleeps) == 2

    # another host is throttled on its own: its robots.txt goes out at once, its page waits 2 s
    other = sandbox.url.replace("127.0.0.1", "localhost")
    http.get(other + LISTING)
    assert clock.sleeps[2:] == [pytest.approx(2.0)]
    assert http.requests_by_host[host] == 4
    assert http.requests_by_host[other.removeprefix("http://")] == 2
    assert sandbox.stats()[f"GET {LISTING}"] == 4


def test_no_throttle_when_min_interval_is_zero(sandbox) -> None:
    clock = FakeClock()
    http = PoliteSession(retries=0, min_interval=0.0, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        http.get(sandbox.url + LISTING)
    assert clock.sleeps == []


def test_retries_respect_min_interval(tiny_404: TinyServer) -> None:
    tiny_404.httpd.fail_once.add("/x")  # type: ignore[attr-defined]
    http = PoliteSession(retries=2, min_interval=0.5)  # default backoff
    assert http.get(tiny_404.url + "/x").status_code == 200
    times = [t for path, t in tiny_404.httpd.times if path == "/x"]  # type: ignore[attr-defined]
    assert len(times) == 2
    assert times[1] - times[0] >= 0.45


# ------------------------------------------------------------------ conditional GET


def test_conditional_get_served_from_cache_on_304(sandbox) -> None:
    cache = MemoryHttpCache()
    http = PoliteSession(retries=0, cache=cache)
    url = sandbox.url + LISTING

    first = http.get(url)
    assert first.status_code == 200 and first.from_cache is False
    assert "If-None-Match" not in first.request.headers
    etag = first.headers["ETag"]
    assert cache.get(url).etag == etag and cache.get(url).content == first.content

    second = http.get(url)
    assert second.request.headers["If-None-Match"] == etag
    assert second.status_code == 200
    assert second.from_cache is True
    assert second.content == first.content
    assert second.headers["Content-Type"] == first.headers["Content-Type"]
    status = sandbox.status_stats()
    assert status[f"GET {LISTING} 200"] == 1
    assert status[f"GET {LISTING} 304"] == 1


def test_streamed_get_is_not_cached(sandbox) -> None:
    cache = MemoryHttpCache()
    http = PoliteSession(retries=0, cache=cache)
    url = sandbox.url + LISTING
    response = http.get(url, stream=True)
    assert response.status_code == 200 and response.headers.get("ETag")
    response.close()
    assert cache.get(url) is None
    http.get(url)  # not streamed: cached
    assert cache.get(url) is not None


def test_post_is_never_conditional(sandbox) -> None:
    cache = MemoryHttpCache()
    http = PoliteSession(retries=0, cache=cache)
    url = sandbox.url + LISTING
    http.get(url)
    response = http.post(url)
    assert "If-None-Match" not in response.request.headers


# ------------------------------------------------------------------ retries


def test_retry_on_500_then_success(sandbox) -> None:
    sandbox.add_fault(f"GET {LISTING}", "http_500", times=1)
    http = PoliteSession(retries=2, backoff=0)
    response = http.get(sandbox.url + LISTING)
    assert response.status_code == 200
    status = sandbox.status_stats()
    assert status[f"GET {LISTING} 500"] == 1
    assert status[f"GET {LISTING} 200"] == 1


def test_retries_exhausted_returns_the_error(sandbox) -> None:
    sandbox.add_fault(f"GET {LISTING}", "http_503")
    http = PoliteSession(retries=2, backoff=0)
    response = http.get(sandbox.url + LISTING)
    assert response.status_code == 503
    assert sandbox.stats()[f"GET {LISTING}"] == 3  # the request and two retries


def test_429_retry_after_is_honoured(sandbox) -> None:
    sandbox.add_fault(f"GET {LISTING}", "http_429", times=1, retry_after=1)
    http = PoliteSession(retries=2, backoff=0)
    started = time.monotonic()
    response = http.get(sandbox.url + LISTING)
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert elapsed >= 0.9
    status = sandbox.status_stats()
    assert status[f"GET {LISTING} 429"] == 1
    assert status[f"GET {LISTING} 200"] == 1


def test_429_retry_after_is_capped(sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(web, "MAX_RETRY_AFTER", 0.2)
    sandbox.add_fault(f"GET {LISTING}", "http_429", times=1, retry_after=30)
    http = PoliteSession(retries=2, backoff=0)
    started = time.monotonic()
    response = http.get(sandbox.url + LISTING)
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert 0.15 <= elapsed < 5
    assert sandbox.status_stats()[f"GET {LISTING} 429"] == 1


@pytest.mark.parametrize(("path", "status"), [("/no/such/page", 404), ("/private/x", 403)])
def test_no_retry_on_other_4xx(sandbox, path: str, status: int) -> None:
    http = PoliteSession(retries=3, backoff=0, respect_robots=False)
    response = http.get(sandbox.url + path)
    assert response.status_code == status
    assert sandbox.stats()[f"GET {path}"] == 1


def test_connection_error_raises_requests_exception() -> None:
    from tthc_dev.sandbox.smtp_sink import free_port

    url = f"http://127.0.0.1:{free_port()}"  # nothing listens
    http = PoliteSession(retries=1, backoff=0, respect_robots=False)
    with pytest.raises(requests.ConnectionError):
        http.get(url + "/x", timeout=1)
