"""Importing records, all or nothing: `plan_import(ctx, source, fmt=…, kind=…, team=…,
dry_run=…, progress=…) -> ImportOutcome` (counts per kind in `KindCounts`, problems as
`RowError(kind, row, field, message)`, a dry run's `Change`s). `open_import` reads a file
through once first, for a caller that wants its row count (a progress bar) before the
import starts; `importable_kinds` and `import_teams` are what a page offers.

The file (incidents/services/import_files.py, import_csv.py) is read through once to
check it can be read at all, then row by row, all inside one savepoint
(incidents/services/import_run.py: a first pass written in batches for speed, and if
any row fails a second, row by row, each row in a savepoint of its own, so that
checking goes on to find every other error). If any row failed — or on a dry run —
the outer savepoint is rolled back and nothing has changed; the outcome names every
problem by kind, row and field (`RowError`) in the services' own words, or says what
was (or would be) created, updated and left unchanged per kind. A completed import is
one `import` audit event (format and counts, never a value); each record written has
its own events already.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

from incidents.context import Context
from incidents.errors import PermissionDenied
from incidents.models.user import User
from incidents.permissions import Permission, can, ensure
from incidents.records.kind import RecordKind
from incidents.records.kinds import EVIDENCE, KINDS
from incidents.services.import_csv import kind_of_csv, open_csv, open_zip
from incidents.services.import_files import (
    FileProblem,
    ImportFile,
    Problems,
    RowError,
    format_of,
    open_json,
)
from incidents.services.import_outcome import MAX_LISTED, Change, ImportOutcome, KindCounts
from incidents.services.import_run import write_file

__all__ = [
    "MAX_LISTED",
    "Change",
    "ImportOutcome",
    "KindCounts",
    "RowError",
    "import_teams",
    "importable_kinds",
    "open_import",
    "plan_import",
]
_RANK = {kind.name: rank for rank, kind in enumerate(KINDS)}


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
    teams = ctx.principal.member_teams
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
    if not upload.readable:
        return _read(upload, dry_run)
    outcome = write_file(ctx, upload, team, lambda: _read(upload, dry_run), progress)
    outcome.errors.sort(key=_reading_order)
    outcome.notices = _notices(upload, outcome)
    return outcome


def _read(upload: ImportFile, dry_run: bool) -> ImportOutcome:
    """An outcome holding the file's own problems, before any row is written."""
    outcome = ImportOutcome(upload.format, dry_run)
    for problem in upload.problems:
        outcome.add_error(problem)
    outcome.more_errors += upload.problems.more
    return outcome


def _reading_order(error: RowError) -> tuple[int, str, int]:
    """Errors as one reads the file: by kind (the file's own problems first), by row."""
    rank = -1 if error.kind is None else _RANK.get(error.kind, len(_RANK))
    return rank, error.source or "", error.row or 0


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
