"""Finding people without decrypting everything, and suggesting duplicates.

The blind index narrows a search to candidates; every candidate is decrypted and its
names folded again before anyone sees it, so a collision of the truncated index never
reaches a user. Each person decrypted is one `secret.decrypt` audit event. A search
matching more than MAX_CANDIDATES people asks for another word instead of decrypting
them all.

A person merged into another keeps their names and entries (incidents/services/
person_merge.py): found by them, they are shown with a pointer to the person they were
merged into, or left out when that person is found as well.
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from incidents import names
from incidents.context import Context
from incidents.crypto.blind_index import Lookup
from incidents.errors import ValidationError
from incidents.models.person import Person
from incidents.permissions import Permission, can, ensure, ensure_in_team, readable_teams
from incidents.records.inputs import parse
from incidents.records.kinds import PERSON
from incidents.repositories import blind_indexes as index_queries
from incidents.repositories import person_merges as merge_queries
from incidents.repositories import records as record_queries
from incidents.services.decryption import decrypt_records

MAX_QUERY = 300
# A search decrypts (and audits) every candidate; a lone common first name would open
# thousands of records. Past this many, the researcher is asked to narrow the search.
MAX_CANDIDATES = 200
NAME_FIELDS = ("full_name", "aliases", "date_of_birth")
_REFERENCE = re.compile(PERSON.reference_pattern or "")


class MatchKind(enum.StrEnum):
    EXACT = "exact"  # spelled the same, case, spacing and word order aside
    TRANSLITERATED = "transliterated"  # the same name in another script or spelling
    PARTIAL = "partial"  # some of the words of a name


_RANK = {MatchKind.EXACT: 0, MatchKind.TRANSLITERATED: 1, MatchKind.PARTIAL: 2}


class MatchedOn(enum.StrEnum):
    FULL_NAME = "full name"
    ALIAS = "alias"
    DATE_OF_BIRTH = "date of birth"
    REFERENCE = "reference"


@dataclass(frozen=True)
class PersonMatch:
    """A person confirmed, after decryption, to match; shown only to researchers of the team."""

    reference: str
    full_name: str | None
    kind: MatchKind
    matched_on: MatchedOn
    matched_name: str | None  # the name or alias that matched (None for a date of birth)
    merged_into: str | None = None  # the person this record was merged into, if it was
    erased: bool = False  # found by its reference: only the tombstone is left

    @property
    def sort_key(self) -> tuple[int, str]:
        return _RANK[self.kind], self.reference


@dataclass(frozen=True)
class _Name:
    text: str
    matched_on: MatchedOn


def classify(query: str, name: str) -> MatchKind | None:
    """How `query` matches one decrypted `name`, if it does."""
    spelled = names.spelling_key(query)
    if spelled and spelled == names.spelling_key(name):
        return MatchKind.EXACT
    normalised = names.normalise_name(query)
    if normalised and normalised == names.normalise_name(name):
        return MatchKind.TRANSLITERATED
    wanted = set(names.significant_tokens(query))
    if wanted and wanted <= set(names.name_tokens(name)):
        return MatchKind.PARTIAL
    return None


def _names_of(plain: Mapping[str, str | None]) -> list[_Name]:
    full_name = plain.get("full_name")
    found = [_Name(full_name, MatchedOn.FULL_NAME)] if full_name else []
    found += [_Name(a, MatchedOn.ALIAS) for a in names.split_lines(plain.get("aliases"))]
    return found


def _decrypt_candidates(
    ctx: Context, record_ids: set[uuid.UUID], purpose: str
) -> list[tuple[Person, dict[str, str | None]]]:
    """Decrypt the names of each candidate of the user's teams: one audit event each,
    all opened together (one query for their keys, their events appended in one go)."""
    erased = record_queries.erased_ids(ctx.session, PERSON.table, record_ids)
    people = record_queries.by_ids(ctx.session, Person, record_ids - erased)
    for person in people:
        ensure(ctx.principal, Permission.FIELDS_SECRET, person)
    wanted = [(person, NAME_FIELDS) for person in people]
    opened = decrypt_records(ctx, wanted, {"purpose": purpose}) if wanted else []
    return list(zip(people, opened, strict=True))


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


def search_people(ctx: Context, query: str) -> list[PersonMatch]:
    """People of the user's teams whose name, alias, date of birth or reference matches
    `query`.

    A reference (PER-0003) finds that person, or says that they were erased; a query that
    is a date (YYYY, YYYY-MM, YYYY-MM-DD) looks up dates of birth; any other query looks
    up whole names and every word of it. Candidates from the index are
    decrypted and confirmed; only confirmed matches are returned, best first.
    """
    ensure(ctx.principal, Permission.FIELDS_SECRET)
    query = " ".join(query.split())
    if not query:
        raise ValidationError.on("q", "Enter a name, an alias or a date of birth.")
    if len(query) > MAX_QUERY:
        raise ValidationError.on("q", f"Use at most {MAX_QUERY} characters.")
    if _REFERENCE.fullmatch(query.upper()):
        return _point_to_merges(ctx, _by_reference(ctx, query.upper()))
    indexer = ctx.indexer
    teams = readable_teams(ctx.principal)
    born = names.normalise_date(query)
    if born is not None:
        lookup = indexer.lookup("person_dob", [born])
        hits = index_queries.find(ctx.session, PERSON.table, teams, [lookup])
        candidates = {hit.record_id for hit in hits}
        matches = []
        for person, plain in _decrypt_candidates(ctx, candidates, "search"):
            stored = plain.get("date_of_birth")
            if stored and names.normalise_date(stored) == born:
                matches.append(
                    PersonMatch(
                        person.reference,
                        plain.get("full_name"),
                        MatchKind.EXACT,
                        MatchedOn.DATE_OF_BIRTH,
                        None,
                    )
                )
        return _point_to_merges(ctx, sorted(matches, key=lambda m: m.sort_key))

    whole = names.normalise_name(query)
    tokens = set(names.significant_tokens(query))
    whole_lookup = indexer.lookup("person_name", [whole] if whole else [])
    token_lookup = indexer.lookup("person_name_token", tokens)
    hits = index_queries.find(ctx.session, PERSON.table, teams, [whole_lookup])
    candidates = {hit.record_id for hit in hits}
    # Every word of the query must have an entry for a partial match to be possible.
    candidates |= index_queries.records_with_every_term(
        ctx.session, PERSON.table, teams, token_lookup, tokens
    )
    if len(candidates) > MAX_CANDIDATES:
        raise ValidationError.on(
            "q",
            f"More than {MAX_CANDIDATES} people may match: add a family name, another word "
            "or a date of birth.",
        )
    matches = []
    for person, plain in _decrypt_candidates(ctx, candidates, "search"):
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
    return _point_to_merges(ctx, sorted(matches, key=lambda m: m.sort_key))


def _by_reference(ctx: Context, reference: str) -> list[PersonMatch]:
    """The person `reference` of the user's teams, decrypted (one audit event), or marked
    erased; nobody for another team's reference, as for a name nobody has."""
    person = record_queries.by_reference(ctx.session, Person, reference)
    if person is None or not can(ctx.principal, Permission.FIELDS_SECRET, person):
        return []
    if record_queries.is_erased(ctx.session, PERSON.table, person.id):
        return [
            PersonMatch(reference, None, MatchKind.EXACT, MatchedOn.REFERENCE, None, erased=True)
        ]
    [(_, plain)] = _decrypt_candidates(ctx, {person.id}, "search")
    return [
        PersonMatch(reference, plain.get("full_name"), MatchKind.EXACT, MatchedOn.REFERENCE, None)
    ]


def _point_to_merges(ctx: Context, matches: list[PersonMatch]) -> list[PersonMatch]:
    """A match merged into another person points to them; when that person matched as
    well, the merged record is left out (their acts and consents are with that person)."""
    kept = merge_queries.kept_references(ctx.session, [m.reference for m in matches])
    if not kept:
        return matches
    shown = {m.reference for m in matches}
    return [
        replace(m, merged_into=kept[m.reference]) if m.reference in kept else m
        for m in matches
        if kept.get(m.reference) not in shown
    ]


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
        new_tokens = set(names.significant_tokens(new))
        for name in existing:
            kind = classify(new, name.text)
            if kind is MatchKind.PARTIAL or kind is None:
                shared = new_tokens & set(names.significant_tokens(name.text))
                kind = MatchKind.PARTIAL if len(shared) >= 2 else None
            if kind is not None and (best is None or _RANK[kind] < _RANK[best[0]]):
                best = (kind, name.matched_on, name.text)
    if best is not None:
        return best
    stored = plain.get("date_of_birth")
    if new_born and stored and names.normalise_date(stored) == new_born:
        new_tokens = {t for n in new_names for t in names.significant_tokens(n)}
        old_tokens = {t for n in existing for t in names.significant_tokens(n.text)}
        if new_tokens & old_tokens:
            return MatchKind.PARTIAL, MatchedOn.DATE_OF_BIRTH, None
    return None


def possible_duplicates(
    ctx: Context,
    team_id: uuid.UUID,
    details: Mapping[str, object],
    *,
    besides: uuid.UUID | None = None,
) -> list[PersonMatch]:
    """People already recorded in the team who may be the person about to be created
    (`details`: what was entered, of which the names and date of birth are compared), or
    the person `besides` (who is neither decrypted again nor suggested)."""
    ensure_in_team(ctx.principal, Permission.FIELDS_SECRET, team_id)
    ensure_in_team(ctx.principal, Permission.CASE_WRITE, team_id)
    wanted = {name: details[name] for name in NAME_FIELDS if name in details}
    parsed = parse([PERSON.field(name) for name in NAME_FIELDS], wanted).secrets
    name = " ".join((parsed.get("full_name") or "").split())
    born = parsed.get("date_of_birth")
    alias_lines = [a for a in names.split_lines(parsed.get("aliases")) if a != name]
    new_names = [n for n in (name, *alias_lines) if n]
    indexer = ctx.indexer
    token_sets = [set(names.significant_tokens(n)) for n in new_names]
    whole_lookup = indexer.lookup(
        "person_name", {w for w in map(names.normalise_name, new_names) if w}
    )
    token_lookup = indexer.lookup("person_name_token", {t for ts in token_sets for t in ts})
    lookups = [whole_lookup, token_lookup]
    if born is not None:
        lookups.append(indexer.lookup("person_dob", [born]))
    hits = index_queries.find(ctx.session, PERSON.table, {team_id}, lookups)
    # The index-level form of the rules in _duplicate_kind (true matches always pass).
    candidates = {h.record_id for h in hits if h.index_name == "person_name"}
    coverage = _token_coverage(hits, token_lookup)
    born_hits = {h.record_id for h in hits if h.index_name == "person_dob"}
    for record_id, covered in coverage.items():
        if any(len(covered & tokens) >= 2 for tokens in token_sets) or (
            record_id in born_hits and covered
        ):
            candidates.add(record_id)
    if besides is not None:
        candidates.discard(besides)
    matches = []
    for person, plain in _decrypt_candidates(ctx, candidates, "duplicate check"):
        found = _duplicate_kind(new_names, born, plain)
        if found is not None:
            kind, matched_on, matched_name = found
            matches.append(
                PersonMatch(
                    person.reference, plain.get("full_name"), kind, matched_on, matched_name
                )
            )
    return _point_to_merges(ctx, sorted(matches, key=lambda m: m.sort_key))
