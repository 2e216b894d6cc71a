"""The erasure-reason migration: existing tombstones become "other" with no note (a
migration has no key to seal their free text with), and a downgrade gives back text."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from incidents import migrate

BOTH_BACKENDS = pytest.mark.parametrize(
    "fresh_database_url",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)
BEFORE = "9e5dbc5d39f6"
CODES = "f56c5d55c6d4"


def _columns(engine: Engine) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns("erasures")}


def _uuid(engine: Engine, made: uuid.UUID | None = None) -> object:
    made = made or uuid.uuid4()
    return made.hex if engine.dialect.name == "sqlite" else made


AT = datetime(2026, 1, 2, tzinfo=UTC).isoformat(sep=" ")


def _team(engine: Engine) -> uuid.UUID:
    team = uuid.uuid4()
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO teams (id, slug, name, created_at) VALUES (:id, 't', 'T', :at)"),
            {"id": _uuid(engine, team), "at": AT},
        )
    return team


def _insert(engine: Engine, team: uuid.UUID, **values: str) -> None:
    names = "".join(f", {name}" for name in values)
    places = "".join(f", :{name}" for name in values)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO erasures (id, record_table, record_id, team_id, erased_at, "
                f"erased_by{names}) VALUES (:id, 'persons', :r, :team, :at, 'cli:x'{places})"
            ),
            {
                "id": _uuid(engine),
                "r": _uuid(engine),
                "team": _uuid(engine, team),
                "at": AT,
                **values,
            },
        )


@BOTH_BACKENDS
def test_existing_reasons_become_other_and_come_back_as_text(engine: Engine) -> None:
    migrate.upgrade(engine, BEFORE)
    team = _team(engine)
    _insert(engine, team, reason="Ahmed's family asked")
    migrate.upgrade(engine, CODES)
    assert "reason" not in _columns(engine), "the free text is not kept in the clear"
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT reason_code, reason_note FROM erasures")).all()
    assert [tuple(row) for row in rows] == [("other", None)]
    with pytest.raises(IntegrityError):  # only the codes are stored
        _insert(engine, team, reason_code="asked")
    migrate.downgrade(engine, BEFORE)
    assert {"reason_code", "reason_note"}.isdisjoint(_columns(engine))
    with engine.connect() as connection:
        reasons = connection.execute(text("SELECT reason FROM erasures")).scalars().all()
    assert reasons == ["other"]
