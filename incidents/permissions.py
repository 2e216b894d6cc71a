"""Who may do what: roles → permissions and permissions → field classes, as data.

Every view, API endpoint, export and CLI command asks here. Object-level rule: a record
of a team the user does not belong to does not exist for that user (NotFound, so a
404, never a 403 that would confirm it exists).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable
from typing import Any, Protocol

from incidents.db import FieldClass
from incidents.errors import NotFound, PermissionDenied
from incidents.models.vocabularies import Role


class Permission(enum.StrEnum):
    CASE_READ = "case:read"  # see case records of one's teams (public fields at least)
    CASE_WRITE = "case:write"  # create and edit incidents, reports, people, sources, evidence
    FIELDS_RESTRICTED = "fields:restricted"  # read restricted fields
    FIELDS_SECRET = "fields:secret"  # noqa: S105 — decrypt secret fields of one's teams' records
    ADVOCACY_WRITE = "advocacy:write"
    PROVENANCE_READ = "provenance:read"
    AUDIT_READ = "audit:read"
    USERS_MANAGE = "users:manage"
    EXPORT_FULL = "export:full"
    EXPORT_INTERNAL = "export:internal"
    EXPORT_REDACTED = "export:redacted"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.RESEARCHER: frozenset(
        {
            Permission.CASE_READ,
            Permission.CASE_WRITE,
            Permission.FIELDS_RESTRICTED,
            Permission.FIELDS_SECRET,
            Permission.EXPORT_FULL,
            Permission.EXPORT_INTERNAL,
            Permission.EXPORT_REDACTED,
        }
    ),
    Role.ADVOCACY_LEAD: frozenset(
        {Permission.CASE_READ, Permission.ADVOCACY_WRITE, Permission.EXPORT_REDACTED}
    ),
    Role.AUDITOR: frozenset(
        {
            Permission.CASE_READ,
            Permission.FIELDS_RESTRICTED,
            Permission.PROVENANCE_READ,
            Permission.AUDIT_READ,
            Permission.EXPORT_INTERNAL,
        }
    ),
    # Separation of duties: running the installation gives no sight of case data.
    Role.ADMIN: frozenset({Permission.USERS_MANAGE}),
}

# The field classes each permission opens; public fields come with reading at all.
PERMISSION_FIELD_CLASSES: dict[Permission, frozenset[FieldClass]] = {
    Permission.CASE_READ: frozenset({FieldClass.PUBLIC}),
    Permission.FIELDS_RESTRICTED: frozenset({FieldClass.RESTRICTED}),
    Permission.FIELDS_SECRET: frozenset({FieldClass.SECRET}),
}


class Subject(Protocol):
    """What the rules need to know of a user."""

    @property
    def role_set(self) -> frozenset[Role]: ...

    @property
    def team_ids(self) -> frozenset[uuid.UUID]: ...


def permissions_of(roles: Iterable[Role]) -> frozenset[Permission]:
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS[role]
    return frozenset(granted)


def _in_team(user: Subject, record: Any) -> bool:
    return getattr(record, "team_id", None) in user.team_ids


def can(user: Subject | None, permission: Permission, record: Any = None) -> bool:
    """True when `user` holds `permission` (for `record`, when given: same team)."""
    if user is None or permission not in permissions_of(user.role_set):
        return False
    return record is None or _in_team(user, record)


def ensure(user: Subject | None, permission: Permission, record: Any = None) -> None:
    """Raise NotFound for another team's record, PermissionDenied for a missing permission."""
    if record is not None and (user is None or not _in_team(user, record)):
        raise NotFound("no such record")
    if not can(user, permission, record):
        raise PermissionDenied(f"this needs the permission {permission.value}")


def visible_field_classes(user: Subject, record: Any) -> frozenset[FieldClass]:
    """The field classes of `record` that `user` may read; NotFound for another team."""
    ensure(user, Permission.CASE_READ, record)
    classes: set[FieldClass] = set()
    for permission in permissions_of(user.role_set):
        classes |= PERMISSION_FIELD_CLASSES.get(permission, frozenset())
    return frozenset(classes)
