"""Ed25519 signed notes and checkpoints in the C2SP formats.

- Signed notes (C2SP signed-note): text ending in a newline, a blank line, then
  signature lines "— <key name> base64(key id || signature)". The key id of an Ed25519
  key is the first four bytes of SHA-256(key name || "\\n" || 0x01 || public key).
- Verifier keys: "<name>+<key id, 8 hex digits>+base64(0x01 || public key)".
- Signing key files hold "PRIVATE+KEY+<name>+<key id>+base64(0x01 || seed)" (the format
  of Go's golang.org/x/mod/sumdb/note), so other tools can read them.
- Checkpoints (C2SP tlog-checkpoint): the note text "<origin>\\n<size>\\n<base64 root>\\n"
  followed by one extension line "time <RFC 3339 UTC>" saying when it was signed.

The signing key lives outside the database; auditors need only the verifier key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from incidents.audit.encoding import decode_base64, decode_hash, parse_size
from incidents.audit.note import SIGNATURE_DASH, parse_note
from incidents.errors import ConfigurationError, ValidationError

ALGORITHM_ED25519 = 0x01
PRIVATE_PREFIX = "PRIVATE+KEY+"
# The names of our own keys: printable ASCII without spaces or '+'. C2SP signed-note
# also allows other Unicode; notes signed by such keys are still read (note.is_key_name).
NAME = re.compile(r"^[!-*,-~]+$")
KEY_ID_HEX = re.compile(r"[0-9a-f]{8}")


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(
        name.encode("utf-8") + b"\n" + bytes([ALGORITHM_ED25519]) + public_key
    ).digest()[:4]


def _public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class Verifier:
    """A public key with its name: checks signatures, never makes them."""

    name: str
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key)

    @property
    def vkey(self) -> str:
        """The verifier key as one line, for auditors."""
        encoded = base64.b64encode(bytes([ALGORITHM_ED25519]) + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


def parse_vkey(text: str) -> Verifier:
    """A verifier key line; ValidationError if it is not one."""
    parts = text.strip().split("+", 2)  # base64 may hold "+" too
    if len(parts) != 3 or not NAME.match(parts[0]):
        raise ValidationError("a verifier key looks like <name>+<8 hex digits>+<base64>")
    name, hex_id, encoded = parts
    if not KEY_ID_HEX.fullmatch(hex_id):
        raise ValidationError("a verifier key's key id is 8 lowercase hex digits")
    raw = decode_base64(encoded, "the verifier key's last part")
    if len(raw) != 33 or raw[0] != ALGORITHM_ED25519:
        raise ValidationError("the verifier key is not an Ed25519 key")
    verifier = Verifier(name, raw[1:])
    if verifier.key_id.hex() != hex_id:
        raise ValidationError("the verifier key's id does not match its name and key")
    return verifier


class Signer:
    """An Ed25519 signing key with its name; loaded from a file outside the database."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        if not NAME.match(name):
            raise ValueError(f"{name!r} cannot be a key name (no spaces or '+')")
        self.name = name
        self._private_key = private_key
        self.verifier = Verifier(name, _public_bytes(private_key.public_key()))

    def sign_note(self, text: str) -> str:
        """The signed note: `text` (ending in a newline), a blank line, one signature line."""
        if not text.endswith("\n"):
            raise ValueError("a note's text ends with a newline")
        signature = self._private_key.sign(text.encode("utf-8"))
        encoded = base64.b64encode(self.verifier.key_id + signature).decode("ascii")
        return f"{text}\n{SIGNATURE_DASH}{self.name} {encoded}\n"

    def skey(self) -> str:
        seed = self._private_key.private_bytes_raw()
        encoded = base64.b64encode(bytes([ALGORITHM_ED25519]) + seed).decode("ascii")
        return f"{PRIVATE_PREFIX}{self.name}+{self.verifier.key_id.hex()}+{encoded}"


def generate_signer(name: str) -> Signer:
    return Signer(name, Ed25519PrivateKey.generate())


def write_signing_key(path: Path, signer: Signer) -> None:
    """Write the key file (mode 0600); refuse to overwrite one."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(signer.skey() + "\n")


def load_signing_key(path: Path) -> Signer:
    """Read a key file; ConfigurationError with one line if it cannot be used."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise ConfigurationError(
            f"audit signing key file {path} does not exist; make one with "
            "`incidents audit keygen PATH`"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not ASCII text"
        raise ConfigurationError(
            f"audit signing key file {path} cannot be read: {reason}"
        ) from None
    parts = text.removeprefix(PRIVATE_PREFIX).split("+", 2)
    if not text.startswith(PRIVATE_PREFIX) or len(parts) != 3 or not NAME.match(parts[0]):
        raise ConfigurationError(
            f"{path} is not an audit signing key (expected PRIVATE+KEY+<name>+<id>+<base64>)"
        )
    name, hex_id, encoded = parts
    try:
        raw = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise ConfigurationError(f"{path}: the signing key is not valid base64") from None
    if len(raw) != 33 or raw[0] != ALGORITHM_ED25519:
        raise ConfigurationError(f"{path}: the signing key is not an Ed25519 key")
    signer = Signer(name, Ed25519PrivateKey.from_private_bytes(raw[1:]))
    if signer.verifier.key_id.hex() != hex_id.lower():
        raise ConfigurationError(f"{path}: the key id does not match the key")
    return signer


# -- notes and checkpoints ---------------------------------------------------------------


class SignedByAnotherKey(ValidationError):
    """The note carries no signature by the key asked about: not forged, just not checkable."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    signed_at: datetime | None = None

    def body(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode("ascii")]
        if self.signed_at is not None:
            lines.append(f"time {_utc_text(self.signed_at)}")
        return "\n".join(lines) + "\n"


def sign_checkpoint(signer: Signer, origin: str, size: int, root: bytes) -> str:
    checkpoint = Checkpoint(origin, size, root, datetime.now(UTC).replace(microsecond=0))
    return signer.sign_note(checkpoint.body())


def open_checkpoint(note: str, verifier: Verifier) -> Checkpoint:
    """The checkpoint in a signed note, once `verifier`'s signature on it checks out.

    ValidationError (one line) for anything else: not a note, not a checkpoint, no
    signature by this key, or a signature that does not verify. Signatures by other keys
    (a witness, a former key) are ignored, as C2SP signed-note requires, even when they
    share the name or the key id (but not both) with `verifier`.
    """
    parsed = parse_note(note)
    found = False
    others: list[str] = []
    for signature in parsed.signatures:
        if signature.name != verifier.name or signature.key_id != verifier.key_id:
            others.append(f"{signature.name}+{signature.key_id.hex()}")
            continue
        if not verifier.verify(parsed.text.encode("utf-8"), signature.signature):
            raise ValidationError(
                f"the checkpoint's signature by {verifier.name} does not verify: it was "
                "altered or signed by another key"
            )
        found = True
    if not found:
        raise SignedByAnotherKey(
            f"the checkpoint carries no signature by the key {verifier.vkey} "
            f"(see `incidents audit public-key`); it is signed by {', '.join(others)}"
        )
    return parse_checkpoint_body(parsed.text)


def parse_checkpoint_body(text: str) -> Checkpoint:
    """A note text in the form of C2SP tlog-checkpoint: at least three non-empty lines
    (origin, tree size, base64 root), then optional extension lines, each non-empty."""
    if not text.endswith("\n"):
        raise ValidationError("not a checkpoint: its text must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise ValidationError("not a checkpoint: it needs an origin, a size and a root hash")
    if any(not line for line in lines):
        raise ValidationError("not a checkpoint: its lines must not be empty")
    if any(ch < " " for line in lines for ch in line):
        raise ValidationError("not a checkpoint: it holds a control character")
    origin, size_text, root_text = lines[:3]
    size = parse_size(size_text, "not a checkpoint: its tree size (the second line)")
    root = decode_hash(root_text, "not a checkpoint: its root hash (the third line)")
    signed_at = None
    for extension in lines[3:]:
        if extension.startswith("time "):
            try:
                signed_at = datetime.strptime(extension[5:], "%Y-%m-%dT%H:%M:%SZ").replace(
                    tzinfo=UTC
                )
            except ValueError:
                signed_at = None
            if signed_at is None or _utc_text(signed_at) != extension[5:]:
                raise ValidationError("the checkpoint's time line is not a UTC time")
    return Checkpoint(origin, size, root, signed_at)


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
