"""Writing many new records in one transaction (an import): what the generic create does
once a record, done once a batch where the answer cannot change meanwhile.

While a batch is open on a session (`opened`), the generic create (services/records.py)
keeps its audit events in the batch instead of appending each on its own, and the
caller appends them together (`append_events`: one `record_events`, however many
records); every record still has its own event, naming it and its fields, in the order
the records were written. What cannot change during the batch's transaction is asked
once: whether a table has any tombstone at all (an import erases nothing), whether any
person was merged, which reference counters exist and how far each was moved; a batch
that is `sure` also asks whether a table was empty (`had_none`), and then need not look
for an id or a reference it has not given itself. New references come from blocks of
numbers taken from their counter at once, the unused rest given back.

A batch may also defer the flush of its new records (`deferring`): they are written
together, many rows in one INSERT, and found meanwhile by id and reference through
`added`, as the generic create's lookups of links do.

A caller that undoes part of what it wrote (a row's savepoint rolled back) drops that
part's events with `drop_events_after(mark)`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session

from incidents.audit.log import Actor, NewEvent, record_events
from incidents.context import Context
from incidents.records.inputs import parse_id
from incidents.repositories import records as record_queries

_KEY = "incidents.record_batch"
REFERENCE_BLOCK = 250  # references a counter is moved on by at once while deferring


class RecordBatch:
    """What one batch of writes has learnt and what it still has to append."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session = session
        self.actor = actor
        self.events: list[NewEvent] = []
        self.holding = True  # False while a write must append its events itself
        self._tombstones: dict[str | None, bool] = {}
        self._merges: bool | None = None
        self._empty: dict[type[Any], bool] = {}
        self.sure = False  # whether facts about tables may stand in for lookups (had_none)
        self._kept: dict[str, bytearray] = {}  # prefix -> a bit for each number kept
        self._blocks: dict[str, list[int]] = {}  # prefix -> [next unused, last] taken
        self.counters: dict[str, int] = {}  # prefix -> the least its counter stands at
        # While `deferring`, new records are not flushed one by one but together with the
        # batch's next flush; until then they are found here, by id and by reference.
        self.deferring = False
        self._added: dict[tuple[type, object], Any] = {}
        self._loaded: dict[tuple[type, object], Any] = {}

    def add(self, record: Any) -> None:
        """Keep a record added while deferring findable until the batch is flushed."""
        model = type(record)
        self._added[(model, record.id)] = record
        reference = getattr(record, "reference", None)
        if reference is not None:
            self._added[(model, reference)] = record

    def added(self, model: type, key: object) -> Any:
        """The record of `model` added while deferring, or loaded beforehand (`load`), by
        id (a UUID) or reference."""
        found = self._added.get((model, key))
        return found if found is not None else self._loaded.get((model, key))

    def load(self, model: type[Any], keys: Iterable[str]) -> None:
        """Load the records of `model` that `keys` (ids or references) name, in one query,
        for the rows about to be written that link them."""
        ids = {found for key in keys if (found := parse_id(key)) is not None}
        references = {key.upper() for key in keys if parse_id(key) is None}
        if not ids and not (references and hasattr(model, "reference")):
            return
        for record in record_queries.by_ids_or_references(self.session, model, ids, references):
            self._loaded[(model, record.id)] = record
            reference = getattr(record, "reference", None)
            if reference is not None:
                self._loaded[(model, reference)] = record

    def flushed(self) -> None:
        """The session was flushed: nothing is pending."""
        self._added.clear()

    def let_go(self) -> None:
        """The session let go of its objects: neither are those added or loaded kept."""
        self._added.clear()
        self._loaded.clear()

    def append_events(self) -> None:
        """Append the events kept so far, in their order, in one go."""
        events, self.events = self.events, []
        record_events(self.session, self.actor, events)

    def drop_events_after(self, mark: int) -> None:
        del self.events[mark:]

    def may_have_tombstone(self, table: str | None) -> bool:
        """Whether some record of `table` (of any table: None) was erased."""
        if table not in self._tombstones:
            self._tombstones[table] = record_queries.any_tombstone(self.session, table)
        return self._tombstones[table]

    def had_none(self, model: type[Any]) -> bool:
        """Whether the table of `model` held no record when first asked in the batch's
        transaction: then every record in it was added by the batch's writer, which
        knows which (a record committed meanwhile by another writer would clash with one
        added under its id or reference, and the database would refuse the second).
        Only a batch that is `sure` asks: one whose writes are all kept or all undone."""
        if not self.sure:
            return False
        if model not in self._empty:
            self._empty[model] = record_queries.holds_none(self.session, model)
        return self._empty[model]

    def next_reference(self, prefix: str) -> str:
        """The next reference of `prefix`, from a block of numbers taken at once."""
        block = self._blocks.get(prefix)
        if block is None or block[0] > block[1]:
            last = record_queries.take_references(self.session, prefix, REFERENCE_BLOCK)
            block = self._blocks[prefix] = [last - REFERENCE_BLOCK + 1, last]
        number = block[0]
        block[0] += 1
        return record_queries.reference_text(prefix, number)

    def give_back(self) -> None:
        """Give the counters back the numbers of their blocks left unused (the batch's
        transaction holds them, so no other writer took any since), but never below a
        reference the batch kept."""
        for prefix, (unused, last) in self._blocks.items():
            if unused <= last:
                used = max(unused - 1, self.counters.get(prefix, 0))
                record_queries.give_back_references(self.session, prefix, last, used)
        self._blocks.clear()

    def keep_reference(self, prefix: str, number: int) -> None:
        """Note a reference kept by a record of the batch (a bit a number, not a set)."""
        bits = self._kept.setdefault(prefix, bytearray())
        if len(bits) <= number // 8:
            bits.extend(bytes(number // 8 + 1 - len(bits)))
        bits[number // 8] |= 1 << (number % 8)

    def kept_reference(self, prefix: str, number: int) -> bool:
        bits = self._kept.get(prefix)
        return (
            bits is not None
            and number // 8 < len(bits)
            and bool(bits[number // 8] >> (number % 8) & 1)
        )

    def may_have_merges(self) -> bool:
        """Whether any person was ever merged into another."""
        if self._merges is None:
            self._merges = record_queries.any_person_merge(self.session)
        return self._merges


def current(session: Session) -> RecordBatch | None:
    """The batch open on `session`, if any."""
    batch: RecordBatch | None = session.info.get(_KEY)
    return batch


def holding(session: Session) -> RecordBatch | None:
    """The batch open on `session` if it keeps events now."""
    batch = current(session)
    return batch if batch is not None and batch.holding else None


def audit(ctx: Context, event: NewEvent) -> None:
    """Append `event` now, or keep it in the open batch for its caller to append."""
    batch = holding(ctx.session)
    if batch is not None and batch.actor == ctx.actor:
        batch.events.append(event)
    else:
        record_events(ctx.session, ctx.actor, [event])


def by_id(session: Session, model: type[Any], record_id: uuid.UUID) -> Any:
    """The record with this id, also one the open batch added but has not flushed."""
    batch = current(session)
    added = None if batch is None else batch.added(model, record_id)
    return added if added is not None else record_queries.by_id(session, model, record_id)


def by_reference(session: Session, model: type[Any], reference: str) -> Any:
    """The record with this reference, also one the open batch added but has not flushed."""
    batch = current(session)
    added = None if batch is None else batch.added(model, reference)
    return added if added is not None else record_queries.by_reference(session, model, reference)


def may_be_erased(session: Session, table: str, record_id: uuid.UUID) -> bool:
    """Whether the record has a tombstone; in a batch, asked only of a table that has any."""
    batch = current(session)
    if batch is not None and not batch.may_have_tombstone(table):
        return False
    return record_queries.is_erased(session, table, record_id)


def may_be_merged(session: Session) -> bool:
    """Whether a person may have been merged into another: in a batch, asked once."""
    batch = current(session)
    return batch is None or batch.may_have_merges()


@contextmanager
def opened(session: Session, actor: Actor) -> Iterator[RecordBatch]:
    """A batch on `session` for the block; its events are appended at the block's end
    (nothing is appended when the block raises: its transaction is being undone)."""
    if current(session) is not None:
        raise RuntimeError("a batch of records is already open on this session")
    batch = session.info[_KEY] = RecordBatch(session, actor)
    try:
        yield batch
        batch.append_events()
    finally:
        session.info.pop(_KEY, None)
