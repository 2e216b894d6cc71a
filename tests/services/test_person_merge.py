"""Merging duplicate people, on SQLite and PostgreSQL: the review decrypts both (audited),
the merge moves acts and consents and keeps both records, the undo moves back exactly
what moved, searches point from the merged record to the kept one, and every broken rule
is a ValidationError naming it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.context import Context
from incidents.errors import NotFound, PermissionDenied, ValidationError
from incidents.models import Act, Consent, Person, PersonMerge, Team, User
from incidents.models.vocabularies import ConsentUse, Role
from incidents.records.kinds import ACT
from incidents.services import consent, people, person_matching, person_merge, records
from incidents.services.erasure import erase_record
from tests.factories import ActFactory, ConsentFactory, IncidentFactory, TeamFactory, UserFactory
from tests.helpers import count_events, events

ContextFor = Callable[..., Context]


@pytest.fixture
def team(db_session: Session) -> Team:
    return TeamFactory()


@pytest.fixture
def researcher(team: Team) -> User:
    return UserFactory(role=Role.RESEARCHER, teams=[team])


@pytest.fixture
def ctx_r(context_for: ContextFor, researcher: User) -> Context:
    return context_for(researcher)


@pytest.fixture
def person(ctx_r: Context, team: Team) -> Callable[..., Person]:
    def make(full_name: str, aliases: str | None = None, born: str | None = None) -> Person:
        details = {"full_name": full_name, "aliases": aliases, "date_of_birth": born}
        return people.create_person(ctx_r, team.id, details)

    return make


@pytest.fixture
def pair(person: Callable[..., Person], team: Team) -> dict[str, Any]:
    """The same man recorded twice: Latin with an act of each kind, and Cyrillic."""
    kept = person("Movsar Demoev", None, "1994-05-17")
    duplicate = person("Мовсар Демоев", "Movsik", "1994-05-17")
    incident = IncidentFactory(team_id=team.id)
    kept_act = ActFactory(team_id=team.id, person_id=kept.id, incident_id=incident.id)
    acts = [
        ActFactory(team_id=team.id, person_id=duplicate.id, incident_id=incident.id)
        for _ in range(2)
    ]
    consent = ConsentFactory(team_id=team.id, person_id=duplicate.id, use=ConsentUse.KEEP)
    return {
        "kept": kept,
        "duplicate": duplicate,
        "kept_act": kept_act,
        "acts": acts,
        "consent": consent,
        "incident": incident,
    }


def _owner(session: Session, model: type[Any], record_id: uuid.UUID) -> uuid.UUID:
    session.expire_all()
    return session.scalars(select(model.person_id).where(model.id == record_id)).one()


def _owners(session: Session, pair: dict[str, Any]) -> dict[str, uuid.UUID]:
    owners = {str(a.id): _owner(session, Act, a.id) for a in [pair["kept_act"], *pair["acts"]]}
    owners[str(pair["consent"].id)] = _owner(session, Consent, pair["consent"].id)
    return owners


def _merge(ctx: Context, pair: dict[str, Any]) -> person_merge.MergeNote:
    return person_merge.merge(ctx, pair["kept"].reference, pair["duplicate"].reference)


# -- review ------------------------------------------------------------------------------


def test_the_review_shows_both_decrypted_with_what_would_move_and_changes_nothing(
    db_session: Session, ctx_r: Context, pair: dict[str, Any]
) -> None:
    kept, duplicate = pair["kept"], pair["duplicate"]
    before = _owners(db_session, pair)
    decryptions = count_events(db_session, "secret.decrypt")
    review = person_merge.review(ctx_r, kept.reference, duplicate.reference.lower())
    assert (review.kept.full_name, review.duplicate.full_name) == ("Movsar Demoev", "Мовсар Демоев")
    assert review.duplicate.aliases == ("Movsik",)
    assert len(review.kept.acts) == 1 and len(review.duplicate.acts) == 2
    assert review.duplicate.acts[0].incident_reference == pair["incident"].reference
    assert [c.use for c in review.duplicate.consents] == [ConsentUse.KEEP]
    assert count_events(db_session, "secret.decrypt") == decryptions + 2
    for record in (kept, duplicate):
        [event] = [e for e in events(db_session, "secret.decrypt", record) if e.detail]
        assert event.detail == {"purpose": "merge review"}
    assert _owners(db_session, pair) == before
    assert count_events(db_session, "person.merge") == 0


# -- merge and undo ----------------------------------------------------------------------


def test_a_merge_moves_acts_and_consents_keeps_both_records_and_is_audited(
    db_session: Session, ctx_r: Context, pair: dict[str, Any], researcher: User
) -> None:
    kept, duplicate = pair["kept"], pair["duplicate"]
    note = _merge(ctx_r, pair)
    assert (note.kept_reference, note.merged_reference) == (kept.reference, duplicate.reference)
    assert (note.acts, note.consents) == (2, 1)
    owners = _owners(db_session, pair)
    assert set(owners.values()) == {kept.id}
    # Nothing is deleted: the duplicate is still there with its own names.
    assert db_session.get(Person, duplicate.id) is not None
    assert ctx_r.vault.unseal(duplicate, "full_name")["full_name"] == "Мовсар Демоев"
    row = db_session.get(PersonMerge, note.merge_id)
    assert row is not None and row.merged_by == researcher.email
    assert sorted(row.moved_act_ids) == sorted(str(a.id) for a in pair["acts"])
    assert row.moved_consent_ids == [str(pair["consent"].id)]
    [event] = events(db_session, "person.merge", duplicate)
    assert event.actor == researcher.email and event.team_id == kept.team_id
    assert event.detail["into"] == kept.reference and event.detail["merge"] == str(row.id)
    assert sorted(event.detail["acts"]) == sorted(row.moved_act_ids)
    # Each move is the generic update of the act or consent: its own event, its lock moved.
    for record in [*pair["acts"], pair["consent"]]:
        [update] = events(db_session, "record.update", record)
        assert update.fields == ["person"]
        assert record.lock_version == 2
    assert count_events(db_session, "record.update", pair["kept_act"]) == 0
    state = person_merge.merge_state(ctx_r, duplicate.reference)
    assert state.merged_into is not None and state.merged_into.kept_reference == kept.reference
    [here] = person_merge.merge_state(ctx_r, kept.reference).merged_here
    assert here.merged_reference == duplicate.reference


def test_undo_moves_back_exactly_what_moved(
    db_session: Session, ctx_r: Context, pair: dict[str, Any], team: Team
) -> None:
    kept, duplicate = pair["kept"], pair["duplicate"]
    before = _owners(db_session, pair)
    note = _merge(ctx_r, pair)
    # Recorded on the kept person after the merge: it stays with them.
    later = ActFactory(team_id=team.id, person_id=kept.id, incident_id=pair["incident"].id)
    undone = person_merge.undo(ctx_r, note.merge_id)
    assert undone.undone_at is not None
    assert _owners(db_session, pair) == before
    assert _owner(db_session, Act, later.id) == kept.id
    [event] = events(db_session, "person.unmerge", duplicate)
    assert event.detail["from"] == kept.reference and event.detail["merge"] == str(note.merge_id)
    row = db_session.get(PersonMerge, note.merge_id)
    assert row is not None and row.undone_by == ctx_r.actor.label
    assert person_merge.merge_state(ctx_r, duplicate.reference).merged_into is None
    assert person_merge.merge_state(ctx_r, kept.reference).merged_here == ()
    with pytest.raises(ValidationError, match="already undone"):
        person_merge.undo(ctx_r, note.merge_id)
    # Undone, the two can be merged again (the one-active-merge index counts undone ones out).
    assert _merge(ctx_r, pair).acts == 2


def test_undo_is_refused_when_what_moved_is_no_longer_with_the_kept_person(
    db_session: Session, ctx_r: Context, pair: dict[str, Any], person: Callable[..., Person]
) -> None:
    note = _merge(ctx_r, pair)
    third = person("Aslan Third")
    act = pair["acts"][0]
    records.update(ctx_r, ACT, act.id, {"person": third.reference}, lock_version=act.lock_version)
    before = _owners(db_session, pair)
    with pytest.raises(ValidationError, match="no longer with"):
        person_merge.undo(ctx_r, note.merge_id)
    assert _owners(db_session, pair) == before
    assert count_events(db_session, "person.unmerge") == 0


def test_undo_is_refused_once_either_person_is_erased(ctx_r: Context, pair: dict[str, Any]) -> None:
    note = _merge(ctx_r, pair)
    erase_record(ctx_r, pair["kept"].reference, "consent_withdrawn")
    with pytest.raises(ValidationError, match="was erased"):
        person_merge.undo(ctx_r, note.merge_id)


def test_a_merge_refuses_what_changed_after_the_review(
    db_session: Session, ctx_r: Context, pair: dict[str, Any], team: Team
) -> None:
    kept, duplicate = pair["kept"], pair["duplicate"]
    review = person_merge.review(ctx_r, kept.reference, duplicate.reference)
    ActFactory(team_id=team.id, person_id=duplicate.id, incident_id=pair["incident"].id)
    with pytest.raises(ValidationError, match="changed after the comparison") as refused:
        person_merge.merge(
            ctx_r, kept.reference, duplicate.reference, fingerprint=review.fingerprint
        )
    assert "duplicate" in refused.value.errors
    assert count_events(db_session, "person.merge") == 0
    again = person_merge.review(ctx_r, kept.reference, duplicate.reference)
    note = person_merge.merge(
        ctx_r, kept.reference, duplicate.reference, fingerprint=again.fingerprint
    )
    assert note.acts == 3


# -- refusals ----------------------------------------------------------------------------


def test_the_same_person_twice_is_refused(ctx_r: Context, pair: dict[str, Any]) -> None:
    reference = pair["kept"].reference
    with pytest.raises(ValidationError, match="itself") as refused:
        person_merge.merge(ctx_r, reference, reference)
    assert set(refused.value.errors) == {"duplicate"}


@pytest.mark.parametrize("typed", ["", "   ", "Movsar", "PER-12", "x" * 500, "INC-2017-0001"])
def test_what_is_not_a_persons_reference_is_refused_beside_the_field(
    ctx_r: Context, pair: dict[str, Any], typed: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        person_merge.review(ctx_r, pair["kept"].reference, typed)
    assert set(refused.value.errors) == {"duplicate"}


def test_an_already_merged_person_is_refused_either_way(
    ctx_r: Context, pair: dict[str, Any], person: Callable[..., Person]
) -> None:
    kept, duplicate = pair["kept"], pair["duplicate"]
    _merge(ctx_r, pair)
    third = person("Movsar Demoev Third")
    with pytest.raises(ValidationError, match=f"already merged into {kept.reference}"):
        person_merge.merge(ctx_r, third.reference, duplicate.reference)
    with pytest.raises(ValidationError, match=f"merge other records into {kept.reference}"):
        person_merge.merge(ctx_r, duplicate.reference, third.reference)
    # No chains: a person with records merged into them is not merged into a third.
    with pytest.raises(ValidationError, match="Other records were merged into"):
        person_merge.merge(ctx_r, third.reference, kept.reference)
    assert person_merge.start(ctx_r, duplicate.reference).refusal is not None


def test_an_erased_person_is_refused_either_way(
    ctx_r: Context, pair: dict[str, Any], person: Callable[..., Person]
) -> None:
    kept, duplicate = pair["kept"], pair["duplicate"]
    erase_record(ctx_r, duplicate.reference, "consent_withdrawn")
    with pytest.raises(ValidationError, match="erased"):
        _merge(ctx_r, pair)
    with pytest.raises(ValidationError, match="erased"):
        person_merge.merge(ctx_r, duplicate.reference, kept.reference)
    assert "erased" in (person_merge.start(ctx_r, duplicate.reference).refusal or "")


def test_another_teams_people_and_merges_are_not_found(
    db_session: Session, context_for: ContextFor, ctx_r: Context, pair: dict[str, Any]
) -> None:
    other_team = TeamFactory()
    outsider = context_for(UserFactory(role=Role.RESEARCHER, teams=[other_team]))
    stranger = people.create_person(outsider, other_team.id, {"full_name": "Movsar Demoev"})
    kept = pair["kept"]
    with pytest.raises(NotFound):
        person_merge.review(outsider, kept.reference, stranger.reference)
    with pytest.raises(NotFound):
        person_merge.start(outsider, kept.reference)
    # Typed as the other record, another team's person is no person: the same message.
    with pytest.raises(ValidationError) as other:
        person_merge.merge(ctx_r, kept.reference, stranger.reference)
    with pytest.raises(ValidationError) as missing:
        person_merge.merge(ctx_r, kept.reference, "PER-9999999")
    assert other.value.errors["duplicate"] == missing.value.errors["duplicate"].replace(
        "PER-9999999", stranger.reference
    )
    note = _merge(ctx_r, pair)
    with pytest.raises(NotFound):
        person_merge.undo(outsider, note.merge_id)
    with pytest.raises(NotFound):
        person_merge.undo(ctx_r, uuid.uuid4())
    assert count_events(db_session, "person.unmerge") == 0


def test_people_of_two_teams_are_not_merged(
    context_for: ContextFor, team: Team, pair: dict[str, Any]
) -> None:
    second = TeamFactory()
    both = context_for(UserFactory(role=Role.RESEARCHER, teams=[team, second]))
    elsewhere = people.create_person(both, second.id, {"full_name": "Movsar Demoev"})
    with pytest.raises(ValidationError, match="another team"):
        person_merge.merge(both, pair["kept"].reference, elsewhere.reference)


@pytest.mark.parametrize("role", [Role.ADVOCACY_LEAD, Role.AUDITOR])
def test_only_researchers_merge_or_undo(
    context_for: ContextFor, ctx_r: Context, team: Team, pair: dict[str, Any], role: Role
) -> None:
    other = context_for(UserFactory(role=role, teams=[team]))
    with pytest.raises(PermissionDenied):
        person_merge.review(other, pair["kept"].reference, pair["duplicate"].reference)
    with pytest.raises(PermissionDenied):
        _merge(other, pair)
    note = _merge(ctx_r, pair)
    with pytest.raises(PermissionDenied):
        person_merge.undo(other, note.merge_id)


# -- finding people after a merge ---------------------------------------------------------


def test_searches_point_from_the_merged_record_to_the_kept_one(
    ctx_r: Context, pair: dict[str, Any], team: Team
) -> None:
    kept, duplicate = pair["kept"], pair["duplicate"]
    note = _merge(ctx_r, pair)
    # Only the duplicate is called Movsik: it is shown, pointing to the person kept.
    [match] = person_matching.search_people(ctx_r, "Movsik")
    assert (match.reference, match.merged_into) == (duplicate.reference, kept.reference)
    # Both match the full name: the person kept alone is shown.
    found = person_matching.search_people(ctx_r, "Movsar Demoev")
    assert [(m.reference, m.merged_into) for m in found] == [(kept.reference, None)]
    suggested = person_matching.possible_duplicates(ctx_r, team.id, {"full_name": "Movsik"})
    assert [(m.reference, m.merged_into) for m in suggested] == [
        (duplicate.reference, kept.reference)
    ]
    person_merge.undo(ctx_r, note.merge_id)
    found = person_matching.search_people(ctx_r, "Movsar Demoev")
    assert sorted((m.reference, m.merged_into) for m in found) == sorted(
        [(kept.reference, None), (duplicate.reference, None)]
    )


def test_the_merge_page_suggests_possible_duplicates_but_not_the_person_itself(
    db_session: Session, ctx_r: Context, pair: dict[str, Any]
) -> None:
    kept, duplicate = pair["kept"], pair["duplicate"]
    start = person_merge.start(ctx_r, kept.reference)
    assert start.refusal is None
    assert [m.reference for m in start.suggestions] == [duplicate.reference]
    # The kept person is decrypted once, to look for others; then each candidate once.
    purposes = [e.detail.get("purpose") for e in events(db_session, "secret.decrypt", kept)]
    assert purposes.count("duplicate check") == 1
    assert person_merge.start(ctx_r, kept.reference, suggest=False).suggestions == ()


def test_suggestions_survive_a_stored_date_of_birth_that_is_not_a_date(
    ctx_r: Context, pair: dict[str, Any]
) -> None:
    kept, duplicate = pair["kept"], pair["duplicate"]
    ctx_r.vault.seal(kept, date_of_birth="about 1994")  # as an older import may have left it
    start = person_merge.start(ctx_r, kept.reference)
    assert [m.reference for m in start.suggestions] == [duplicate.reference]


def test_a_merged_duplicate_cannot_be_linked_and_points_to_the_kept_person(
    ctx_r: Context, pair: dict[str, Any], team: Team
) -> None:
    kept, duplicate = pair["kept"], pair["duplicate"]
    note = _merge(ctx_r, pair)
    new_act = {"person": duplicate.reference, "incident": pair["incident"].reference}
    with pytest.raises(ValidationError) as refused:
        records.create(ctx_r, ACT, {**new_act, "act_type": "detained"}, team_id=team.id)
    assert refused.value.errors == {
        "person": f"{duplicate.reference} was merged into {kept.reference}; link {kept.reference}."
    }
    person_merge.undo(ctx_r, note.merge_id)  # undone, the duplicate is a person of its own
    act = records.create(ctx_r, ACT, {**new_act, "act_type": "detained"}, team_id=team.id)
    assert act.person_id == duplicate.id


def test_withdrawing_a_use_after_a_merge_withdraws_every_grant_of_it(
    ctx_r: Context, pair: dict[str, Any], team: Team
) -> None:
    """Both records of the person held consent to keep their data; merged, the kept
    person has two grants of that use. Withdrawn once, the use is withdrawn whole."""
    kept = pair["kept"]
    own = ConsentFactory(team_id=team.id, person_id=kept.id, use=ConsentUse.KEEP)
    _merge(ctx_r, pair)
    assert consent.allows(kept, ConsentUse.KEEP)
    consent.revoke(ctx_r, own.id, "2018-01-10", own.lock_version)
    assert not consent.allows(kept, ConsentUse.KEEP)
    moved = ctx_r.session.get(Consent, pair["consent"].id)
    assert moved is not None and moved.revoked_on is not None
    assert moved.revoked_on.isoformat() == "2018-01-10"
