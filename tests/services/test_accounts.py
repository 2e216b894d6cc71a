"""Accounts (services/accounts.py): users, roles, teams, disabling, and what the audit log
says about them — field names, never values."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.audit.log import Actor
from incidents.errors import ValidationError
from incidents.models import AuditEvent, User
from incidents.models.vocabularies import Role
from incidents.services import accounts, sessions
from tests.factories import DEFAULT_PASSWORD, TeamFactory, UserFactory

ACTOR = Actor("admin@example.org")
NEW_PASSWORD = "a fresh and long passphrase 9"


def _events(db_session: Session, user: User) -> list[AuditEvent]:
    return list(
        db_session.scalars(
            select(AuditEvent).where(AuditEvent.target_id == str(user.id)).order_by(AuditEvent.id)
        )
    )


def _everything_audited(db_session: Session) -> str:
    return repr(db_session.execute(select(AuditEvent.__table__)).all())


def test_create_user_audits_field_names_and_never_the_password(db_session: Session) -> None:
    team = TeamFactory()
    user = accounts.create_user(
        db_session,
        ACTOR,
        "  Ana.Lopez@Example.ORG ",
        " Ana López ",
        NEW_PASSWORD,
        roles=[Role.RESEARCHER],
        teams=[team],
    )
    assert (user.email, user.display_name) == ("ana.lopez@example.org", "Ana López")
    assert user.role_set == {Role.RESEARCHER} and user.team_ids == {team.id}
    (event,) = _events(db_session, user)
    assert event.action == "user.create" and event.actor == ACTOR.label
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
    db_session: Session, email: str, name: str, field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        accounts.create_user(db_session, ACTOR, email, name, NEW_PASSWORD)
    assert field in refused.value.errors


def test_an_email_is_taken_once_whatever_its_case(db_session: Session) -> None:
    existing = UserFactory()
    with pytest.raises(ValidationError) as refused:
        accounts.create_user(db_session, ACTOR, existing.email.upper(), "Ana", NEW_PASSWORD)
    assert refused.value.errors == {"email": "taken"}


def test_authenticate(db_session: Session) -> None:
    user = UserFactory()
    assert accounts.authenticate(db_session, f" {user.email.upper()} ", DEFAULT_PASSWORD) is user
    assert accounts.authenticate(db_session, user.email, DEFAULT_PASSWORD + "!") is None
    assert accounts.authenticate(db_session, "nobody@example.org", DEFAULT_PASSWORD) is None
    user.is_active = False
    assert accounts.authenticate(db_session, user.email, DEFAULT_PASSWORD) is None


def test_set_password_ends_every_session_and_audits_no_value(db_session: Session) -> None:
    user = UserFactory()
    sessions.start_session(db_session, user)
    old_hash = user.password_hash
    accounts.set_password(db_session, ACTOR, user, NEW_PASSWORD)
    assert user.password_hash != old_hash and user.password_changed_at is not None
    assert sessions.open_sessions(db_session, user) == []
    (event,) = _events(db_session, user)
    assert (event.action, event.fields) == ("user.password_change", ["password_hash"])
    audited = _everything_audited(db_session)
    for value in (NEW_PASSWORD, user.password_hash, old_hash):
        assert value not in audited


def test_change_own_password_checks_the_current_one(db_session: Session) -> None:
    user = UserFactory()
    with pytest.raises(ValidationError) as wrong:
        accounts.change_own_password(db_session, user, "not it at all", NEW_PASSWORD)
    assert "current_password" in wrong.value.errors
    with pytest.raises(ValidationError) as same:
        accounts.change_own_password(db_session, user, DEFAULT_PASSWORD, DEFAULT_PASSWORD)
    assert "new_password" in same.value.errors
    assert _events(db_session, user) == []


def test_set_roles_ends_sessions_and_audits_before_and_after(db_session: Session) -> None:
    UserFactory(role=Role.ADMIN)  # an administrator who stays one
    user = UserFactory(role=Role.RESEARCHER)
    sessions.start_session(db_session, user)
    assert accounts.set_roles(db_session, ACTOR, user, [Role.AUDITOR, Role.ADVOCACY_LEAD])
    assert user.role_set == {Role.AUDITOR, Role.ADVOCACY_LEAD}
    assert sessions.open_sessions(db_session, user) == []
    (event,) = _events(db_session, user)
    assert event.fields == ["roles"]
    assert event.detail == {"before": ["researcher"], "after": ["advocacy_lead", "auditor"]}
    assert not accounts.set_roles(db_session, ACTOR, user, [Role.ADVOCACY_LEAD, Role.AUDITOR])
    assert len(_events(db_session, user)) == 1  # no change, no event


def test_the_last_active_administrator_keeps_the_role(db_session: Session) -> None:
    admin = UserFactory(role=Role.ADMIN)
    UserFactory(role=Role.ADMIN, disabled=True)  # a disabled one does not count
    with pytest.raises(ValidationError) as refused:
        accounts.set_roles(db_session, ACTOR, admin, [Role.RESEARCHER])
    assert refused.value.errors == {"roles": "last administrator"}
    assert admin.role_set == {Role.ADMIN}
    with pytest.raises(ValidationError):
        accounts.disable_user(db_session, Actor("someone"), admin)
    assert admin.is_active
    UserFactory(role=Role.ADMIN)
    assert accounts.set_roles(db_session, ACTOR, admin, [Role.RESEARCHER])


def test_set_teams(db_session: Session) -> None:
    first, second, third = TeamFactory(), TeamFactory(), TeamFactory()
    user = UserFactory(teams=[first, second])
    sessions.start_session(db_session, user)
    assert accounts.set_teams(db_session, ACTOR, user, [second, third])
    assert user.team_ids == {second.id, third.id}
    (event,) = _events(db_session, user)
    assert event.fields == ["teams"]
    assert event.detail == {
        "before": sorted([first.slug, second.slug]),
        "after": sorted([second.slug, third.slug]),
    }
    assert not accounts.set_teams(db_session, ACTOR, user, [third, second])
    # Teams are read on every request, so a membership change needs no new login.
    assert len(sessions.open_sessions(db_session, user)) == 1


def test_disable_and_enable(db_session: Session) -> None:
    admin = UserFactory(role=Role.ADMIN)
    user = UserFactory()
    sessions.start_session(db_session, user)
    accounts.disable_user(db_session, accounts.actor_of(admin), user)
    assert not user.is_active
    assert sessions.open_sessions(db_session, user) == []
    assert accounts.authenticate(db_session, user.email, DEFAULT_PASSWORD) is None
    accounts.disable_user(db_session, accounts.actor_of(admin), user)  # already: no event
    accounts.enable_user(db_session, accounts.actor_of(admin), user)
    assert user.is_active
    actions = [(e.action, e.fields) for e in _events(db_session, user)]
    assert actions == [("user.disable", ["is_active"]), ("user.enable", ["is_active"])]
    with pytest.raises(ValidationError) as yourself:
        accounts.disable_user(db_session, accounts.actor_of(admin), admin)
    assert yourself.value.errors == {"user": "yourself"}


def test_login_failures_name_no_email_and_no_password(db_session: Session) -> None:
    user = UserFactory()
    accounts.record_login_failure(db_session)
    accounts.record_login_failure(db_session, user, step="second-factor")
    events = list(
        db_session.scalars(select(AuditEvent).where(AuditEvent.action == "login.failure"))
    )
    assert [e.detail for e in events] == [{"step": "password"}, {"step": "second-factor"}]
    assert events[0].actor == "anonymous" and events[0].target_id is None
    assert events[1].target_id == str(user.id)


def test_user_by_id_takes_text_or_uuid(db_session: Session) -> None:
    user = UserFactory()
    assert accounts.user_by_id(db_session, user.id) is user
    assert accounts.user_by_id(db_session, str(user.id)) is user
    assert accounts.user_by_id(db_session, "not-a-uuid") is None
    assert accounts.user_by_id(db_session, None) is None


def test_create_team(db_session: Session) -> None:
    team = accounts.create_team(db_session, ACTOR, " North-Caucasus ", " North Caucasus ")
    assert (team.slug, team.name) == ("north-caucasus", "North Caucasus")
    with pytest.raises(ValidationError) as taken:
        accounts.create_team(db_session, ACTOR, "north-caucasus", "Again")
    assert taken.value.errors == {"slug": "taken"}
    with pytest.raises(ValidationError):
        accounts.create_team(db_session, ACTOR, "no spaces", "Name")


def test_an_administrator_cannot_open_case_records_to_themselves(db_session: Session) -> None:
    """Separation of duties: another administrator (or the operator) must grant it."""
    admin = UserFactory(role=Role.ADMIN, teams=[])
    other_admin = UserFactory(role=Role.ADMIN, teams=[])
    team = TeamFactory()
    myself = accounts.actor_of(admin)
    with pytest.raises(ValidationError, match="yourself"):
        accounts.set_roles(db_session, myself, admin, [Role.ADMIN, Role.RESEARCHER])
    with pytest.raises(ValidationError, match="yourself"):
        accounts.set_teams(db_session, myself, admin, [team])
    assert admin.role_set == {Role.ADMIN} and admin.team_ids == frozenset()
    # Giving up a role is not a grant; another administrator may grant.
    assert accounts.set_roles(
        db_session, accounts.actor_of(other_admin), admin, [Role.ADMIN, Role.RESEARCHER]
    )
    assert accounts.set_teams(db_session, Actor.command_line(), admin, [team])
