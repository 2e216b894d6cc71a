"""Accounts (services/accounts.py, services/authentication.py): users, roles, teams,
disabling, logging in, and what the audit log says about them — field names, never values."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.context import Context
from incidents.errors import ValidationError
from incidents.models import AuditEvent
from incidents.models.vocabularies import Role
from incidents.services import accounts, authentication, sessions
from tests.factories import DEFAULT_PASSWORD, TeamFactory, UserFactory
from tests.helpers import events

NEW_PASSWORD = "a fresh and long passphrase 9"
ContextFor = Callable[..., Context]


def _everything_audited(db_session: Session) -> str:
    return repr(db_session.execute(select(AuditEvent.__table__)).all())


def test_create_user_audits_field_names_and_never_the_password(
    db_session: Session, context_for: ContextFor
) -> None:
    team = TeamFactory()
    admin = UserFactory(email="admin@example.org", role=Role.ADMIN, teams=[])
    user = accounts.create_user(
        context_for(admin),
        "  Ana.Lopez@Example.ORG ",
        " Ana López ",
        NEW_PASSWORD,
        roles=[Role.RESEARCHER],
        teams=[team],
    )
    assert (user.email, user.display_name) == ("ana.lopez@example.org", "Ana López")
    assert user.role_set == {Role.RESEARCHER} and user.team_ids == {team.id}
    (event,) = events(db_session, target=user)
    assert event.action == "user.create" and event.actor == "admin@example.org"
    assert event.fields == ["display_name", "email", "roles", "teams"]
    assert event.detail == {"roles": ["researcher"], "teams": [team.slug]}
    audited = _everything_audited(db_session)
    assert NEW_PASSWORD not in audited and user.password_hash not in audited


@pytest.mark.parametrize(
    ("email", "name", "field"),
    [
        ("not-an-address", "Ana", "email"),
        ("a b@example.org", "Ana", "email"),
        ("a@example.org", " ", "display_name"),
    ],
)
def test_create_user_refusals_name_the_field(
    ctx: Context, email: str, name: str, field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        accounts.create_user(ctx, email, name, NEW_PASSWORD)
    assert field in refused.value.errors


def test_an_email_is_taken_once_whatever_its_case(ctx: Context) -> None:
    existing = UserFactory()
    with pytest.raises(ValidationError) as refused:
        accounts.create_user(ctx, existing.email.upper(), "Ana", NEW_PASSWORD)
    assert refused.value.errors == {
        "email": f"A user with the e-mail {existing.email} exists already."
    }


def test_authenticate(context_for: ContextFor) -> None:
    user = UserFactory()
    nobody = context_for(None)  # before a login, nobody acts
    assert authentication.authenticate(nobody, f" {user.email.upper()} ", DEFAULT_PASSWORD) is user
    assert authentication.authenticate(nobody, user.email, DEFAULT_PASSWORD + "!") is None
    assert authentication.authenticate(nobody, "nobody@example.org", DEFAULT_PASSWORD) is None
    user.is_active = False
    assert authentication.authenticate(nobody, user.email, DEFAULT_PASSWORD) is None


def test_set_password_ends_every_session_and_audits_no_value(
    db_session: Session, ctx: Context
) -> None:
    user = UserFactory()
    sessions.start_session(ctx, user)
    old_hash = user.password_hash
    accounts.set_password(ctx, user, NEW_PASSWORD)
    assert user.password_hash != old_hash and user.password_changed_at is not None
    assert sessions.open_sessions(ctx, user) == []
    (event,) = events(db_session, target=user)
    assert (event.action, event.fields) == ("user.password_change", ["password_hash"])
    audited = _everything_audited(db_session)
    for value in (NEW_PASSWORD, user.password_hash, old_hash):
        assert value not in audited


def test_change_own_password_checks_the_current_one(
    db_session: Session, context_for: ContextFor
) -> None:
    user = UserFactory()
    as_user = context_for(user)
    with pytest.raises(ValidationError) as wrong:
        authentication.change_own_password(as_user, "not it at all", NEW_PASSWORD)
    assert "current_password" in wrong.value.errors
    with pytest.raises(ValidationError) as same:
        authentication.change_own_password(as_user, DEFAULT_PASSWORD, DEFAULT_PASSWORD)
    assert "new_password" in same.value.errors
    assert events(db_session, target=user) == []


def test_set_roles_ends_sessions_and_audits_before_and_after(
    db_session: Session, ctx: Context
) -> None:
    UserFactory(role=Role.ADMIN)  # an administrator who stays one
    user = UserFactory(role=Role.RESEARCHER)
    sessions.start_session(ctx, user)
    assert accounts.set_roles(ctx, user, [Role.AUDITOR, Role.ADVOCACY_LEAD])
    assert user.role_set == {Role.AUDITOR, Role.ADVOCACY_LEAD}
    assert sessions.open_sessions(ctx, user) == []
    (event,) = events(db_session, target=user)
    assert event.fields == ["roles"]
    assert event.detail == {"before": ["researcher"], "after": ["advocacy_lead", "auditor"]}
    assert not accounts.set_roles(ctx, user, [Role.ADVOCACY_LEAD, Role.AUDITOR])
    assert len(events(db_session, target=user)) == 1  # no change, no event


def test_the_last_active_administrator_keeps_the_role(ctx: Context) -> None:
    admin = UserFactory(role=Role.ADMIN)
    UserFactory(role=Role.ADMIN, disabled=True)  # a disabled one does not count
    with pytest.raises(ValidationError) as refused:
        accounts.set_roles(ctx, admin, [Role.RESEARCHER])
    assert refused.value.errors == {
        "roles": "This is the last active administrator: make another administrator first."
    }
    assert admin.role_set == {Role.ADMIN}
    with pytest.raises(ValidationError):
        accounts.disable_user(ctx, admin)
    assert admin.is_active
    UserFactory(role=Role.ADMIN)
    assert accounts.set_roles(ctx, admin, [Role.RESEARCHER])


def test_set_teams(db_session: Session, ctx: Context) -> None:
    first, second, third = TeamFactory(), TeamFactory(), TeamFactory()
    user = UserFactory(teams=[first, second])
    sessions.start_session(ctx, user)
    assert accounts.set_teams(ctx, user, [second, third])
    assert user.team_ids == {second.id, third.id}
    (event,) = events(db_session, target=user)
    assert event.fields == ["teams"]
    assert event.detail == {
        "before": sorted([first.slug, second.slug]),
        "after": sorted([second.slug, third.slug]),
    }
    assert not accounts.set_teams(ctx, user, [third, second])
    # Teams are read on every request, so a membership change needs no new login.
    assert len(sessions.open_sessions(ctx, user)) == 1


def test_disable_and_enable(db_session: Session, context_for: ContextFor) -> None:
    admin = UserFactory(role=Role.ADMIN)
    user = UserFactory()
    as_admin = context_for(admin)
    sessions.start_session(as_admin, user)
    accounts.disable_user(as_admin, user)
    assert not user.is_active
    assert sessions.open_sessions(as_admin, user) == []
    assert authentication.authenticate(context_for(None), user.email, DEFAULT_PASSWORD) is None
    accounts.disable_user(as_admin, user)  # already: no event
    accounts.enable_user(as_admin, user)
    assert user.is_active
    actions = [(e.action, e.fields) for e in events(db_session, target=user)]
    assert actions == [("user.disable", ["is_active"]), ("user.enable", ["is_active"])]
    with pytest.raises(ValidationError) as yourself:
        accounts.disable_user(as_admin, admin)
    assert yourself.value.errors == {"user": "You cannot disable your own account."}


def test_login_failures_name_no_email_and_no_password(
    db_session: Session, context_for: ContextFor
) -> None:
    user = UserFactory()
    nobody = context_for(None)
    authentication.record_login_failure(nobody)
    authentication.record_login_failure(nobody, user, step="second-factor")
    failures = events(db_session, action="login.failure")
    assert [e.detail for e in failures] == [{"step": "password"}, {"step": "second-factor"}]
    assert failures[0].actor == "anonymous" and failures[0].target_id is None
    assert failures[1].target_id == str(user.id)


def test_user_by_id_takes_text_or_uuid(ctx: Context) -> None:
    user = UserFactory()
    assert accounts.user_by_id(ctx, user.id) is user
    assert accounts.user_by_id(ctx, str(user.id)) is user
    assert accounts.user_by_id(ctx, "not-a-uuid") is None
    assert accounts.user_by_id(ctx, None) is None


def test_create_team(ctx: Context) -> None:
    team = accounts.create_team(ctx, " North-Caucasus ", " North Caucasus ")
    assert (team.slug, team.name) == ("north-caucasus", "North Caucasus")
    with pytest.raises(ValidationError) as taken:
        accounts.create_team(ctx, "north-caucasus", "Again")
    assert taken.value.errors == {
        "slug": "A team with the short name north-caucasus exists; choose another."
    }
    with pytest.raises(ValidationError):
        accounts.create_team(ctx, "no spaces", "Name")


def test_an_administrator_cannot_open_case_records_to_themselves(
    ctx: Context, context_for: ContextFor
) -> None:
    """Separation of duties: another administrator (or the operator) must grant it."""
    admin = UserFactory(role=Role.ADMIN, teams=[])
    other_admin = UserFactory(role=Role.ADMIN, teams=[])
    team = TeamFactory()
    myself = context_for(admin)
    with pytest.raises(ValidationError, match="yourself"):
        accounts.set_roles(myself, admin, [Role.ADMIN, Role.RESEARCHER])
    with pytest.raises(ValidationError, match="yourself"):
        accounts.set_teams(myself, admin, [team])
    assert admin.role_set == {Role.ADMIN} and admin.team_ids == frozenset()
    # Giving up a role is not a grant; another administrator may grant.
    assert accounts.set_roles(context_for(other_admin), admin, [Role.ADMIN, Role.RESEARCHER])
    assert accounts.set_teams(ctx, admin, [team])  # the operator may too
