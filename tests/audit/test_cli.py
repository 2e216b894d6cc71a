"""`incidents audit …` at the command line: exit status 0, or 1 with one line on stderr."""

from __future__ import annotations

import json
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from incidents.audit.signing import generate_signer, open_checkpoint, parse_vkey, write_signing_key
from incidents.models.audit import AuditEvent
from tests.audit.conftest import drop_guards, rehash_everything, sql
from tests.unit.test_cli import (
    UNREACHABLE_DATABASE,
    assert_ok,
    assert_one_line_error,
    clean_environment,
    run,
)

ORIGIN = "audit.example.org/cli-tests"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture(scope="module")
def installation(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A migrated SQLite installation with three audit events and its own signing key."""
    home = tmp_path_factory.mktemp("audit-cli")
    environ = clean_environment(home / "instance")
    key = home / "audit.key"
    write_signing_key(key, generate_signer(ORIGIN))
    environ.update(INCIDENTS_AUDIT_SIGNING_KEY_FILE=str(key), INCIDENTS_AUDIT_LOG_ORIGIN=ORIGIN)
    assert_ok(run(["db", "upgrade"], home, environ))
    for slug in ("north", "south", "east"):
        assert_ok(run(["teams", "create", slug, "--name", slug.title()], home, environ))
    return home, environ


@pytest.fixture
def environ(installation: tuple[Path, dict[str, str]], workdir: Path) -> dict[str, str]:
    """A copy of the installation for this test; its environment."""
    home, environ = installation
    shutil.copytree(home / "instance", workdir / "instance")
    return {**environ, "INCIDENTS_INSTANCE_PATH": str(workdir / "instance")}


def _tamper(workdir: Path, *statements: str) -> None:
    """As an attacker with the database file: drop the guards, then change things."""
    with sqlite3.connect(workdir / "instance" / "incidents.db") as connection:
        connection.execute("DROP TRIGGER audit_events_refuse_update")
        connection.execute("DROP TRIGGER audit_events_refuse_delete")
        for statement in statements:
            connection.execute(statement)


def test_verify_checkpoint_prove_and_check(workdir: Path, environ: dict[str, str]) -> None:
    verified = run(["audit", "verify"], workdir, environ)
    assert_ok(verified)
    assert verified.stdout.startswith("ok: 3 events verified; root ")

    vkey = run(["audit", "public-key"], workdir, environ).stdout.strip()
    checkpoint = workdir / "checkpoint.txt"
    taken = run(["audit", "checkpoint", "-o", str(checkpoint)], workdir, environ)
    assert_ok(taken)
    assert "checkpoint of 3 events" in taken.stderr
    assert open_checkpoint(checkpoint.read_text(), parse_vkey(vkey)).size == 3
    again = run(["audit", "checkpoint", "-o", str(checkpoint)], workdir, environ)
    assert_one_line_error(again, "refusing to overwrite")

    assert_ok(run(["teams", "create", "west", "--name", "West"], workdir, environ))
    held = run(["audit", "verify", "--checkpoint", str(checkpoint)], workdir, environ)
    assert_ok(held)
    assert "5 events verified" in held.stdout  # the checkpoint itself is event 4
    assert "extends the held checkpoint of 3 events" in held.stdout

    proof = run(["audit", "prove", "2"], workdir, environ)
    assert_ok(proof)
    document = json.loads(proof.stdout)
    assert (document["leaf_index"], document["tree_size"]) == (1, 5)
    (workdir / "proof.json").write_text(proof.stdout)
    checked = run(["audit", "check-proof", "proof.json", "--key", vkey], workdir, environ)
    assert_ok(checked)
    assert checked.stdout.startswith(f"ok: event 2 is in the log {ORIGIN} of 5 events")

    older = run(
        ["audit", "prove", "2", "--checkpoint", str(checkpoint), "-o", "older.json"],
        workdir,
        environ,
    )
    assert_ok(older)
    assert json.loads((workdir / "older.json").read_text())["tree_size"] == 3

    extended = run(["audit", "consistency", "--checkpoint", str(checkpoint)], workdir, environ)
    assert_ok(extended)
    (workdir / "consistency.json").write_text(extended.stdout)
    checked = run(["audit", "check-proof", "consistency.json", "--key", vkey], workdir, environ)
    assert_ok(checked)
    assert "extends the log of 3 events" in checked.stdout

    other_key = generate_signer(ORIGIN).verifier.vkey
    refused = run(["audit", "check-proof", "proof.json", "--key", other_key], workdir, environ)
    assert_one_line_error(refused, "no signature by the key")


def test_tampering_fails_verify_checkpoint_and_prove(
    workdir: Path, environ: dict[str, str]
) -> None:
    checkpoint = workdir / "checkpoint.txt"
    assert_ok(run(["audit", "checkpoint", "-o", str(checkpoint)], workdir, environ))
    _tamper(workdir, "UPDATE audit_events SET actor = 'innocent' WHERE id = 2")

    verified = run(["audit", "verify"], workdir, environ)
    assert_one_line_error(verified, "fails verification", "event 2 does not match")
    assert verified.returncode == 1
    held = run(["audit", "verify", "--checkpoint", str(checkpoint)], workdir, environ)
    assert_one_line_error(held, "event 2")
    assert_one_line_error(run(["audit", "checkpoint", "-o", "-"], workdir, environ), "event 2")
    assert_one_line_error(run(["audit", "prove", "1"], workdir, environ), "event 2")


def test_truncation_against_a_held_checkpoint(workdir: Path, environ: dict[str, str]) -> None:
    checkpoint = workdir / "checkpoint.txt"
    assert_ok(run(["audit", "checkpoint", "-o", str(checkpoint)], workdir, environ))
    _tamper(workdir, "DELETE FROM audit_events WHERE id >= 3")
    held = run(["audit", "verify", "--checkpoint", str(checkpoint)], workdir, environ)
    assert_one_line_error(held, "truncated")


def test_a_recorded_checkpoint_with_a_broken_signature_fails_verify(
    workdir: Path, environ: dict[str, str]
) -> None:
    assert_ok(run(["audit", "checkpoint", "-o", "-"], workdir, environ))
    engine = create_engine(f"sqlite:///{workdir / 'instance' / 'incidents.db'}")
    try:
        with Session(engine) as session:  # a thorough attacker: every hash fits afterwards
            drop_guards(session)
            event = session.scalars(
                select(AuditEvent).where(AuditEvent.action == "audit.checkpoint")
            ).one()
            position, detail = event.id, dict(event.detail)
            detail["checkpoint"] = detail["checkpoint"].replace(f"\n{position - 1}\n", "\n1\n")
            sql(
                session,
                "UPDATE audit_events SET detail = :d WHERE id = :id",
                d=json.dumps(detail, sort_keys=True),
                id=position,
            )
            rehash_everything(session)
            session.commit()
    finally:
        engine.dispose()
    verified = run(["audit", "verify"], workdir, environ)
    assert_one_line_error(verified, f"recorded as event {position}", "does not verify")

    other_key = generate_signer(ORIGIN).verifier.vkey
    foreign = run(["audit", "verify", "--key", other_key], workdir, environ)
    assert_ok(foreign)  # checkpoints of other keys can be neither trusted nor blamed
    assert f"note: the checkpoint recorded as event {position} is signed by another key" in (
        foreign.stderr
    )


BAD_INPUT = [
    (["audit", "verify", "--checkpoint", "missing.txt"], ["missing.txt"]),
    (["audit", "verify", "--checkpoint", "garbage.txt"], ["not a signed note"]),
    (["audit", "verify", "--key", "not-a-key"], ["verifier key"]),
    (["audit", "prove", "99"], ["no audit event 99"]),
    (["audit", "prove", "0"], ["EVENT"]),
    (["audit", "check-proof", "garbage.txt", "--key", "x"], ["verifier key"]),
]


def test_bad_input_is_one_line(workdir: Path, environ: dict[str, str]) -> None:
    (workdir / "garbage.txt").write_text("hello\n")
    for arguments, names in BAD_INPUT:
        assert_one_line_error(run(arguments, workdir, environ), *names)


def test_keygen_writes_an_owner_only_key_and_prints_the_verifier_key(tmp_path: Path) -> None:
    environ = clean_environment(tmp_path / "instance")
    path = tmp_path / "signing.key"
    made = run(["audit", "keygen", str(path), "--name", "audit.example.org/x"], tmp_path, environ)
    assert_ok(made)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    vkey = made.stdout.strip().splitlines()[-1]
    assert parse_vkey(vkey).name == "audit.example.org/x"
    assert path.read_text().strip() not in made.stdout, "the private key is never printed"
    again = run(["audit", "keygen", str(path)], tmp_path, environ)
    assert_one_line_error(again, "refusing to overwrite")
    assert not (tmp_path / "instance").exists(), "keygen builds no application"


def test_production_refuses_to_start_without_a_signing_key(tmp_path: Path) -> None:
    environ = clean_environment(tmp_path / "instance")
    environ.update(
        INCIDENTS_ENV="production",
        INCIDENTS_DATABASE_URL=UNREACHABLE_DATABASE,
        INCIDENTS_RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379",
    )
    result = run(["audit", "verify"], tmp_path, environ)
    assert_one_line_error(result, "INCIDENTS_AUDIT_SIGNING_KEY_FILE")
    assert not (tmp_path / "instance" / "audit-signing.key").exists()


def test_development_generates_a_key_and_says_so(tmp_path: Path) -> None:
    environ = clean_environment(tmp_path / "instance")
    result = run(["audit", "public-key"], tmp_path, environ)
    assert_ok(result)
    assert "DEVELOPMENT audit signing key" in result.stderr
    key = tmp_path / "instance" / "audit-signing.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert parse_vkey(result.stdout.strip())
