"""config/gunicorn.conf.py as gunicorn itself reads it: threaded workers, no preloading,
the bind and worker count from the environment, and an access log that names no query
string, no referrer and no calendar feed token. (tests/deployment runs it for real.)"""

from __future__ import annotations

import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from gunicorn.app.base import Application
from gunicorn.config import Config

CONFIG = Path(__file__).resolve().parents[2] / "config" / "gunicorn.conf.py"


class _Loaded(Application):  # type: ignore[misc]
    """gunicorn's own reading of a configuration file, without starting anything."""

    def init(self, parser: Any, opts: Any, args: Any) -> None:
        return None

    def load_config(self) -> None:
        self.cfg = Config()
        self.load_config_from_file(str(CONFIG))

    def load(self) -> None:
        raise AssertionError("not started")


def _config(monkeypatch: pytest.MonkeyPatch, **environment: str) -> Config:
    for name in ("GUNICORN_BIND", "WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_ACCESS_LOG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    config: Config = _Loaded().cfg
    return config


def test_threaded_workers_without_preloading(monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config(monkeypatch)
    assert config.worker_class_str == "gthread" and config.threads == 4
    assert config.preload_app is False
    assert config.bind == ["127.0.0.1:8000"]
    assert config.wsgi_app == "incidents.wsgi:app"
    assert config.graceful_timeout > config.timeout  # downloads under way may finish


def test_the_environment_sets_the_bind_workers_and_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = _config(
        monkeypatch, GUNICORN_BIND="127.0.0.1:9001", WEB_CONCURRENCY="3", GUNICORN_THREADS="2"
    )
    assert (config.bind, config.workers, config.threads) == (["127.0.0.1:9001"], 3, 2)


def test_the_access_log_leaves_out_queries_referrers_and_feed_tokens(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = _config(monkeypatch, GUNICORN_ACCESS_LOG="-")
    logger = config.logger_class(config)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/calendar/the-feed-token.ics?q=a-searched-name",
        "PATH_INFO": "/calendar/the-feed-token.ics",
        "QUERY_STRING": "q=a-searched-name",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": "https://incidents.example.org/people?q=a-searched-name",
        "REMOTE_ADDR": "127.0.0.1",
    }
    response = SimpleNamespace(status="200 OK", sent=10, headers=[])
    request = SimpleNamespace(
        headers=[
            ("X-FORWARDED-FOR", "192.0.2.7"),
            ("REFERER", environ["HTTP_REFERER"]),
            ("COOKIE", "__Host-session=the-session-cookie"),
            ("AUTHORIZATION", "Bearer the-api-token"),
        ]
    )
    atoms = logger.atoms(response, request, environ, datetime.timedelta(milliseconds=5))
    line = config.access_log_format % logger.atoms_wrapper_class(atoms)
    assert line.startswith("192.0.2.7 ")
    assert '"GET /calendar/… HTTP/1.1" 200' in line
    for secret in ("the-feed-token", "a-searched-name", "the-session-cookie", "the-api-token"):
        assert secret not in line
        assert all(secret not in str(value) for value in atoms.values())
