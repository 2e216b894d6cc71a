"""The password step held between the login form and the second factor: recent, for an
active account with a second factor, and void once the password changes."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from incidents.context import Context
from incidents.db import utcnow
from incidents.models import User
from incidents.services.authentication import (
    PENDING_SECONDS,
    pending_login,
    start_pending_login,
)
from tests.factories import UserFactory


@pytest.fixture
def enrolled(db_session: Session) -> User:
    user: User = UserFactory(totp_enabled_at=utcnow())
    return user


def test_a_recent_password_step_names_its_user(
    enrolled: User, context_for: Callable[..., Context]
) -> None:
    nobody = context_for(None)
    now = time.time()
    pending = start_pending_login(enrolled, "/incidents", now)
    assert pending_login(nobody, pending, now + PENDING_SECONDS - 1) is enrolled
    assert pending_login(nobody, pending, now + PENDING_SECONDS + 1) is None


@pytest.mark.parametrize(
    "held",
    [None, "text", {}, {"user": "not an id", "at": 0}, {"user": None, "at": "soon"}],
    ids=["nothing", "text", "empty", "bad id", "bad time"],
)
def test_anything_else_held_is_no_login(held: object, context_for: Callable[..., Context]) -> None:
    assert pending_login(context_for(None), held) is None


def test_a_password_changed_or_an_account_disabled_voids_the_step(
    enrolled: User, context_for: Callable[..., Context]
) -> None:
    nobody = context_for(None)
    pending = start_pending_login(enrolled, None)
    enrolled.password_changed_at = utcnow()
    assert pending_login(nobody, pending) is None
    pending = start_pending_login(enrolled, None)
    enrolled.is_active = False
    assert pending_login(nobody, pending) is None
