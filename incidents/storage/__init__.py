"""Where evidence files live: an encrypted-file store, tied to database transactions.

`store` holds the EvidenceStore interface and the directory store under the instance
folder; `database_store` the store in PostgreSQL; `choice` builds the one the setting
`evidence_store` names; `lifecycle` deletes stored files when the transaction that made
them rolls back, or after the one that erased them commits; `spool` keeps uploads
encrypted while the web form is being received. Imports nothing from Flask.
"""

from incidents.storage.store import (
    DirectoryEvidenceStore,
    EvidenceStore,
    EvidenceWriter,
    InvalidStorageKey,
    StoredFileMissing,
    new_storage_key,
)

__all__ = [
    "DirectoryEvidenceStore",
    "EvidenceStore",
    "EvidenceWriter",
    "InvalidStorageKey",
    "StoredFileMissing",
    "new_storage_key",
]
