"""No export that is not `full` carries a secret value, in JSON or in CSV, from the page or
the command line; and a partner or public export carries no restricted or advocacy
working value either.

The case is the summary canary test's (tests/security/test_summary_canaries.py): a
distinct canary in every secret field of every kind of case record (the list comes from
the metadata), in every free-text restricted and advocacy field, every use consented to
so that the case is shared. ZIPs are opened and each CSV searched.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from incidents.cli import cli
from incidents.db import secret_columns
from incidents.models import Incident, User
from tests.conftest import csrf_token
from tests.helpers import invoke
from tests.security.test_summary_canaries import _leaks, planted

__all__ = ["planted"]  # the summary canary test's case, planted here too
NOT_EXPORTED = ("erasure_reviews.", "erasures.")


def _secret_canaries(canaries: dict[str, str]) -> dict[str, str]:
    secret = {f"{table.name}.{column.name}" for table, column in secret_columns()}
    return {key: value for key, value in canaries.items() if key in secret}


def _opened(body: bytes) -> bytes:
    """The CSVs of a ZIP one after the other (compressed, a canary would not show)."""
    if not body.startswith(b"PK"):
        return body
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return b"\n".join(archive.read(name) for name in archive.namelist())


def test_no_export_short_of_full_carries_a_canary(
    planted: tuple[Incident, dict[str, str]],
    client: FlaskClient,
    app: Flask,
    sign_in: Callable[[str], User | None],
    tmp_path: Path,
) -> None:
    incident, canaries = planted
    secrets = _secret_canaries(canaries)
    assert len(secrets) >= 15, "every secret field has its canary"
    outputs: dict[str, tuple[bytes, dict[str, str]]] = {}

    sign_in("researcher")
    for profile, fmt in [
        ("internal", "json"),
        ("internal", "csv"),
        ("partner", "csv"),
        ("public", "csv"),
        ("full", "json"),
    ]:
        response = client.post(
            "/export",
            data={"profile": profile, "format": fmt, "csrf_token": csrf_token(client, "/export")},
        )
        assert response.status_code == 200, f"{profile} {fmt}"
        watched = secrets if profile == "internal" else canaries
        outputs[f"/export {profile} {fmt}"] = (_opened(response.get_data()), watched)
    archive = tmp_path / "internal.zip"
    commands = {
        "internal": ["-o", str(archive)],
        "partner": [],
        "public": [],
    }
    for profile, output in commands.items():
        result = invoke(app, cli, "export", "--profile", profile, "--format", "csv", *output)
        assert result.exit_code == 0, result.output
        body = archive.read_bytes() if output else result.stdout_bytes
        watched = secrets if profile == "internal" else canaries
        outputs[f"incidents export --profile {profile} --format csv"] = (
            _opened(body) + (result.stderr_bytes or b""),
            watched,
        )

    full, _ = outputs.pop("/export full json")
    # Review decisions and tombstones' notes are the installation's own bookkeeping, not
    # records an export carries; every other secret goes out in `full`.
    exported = {k: v for k, v in secrets.items() if not k.startswith(NOT_EXPORTED)}
    assert _leaks(full, exported) == sorted(exported), "full carries them: the check can fail"
    for where, (body, watched) in outputs.items():
        assert incident.reference.encode() in body, f"{where} does not show the case"
        leaked = _leaks(body, watched)
        assert leaked == [], f"{where} carries {leaked}"
