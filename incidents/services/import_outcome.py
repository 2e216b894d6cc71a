"""What an import did, or would do: counts per kind (`KindCounts`), the problems met
(`RowError`, listed up to MAX_LISTED, the rest counted) and, on a dry run, each row's
`Change`."""

from __future__ import annotations

from dataclasses import dataclass, field

from incidents.records.kinds import KINDS
from incidents.services.import_files import RowError

MAX_LISTED = 200  # errors (and, on a dry run, changes) listed; the rest are counted


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
