"""Writing the rows of an import inside one savepoint, all or nothing (see
incidents/services/imports.py), in up to two passes.

The first pass is written for speed: a new record of a kind without a service of its
own is written without a savepoint of its own and without a flush of its own; every
BATCH rows the records made are flushed together (one multi-row INSERT per table) and
their audit events appended together (record_batch). A record made earlier in the
same batch is found by its id or reference all the same. That pass is kept only if
every row of the file was written: at the first row that fails — or if the database
refuses what was flushed — everything it wrote is rolled back and the file is written
again, row by row, each row in a savepoint of its own, so that one bad row's partial
writes are undone and checking goes on to find every other error, named by the
services in their own words. Other rows (updates, consents, follow-ups, links to
reports) are written in the second way in both passes.

Memory stays flat: documents come one at a time, and every BATCH rows what was written
is flushed and let go, with a fresh vault; only ids and counts are kept.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy.exc import DataError, IntegrityError, InvalidRequestError

from incidents.audit.actions import AuditAction
from incidents.audit.log import NewEvent, record_event, record_events
from incidents.context import Context
from incidents.errors import EditConflict, NotFound, PermissionDenied, ValidationError
from incidents.models.user import User
from incidents.records.kind import RecordKind
from incidents.records.kinds import ADVOCACY_ACTION, EVIDENCE, REPORT, kind_named
from incidents.repositories import records as record_queries
from incidents.services import record_batch
from incidents.services.action_links import LinkRefused, record_refusal
from incidents.services.import_files import ImportFile, Row
from incidents.services.import_outcome import MAX_LISTED, Change, ImportOutcome
from incidents.services.import_rows import Prepared, Teams, linked, prepare
from incidents.services.import_writes import Written, holds_events, write
from incidents.services.record_batch import RecordBatch

BATCH = 250  # rows written between two flushes, after which their objects are let go


def write_file(
    ctx: Context,
    upload: ImportFile,
    team: str | None,
    fresh: Callable[[], ImportOutcome],
    progress: Callable[[int], None] | None,
) -> ImportOutcome:
    """Write every row of `upload` (see the module's docstring); the outcome, made by
    `fresh` for each pass. A file already known to be refused gets the careful pass only."""
    counter = _Progress(progress)
    outcome = fresh()
    if outcome.ok and _attempt(ctx, upload, team, outcome, counter, fast=True):
        return outcome
    outcome = fresh()
    counter.restart()
    _attempt(ctx, upload, team, outcome, counter, fast=False)
    return outcome


class _Undo(Exception):
    """Raised to roll back what a dry run or a refused file wrote."""


class _Retry(Exception):
    """Raised in the first pass at a row that failed: the careful pass names why."""


def _attempt(
    ctx: Context,
    upload: ImportFile,
    team: str | None,
    outcome: ImportOutcome,
    progress: _Progress,
    *,
    fast: bool,
) -> bool:
    """One pass; False if the first pass gave up (and undid all it wrote)."""
    run = _Run(ctx, upload, team, outcome, fast=fast)
    try:
        with ctx.session.begin_nested():  # everything the file writes, kept or undone whole
            with record_batch.opened(ctx.session, ctx.actor) as batch:
                batch.sure = fast  # the first pass keeps nothing unless every row is written
                run.rows(progress, batch)
            outcome.teams_created = list(run.teams.created)
            if not outcome.imported:
                raise _Undo
        _record_import(ctx, outcome, run.written_teams)
    except _Undo:
        run.record_what_was_seen()
    except (_Retry, IntegrityError, DataError, InvalidRequestError):
        if not fast:  # the careful pass meets what the first pass met, at its row
            raise
        return False
    return True


class _Progress:
    """Rows done, told to the caller once each, though a second pass goes over them again."""

    def __init__(self, callback: Callable[[int], None] | None) -> None:
        self.callback = callback
        self.told = 0
        self.done = 0

    def restart(self) -> None:
        self.done = 0

    def advance(self, rows: int) -> None:
        self.done += rows
        if self.callback is not None and self.done > self.told:
            self.callback(self.done - self.told)
            self.told = self.done


class _Run:
    """One pass over the rows of a file."""

    def __init__(
        self,
        ctx: Context,
        upload: ImportFile,
        team: str | None,
        outcome: ImportOutcome,
        *,
        fast: bool,
    ) -> None:
        self.ctx = ctx
        self.batch_ctx = ctx
        self.fast = fast
        self.last_kind: RecordKind | None = None  # of the last row whose write was deferred
        self.teams = Teams(ctx, upload.teams, team)
        self.upload = upload
        self.outcome = outcome
        self.seen: dict[tuple[str, uuid.UUID], str] = {}  # (kind, id) -> where first
        self.written_teams: set[uuid.UUID] = set()
        # Kept to be recorded if everything is rolled back: the secret fields compared
        # with what was stored (they were decrypted), the links refused for lack of consent.
        self.compared: list[tuple[str, uuid.UUID, tuple[str, ...]]] = []
        self.refused: list[tuple[uuid.UUID, uuid.UUID, Any]] = []

    def rows(self, progress: _Progress, batch: RecordBatch) -> None:
        for chunk in _chunks(self.upload.rows()):
            if self.fast:
                self.load_linked(chunk, batch)
            for row in chunk:
                mark = len(batch.events)
                if not self.one(row, batch):  # its savepoint was undone, and its events
                    batch.drop_events_after(mark)
                    batch.counters.clear()
            if len(chunk) == BATCH:
                self.let_go(batch)
            progress.advance(len(chunk))
        batch.give_back()
        batch.deferring = False

    def load_linked(self, chunk: list[Row], batch: RecordBatch) -> None:
        """The records the chunk's rows link to, loaded a kind at a time."""
        wanted: dict[RecordKind, set[str]] = {}
        for row in chunk:
            for kind, key in linked(row, self.teams):
                wanted.setdefault(kind, set()).add(key)
        for kind, keys in wanted.items():
            batch.load(kind.model, keys)

    def one(self, row: Row, batch: RecordBatch) -> bool:
        """Write `row`; False if it failed (its savepoint undone)."""
        counts = self.outcome.count(row.kind.name)
        if row.kind is EVIDENCE:
            counts.skipped += 1
            return True
        prepared = None
        session = self.ctx.session
        try:
            with session.no_autoflush:  # what the batch added is found without a flush
                prepared = prepare(self.batch_ctx, row, self.teams, self.known_new)
            where = self.seen.setdefault((row.kind.name, prepared.record_id), _where(row))
            if where != _where(row):
                raise ValidationError.on(
                    "id", f"This row is the same {row.kind.label} as {where}: keep one of them."
                )
            batch.holding = holds_events(prepared)
            batch.deferring = self.fast and batch.holding
            if batch.deferring:
                self.after(row, batch)
                with session.no_autoflush:
                    written = write(self.batch_ctx, prepared)
            else:
                batch.append_events()  # its kind's own service appends events: in order
                with session.begin_nested():
                    written = write(self.batch_ctx, prepared)
        except LinkRefused as refusal:
            self.refused.append((refusal.action.id, refusal.report.id, refusal.missing))
            return self.fail(row, refusal)
        except ValidationError as error:
            if prepared is not None and "lock_version" in error.errors:
                self.compared_secrets(prepared)  # refused only once compared with what is stored
            return self.fail(row, error)
        except EditConflict:
            return self.fail(
                row, ValidationError("Someone changed this record meanwhile: import again.")
            )
        except NotFound:
            return self.fail(row, ValidationError("There is no such record in your teams."))
        except PermissionDenied:
            return self.fail(row, ValidationError(_not_yours(row)))
        self.compared_secrets(prepared)
        self.done(row, prepared.team_id, written)
        return True

    def after(self, row: Row, batch: RecordBatch) -> None:
        """Flush the records added so far when the kind changes: a flush inserts its rows
        kind by kind in no order of theirs, and a record may link those of an earlier
        kind (a file lists its kinds in the registry's order); one kind's rows go in the
        order they were added, so a link to an earlier row of the same kind holds too."""
        if self.last_kind is not row.kind:
            self.ctx.session.flush()
            batch.flushed()
            self.last_kind = row.kind

    def known_new(self, kind: RecordKind, record_id: uuid.UUID) -> bool:
        """In the first pass: whether no record can have this id, its kind's table having
        been empty and no row before having given it (so it is not looked for)."""
        batch = record_batch.current(self.ctx.session)
        return (
            batch is not None
            and (kind.name, record_id) not in self.seen
            and batch.had_none(kind.model)
        )

    def compared_secrets(self, prepared: Prepared) -> None:
        """Note the stored secret fields that writing `prepared` opened to compare."""
        kind = prepared.kind
        secrets = tuple(s.name for s in kind.fields if s.secret and s.name in prepared.raw)
        if prepared.existing is not None and secrets:
            self.compared.append((kind.name, prepared.existing.id, secrets))

    def done(self, row: Row, team_id: uuid.UUID | None, written: Written) -> None:
        counts = self.outcome.count(row.kind.name)
        setattr(counts, written.outcome, getattr(counts, written.outcome) + 1)
        if team_id is not None:
            self.written_teams.add(team_id)
        if self.outcome.dry_run:
            change = Change(
                row.kind.name, _where(row), written.record, written.outcome, written.fields
            )
            if len(self.outcome.changes) < MAX_LISTED:
                self.outcome.changes.append(change)
            else:
                self.outcome.more_changes += 1

    def fail(self, row: Row, error: ValidationError) -> bool:
        if self.fast:
            raise _Retry
        self.outcome.count(row.kind.name).failed += 1
        for name, message in (error.errors or {"": str(error)}).items():
            self.outcome.add_error(row.error(name or None, message))
        return False

    def let_go(self, batch: RecordBatch) -> None:
        """Write what is pending and forget it (all but who is acting), with a new vault:
        the session and the vault's cache of keys do not grow with the file."""
        session = self.ctx.session
        batch.give_back()
        batch.append_events()
        session.flush()
        batch.let_go()
        kept = _principal_objects(self.ctx.principal)
        for instance in list(session.identity_map.values()):
            # An instance let go already went with its parent (an incident takes its
            # violation types along: the expunge cascades).
            if instance in session and not any(instance is k for k in kept):
                session.expunge(instance)
        ctx = self.ctx
        self.batch_ctx = Context.build(session, ctx.keys, ctx.store, ctx.settings, ctx.principal)

    def record_what_was_seen(self) -> None:
        """After the rollback: the decryptions made to compare stored secrets with the
        file, and the links refused for lack of consent, are recorded all the same —
        one event per record, as the pages record theirs."""
        session, ctx = self.ctx.session, self.ctx
        events = []
        for kind_name, record_id, fields in self.compared:
            record = record_queries.by_id(session, kind_named(kind_name).model, record_id)
            if record is not None:
                events.append(
                    NewEvent(
                        AuditAction.SECRET_DECRYPT,
                        record,
                        fields=list(fields),
                        detail={"purpose": "import"},
                    )
                )
        record_events(session, ctx.actor, events)
        for action_id, report_id, missing in self.refused:
            action = record_queries.by_id(session, ADVOCACY_ACTION.model, action_id)
            report = record_queries.by_id(session, REPORT.model, report_id)
            if action is not None and report is not None:
                record_refusal(ctx, LinkRefused(action, report, missing))


def _chunks(rows: Iterator[Row]) -> Iterator[list[Row]]:
    """The rows, BATCH at a time."""
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == BATCH:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _where(row: Row) -> str:
    return row.error(None, "").place


def _not_yours(row: Row) -> str:
    return (
        f"Your roles do not let you write {row.kind.label}s: leave them out of the file, "
        "or ask a colleague who may."
    )


def _principal_objects(principal: Any) -> list[Any]:
    if not isinstance(principal, User):
        return []
    memberships = list(principal.memberships)
    return [principal, *principal.roles, *memberships, *(m.team for m in memberships)]


def _record_import(ctx: Context, outcome: ImportOutcome, teams: set[uuid.UUID]) -> None:
    record_event(
        ctx.session,
        ctx.actor,
        AuditAction.IMPORT,
        detail={
            "format": outcome.format,
            "counts": {kind: counts.as_dict() for kind, counts in outcome.per_kind()},
            "teams_created": outcome.teams_created,
        },
        team_id=next(iter(teams)) if len(teams) == 1 else None,
    )
