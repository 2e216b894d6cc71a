"""The installation-auditor grant: given and taken by administrators only (on the user's
admin page, or `incidents users installation-auditor`), never to oneself, to auditors
only, gone with the auditor role; every change audited (the admin page's button:
tests/web/test_installation_auditor_pages.py). On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.cli import users_group
from incidents.context import Context
from incidents.errors import PermissionDenied, ValidationError
from incidents.models import User
from incidents.models.user import UserRole
from incidents.models.vocabularies import Role
from incidents.services import accounts, api_tokens
from incidents.services.audit_grants import set_installation_auditor
from tests.factories import UserFactory
from tests.helpers import count_events, events, invoke

GRANT = AuditAction.USER_INSTALLATION_AUDITOR_GRANT
REVOKE = AuditAction.USER_INSTALLATION_AUDITOR_REVOKE
ContextFor = Callable[..., Context]


def _reloaded(db_session: Session, user: User) -> User:
    db_session.expire_all()
    fresh = db_session.get(User, user.id)
    assert fresh is not None
    return fresh


def test_an_administrator_grants_and_revokes_and_each_change_is_audited(
    context_for: ContextFor, db_session: Session
) -> None:
    admin = UserFactory(role=Role.ADMIN)
    auditor = UserFactory(role=Role.AUDITOR)
    token, _ = api_tokens.create(context_for(auditor), auditor, "reader", ["audit:read"])
    ctx = context_for(admin)
    assert set_installation_auditor(ctx, auditor, True) is True
    assert _reloaded(db_session, auditor).installation_auditor is True
    (granted,) = events(db_session, GRANT, auditor)
    assert granted.actor == admin.email and granted.fields == ["installation_auditor"]
    assert api_tokens.usable_token_count(ctx, auditor) == 0, "the token predates the grant"
    assert set_installation_auditor(ctx, auditor, True) is False, "already one: no event"
    assert count_events(db_session, GRANT, auditor) == 1
    assert set_installation_auditor(ctx, auditor, False) is True
    assert _reloaded(db_session, auditor).installation_auditor is False
    assert count_events(db_session, REVOKE, auditor) == 1
    assert token  # made, then revoked by the grant


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.RESEARCHER, Role.ADVOCACY_LEAD])
def test_only_administrators_may_grant_it(
    context_for: ContextFor, db_session: Session, role: Role
) -> None:
    someone, auditor = UserFactory(role=role), UserFactory(role=Role.AUDITOR)
    with pytest.raises(PermissionDenied):
        set_installation_auditor(context_for(someone), auditor, True)
    assert _reloaded(db_session, auditor).installation_auditor is False
    assert count_events(db_session, GRANT) == 0


def test_nobody_grants_it_to_themselves_and_only_auditors_get_it(
    context_for: ContextFor, db_session: Session
) -> None:
    admin = UserFactory(role=Role.ADMIN)
    admin.roles.append(UserRole(role=Role.AUDITOR))
    db_session.flush()
    with pytest.raises(ValidationError) as yourself:
        set_installation_auditor(context_for(admin), admin, True)
    assert "yourself" in yourself.value.errors["installation_auditor"]
    researcher = UserFactory(role=Role.RESEARCHER)
    with pytest.raises(ValidationError) as not_auditor:
        set_installation_auditor(context_for(admin), researcher, True)
    assert "auditor role first" in not_auditor.value.errors["installation_auditor"]
    assert count_events(db_session, GRANT) == 0


def test_the_grant_goes_with_the_auditor_role(context_for: ContextFor, db_session: Session) -> None:
    admin, auditor = UserFactory(role=Role.ADMIN), UserFactory(role=Role.AUDITOR)
    ctx = context_for(admin)
    set_installation_auditor(ctx, auditor, True)
    accounts.set_roles(ctx, auditor, [Role.RESEARCHER])
    accounts.set_roles(ctx, auditor, [Role.AUDITOR])
    assert _reloaded(db_session, auditor).installation_auditor is False
    assert count_events(db_session, REVOKE, auditor) == 1


def test_the_command_grants_and_revokes_as_the_operator(app: Flask, db_session: Session) -> None:
    auditor = UserFactory(email="whole.log@example.org", role=Role.AUDITOR)
    db_session.flush()
    missing = invoke(app, users_group, "installation-auditor", "whole.log@example.org")
    assert missing.exit_code == 2 and "--grant or --revoke" in missing.output
    granted = invoke(app, users_group, "installation-auditor", "Whole.Log@example.org", "--grant")
    assert granted.exit_code == 0, granted.output
    assert "is an installation auditor" in granted.output
    assert _reloaded(db_session, auditor).installation_auditor is True
    (event,) = events(db_session, GRANT, auditor)
    assert event.actor.startswith("cli:")
    listed = invoke(app, users_group, "list")
    assert "whole.log@example.org\troles=auditor" in listed.output
    assert "\tinstallation-auditor" in listed.output
    again = invoke(app, users_group, "installation-auditor", "whole.log@example.org", "--grant")
    assert again.exit_code == 0 and "nothing changed" in again.output
    revoked = invoke(app, users_group, "installation-auditor", "whole.log@example.org", "--revoke")
    assert revoked.exit_code == 0 and "no longer" in revoked.output
    assert count_events(db_session, REVOKE, auditor) == 1
    nobody = invoke(app, users_group, "installation-auditor", "nobody@example.org", "--grant")
    assert nobody.exit_code != 0 and isinstance(nobody.exception, ValidationError)
