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


class Erased(NotFound):
    """The record was erased: only its tombstone is left. Where nothing more is said, it
    is as if there were no record."""

    def __init__(self, reference: str) -> None:
        super().__init__(f"{reference} was erased")
        self.reference = reference


class PermissionDenied(IncidentsError):
    """The user is known to be allowed to see the record but not to do this."""


class ValidationError(IncidentsError):
    """Input that cannot be accepted.

    `errors` maps field names to what to do instead, each a full sentence ("Enter a
    title."), for a form to show beside its field; the message is one line for the
    command line. `on` and `of` build both from the same sentences.
    """

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or {}

    @classmethod
    def on(cls, field: str, message: str) -> ValidationError:
        """One field's problem; the message is the same sentence."""
        return cls(message, {field: message})

    @classmethod
    def of(cls, errors: dict[str, str]) -> ValidationError:
        """Several fields' problems; the message names each field."""
        return cls(" ".join(f"{name}: {message}" for name, message in errors.items()), errors)


class EditConflict(IncidentsError):
    """Someone changed the record since the editor opened it (its lock version moved on).

    Carries both versions — the one edited from and the one stored now (None when a writer
    got in at the very moment of saving, so the stored one is not known yet) — and what
    was typed, so that a page can show what is stored beside what was typed and lose
    neither.
    """

    def __init__(
        self,
        reference: str,
        edited_version: int,
        current_version: int | None,
        submitted: dict[str, object],
    ) -> None:
        now = f" (version {current_version})" if current_version is not None else ""
        super().__init__(
            f"{reference} was changed by someone else{now} after you opened version "
            f"{edited_version}; nothing was saved"
        )
        self.reference = reference
        self.edited_version = edited_version
        self.current_version = current_version
        self.submitted = submitted


class AuditLogBroken(IncidentsError):
    """The audit log fails verification; the message names the first event that does not fit."""


class StorageFull(IncidentsError):
    """A file could not be stored for lack of disk space; nothing of it was kept."""

    def __init__(self, what: str = "the file") -> None:
        super().__init__(
            f"Not enough disk space to store {what}; nothing was saved. "
            "Ask an administrator to free space on the server, then try again."
        )
