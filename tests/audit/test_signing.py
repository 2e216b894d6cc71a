"""Signed notes, verifier keys and checkpoints in the C2SP formats."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from incidents.audit.signing import (
    generate_signer,
    load_signing_key,
    open_checkpoint,
    parse_checkpoint_body,
    parse_vkey,
    sign_checkpoint,
    write_signing_key,
)
from incidents.errors import ConfigurationError, ValidationError

# The example of golang.org/x/mod/sumdb/note's documentation: another implementation's
# key, verifier key and signed note, byte for byte (Ed25519 signatures are deterministic).
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2"
    "pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ROOT = bytes(range(32))


def test_keys_and_signatures_match_the_go_implementation(tmp_path: Path) -> None:
    path = tmp_path / "go.key"
    path.write_text(GO_SKEY + "\n")
    signer = load_signing_key(path)
    assert signer.verifier.vkey == GO_VKEY
    assert signer.sign_note(GO_TEXT) == GO_NOTE
    assert parse_vkey(GO_VKEY) == signer.verifier


def test_a_generated_key_file_is_owner_only_and_round_trips(tmp_path: Path) -> None:
    signer = generate_signer("audit.example.org/incidents")
    path = tmp_path / "audit.key"
    write_signing_key(path, signer)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_signing_key(path).verifier == signer.verifier
    with pytest.raises(FileExistsError):
        write_signing_key(path, signer)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("", "not an audit signing key"),
        ("PRIVATE+KEY+name+00000000+AAAA", "not an Ed25519 key"),
        ("PRIVATE+KEY+name+00000000+!!!", "base64"),
        (GO_SKEY.replace("c74f20a3", "00000000"), "key id"),
    ],
)
def test_unusable_key_files_are_one_line_errors(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "bad.key"
    path.write_text(content)
    with pytest.raises(ConfigurationError, match=reason):
        load_signing_key(path)
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_signing_key(tmp_path / "missing.key")


def test_a_checkpoint_is_a_c2sp_note_and_opens_with_the_verifier_key() -> None:
    signer = generate_signer("audit.example.org/incidents")
    note = sign_checkpoint(signer, "audit.example.org/incidents", 42, ROOT)
    body, _, signature = note.partition("\n\n")
    lines = body.split("\n")
    assert lines[:3] == [
        "audit.example.org/incidents",
        "42",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    ]
    assert lines[3].startswith("time ")
    assert signature.startswith("— audit.example.org/incidents ")
    checkpoint = open_checkpoint(note, signer.verifier)
    assert (checkpoint.origin, checkpoint.size, checkpoint.root) == (
        "audit.example.org/incidents",
        42,
        ROOT,
    )
    assert checkpoint.signed_at is not None


def test_altered_or_foreign_checkpoints_are_refused() -> None:
    signer, other = generate_signer("log"), generate_signer("log")
    note = sign_checkpoint(signer, "log", 42, ROOT)
    with pytest.raises(ValidationError, match="does not verify"):
        open_checkpoint(note.replace("\n42\n", "\n41\n"), signer.verifier)
    with pytest.raises(ValidationError, match="no signature by the key"):
        open_checkpoint(note, other.verifier)
    with pytest.raises(ValidationError, match="not a signed note"):
        open_checkpoint("log\n42\n", signer.verifier)
    witness = generate_signer("witness").sign_note("log\n42\nAAAA\n").split("\n\n")[1]
    assert open_checkpoint(note + witness, signer.verifier).size == 42  # other keys ignored


@pytest.mark.parametrize(
    "body", ["log\n", "log\nmany\nAAAA\n", "log\n1\nnot base64!\n", "log\n1\nAAAA\n"]
)
def test_malformed_checkpoint_bodies(body: str) -> None:
    with pytest.raises(ValidationError, match="not a checkpoint"):
        parse_checkpoint_body(body)


@pytest.mark.parametrize("vkey", ["x", "a+b+c", GO_VKEY.replace("c74f20a3", "00000000")])
def test_malformed_verifier_keys(vkey: str) -> None:
    with pytest.raises(ValidationError):
        parse_vkey(vkey)
