"""Administration: users, their roles and teams, and teams (users:manage only).

Administrators see accounts here, never case records. Every change goes through the
accounts and two-factor services, which check the permission and audit the change; the
views parse the forms and say what changed. Changing who someone is or what they may do
(roles, password, second factor, disabling) asks for a recent password entry first, and
so does the page that offers those forms.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from incidents.errors import NotFound
from incidents.models.organisation import Team
from incidents.models.user import User
from incidents.models.vocabularies import Role, label
from incidents.permissions import Permission, can
from incidents.services import accounts, api_tokens, audit_grants, duress, sessions, two_factor
from incidents.web.admin.forms import (
    PASSWORD_HINT,
    ROLE_HINT,
    TEAM_HINT,
    AccessForm,
    InstallationAuditorForm,
    NewTeamForm,
    NewUserForm,
    SetPasswordForm,
)
from incidents.web.boundary import begin_session, context, current_account, session_policy
from incidents.web.forms import REFUSED, ActionForm, done, submit
from incidents.web.security import recent_login_required

blueprint = Blueprint("admin", __name__, url_prefix="/admin")


@blueprint.before_request
def _only_administrators() -> None:
    accounts.ensure_manager(context())


@blueprint.context_processor
def _hints() -> dict[str, str]:
    return {"password_hint": PASSWORD_HINT, "role_hint": ROLE_HINT, "team_hint": TEAM_HINT}


def _user_or_404(user_id: uuid.UUID) -> User:
    user = accounts.user_by_id(context(), user_id)
    if user is None:
        raise NotFound(str(user_id))
    return user


def _team_choices(form: AccessForm) -> list[Team]:
    teams = accounts.all_teams(context())
    form.teams.choices = [(t.slug, t.name) for t in teams]
    return teams


def _names(values: list[str]) -> str:
    return ", ".join(values) or "none"


def _keep_this_browser_logged_in(user: User) -> None:
    """An administrator who changed their own account ended their own sessions too;
    this browser starts a new one, as after changing one's own password."""
    if user.id == current_account().id:
        begin_session(user)


def _after_change(user: User) -> Response:
    if user.id == current_account().id and not can(user, Permission.USERS_MANAGE):
        return redirect(url_for("incidents.index"))
    return redirect(url_for("admin.user_detail", user_id=user.id))


# -- users ------------------------------------------------------------------------------


@blueprint.route("/users")
def users() -> str:
    ctx = context()
    return render_template(
        "admin/users.html", users=accounts.all_users(ctx), locked=duress.locked_accounts(ctx)
    )


@blueprint.route("/users/new", methods=["GET", "POST"])
@recent_login_required  # a new account may be given any role and team
def new_user() -> str | Response | tuple[str, int]:
    form = NewUserForm()
    teams = _team_choices(form)
    outcome = submit(
        form,
        lambda: accounts.create_user(
            context(),
            form.email.data,
            form.display_name.data,
            form.password.data,
            roles=[Role(value) for value in form.roles.data],
            teams=[t for t in teams if t.slug in form.teams.data],
        ),
    )
    if outcome.accepted:
        user = outcome.result()
        return done(f"Created the account {user.email}.", "admin.user_detail", user_id=user.id)
    return render_template("admin/new_user.html", form=form), outcome.status


def _render_user(
    user: User,
    access_form: AccessForm | None = None,
    password_form: SetPasswordForm | None = None,
    status: int = 200,
    auditor_form: InstallationAuditorForm | None = None,
) -> tuple[str, int]:
    if access_form is None:
        access_form = AccessForm(
            formdata=None,
            roles=sorted(r.value for r in user.role_set),
            teams=sorted(m.team.slug for m in user.memberships),
        )
        _team_choices(access_form)
    return render_template(
        "admin/user.html",
        user=user,
        access_form=access_form,
        password_form=password_form or SetPasswordForm(formdata=None),
        action_form=ActionForm(),
        auditor_form=auditor_form or InstallationAuditorForm(formdata=None),
        open_sessions=len(sessions.open_sessions(context(), user, session_policy())),
        api_tokens_in_use=api_tokens.usable_token_count(context(), user),
        is_self=user.id == current_account().id,
    ), status


@blueprint.route("/users/<uuid:user_id>", methods=["GET", "POST"])
@recent_login_required
def user_detail(user_id: uuid.UUID) -> Response | tuple[str, int]:
    user = _user_or_404(user_id)
    form = AccessForm()
    if not form.is_submitted():
        return _render_user(user)
    teams = _team_choices(form)
    roles_before = sorted(label(r) for r in user.role_set)

    def change() -> tuple[bool, bool]:
        ctx = context()
        roles = accounts.set_roles(ctx, user, [Role(value) for value in form.roles.data])
        members = accounts.set_teams(ctx, user, [t for t in teams if t.slug in form.teams.data])
        return roles, members

    outcome = submit(form, change)
    if not outcome.accepted:
        return _render_user(user, access_form=form, status=REFUSED)
    roles_changed, teams_changed = outcome.result()
    if roles_changed:
        _keep_this_browser_logged_in(user)
        roles_after = sorted(label(r) for r in user.role_set)
        flash(
            f"Roles of {user.email}: {_names(roles_before)} → {_names(roles_after)}. "
            "Every session of theirs has ended.",
            "info",
        )
    if teams_changed:
        names = sorted(m.team.name for m in user.memberships)
        flash(f"Teams of {user.email} are now: {_names(names)}.", "info")
    if not (roles_changed or teams_changed):
        flash("Nothing changed.", "info")
    return _after_change(user)


@blueprint.route("/users/<uuid:user_id>/disable", methods=["POST"])
@recent_login_required
def disable_user(user_id: uuid.UUID) -> Response:
    # Buttons carry only the CSRF token, which CSRFProtect checked before the view.
    user = _user_or_404(user_id)
    outcome = submit(ActionForm(), lambda: accounts.disable_user(context(), user))
    if not outcome.accepted:
        return redirect(url_for("admin.user_detail", user_id=user_id))
    return done(
        f"Disabled {user.email}: they cannot log in and their sessions ended.",
        "admin.user_detail",
        user_id=user_id,
    )


@blueprint.route("/users/<uuid:user_id>/enable", methods=["POST"])
@recent_login_required
def enable_user(user_id: uuid.UUID) -> Response:
    user = _user_or_404(user_id)
    accounts.enable_user(context(), user)
    return done(
        f"Enabled {user.email}: they can log in again.", "admin.user_detail", user_id=user_id
    )


@blueprint.route("/users/<uuid:user_id>/unlock", methods=["POST"])
@recent_login_required
def unlock_user(user_id: uuid.UUID) -> Response:
    """The password locked by a duress login works again (once the person is safe)."""
    user = _user_or_404(user_id)
    outcome = submit(ActionForm(), lambda: duress.unlock(context(), user))
    if outcome.accepted and outcome.result():
        message = f"Unlocked {user.email}: their password works again."
    else:
        message = f"The password of {user.email} is not locked; nothing to unlock."
    return done(message, "admin.user_detail", user_id=user_id)


@blueprint.route("/users/<uuid:user_id>/installation-auditor", methods=["POST"])
@recent_login_required
def installation_auditor(user_id: uuid.UUID) -> Response | tuple[str, int]:
    """Let an auditor see the whole audit log, every team's, or only their teams' again."""
    user = _user_or_404(user_id)
    form = InstallationAuditorForm()
    granted = form.installation_auditor.data == "grant"
    outcome = submit(form, lambda: audit_grants.set_installation_auditor(context(), user, granted))
    if not outcome.accepted:
        return _render_user(user, auditor_form=form, status=REFUSED)
    if not outcome.result():
        message = "Nothing changed."
    elif granted:
        message = f"{user.email} is an installation auditor: they see the whole audit log."
    else:
        message = f"{user.email} sees their teams' part of the audit log again."
    return done(message, "admin.user_detail", user_id=user_id)


@blueprint.route("/users/<uuid:user_id>/two-factor/reset", methods=["POST"])
@recent_login_required
def reset_two_factor(user_id: uuid.UUID) -> Response:
    user = _user_or_404(user_id)
    if not two_factor.reset(context(), user):
        message = f"{user.email} has no second factor; nothing to reset."
    else:
        _keep_this_browser_logged_in(user)
        message = (
            f"Removed the second factor of {user.email} and ended their sessions. They set "
            "up a new one at their next login."
        )
    return done(message, "admin.user_detail", user_id=user_id)


@blueprint.route("/users/<uuid:user_id>/api-tokens/revoke", methods=["POST"])
@recent_login_required
def revoke_api_tokens(user_id: uuid.UUID) -> Response:
    """Every API token of the user stops working (a lost laptop, a leaked token)."""
    user = _user_or_404(user_id)
    outcome = submit(
        ActionForm(),
        lambda: api_tokens.revoke_all(context(), user, api_tokens.RevokeReason.ADMINISTRATOR),
    )
    if not outcome.accepted:
        return redirect(url_for("admin.user_detail", user_id=user_id))
    count = outcome.result()
    return done(
        f"Revoked {count} API token{'s' if count != 1 else ''} of {user.email}.",
        "admin.user_detail",
        user_id=user_id,
    )


@blueprint.route("/users/<uuid:user_id>/password", methods=["POST"])
@recent_login_required
def set_password(user_id: uuid.UUID) -> Response | tuple[str, int]:
    user = _user_or_404(user_id)
    form = SetPasswordForm()
    outcome = submit(form, lambda: accounts.set_password(context(), user, form.password.data))
    if not outcome.accepted:
        return _render_user(user, password_form=form, status=REFUSED)
    _keep_this_browser_logged_in(user)
    return done(
        f"Set a new password for {user.email} and ended their sessions.",
        "admin.user_detail",
        user_id=user_id,
    )


# -- teams ------------------------------------------------------------------------------


@blueprint.route("/teams")
def teams() -> str:
    ctx = context()
    return render_template(
        "admin/teams.html",
        teams=accounts.all_teams(ctx),
        counts=accounts.team_member_counts(ctx),
    )


@blueprint.route("/teams/new", methods=["GET", "POST"])
@recent_login_required
def new_team() -> str | Response | tuple[str, int]:
    form = NewTeamForm()
    outcome = submit(form, lambda: accounts.create_team(context(), form.slug.data, form.name.data))
    if outcome.accepted:
        team = outcome.result()
        return done(
            f"Created the team {team.name} ({team.slug}).", "admin.team_detail", slug=team.slug
        )
    return render_template("admin/new_team.html", form=form), outcome.status


@blueprint.route("/teams/<slug>")
def team_detail(slug: str) -> str:
    ctx = context()
    team = accounts.team_by_slug(ctx, slug)
    if team is None:
        raise NotFound(slug)
    return render_template("admin/team.html", team=team, members=accounts.team_members(ctx, team))
