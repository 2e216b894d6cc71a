"""Master key status: which keys are held and how many data keys each wraps."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from incidents.crypto.keys import KeyProvider
from incidents.repositories.data_keys import count_by_master_key


@dataclass(frozen=True)
class KeyStatus:
    key_id: str
    state: str  # primary, held, or missing (data keys wrapped by a key no longer held)
    data_keys: int


def key_status(session: Session, provider: KeyProvider) -> list[KeyStatus]:
    counts = count_by_master_key(session)
    rows = [
        KeyStatus(key_id, "primary" if index == 0 else "held", counts.pop(key_id, 0))
        for index, key_id in enumerate(provider.key_ids())
    ]
    rows += [KeyStatus(key_id, "missing", count) for key_id, count in sorted(counts.items())]
    return rows
