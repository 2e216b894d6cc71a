"""An incident's corroboration figures, on SQLite and PostgreSQL: reports counted, sources
counted once however many reports they gave, reports without a source apart, erased
reports left out, rejected ones apart, the reliability × credibility mix; in SQL, with
nothing decrypted, for everyone who may read the incident and no one else."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.context import Context
from incidents.errors import NotFound, PermissionDenied
from incidents.models import Incident, Source, Team
from incidents.models.vocabularies import ReportStatus, Role, SourceKind, SourceReliability
from incidents.services import erasure
from incidents.services.corroboration import (
    Corroboration,
    GradeCount,
    SourceKindCount,
    corroboration_of,
)
from tests.factories import IncidentFactory, ReportFactory, SourceFactory, TeamFactory, UserFactory
from tests.helpers import count_events, count_statements

ContextFor = Callable[..., Context]


@pytest.fixture
def team(db_session: Session) -> Team:
    return TeamFactory()


@pytest.fixture
def incident(team: Team) -> Incident:
    return IncidentFactory(team_id=team.id)


def _source(team: Team, kind: SourceKind, reliability: SourceReliability) -> Source:
    return SourceFactory(team_id=team.id, kind=kind, reliability=reliability)


def _report(incident: Incident, source: Source | None, credibility: int, **values: object) -> str:
    report = ReportFactory(
        team_id=incident.team_id,
        incident_id=incident.id,
        source_id=None if source is None else source.id,
        credibility=credibility,
        **values,
    )
    return str(report.reference)


def test_two_reports_from_one_source_are_one_independent_source(
    team: Team, incident: Incident, ctx: Context
) -> None:
    witness = _source(team, SourceKind.WITNESS, SourceReliability.B)
    other_witness = _source(team, SourceKind.WITNESS, SourceReliability.C)
    journalist = _source(team, SourceKind.JOURNALIST, SourceReliability.B)
    _report(incident, witness, 2)
    _report(incident, witness, 2)
    _report(incident, witness, 3)
    _report(incident, other_witness, 2)
    _report(incident, journalist, 1)
    _report(incident, None, 4)
    _report(incident, None, 4)

    figures = corroboration_of(ctx, incident)

    assert figures.reports == 7
    assert figures.independent_sources == 3
    assert figures.by_kind == (
        SourceKindCount(SourceKind.WITNESS, sources=2, reports=4),
        SourceKindCount(SourceKind.JOURNALIST, sources=1, reports=1),
    )
    assert figures.without_source == 2
    assert figures.rejected == 0
    assert [(g.grade, g.reports) for g in figures.grades] == [
        ("B1", 1),
        ("B2", 2),
        ("B3", 1),
        ("C2", 1),
        ("–4", 2),
    ]


def test_erased_reports_are_not_counted(team: Team, incident: Incident, ctx: Context) -> None:
    victim = _source(team, SourceKind.VICTIM, SourceReliability.A)
    family = _source(team, SourceKind.FAMILY_MEMBER, SourceReliability.D)
    _report(incident, victim, 1)
    erased = _report(incident, family, 5)
    _report(incident, None, 6)
    erased_unsourced = _report(incident, None, 6)
    for reference in (erased, erased_unsourced):
        erasure.erase_record(ctx, reference, "duplicate")

    figures = corroboration_of(ctx, incident)

    assert (figures.reports, figures.independent_sources, figures.without_source) == (2, 1, 1)
    assert figures.by_kind == (SourceKindCount(SourceKind.VICTIM, 1, 1),)
    assert figures.grades == (
        GradeCount(SourceReliability.A, 1, 1),
        GradeCount(None, 6, 1),
    )


def test_reports_of_an_erased_source_still_count_once(
    team: Team, incident: Incident, ctx: Context
) -> None:
    # Erasing a source shreds who it is; its kind and reliability stay, as provenance.
    ngo = _source(team, SourceKind.NGO, SourceReliability.B)
    _report(incident, ngo, 2)
    _report(incident, ngo, 3)
    erasure.erase_record(ctx, ngo.reference, "consent_withdrawn")
    figures = corroboration_of(ctx, incident)
    assert (figures.reports, figures.independent_sources) == (2, 1)


def test_rejected_reports_are_counted_apart(team: Team, incident: Incident, ctx: Context) -> None:
    witness = _source(team, SourceKind.WITNESS, SourceReliability.C)
    official = _source(team, SourceKind.OFFICIAL, SourceReliability.E)
    _report(incident, witness, 3)
    _report(incident, official, 5, status=ReportStatus.REJECTED)
    _report(incident, witness, 4, status=ReportStatus.REJECTED)
    figures = corroboration_of(ctx, incident)
    assert (figures.reports, figures.independent_sources, figures.rejected) == (1, 1, 2)
    assert figures.by_kind == (SourceKindCount(SourceKind.WITNESS, 1, 1),)
    assert [g.grade for g in figures.grades] == ["C3"]


def test_only_the_incidents_own_reports_count(team: Team, incident: Incident, ctx: Context) -> None:
    witness = _source(team, SourceKind.WITNESS, SourceReliability.B)
    _report(incident, witness, 2)
    _report(IncidentFactory(team_id=team.id), witness, 2)
    ReportFactory(team_id=team.id, source_id=witness.id)  # linked to no incident
    assert corroboration_of(ctx, incident).reports == 1


def test_an_incident_without_reports(incident: Incident, ctx: Context) -> None:
    assert corroboration_of(ctx, incident) == Corroboration(0, 0, (), 0, 0, ())


def test_counted_in_two_statements_without_decrypting(
    team: Team, incident: Incident, ctx: Context, app: Flask, db_session: Session
) -> None:
    for number in range(12):
        source = _source(team, list(SourceKind)[number % 5], list(SourceReliability)[number % 6])
        _report(incident, source, number % 6 + 1)
    decryptions = count_events(db_session, AuditAction.SECRET_DECRYPT)
    with count_statements(app) as statements:
        figures = corroboration_of(ctx, incident)
    assert statements.count == 2, statements
    assert figures.reports == 12
    assert count_events(db_session, AuditAction.SECRET_DECRYPT) == decryptions


@pytest.mark.parametrize("role", [Role.RESEARCHER, Role.AUDITOR])
def test_readers_of_restricted_fields_get_the_figures(
    role: Role, team: Team, incident: Incident, context_for: ContextFor
) -> None:
    _report(incident, _source(team, SourceKind.VICTIM, SourceReliability.A), 1)
    reader = context_for(UserFactory(role=role, teams=[team]))
    assert corroboration_of(reader, incident.reference).reports == 1
    assert corroboration_of(reader, incident).independent_sources == 1


def test_an_advocacy_lead_is_refused_the_figures(
    team: Team, incident: Incident, context_for: ContextFor
) -> None:
    """One report's figures are its source's kind and grade: restricted fields."""
    _report(incident, _source(team, SourceKind.VICTIM, SourceReliability.A), 1)
    lead = context_for(UserFactory(role=Role.ADVOCACY_LEAD, teams=[team]))
    with pytest.raises(PermissionDenied):
        corroboration_of(lead, incident.reference)
    with pytest.raises(PermissionDenied):
        corroboration_of(lead, incident)


@pytest.mark.parametrize("role", [Role.RESEARCHER, Role.AUDITOR, Role.ADMIN, None])
def test_another_teams_incident_is_not_found(
    role: Role | None, incident: Incident, context_for: ContextFor
) -> None:
    outsider = None if role is None else UserFactory(role=role, teams=[TeamFactory()])
    with pytest.raises(NotFound):
        corroboration_of(context_for(outsider), incident)
    with pytest.raises(NotFound):
        corroboration_of(context_for(outsider), incident.reference)
