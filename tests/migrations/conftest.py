"""Fixtures of the migration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from incidents.extensions import make_engine


@pytest.fixture
def engine(fresh_database_url: str) -> Iterator[Engine]:
    """An engine on an empty database, made the way the application makes its engine."""
    made = make_engine(fresh_database_url)
    try:
        yield made
    finally:
        made.dispose()
