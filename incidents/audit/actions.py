"""Every kind of audit event, by name. The names are part of each event's hashed bytes,
so a value here never changes once an installation has written it."""

from __future__ import annotations

import enum


class AuditAction(enum.StrEnum):
    # case records
    RECORD_CREATE = "record.create"
    RECORD_UPDATE = "record.update"
    RECORD_ERASE = "record.erase"
    SECRET_DECRYPT = "secret.decrypt"  # noqa: S105 (an action name)
    EVIDENCE_RECEIVED = "evidence.received"
    EVIDENCE_ACCESSED = "evidence.accessed"
    EVIDENCE_SWEEP = "evidence.sweep"  # stored files no evidence row names, removed
    EVIDENCE_MOVE = "evidence.move"  # stored files copied to the other store, or old copies gone
    EXPORT = "export"
    IMPORT = "import"  # a file of records imported whole (each record has its own events)
    PERSON_MERGE = "person.merge"  # a duplicate's acts and consents moved to the person kept
    PERSON_UNMERGE = "person.unmerge"  # that merge undone: exactly what moved, moved back
    # consent to keep a record withdrawn: the record put to its team's researchers, who
    # erase it or keep it (with a justification, sealed)
    ERASURE_REVIEW_RAISE = "erasure_review.raise"
    ERASURE_REVIEW_DECIDE = "erasure_review.decide"
    # related-case suggestions: a pair marked "not related" by a researcher, or shown again
    SUGGESTION_DISMISS = "suggestion.dismiss"
    SUGGESTION_RESTORE = "suggestion.restore"
    # retention: one secret field shredded by a rule (whole records are record.erase);
    # rules added or removed, records put under a legal hold or released from it
    RETENTION_FIELD_SHRED = "retention.field_shred"
    RETENTION_RULE_ADD = "retention.rule_add"
    RETENTION_RULE_REMOVE = "retention.rule_remove"
    LEGAL_HOLD_PLACE = "legal_hold.place"
    LEGAL_HOLD_RELEASE = "legal_hold.release"
    # advocacy: a report refused to an action for lack of consent, a link taken away
    LINK_REFUSED = "link.refused"
    LINK_REMOVED = "link.removed"
    # accounts and logging in
    LOGIN_SUCCESS = "login.success"
    LOGIN_FAILURE = "login.failure"
    LOGOUT = "logout"
    DRAFT_KEEP = "draft.keep"  # a form sent after its session timed out, sealed for its user
    DRAFT_RESTORE = "draft.restore"  # that form filled in again after the user logged in
    USER_CREATE = "user.create"
    USER_PASSWORD_CHANGE = "user.password_change"  # noqa: S105 (an action name)
    USER_ROLES_CHANGE = "user.roles_change"
    USER_TEAMS_CHANGE = "user.teams_change"
    USER_DISABLE = "user.disable"
    USER_ENABLE = "user.enable"
    USER_TWO_FACTOR_ENABLE = "user.two_factor_enable"
    USER_TWO_FACTOR_REPLACE = "user.two_factor_replace"
    USER_TWO_FACTOR_RESET = "user.two_factor_reset"
    USER_RECOVERY_CODES_REPLACE = "user.recovery_codes_replace"
    # an auditor made to see the whole audit log, not only their teams' part, or no longer
    USER_INSTALLATION_AUDITOR_GRANT = "user.installation_auditor_grant"
    USER_INSTALLATION_AUDITOR_REVOKE = "user.installation_auditor_revoke"
    # the follow-up calendar feed's token: made (or replaced), or taken away
    USER_CALENDAR_TOKEN_NEW = "user.calendar_token_new"  # noqa: S105 (an action name)
    USER_CALENDAR_TOKEN_REVOKE = "user.calendar_token_revoke"  # noqa: S105 (an action name)
    # personal API tokens: made (shown once), or ended by their owner, an administrator
    # or a change of the owner's access (roles, teams, disabling)
    API_TOKEN_CREATE = "api_token.create"  # noqa: S105 (an action name)
    API_TOKEN_REVOKE = "api_token.revoke"  # noqa: S105 (an action name)
    TEAM_CREATE = "team.create"
    # duress: a second password set or removed by its user; a login with it (an alert for
    # administrators, and the account's password locked); an administrator's unlock
    USER_DURESS_PASSWORD_SET = "user.duress_password_set"  # noqa: S105 (an action name)
    USER_DURESS_PASSWORD_REMOVE = "user.duress_password_remove"  # noqa: S105 (an action name)
    ACCOUNT_DURESS_LOGIN = "account.duress_login"
    ACCOUNT_UNLOCK = "account.unlock"
    # keys and indexes
    KEYS_ADD = "keys.add"
    KEYS_REWRAP = "keys.rewrap"
    KEYS_RETIRE = "keys.retire"
    BLIND_INDEX_REBUILD = "blind_index.rebuild"
    # backups: an archive written (its event is not in it), an installation restored
    BACKUP_CREATE = "backup.create"
    BACKUP_RESTORE = "backup.restore"
    # the log itself
    AUDIT_CHECKPOINT = "audit.checkpoint"
    AUDIT_VERIFY_FAILED = "audit.verify_failed"
