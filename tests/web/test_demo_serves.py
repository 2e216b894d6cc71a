"""`incidents demo` goes from nothing to a running app that answers on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_demo_seeds_and_serves(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENTS_")}
    env["INCIDENTS_INSTANCE_PATH"] = str(tmp_path / "instance")
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from incidents.cli import main; main()",
            "demo",
            "--port",
            str(port),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        status = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as reply:
                    status = reply.status
                    page = reply.read().decode()
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.3)
        assert status == 200, "the demo server did not answer"
        assert "Log in" in page
    finally:
        process.terminate()
        output, errors = process.communicate(timeout=30)
    roles = [line for line in output.splitlines() if "login: " in line]
    assert len(roles) == 4
    assert "DEVELOPMENT master key" in errors
