"""No redacted case summary — either page, either download, the command's export — carries
a secret, restricted or advocacy working value, even when every use is consented to.

A distinct canary goes into every secret field of the case's records (the list comes
from the metadata, so a new secret column is planted automatically, and a new secret
table fails the test until it is planted), into every free-text restricted field of those
records and every free-text advocacy field (a response's text, a link's note, a
follow-up), found the same way. The records' ids, the generated restricted references and
the exact restricted dates are needles too. Every use is granted, so the case is shared
and the summaries are full: the test checks that they are.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from incidents.cli import cli
from incidents.db import FieldClass, secret_columns
from incidents.models import (
    ActionLink,
    ActionResponse,
    AdvocacyAction,
    Consent,
    Erasure,
    ErasureReview,
    Evidence,
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
    ConsentFactory,
    EvidenceFactory,
    FollowUpFactory,
    IncidentFactory,
    InvolvementFactory,
    PersonFactory,
    ReportFactory,
    SourceFactory,
    erased_incident,
    kept_erasure_review,
)
from tests.helpers import invoke
from tests.security.canaries import canary, typed_columns
from tests.security.test_12_canary_crawl import needles
from tests.web.conftest import World

CASE_MODELS: list[type[Any]] = [
    Incident,
    Report,
    Source,
    Person,
    Act,
    Consent,
    Involvement,
    Evidence,
    ErasureReview,
    Erasure,
]
ADVOCACY_MODELS: list[type[Any]] = [AdvocacyAction, ActionResponse, ActionLink, FollowUp]
# Restricted values the summary must not give away though no canary can be typed in.
START = date(2017, 3, 14)  # the summary says March 2017, never the day
RECEIVED = date(2016, 11, 23)
GRANTED = date(2016, 12, 9)


def _plain(model: type[Any], field_class: FieldClass) -> dict[str, str]:
    table = model.__table__
    return {
        c.name: canary(table.name, c.name, getattr(c.type, "length", None))
        for c in typed_columns(model, {field_class})
    }


def _sealed(model: type[Any]) -> dict[str, str]:
    name = model.__tablename__
    return {c.name: canary(name, c.name) for t, c in secret_columns() if t.name == name}


@pytest.fixture
def planted(world: World) -> tuple[Incident, dict[str, str]]:
    """A case of the world's team, every field above holding its canary, every use granted."""
    assert {t.name for t, _c in secret_columns()} <= {m.__tablename__ for m in CASE_MODELS}, (
        "a table with secret fields has no record here: add it to CASE_MODELS"
    )
    team = world.team.id
    canaries: dict[str, str] = {}

    def values(model: type[Any]) -> tuple[dict[str, str], dict[str, str]]:
        plain, sealed = _plain(model, FieldClass.RESTRICTED), _sealed(model)
        if model in ADVOCACY_MODELS:
            plain |= _plain(model, FieldClass.ADVOCACY)
        canaries.update({f"{model.__tablename__}.{k}": v for k, v in (plain | sealed).items()})
        return plain, sealed

    plain, sealed = values(Incident)
    incident = IncidentFactory(
        team_id=team, start_date=START, start_precision=DatePrecision.DAY, secrets=sealed, **plain
    )
    plain, sealed = values(Source)
    source = SourceFactory(team_id=team, secrets=sealed, **plain)
    plain, sealed = values(Report)
    report = ReportFactory(
        team_id=team,
        incident_id=incident.id,
        source_id=source.id,
        received_on=RECEIVED,
        secrets=sealed,
        **plain,
    )
    plain, sealed = values(Person)
    person = PersonFactory(team_id=team, secrets=sealed, **plain)
    plain, sealed = values(Act)
    act = ActFactory(
        team_id=team, person_id=person.id, incident_id=incident.id, secrets=sealed, **plain
    )
    plain, sealed = values(Involvement)
    involvement = InvolvementFactory(team_id=team, act_id=act.id, secrets=sealed, **plain)
    plain, sealed = values(Evidence)
    evidence = EvidenceFactory(team_id=team, report_id=report.id, secrets=sealed, **plain)
    plain, sealed = values(Consent)
    grants = [
        ConsentFactory(team_id=team, granted_on=GRANTED, secrets=sealed, **plain, **owner, use=use)
        for use in ConsentUse
        for owner in ({"person_id": person.id}, {"person_id": None, "source_id": source.id})
    ]
    sealed = _sealed(ErasureReview)
    canaries.update({f"erasure_reviews.{k}": v for k, v in sealed.items()})
    kept_erasure_review(person, grants[0].id, sealed["decision_note"])
    sealed = _sealed(Erasure)
    canaries.update({f"erasures.{k}": v for k, v in sealed.items()})
    erased_incident(team, sealed["reason_note"])
    plain, _ = values(AdvocacyAction)
    action = AdvocacyActionFactory(team_id=team, title="A public petition title", **plain)
    plain, _ = values(ActionResponse)
    response = ActionResponseFactory(action_id=action.id, supporting_report_id=report.id, **plain)
    plain, _ = values(ActionLink)
    link = ActionLinkFactory(action_id=action.id, report_id=report.id, **plain)
    plain, _ = values(FollowUp)
    follow_up = FollowUpFactory(action_id=action.id, **plain)

    for key in ("reports.title", "action_responses.text", "action_links.note"):
        assert key in canaries, f"{key} was not found among the fields to plant"
    records = [incident, source, report, person, act, involvement, evidence, *grants]
    records += [action, response, link, follow_up]
    for record in records:
        canaries[f"{record.__tablename__}.id {record.id}"] = str(record.id)
        canaries[f"{record.__tablename__}.id hex {record.id}"] = record.id.hex
    canaries |= {"sources.reference": source.reference, "persons.reference": person.reference}
    canaries |= {"day": START.isoformat(), "received": RECEIVED.isoformat()}
    canaries |= {"granted": GRANTED.isoformat()}
    return incident, canaries


def _leaks(body: bytes, canaries: dict[str, str]) -> list[str]:
    return sorted(key for key, value in canaries.items() if any(n in body for n in needles(value)))


def test_no_summary_output_carries_acanary(
    planted: tuple[Incident, dict[str, str]],
    client: FlaskClient,
    app: Flask,
    sign_in: Callable[[str], User | None],
) -> None:
    incident, canaries = planted
    sign_in("advocacy_lead")
    outputs: dict[str, bytes] = {}
    for profile in ("partner", "public"):
        case = f"/incidents/{incident.reference}/summary"
        for path in (
            f"{case}?profile={profile}",
            f"/summaries?profile={profile}",
            f"{case}/export?profile={profile}",
            f"/summaries/export?profile={profile}",
        ):
            response = client.get(path)
            assert response.status_code == 200, path
            outputs[path] = response.get_data()
        result = invoke(app, cli, "export", "--profile", profile)
        assert result.exit_code == 0, result.output
        outputs[f"incidents export --profile {profile}"] = result.stdout_bytes + (
            result.stderr_bytes or b""
        )
        document = json.loads(result.stdout)
        shared = [s for s in document["summaries"] if s["reference"] == incident.reference]
        assert shared and shared[0]["corroboration"]["reports"] == 1, "the case was not shared"
        assert shared[0]["actions"][0]["responses"], "the action and its response are shown"

    for where, body in outputs.items():
        assert incident.reference.encode() in body, f"{where} does not show the case"
        if "export" not in where:
            assert b"A public petition title" in body, f"{where} shows no action"
        leaked = _leaks(body, canaries)
        assert leaked == [], f"{where} carries {leaked}"
