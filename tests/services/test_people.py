"""People and their blind indexes on SQLite and PostgreSQL (security check 9): entries of the
configured width under the primary key, matches confirmed by decryption (false positives
never returned), teams kept apart, duplicates suggested, rotation and reindexing, erasure,
and the `incidents keys reindex` command."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incidents.cli import cli
from incidents.context import Context
from incidents.crypto.blind_index import BlindIndexer
from incidents.crypto.keys import KeyProvider, StaticKeyProvider, generate_master_key
from incidents.errors import NotFound, PermissionDenied, ValidationError
from incidents.models import AuditEvent, BlindIndexEntry, Person, Team, User
from incidents.models.vocabularies import Role
from incidents.names import normalise_name
from incidents.repositories import blind_indexes as index_queries
from incidents.services import blind_indexing, keys, people, person_matching
from incidents.services.erasure import erase_record
from incidents.services.person_matching import MatchedOn, MatchKind
from incidents.vault import FieldVault
from tests import helpers
from tests.factories import SourceFactory, TeamFactory, UserFactory
from tests.helpers import invoke

WIDTH = 8

ContextFor = Callable[..., Context]


@pytest.fixture
def team(db_session: Session) -> Team:
    return TeamFactory()


@pytest.fixture
def researcher(team: Team) -> User:
    return UserFactory(role=Role.RESEARCHER, teams=[team])


def _as(
    context_for: ContextFor,
    principal: Any,
    width: int = WIDTH,
    provider: KeyProvider | None = None,
) -> Context:
    """A context acting as `principal` at blind-index `width` (with `provider`'s keys)."""
    ctx = context_for(principal, blind_index_bytes=width)
    return ctx if provider is None else ctx.with_keys(provider)


def _details(
    full_name: str, aliases: str | None = None, born: str | None = None, contact: str | None = None
) -> dict[str, str]:
    given = {"full_name": full_name, "aliases": aliases, "date_of_birth": born, "contact": contact}
    return {name: value for name, value in given.items() if value is not None}


Create = Callable[..., Person]


@pytest.fixture
def create(context_for: ContextFor, researcher: User, team: Team) -> Create:
    """Record a person through the service (as the team's researcher, unless told)."""

    def make(
        full_name: str, aliases: str | None = None, born: str | None = None, **kw: Any
    ) -> Person:
        ctx = _as(
            context_for,
            kw.pop("user", researcher),
            kw.pop("width", WIDTH),
            kw.pop("provider", None),
        )
        return people.create_person(
            ctx,
            kw.pop("team", team).id,
            _details(full_name, aliases, born, kw.pop("contact", None)),
        )

    return make


def _entries(session: Session, record: Any) -> list[BlindIndexEntry]:
    return list(index_queries.entries_of(session, record.__tablename__, record.id))


def _decryptions(session: Session) -> list[AuditEvent]:
    return helpers.events(session, "secret.decrypt")


def _search(
    context_for: ContextFor,
    provider: KeyProvider | None,
    user: User,
    query: str,
    width: int = WIDTH,
) -> list[person_matching.PersonMatch]:
    return person_matching.search_people(_as(context_for, user, width, provider), query)


# -- entries -----------------------------------------------------------------------------


@pytest.mark.parametrize("width", [2, 8, 32])
def test_entries_have_the_configured_width_and_the_primary_key(
    db_session: Session, create: Create, provider: KeyProvider, vault: FieldVault, width: int
) -> None:
    person = create("Мовсар Демоев", "Mova\nMovsar Demoyev", "1994-05-17", width=width)
    entries = _entries(db_session, person)
    assert {len(e.value) for e in entries} == {width}
    assert {e.master_key_id for e in entries} == {provider.primary().key_id}
    assert {e.team_id for e in entries} == {person.team_id}
    assert sorted(e.index_name for e in entries) == [
        "person_dob",
        "person_name",  # the full name and "Movsar Demoyev": the same normalised name
        "person_name",  # "Mova"
        "person_name_token",
        "person_name_token",
        "person_name_token",
    ]
    plain = vault.unseal(person, "full_name", "date_of_birth")
    assert plain == {"full_name": "Мовсар Демоев", "date_of_birth": "1994-05-17"}


def test_input_is_checked_before_anything_is_written(db_session: Session, create: Create) -> None:
    for name, aliases, born, field in [
        ("  ", None, None, "full_name"),
        ("x" * 301, None, None, "full_name"),
        ("Movsar Demoev", None, "17.05.1994", "date_of_birth"),
        ("Movsar Demoev", None, "2999-01-01", "date_of_birth"),
        ("Movsar Demoev", "\n".join(f"alias {i}" for i in range(51)), None, "aliases"),
    ]:
        with pytest.raises(ValidationError) as error:
            create(name, aliases, born)
        assert field in error.value.errors
    assert db_session.scalar(select(func.count()).select_from(Person)) == 0


def test_only_researchers_of_the_team_may_create(
    db_session: Session, create: Create, team: Team
) -> None:
    with pytest.raises(PermissionDenied):
        create("Movsar Demoev", user=UserFactory(role=Role.ADVOCACY_LEAD, teams=[team]))
    with pytest.raises(NotFound):
        create("Movsar Demoev", team=TeamFactory())  # not a team of the researcher


# -- search ------------------------------------------------------------------------------


def test_search_finds_exact_transliterated_and_partial_matches(
    db_session: Session,
    context_for: ContextFor,
    create: Create,
    provider: KeyProvider,
    researcher: User,
) -> None:
    person = create("Зелимхан Тестоев", "Zelimkhan\nЗелимхан Тестоев-Младший")
    create("Someone Else")

    def found(query: str) -> list[tuple[str, MatchKind, MatchedOn]]:
        return [
            (m.reference, m.kind, m.matched_on)
            for m in _search(context_for, provider, researcher, query)
        ]

    ref = person.reference
    assert found("тестоев  ЗЕЛИМХАН") == [(ref, MatchKind.EXACT, MatchedOn.FULL_NAME)]
    assert found("Zelimkhan Testoyev") == [(ref, MatchKind.TRANSLITERATED, MatchedOn.FULL_NAME)]
    assert found("Testoev") == [(ref, MatchKind.PARTIAL, MatchedOn.FULL_NAME)]
    assert found("zelimkhan") == [(ref, MatchKind.EXACT, MatchedOn.ALIAS)]
    assert found("Mladshiy Testoev") == [(ref, MatchKind.PARTIAL, MatchedOn.ALIAS)]
    assert found("Zelimkhan Ivanov") == []  # every word must match
    assert found("Nobody") == []
    match = _search(context_for, provider, researcher, "Zelimkhan Testoyev")[0]
    assert match.full_name == "Зелимхан Тестоев"
    assert match.matched_name == "Зелимхан Тестоев"


def test_search_by_date_of_birth(
    db_session: Session,
    context_for: ContextFor,
    create: Create,
    provider: KeyProvider,
    researcher: User,
) -> None:
    born = create("Adam Primerov", born="1991-04-17")
    create("Adlan Primerov", born="1991-04")
    matches = _search(context_for, provider, researcher, "1991-4-17")
    assert [(m.reference, m.matched_on) for m in matches] == [
        (born.reference, MatchedOn.DATE_OF_BIRTH)
    ]
    assert [m.full_name for m in _search(context_for, provider, researcher, "1991-04")] == [
        "Adlan Primerov"
    ]


def test_an_empty_or_overlong_query_is_refused(
    context_for: ContextFor, provider: KeyProvider, researcher: User
) -> None:
    for query in ("   ", "x" * 301):
        with pytest.raises(ValidationError):
            _search(context_for, provider, researcher, query)


def test_every_candidate_decrypted_is_one_audit_event(
    db_session: Session,
    context_for: ContextFor,
    create: Create,
    provider: KeyProvider,
    researcher: User,
) -> None:
    first = create("Movsar Demoev")
    second = create("Movsar Aslanovich Demoev")
    create("Adam Primerov")
    before = len(_decryptions(db_session))
    matches = _search(context_for, provider, researcher, "Movsar Demoev")
    assert [m.reference for m in matches] == [first.reference, second.reference]
    events = _decryptions(db_session)[before:]
    assert sorted(e.target_ref or "" for e in events) == sorted([first.reference, second.reference])
    assert all(e.actor_id == researcher.id for e in events)
    assert all(e.detail == {"purpose": "search"} for e in events)
    assert all(e.fields == ["aliases", "date_of_birth", "full_name"] for e in events)


def _colliding(indexer: BlindIndexer, index_name: str, term: str, prefix: str) -> str:
    """A made-up word whose value (in `index_name`, at the indexer's width) equals `term`'s."""
    master = indexer.provider.primary()
    wanted = indexer.value(master, index_name, term)
    for number in range(100_000):
        word = f"{prefix}{number}"
        if indexer.value(master, index_name, normalise_name(word)) == wanted:
            return word
    raise AssertionError("no collision found")  # pragma: no cover - 1 byte: ~256 tries


def test_with_one_byte_collisions_never_reach_the_user(
    db_session: Session,
    context_for: ContextFor,
    create: Create,
    provider: KeyProvider,
    researcher: User,
) -> None:
    """Width forced to 1 byte: the index finds impostors, decryption throws them out."""
    indexer = BlindIndexer(provider, 1)
    target = create("Movsar Demoev", width=1)
    # An impostor whose whole name has the target's whole-name value...
    whole = _colliding(indexer, "person_name", "demoev movsar", "wholename")
    impostor_whole = create(whole, width=1)
    # ...and one whose two words have the values of the target's two words.
    first = _colliding(indexer, "person_name_token", "movsar", "firstname")
    last = _colliding(indexer, "person_name_token", "demoev", "lastname")
    impostor_words = create(f"{first} {last}", width=1)
    filler = [create(f"Filler{n} Person{n}", width=1) for n in range(20)]
    before = len(_decryptions(db_session))

    matches = _search(context_for, provider, researcher, "Movsar Demoev", width=1)

    assert [m.reference for m in matches] == [target.reference]
    decrypted = {e.target_ref for e in _decryptions(db_session)[before:]}
    # The impostors were candidates (so the index alone would have shown them) ...
    assert {impostor_whole.reference, impostor_words.reference} <= decrypted
    assert target.reference in decrypted
    # ... and no one else was decrypted: the index still narrowed the search.
    assert len(decrypted) < 3 + len(filler)


def test_another_teams_person_never_matches(
    db_session: Session,
    context_for: ContextFor,
    create: Create,
    provider: KeyProvider,
    researcher: User,
    team: Team,
) -> None:
    ours = create("Movsar Demoev", born="1994-05-17")
    other_team = TeamFactory()
    outsider = UserFactory(role=Role.RESEARCHER, teams=[other_team])
    theirs = create("Movsar Demoev", born="1994-05-17", user=outsider, team=other_team)
    before = len(_decryptions(db_session))
    for query in ("Movsar Demoev", "Demoev", "1994-05-17"):
        assert [m.reference for m in _search(context_for, provider, researcher, query)] == [
            ours.reference
        ]
        assert [m.reference for m in _search(context_for, provider, outsider, query)] == [
            theirs.reference
        ]
    # The other team's person was not even decrypted for this researcher.
    events = _decryptions(db_session)[before:]
    assert {e.target_ref for e in events if e.actor_id == researcher.id} == {ours.reference}
    duplicates = person_matching.possible_duplicates(
        _as(context_for, researcher), team.id, _details("Movsar Demoev")
    )
    assert [d.reference for d in duplicates] == [ours.reference]


@pytest.mark.parametrize("role", [Role.ADVOCACY_LEAD, Role.AUDITOR, Role.ADMIN])
def test_only_researchers_may_search(
    context_for: ContextFor, provider: KeyProvider, team: Team, role: Role
) -> None:
    with pytest.raises(PermissionDenied):
        _search(context_for, provider, UserFactory(role=role, teams=[team]), "Movsar")


# -- duplicates --------------------------------------------------------------------------


def test_duplicates_are_suggested_before_a_person_is_created(
    db_session: Session,
    context_for: ContextFor,
    create: Create,
    researcher: User,
    team: Team,
) -> None:
    existing = create("Мовсар Демоев", "Mova", "1994-05-17")
    create("Adam Primerov")

    def suggest(name: str, aliases: str | None = None, born: str | None = None) -> list[Any]:
        found = person_matching.possible_duplicates(
            _as(context_for, researcher), team.id, _details(name, aliases, born)
        )
        return [(d.reference, d.kind, d.matched_on) for d in found]

    ref = existing.reference
    assert suggest("Movsar Demoyev") == [(ref, MatchKind.TRANSLITERATED, MatchedOn.FULL_NAME)]
    assert suggest("Someone New", "MOVA") == [(ref, MatchKind.EXACT, MatchedOn.ALIAS)]
    assert suggest("Movsar Aslanovich Demoev") == [(ref, MatchKind.PARTIAL, MatchedOn.FULL_NAME)]
    assert suggest("Adam Demoev", None, "1994-05-17") == [
        (ref, MatchKind.PARTIAL, MatchedOn.DATE_OF_BIRTH)
    ]
    assert suggest("Movsar Ivanov") == []  # one shared first name is not enough
    assert suggest("Adlan Ivanov", None, "1994-05-17") == []  # nor a birthday alone

    count = db_session.scalar(select(func.count()).select_from(Person))
    outcome = people.register_person(
        _as(context_for, researcher), team.id, _details("Movsar Demoyev")
    )
    assert outcome.person is None
    assert [d.reference for d in outcome.duplicates] == [ref]
    assert db_session.scalar(select(func.count()).select_from(Person)) == count
    confirmed = people.register_person(
        _as(context_for, researcher),
        team.id,
        _details("Movsar Demoyev"),
        confirmed_different=True,
    )
    assert confirmed.person is not None and confirmed.person.reference != ref
    assert db_session.scalar(select(func.count()).select_from(Person)) == count + 1


# -- rotation and reindexing ---------------------------------------------------------------


def test_entries_made_under_an_old_key_are_found_after_a_rotation(
    db_session: Session,
    context_for: ContextFor,
    create: Create,
    provider: KeyProvider,
    researcher: User,
) -> None:
    old = provider.primary()
    before = create("Zelimkhan Testoev", born="1990")
    new = generate_master_key()
    rotated = StaticKeyProvider([new, old], new.key_id, "test: rotated")
    after = create("Зелимхан Тестоев", provider=rotated)
    assert {e.master_key_id for e in _entries(db_session, before)} == {old.key_id}
    assert {e.master_key_id for e in _entries(db_session, after)} == {new.key_id}
    found = _search(context_for, rotated, researcher, "Zelimkhan Testoyev")
    assert sorted(m.reference for m in found) == sorted([before.reference, after.reference])
    # The old provider does not hold the new key, so it finds only the old entries.
    assert [m.reference for m in _search(context_for, provider, researcher, "Testoev")] == [
        before.reference
    ]


def test_reindex_moves_every_entry_to_the_primary_key(
    db_session: Session,
    context_for: ContextFor,
    create: Create,
    provider: KeyProvider,
    researcher: User,
    team: Team,
) -> None:
    old = provider.primary()
    persons = [create("Movsar Demoev", "Mova", "1994-05-17"), create("Adam Primerov")]
    source = SourceFactory(team_id=team.id, secrets={"identity": "Зарема Примерова, sister"})
    # The factory indexes the source as the service does; as if it had been made before
    # sources were indexed, it starts with no entries.
    index_queries.delete_entries(db_session, "sources", [source.id])
    assert _entries(db_session, source) == []
    counted = {p.id: len(_entries(db_session, p)) for p in persons}
    new = generate_master_key()
    rotated = StaticKeyProvider([new, old], new.key_id, "test: rotated")
    progress: list[int] = []

    operator = _as(context_for, helpers.TEST_OPERATOR, WIDTH, rotated)
    outcome = blind_indexing.reindex_all(operator, progress.append, batch_size=1)

    assert outcome.master_key_id == new.key_id
    assert outcome.records == {"incidents": 0, "sources": 1, "persons": 2, "involvements": 0}
    assert progress == [1, 1, 1]  # one call per batch
    assert index_queries.count_by_master_key(db_session) == {new.key_id: outcome.entries}
    for person in persons:
        assert len(_entries(db_session, person)) == counted[person.id]
    assert {e.index_name for e in _entries(db_session, source)} == {
        "source_identity",
        "source_identity_token",
    }
    assert helpers.count_events(db_session, "blind_index.rebuild") == 3
    # Idempotent: a second run leaves the same entries.
    values = sorted(e.value for p in persons for e in _entries(db_session, p))
    blind_indexing.reindex_all(operator, progress.append)
    assert sorted(e.value for p in persons for e in _entries(db_session, p)) == values
    # Once data keys are re-wrapped too, the old key can go and people are still found.
    keys.rewrap_all(operator)
    only_new = StaticKeyProvider([new], new.key_id, "test: old key retired")
    assert [m.reference for m in _search(context_for, only_new, researcher, "Movsar Demoyev")] == [
        persons[0].reference
    ]


# -- erasure -----------------------------------------------------------------------------


def test_an_erased_person_has_no_entries_and_is_never_found(
    db_session: Session,
    context_for: ContextFor,
    create: Create,
    provider: KeyProvider,
    researcher: User,
) -> None:
    person = create("Movsar Demoev", "Mova", "1994-05-17")
    assert _entries(db_session, person)
    erase_record(_as(context_for, researcher), person.reference, "consent_withdrawn")
    assert _entries(db_session, person) == []
    for query in ("Movsar Demoev", "Mova", "1994-05-17"):
        assert _search(context_for, provider, researcher, query) == []
    # Not even an entry left behind by mistake makes it reappear, nor does reindexing.
    operator = _as(context_for, helpers.TEST_OPERATOR)
    blind_indexing.index_record(
        operator, person, {"full_name": "Movsar Demoev", "aliases": None, "date_of_birth": None}
    )
    assert _search(context_for, provider, researcher, "Movsar Demoev") == []
    blind_indexing.reindex_all(operator)
    assert _entries(db_session, person) == []
    with pytest.raises(NotFound):
        people.view_person(_as(context_for, UserFactory()), person.reference)
    view = people.view_person(_as(context_for, researcher), person.reference)
    assert view.erasure is not None and view.erasure.reason == "consent withdrawn"
    assert (view.full_name, view.aliases, view.date_of_birth, view.contact) == (
        None,
        (),
        None,
        None,
    )


def test_a_reference_finds_the_person_or_says_they_were_erased(
    db_session: Session,
    context_for: ContextFor,
    create: Create,
    provider: KeyProvider,
    researcher: User,
) -> None:
    person = create("Movsar Demoev", "Mova")
    before = helpers.count_events(db_session, "secret.decrypt")
    [found] = _search(context_for, provider, researcher, person.reference.lower())
    assert (found.reference, found.full_name) == (person.reference, "Movsar Demoev")
    assert (found.kind, found.matched_on, found.erased) == (
        MatchKind.EXACT,
        MatchedOn.REFERENCE,
        False,
    )
    assert helpers.count_events(db_session, "secret.decrypt") == before + 1
    # Another team's researcher finds nobody, as for a name nobody has.
    stranger = UserFactory(role=Role.RESEARCHER, teams=[TeamFactory()])
    assert _search(context_for, provider, stranger, person.reference) == []
    assert _search(context_for, provider, researcher, "PER-9999") == []

    erase_record(_as(context_for, researcher), person.reference, "consent_withdrawn")
    before = helpers.count_events(db_session, "secret.decrypt")
    [erased] = _search(context_for, provider, researcher, person.reference)
    assert (erased.reference, erased.full_name, erased.erased) == (person.reference, None, True)
    assert helpers.count_events(db_session, "secret.decrypt") == before  # nothing to decrypt


def test_index_record_needs_every_indexed_field(
    db_session: Session, context_for: ContextFor, create: Create
) -> None:
    person = create("Movsar Demoev", "Mova")
    operator = _as(context_for, helpers.TEST_OPERATOR)
    with pytest.raises(ValueError, match="aliases"):
        blind_indexing.index_record(operator, person, {"full_name": "Adam"})
    blind_indexing.index_record(
        operator, person, {"full_name": "Adam Primerov", "aliases": None, "date_of_birth": None}
    )
    assert len(_entries(db_session, person)) == 3  # whole name and two words; Mova is gone


# -- the command ---------------------------------------------------------------------------


def test_keys_reindex_command_rebuilds_at_the_configured_width(
    app: Flask, db_session: Session, create: Create, provider: KeyProvider
) -> None:
    person = create("Movsar Demoev", "Mova", width=3)  # as if blind_index_bytes was 3
    result = invoke(app, cli, "keys", "reindex", "--batch-size", "1")

    assert result.exit_code == 0, result.output
    summary = result.stdout.strip().splitlines()
    assert len(summary) == 1
    assert summary[0].startswith(
        "reindexed 1 records (0 incidents, 0 sources, 1 persons, 0 involvements): 5 blind-index"
    )
    assert provider.primary().key_id in summary[0]
    assert "Reindexing" in result.stderr  # the progress bar, kept off stdout
    entries = _entries(db_session, person)
    assert {len(e.value) for e in entries} == {8}
    again = invoke(app, cli, "keys", "reindex")
    assert again.exit_code == 0
    assert again.stdout == result.stdout
    assert sorted(e.value for e in _entries(db_session, person)) == sorted(e.value for e in entries)


def test_a_search_matching_too_many_people_asks_for_more_and_decrypts_nothing(
    db_session: Session,
    context_for: ContextFor,
    create: Create,
    provider: KeyProvider,
    researcher: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(person_matching, "MAX_CANDIDATES", 3)
    for index in range(4):
        create(f"Movsar Example{index}")
    before = len(_decryptions(db_session))
    with pytest.raises(ValidationError, match="More than 3 people may match"):
        _search(context_for, provider, researcher, "Movsar")
    assert len(_decryptions(db_session)) == before
    assert len(_search(context_for, provider, researcher, "Movsar Example2")) == 1


# Twelve made-up words, as long Chechen, Arabic or Spanish full names can be.
LONG_FULL_NAME = (
    "Movsar Aslanovich Demoev Primerov Testoev Fiktivov Obraztsov Vymyslov Shablonov "
    "Zelimkhan Timurovich Ruslanov"
)
LONG_NAME = LONG_FULL_NAME.split(" ")


def test_a_long_full_name_is_found_by_any_of_its_words_in_few_statements(
    app: Flask,
    db_session: Session,
    context_for: ContextFor,
    create: Create,
    provider: KeyProvider,
    researcher: User,
) -> None:
    """Twelve words (nine outgrew SQLite's parser once): the person is found, a namesake
    lacking one of the words is not, and the statements do not grow with the words."""
    target = create(" ".join(LONG_NAME))
    create(" ".join([*LONG_NAME[:-1], "Ivanov"]))  # every word but the last
    eleven = [LONG_NAME[-1], *reversed(LONG_NAME[1:-1])]

    def found(words: list[str]) -> list[tuple[str, MatchKind]]:
        matches = _search(context_for, provider, researcher, " ".join(words))
        return [(m.reference, m.kind) for m in matches]

    assert found(list(reversed(LONG_NAME))) == [(target.reference, MatchKind.EXACT)]
    with helpers.count_statements(app) as many_words:
        assert found(eleven) == [(target.reference, MatchKind.PARTIAL)]
    with helpers.count_statements(app) as two_words:
        assert found(eleven[:2]) == [(target.reference, MatchKind.PARTIAL)]
    assert many_words.count == two_words.count, many_words


def test_a_long_name_search_with_one_byte_collisions_returns_only_the_person(
    db_session: Session,
    context_for: ContextFor,
    create: Create,
    provider: KeyProvider,
    researcher: User,
) -> None:
    indexer = BlindIndexer(provider, 1)
    target = create(" ".join(LONG_NAME), width=1)
    # Every word of this impostor has the index value of one of the target's words.
    impostor = create(
        " ".join(
            _colliding(indexer, "person_name_token", normalise_name(word), f"fake{n}x")
            for n, word in enumerate(LONG_NAME)
        ),
        width=1,
    )
    before = len(_decryptions(db_session))

    matches = _search(context_for, provider, researcher, " ".join(LONG_NAME[1:]), width=1)

    assert [m.reference for m in matches] == [target.reference]
    decrypted = {e.target_ref for e in _decryptions(db_session)[before:]}
    assert impostor.reference in decrypted  # a candidate of the index, refused on decryption
