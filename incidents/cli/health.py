"""`incidents check`: one table of the parts this installation depends on.

It loads each part itself rather than building the application, which refuses to start
without its database or keys: the check is what to run exactly then, and it says which
part is failing instead of stopping at the first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

from incidents.audit.signing import Signer
from incidents.bootstrap import load_audit_signer, load_key_provider
from incidents.crypto.keys import KeyProvider
from incidents.errors import IncidentsError
from incidents.extensions import SQLITE_BEGIN, make_engine
from incidents.services import health
from incidents.settings import load_settings

_COMPONENT_WIDTH = max(
    len(name)
    for name in (
        health.DATABASE,
        health.KEYS,
        health.EVIDENCE_STORE,
        health.AUDIT_LOG,
        health.LIMITER_STORE,
    )
)
_STATUS_WIDTH = max(len(status.value) for status in health.Status)
T = TypeVar("T")


def _loaded(load: Callable[[], T | None]) -> health.Loaded[T]:
    """What `load` gives, or the first line of why it could not (a missing key file)."""
    try:
        return health.Loaded(load())
    except (IncidentsError, OSError, ValueError) as exc:
        lines = str(exc).strip().splitlines()
        return health.Loaded(None, lines[0] if lines else type(exc).__name__)


def _row(component: str, status: str, detail: str) -> str:
    return f"{component:<{_COMPONENT_WIDTH}}  {status:<{_STATUS_WIDTH}}  {detail}"


@click.command("check")
def check_command() -> None:
    """Check the database, master keys, evidence store, audit log and rate-limit store;
    exit 1 if any fails."""
    settings = load_settings()
    keys: health.Loaded[KeyProvider] = _loaded(lambda: load_key_provider(settings))
    signer: health.Loaded[Signer] = _loaded(lambda: load_audit_signer(settings, generate=False))
    engine = make_engine(settings.sqlalchemy_url)
    # The check only reads: on SQLite it takes no write lock from a running application.
    reading = engine.execution_options(**{SQLITE_BEGIN: "DEFERRED"})
    parts = health.Installation(
        reading,
        keys,
        signer,
        settings.instance_dir / "evidence",
        settings.evidence_store,
        limiter_store=settings.ratelimit_storage_uri,
    )
    click.echo(_row("component", "status", "detail"))

    def show(finding: health.Finding) -> None:
        click.echo(_row(finding.component, finding.status.value, finding.detail))

    try:
        findings = health.check_installation(parts, show)
    finally:
        engine.dispose()
    failing = [f.component for f in findings if f.status is health.Status.FAILING]
    if failing:
        click.echo(f"error: failing: {', '.join(failing)}", err=True)
        raise click.exceptions.Exit(1)
