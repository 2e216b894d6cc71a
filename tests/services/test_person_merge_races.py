"""Two merges of the same two people the other way round, at the same moment: one is
made, the other refused, never a cycle (each record merged into the other). Each merge
has its own connection, as requests do; the second runs while the first has not
committed yet."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incidents import migrate
from incidents.crypto.keys import MasterKey
from incidents.errors import ValidationError
from incidents.extensions import db
from incidents.models import PersonMerge, User
from incidents.models.vocabularies import Role
from incidents.services import person_merge
from tests import factories
from tests.conftest import BACKENDS, make_test_app
from tests.factories import PersonFactory, TeamFactory, UserFactory
from tests.helpers import context

HOLD_SECONDS = 0.5  # long enough for the second merge to reach the database meanwhile


@pytest.fixture
def racing_app(fresh_database_url: str, tmp_path: Path, master_key: MasterKey) -> Iterator[Flask]:
    app = make_test_app(fresh_database_url, tmp_path / "instance", master_key)
    with app.app_context():
        migrate.upgrade(db.engine)
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()


def _two_people(app: Flask) -> tuple[uuid.UUID, str, str]:
    with app.app_context():
        session = db.session
        factories.bind(context(session, app))
        try:
            team = TeamFactory()
            user = UserFactory(role=Role.RESEARCHER, teams=[team])
            first, second = PersonFactory(team_id=team.id), PersonFactory(team_id=team.id)
            session.commit()
            return user.id, first.reference, second.reference
        finally:
            factories.unbind()


@pytest.mark.parametrize("fresh_database_url", BACKENDS, indirect=True)
def test_opposite_merges_at_once_make_one_merge(racing_app: Flask) -> None:
    user_id, one, other = _two_people(racing_app)
    first_merged = threading.Event()
    outcomes: dict[str, str] = {}
    errors: list[BaseException] = []

    def merge(name: str, kept: str, duplicate: str) -> None:
        try:
            if name == "second":
                first_merged.wait(timeout=10)
            with racing_app.app_context(), Session(db.engine) as session:
                user = session.get(User, user_id)
                try:
                    person_merge.merge(context(session, racing_app, user), kept, duplicate)
                    outcomes[name] = "merged"
                except ValidationError:
                    outcomes[name] = "refused"
                if name == "first":
                    first_merged.set()
                    time.sleep(HOLD_SECONDS)
                session.commit()
        except BaseException as exc:  # reported to the test's thread
            errors.append(exc)
            first_merged.set()

    threads = [
        threading.Thread(target=merge, args=("first", one, other)),
        threading.Thread(target=merge, args=("second", other, one)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert outcomes == {"first": "merged", "second": "refused"}
    with racing_app.app_context(), Session(db.engine) as session:
        active = (
            select(func.count()).select_from(PersonMerge).where(PersonMerge.undone_at.is_(None))
        )
        assert session.scalar(active) == 1
