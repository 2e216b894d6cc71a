"""factory_boy factories. Case records are created through the real service, so their
secret fields are sealed and their creation audited exactly as in the application."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import uuid
from functools import lru_cache
from typing import Any

import factory
from sqlalchemy.orm import Session

from incidents.context import Context
from incidents.models import (
    Act,
    ActionLink,
    ActionResponse,
    AdvocacyAction,
    Campaign,
    Consent,
    Erasure,
    ErasureReview,
    Evidence,
    FollowUp,
    Incident,
    IncidentViolation,
    Involvement,
    Person,
    Report,
    ReviewState,
    Source,
    StateResponse,
    Team,
    TeamMembership,
    User,
    UserRole,
)
from incidents.models.vocabularies import (
    ActionKind,
    ActType,
    Channel,
    ConsentUse,
    DatePrecision,
    ErasureReason,
    IncidentStatus,
    PerpetratorKind,
    ResponseKind,
    Role,
    SourceKind,
    StateResponseKind,
    ViolationType,
)
from incidents.services import consent, records
from incidents.services.accounts import hash_password
from incidents.services.erasure import erase_record
from incidents.services.evidence.intake import add_evidence
from incidents.storage.store import EvidenceStore
from tests import samples

DEFAULT_PASSWORD = "correct horse battery staple"

_bound: dict[str, Context] = {}


def bind(ctx: Context) -> None:
    """Make records through `ctx` (the test operator's context on the test's session)."""
    _bound["ctx"] = ctx


def unbind() -> None:
    _bound.clear()


def context() -> Context:
    try:
        return _bound["ctx"]
    except KeyError:
        raise RuntimeError("factories need the db_session fixture") from None


def session() -> Session:
    return context().session


@lru_cache(maxsize=1)
def default_password_hash() -> str:
    """Argon2id is slow on purpose; hash the shared test password once per run."""
    return hash_password(DEFAULT_PASSWORD)


class _SessionFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = session
        sqlalchemy_session_persistence = "flush"


class TeamFactory(_SessionFactory):
    class Meta:
        model = Team

    slug = factory.Sequence(lambda n: f"team-{n}")
    name = factory.Sequence(lambda n: f"Team {n}")


class ErasureFactory(_SessionFactory):
    """A tombstone of a record that never was: for tests of the tombstone's own columns
    (`secrets=` is accepted and ignored, as the sealing tests pass it to every factory)."""

    class Meta:
        model = Erasure
        exclude = ("secrets",)

    secrets = None
    record_table = "persons"
    record_id = factory.LazyFunction(uuid.uuid4)
    erased_by = "cli:tester"
    reason_code = ErasureReason.OTHER


class ErasureReviewFactory(_SessionFactory):
    """A pending review of a withdrawn consent to keep, for tests of the review's own
    columns (`secrets=` is accepted and ignored, as for ErasureFactory); the consent is a
    person's of the same team. `pending_erasure_review` makes one as a withdrawal does."""

    class Meta:
        model = ErasureReview
        exclude = ("secrets",)

    secrets = None
    team_id = factory.LazyFunction(lambda: TeamFactory().id)
    consent_id = factory.LazyAttribute(lambda o: ConsentFactory(team_id=o.team_id).id)
    record_table = "persons"
    record_id = factory.LazyFunction(uuid.uuid4)
    reference = "PER-9999"
    kind = "person"
    raised_by = "cli:tester"


class UserFactory(_SessionFactory):
    """A user; `role=` and `teams=[...]` set the role and memberships."""

    class Meta:
        model = User
        exclude = ("role", "teams")

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    display_name = factory.Sequence(lambda n: f"User {n}")
    password_hash = factory.LazyFunction(default_password_hash)
    is_active = True
    role = Role.RESEARCHER
    teams: list[Team] = []

    roles = factory.LazyAttribute(lambda o: [UserRole(role=o.role)] if o.role else [])
    memberships = factory.LazyAttribute(
        lambda o: [TeamMembership(team_id=team.id) for team in o.teams]
    )

    class Params:
        disabled = factory.Trait(is_active=False)


class _RecordFactory(factory.Factory):
    """Builds case records through services.records.insert — references, `secrets=`
    sealed, blind-index entries, the audit event — as the test operator."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class: type[Any], *args: Any, **kwargs: Any) -> Any:
        secrets = kwargs.pop("secrets", None)
        return records.insert(context(), model_class(**kwargs), secrets)


class IncidentFactory(_RecordFactory):
    class Meta:
        model = Incident

    team_id = factory.LazyFunction(lambda: TeamFactory().id)
    title = factory.Sequence(lambda n: f"Incident {n}")
    summary = "A public, non-identifying summary."
    country = "RU"
    region = "Chechen Republic"
    start_date = dt.date(2017, 3, 1)
    start_precision = DatePrecision.MONTH
    status = IncidentStatus.REPORTED
    estimated_victims = 3
    violations = factory.LazyFunction(
        lambda: [IncidentViolation(violation_type=ViolationType.ABDUCTION)]
    )
    secrets = factory.LazyFunction(
        lambda: {"narrative": "A confidential narrative.", "place_detail": "A precise place."}
    )


class SourceFactory(_RecordFactory):
    class Meta:
        model = Source

    team_id = factory.LazyFunction(lambda: TeamFactory().id)
    kind = SourceKind.WITNESS
    secrets = factory.LazyFunction(lambda: {"identity": "A witness's name"})


class ReportFactory(_RecordFactory):
    class Meta:
        model = Report

    team_id = factory.LazyFunction(lambda: TeamFactory().id)
    title = factory.Sequence(lambda n: f"Report {n}")
    received_on = dt.date(2017, 4, 1)
    channel = Channel.INTERVIEW
    credibility = 3
    secrets = factory.LazyFunction(lambda: {"narrative": "A confidential account."})


class PersonFactory(_RecordFactory):
    class Meta:
        model = Person

    team_id = factory.LazyFunction(lambda: TeamFactory().id)
    secrets = factory.LazyFunction(lambda: {"full_name": "A person's full name"})


class ActFactory(_RecordFactory):
    """What was done to a person in an incident; person and incident of the act's team."""

    class Meta:
        model = Act

    team_id = factory.LazyFunction(lambda: TeamFactory().id)
    person_id = factory.LazyAttribute(lambda o: PersonFactory(team_id=o.team_id).id)
    incident_id = factory.LazyAttribute(lambda o: IncidentFactory(team_id=o.team_id).id)
    act_type = ActType.DETAINED
    secrets = factory.LazyFunction(lambda: {"notes": "Held for eleven days."})


class StateResponseFactory(_RecordFactory):
    """A step of an incident's official timeline, in the incident's team."""

    class Meta:
        model = StateResponse

    team_id = factory.LazyFunction(lambda: TeamFactory().id)
    incident_id = factory.LazyAttribute(lambda o: IncidentFactory(team_id=o.team_id).id)
    kind = StateResponseKind.DENIAL
    authority = "The regional ministry of the interior"


class InvolvementFactory(_RecordFactory):
    """A perpetrator's part in an act of the same team."""

    class Meta:
        model = Involvement

    team_id = factory.LazyFunction(lambda: TeamFactory().id)
    act_id = factory.LazyAttribute(lambda o: ActFactory(team_id=o.team_id).id)
    perpetrator_kind = PerpetratorKind.POLICE
    secrets = factory.LazyFunction(
        lambda: {"perpetrator_names": "An officer's name", "units": "A unit"}
    )


class ConsentFactory(_RecordFactory):
    """A person's consent to one use; pass `source_id=..., person_id=None` for a source."""

    class Meta:
        model = Consent

    team_id = factory.LazyFunction(lambda: TeamFactory().id)
    person_id = factory.LazyAttribute(lambda o: PersonFactory(team_id=o.team_id).id)
    use = ConsentUse.KEEP
    granted_on = dt.date(2017, 4, 2)
    secrets = factory.LazyFunction(lambda: {"notes": "Only without the village name."})


class EvidenceFactory(_RecordFactory):
    """Metadata of an evidence file attached to a report of the same team."""

    class Meta:
        model = Evidence

    team_id = factory.LazyFunction(lambda: TeamFactory().id)
    report_id = factory.LazyAttribute(lambda o: ReportFactory(team_id=o.team_id).id)
    sha256 = "0" * 64
    size_bytes = 1024
    media_type = "image/jpeg"
    secrets = factory.LazyFunction(
        lambda: {"filename": "IMG_2017-03-01.jpg", "description": "A photograph."}
    )


class CampaignFactory(_RecordFactory):
    class Meta:
        model = Campaign

    team_id = factory.LazyFunction(lambda: TeamFactory().id)
    name = factory.Sequence(lambda n: f"Campaign {n}")


class AdvocacyActionFactory(_RecordFactory):
    """An action of a team (a petition unless `kind=` says otherwise)."""

    class Meta:
        model = AdvocacyAction

    team_id = factory.LazyFunction(lambda: TeamFactory().id)
    kind = ActionKind.PETITION
    title = factory.Sequence(lambda n: f"Action {n}")
    start_date = dt.date(2017, 5, 1)


class ActionResponseFactory(_RecordFactory):
    """What an action's target answered; pass `action_id=`."""

    class Meta:
        model = ActionResponse

    kind = ResponseKind.DENIAL
    date = dt.date(2017, 6, 1)
    text = "The ministry denied any detention."


class FollowUpFactory(_RecordFactory):
    """Something due on an action; pass `action_id=`."""

    class Meta:
        model = FollowUp

    description = "Ask again for a full criminal investigation."
    due_on = dt.date(2017, 7, 1)


class ActionLinkFactory(_RecordFactory):
    """A report supporting an action, with no consent check (that is the link service's
    job); pass `action_id=` and `report_id=`."""

    class Meta:
        model = ActionLink

    note = "The report documents the detention."


def stored_evidence(
    store: EvidenceStore,
    report: Report,
    content: bytes | None = None,
    filename: str = "IMG_2017-03-01.png",
    description: str | None = "A photograph.",
    chunk_bytes: int = 4096,
) -> Evidence:
    """Evidence with a real encrypted file in `store`, received through the service."""
    ctx = context()
    settings = dataclasses.replace(
        ctx.settings, evidence_chunk_bytes=chunk_bytes, evidence_max_bytes=16 * 1024 * 1024
    )
    return add_evidence(
        dataclasses.replace(ctx, settings=settings, store=store),
        report,
        io.BytesIO(samples.png(padding=10_000) if content is None else content),
        filename,
        description,
    )


def pending_erasure_review(team_id: uuid.UUID) -> ErasureReview:
    """A person of the team whose consent to be kept was withdrawn: their review, pending."""
    person = PersonFactory(team_id=team_id)
    grant = consent.grant(
        context(), person, {"use": "keep_in_database", "granted_on": "2017-04-20"}
    )
    (review,) = consent.revoke(context(), grant.id, "2018-01-10", grant.lock_version).reach.reviews
    found: ErasureReview = session().get(ErasureReview, review.id)
    return found


def kept_erasure_review(person: Person, consent_id: uuid.UUID, note: str) -> ErasureReview:
    """A review of `person` decided "keep", its note sealed: for the tests that plant a
    value in every secret field."""
    review: ErasureReview = ErasureReviewFactory(
        team_id=person.team_id,
        consent_id=consent_id,
        record_id=person.id,
        reference=person.reference,
        state=ReviewState.KEPT,
        decided_by="cli:tester",
        decided_at=dt.datetime.now(dt.UTC),
    )
    context().vault.seal(review, decision_note=note)
    session().flush()
    return review


def erased_incident(team_id: uuid.UUID, note: str) -> tuple[Incident, Erasure]:
    """An incident of the team erased for "other", its note sealed in the tombstone: for
    the tests that plant a value in every secret field."""
    incident: Incident = IncidentFactory(team_id=team_id)
    outcome = erase_record(context(), incident.reference, ErasureReason.OTHER, note)
    session().flush()
    return incident, outcome.tombstone
