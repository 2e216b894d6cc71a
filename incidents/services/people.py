"""People: recording them with their blind-index entries, finding them without decrypting
everything, suggesting duplicates, and rebuilding the index after a key change.

The index narrows a search to candidates; every candidate is decrypted and its names
normalised again before anyone sees it, so a collision of the truncated index never
reaches a user. Each person decrypted is one `secret.decrypt` audit event.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy.orm import Session

from incidents.audit.log import Actor, record_event
from incidents.crypto import blind_index
from incidents.crypto.blind_index import BlindIndexer, Lookup
from incidents.crypto.keys import KeyProvider
from incidents.crypto.vault import FieldVault
from incidents.errors import NotFound, ValidationError
from incidents.models.blind_index import BlindIndexEntry
from incidents.models.erasure import Erasure
from incidents.models.organisation import Team
from incidents.models.person import Person
from incidents.models.source import Source
from incidents.models.user import User
from incidents.models.vocabularies import AgeBand, Gender
from incidents.permissions import Permission, ensure
from incidents.repositories import blind_indexes as index_queries
from incidents.repositories import people as people_queries
from incidents.services import erasure
from incidents.services.accounts import actor_of
from incidents.services.records import create_record

MAX_NAME = 300
MAX_ALIASES = 50
MAX_CONTACT = 1000
MAX_QUERY = 300
# A search decrypts (and audits) every candidate; a lone common first name would open
# thousands of records. Past this many, the researcher is asked to narrow the search.
MAX_CANDIDATES = 200
EARLIEST_BIRTH_YEAR = 1880
REINDEX_BATCH = 500
NAME_FIELDS = ("full_name", "aliases", "date_of_birth")
# Tables whose records have blind-index entries, and how to rebuild them, in one place.
INDEXED_MODELS: tuple[type[Any], ...] = (Person, Source)


class MatchKind(enum.StrEnum):
    EXACT = "exact"  # spelled the same, case, spacing and word order aside
    TRANSLITERATED = "transliterated"  # the same name in another script or spelling
    PARTIAL = "partial"  # some of the words of a name


_RANK = {MatchKind.EXACT: 0, MatchKind.TRANSLITERATED: 1, MatchKind.PARTIAL: 2}


class MatchedOn(enum.StrEnum):
    FULL_NAME = "full name"
    ALIAS = "alias"
    DATE_OF_BIRTH = "date of birth"


@dataclass(frozen=True)
class PersonMatch:
    """A person confirmed, after decryption, to match; shown only to researchers of the team."""

    reference: str
    full_name: str | None
    kind: MatchKind
    matched_on: MatchedOn
    matched_name: str | None  # the name or alias that matched (None for a date of birth)

    @property
    def sort_key(self) -> tuple[int, str]:
        return _RANK[self.kind], self.reference


@dataclass(frozen=True)
class Registration:
    """The outcome of registering a person: the new record, or the possible duplicates
    the user has to look at first."""

    person: Person | None
    duplicates: list[PersonMatch] = field(default_factory=list)


@dataclass
class PersonView:
    reference: str
    gender: Gender
    age_band: AgeBand
    team_name: str | None
    created_at: datetime
    updated_at: datetime
    secrets: dict[str, str | None] | None = None  # None when erased
    aliases: list[str] = field(default_factory=list)
    acts: list[dict[str, Any]] = field(default_factory=list)
    erasure: Erasure | None = None


@dataclass(frozen=True)
class ReindexOutcome:
    records: dict[str, int]  # table -> records reindexed
    entries: int
    master_key_id: str

    @property
    def total(self) -> int:
        return sum(self.records.values())


@dataclass(frozen=True)
class _Name:
    text: str
    matched_on: MatchedOn


# -- access --------------------------------------------------------------------------------


def ensure_people_access(user: User, *, write: bool = False) -> None:
    """People pages are for researchers: those who may read secret fields (and write)."""
    ensure(user, Permission.FIELDS_SECRET)
    if write:
        ensure(user, Permission.CASE_WRITE)


# -- input ---------------------------------------------------------------------------------


def clean_date_of_birth(text: str | None) -> str | None:
    """A date of birth as stored (YYYY, YYYY-MM or YYYY-MM-DD); ValidationError otherwise."""
    if text is None or not text.strip():
        return None
    normalised = blind_index.normalise_date(text)
    if normalised is None:
        raise ValidationError(
            "the date of birth must look like YYYY, YYYY-MM or YYYY-MM-DD",
            {"date_of_birth": "Use YYYY, YYYY-MM or YYYY-MM-DD, e.g. 1991 or 1991-04-17."},
        )
    today = datetime.now(UTC).date().isoformat()
    if normalised > today[: len(normalised)] or int(normalised[:4]) < EARLIEST_BIRTH_YEAR:
        raise ValidationError(
            "the date of birth is in the future or implausibly early",
            {"date_of_birth": "This date is in the future or before 1880."},
        )
    return normalised


def _clean_names(full_name: str, aliases: str | Sequence[str] | None) -> tuple[str, list[str]]:
    name = " ".join(full_name.split())
    if not name:
        raise ValidationError("a full name is required", {"full_name": "Enter a name."})
    if len(name) > MAX_NAME:
        raise ValidationError(
            "the full name is too long", {"full_name": f"At most {MAX_NAME} characters."}
        )
    text = aliases if isinstance(aliases, str) or aliases is None else "\n".join(aliases)
    lines = [line for line in blind_index.split_lines(text) if line != name]
    if len(lines) > MAX_ALIASES or any(len(line) > MAX_NAME for line in lines):
        raise ValidationError(
            "too many or too long aliases",
            {"aliases": f"At most {MAX_ALIASES} aliases of {MAX_NAME} characters each."},
        )
    return name, lines


def _clean_contact(contact: str | None) -> str | None:
    text = (contact or "").strip()
    if len(text) > MAX_CONTACT:
        raise ValidationError(
            "the contact is too long", {"contact": f"At most {MAX_CONTACT} characters."}
        )
    return text or None


def _ensure_team(user: User, team: Team) -> None:
    ensure(user, Permission.CASE_WRITE, SimpleNamespace(team_id=team.id))


# -- index entries -------------------------------------------------------------------------


def index_record(
    session: Session,
    provider: KeyProvider,
    record: Any,
    values: Mapping[str, str | None],
    *,
    width: int,
    indexer: BlindIndexer | None = None,
) -> int:
    """Replace the record's blind-index entries with those of its plaintext `values`."""
    indexer = indexer or BlindIndexer(provider, width)
    table = record.__tablename__
    index_queries.delete_entries(session, table, [record.id])
    entries = []
    for index_name, term in blind_index.index_terms(table, values):
        key_id, value = indexer.entry(index_name, term)
        entries.append(
            BlindIndexEntry(
                index_name=index_name,
                record_table=table,
                record_id=record.id,
                team_id=record.team_id,
                master_key_id=key_id,
                value=value,
            )
        )
    index_queries.add_entries(session, entries)
    session.flush()
    return len(entries)


def reindex_record(
    session: Session,
    provider: KeyProvider,
    record: Any,
    values: Mapping[str, str | None],
    *,
    width: int,
) -> int:
    """After an update: rebuild the record's entries from its new plaintext `values`.

    Every indexed field of the table must be given (None when empty), so that a field
    left out cannot silently lose its entries.
    """
    missing = [
        f.column for f in blind_index.indexed_fields(record.__tablename__) if f.column not in values
    ]
    if missing:
        raise ValueError(f"reindex_record needs every indexed field; missing {missing}")
    return index_record(session, provider, record, values, width=width)


def reindex_all(
    session: Session,
    provider: KeyProvider,
    progress: Callable[[int], None] | None = None,
    *,
    width: int,
    actor: Actor | None = None,
    batch_size: int = REINDEX_BATCH,
) -> ReindexOutcome:
    """Rebuild every entry of every person and source under the primary key, in batches.

    After each batch is flushed (with one audit event naming how many records it
    decrypted), `progress(records in the batch)` is called: the command line commits
    there, so an interrupted run keeps its finished batches and a new run starts again
    safely (it rebuilds everything; the result is the same). Erased records lose any
    entries left and gain none.
    """
    actor = actor or Actor.command_line()
    indexer = BlindIndexer(provider, width)
    counts: dict[str, int] = {}
    entries = 0
    for model in INDEXED_MODELS:
        table = model.__tablename__
        names = [f.column for f in blind_index.indexed_fields(table)]
        after: uuid.UUID | None = None
        counts[table] = 0
        while True:
            batch = people_queries.record_batch(session, model, after, batch_size)
            if not batch:
                break
            vault = FieldVault(session, provider)  # one per batch: a bounded key cache
            erased = people_queries.erased_ids(session, table, [r.id for r in batch])
            index_queries.delete_entries(session, table, erased)
            made = 0
            for record in batch:
                if record.id in erased:
                    continue
                values = vault.unseal(record, *names)
                made += index_record(
                    session, provider, record, values, width=width, indexer=indexer
                )
            record_event(
                session,
                actor,
                "blind_index.rebuild",
                fields=names,
                detail={
                    "table": table,
                    "records": len(batch),
                    "entries": made,
                    "master_key_id": provider.primary().key_id,
                },
            )
            session.flush()
            entries += made
            counts[table] += len(batch)
            after = batch[-1].id
            if progress is not None:
                progress(len(batch))
    return ReindexOutcome(counts, entries, provider.primary().key_id)


def count_indexed_records(session: Session) -> int:
    """How many records reindex_all goes through (for a progress bar)."""
    return sum(people_queries.count_records(session, model) for model in INDEXED_MODELS)


# -- creating ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonDetails:
    """What is typed in about a person; the identifying parts are sealed when stored."""

    full_name: str
    aliases: str | Sequence[str] | None = None
    date_of_birth: str | None = None
    contact: str | None = None
    gender: Gender = Gender.UNKNOWN
    age_band: AgeBand = AgeBand.UNKNOWN


def create_person(
    session: Session,
    vault: FieldVault,
    provider: KeyProvider,
    actor: Actor,
    user: User,
    team: Team,
    details: PersonDetails,
    *,
    width: int,
) -> Person:
    """Record a person in `team`: seal the identifying fields, write index entries, audit."""
    ensure_people_access(user, write=True)
    _ensure_team(user, team)
    name, alias_lines = _clean_names(details.full_name, details.aliases)
    secrets = {
        "full_name": name,
        "aliases": "\n".join(alias_lines) or None,
        "date_of_birth": clean_date_of_birth(details.date_of_birth),
        "contact": _clean_contact(details.contact),
    }
    person = create_record(
        session,
        vault,
        actor,
        Person,
        secrets=secrets,
        team_id=team.id,
        gender=Gender(details.gender),
        age_band=AgeBand(details.age_band),
    )
    index_record(session, provider, person, secrets, width=width)
    return person


def register_person(
    session: Session,
    vault: FieldVault,
    provider: KeyProvider,
    actor: Actor,
    user: User,
    team: Team,
    details: PersonDetails,
    *,
    width: int,
    confirmed_different: bool = False,
) -> Registration:
    """Create a person unless possible duplicates exist and the user has not yet said
    that this is a different person. The caller commits either way: looking for
    duplicates decrypts, and those decryptions are audited."""
    ensure_people_access(user, write=True)
    _ensure_team(user, team)
    if not confirmed_different:
        duplicates = possible_duplicates(
            session,
            vault,
            provider,
            user,
            team,
            details.full_name,
            details.aliases,
            details.date_of_birth,
            width=width,
        )
        if duplicates:
            return Registration(None, duplicates)
    person = create_person(session, vault, provider, actor, user, team, details, width=width)
    return Registration(person)


# -- matching ------------------------------------------------------------------------------


def classify(query: str, name: str) -> MatchKind | None:
    """How `query` matches one decrypted `name`, if it does."""
    spelled = blind_index.spelling_key(query)
    if spelled and spelled == blind_index.spelling_key(name):
        return MatchKind.EXACT
    normalised = blind_index.normalise_name(query)
    if normalised and normalised == blind_index.normalise_name(name):
        return MatchKind.TRANSLITERATED
    wanted = set(blind_index.significant_tokens(query))
    if wanted and wanted <= set(blind_index.name_tokens(name)):
        return MatchKind.PARTIAL
    return None


def _names_of(plain: Mapping[str, str | None]) -> list[_Name]:
    full_name = plain.get("full_name")
    names = [_Name(full_name, MatchedOn.FULL_NAME)] if full_name else []
    names += [_Name(a, MatchedOn.ALIAS) for a in blind_index.split_lines(plain.get("aliases"))]
    return names


def _decrypt_candidates(
    session: Session,
    vault: FieldVault,
    user: User,
    record_ids: set[uuid.UUID],
    purpose: str,
) -> list[tuple[Person, dict[str, str | None]]]:
    """Decrypt the names of each candidate of the user's teams: one audit event each."""
    actor = actor_of(user)
    decrypted = []
    erased = people_queries.erased_ids(session, Person.__tablename__, record_ids)
    for person in people_queries.persons_by_ids(session, record_ids - erased):
        ensure(user, Permission.FIELDS_SECRET, person)
        plain = vault.unseal(person, *NAME_FIELDS)
        record_event(
            session,
            actor,
            "secret.decrypt",
            person,
            fields=list(NAME_FIELDS),
            detail={"purpose": purpose},
        )
        decrypted.append((person, plain))
    return decrypted


def _token_coverage(
    hits: Sequence[index_queries.EntryHit], lookup: Lookup
) -> dict[uuid.UUID, set[str]]:
    """For each record: the terms of `lookup` that its entries may stand for."""
    covered: dict[uuid.UUID, set[str]] = {}
    for hit in hits:
        if hit.index_name == lookup.index_name:
            terms = lookup.terms_of(hit.master_key_id, hit.value)
            covered.setdefault(hit.record_id, set()).update(terms)
    return covered


def search_people(
    session: Session,
    vault: FieldVault,
    provider: KeyProvider,
    user: User,
    query: str,
    *,
    width: int,
) -> list[PersonMatch]:
    """People of the user's teams whose name, alias or date of birth matches `query`.

    A query that is a date (YYYY, YYYY-MM, YYYY-MM-DD) looks up dates of birth; any other
    query looks up whole names and every word of it. Candidates from the index are
    decrypted and confirmed; only confirmed matches are returned, best first.
    """
    ensure_people_access(user)
    query = " ".join(query.split())
    if not query:
        raise ValidationError("type a name, an alias or a date of birth", {"q": "Enter a name."})
    if len(query) > MAX_QUERY:
        raise ValidationError("the search is too long", {"q": f"At most {MAX_QUERY} characters."})
    indexer = BlindIndexer(provider, width)
    teams = user.team_ids
    born = blind_index.normalise_date(query)
    if born is not None:
        lookup = indexer.lookup("person_dob", [born])
        hits = index_queries.find(session, "persons", teams, [lookup])
        candidates = {hit.record_id for hit in hits}
        matches = []
        for person, plain in _decrypt_candidates(session, vault, user, candidates, "search"):
            stored = plain.get("date_of_birth")
            if stored and blind_index.normalise_date(stored) == born:
                matches.append(
                    PersonMatch(
                        person.reference,
                        plain.get("full_name"),
                        MatchKind.EXACT,
                        MatchedOn.DATE_OF_BIRTH,
                        None,
                    )
                )
        return sorted(matches, key=lambda m: m.sort_key)

    whole = blind_index.normalise_name(query)
    tokens = set(blind_index.significant_tokens(query))
    whole_lookup = indexer.lookup("person_name", [whole] if whole else [])
    token_lookup = indexer.lookup("person_name_token", tokens)
    hits = index_queries.find(session, "persons", teams, [whole_lookup])
    candidates = {hit.record_id for hit in hits}
    # Every word of the query must have an entry for a partial match to be possible.
    candidates |= index_queries.records_with_every_term(
        session, "persons", teams, token_lookup, tokens
    )
    if len(candidates) > MAX_CANDIDATES:
        raise ValidationError(
            f"more than {MAX_CANDIDATES} people may match {query!r}; add a family name, "
            "another word or a date of birth",
            {"q": "Too many possible matches: add a word."},
        )
    matches = []
    for person, plain in _decrypt_candidates(session, vault, user, candidates, "search"):
        best: PersonMatch | None = None
        for name in _names_of(plain):
            kind = classify(query, name.text)
            if kind is None:
                continue
            match = PersonMatch(
                person.reference, plain.get("full_name"), kind, name.matched_on, name.text
            )
            if best is None or _RANK[kind] < _RANK[best.kind]:
                best = match
        if best is not None:
            matches.append(best)
    return sorted(matches, key=lambda m: m.sort_key)


def _duplicate_kind(
    new_names: list[str], new_born: str | None, plain: Mapping[str, str | None]
) -> tuple[MatchKind, MatchedOn, str | None] | None:
    """Whether an existing person (decrypted) may be the new one, and why.

    Same name in any spelling (exact or transliterated); two or more shared words of a
    name (partial: a patronymic added, a surname missing); or the same date of birth and
    one shared word.
    """
    existing = _names_of(plain)
    best: tuple[MatchKind, MatchedOn, str | None] | None = None
    for new in new_names:
        new_tokens = set(blind_index.significant_tokens(new))
        for name in existing:
            kind = classify(new, name.text)
            if kind is MatchKind.PARTIAL or kind is None:
                shared = new_tokens & set(blind_index.significant_tokens(name.text))
                kind = MatchKind.PARTIAL if len(shared) >= 2 else None
            if kind is not None and (best is None or _RANK[kind] < _RANK[best[0]]):
                best = (kind, name.matched_on, name.text)
    if best is not None:
        return best
    stored = plain.get("date_of_birth")
    if new_born and stored and blind_index.normalise_date(stored) == new_born:
        new_tokens = {t for n in new_names for t in blind_index.significant_tokens(n)}
        old_tokens = {t for n in existing for t in blind_index.significant_tokens(n.text)}
        if new_tokens & old_tokens:
            return MatchKind.PARTIAL, MatchedOn.DATE_OF_BIRTH, None
    return None


def possible_duplicates(
    session: Session,
    vault: FieldVault,
    provider: KeyProvider,
    user: User,
    team: Team,
    full_name: str,
    aliases: str | Sequence[str] | None,
    date_of_birth: str | None,
    *,
    width: int,
) -> list[PersonMatch]:
    """People already recorded in `team` who may be the person about to be created."""
    ensure_people_access(user, write=True)
    _ensure_team(user, team)
    name, alias_lines = _clean_names(full_name, aliases)
    born = clean_date_of_birth(date_of_birth)
    new_names = [name, *alias_lines]
    indexer = BlindIndexer(provider, width)
    token_sets = [set(blind_index.significant_tokens(n)) for n in new_names]
    whole_lookup = indexer.lookup(
        "person_name", {w for w in map(blind_index.normalise_name, new_names) if w}
    )
    token_lookup = indexer.lookup("person_name_token", {t for ts in token_sets for t in ts})
    lookups = [whole_lookup, token_lookup]
    if born is not None:
        lookups.append(indexer.lookup("person_dob", [born]))
    hits = index_queries.find(session, "persons", {team.id}, lookups)
    # The index-level form of the rules in _duplicate_kind (true matches always pass).
    candidates = {h.record_id for h in hits if h.index_name == "person_name"}
    coverage = _token_coverage(hits, token_lookup)
    born_hits = {h.record_id for h in hits if h.index_name == "person_dob"}
    for record_id, covered in coverage.items():
        if any(len(covered & tokens) >= 2 for tokens in token_sets) or (
            record_id in born_hits and covered
        ):
            candidates.add(record_id)
    matches = []
    for person, plain in _decrypt_candidates(session, vault, user, candidates, "duplicate check"):
        found = _duplicate_kind(new_names, born, plain)
        if found is not None:
            kind, matched_on, matched_name = found
            matches.append(
                PersonMatch(
                    person.reference, plain.get("full_name"), kind, matched_on, matched_name
                )
            )
    return sorted(matches, key=lambda m: m.sort_key)


# -- reading -------------------------------------------------------------------------------


def view_person(session: Session, vault: FieldVault, user: User, reference: str) -> PersonView:
    """A person as a researcher of its team sees it: decrypted, with one audit event.

    An erased person shows its tombstone and decrypts nothing.
    """
    person = people_queries.person_by_reference(session, reference)
    if person is None:
        raise NotFound(f"no person {reference}")
    ensure(user, Permission.FIELDS_SECRET, person)  # NotFound for another team
    memberships = {m.team_id: m.team for m in user.memberships}
    team = memberships.get(person.team_id)
    view = PersonView(
        reference=person.reference,
        gender=person.gender,
        age_band=person.age_band,
        team_name=team.name if team is not None else None,
        created_at=person.created_at,
        updated_at=person.updated_at,
    )
    view.erasure = erasure.tombstone_for(session, user, reference)
    if view.erasure is not None:
        return view
    names = ["full_name", "aliases", "date_of_birth", "contact"]
    view.secrets = vault.unseal(person, *names)
    record_event(session, actor_of(user), "secret.decrypt", person, fields=names)
    view.aliases = blind_index.split_lines(view.secrets.get("aliases"))
    for act, incident_reference in people_queries.acts_of_person(session, person):
        view.acts.append(
            {
                "incident_reference": incident_reference,
                "act_type": act.act_type.value,
                "start_date": act.start_date.isoformat() if act.start_date else None,
                "start_precision": act.start_precision.value,
                "end_status": act.end_status.value,
            }
        )
    return view
