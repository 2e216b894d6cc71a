"""Security check 12 for the advocacy area: an advocacy lead crawling every page they can
reach — the actions, campaigns, the action page with its links, responses (one naming a
supporting report) and follow-ups, every form of that work, the dashboard, the summaries
and their downloads — finds no secret and no restricted value of a case, and nothing at
all of another team.

A canary goes into every secret field (from the metadata, as in test_12_canary_crawl.py),
every typed restricted field of the case records (found the same way: a new one is
planted automatically), and the restricted values no one types: the day an incident
began and a report was received, the references of sources and people, the records'
ids. Another team's case and advocacy records hold canaries in every typed field. A
researcher of the team, crawling the same way, finds a report's title: the restricted
canaries were planted where pages show them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.db import FieldClass, secret_columns
from incidents.models import (
    ActionLink,
    ActionResponse,
    AdvocacyAction,
    Campaign,
    Consent,
    Erasure,
    ErasureReview,
    FollowUp,
    Incident,
    Person,
    Report,
    Source,
    User,
)
from incidents.models.person import Act, Involvement
from incidents.models.vocabularies import ConsentUse, DatePrecision
from tests.factories import (
    ActFactory,
    ActionLinkFactory,
    ActionResponseFactory,
    AdvocacyActionFactory,
    CampaignFactory,
    ConsentFactory,
    FollowUpFactory,
    IncidentFactory,
    InvolvementFactory,
    PersonFactory,
    ReportFactory,
    SourceFactory,
    UserFactory,
    erased_incident,
    kept_erasure_review,
    stored_evidence,
)
from tests.helpers import count_events, evidence_store
from tests.security.canaries import canary, typed_columns
from tests.security.test_12_canary_crawl import Planted, crawl
from tests.web.conftest import World

# The case records planted; with evidence, every table that has a secret field.
CASE_MODELS: list[type[Any]] = [
    *(Incident, Source, Report, Person, Act, Involvement, Consent, ErasureReview, Erasure)
]
START = date(2017, 3, 14)  # pages may say March 2017, never the day
RECEIVED = date(2016, 11, 23)
ERASED_PAGE = "/incidents/{0.reference}"
MIN_LENGTH = 16  # a column too short for a canary that cannot match by chance (a country)


class Canaries:
    """The values planted, by (table, column) or a name of what they are."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], str] = {}

    def plain(self, model: type[Any], *classes: FieldClass, where: str = "") -> dict[str, str]:
        table = model.__tablename__
        planted = {}
        for column in typed_columns(model, set(classes), MIN_LENGTH):
            value = canary(f"{where}{table}", column.name, getattr(column.type, "length", None))
            self.values[(f"{where}{table}", column.name)] = value
            planted[column.name] = value
        return planted

    def sealed(self, model: type[Any], where: str = "") -> dict[str, str]:
        table = model.__tablename__
        planted = {}
        for t, column in secret_columns():
            if t.name == table:
                planted[column.name] = self.values[(f"{where}{table}", column.name)] = canary(
                    f"{where}{table}", column.name
                )
        return planted

    def record(self, record: Any, where: str = "") -> None:
        """A case record's id (restricted) and, for sources and people, its reference."""
        table = record.__tablename__
        self.values[(f"{where}{table}", f"id {record.id}")] = str(record.id)
        self.values[(f"{where}{table}", f"id hex {record.id}")] = record.id.hex
        if isinstance(record, Source | Person):
            self.values[(f"{where}{table}", "reference")] = record.reference


def _case(team: Any, canaries: Canaries, where: str = "") -> dict[str, Any]:
    """A case of `team` with every secret and typed restricted field holding a canary
    (and, for another team's, every typed field): two reports, one whose source and
    people grant every use, one whose source granted nothing."""
    classes = [FieldClass.RESTRICTED] + ([FieldClass.PUBLIC] if where else [])

    def values(model: type[Any]) -> dict[str, Any]:
        return {
            **canaries.plain(model, *classes, where=where),
            "secrets": canaries.sealed(model, where),
        }

    incident_values = values(Incident)
    if not where:  # the team's own: its public title and summary are for the lead to see
        incident_values = {"secrets": incident_values["secrets"]}
    incident = IncidentFactory(
        team_id=team, start_date=START, start_precision=DatePrecision.DAY, **incident_values
    )
    source = SourceFactory(team_id=team, **values(Source))
    silent = SourceFactory(team_id=team, **values(Source))  # consented to nothing
    person = PersonFactory(team_id=team, **values(Person))
    report = ReportFactory(
        team_id=team,
        incident_id=incident.id,
        source_id=source.id,
        received_on=RECEIVED,
        **values(Report),
    )
    refused = ReportFactory(
        team_id=team,
        incident_id=incident.id,
        source_id=silent.id,
        received_on=RECEIVED,
        **values(Report),
    )
    act = ActFactory(team_id=team, person_id=person.id, incident_id=incident.id, **values(Act))
    involvement = InvolvementFactory(team_id=team, act_id=act.id, **values(Involvement))
    grants = [
        ConsentFactory(team_id=team, **values(Consent), **owner, use=use)
        for use in ConsentUse
        for owner in ({"person_id": person.id}, {"person_id": None, "source_id": source.id})
    ]
    # Why a record was kept though its consent to be kept was withdrawn: a sealed note.
    note = canaries.sealed(ErasureReview, where)["decision_note"]
    kept_erasure_review(person, grants[0].id, note)
    # Why another incident was erased, in the eraser's words: sealed in its tombstone.
    erased, _tombstone = erased_incident(team, canaries.sealed(Erasure, where)["reason_note"])
    for record in (incident, source, silent, person, report, refused, act, involvement, *grants):
        canaries.record(record, where)
    return {
        "incident": incident,
        "report": report,
        "refused": refused,
        "person": person,
        "erased": erased,
    }


@pytest.fixture
def planted(world: World, client: FlaskClient) -> Planted:
    canaries = Canaries()
    team = world.team.id
    lead = world.users["advocacy_lead"]
    case = _case(team, canaries)
    evidence = stored_evidence(
        evidence_store(client.application),
        case["report"],
        content=canaries.values.setdefault(("evidence", "<file>"), canary("e", "file")).encode(),
        filename=canaries.values.setdefault(("evidence", "filename"), canary("evidence", "f")),
        description=canaries.values.setdefault(("evidence", "description"), canary("e", "d")),
    )
    canaries.record(evidence)
    canaries.values[("incidents", "day")] = START.isoformat()
    canaries.values[("reports", "received_on")] = RECEIVED.isoformat()

    # The team's advocacy work on that case: the lead may see all of it.
    campaign = CampaignFactory(team_id=team, name="Day of action")
    action = AdvocacyActionFactory(team_id=team, campaign_id=campaign.id, title="A petition")
    ActionLinkFactory(action_id=action.id, report_id=case["report"].id, note="Detention.")
    ActionLinkFactory(action_id=action.id, report_id=case["refused"].id, note="Flagged.")
    response = ActionResponseFactory(action_id=action.id, supporting_report_id=case["report"].id)
    soon = date.today() + timedelta(days=3)
    follow_up = FollowUpFactory(action_id=action.id, assignee_id=lead.id, due_on=soon)
    FollowUpFactory(action_id=action.id, due_on=date.today() - timedelta(days=3))

    # Another team's case and advocacy work: nothing of it may show, not even its titles.
    other = world.other_team.id
    other_case = _case(other, canaries, where="other ")
    other_campaign = CampaignFactory(
        team_id=other, **canaries.plain(Campaign, *FieldClass, where="other ")
    )
    other_action = AdvocacyActionFactory(
        team_id=other,
        campaign_id=other_campaign.id,
        **canaries.plain(AdvocacyAction, *FieldClass, where="other "),
    )
    for model in (ActionResponse, FollowUp, ActionLink):
        # Their link is flagged (its report's source consented to nothing): the dashboard
        # lists flagged links, and must not list theirs.
        extra = {"report_id": other_case["refused"].id} if model is ActionLink else {}
        factory = {ActionResponse: ActionResponseFactory, FollowUp: FollowUpFactory}.get(
            model, ActionLinkFactory
        )
        factory(
            action_id=other_action.id, **extra, **canaries.plain(model, *FieldClass, where="other ")
        )
    UserFactory(teams=[world.other_team], display_name=canary("other users", "display_name"))

    secret_tables = {t.name for t, _ in secret_columns()}
    planted_tables = {m.__tablename__ for m in CASE_MODELS} | {"evidence"}
    assert secret_tables <= planted_tables, "a table with secret fields has no record here"
    for key in (("reports", "title"), ("other advocacy_actions", "title")):
        assert key in canaries.values, f"{key} was not found among the fields to plant"
    incident = case["incident"].reference
    summary = f"/incidents/{incident}/summary"
    return Planted(
        canaries.values,
        {
            "action": action,
            "campaign": campaign,
            "report": case["report"],
            "erased": case["erased"],
        },
        seeds=[
            "/advocacy/actions",
            "/advocacy/campaigns",
            f"/advocacy/actions/{action.reference}",
            f"/advocacy/campaigns/{campaign.id}",
            f"/advocacy/actions/{action.reference}/links/new",
            f"/advocacy/actions/{action.reference}/responses/new",
            f"/advocacy/actions/{action.reference}/follow-ups/new",
            f"/advocacy/responses/{response.id}/edit",
            f"/advocacy/follow-ups/{follow_up.id}/edit",
            "/dashboard",
            *(
                f"{page}?profile={p}"
                for p in ("partner", "public")
                for page in (summary, f"{summary}/export", "/summaries", "/summaries/export")
            ),
            f"/incidents/{incident}",
            ERASED_PAGE.format(case["erased"]),  # its tombstone: code and date only
        ],
    )


ADVOCACY_PAGES = (
    r"/advocacy/actions/ACT-[\d-]+",
    r"/advocacy/campaigns/[0-9a-f-]{36}",
    r"/advocacy/links/[0-9a-f-]{36}/remove",
    r"/advocacy/responses/[0-9a-f-]{36}/edit",
    r"/advocacy/follow-ups/[0-9a-f-]{36}/edit",
    r"/advocacy/actions/ACT-[\d-]+/edit",
    r"/advocacy/campaigns/[0-9a-f-]{36}/edit",
    r"/incidents/INC-[\d-]+/summary(\?.*)?",
)


def _decryptions(session: Session, user: User | None) -> int:
    assert user is not None
    return count_events(session, AuditAction.SECRET_DECRYPT.value, actor=user.email)


def test_12_an_advocacy_lead_sees_nothing_restricted_or_secret_in_the_advocacy_area(
    client: FlaskClient,
    planted: Planted,
    sign_in: Callable[[str], User | None],
    db_session: Session,
) -> None:
    lead = sign_in("advocacy_lead")
    result = crawl(client, planted)
    assert _decryptions(db_session, lead) == 0, "something was decrypted for the lead"
    for path in planted.seeds:
        expected = 410 if path == ERASED_PAGE.format(planted.records["erased"]) else 200
        assert result.visited[path] == expected, f"{path}: {result.visited[path]}"
    for where in ("/advocacy/actions", "/advocacy/campaigns", "/dashboard"):
        assert where in result.by_links, f"{where} is not reached from the navigation"
    for pattern in ADVOCACY_PAGES:
        pages = [p for p in result.visited if re.fullmatch(pattern, p)]
        assert pages, f"the crawl reached no page like {pattern}"
        assert all(result.visited[p] == 200 for p in pages), {p: result.visited[p] for p in pages}
    assert result.seen == {}, f"restricted or secret values seen: {result.seen}"


def test_12_a_researcher_of_the_team_finds_the_restricted_canaries(
    client: FlaskClient,
    planted: Planted,
    sign_in: Callable[[str], User | None],
    db_session: Session,
) -> None:
    researcher = sign_in("researcher")
    result = crawl(client, planted)
    assert _decryptions(db_session, researcher) > 0, "the decryption count can fail"
    seen = set(result.seen)
    assert ("reports", "title") in seen, "the report's title is on no page a researcher reads"
    assert ("reports", "received_on") in seen, "nor its date of receipt"
    assert not {key for key in seen if key[0].startswith("other ")}, "another team's data"
