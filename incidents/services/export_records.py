"""The records of an export as documents (incidents/services/documents.py), kind by kind
and batch by batch.

A batch costs one statement for its records (with what they load eagerly, such as an
incident's violation types) and, when its secrets are opened, one for their data keys —
nothing per record, so the statements of an export grow with the number of batches, not
of records. Each batch opens its secrets with a vault of its own and its records leave
the session once they are documents, so neither a key cache nor the session grows with
the size of the database.

The decryptions of a `full` export are not written as one `secret.decrypt` event per
record: the export's own audit event, committed before its first byte, says what was
opened — the profile, the teams and the count of each kind — and events written while
the export streams would come after that commit, and could be lost with the stream.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator, Sequence
from typing import Any

from incidents.context import Context
from incidents.db import FieldClass
from incidents.records.fields import Link
from incidents.records.kind import RecordKind
from incidents.records.kinds import kind_named
from incidents.repositories import export as export_queries
from incidents.repositories import records as record_queries
from incidents.repositories.export import Scope
from incidents.services.documents import LINKS_TO_ERASED, Names, document
from incidents.vault import FieldVault, secret_field_names

BATCH = 500

Documents = list[dict[str, Any]]
LeftOut = dict[str, set[str]]  # kind name → ids of the records an export left out


def scope_of(kind: RecordKind, teams: Collection[uuid.UUID] | None) -> Scope:
    """The records of `kind` in `teams` (None: every team); a kind without a team of its
    own is scoped by the team of the record it hangs off, a shared kind not at all."""
    team_ids = None if teams is None else frozenset(teams)
    if kind.team_scoped or kind.team_from is None:
        return Scope(kind.model, team_ids)
    link = kind.field(kind.team_from)
    assert isinstance(link, Link), f"{kind.name}.{kind.team_from} is not a link"
    return Scope(kind.model, team_ids, kind_named(link.kind).model, f"{kind.team_from}_id")


def count(ctx: Context, kind: RecordKind, teams: Collection[uuid.UUID] | None) -> int:
    """How many records of `kind` an export of `teams` holds (erased ones are left out)."""
    return export_queries.count_records(ctx.session, scope_of(kind, teams))


def document_batches(
    ctx: Context,
    kind: RecordKind,
    teams: Collection[uuid.UUID] | None,
    classes: frozenset[FieldClass],
    names: Names,
    batch: int | None = None,
    left_out: LeftOut | None = None,
) -> Iterator[Documents]:
    """The documents of the records of `kind` in `teams`, by id, `batch` at a time, with
    the fields of `classes`; secret fields are opened when `classes` holds them.
    `batch` is BATCH unless given. `left_out` gathers, across the kinds of one export,
    the records left out for needing an erased one (see `_without_erased_links`).

    The caller has checked that the principal may export these teams' records with these
    classes: nothing here checks access again.
    """
    size = batch or BATCH
    scope = scope_of(kind, teams)
    secrets = secret_field_names(kind.model) if FieldClass.SECRET in classes else []
    after: uuid.UUID | None = None
    while True:
        records = export_queries.record_batch(ctx.session, scope, after, size)
        if not records:
            return
        opened = _opened(ctx, records, secrets)
        documents = _without_erased_links(
            ctx,
            kind,
            left_out if left_out is not None else {},
            [
                document(kind, record, classes, names, values)
                for record, values in zip(records, opened, strict=True)
            ],
        )
        after = records[-1].id
        for record in records:
            ctx.session.expunge(record)
        yield documents
        if len(records) < size:
            return


def _opened(
    ctx: Context, records: Sequence[Any], secrets: list[str]
) -> Sequence[dict[str, str | None] | None]:
    if not secrets:
        return [None] * len(records)
    # A vault for this batch alone: its cache of unwrapped keys goes with the batch. The
    # keys of the whole batch come in one query; a record that cannot be opened stops the
    # export with its DecryptionError rather than leave a hole in silence.
    vault = FieldVault(ctx.session, ctx.keys)
    return vault.unseal_many([(record, secrets) for record in records])


def _without_erased_links(
    ctx: Context, kind: RecordKind, left_out: LeftOut, documents: Documents
) -> Documents:
    """The documents with no link to an erased record, which no import could make again.

    An optional link (a report's incident) is emptied and named under `links_to_erased`;
    a record that cannot be without the record it names (an act without its incident, a
    link without its report) is left out with it, and so are, in the kinds after it, the
    records that need that one (the act's perpetrators). One query per link and batch.
    """
    kept = documents
    for spec in kind.fields:
        if not isinstance(spec, Link):
            continue
        target = kind_named(spec.kind)
        linked = {d[spec.name] for d in kept if d.get(spec.name)}
        gone = {
            str(i)
            for i in record_queries.erased_ids(
                ctx.session, target.table, {uuid.UUID(i) for i in linked}
            )
        } | (left_out.get(target.name, set()) & linked)
        if not gone:
            continue
        if spec.required:
            left_out.setdefault(kind.name, set()).update(
                d["id"] for d in kept if d.get(spec.name) in gone
            )
            kept = [d for d in kept if d.get(spec.name) not in gone]
            continue
        for doc in kept:
            if doc.get(spec.name) in gone:
                doc[spec.name] = None
                doc.setdefault(LINKS_TO_ERASED, []).append(spec.name)
    return kept
