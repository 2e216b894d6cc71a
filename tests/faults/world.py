"""A throw-away installation driven by the real `incidents` command in subprocesses:
built once per module (a few dozen records with secrets, evidence files), cloned for
each fault point (a file copy on SQLite, a template database on PostgreSQL)."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from contextlib import AbstractContextManager, closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import select
from sqlalchemy.engine import make_url

from incidents import migrate
from incidents.audit.signing import generate_signer, write_signing_key
from incidents.context import Context
from incidents.crypto.keys import generate_master_key, write_key_file
from incidents.models import Report
from incidents.services import imports
from incidents.services.evidence import intake
from tests.conftest import POSTGRES_ADMIN_URL, PostgresDatabase, skip_without_postgres
from tests.faults.apps import operator_context
from tests.faults.consistency import State, check_consistency
from tests.faults.killer import COUNT_PREFIX

REPOSITORY = Path(__file__).resolve().parents[2]
ENTRY_POINT = "from incidents.cli import main; main()"
TIMEOUT = 120


@dataclass(frozen=True)
class EventCount:
    """The events an uninterrupted run saw (see tests.faults.killer)."""

    statements: int
    writes: int
    commits: int


@dataclass
class Installation:
    """A database, a key file, an audit signing key and an instance folder under `root`."""

    root: Path
    database_url: str
    postgres: PostgresDatabase | None = None

    @property
    def key_file(self) -> Path:
        return self.root / "master.key"

    @property
    def audit_key_file(self) -> Path:
        return self.root / "audit.key"

    @property
    def instance(self) -> Path:
        return self.root / "instance"

    @property
    def store(self) -> Path:
        return self.instance / "evidence"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENTS_")}
        return env | {
            "INCIDENTS_DATABASE_URL": self.database_url,
            "INCIDENTS_MASTER_KEY_FILE": str(self.key_file),
            "INCIDENTS_AUDIT_SIGNING_KEY_FILE": str(self.audit_key_file),
            "INCIDENTS_INSTANCE_PATH": str(self.instance),
            "INCIDENTS_SECRET_KEY": "fault-injection-" + "x" * 32,
            "PYTHONPATH": str(REPOSITORY),
        }

    def _run(self, command: Sequence[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *command],
            env=self.env(),
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )

    def incidents(self, *arguments: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        """Run `incidents ARGUMENTS`; with `ok`, assert it succeeded."""
        result = self._run(["-c", ENTRY_POINT, *arguments])
        if ok:
            assert result.returncode == 0, f"incidents {' '.join(arguments)}: {result.stderr}"
        return result

    def count(self, *arguments: str) -> EventCount:
        """Run `incidents ARGUMENTS` uninterrupted and count its events."""
        result = self._run(["-m", "tests.faults.killer", "--count", "--", *arguments])
        assert result.returncode == 0, f"incidents {' '.join(arguments)}: {result.stderr}"
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith(COUNT_PREFIX), result.stderr
        counts = dict(part.split("=") for part in last.removeprefix(COUNT_PREFIX).split())
        return EventCount(int(counts["statements"]), int(counts["writes"]), int(counts["commits"]))

    def killed(
        self,
        *arguments: str,
        statement: int | None = None,
        write: int | None = None,
        commit: int | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run `incidents ARGUMENTS` and SIGKILL it before its `statement`-th SQL statement
        (or `write`-th file event, or `commit`-th COMMIT); assert it was killed."""
        chosen = {"statement": statement, "write": write, "commit": commit}
        given = {kind: point for kind, point in chosen.items() if point is not None}
        if len(given) != 1:
            raise ValueError("give one of statement, write or commit")
        ((kind, point),) = given.items()
        mode = [f"--at-{kind}", str(point)]
        result = self._run(["-m", "tests.faults.killer", *mode, "--", *arguments])
        assert result.returncode == -signal.SIGKILL, (
            f"not killed at {mode}: exit {result.returncode}, {result.stderr[-500:]}"
        )
        return result

    def context(self) -> AbstractContextManager[Context]:
        """The operator's context on this installation, in the test process."""
        return operator_context(
            self.database_url, self.instance, self.key_file, self.audit_key_file
        )

    def check(self) -> State:
        """Assert the installation is consistent; what it holds."""
        return check_consistency(
            self.database_url, self.instance, self.key_file, self.audit_key_file
        )

    def clone(self, root: Path) -> Installation:
        """A copy of this installation (database, keys, instance folder) under `root`."""
        shutil.copytree(self.root, root, ignore=shutil.ignore_patterns("*.db", "*.db-*"))
        if self.postgres is None:
            url = f"sqlite:///{root / 'incidents.db'}"
            with (
                closing(sqlite3.connect(self.root / "incidents.db")) as source,
                closing(sqlite3.connect(root / "incidents.db")) as target,
            ):
                source.backup(target)
            return Installation(root, url)
        copy = _postgres_copy(self.postgres)
        return Installation(root, copy.url, copy)

    def drop(self) -> None:
        if self.postgres is not None:
            self.postgres.drop()


def _postgres_copy(template: PostgresDatabase) -> PostgresDatabase:
    copy = PostgresDatabase.__new__(PostgresDatabase)
    copy.name = f"{template.name[:40]}_{os.urandom(4).hex()}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{copy.name}" TEMPLATE "{template.name}"')
    admin = make_url(POSTGRES_ADMIN_URL)
    copy.url = admin.set(drivername="postgresql+psycopg", database=copy.name).render_as_string(
        hide_password=False
    )
    return copy


def new_installation(root: Path, backend: str) -> Installation:
    """An empty installation with keys of its own, migrated (in this process: the
    subprocesses are for what is killed)."""
    root.mkdir(parents=True)
    if backend == "sqlite":
        installation = Installation(root, f"sqlite:///{root / 'incidents.db'}")
    else:
        skip_without_postgres()
        postgres = PostgresDatabase("faults")
        installation = Installation(root, postgres.url, postgres)
    key = generate_master_key()
    write_key_file(installation.key_file, [key], key.key_id)
    write_signing_key(installation.audit_key_file, generate_signer("incidents.test/faults"))
    with installation.context() as ctx:
        migrate.upgrade(ctx.session.get_bind())  # type: ignore[arg-type]
    return installation


def build_world(root: Path, backend: str, cases: int, evidence: int) -> Installation:
    """An installation holding `world_document(cases)` and `evidence` text files, one on
    each of the first reports."""
    installation = new_installation(root, backend)
    with installation.context() as ctx:
        document = io.BytesIO(json.dumps(world_document(cases)).encode())
        outcome = imports.plan_import(ctx, document)
        assert outcome.imported, outcome.errors
        ctx.session.commit()
        reports = ctx.session.scalars(select(Report).order_by(Report.reference)).all()
        for number, report in enumerate(reports[:evidence], start=1):
            content = io.BytesIO(evidence_text(number))
            intake.add_evidence(ctx, report, content, f"statement-{number}.txt", "a statement")
        ctx.session.commit()
    return installation


def evidence_text(number: int) -> bytes:
    return f"statement {number}\n".encode() + b"what the witness said, line by line\n" * 50


TEAM = "field"


def world_document(cases: int, *, tag: str = "") -> dict[str, Any]:
    """An export-shaped document of `cases` incidents, each with a source, a report and a
    person, every secret field filled in (so each decrypts to something to compare)."""
    records: dict[str, list[dict[str, Any]]] = {
        "incident": [],
        "source": [],
        "report": [],
        "person": [],
    }
    for n in range(1, cases + 1):
        records["incident"].append(
            {
                "id": f"inc-{tag}{n}",
                "team": TEAM,
                "title": f"Case {tag}{n}",
                "narrative": f"narrative {tag}{n}: what was seen",
                "place_detail": f"street {n}",
                "start_date": "2017-03",
            }
        )
        records["source"].append(
            {
                "id": f"src-{tag}{n}",
                "team": TEAM,
                "kind": "witness",
                "identity": f"witness {tag}{n}",
                "contact": f"+7 900 000 {n:04d}",
            }
        )
        records["report"].append(
            {
                "id": f"rpt-{tag}{n}",
                "team": TEAM,
                "title": f"Account {tag}{n}",
                "source": f"src-{tag}{n}",
                "incident": f"inc-{tag}{n}",
                "received_on": "2017-04-01",
                "channel": "interview",
                "narrative": f"account {tag}{n}",
            }
        )
        records["person"].append(
            {"id": f"per-{tag}{n}", "team": TEAM, "full_name": f"Person {tag}{n}"}
        )
    return {
        "format": "incidents-records/1",
        "teams": [{"slug": TEAM, "name": "Field team"}],
        "records": records,
    }


def write_world(path: Path, cases: int, *, tag: str = "") -> Path:
    path.write_text(json.dumps(world_document(cases, tag=tag)), encoding="utf-8")
    return path
