"""A live server with the demo case, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from incidents import migrate
from incidents.crypto.keys import MasterKey
from incidents.extensions import db
from incidents.permissions import Operator
from incidents.services import demo
from tests import helpers
from tests.conftest import make_test_app

CHROMIUM = os.environ.get("INCIDENTS_CHROMIUM", "/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("INCIDENTS_REQUIRE_BROWSER") == "1"


@dataclass
class LiveDemo:
    url: str
    passwords: dict[str, tuple[str, str]]  # role -> (email, password)
    app: Flask


@contextmanager
def serve_demo(instance: Path, master_key: MasterKey, **settings: Any) -> Iterator[LiveDemo]:
    """The demo case on a live server in a thread, with these settings over the tests'."""
    app = make_test_app(f"sqlite:///{instance / 'live.db'}", instance, master_key, **settings)
    with app.app_context():
        migrate.upgrade(db.engine)
        # As `incidents demo` does it: the operator at the command line.
        outcome = demo.seed(helpers.context(db.session, app, Operator.from_environment()))
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveDemo(
            url=f"http://127.0.0.1:{server.server_port}",
            passwords={c.role: (c.email, c.password) for c in outcome.credentials},
            app=app,
        )
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def live_demo(
    tmp_path_factory: pytest.TempPathFactory, master_key: MasterKey
) -> Iterator[LiveDemo]:
    """One demo server for every module that uses it: migrating and seeding the demo takes
    seconds. Tests that add to it (accounts, log events) use names of their own, and none
    takes anything away; a module that changes the case serves a demo of its own."""
    # Two-factor required, as in production: the demo accounts are the exemption.
    with serve_demo(tmp_path_factory.mktemp("live"), master_key, require_two_factor=True) as live:
        yield live


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One Chromium for the run (each test opens a context of its own): starting it takes
    seconds."""
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM} (Debian package chromium)"
        if REQUIRE_BROWSER:
            pytest.fail(f"INCIDENTS_REQUIRE_BROWSER=1 but {message}")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield chromium
        finally:
            chromium.close()


def open_as(
    browser: Any, live: LiveDemo, role: str, viewport: dict[str, int]
) -> tuple[Any, list[str]]:
    """A new browser context logged in as the demo user of `role`, and the list that
    collects its console errors and warnings (CSP violations included)."""
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    problems: list[str] = []
    page.on(
        "console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    email, password = live.passwords[role]
    page.goto(f"{live.url}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    return page, problems
