"""Installations for the backup tests: a world with every kind of row and evidence files,
empty twins that share its keys, and the rows of a database compared exactly."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, redirect_stderr, redirect_stdout
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

import psycopg
from flask import Flask
from sqlalchemy import JSON, column, create_engine, func, inspect, select, table

from incidents import create_app
from incidents.cli import cli, main
from incidents.context import Context
from incidents.crypto.keys import KeyProvider
from incidents.crypto.stream import DEFAULT_CHUNK_BYTES
from incidents.db import Base
from incidents.extensions import audit_signer, db
from incidents.models import Consent, Incident, Report
from incidents.models.evidence_blob import STORE_TABLES
from incidents.models.suggestion import SuggestionReason
from incidents.models.vocabularies import ConsentUse, ErasureReason
from incidents.records.kinds import INCIDENT
from incidents.redaction import Profile
from incidents.services import (
    consent,
    demo,
    disclosures,
    erasure,
    retention_rules,
    suggestion_dismissals,
)
from incidents.services.backup.create import BackupSources, write_backup
from incidents.services.backup.manifest import Manifest
from incidents.services.backup.restore import RestoreTarget
from incidents.services.retention_rules import NewRule
from tests.conftest import POSTGRES_ADMIN_URL, PostgresDatabase, skip_without_postgres
from tests.faults.world import Installation, build_world

CASES = 12
EVIDENCE = 3


def rich_world(root: Path, backend: str) -> Installation:
    """The fault harness's world (secrets in every record, evidence files) with the demo
    case on top, so that every table the schema has holds rows."""
    world = build_world(root, backend, CASES, EVIDENCE)
    with world.context() as ctx:
        demo.seed(ctx)
        # A retention rule and a legal hold, which shred nothing until a run applies them.
        rule = NewRule("source", "contact", "2", "years", "last_report")
        retention_rules.add_rule(ctx, rule)
        first = ctx.session.scalars(select(Report.reference).order_by(Report.reference)).first()
        retention_rules.place_hold(ctx, first or "", "Court order 1/2026")
        ctx.session.commit()
        _protective_rows(ctx)
        ctx.session.commit()
    return world


def _protective_rows(ctx: Context) -> None:
    """The rows that protecting the people named leaves: a tombstone with its sealed note,
    a review of a withdrawn consent to keep, a partner summary's disclosure record and a
    dismissed suggestion."""
    first, second, third = ctx.session.scalars(
        select(Incident.reference).order_by(Incident.reference).limit(3)
    ).all()
    erasure.erase_record(ctx, third, ErasureReason.DUPLICATE, "entered twice")
    suggestion_dismissals.dismiss(ctx, INCIDENT, first, second, [SuggestionReason.SAME_PLACE.value])
    keep = ctx.session.scalars(
        select(Consent)
        .where(Consent.use == ConsentUse.KEEP, Consent.person_id.is_not(None))
        .where(Consent.revoked_on.is_(None))
        .order_by(Consent.granted_on)
    ).first()
    assert keep is not None, "the world has a person's consent to keep"
    # Withdrawn on a day of its own (not today's, which the backup event's time holds).
    withdrawn = keep.granted_on + timedelta(days=30)
    consent.revoke(ctx, keep.id, withdrawn, keep.lock_version)
    report_id = ctx.session.scalars(select(Report.id).order_by(Report.reference)).first()
    assert report_id is not None
    disclosures.record(ctx, Profile.PARTNER, "html", [report_id])


def empty_twin(source: Installation, root: Path, backend: str) -> Installation:
    """A blank database and instance folder holding `source`'s keys (nothing migrated)."""
    root.mkdir(parents=True)
    shutil.copy2(source.key_file, root / "master.key")
    shutil.copy2(source.audit_key_file, root / "audit.key")
    if backend == "sqlite":
        return Installation(root, f"sqlite:///{root / 'incidents.db'}")
    skip_without_postgres()
    database = PostgresDatabase("restore")
    return Installation(root, database.url, database)


def destroy(installation: Installation) -> None:
    """Lose the database and the evidence store, keeping the keys (a disk that died)."""
    shutil.rmtree(installation.instance)
    if installation.postgres is None:
        for path in installation.root.glob("incidents.db*"):
            path.unlink()
        return
    installation.postgres.drop()
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{installation.postgres.name}"')  # our own name


Rows = dict[str, list[tuple[Any, ...]]]


def all_rows(url: str) -> Rows:
    """Every row of every table, by primary key, as the models read them."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table.name: [
                    tuple(row)
                    for row in connection.execute(
                        select(table).order_by(*table.primary_key.columns)
                    )
                ]
                for table in Base.metadata.sorted_tables
                if table.name not in STORE_TABLES  # files in an archive, not rows
            }
    finally:
        engine.dispose()


def but_the_last_events(rows: Rows, count: int) -> Rows:
    """`rows` without their last `count` audit events and without the audit tree's head
    (which moves with each): what a restore must bring back exactly, once its own event
    (and, on the source, the backup's event the archive cannot hold) is set aside."""
    kept = {name: found for name, found in rows.items() if name != "audit_tree_state"}
    events = kept["audit_events"]
    kept["audit_events"] = events[: len(events) - count]
    return kept


def audit_events(url: str, after: int = 0) -> list[dict[str, Any]]:
    """The audit events past position `after`, each a mapping of its columns."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            events = table(
                "audit_events",
                *(column(name) for name in ("id", "actor", "action", "target_id")),
                column("detail", JSON),
            )
            found = connection.execute(
                select(events).where(events.c.id > after).order_by(events.c.id)
            )
            return [dict(row._mapping) for row in found]
    finally:
        engine.dispose()


def restored_event(installation: Installation, archived: Rows) -> dict[str, Any]:
    """The restore's own event, checked: the one event after the archive's checkpoint,
    by the operator, counting what the archive held; the log verifies with it."""
    held = len(archived["audit_events"])
    (event,) = audit_events(installation.database_url, after=held)
    assert (event["id"], event["action"]) == (held + 1, "backup.restore"), event
    assert event["actor"].startswith("cli:") and event["target_id"] is None
    detail: dict[str, Any] = event["detail"]
    assert detail["audit_tree_size"] == held
    assert (detail["tables"], detail["rows"]) == (
        len(archived),
        sum(len(found) for found in archived.values()),
    )
    verified = run_here(installation, "audit", "verify")
    assert verified.returncode == 0 and verified.stdout.startswith("ok: "), verified.stderr
    return detail


def one_line_refusal(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a refused command wrote, once sure it is one line and no traceback."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@contextmanager
def restore_target(installation: Installation) -> Iterator[RestoreTarget]:
    """What `incidents restore` restores into, built in the test process."""
    with installation.context() as ctx:
        yield RestoreTarget(
            ctx.session.get_bind(),  # type: ignore[arg-type]
            ctx.store,
            ctx.keys,
            audit_signer().verifier,
            ctx.settings.audit_log_origin,
        )


def rows_held(installation: Installation) -> int:
    """Rows in the installation's tables, whatever revision its schema is at (the audit
    head's seeded row and Alembic's own table not counted)."""
    engine = create_engine(installation.database_url)
    try:
        names = set(inspect(engine).get_table_names()) - {"alembic_version", "audit_tree_state"}
        with engine.connect() as connection:
            return sum(
                connection.scalar(select(func.count()).select_from(table(name))) or 0
                for name in names
            )
    finally:
        engine.dispose()


def run_here(installation: Installation, *arguments: str) -> subprocess.CompletedProcess[str]:
    """`incidents ARGUMENTS` through the real entry point, in this process: for commands
    whose refusals are checked, where a subprocess each would cost seconds."""
    stdout, stderr = io.StringIO(), io.StringIO()
    saved_environment, saved_argv = dict(os.environ), sys.argv
    os.environ.clear()
    os.environ.update(installation.env())
    sys.argv = ["incidents", *arguments]
    built: list[Flask] = []
    factory = cli.create_app

    def recording_factory() -> Flask:
        built.append(create_app())
        return built[-1]

    cli.create_app = recording_factory
    status = 0
    try:
        with redirect_stdout(stdout), redirect_stderr(stderr):
            main()
    except SystemExit as exit_:
        status = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        os.environ.clear()
        os.environ.update(saved_environment)
        sys.argv = saved_argv
        cli.create_app = factory
        for app in built:  # no connection outlives the command, as none would in a process
            with app.app_context():
                db.engine.dispose()
    return subprocess.CompletedProcess(arguments, status, stdout.getvalue(), stderr.getvalue())


def backup_here(
    installation: Installation,
    target: BinaryIO,
    keys: KeyProvider | None = None,
    chunk_size: int = DEFAULT_CHUNK_BYTES,
) -> Manifest:
    """An archive of `installation` written in this process (under `keys`, if given)."""
    with installation.context() as ctx:
        sources = BackupSources(
            ctx.session.get_bind(),  # type: ignore[arg-type]
            ctx.store,
            keys or ctx.keys,
            audit_signer(),
            ctx.settings.audit_log_origin,
            installation.instance,
        )
        return write_backup(sources, target, lambda _total: nullcontext(None), chunk_size)
