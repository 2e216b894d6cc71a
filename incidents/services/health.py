"""The installation check (`incidents check`): is every part this installation depends on
present and sound — the database, the master keys, the evidence store, the audit log?

Each check answers one `Finding` (ok, warning or failing, and a sentence saying what was
found and what to do), whatever goes wrong inside it: a check that cannot be made says
so as its finding rather than raising, so that one broken part never hides the others.
What is checked needs the operator's access to the server (the key file, the instance
folder, the database URL), so only the command line runs it; no page offers it.
"""

from __future__ import annotations

import enum
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from incidents import migrate
from incidents.audit.log import TreeStateMissing
from incidents.audit.signing import Signer
from incidents.audit.verify import (
    check_newer_head,
    head_as_checkpoint,
    recorded_head,
    stream_rows,
    verify_rows,
)
from incidents.crypto import envelope
from incidents.crypto.keys import KeyProvider
from incidents.errors import ConfigurationError, DecryptionError, MasterKeyError
from incidents.repositories import data_keys as key_queries
from incidents.repositories import health as queries
from incidents.services import limiter_store
from incidents.storage import choice
from incidents.storage.database_store import DatabaseEvidenceStore
from incidents.storage.store import DirectoryEvidenceStore


class Status(enum.StrEnum):
    OK = "ok"
    WARNING = "warning"
    FAILING = "failing"


@dataclass(frozen=True)
class Finding:
    component: str
    status: Status
    detail: str


DATABASE = "database"
KEYS = "keys"
EVIDENCE_STORE = "evidence store"
AUDIT_LOG = "audit log"
LIMITER_STORE = "rate limits"  # where login attempts and API calls are counted
NO_DATABASE = "not checked: the database cannot be reached"


T = TypeVar("T")


@dataclass(frozen=True)
class Loaded(Generic[T]):
    """A part the command loaded from the configuration, or why it could not."""

    value: T | None
    problem: str | None = None


def _reason(error: BaseException) -> str:
    """The first line of what went wrong (a driver's message is long; its SQL may quote
    input, and is left out)."""
    original = getattr(error, "orig", None) or error
    lines = str(original).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def check_database(engine: Engine) -> tuple[Finding, bool]:
    """Connects, and the schema is at the newest migration; and whether it connected."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return Finding(DATABASE, Status.FAILING, f"cannot connect: {_reason(exc)}"), False
    try:
        current, head = migrate.current_revision(engine), migrate.head_revision(engine)
    except SQLAlchemyError as exc:
        return Finding(DATABASE, Status.FAILING, f"migrations unknown: {_reason(exc)}"), True
    where = engine.url.render_as_string(hide_password=True)
    if current != head:
        return Finding(
            DATABASE,
            Status.FAILING,
            f"{where}: schema at migration {current or 'none'}, the code needs {head}: "
            "run `incidents db upgrade` (after a backup)",
        ), True
    return Finding(DATABASE, Status.OK, f"{where}, migrations at head ({head})"), True


def check_keys(session: Session | None, keys: Loaded[KeyProvider]) -> Finding:
    """The primary key is held, every master key a data key names is held, and one data
    key of each master key unwraps with it (the material is the right one)."""
    provider = keys.value
    if provider is None:
        return Finding(KEYS, Status.FAILING, f"no master keys: {keys.problem}")
    try:
        primary = provider.primary().key_id
    except MasterKeyError as exc:
        return Finding(KEYS, Status.FAILING, str(exc))
    if session is None:
        return Finding(KEYS, Status.WARNING, f"primary {primary} held; data keys {NO_DATABASE}")
    try:
        counts = key_queries.count_by_master_key(session)
        held = set(provider.key_ids())
        missing = {key_id: n for key_id, n in counts.items() if key_id not in held}
        if missing:
            named = ", ".join(f"{key_id} ({n} data keys)" for key_id, n in sorted(missing.items()))
            return Finding(
                KEYS,
                Status.FAILING,
                f"data keys are wrapped by master keys not held: {named}; those records "
                "cannot be decrypted: put the key back in the key file (from its backup)",
            )
        for key_id in sorted(counts):
            sample = queries.sample_data_key(session, key_id)
            if sample is not None:
                envelope.unwrap_data_key(
                    provider.get(key_id),
                    sample.wrapped_key,
                    sample.record_table,
                    sample.record_id,
                    sample.team_id,
                )
    except (DecryptionError, MasterKeyError) as exc:
        return Finding(
            KEYS, Status.FAILING, f"{exc}: the key file holds other material under that id"
        )
    except SQLAlchemyError as exc:
        return Finding(KEYS, Status.FAILING, f"data keys cannot be read: {_reason(exc)}")
    total = sum(counts.values())
    detail = f"primary {primary} of {len(held)} keys held; {total} data keys"
    pending = total - counts.get(primary, 0)
    if pending:
        return Finding(
            KEYS,
            Status.WARNING,
            f"{detail}; {pending} not yet under the primary: run `incidents keys rotate "
            "--no-new-key`",
        )
    return Finding(KEYS, Status.OK, f"{detail}; a sample of each unwraps")


def _writable(folder: Path) -> str | None:
    """None when a file can be created, written and removed in `folder`; else why not."""
    probe = folder / f".check-{secrets.token_hex(8)}.partial"
    try:
        descriptor = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(descriptor, b"incidents check")
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
            probe.unlink(missing_ok=True)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None


def check_evidence_store(session: Session | None, folder: Path) -> Finding:
    """The folder is there and writable, and holds every file an evidence row names."""
    if not folder.is_dir():
        return Finding(
            EVIDENCE_STORE,
            Status.FAILING,
            f"{folder} is missing: restore it from a backup, or check INCIDENTS_INSTANCE_PATH",
        )
    refused = _writable(folder)
    if refused is not None:
        return Finding(EVIDENCE_STORE, Status.FAILING, f"{folder} is not writable: {refused}")
    if session is None:
        return Finding(EVIDENCE_STORE, Status.WARNING, f"{folder} writable; files {NO_DATABASE}")
    store = DirectoryEvidenceStore(folder)
    named: set[str] = set()
    missing = 0
    try:
        for key in queries.stored_evidence_keys(session):
            named.add(key)
            if not store.exists(key):
                missing += 1
    except SQLAlchemyError as exc:
        return Finding(EVIDENCE_STORE, Status.FAILING, f"evidence rows: {_reason(exc)}")
    if missing:
        return Finding(
            EVIDENCE_STORE,
            Status.FAILING,
            f"{missing} of {len(named)} evidence files are missing from {folder}: restore "
            "the folder from a backup",
        )
    orphans = sum(1 for key in store.keys() if key not in named)  # noqa: SIM118 (a store)
    return _stored_files(f"{folder} writable", len(named), orphans)


def check_database_evidence_store(session: Session | None, engine: Engine) -> Finding:
    """The database store's tables take a write, and hold every file an evidence row names."""
    if session is None:
        return Finding(EVIDENCE_STORE, Status.WARNING, f"in the database; files {NO_DATABASE}")
    try:
        store = DatabaseEvidenceStore(engine)
        store.check_writable()
        held = set(store.keys())
        named = set(queries.stored_evidence_keys(session))
    except (SQLAlchemyError, ConfigurationError) as exc:
        return Finding(EVIDENCE_STORE, Status.FAILING, f"evidence tables: {_reason(exc)}")
    missing = len(named - held)
    if missing:
        return Finding(
            EVIDENCE_STORE,
            Status.FAILING,
            f"{missing} of {len(named)} evidence files are missing from the database: "
            "restore them from a backup",
        )
    return _stored_files("in the database, writable", len(named), len(held - named))


def _stored_files(where: str, named: int, orphans: int) -> Finding:
    detail = f"{where}; all {named} files present"
    if orphans:
        return Finding(
            EVIDENCE_STORE,
            Status.WARNING,
            f"{detail}; {orphans} files no evidence row names (left by an interrupted "
            "upload or erasure): `incidents evidence sweep --dry-run` lists them",
        )
    return Finding(EVIDENCE_STORE, Status.OK, detail)


def check_audit_log(session: Session | None, signer: Loaded[Signer]) -> Finding:
    """Every event matches its leaf hash and the leaves make the tree head the database
    recorded; the checkpoint signing key is present."""
    if signer.value is None:
        key_problem = signer.problem or "no signing key yet (development makes one on first use)"
    else:
        key_problem = None
    if session is None:
        status = Status.FAILING if signer.problem else Status.WARNING
        return Finding(
            AUDIT_LOG, status, key_problem or f"signing key present; events {NO_DATABASE}"
        )
    try:
        connection = session.connection()
        head = recorded_head(connection)
        result = verify_rows(stream_rows(connection), [head_as_checkpoint(head)])
        check_newer_head(result, recorded_head(connection))
    except TreeStateMissing:
        return Finding(
            AUDIT_LOG, Status.FAILING, "the tree head is missing: run `incidents db upgrade`"
        )
    except SQLAlchemyError as exc:
        return Finding(AUDIT_LOG, Status.FAILING, f"events cannot be read: {_reason(exc)}")
    if not result.ok:
        return Finding(
            AUDIT_LOG,
            Status.FAILING,
            f"{result.problem}; `incidents audit verify` names it; restore from a backup",
        )
    if signer.problem:
        return Finding(AUDIT_LOG, Status.FAILING, f"{result.size} events verify; {signer.problem}")
    if key_problem:
        return Finding(AUDIT_LOG, Status.WARNING, f"{result.size} events verify; {key_problem}")
    return Finding(
        AUDIT_LOG,
        Status.OK,
        f"{result.size} events verify against the tree head; signing key present",
    )


def check_limiter_store(uri: str) -> Finding:
    """The store where login attempts and API calls are counted answers: while it does
    not, sign-in and the API are refused (incidents/web/throttling.py)."""
    where = limiter_store.location(uri)
    if uri.startswith(limiter_store.MEMORY_STORE):
        detail = f"{where}: each process counts alone (development; production uses Redis)"
        return Finding(LIMITER_STORE, Status.OK, detail)
    problem = limiter_store.problem(uri)
    if problem is not None:
        return Finding(
            LIMITER_STORE,
            Status.FAILING,
            f"{where} does not answer ({problem}): sign-in and the API are refused until "
            "it does; start Redis or correct ratelimit_storage_uri",
        )
    return Finding(LIMITER_STORE, Status.OK, f"{where} answers")


@dataclass(frozen=True)
class Installation:
    """What the command loaded: the database engine and the parts outside it."""

    engine: Engine
    keys: Loaded[KeyProvider]
    signer: Loaded[Signer]
    evidence_folder: Path
    evidence_store: str = choice.DIRECTORY  # the setting: which store holds the files
    limiter_store: str = limiter_store.MEMORY_STORE  # the setting ratelimit_storage_uri


def check_installation(
    parts: Installation, on_finding: Callable[[Finding], None] | None = None
) -> list[Finding]:
    """Every check, in order; `on_finding` hears each as it is made (a long log takes a
    while to verify). A database that cannot be reached leaves the other checks to what
    they can see without it."""
    findings: list[Finding] = []

    def found(finding: Finding) -> None:
        findings.append(finding)
        if on_finding is not None:
            on_finding(finding)

    database, connected = check_database(parts.engine)
    found(database)
    with Session(parts.engine) as session:
        usable = session if connected else None
        found(check_keys(usable, parts.keys))
        if parts.evidence_store == choice.DATABASE:
            found(check_database_evidence_store(usable, parts.engine))
        else:
            found(check_evidence_store(usable, parts.evidence_folder))
        found(check_audit_log(usable, parts.signer))
        if usable is not None:
            session.rollback()  # the check only reads
    found(check_limiter_store(parts.limiter_store))
    return findings
