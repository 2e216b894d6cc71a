"""Personal API tokens on SQLite and PostgreSQL: shown once and kept as a hash; scopes
checked against the user's roles; listed without the hash, revoked by the owner or an
administrator; refused — with one message — when unknown, revoked, expired or of a
disabled user; revoked with every change of the user's roles or teams; and, through the
permissions layer alone, never more than roles ∩ scopes, each use audited as the token."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.context import Context
from incidents.db import FieldClass, utcnow
from incidents.errors import NotFound, PermissionDenied, ValidationError
from incidents.models import ApiToken, Incident, Team, User
from incidents.models.vocabularies import Role
from incidents.permissions import Permission, Scope, can, readable_field_classes
from incidents.records.kinds import INCIDENT
from incidents.services import accounts, api_tokens, records
from incidents.services.incidents import view_incident
from tests.factories import IncidentFactory, TeamFactory, UserFactory
from tests.helpers import TEST_OPERATOR, events

ContextFor = Callable[..., Context]
NARRATIVE = "CANARY-token-narrative-8M3"


@dataclass
class Desk:
    team: Team
    researcher: User
    lead: User
    admin: User


@pytest.fixture
def desk(db_session: Session) -> Desk:
    team = TeamFactory()
    return Desk(
        team,
        UserFactory(role=Role.RESEARCHER, teams=[team]),
        UserFactory(role=Role.ADVOCACY_LEAD, teams=[team]),
        UserFactory(role=Role.ADMIN),
    )


def _make(
    context_for: ContextFor, user: User, *scopes: str, days: int = 90
) -> tuple[str, ApiToken]:
    return api_tokens.create(context_for(user), user, "a script", scopes, days)


def _use(context_for: ContextFor, token_text: str, **when: object) -> Context:
    """A context acting through the token, as an API request builds it.

    The grant goes on the user's object in the test's one session — the factory's user
    itself, as the principal of a request is its request's — so a test does what the
    user does in a browser before it uses a token of theirs."""
    nobody = context_for(None)
    user = api_tokens.authenticate(nobody, token_text, **when)  # type: ignore[arg-type]
    return nobody.acting_as(user)


# -- making a token ---------------------------------------------------------------------


def test_the_token_is_shown_once_and_kept_only_as_its_hash(
    desk: Desk, context_for: ContextFor, db_session: Session
) -> None:
    token_text, token = _make(context_for, desk.researcher, "cases:read", "advocacy:read")

    assert token_text.startswith("inc_") and len(token_text) >= 40
    stored = db_session.scalars(select(ApiToken).where(ApiToken.id == token.id)).one()
    assert stored.token_hash == hashlib.sha256(token_text.encode()).hexdigest()
    assert token_text not in {stored.token_hash, stored.name, stored.scopes}
    assert stored.scopes == "cases:read advocacy:read"
    assert stored.expires_at is not None
    assert timedelta(days=89) < stored.expires_at - utcnow() <= timedelta(days=90)
    (event,) = events(db_session, AuditAction.API_TOKEN_CREATE, target=token)
    assert event.actor == desk.researcher.email
    assert event.detail["token"] == str(token.id)
    assert event.detail["scopes"] == ["cases:read", "advocacy:read"]
    assert event.detail["name"] == "a script"
    assert token_text not in str(event.detail) and stored.token_hash not in str(event.detail)
    listed = api_tokens.list_tokens(context_for(desk.researcher), desk.researcher)
    assert [view.id for view in listed] == [token.id]
    assert not hasattr(listed[0], "token_hash")
    assert token_text not in repr(listed) and stored.token_hash not in repr(listed)


def test_each_token_is_new(desk: Desk, context_for: ContextFor) -> None:
    first, _ = _make(context_for, desk.researcher, "cases:read")
    second, _ = _make(context_for, desk.researcher, "cases:read")
    assert first != second


@pytest.mark.parametrize(
    ("scopes", "days", "field", "words"),
    [
        ((), 90, "scopes", "Choose at least one scope"),
        (("cases:delete",), 90, "scopes", "There is no scope 'cases:delete'"),
        # A researcher's roles hold nothing advocacy:write or audit:read allows.
        (("cases:read", "advocacy:write"), 90, "scopes", "advocacy:write"),
        (("audit:read",), 90, "scopes", "choose from cases:read, cases:write, advocacy:read"),
        (("cases:read",), 0, "expires_in_days", "1 to 365 days"),
        (("cases:read",), 366, "expires_in_days", "1 to 365 days"),
    ],
)
def test_bad_input_is_refused_beside_its_field_and_nothing_is_made(
    desk: Desk,
    context_for: ContextFor,
    db_session: Session,
    scopes: tuple[str, ...],
    days: int,
    field: str,
    words: str,
) -> None:
    with pytest.raises(ValidationError) as refused:
        _make(context_for, desk.researcher, *scopes, days=days)
    assert words in refused.value.errors[field]
    assert refused.value.errors[field].endswith(".")
    assert db_session.scalars(select(ApiToken)).all() == []


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "tab\there"])
def test_a_token_needs_a_printable_name(desk: Desk, context_for: ContextFor, name: str) -> None:
    with pytest.raises(ValidationError) as refused:
        api_tokens.create(context_for(desk.researcher), desk.researcher, name, ["cases:read"])
    assert "name" in refused.value.errors


def test_an_administrator_has_no_scope_to_give(desk: Desk, context_for: ContextFor) -> None:
    assert api_tokens.scopes_for(desk.admin) == ()
    with pytest.raises(ValidationError) as refused:
        _make(context_for, desk.admin, "cases:read")
    assert "never accounts or keys" in refused.value.errors["scopes"]


def test_the_scopes_offered_follow_the_roles(desk: Desk) -> None:
    assert api_tokens.scopes_for(desk.researcher) == (
        Scope.CASES_READ,
        Scope.CASES_WRITE,
        Scope.ADVOCACY_READ,
    )
    assert api_tokens.scopes_for(desk.lead) == (
        Scope.CASES_READ,
        Scope.ADVOCACY_READ,
        Scope.ADVOCACY_WRITE,
    )


def test_who_makes_a_token(desk: Desk, context_for: ContextFor, ctx: Context) -> None:
    # An administrator does not make another user's token: it would act as them.
    with pytest.raises(PermissionDenied):
        api_tokens.create(context_for(desk.admin), desk.researcher, "theirs", ["cases:read"])
    with pytest.raises(PermissionDenied):
        api_tokens.create(context_for(desk.lead), desk.researcher, "theirs", ["cases:read"])
    # A token does not make a token, which would outlive its own expiry.
    token_text, _ = _make(context_for, desk.researcher, "cases:read", "cases:write")
    with pytest.raises(PermissionDenied):
        through = _use(context_for, token_text)
        api_tokens.create(through, through.user, "another", ["cases:read"])
    # The operator at the command line makes anyone's, for an active account.
    _, made = api_tokens.create(ctx, desk.lead, "for the lead", ["advocacy:read"])
    assert made.user_id == desk.lead.id
    disabled = UserFactory(role=Role.RESEARCHER, disabled=True)
    with pytest.raises(ValidationError, match="is disabled"):
        api_tokens.create(ctx, disabled, "no", ["cases:read"])


# -- using a token ----------------------------------------------------------------------


def test_a_token_acts_for_its_user_and_records_its_last_use(
    desk: Desk, context_for: ContextFor, db_session: Session
) -> None:
    token_text, token = _make(context_for, desk.researcher, "cases:read")
    assert token.last_used_at is None
    first_use = utcnow()
    through = _use(context_for, token_text, now=first_use)
    assert through.user.id == desk.researcher.id
    grant = through.user.token_grant
    assert grant is not None and grant.token_id == token.id
    assert grant.scopes == frozenset({Scope.CASES_READ})
    assert token.last_used_at == first_use
    # At most one write a minute: a call 30 seconds later leaves it, one at 61 moves it.
    _use(context_for, token_text, now=first_use + timedelta(seconds=30))
    assert token.last_used_at == first_use
    _use(context_for, token_text, now=first_use + timedelta(seconds=61))
    assert token.last_used_at == first_use + timedelta(seconds=61)


def test_unknown_revoked_expired_and_disabled_are_refused_alike(
    desk: Desk, context_for: ContextFor, ctx: Context
) -> None:
    live, _ = _make(context_for, desk.researcher, "cases:read")
    revoked, revoked_row = _make(context_for, desk.researcher, "cases:read")
    api_tokens.revoke(context_for(desk.researcher), revoked_row.id)
    short, short_row = _make(context_for, desk.researcher, "cases:read", days=1)
    owner = UserFactory(role=Role.ADVOCACY_LEAD, teams=[desk.team])
    disabled, _ = _make(context_for, owner, "advocacy:read")
    accounts.disable_user(ctx, owner)
    assert short_row.expires_at is not None
    tomorrow = short_row.expires_at + timedelta(seconds=1)

    refusals = []
    for text, now in (
        ("inc_" + "A" * 43, None),  # unknown
        ("", None),
        (live[4:], None),  # without its prefix
        (live + "x" * 100, None),  # far too long
        (revoked, None),
        (short, tomorrow),
        (disabled, None),
    ):
        with pytest.raises(api_tokens.InvalidToken) as refused:
            api_tokens.authenticate(context_for(None), text, now)
        refusals.append(str(refused.value))
    assert set(refusals) == {"The API token is not valid."}
    assert api_tokens.authenticate(context_for(None), live).id == desk.researcher.id


# -- never more than roles ∩ scopes, through the permissions layer ------------------------


def test_a_read_only_token_cannot_create(
    desk: Desk, context_for: ContextFor, db_session: Session
) -> None:
    # The user in a browser session may.
    made = records.create(
        context_for(desk.researcher), INCIDENT, {"title": "Made"}, team_id=desk.team.id
    )
    assert made.title == "Made"
    token_text, _ = _make(context_for, desk.researcher, "cases:read")
    through = _use(context_for, token_text)
    assert can(through.principal, Permission.CASE_READ)
    assert not can(through.principal, Permission.CASE_WRITE)
    with pytest.raises(PermissionDenied):
        records.create(through, INCIDENT, {"title": "Not made"}, team_id=desk.team.id)
    assert db_session.scalars(select(Incident).where(Incident.title == "Not made")).all() == []


def test_an_advocacy_token_reads_no_case_field(desk: Desk, context_for: ContextFor) -> None:
    incident = IncidentFactory(team_id=desk.team.id, secrets={"narrative": NARRATIVE})
    token_text, _ = _make(context_for, desk.researcher, "advocacy:read")
    reading, _ = _make(context_for, desk.researcher, "cases:read")
    through = _use(context_for, token_text)
    assert readable_field_classes(through.principal) == {FieldClass.ADVOCACY}
    assert can(through.principal, Permission.ADVOCACY_READ)
    with pytest.raises(PermissionDenied):
        view_incident(through, incident.reference)
    # With cases:read, the researcher's token reads what the researcher reads.
    reader = _use(context_for, reading)
    assert readable_field_classes(reader.principal) == {
        FieldClass.PUBLIC,
        FieldClass.RESTRICTED,
        FieldClass.SECRET,
    }


def test_a_token_never_exceeds_its_users_roles(
    desk: Desk, context_for: ContextFor, ctx: Context
) -> None:
    """Roles ∩ scopes at every use: a role taken away without revoking (by hand, in the
    database) still takes its permissions from the token."""
    token_text, _ = _make(context_for, desk.lead, "cases:read", "advocacy:write")
    through = _use(context_for, token_text)
    # The lead's cases:read is public fields only; a scope cannot open more.
    assert readable_field_classes(through.principal) == {FieldClass.PUBLIC}
    assert not can(through.principal, Permission.FIELDS_RESTRICTED)
    assert can(through.principal, Permission.ADVOCACY_WRITE)
    assert not can(through.principal, Permission.USERS_MANAGE)
    desk.lead.roles = []
    assert not can(_use(context_for, token_text).principal, Permission.ADVOCACY_WRITE)


def test_what_a_token_does_is_audited_as_the_token(
    desk: Desk, context_for: ContextFor, db_session: Session
) -> None:
    token_text, token = _make(context_for, desk.researcher, "cases:read", "cases:write")
    through = _use(context_for, token_text)
    assert through.actor.label == f"token:{token.id}"
    assert through.actor.user_id == desk.researcher.id
    incident = records.create(
        through, INCIDENT, {"title": "Via the API", "narrative": NARRATIVE}, team_id=desk.team.id
    )
    (event,) = events(db_session, AuditAction.RECORD_CREATE, target=incident)
    assert (event.actor, event.actor_id) == (f"token:{token.id}", desk.researcher.id)


# -- revoking ---------------------------------------------------------------------------


def test_the_owner_revokes_and_another_user_finds_nothing(
    desk: Desk, context_for: ContextFor, db_session: Session
) -> None:
    token_text, token = _make(context_for, desk.researcher, "cases:read")
    colleague = UserFactory(role=Role.RESEARCHER, teams=[desk.team])
    with pytest.raises(NotFound) as theirs:
        api_tokens.revoke(context_for(colleague), token.id)
    with pytest.raises(NotFound) as nothing:
        api_tokens.revoke(context_for(colleague), "not-an-id")
    assert str(theirs.value) == str(nothing.value)
    with pytest.raises(PermissionDenied):
        api_tokens.list_tokens(context_for(colleague), desk.researcher)
    assert token.revoked_at is None

    view, revoked_now = api_tokens.revoke(context_for(desk.researcher), str(token.id))
    assert revoked_now and view.state == "revoked" and token.revoked_at is not None
    (event,) = events(db_session, AuditAction.API_TOKEN_REVOKE, target=token)
    assert event.detail["reason"] == "owner" and event.detail["token"] == str(token.id)
    with pytest.raises(api_tokens.InvalidToken):
        api_tokens.authenticate(context_for(None), token_text)
    # Again: nothing more happens, and nothing more is audited.
    assert api_tokens.revoke(context_for(desk.researcher), token.id)[1] is False
    assert len(events(db_session, AuditAction.API_TOKEN_REVOKE, target=token)) == 1


def test_an_administrator_lists_and_revokes_anyones(
    desk: Desk, context_for: ContextFor, db_session: Session
) -> None:
    _, token = _make(context_for, desk.researcher, "cases:read")
    admin = context_for(desk.admin)
    assert api_tokens.usable_token_count(admin, desk.researcher) == 1
    assert [v.user_email for v in api_tokens.list_tokens(admin)] == [desk.researcher.email]
    view, revoked_now = api_tokens.revoke(admin, token.id)
    assert revoked_now and view.state == "revoked"
    (event,) = events(db_session, AuditAction.API_TOKEN_REVOKE, target=token)
    assert (event.actor, event.detail["reason"]) == (desk.admin.email, "administrator")
    assert api_tokens.usable_token_count(admin, desk.researcher) == 0


def test_an_expired_token_is_listed_as_expired(desk: Desk, context_for: ContextFor) -> None:
    _, token = _make(context_for, desk.researcher, "cases:read", days=1)
    assert token.expires_at is not None
    later = token.expires_at + timedelta(minutes=1)
    (view,) = api_tokens.list_tokens(context_for(desk.researcher), desk.researcher, later)
    assert view.state == "expired" and not view.is_active
    assert api_tokens.usable_token_count(context_for(desk.researcher), desk.researcher, later) == 0


@pytest.mark.parametrize("change", ["roles", "teams", "disabled"])
def test_a_change_of_access_revokes_every_token(
    desk: Desk, context_for: ContextFor, ctx: Context, db_session: Session, change: str
) -> None:
    first, first_row = _make(context_for, desk.researcher, "cases:read")
    second, second_row = _make(context_for, desk.researcher, "cases:read", "cases:write")
    other, _ = _make(context_for, desk.lead, "advocacy:read")
    if change == "roles":
        assert accounts.set_roles(ctx, desk.researcher, [Role.RESEARCHER, Role.AUDITOR])
    elif change == "teams":
        assert accounts.set_teams(ctx, desk.researcher, [desk.team, TeamFactory()])
    else:
        accounts.disable_user(ctx, desk.researcher)

    for text in (first, second):
        with pytest.raises(api_tokens.InvalidToken):
            api_tokens.authenticate(context_for(None), text)
    for row in (first_row, second_row):
        (event,) = events(db_session, AuditAction.API_TOKEN_REVOKE, target=row)
        assert event.actor == TEST_OPERATOR.label
        assert event.detail["reason"] == change
        assert event.detail["user"] == desk.researcher.email
    # Another user's token is not touched.
    assert api_tokens.authenticate(context_for(None), other).id == desk.lead.id


def test_nothing_changed_revokes_nothing(desk: Desk, context_for: ContextFor, ctx: Context) -> None:
    token_text, _ = _make(context_for, desk.researcher, "cases:read")
    assert not accounts.set_roles(ctx, desk.researcher, [Role.RESEARCHER])
    assert not accounts.set_teams(ctx, desk.researcher, [desk.team])
    assert api_tokens.authenticate(context_for(None), token_text).id == desk.researcher.id


def test_the_current_token_is_the_one_in_use(desk: Desk, context_for: ContextFor) -> None:
    token_text, token = _make(context_for, desk.researcher, "cases:read", "advocacy:read")
    view = api_tokens.current_token(_use(context_for, token_text))
    assert (view.id, view.scopes) == (token.id, (Scope.CASES_READ, Scope.ADVOCACY_READ))
    with pytest.raises(PermissionDenied):
        api_tokens.current_token(context_for(desk.lead))
