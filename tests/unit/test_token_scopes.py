"""API token scopes as data (incidents/permissions.py): each permission a token may use
belongs to exactly one scope, administration to none, and what a principal holds through
a token is what their roles hold within the token's scopes — never more."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from incidents.db import FieldClass
from incidents.models.vocabularies import Role
from incidents.permissions import (
    SCOPE_PERMISSIONS,
    Operator,
    Permission,
    Scope,
    TokenGrant,
    held_permissions,
    permissions_of,
    readable_field_classes,
    usable_scopes,
)

NEVER_THROUGH_A_TOKEN = {Permission.USERS_MANAGE, Permission.KEYS_MANAGE}


@dataclass(frozen=True)
class Someone:
    """A Subject of the rules, without a database."""

    role_set: frozenset[Role]
    team_ids: frozenset[uuid.UUID] = frozenset()
    token_grant: TokenGrant | None = None


def _through(roles: set[Role], *scopes: Scope) -> Someone:
    return Someone(frozenset(roles), token_grant=TokenGrant(uuid.uuid4(), frozenset(scopes)))


def test_each_permission_is_in_exactly_one_scope_but_administration_in_none() -> None:
    for permission in Permission:
        scopes = [scope for scope, allowed in SCOPE_PERMISSIONS.items() if permission in allowed]
        expected = 0 if permission in NEVER_THROUGH_A_TOKEN else 1
        assert len(scopes) == expected, permission
    assert set(SCOPE_PERMISSIONS) == set(Scope)


def test_the_scopes_named_for_each_area() -> None:
    assert Permission.CASE_WRITE in SCOPE_PERMISSIONS[Scope.CASES_WRITE]
    assert {Permission.FIELDS_SECRET, Permission.EXPORT_FULL} <= SCOPE_PERMISSIONS[Scope.CASES_READ]
    assert SCOPE_PERMISSIONS[Scope.AUDIT_READ] == {Permission.AUDIT_READ}


@pytest.mark.parametrize("role", list(Role))
def test_every_scope_at_once_gives_a_token_what_the_roles_give_but_administration(
    role: Role,
) -> None:
    everything = _through({role}, *Scope)
    assert held_permissions(everything) == permissions_of([role]) - NEVER_THROUGH_A_TOKEN


def test_a_token_holds_roles_within_scopes() -> None:
    reader = _through({Role.RESEARCHER}, Scope.CASES_READ)
    assert Permission.FIELDS_SECRET in held_permissions(reader)
    assert Permission.CASE_WRITE not in held_permissions(reader)
    assert Permission.ADVOCACY_READ not in held_permissions(reader)
    # A scope the roles do not back opens nothing: a lead's cases:read is public fields.
    lead = _through({Role.ADVOCACY_LEAD}, Scope.CASES_READ, Scope.AUDIT_READ)
    assert held_permissions(lead) == {Permission.CASE_READ, Permission.EXPORT_REDACTED}
    assert readable_field_classes(lead) == {FieldClass.PUBLIC}
    # No scope, nothing; no token (a browser session), the roles.
    assert held_permissions(_through({Role.RESEARCHER})) == frozenset()
    assert held_permissions(Someone(frozenset({Role.AUDITOR}))) == permissions_of([Role.AUDITOR])


def test_the_operator_and_nobody() -> None:
    assert held_permissions(Operator("tests")) == frozenset(Permission)
    assert held_permissions(None) == frozenset()
    assert readable_field_classes(Operator("tests")) == frozenset(FieldClass) - {FieldClass.SYSTEM}


def test_the_scopes_each_role_can_use() -> None:
    assert usable_scopes([Role.ADMIN]) == frozenset()
    assert usable_scopes([Role.AUDITOR]) == {
        Scope.CASES_READ,
        Scope.ADVOCACY_READ,
        Scope.AUDIT_READ,
    }
    assert usable_scopes([Role.RESEARCHER, Role.ADVOCACY_LEAD]) == set(Scope) - {Scope.AUDIT_READ}
