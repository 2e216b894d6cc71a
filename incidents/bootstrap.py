"""What an application needs from its instance folder: master keys and the secret key.

Development may generate both in the instance folder (mode 0600) and says so loudly on
stderr; production refuses to start unless both are configured and neither is a
development one.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
from pathlib import Path

from incidents.audit.signing import (
    Signer,
    generate_signer,
    load_signing_key,
    write_signing_key,
)
from incidents.crypto.keys import (
    StaticKeyProvider,
    generate_master_key,
    load_key_file,
    parse_key_variable,
    write_key_file,
)
from incidents.errors import ConfigurationError, MasterKeyError
from incidents.settings import Settings

log = logging.getLogger(__name__)

DEV_KEY_FILE = "master.key"
DEV_SECRET_FILE = "secret_key"  # noqa: S105 (a file name)
DEV_SECRET_MARKER = "dev-"  # noqa: S105 (a prefix, not a secret)
DEV_AUDIT_KEY_FILE = "audit-signing.key"


def _warn(message: str) -> None:
    print(f"WARNING: {message}", file=sys.stderr)


def ensure_instance_dir(settings: Settings) -> Path:
    path = settings.instance_dir
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise ConfigurationError(
            f"instance folder {path} cannot be created: {exc.strerror}; "
            "set INCIDENTS_INSTANCE_PATH to a writable folder"
        ) from None
    return path


def load_key_provider(settings: Settings) -> StaticKeyProvider:
    """Master keys from the environment, the key file, or (development) a generated file."""
    try:
        if settings.master_key:
            provider = parse_key_variable(settings.master_key)
        elif settings.master_key_file:
            provider = load_key_file(Path(settings.master_key_file))
        elif settings.is_production:
            raise ConfigurationError("production needs master keys: set INCIDENTS_MASTER_KEY_FILE")
        else:
            provider = _development_key_file(settings)
    except MasterKeyError as exc:
        raise ConfigurationError(str(exc)) from None
    if settings.is_production and provider.is_development:
        raise ConfigurationError(
            f"{provider.origin} holds a development key; production needs keys made by "
            "`incidents keys generate`"
        )
    return provider


def _development_key_file(settings: Settings) -> StaticKeyProvider:
    path = ensure_instance_dir(settings) / DEV_KEY_FILE
    if not path.exists():
        key = generate_master_key(development=True)
        write_key_file(path, [key], key.key_id)
        _warn(
            f"generated a DEVELOPMENT master key at {path} (mode 0600). Anyone who can read "
            "this file can decrypt the database. Never use it for real data."
        )
    return load_key_file(path)


def load_secret_key(settings: Settings) -> str:
    """The Flask secret key: configured, or (development) generated in the instance folder."""
    if settings.secret_key:
        if settings.is_production and settings.secret_key.startswith(DEV_SECRET_MARKER):
            raise ConfigurationError(
                "INCIDENTS_SECRET_KEY is a development secret key; generate a new one"
            )
        return settings.secret_key
    if settings.is_production:
        raise ConfigurationError("production needs a secret key: set INCIDENTS_SECRET_KEY")
    path = ensure_instance_dir(settings) / DEV_SECRET_FILE
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(DEV_SECRET_MARKER + secrets.token_urlsafe(48))
        _warn(f"generated a DEVELOPMENT secret key at {path}.")
    return path.read_text(encoding="ascii").strip()


def load_audit_signer(settings: Settings, generate: bool = True) -> Signer | None:
    """The key that signs audit checkpoints: configured, or (development) generated.

    With `generate` false, development answers None rather than write a key file nobody
    asked for yet (create_app; the first command or page that signs generates it).
    """
    if settings.audit_signing_key_file:
        return load_signing_key(Path(settings.audit_signing_key_file))
    if settings.is_production:
        raise ConfigurationError(
            "production needs an audit signing key: set INCIDENTS_AUDIT_SIGNING_KEY_FILE to a "
            "file made by `incidents audit keygen PATH`"
        )
    path = settings.instance_dir / DEV_AUDIT_KEY_FILE
    if not path.exists():
        if not generate:
            return None
        write_signing_key(
            ensure_instance_dir(settings) / DEV_AUDIT_KEY_FILE,
            generate_signer(settings.audit_log_origin),
        )
        _warn(
            f"generated a DEVELOPMENT audit signing key at {path} (mode 0600). Checkpoints "
            "it signs prove nothing to anyone who can read this file. Never use it for real data."
        )
    return load_signing_key(path)
