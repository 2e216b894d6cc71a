"""The project's own exceptions. Services raise these; web, api and cli translate them."""

from __future__ import annotations


class IncidentsError(Exception):
    """Base class of every error the project raises on purpose."""


class ConfigurationError(IncidentsError):
    """Settings, a key file or the database URL cannot be used; the message says how to fix it."""


class MasterKeyError(IncidentsError):
    """A master key is missing, malformed or unknown."""


class DecryptionError(IncidentsError):
    """A ciphertext failed authentication: wrong key, wrong place, or tampered bytes."""


class NotFound(IncidentsError):
    """The record does not exist or the user may not know that it exists."""


class PermissionDenied(IncidentsError):
    """The user is known to be allowed to see the record but not to do this."""


class ValidationError(IncidentsError):
    """Input that cannot be accepted; `errors` maps field names to messages."""

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or {}


class AuditLogBroken(IncidentsError):
    """The audit log fails verification; the message names the first event that does not fit."""
