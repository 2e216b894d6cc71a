"""Consent per use, on people and sources: the one place consent is read.

A person or a source grants each use (ConsentUse) on a day, and may withdraw it from a
later day; a grant counts from the day it was given until the day it was withdrawn. A
report is allowed what its source allows. Later work asks `consent.allows(record, use)`
and never looks at the grants itself.

Recording and withdrawing go through the record registry (incidents/services/records.py):
the permission in the team, the one validator, the lock, one audit event. Withdrawing
says what depended on the consent: for a source its reports, for a person the reports
of the incidents where they have acts, and the advocacy actions linked to those.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import object_session

from incidents.audit.actions import AuditAction
from incidents.audit.log import record_event
from incidents.context import Context
from incidents.errors import NotFound, ValidationError
from incidents.models.consent import Consent
from incidents.models.person import Person
from incidents.models.report import Report
from incidents.models.source import Source
from incidents.models.user import User
from incidents.models.vocabularies import ConsentUse, label
from incidents.permissions import Permission, can, ensure
from incidents.records.fields import Problem
from incidents.records.kind import RecordKind
from incidents.records.kinds import CONSENT, PERSON, SOURCE, kind_of_reference
from incidents.repositories import consents as consent_queries
from incidents.repositories import records as record_queries
from incidents.services import consent_reach, records

Owner = Person | Source
# What a grant is given as; the owner comes from the page, and a withdrawal is its own step.
GRANT_FIELDS = ("use", "granted_on", "notes")

# What each use lets the team do, in the words the grant form shows.
USE_EXPLANATIONS: dict[ConsentUse, str] = {
    ConsentUse.KEEP: "Their account and details may be kept in this database.",
    ConsentUse.ANONYMISED_ADVOCACY: (
        "What they said may be used in advocacy, with nothing that identifies them."
    ),
    ConsentUse.PUBLISH_WITHOUT_NAME: "What they said may be published, without their name.",
    ConsentUse.PUBLISH_WITH_NAME: "What they said may be published with their name.",
    ConsentUse.SHARE_WITH_PARTNERS: (
        "It may be shared with the partner organisations named in the conditions."
    ),
    ConsentUse.TRANSFER_TO_UN_OR_COURTS: "It may be passed on to UN bodies or to courts.",
}


@dataclass(frozen=True)
class ConsentView:
    """One grant as a page shows it; `conditions` only for those who may read them."""

    id: uuid.UUID
    use: ConsentUse
    label: str
    granted_on: date
    recorded_by: str | None
    revoked_on: date | None
    in_force: bool  # today
    has_conditions: bool  # conditions were recorded, whether shown or not
    conditions: str | None
    lock_version: int
    erased: bool  # shredded with its person or source: nothing about it can change

    @property
    def withdrawn(self) -> bool:
        return self.revoked_on is not None


@dataclass(frozen=True)
class ConsentSection:
    """The consent part of a person's or a source's page."""

    owner_kind: str  # "person" or "source"
    owner_reference: str
    consents: tuple[ConsentView, ...]
    uses_without_consent: tuple[ConsentUse, ...]  # no grant in force today
    may_change: bool  # grant and withdraw (case:write in the team, owner not erased)
    conditions_shown: bool
    today: date


@dataclass(frozen=True)
class ConsentTarget:
    """A grant and whose it is, for the withdrawal page (nothing decrypted)."""

    consent: ConsentView
    owner_kind: str
    owner_reference: str


@dataclass(frozen=True)
class Revocation:
    """A withdrawn grant and what relied on it (reference, title and erased mark of each
    report; reference and title of each advocacy action, with the report it uses), and
    what the withdrawal reaches: the erasure reviews, or the earlier summaries."""

    target: ConsentTarget
    reports: tuple[consent_queries.ReportRow, ...]
    action_links: tuple[consent_queries.LinkRow, ...]
    reach: consent_reach.Reach


def today() -> date:
    return datetime.now(UTC).date()


# -- reading -----------------------------------------------------------------------------


def allows(record: Person | Source | Report, use: ConsentUse | str, on: date | None = None) -> bool:
    """Whether the person or source `record` (for a report: its source) has a grant of
    `use` in force on `on` (today by default). An erased record allows nothing, a report
    without a source nothing, and neither does an erased grant.

    Reads through the record's own session: it checks no permission, since it says only
    what the record may be used for.
    """
    session = object_session(record)
    if session is None:
        raise ValueError(f"{type(record).__name__} {record.id} is not in a session")
    wanted = ConsentUse(use)
    if isinstance(record, Report):
        if record.source_id is None:
            return False
        column, owner_id = "source_id", record.source_id
    elif isinstance(record, Person | Source):
        column, owner_id = _owner_column(record), record.id
    else:
        raise TypeError(f"consent is given by people and sources, not {type(record).__name__}")
    return consent_queries.allowed(
        session,
        column,
        owner_id,
        wanted,
        on or today(),
        record_table=record.__tablename__,
        record_id=record.id,
    )


def consents_of(ctx: Context, record: Owner, *, conditions: bool = True) -> tuple[ConsentView, ...]:
    """The grants of a person or source, those in force first, for a reader who may see
    restricted fields in its team. The conditions are decrypted for those who may read
    secret fields (unless `conditions` is False), with one `secret.decrypt` event for all."""
    ensure(ctx.principal, Permission.FIELDS_RESTRICTED, record)
    rows = consent_queries.consents_of(ctx.session, _owner_column(record), record.id)
    opened: dict[uuid.UUID, str | None] = {}
    if conditions and can(ctx.principal, Permission.FIELDS_SECRET, record):
        sealed = [row.consent for row in rows if row.consent.notes is not None and not row.erased]
        # Their data keys in one query: the page's statements do not grow with its grants.
        notes = ctx.vault.unseal_many([(consent, ("notes",)) for consent in sealed])
        opened = {consent.id: plain["notes"] for consent, plain in zip(sealed, notes, strict=True)}
    if opened:
        record_event(
            ctx.session,
            ctx.actor,
            AuditAction.SECRET_DECRYPT,
            record,
            fields=["consents.notes"],
            detail={"purpose": "consents", "consents": sorted(str(i) for i in opened)},
        )
    day = today()
    views = [_view(row.consent, row.recorded_by, row.erased, day, opened) for row in rows]
    return tuple(sorted(views, key=lambda v: not v.in_force))  # stable: newest first within


def section(ctx: Context, owner: Owner | str, *, conditions: bool = True) -> ConsentSection | None:
    """The consent section of the page of `owner` (a Person, a Source or its reference),
    or None for a reader who may not see consents (restricted fields) at all.
    Another team's record is NotFound."""
    record = _owner(ctx, owner, Permission.CASE_READ)
    if not can(ctx.principal, Permission.FIELDS_RESTRICTED, record):
        return None
    consents = consents_of(ctx, record, conditions=conditions)
    in_force = {c.use for c in consents if c.in_force}
    erased = record_queries.is_erased(ctx.session, record.__tablename__, record.id)
    return ConsentSection(
        owner_kind=_kind(record).name,
        owner_reference=record.reference,
        consents=consents,
        uses_without_consent=tuple(u for u in ConsentUse if u not in in_force),
        may_change=can(ctx.principal, Permission.CASE_WRITE, record) and not erased,
        conditions_shown=conditions and can(ctx.principal, Permission.FIELDS_SECRET, record),
        today=today(),
    )


def owner_for_granting(ctx: Context, kind_name: str, reference: str) -> Owner:
    """The person or source (`kind_name`, by reference or id) a grant is about to be
    recorded for: NotFound for another team's or an erased record, PermissionDenied
    without case:write."""
    kind = PERSON if kind_name == PERSON.name else SOURCE
    record: Owner = records.find(ctx, kind, reference, Permission.CASE_WRITE)
    if record_queries.is_erased(ctx.session, record.__tablename__, record.id):
        raise NotFound(f"{reference} was erased")
    return record


def for_revoking(ctx: Context, consent_id: uuid.UUID | str) -> ConsentTarget:
    """A grant the principal may withdraw (case:write in its team), and whose it is."""
    consent: Consent = records.find(ctx, CONSENT, consent_id, Permission.CASE_WRITE)
    return _target(ctx, consent)


# -- changing ----------------------------------------------------------------------------


def grant(
    ctx: Context,
    owner: Owner | str,
    raw: Mapping[str, object],
    *,
    record_id: uuid.UUID | None = None,
) -> Consent:
    """Record that `owner` consents to a use (`raw`: use, granted_on, notes), in the
    owner's team; the recorder is the user acting. A use already granted and not
    withdrawn by the new grant's day is refused, as is an erased owner. An import gives
    the id the grant has in its file (`record_id`)."""
    record = _owner(ctx, owner, Permission.CASE_WRITE)
    unknown = {name: "This field does not exist here." for name in raw if name not in GRANT_FIELDS}
    if unknown:
        raise ValidationError.of(unknown)
    if record_queries.is_erased(ctx.session, record.__tablename__, record.id):
        raise ValidationError(f"{record.reference} was erased; no consent can be recorded for it.")
    consent_queries.lock_owner(ctx.session, type(record), record.id)
    _refuse_overlap(ctx, record, raw)
    kind = _kind(record)
    created: Consent = records.create(
        ctx,
        CONSENT,
        {**raw, kind.name: record.reference},
        team_id=record.team_id,
        record_id=record_id,
    )
    return created


def revoke(
    ctx: Context, consent_id: uuid.UUID | str, revoked_on: date | str | None, lock_version: int
) -> Revocation:
    """Withdraw a grant from the day `revoked_on`, edited from `lock_version` (an
    EditConflict if it changed since), and say what depended on it."""
    consent: Consent = records.find(ctx, CONSENT, consent_id, Permission.CASE_WRITE)
    if record_queries.is_erased(ctx.session, CONSENT.table, consent.id):
        raise ValidationError(
            "This consent was erased with its person or source; it cannot change."
        )
    if consent.revoked_on is not None:
        raise ValidationError.on(
            "revoked_on",
            f"This consent was already withdrawn, from {consent.revoked_on.isoformat()}.",
        )
    day = _day_withdrawn(revoked_on)
    # The registry's check refuses a day before the grant (incidents/records/kinds.py).
    records.update(ctx, CONSENT, consent.id, {"revoked_on": day}, lock_version=lock_version)
    # Consent to a use is withdrawn whole: any other grant of it still open (merged from a
    # duplicate record of the person) ends the same day, or a use withdrawn would stay
    # allowed. A grant given only after that day is a consent of its own and stays.
    for other in consent_queries.other_open_grants(ctx.session, consent):
        if other.granted_on <= day:
            records.update(
                ctx, CONSENT, other.id, {"revoked_on": day}, lock_version=other.lock_version
            )
    target = _target(ctx, consent)
    owner = _owner_of(ctx, consent)
    if isinstance(owner, Source):
        rows = consent_queries.reports_of_source(ctx.session, owner.id, owner.team_id)
    else:
        rows = consent_queries.reports_of_persons_incidents(ctx.session, owner.id, owner.team_id)
    links = consent_queries.links_to_reports(ctx.session, [r.id for r in rows])
    reach = consent_reach.follow(ctx, consent, owner, rows)
    return Revocation(target, tuple(rows), tuple(links), reach)


# -- helpers -----------------------------------------------------------------------------


def _owner_column(record: Owner) -> str:
    return "person_id" if isinstance(record, Person) else "source_id"


def _kind(record: Owner) -> RecordKind:
    return PERSON if isinstance(record, Person) else SOURCE


def _owner(ctx: Context, owner: Owner | str, permission: Permission) -> Owner:
    """The person or source named (or given), if `permission` is held in its team."""
    if not isinstance(owner, str):
        ensure(ctx.principal, permission, owner)
        return owner
    kind = kind_of_reference(owner)
    if kind not in (PERSON, SOURCE):
        raise NotFound(f"{owner} gives no consent: only people and sources do")
    record: Owner = records.find(ctx, kind, owner, permission)
    return record


def _owner_of(ctx: Context, consent: Consent) -> Owner:
    model: type[Any] = Person if consent.person_id is not None else Source
    owner_id = consent.person_id or consent.source_id
    owner: Owner | None = None
    if owner_id is not None:  # the database's constraint keeps every grant with its owner
        owner = record_queries.by_id(ctx.session, model, owner_id)
    if owner is None:
        raise NotFound("the consent belongs to no record")
    return owner


def _target(ctx: Context, consent: Consent) -> ConsentTarget:
    owner = _owner_of(ctx, consent)
    recorder = None
    if consent.recorded_by_id is not None:
        user = record_queries.by_id(ctx.session, User, consent.recorded_by_id)
        recorder = None if user is None else user.display_name
    erased = record_queries.is_erased(ctx.session, CONSENT.table, consent.id)
    return ConsentTarget(
        consent=_view(consent, recorder, erased, today(), {}),
        owner_kind=_kind(owner).name,
        owner_reference=owner.reference,
    )


def _view(
    consent: Consent,
    recorded_by: str | None,
    erased: bool,
    day: date,
    opened: Mapping[uuid.UUID, str | None],
) -> ConsentView:
    in_force = (
        not erased
        and consent.granted_on <= day
        and (consent.revoked_on is None or consent.revoked_on > day)
    )
    return ConsentView(
        id=consent.id,
        use=consent.use,
        label=label(consent.use),
        granted_on=consent.granted_on,
        recorded_by=recorded_by,
        revoked_on=consent.revoked_on,
        in_force=in_force,
        has_conditions=consent.notes is not None,
        conditions=opened.get(consent.id),
        lock_version=consent.lock_version,
        erased=erased,
    )


def _refuse_overlap(ctx: Context, record: Owner, raw: Mapping[str, object]) -> None:
    """A second grant of a use while the first still runs would make its withdrawal say
    nothing; what cannot be read yet is left to the registry's validator to name."""
    try:
        use = CONSENT.field("use").parse(raw.get("use"))
        starting = CONSENT.field("granted_on").parse(raw.get("granted_on"))
    except Problem:
        return
    if use is None or starting is None:
        return
    existing = consent_queries.overlapping_grant(
        ctx.session, _owner_column(record), record.id, use, starting
    )
    if existing is None:
        return
    given = existing.granted_on.isoformat()
    if existing.revoked_on is None:
        message = (
            f"{record.reference} already consents to {label(use)} (given on {given}). "
            "Withdraw that consent before recording a new one."
        )
    else:
        message = (
            f"{record.reference}'s consent to {label(use)} (given on {given}) runs until "
            f"{existing.revoked_on.isoformat()}; a new one can start on that day or later."
        )
    raise ValidationError.on("use", message)


def _day_withdrawn(raw: date | str | None) -> date:
    try:
        day = CONSENT.field("revoked_on").parse(raw)
    except Problem as problem:
        raise ValidationError.on("revoked_on", str(problem)) from None
    if day is None:
        raise ValidationError.on("revoked_on", "Enter the day the consent was withdrawn.")
    assert isinstance(day, date)
    return day
