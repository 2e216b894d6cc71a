"""The installation-auditor grant: an auditor who sees the whole audit log, every team's
events and every account's, instead of their own teams' part (services/audit_scope.py).

Only those who manage accounts give or take it (users:manage, or the operator), and
never to themselves: like a role, it widens what someone sees, so another administrator
must. It is for auditors only, and goes when the auditor role goes. Each change is an
audit event about the user, and ends the user's API tokens, which were made under the
sight the user had before.
"""

from __future__ import annotations

from incidents.audit.actions import AuditAction
from incidents.audit.log import record_event
from incidents.context import Context
from incidents.errors import ValidationError
from incidents.models.user import User
from incidents.models.vocabularies import Role
from incidents.permissions import Permission, ensure
from incidents.services import api_tokens

FIELD = "installation_auditor"
TOKENS_REASON = "installation auditor"  # why the user's API tokens were revoked


def set_installation_auditor(ctx: Context, user: User, granted: bool) -> bool:
    """Make `user` an installation auditor (`granted`) or no longer one; returns False
    when they already were what was asked."""
    ensure(ctx.principal, Permission.USERS_MANAGE)
    if user.installation_auditor == granted:
        return False
    if granted:
        if ctx.actor.user_id is not None and ctx.actor.user_id == user.id:
            raise ValidationError.on(
                FIELD,
                "You cannot make yourself an installation auditor: another administrator must.",
            )
        if Role.AUDITOR not in user.role_set:
            raise ValidationError.on(
                FIELD,
                f"{user.email} is not an auditor: give them the auditor role first; the grant "
                "widens what an auditor sees of the audit log.",
            )
    _record(ctx, user, granted)
    return True


def drop_with_the_auditor_role(ctx: Context, user: User) -> None:
    """The grant goes with the auditor role (accounts.set_roles), so that giving the role
    back later does not silently bring back the whole log."""
    if user.installation_auditor and Role.AUDITOR not in user.role_set:
        _record(ctx, user, False)


def _record(ctx: Context, user: User, granted: bool) -> None:
    user.installation_auditor = granted
    api_tokens.revoke_all(ctx, user, TOKENS_REASON)
    record_event(
        ctx.session,
        ctx.actor,
        AuditAction.USER_INSTALLATION_AUDITOR_GRANT
        if granted
        else AuditAction.USER_INSTALLATION_AUDITOR_REVOKE,
        user,
        fields=[FIELD],
    )
    ctx.session.flush()
