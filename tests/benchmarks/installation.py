"""Throw-away installations for the benchmark command: an application on an empty SQLite
or PostgreSQL database migrated to head, its teams and users, a generated archive
imported through the import service the `incidents import` command calls, and the two
measuring aids every figure needs — peak memory sampled from the process's resident
size, and a switch that turns the field layer's encryption off for a baseline.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from flask import Flask
from sqlalchemy.engine import make_url

from incidents import create_app, migrate
from incidents.context import Context
from incidents.crypto import envelope
from incidents.crypto.keys import generate_master_key, write_key_file
from incidents.extensions import db, evidence_store
from incidents.models.vocabularies import Role
from incidents.permissions import Operator
from incidents.services import accounts, imports
from incidents.vault import FieldVault
from tests.benchmarks.cases import team_users
from tests.benchmarks.generate import header as archive_header

OPERATOR = Operator("benchmark")
POSTGRES_ADMIN_URL = os.environ.get(
    "INCIDENTS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ("sqlite", "postgresql")


@dataclass
class Installation:
    """An application on its own empty database, and how to get rid of both."""

    backend: str
    app: Flask
    folder: Path
    password: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    _drop: Callable[[], None] | None = None

    def context(self) -> Context:
        """A call context acting as the operator (the command line), in an app context."""
        return Context.build(
            db.session,
            self.app.extensions["incidents.keys"],
            evidence_store(),
            self.app.config["INCIDENTS_SETTINGS"],
            OPERATOR,
        )

    def close(self) -> None:
        with self.app.app_context():
            db.engine.dispose()
        if self._drop is not None:
            self._drop()


def _postgres_database() -> tuple[str, Callable[[], None]]:
    name = f"incidents_bench_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')  # the name is ours, not input

    def drop() -> None:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    url = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+psycopg", database=name)
    return url.render_as_string(hide_password=False), drop


def postgres_available() -> bool:
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def make_installation(backend: str, root: Path) -> Installation:
    """A new installation: its own key file, database and folder under `root`."""
    folder = Path(tempfile.mkdtemp(prefix=f"{backend}-", dir=root))
    key_path = folder / "master.key"
    key = generate_master_key()
    write_key_file(key_path, [key], key.key_id)
    drop = None
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'bench.db'}"
    else:
        url, drop = _postgres_database()
    app = create_app(
        {
            "env": "testing",
            "instance_path": str(folder),
            "database_url": url,
            "secret_key": secrets.token_urlsafe(48),
            "master_key_file": str(key_path),
            # Pages are timed signed in with a password only, many times a minute.
            "require_two_factor": False,
            "login_limit_per_account": "100000 per minute",
            "login_limit_per_address": "100000 per minute",
        }
    )
    with app.app_context():
        migrate.upgrade(db.engine)
    return Installation(backend, app, folder, _drop=drop)


@contextlib.contextmanager
def _one_password_hash(password: str) -> Iterator[None]:
    """Argon2 spends half a second on a hash, by design: the accounts of a benchmark
    share one, checked and hashed once, instead of seconds of setup per installation."""
    shared = accounts.hash_password(password)
    original = accounts.hash_password
    accounts.hash_password = lambda *_args, **_options: shared
    try:
        yield
    finally:
        accounts.hash_password = original


def add_teams_and_users(installation: Installation) -> None:
    """The archive's teams, each with a researcher and an advocacy lead (the follow-ups'
    assignees), all with the installation's one benchmark password."""
    with installation.app.app_context(), _one_password_hash(installation.password):
        ctx = installation.context()
        for team_entry in archive_header()["teams"]:
            team = accounts.create_team(ctx, team_entry["slug"], team_entry["name"])
            for role, email in team_users(team.slug).items():
                user = accounts.create_user(
                    ctx, email, email.split("@")[0], installation.password, [Role(role)], [team]
                )
                user.two_factor_exempt = True
        ctx.session.commit()


def import_archive(
    installation: Installation, path: Path, progress: Callable[[int], None] | None = None
) -> int:
    """Import `path` as `incidents import FILE` does (all or nothing, as the operator);
    the records created. A refused file stops the benchmark with its first problems."""
    with installation.app.app_context():
        ctx = installation.context()
        with path.open("rb") as source:
            upload = imports.open_import(source, fmt="json", name=path.name)
            outcome = imports.plan_import(ctx, upload, progress=progress)
        if not outcome.ok:
            problems = "; ".join(str(error) for error in outcome.errors[:3])
            raise RuntimeError(f"the archive was refused: {problems}")
        ctx.session.commit()
        return sum(counts.created for _name, counts in outcome.per_kind())


# -- measuring aids --------------------------------------------------------------------


def _resident_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _give_back_free_memory() -> None:
    """Collect garbage and hand the C heap's free pages back to the system, so that what
    an earlier step freed does not hide what the next one needs."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class PeakMemory:
    """Peak resident memory above where it stood at the start, sampled by a thread every
    few milliseconds: unlike tracemalloc it does not slow the code it watches, and it
    counts what C libraries hold too (SQLite's cache, the database driver's buffers)."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.start = self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, _resident_bytes())

    def __enter__(self) -> PeakMemory:
        _give_back_free_memory()
        self.start = self.peak = _resident_bytes()
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _resident_bytes())

    @property
    def mib(self) -> float:
        return (self.peak - self.start) / (1 << 20)


class _PlainKey:
    """Stands in for a record's data key while encryption is off: no key, no AAD."""

    cipher = None

    def aad(self, _name: str) -> bytes:
        return b""


@contextlib.contextmanager
def plaintext_fields() -> Iterator[None]:
    """Within it, the field layer stores secret fields as plain UTF-8 and reads them back
    so: no data key is made, wrapped or unwrapped, nothing is encrypted. A baseline for
    the cost of encryption, in this process only: the vault still does everything else
    (its checks, its caches, its one query for a page's keys)."""
    plain_key = _PlainKey()
    saved = (FieldVault._record_key, envelope.seal_with, envelope.open_with)

    def record_key(_vault: FieldVault, _record: Any, **_options: Any) -> _PlainKey:
        return plain_key

    FieldVault._record_key = record_key  # type: ignore[method-assign,assignment]
    envelope.seal_with = lambda _cipher, data, _aad: bytes(data)  # type: ignore[assignment]
    envelope.open_with = lambda _cipher, sealed, _aad, *_what: bytes(sealed)
    try:
        yield
    finally:
        FieldVault._record_key, envelope.seal_with, envelope.open_with = saved  # type: ignore[method-assign]


@dataclass(frozen=True)
class Elapsed:
    """Wall-clock seconds, and this process's CPU seconds: on a busy machine the wall
    clock includes waiting for a core, the CPU time does not (but misses the database
    server's work, which PostgreSQL does in processes of its own)."""

    wall: float
    cpu: float


def timed(action: Callable[[], Any]) -> tuple[Any, Elapsed]:
    started, cpu = time.perf_counter(), time.process_time()
    result = action()
    return result, Elapsed(time.perf_counter() - started, time.process_time() - cpu)
