"""Which evidence store an installation uses: the setting `evidence_store` made a store.

"directory" keeps the files in the instance folder (one server, or a shared disk);
"database" keeps them in PostgreSQL, for servers that share nothing else.
`incidents evidence move` copies an installation's files from one to the other.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from incidents.storage.database_store import DatabaseEvidenceStore
from incidents.storage.store import DirectoryEvidenceStore, ListingEvidenceStore

DIRECTORY = "directory"
DATABASE = "database"
STORE_KINDS = (DIRECTORY, DATABASE)


def evidence_store_for(kind: str, folder: Path, engine: Engine) -> ListingEvidenceStore:
    """The store of kind `kind`: the folder `folder`, or the database behind `engine`."""
    if kind == DATABASE:
        return DatabaseEvidenceStore(engine)
    if kind == DIRECTORY:
        return DirectoryEvidenceStore(folder)
    raise ValueError(f"no evidence store of kind {kind!r}")
