"""Importing records, all or nothing: `plan_import(ctx, source, fmt=…, kind=…, team=…,
dry_run=…, progress=…) -> ImportOutcome` (counts per kind in `KindCounts`, problems as
`RowError(kind, row, field, message)`, a dry run's `Change`s). `open_import` reads a file
through once first, for a caller that wants its row count (a progress bar) before the
import starts; `importable_kinds` and `import_teams` are what a page offers.

The file (incidents/services/import_files.py, import_csv.py) is read through once to
check it can be read at all, then row by row. Every row is written inside one savepoint,
each in a nested savepoint of its own, so that one bad row's partial writes are undone
and checking goes on to find every other error. If any row failed — or on a dry run —
the outer savepoint is rolled back and nothing has changed; the outcome names every
problem by kind, row and field (`RowError`) in the services' own words, or says what
was (or would be) created, updated and left unchanged per kind. A completed import is
one `import` audit event (format and counts, never a value); each record written has
its own events already.

Memory stays flat: documents come one at a time, and every few hundred rows what was
written is flushed and let go, with a fresh vault; only ids and counts are kept.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from incidents.audit.actions import AuditAction
from incidents.audit.log import NewEvent, record_event, record_events
from incidents.context import Context
from incidents.errors import EditConflict, NotFound, PermissionDenied, ValidationError
from incidents.models.user import User
from incidents.permissions import Permission, can, ensure
from incidents.records.kind import RecordKind
from incidents.records.kinds import ADVOCACY_ACTION, EVIDENCE, KINDS, REPORT, kind_named
from incidents.repositories import records as record_queries
from incidents.services.action_links import LinkRefused, record_refusal
from incidents.services.import_csv import kind_of_csv, open_csv, open_zip
from incidents.services.import_files import (
    FileProblem,
    ImportFile,
    Problems,
    Row,
    RowError,
    format_of,
    open_json,
)
from incidents.services.import_rows import Prepared, Teams, prepare
from incidents.services.import_writes import Written, write

BATCH = 250  # rows written between two flushes, after which their objects are let go
MAX_LISTED = 200  # errors (and, on a dry run, changes) listed; the rest are counted
_RANK = {kind.name: rank for rank, kind in enumerate(KINDS)}


@dataclass
class KindCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0  # not imported by design (evidence files' details)
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {name: value for name, value in vars(self).items() if value}


@dataclass(frozen=True)
class Change:
    """What a row did (or, on a dry run, would do) to which record."""

    kind: str
    place: str
    record: str
    outcome: str
    fields: tuple[str, ...] = ()


@dataclass
class ImportOutcome:
    format: str
    dry_run: bool
    counts: dict[str, KindCounts] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    more_errors: int = 0
    changes: list[Change] = field(default_factory=list)
    more_changes: int = 0
    notices: list[str] = field(default_factory=list)
    teams_created: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def imported(self) -> bool:
        return self.ok and not self.dry_run

    def add_error(self, error: RowError) -> None:
        if len(self.errors) < MAX_LISTED:
            self.errors.append(error)
        else:
            self.more_errors += 1

    def count(self, kind: str) -> KindCounts:
        return self.counts.setdefault(kind, KindCounts())

    def per_kind(self) -> list[tuple[str, KindCounts]]:
        """The counts of the kinds the file held, in the registry's order."""
        return [(k.name, self.counts[k.name]) for k in KINDS if k.name in self.counts]


def ensure_may_import(ctx: Context) -> None:
    """Importing is for those who may write case records or advocacy work."""
    try:
        ensure(ctx.principal, Permission.CASE_WRITE)
    except PermissionDenied:
        ensure(ctx.principal, Permission.ADVOCACY_WRITE)


def importable_kinds(ctx: Context) -> list[RecordKind]:
    """The kinds the principal may import (write in one of their teams), in the
    registry's order; evidence files come by upload, not in a table."""
    ensure_may_import(ctx)
    return [k for k in KINDS if k is not EVIDENCE and can(ctx.principal, k.write_permission)]


def import_teams(ctx: Context) -> list[tuple[str, str]]:
    """The teams (slug, name) a user's rows may go into: every team of theirs."""
    ensure_may_import(ctx)
    if not isinstance(ctx.principal, User):
        return []
    teams = [m.team for m in ctx.principal.memberships]
    return sorted(((t.slug, t.name) for t in teams), key=lambda team: team[1])


def open_import(
    source: IO[bytes], *, fmt: str | None = None, kind: str | None = None, name: str | None = None
) -> ImportFile:
    """Read `source` through once (JSON, one CSV of `kind` or named after it, or a ZIP
    of CSVs; the format from `fmt`, the file's `name` or its first bytes). A ZIP must be
    seekable throughout; the others are only rewound."""
    head = source.read(8)
    source.seek(0)
    chosen = fmt or format_of(head, name)
    if chosen == "json":
        return open_json(source, name)
    if chosen == "zip":
        return open_zip(source, name)
    try:
        return open_csv(source, name, kind_of_csv(name, kind))
    except FileProblem as problem:
        return ImportFile("csv", name, problems=Problems([problem.error]), readable=False)


def plan_import(
    ctx: Context,
    source: IO[bytes] | ImportFile,
    *,
    fmt: str | None = None,
    kind: str | None = None,
    team: str | None = None,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    name: str | None = None,
) -> ImportOutcome:
    """Import `source` whole or not at all (see the module's docstring). `team` is the
    slug of the team for rows without one; `progress` is called with the number of rows
    done since its last call."""
    ensure_may_import(ctx)
    upload = (
        source
        if isinstance(source, ImportFile)
        else open_import(source, fmt=fmt, kind=kind, name=name)
    )
    outcome = ImportOutcome(upload.format, dry_run)
    for problem in upload.problems:
        outcome.add_error(problem)
    outcome.more_errors += upload.problems.more
    if not upload.readable:
        return outcome
    run = _Run(ctx, upload, team, outcome)
    try:
        with ctx.session.begin_nested():  # everything the file writes, kept or undone whole
            run.rows(progress)
            outcome.teams_created = list(run.teams.created)
            if not outcome.imported:
                raise _Undo
        _record_import(ctx, outcome, run.written_teams)
    except _Undo:
        run.record_what_was_seen()
    outcome.errors.sort(key=_reading_order)
    outcome.notices = _notices(upload, outcome)
    return outcome


class _Undo(Exception):
    """Raised to roll back what a dry run or a refused file wrote."""


def _reading_order(error: RowError) -> tuple[int, str, int]:
    """Errors as one reads the file: by kind (the file's own problems first), by row."""
    rank = -1 if error.kind is None else _RANK.get(error.kind, len(_RANK))
    return rank, error.source or "", error.row or 0


class _Run:
    """One pass over the rows of a file, writing each in a savepoint of its own."""

    def __init__(
        self, ctx: Context, upload: ImportFile, team: str | None, outcome: ImportOutcome
    ) -> None:
        self.ctx = ctx
        self.batch_ctx = ctx
        self.teams = Teams(ctx, upload.teams, team)
        self.upload = upload
        self.outcome = outcome
        self.seen: dict[tuple[str, uuid.UUID], str] = {}  # (kind, id) -> where first
        self.written_teams: set[uuid.UUID] = set()
        # Kept to be recorded if everything is rolled back: the secret fields compared
        # with what was stored (they were decrypted), the links refused for lack of consent.
        self.compared: list[tuple[str, uuid.UUID, tuple[str, ...]]] = []
        self.refused: list[tuple[uuid.UUID, uuid.UUID, Any]] = []

    def rows(self, progress: Callable[[int], None] | None) -> None:
        done = 0
        for row in self.upload.rows():
            self.one(row)
            done += 1
            if done % BATCH == 0:
                self.let_go()
                if progress is not None:
                    progress(BATCH)
        if progress is not None and done % BATCH:
            progress(done % BATCH)

    def one(self, row: Row) -> None:
        counts = self.outcome.count(row.kind.name)
        if row.kind is EVIDENCE:
            counts.skipped += 1
            return
        prepared = None
        try:
            prepared = prepare(self.batch_ctx, row, self.teams)
            where = self.seen.setdefault((row.kind.name, prepared.record_id), _where(row))
            if where != _where(row):
                raise ValidationError.on(
                    "id", f"This row is the same {row.kind.label} as {where}: keep one of them."
                )
            with self.ctx.session.begin_nested():
                written = write(self.batch_ctx, prepared)
        except LinkRefused as refusal:
            self.refused.append((refusal.action.id, refusal.report.id, refusal.missing))
            self.fail(row, refusal)
            return
        except ValidationError as error:
            if prepared is not None and "lock_version" in error.errors:
                self.compared_secrets(prepared)  # refused only once compared with what is stored
            self.fail(row, error)
            return
        except EditConflict:
            self.fail(row, ValidationError("Someone changed this record meanwhile: import again."))
            return
        except NotFound:
            self.fail(row, ValidationError("There is no such record in your teams."))
            return
        except PermissionDenied:
            self.fail(row, ValidationError(_not_yours(row)))
            return
        self.compared_secrets(prepared)
        self.done(row, prepared.team_id, written)

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

    def fail(self, row: Row, error: ValidationError) -> None:
        self.outcome.count(row.kind.name).failed += 1
        for name, message in (error.errors or {"": str(error)}).items():
            self.outcome.add_error(row.error(name or None, message))

    def let_go(self) -> None:
        """Write what is pending and forget it (all but who is acting), with a new vault:
        the session and the vault's cache of keys do not grow with the file."""
        session = self.ctx.session
        session.flush()
        kept = _principal_objects(self.ctx.principal)
        for instance in list(session.identity_map.values()):
            if not any(instance is k for k in kept):
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


def _notices(upload: ImportFile, outcome: ImportOutcome) -> list[str]:
    notices = []
    skipped = outcome.counts.get(EVIDENCE.name)
    if skipped is not None and skipped.skipped:
        notices.append(
            f"{skipped.skipped} evidence files were left out: a file of records carries their "
            "details, not the files. Add each file on its report's page, or with "
            "`incidents evidence add`."
        )
    if upload.profile == "internal":
        notices.append(
            "This is an internal export, without secret fields: records made from it have "
            "none, and records updated from it keep theirs."
        )
    for slug in outcome.teams_created:
        verb = "would be" if not outcome.imported else "was"
        notices.append(f"The team {slug} {verb} created, as the file lists it.")
    return notices
