"""A wheel (a non-editable install) carries the templates, config, migrations and styles."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_carries_the_data_folders(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("incidents-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "incidents/_data/config/default.toml",
        "incidents/_data/templates/base.html",
        "incidents/_data/templates/errors/error.html",
        "incidents/_data/migrations/env.py",
        "incidents/web/static/app.css",
    ):
        assert required in names, f"{required} missing from the wheel"
    assert any(n.startswith("incidents/_data/migrations/versions/") for n in names)
    assert not any("instance/" in n or n.endswith(".key") for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "incidents = incidents.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
