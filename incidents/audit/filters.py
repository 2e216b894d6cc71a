"""What a reader may ask of the log (every part optional), and which part of it they see."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from incidents.audit.actions import AuditAction


@dataclass(frozen=True)
class EventFilter:
    actor: str | None = None  # the e-mail (or cli:name) contains this
    action: str | None = None  # the action starts with this
    record: str | None = None  # a reference or an id
    since: date | None = None
    until: date | None = None


# Events about the installation itself, of no team and no account: its keys, indexes,
# backups, evidence store and the log's own checkpoints. Every reader of the log sees
# them, named by whoever did them only when that is the command line or someone of the
# reader's teams.
INSTALLATION_ACTIONS = frozenset(
    action.value
    for action in (
        AuditAction.KEYS_ADD,
        AuditAction.KEYS_REWRAP,
        AuditAction.KEYS_RETIRE,
        AuditAction.BLIND_INDEX_REBUILD,
        AuditAction.BACKUP_CREATE,
        AuditAction.BACKUP_RESTORE,
        AuditAction.EVIDENCE_SWEEP,
        AuditAction.EVIDENCE_MOVE,
        AuditAction.AUDIT_CHECKPOINT,
        AuditAction.AUDIT_VERIFY_FAILED,
        # retention rules: about kinds of record, for every team at once
        AuditAction.RETENTION_RULE_ADD,
        AuditAction.RETENTION_RULE_REMOVE,
    )
)
# What the log page shows instead of the e-mail of someone outside the reader's teams.
SOMEONE_ELSE = "someone outside your teams"


@dataclass(frozen=True)
class AuditScope:
    """The part of the log one reader sees (incidents/services/audit_scope.py builds it).

    `teams` None: the whole log. Otherwise the events of those teams' records; of no team,
    the account events of `members` (the users of those teams) — about them (their
    account, their API tokens) or done by them — and, of every account, for a reader who
    manages accounts (`every_account`); the creation of those teams; and the events about
    the installation itself and about shared records (`shared_tables`), whose actor is
    named only if a member or the command line.
    """

    teams: frozenset[uuid.UUID] | None
    members: frozenset[uuid.UUID] = frozenset()
    member_tokens: frozenset[uuid.UUID] = frozenset()
    every_account: bool = False
    shared_tables: frozenset[str] = frozenset()

    @property
    def whole(self) -> bool:
        return self.teams is None

    def actor_shown(
        self,
        actor: str,
        actor_id: uuid.UUID | None,
        team_id: uuid.UUID | None,
        action: str,
        target_table: str | None,
    ) -> str:
        """Who the reader is told did an event they see: its actor, unless the event is
        seen only as the installation's or a shared record's and its actor is a user
        outside the reader's teams (the command line, `cli:<name>`, is always named)."""
        if self.teams is None or team_id is not None or actor_id is None:
            return actor
        if actor_id in self.members:
            return actor
        if action in INSTALLATION_ACTIONS or target_table in self.shared_tables:
            return SOMEONE_ELSE
        return actor


WHOLE_LOG = AuditScope(teams=None)
