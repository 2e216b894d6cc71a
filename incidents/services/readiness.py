"""Is this configuration ready to serve (`incidents check-config`)? Every problem at once,
each a sentence saying what to set.

The settings' own production rules (incidents/settings.py `production_problems`) come
first, as the application would refuse them at start one by one; then what only a look
at the server shows: key files there, private to the service account and loadable, the
database and the rate limiter's store answering, the instance folder writable, the
proxy and evidence settings fitting several app servers behind nginx.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from incidents.errors import IncidentsError
from incidents.services import health, limiter_store
from incidents.settings import Settings, production_problems
from incidents.storage import choice


@dataclass(frozen=True)
class Readiness:
    """What stops the installation (problems) and what it should know (warnings)."""

    problems: list[str]
    warnings: list[str]

    @property
    def ready(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Loaders:
    """How the application loads its secrets (incidents/bootstrap.py), each raising
    ConfigurationError with one line; given by the caller so that the same code decides."""

    secret_key: Callable[[Settings], object]
    master_keys: Callable[[Settings], object]
    audit_signer: Callable[[Settings], object]


# What private_file_problem says of a file that cannot be loaded at all.
UNREADABLE = re.compile(r" (does not exist|cannot be read|is not a file)")


def private_file_problem(path: Path, what: str, setting: str) -> str | None:
    """None when `path` is a regular file only its owner, the account running this, can
    read; else what to do."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return f"{what} {path} does not exist: set {setting} to the file's path"
    except OSError as exc:
        return f"{what} {path} cannot be read: {exc.strerror}"
    if not stat.S_ISREG(info.st_mode):
        return f"{what} {path} is not a file: set {setting} to the key file itself"
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        return f"{what} {path} has mode {mode:04o}: `chmod 600 {path}` (owner only)"
    if info.st_uid != os.geteuid():
        return (
            f"{what} {path} belongs to uid {info.st_uid}, not to this account (uid "
            f"{os.geteuid()}): `chown` it to the service account, and run check-config as it"
        )
    return None


def _loads(load: Callable[[Settings], object], settings: Settings) -> str | None:
    try:
        load(settings)
    except (IncidentsError, OSError, ValueError) as exc:
        lines = str(exc).strip().splitlines()
        return lines[0] if lines else type(exc).__name__
    return None


def _secrets(settings: Settings, loaders: Loaders) -> Iterator[str | None]:
    production = settings.is_production
    if production and settings.secret_key:
        yield _loads(loaders.secret_key, settings)  # a development one is refused
    key_file = settings.master_key_file and not settings.master_key
    file_problem = None
    if key_file:
        path = Path(settings.master_key_file)
        file_problem = private_file_problem(path, "master key file", "INCIDENTS_MASTER_KEY_FILE")
        yield file_problem
    if (key_file or settings.master_key) and not _missing(file_problem):
        yield _loads(loaders.master_keys, settings)
    file_problem = None
    if settings.audit_signing_key_file:
        path = Path(settings.audit_signing_key_file)
        file_problem = private_file_problem(
            path, "audit signing key file", "INCIDENTS_AUDIT_SIGNING_KEY_FILE"
        )
        yield file_problem
    if (settings.audit_signing_key_file or production) and not _missing(file_problem):
        yield _loads(loaders.audit_signer, settings)


def _missing(file_problem: str | None) -> bool:
    """Whether the problem is that the file is not there to load (said once, not twice)."""
    return file_problem is not None and UNREADABLE.search(file_problem) is not None


def _writable_problem(folder: Path, what: str) -> str | None:
    if not folder.exists():
        # Made at the first start (mode 0700) where the nearest existing folder allows.
        parent = next(p for p in folder.parents if p.exists())
        if os.access(parent, os.W_OK | os.X_OK):
            return None
        return (
            f"{what} {folder} does not exist and cannot be made in {parent}: create it, "
            "owned by the service account (mode 0700), or set INCIDENTS_INSTANCE_PATH"
        )
    if not folder.is_dir():
        return f"{what} {folder} is not a folder: set INCIDENTS_INSTANCE_PATH to a folder"
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".check-config-"):
            pass
    except OSError as exc:
        return (
            f"{what} {folder} is not writable ({exc.strerror}): give the service account "
            "write access, or set INCIDENTS_INSTANCE_PATH"
        )
    return None


def _services(settings: Settings, engine: Engine) -> Iterator[str | None]:
    on_sqlite = engine.dialect.name == "sqlite"
    # Production on SQLite is a problem of its own (above); a development database file
    # whose folder is not made yet is made at the first start.
    if not (on_sqlite and (settings.is_production or not settings.instance_dir.exists())):
        database, _connected = health.check_database(engine)
        if database.status is health.Status.FAILING:
            yield f"database: {database.detail} (INCIDENTS_DATABASE_URL)"
    uri = settings.ratelimit_storage_uri
    unreachable = limiter_store.problem(uri)
    if unreachable is not None:
        yield (
            f"the rate-limit store {limiter_store.location(uri)} does not answer PING "
            f"({unreachable}): start Redis, or correct INCIDENTS_RATELIMIT_STORAGE_URI"
        )


def _folders(settings: Settings) -> Iterator[str | None]:
    yield _writable_problem(settings.instance_dir, "the instance folder")
    evidence = settings.instance_dir / "evidence"
    if settings.evidence_store == choice.DIRECTORY and evidence.exists():
        yield _writable_problem(evidence, "the evidence folder")


def _behind_the_proxy(settings: Settings) -> Iterator[str | None]:
    if settings.is_production and settings.trusted_proxies == 0:
        yield (
            "trusted_proxies = 0: behind nginx every client would share its address, and one "
            "person's failed logins would lock everyone out; set INCIDENTS_TRUSTED_PROXIES=1 "
            "(the proxies that add X-Forwarded-For), 0 only if clients connect directly"
        )


def _warnings(settings: Settings) -> Iterator[str]:
    if settings.is_production and settings.evidence_store == choice.DIRECTORY:
        yield (
            f'evidence_store = "directory" keeps evidence files in {settings.instance_dir} '
            'on this server alone: for several app servers set evidence_store = "database" '
            "(then `incidents evidence move --to database`), or share that folder between them"
        )


def check(settings: Settings, engine: Engine, loaders: Loaders) -> Readiness:
    """Every problem of `settings` on this server, and the warnings worth reading."""
    found = [
        *_secrets(settings, loaders),
        *_services(settings, engine),
        *_folders(settings),
        *_behind_the_proxy(settings),
    ]
    problems = production_problems(settings) + [problem for problem in found if problem]
    return Readiness(problems, list(_warnings(settings)))
