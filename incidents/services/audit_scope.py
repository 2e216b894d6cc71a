"""Which part of the audit log a reader sees: the whole of it for the operator and for an
installation auditor; for any other reader, their own teams' part (`AuditScope`,
incidents/audit/filters.py, says which events that is, and the repository turns it into
SQL).

The part is worked out once per page from who the reader's teams are — their members and
those members' API tokens, one statement — and then held against each event's own
columns, so that another team's users, their e-mails and their logins stay out of an
auditor's pages and answers.
"""

from __future__ import annotations

from incidents.audit.filters import WHOLE_LOG, AuditScope
from incidents.context import Context
from incidents.permissions import Permission, can, readable_teams, sees_whole_audit_log
from incidents.records.kinds import KINDS
from incidents.repositories import accounts as account_queries

# Records that belong to no team (organisations): every team links to them, so every
# reader of the log sees their events, with the actors outside their teams unnamed.
SHARED_TABLES = frozenset(
    kind.table for kind in KINDS if not kind.team_scoped and kind.team_from is None
)


def scope_of(ctx: Context) -> AuditScope:
    """The part of the log `ctx`'s principal sees (checking audit:read is the caller's)."""
    if sees_whole_audit_log(ctx.principal):
        return WHOLE_LOG
    teams = readable_teams(ctx.principal) or frozenset()
    members, tokens = account_queries.members_and_their_tokens(ctx.session, teams)
    return AuditScope(
        teams=frozenset(teams),
        members=members,
        member_tokens=tokens,
        # Administrators see every account on their own pages already.
        every_account=can(ctx.principal, Permission.USERS_MANAGE),
        shared_tables=SHARED_TABLES,
    )
