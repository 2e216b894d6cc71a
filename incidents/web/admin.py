"""Administration: users, their roles and teams, and teams (users:manage only).

Administrators see accounts here, never case records. Every change goes through the
accounts and two-factor services, which audit it; the views only parse the forms, commit
once and say what changed. Changing who someone is or what they may do (roles, password,
second factor, disabling) asks for a recent password entry first, and so does the page
that offers those forms.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField, SelectChoice, StringField
from wtforms.validators import DataRequired, EqualTo, Length
from wtforms.validators import ValidationError as FieldError

from incidents.errors import NotFound, ValidationError
from incidents.extensions import db
from incidents.models.organisation import Team
from incidents.models.user import User
from incidents.models.vocabularies import Role, label
from incidents.permissions import Permission, can, ensure
from incidents.services import accounts, sessions, two_factor
from incidents.services.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, password_problem
from incidents.web.current import actor, begin_session, current_account, session_policy
from incidents.web.forms import ActionForm, MultiCheckboxField
from incidents.web.security import recent_login_required

blueprint = Blueprint("admin", __name__, url_prefix="/admin")

PASSWORD_HINT = (
    f"At least {MIN_PASSWORD_LENGTH} characters; common and easily guessed passwords are "
    "refused. Give it to the person by a safe channel and ask them to change it."
)
ROLE_HINT = (
    "A user may hold several roles. An administrator manages accounts and teams and sees "
    "no case records; a user without a role can log in but see nothing."
)
TEAM_HINT = "A user sees only the case records of their teams."


class AccessForm(FlaskForm):  # type: ignore[misc]
    """Roles and team memberships, changed together in one POST."""

    roles = MultiCheckboxField("Roles", choices=[SelectChoice(r.value, label(r)) for r in Role])
    teams = MultiCheckboxField("Teams")


class NewUserForm(AccessForm):
    email = EmailField(
        "E-mail", validators=[DataRequired("Enter an e-mail address."), Length(max=254)]
    )
    display_name = StringField(
        "Name",
        validators=[DataRequired("Enter a name."), Length(max=accounts.MAX_NAME_LENGTH)],
    )
    password = PasswordField(
        "Initial password",
        validators=[DataRequired("Enter a password."), Length(max=MAX_PASSWORD_LENGTH)],
    )

    def validate_password(self, field: Any) -> None:
        """The same rules the service applies, shown beside the other fields' errors."""
        problem = password_problem(
            field.data or "",
            accounts.personal_words(self.email.data or "", self.display_name.data or ""),
        )
        if problem is not None:
            raise FieldError(_sentence(problem))


class SetPasswordForm(FlaskForm):  # type: ignore[misc]
    password = PasswordField(
        "New password",
        validators=[DataRequired("Enter a password."), Length(max=MAX_PASSWORD_LENGTH)],
    )
    confirm_password = PasswordField(
        "New password again",
        validators=[
            DataRequired("Enter the password again."),
            EqualTo("password", message="The two entries differ."),
        ],
    )


class NewTeamForm(FlaskForm):  # type: ignore[misc]
    slug = StringField(
        "Short name",
        validators=[DataRequired("Enter a short name."), Length(max=accounts.MAX_SLUG_LENGTH)],
    )
    name = StringField(
        "Name", validators=[DataRequired("Enter a name."), Length(max=accounts.MAX_NAME_LENGTH)]
    )


@blueprint.before_request
def _only_administrators() -> None:
    ensure(current_account(), Permission.USERS_MANAGE)


@blueprint.context_processor
def _hints() -> dict[str, str]:
    return {"password_hint": PASSWORD_HINT, "role_hint": ROLE_HINT, "team_hint": TEAM_HINT}


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _show_errors(form: FlaskForm, error: ValidationError) -> None:
    """A service's refusal beside the field it is about (in full), or as a flash."""
    fields = [form._fields[name] for name in error.errors if name in form._fields]
    if not fields:
        flash(_sentence(str(error)), "error")
    for field in fields:
        field.errors = [*field.errors, _sentence(str(error))]


def _user_or_404(user_id: uuid.UUID) -> User:
    user = accounts.user_by_id(db.session, user_id)
    if user is None:
        raise NotFound(str(user_id))
    return user


def _team_choices(form: AccessForm) -> list[Team]:
    teams = accounts.all_teams(db.session)
    form.teams.choices = [SelectChoice(t.slug, t.name) for t in teams]
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
    return render_template("admin/users.html", users=accounts.all_users(db.session))


@blueprint.route("/users/new", methods=["GET", "POST"])
@recent_login_required  # a new account may be given any role and team
def new_user() -> str | Response | tuple[str, int]:
    form = NewUserForm()
    teams = _team_choices(form)
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("admin/new_user.html", form=form), status
    try:
        user = accounts.create_user(
            db.session,
            actor(),
            form.email.data,
            form.display_name.data,
            form.password.data,
            roles=[Role(value) for value in form.roles.data],
            teams=[t for t in teams if t.slug in form.teams.data],
        )
    except ValidationError as error:
        db.session.rollback()
        _show_errors(form, error)
        return render_template("admin/new_user.html", form=form), 422
    db.session.commit()
    flash(f"Created the account {user.email}.", "info")
    return redirect(url_for("admin.user_detail", user_id=user.id))


def _render_user(
    user: User,
    access_form: AccessForm | None = None,
    password_form: SetPasswordForm | None = None,
    status: int = 200,
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
        open_sessions=len(sessions.open_sessions(db.session, user, session_policy())),
        is_self=user.id == current_account().id,
    ), status


@blueprint.route("/users/<uuid:user_id>", methods=["GET", "POST"])
@recent_login_required
def user_detail(user_id: uuid.UUID) -> Response | tuple[str, int]:
    user = _user_or_404(user_id)
    if not (form := AccessForm()).is_submitted():
        return _render_user(user)
    teams = _team_choices(form)
    if not form.validate():
        return _render_user(user, access_form=form, status=422)
    roles_before = sorted(label(r) for r in user.role_set)
    try:
        roles_changed = accounts.set_roles(
            db.session, actor(), user, [Role(value) for value in form.roles.data]
        )
        teams_changed = accounts.set_teams(
            db.session, actor(), user, [t for t in teams if t.slug in form.teams.data]
        )
    except ValidationError as error:
        db.session.rollback()
        _show_errors(form, error)
        return _render_user(user, access_form=form, status=422)
    if roles_changed:
        _keep_this_browser_logged_in(user)
    db.session.commit()
    if roles_changed:
        roles_after = sorted(label(r) for r in user.role_set)
        flash(
            f"Roles of {user.email}: {_names(roles_before)} → {_names(roles_after)}. "
            "Every session of theirs has ended.",
            "info",
        )
    if teams_changed:
        slugs = sorted(m.team.name for m in user.memberships)
        flash(f"Teams of {user.email} are now: {_names(slugs)}.", "info")
    if not (roles_changed or teams_changed):
        flash("Nothing changed.", "info")
    return _after_change(user)


@blueprint.route("/users/<uuid:user_id>/disable", methods=["POST"])
@recent_login_required
def disable_user(user_id: uuid.UUID) -> Response:
    # Buttons carry only the CSRF token, which CSRFProtect checked before the view.
    user = _user_or_404(user_id)
    try:
        accounts.disable_user(db.session, actor(), user)
    except ValidationError as error:
        db.session.rollback()
        flash(f"{_sentence(str(error))}. Nothing was changed.", "error")
    else:
        db.session.commit()
        flash(f"Disabled {user.email}: they cannot log in and their sessions ended.", "info")
    return redirect(url_for("admin.user_detail", user_id=user_id))


@blueprint.route("/users/<uuid:user_id>/enable", methods=["POST"])
@recent_login_required
def enable_user(user_id: uuid.UUID) -> Response:
    user = _user_or_404(user_id)
    accounts.enable_user(db.session, actor(), user)
    db.session.commit()
    flash(f"Enabled {user.email}: they can log in again.", "info")
    return redirect(url_for("admin.user_detail", user_id=user_id))


@blueprint.route("/users/<uuid:user_id>/two-factor/reset", methods=["POST"])
@recent_login_required
def reset_two_factor(user_id: uuid.UUID) -> Response:
    user = _user_or_404(user_id)
    if not two_factor.reset(db.session, actor(), user):
        flash(f"{user.email} has no second factor; nothing to reset.", "info")
    else:
        _keep_this_browser_logged_in(user)
        db.session.commit()
        flash(
            f"Removed the second factor of {user.email} and ended their sessions. They set "
            "up a new one at their next login.",
            "info",
        )
    return redirect(url_for("admin.user_detail", user_id=user_id))


@blueprint.route("/users/<uuid:user_id>/password", methods=["POST"])
@recent_login_required
def set_password(user_id: uuid.UUID) -> Response | tuple[str, int]:
    user = _user_or_404(user_id)
    form = SetPasswordForm()
    if not form.validate_on_submit():
        return _render_user(user, password_form=form, status=422)
    try:
        accounts.set_password(db.session, actor(), user, form.password.data)
    except ValidationError as error:
        db.session.rollback()
        _show_errors(form, error)
        return _render_user(user, password_form=form, status=422)
    _keep_this_browser_logged_in(user)
    db.session.commit()
    flash(f"Set a new password for {user.email} and ended their sessions.", "info")
    return redirect(url_for("admin.user_detail", user_id=user_id))


# -- teams ------------------------------------------------------------------------------


@blueprint.route("/teams")
def teams() -> str:
    return render_template(
        "admin/teams.html",
        teams=accounts.all_teams(db.session),
        counts=accounts.team_member_counts(db.session),
    )


@blueprint.route("/teams/new", methods=["GET", "POST"])
@recent_login_required
def new_team() -> str | Response | tuple[str, int]:
    form = NewTeamForm()
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("admin/new_team.html", form=form), status
    try:
        team = accounts.create_team(db.session, actor(), form.slug.data, form.name.data)
    except ValidationError as error:
        db.session.rollback()
        _show_errors(form, error)
        return render_template("admin/new_team.html", form=form), 422
    db.session.commit()
    flash(f"Created the team {team.name} ({team.slug}).", "info")
    return redirect(url_for("admin.team_detail", slug=team.slug))


@blueprint.route("/teams/<slug>")
def team_detail(slug: str) -> str:
    team = accounts.team_by_slug(db.session, slug)
    if team is None:
        raise NotFound(slug)
    return render_template(
        "admin/team.html",
        team=team,
        members=accounts.team_members(db.session, team),
    )
