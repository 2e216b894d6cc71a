"""Who may do what: roles → permissions and permissions → field classes, as data.

Every view, API endpoint, export and CLI command asks here. Object-level rule: a record
of a team the user does not belong to does not exist for that user (NotFound, so a
404, never a 403 that would confirm it exists).

A user acting through an API token holds only what the token's scopes allow of what
their roles hold (`held_permissions`): every check below goes through it, so a service
needs no check of its own for tokens.
"""

from __future__ import annotations

import enum
import getpass
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from incidents.db import FieldClass
from incidents.errors import NotFound, PermissionDenied
from incidents.models.vocabularies import Role


class Permission(enum.StrEnum):
    CASE_READ = "case:read"  # see case records of one's teams (public fields at least)
    CASE_WRITE = "case:write"  # create and edit incidents, reports, people, sources, evidence
    FIELDS_RESTRICTED = "fields:restricted"  # read restricted fields
    FIELDS_SECRET = "fields:secret"  # noqa: S105 — decrypt secret fields of one's teams' records
    ADVOCACY_READ = "advocacy:read"  # read advocacy working fields (priorities, follow-ups…)
    ADVOCACY_WRITE = "advocacy:write"  # create and edit actions, campaigns, responses, links
    PROVENANCE_READ = "provenance:read"
    AUDIT_READ = "audit:read"
    USERS_MANAGE = "users:manage"
    EXPORT_FULL = "export:full"
    EXPORT_INTERNAL = "export:internal"
    EXPORT_REDACTED = "export:redacted"
    # No role holds this: master keys are the operator's, at the command line.
    KEYS_MANAGE = "keys:manage"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.RESEARCHER: frozenset(
        {
            Permission.CASE_READ,
            Permission.CASE_WRITE,
            Permission.FIELDS_RESTRICTED,
            Permission.FIELDS_SECRET,
            Permission.ADVOCACY_READ,
            Permission.EXPORT_FULL,
            Permission.EXPORT_INTERNAL,
            Permission.EXPORT_REDACTED,
        }
    ),
    Role.ADVOCACY_LEAD: frozenset(
        {
            Permission.CASE_READ,
            Permission.ADVOCACY_READ,
            Permission.ADVOCACY_WRITE,
            Permission.EXPORT_REDACTED,
        }
    ),
    Role.AUDITOR: frozenset(
        {
            Permission.CASE_READ,
            Permission.FIELDS_RESTRICTED,
            Permission.ADVOCACY_READ,
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
    # Advocacy leads' own records, without any restricted or secret field of a case.
    Permission.ADVOCACY_READ: frozenset({FieldClass.ADVOCACY}),
}


class Scope(enum.StrEnum):
    """What a personal API token may be used for, per area, reading or writing."""

    CASES_READ = "cases:read"
    CASES_WRITE = "cases:write"
    ADVOCACY_READ = "advocacy:read"
    ADVOCACY_WRITE = "advocacy:write"
    AUDIT_READ = "audit:read"


# The permissions each scope lets a token use, of those its user's roles hold. Managing
# users and keys is in no scope: a token never administers, whoever it belongs to.
SCOPE_PERMISSIONS: dict[Scope, frozenset[Permission]] = {
    Scope.CASES_READ: frozenset(
        {
            Permission.CASE_READ,
            Permission.FIELDS_RESTRICTED,
            Permission.FIELDS_SECRET,
            Permission.PROVENANCE_READ,
            Permission.EXPORT_FULL,
            Permission.EXPORT_INTERNAL,
            Permission.EXPORT_REDACTED,
        }
    ),
    Scope.CASES_WRITE: frozenset({Permission.CASE_WRITE}),
    Scope.ADVOCACY_READ: frozenset({Permission.ADVOCACY_READ}),
    Scope.ADVOCACY_WRITE: frozenset({Permission.ADVOCACY_WRITE}),
    Scope.AUDIT_READ: frozenset({Permission.AUDIT_READ}),
}


@dataclass(frozen=True)
class TokenGrant:
    """The API token a user is acting through in one request: which one (for the audit
    log) and its scopes. Attached to the User loaded for that request only."""

    token_id: uuid.UUID
    scopes: frozenset[Scope]

    @property
    def permissions(self) -> frozenset[Permission]:
        """Everything the scopes allow; the user's roles narrow it further."""
        allowed: set[Permission] = set()
        for scope in self.scopes:
            allowed |= SCOPE_PERMISSIONS[scope]
        return frozenset(allowed)


class Subject(Protocol):
    """What the rules need to know of a user."""

    @property
    def role_set(self) -> frozenset[Role]: ...

    @property
    def team_ids(self) -> frozenset[uuid.UUID]: ...

    @property
    def token_grant(self) -> TokenGrant | None:
        """The API token acting for the user, or None (a browser session)."""
        ...

    @property
    def installation_auditor(self) -> bool:
        """Granted the whole audit log by an administrator (`sees_whole_audit_log`)."""
        ...


class TeamScoped(Protocol):
    """A case record: it belongs to exactly one team."""

    @property
    def team_id(self) -> uuid.UUID: ...


@dataclass(frozen=True)
class Operator:
    """The person at the command line, audited by name.

    Holding the key file and the database already gives full power over the data, so the
    operator holds every permission in every team; saying so explicitly keeps `None`
    meaning nobody, everywhere.
    """

    name: str

    @classmethod
    def from_environment(cls) -> Operator:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):
            name = "unknown"
        return cls(name)

    @property
    def label(self) -> str:
        return f"cli:{self.name}"


Principal = Subject | Operator


# What a duress session loses besides its teams (incidents/services/duress.py): the
# powers that reach past any team — the audit log (which records the duress login) and
# managing accounts (a new account would bring the teams back).
BEYOND_TEAMS = frozenset({Permission.AUDIT_READ, Permission.USERS_MANAGE})


def permissions_of(roles: Iterable[Role]) -> frozenset[Permission]:
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS[role]
    return frozenset(granted)


def usable_scopes(roles: Iterable[Role]) -> frozenset[Scope]:
    """The scopes that would let a token of a user with `roles` do anything at all."""
    held = permissions_of(roles)
    return frozenset(scope for scope, allowed in SCOPE_PERMISSIONS.items() if allowed & held)


def held_permissions(principal: Principal | None) -> frozenset[Permission]:
    """What `principal` may do: every permission for the operator, none for nobody, the
    union of a user's roles — and, through an API token, only the part of that union its
    scopes allow, so a token never grants more than its user holds, nor outlives a role."""
    if principal is None:
        return frozenset()
    if isinstance(principal, Operator):
        return frozenset(Permission)
    held = permissions_of(principal.role_set)
    if getattr(principal, "under_duress", False):
        held -= BEYOND_TEAMS
    grant = principal.token_grant
    return held if grant is None else held & grant.permissions


def _holds(principal: Principal | None, permission: Permission) -> bool:
    return permission in held_permissions(principal)


def _in_team(principal: Principal | None, team_id: uuid.UUID | None) -> bool:
    if principal is None:
        return False
    return isinstance(principal, Operator) or team_id in principal.team_ids


def can(
    principal: Principal | None, permission: Permission, record: TeamScoped | None = None
) -> bool:
    """True when `principal` holds `permission` (for `record`, when given: in its team)."""
    return _holds(principal, permission) and (record is None or _in_team(principal, record.team_id))


def can_in_team(principal: Principal | None, permission: Permission, team_id: uuid.UUID) -> bool:
    """True when `principal` holds `permission` for the records of the team `team_id`."""
    return _holds(principal, permission) and _in_team(principal, team_id)


def ensure(
    principal: Principal | None, permission: Permission, record: TeamScoped | None = None
) -> None:
    """Raise NotFound for another team's record, PermissionDenied for a missing permission."""
    if record is None:
        _ensure_held(principal, permission)
    else:
        ensure_in_team(principal, permission, record.team_id)


def ensure_in_team(principal: Principal | None, permission: Permission, team_id: uuid.UUID) -> None:
    """As `ensure`, for what is about to be created in the team `team_id`."""
    if not _in_team(principal, team_id):
        raise NotFound("no such record")
    _ensure_held(principal, permission)


def _ensure_held(principal: Principal | None, permission: Permission) -> None:
    if not _holds(principal, permission):
        raise PermissionDenied(f"this needs the permission {permission.value}")


def readable_teams(principal: Principal | None) -> frozenset[uuid.UUID] | None:
    """The teams whose records `principal` may see: a user's own, none for nobody, and
    None — no limit — for the operator."""
    if isinstance(principal, Operator):
        return None
    return frozenset() if principal is None else principal.team_ids


def sees_whole_audit_log(principal: Principal | None) -> bool:
    """Whether `principal` reads every event of the audit log: the operator, and a reader
    of the log an administrator made an installation auditor. Any other reader sees the
    events of their own teams and accounts (incidents/services/audit_scope.py)."""
    if isinstance(principal, Operator):
        return True
    return (
        principal is not None
        and _holds(principal, Permission.AUDIT_READ)
        and principal.installation_auditor
    )


def readable_field_classes(principal: Principal | None) -> frozenset[FieldClass]:
    """The field classes `principal` may read in the records of their teams (the
    operator: every class but system, which is never data)."""
    classes: set[FieldClass] = set()
    for permission in held_permissions(principal):
        classes |= PERMISSION_FIELD_CLASSES.get(permission, frozenset())
    return frozenset(classes)


def visible_field_classes(principal: Principal | None, record: TeamScoped) -> frozenset[FieldClass]:
    """The field classes of `record` that `principal` may read; NotFound for another team."""
    ensure(principal, Permission.CASE_READ, record)
    return readable_field_classes(principal)
