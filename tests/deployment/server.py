"""The production server for tests: gunicorn with config/gunicorn.conf.py in a process of
its own, and a browser that reaches it as nginx would forward one (X-Forwarded-For,
X-Forwarded-Proto: https), one new TCP connection per request so that requests spread
over the workers. The access log's `<pid>` says which worker answered."""

from __future__ import annotations

import contextlib
import html
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
CONFIG = REPOSITORY / "config" / "gunicorn.conf.py"
INPUT = re.compile(r"<input\b[^>]*>")
ATTRIBUTE = re.compile(r'\b(name|type|value)="([^"]*)"')
BOOTED = re.compile(r"Booting worker with pid: (\d+)")
ACCESS_PID = re.compile(r"<(\d+)>\s*$")
REQUEST_TIMEOUT = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    """A running gunicorn: its port, its log files, and its master process."""

    process: subprocess.Popen[bytes]
    port: int
    access_log: Path
    error_log: Path

    def worker_pids(self) -> set[int]:
        return {int(pid) for pid in BOOTED.findall(self.error_log.read_text())}

    def pids_that_answered(self, address: str) -> list[int]:
        """The workers that answered the requests sent from `address` (access log)."""
        pids = []
        for line in self.access_log.read_text().splitlines():
            found = ACCESS_PID.search(line)
            if line.startswith(f"{address} ") and found:
                pids.append(int(found.group(1)))
        return pids


@contextlib.contextmanager
def gunicorn(env: Mapping[str, str], folder: Path, workers: int) -> Iterator[Server]:
    """Start gunicorn with the project's config and `workers` workers; stop it after."""
    port = free_port()
    access_log, error_log = folder / "access.log", folder / "error.log"
    settings = {
        **env,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_THREADS": "2",
        "GUNICORN_ACCESS_LOG": str(access_log),
        "PYTHONPATH": str(REPOSITORY),
    }
    with error_log.open("wb") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(CONFIG)],
            env=settings,
            cwd=REPOSITORY,
            stdout=errors,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, port, access_log, error_log)
    try:
        _wait_until_serving(server, workers)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_serving(server: Server, workers: int, timeout: float = 45) -> None:
    deadline = time.monotonic() + timeout
    probe = Browser(server.port, "127.0.0.1")
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"gunicorn stopped: {server.error_log.read_text()[-2000:]}")
        if len(server.worker_pids()) >= workers:
            with contextlib.suppress(OSError):
                if probe.get("/login").status == 200:
                    return
        time.sleep(0.2)
    raise AssertionError(f"gunicorn did not serve in time: {server.error_log.read_text()[-2000:]}")


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str

    @property
    def location(self) -> str:
        return urllib.parse.urlsplit(self.headers.get("location", "")).path


@dataclass
class Browser:
    """A browser behind nginx: its own cookies, its own address, a new connection each time."""

    port: int
    address: str
    cookies: dict[str, str] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def request(self, method: str, path: str, form: Mapping[str, str] | None = None) -> Answer:
        headers = {
            "Host": f"127.0.0.1:{self.port}",
            "X-Forwarded-For": self.address,
            "X-Forwarded-Proto": "https",
            "Connection": "close",
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"{self.origin}{path}"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            answer = Answer(
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                response.read().decode("utf-8", "replace"),
            )
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    self._remember(value)
        finally:
            connection.close()
        return answer

    def _remember(self, header: str) -> None:
        pair, _, attributes = header.partition(";")
        name, _, value = pair.strip().partition("=")
        expired = "max-age=0" in attributes.lower() or "expires=thu, 01 jan 1970" in (
            attributes.lower()
        )
        if expired or not value:
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def form(self, path: str, fields: Mapping[str, str], page: str | None = None) -> Answer:
        """Send the form of `page` (default `path`) with its CSRF token and hidden fields."""
        shown = self.get(page or path)
        assert shown.status == 200, (page or path, shown.status)
        hidden = hidden_fields(shown.body)
        assert "csrf_token" in hidden, f"no CSRF token on {page or path}"
        return self.request("POST", path, {**hidden, **fields})


def hidden_fields(page: str) -> dict[str, str]:
    """The hidden inputs of `page` (the CSRF token, a form's state), by name."""
    found = {}
    for tag in INPUT.findall(page):
        attributes = dict(ATTRIBUTE.findall(tag))
        if attributes.get("type") == "hidden" and "name" in attributes:
            found[attributes["name"]] = html.unescape(attributes.get("value", ""))
    return found


def production_environment(**settings: str) -> dict[str, str]:
    """This process's environment without its INCIDENTS_ settings, with `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENTS_")}
    return env | settings
