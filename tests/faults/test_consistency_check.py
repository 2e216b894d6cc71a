"""The consistency check fails on what a crash must never leave: a stored file cut
short, a record whose data key is gone, a file in the store that is not the store's,
an audit log changed after the fact."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing

import pytest

from incidents.errors import IncidentsError
from tests.faults.world import Installation

pytestmark = pytest.mark.slow

Break = Callable[[Installation], None]


def _sql(installation: Installation, statement: str) -> None:
    with closing(sqlite3.connect(installation.root / "incidents.db")) as connection:
        connection.execute(statement)
        connection.commit()


def _cut_a_stored_file_short(installation: Installation) -> None:
    stored = next(p for p in installation.store.rglob("*") if p.is_file())
    stored.write_bytes(stored.read_bytes()[:-20])


def _lose_a_data_key(installation: Installation) -> None:
    _sql(
        installation,
        "DELETE FROM data_keys WHERE record_table = 'incidents' AND rowid IN "
        "(SELECT rowid FROM data_keys WHERE record_table = 'incidents' LIMIT 1)",
    )


def _leave_a_stray_file(installation: Installation) -> None:
    (installation.store / "ab").mkdir(exist_ok=True)
    (installation.store / "ab" / "half-written.bin").write_bytes(b"\0" * 10)


def _change_the_audit_log(installation: Installation) -> None:
    """As someone with the database file would: past its append-only triggers."""
    with closing(sqlite3.connect(installation.root / "incidents.db")) as connection:
        triggers = connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_events'"
        ).fetchall()
        for (name,) in triggers:
            connection.execute(f'DROP TRIGGER "{name}"')  # names from the schema itself
        connection.execute("UPDATE audit_events SET actor = 'someone else' WHERE id = 1")
        connection.commit()


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (_cut_a_stored_file_short, "does not authenticate"),
        (_lose_a_data_key, "data key is gone"),
        (_leave_a_stray_file, "not an evidence storage key"),
        (_change_the_audit_log, "fails verification"),
    ],
)
def test_the_check_fails_on_damage(
    clone_of: Callable[[str], Installation], damage: Break, named: str
) -> None:
    installation = clone_of("sqlite")
    installation.check()  # whole before the damage
    damage(installation)
    with pytest.raises((AssertionError, IncidentsError), match=named):
        installation.check()
