"""Redacted case summaries on SQLite and PostgreSQL: a report counts only under the
consent of its source and of every person with an act in its incident; the figures
(reports, independent sources by kind, reliability mix) are over those reports; the rest
are counted as withheld without detail; a case with no usable report is not shared or
exported; revoking a consent takes a report out; the export is audited with its counts."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.cli import cli
from incidents.context import Context
from incidents.errors import NotFound, PermissionDenied
from incidents.models import Consent, Incident, Report, Source, Team
from incidents.models.vocabularies import (
    ConsentUse,
    DatePrecision,
    ReportStatus,
    ResponseKind,
    Role,
    SourceKind,
    SourceReliability,
)
from incidents.redaction import Profile
from incidents.services import consent, erasure, summaries
from incidents.services.export import (
    export_case_summary,
    start_summary_export,
    write_summary_export,
)
from incidents.services.summaries import KindCount, ReliabilityCount
from incidents.services.summary_documents import SUMMARY_COLUMNS, SUMMARY_FORMAT
from tests.factories import (
    ActFactory,
    ActionLinkFactory,
    ActionResponseFactory,
    AdvocacyActionFactory,
    ConsentFactory,
    IncidentFactory,
    PersonFactory,
    ReportFactory,
    SourceFactory,
    StateResponseFactory,
    TeamFactory,
    UserFactory,
)
from tests.helpers import count_events, events, invoke

ContextFor = Callable[..., Context]
PARTNERS = ConsentUse.SHARE_WITH_PARTNERS
PUBLISH = ConsentUse.PUBLISH_WITHOUT_NAME


@dataclass
class Case:
    team: Team
    incident: Incident
    reports: dict[str, Report]
    sources: dict[str, Source]


def _source(
    team: Team, kind: SourceKind, reliability: SourceReliability, *uses: ConsentUse
) -> Source:
    source = SourceFactory(team_id=team.id, kind=kind, reliability=reliability)
    for use in uses:
        ConsentFactory(team_id=team.id, person_id=None, source_id=source.id, use=use)
    return source


def _person_in(incident: Incident, *uses: ConsentUse) -> None:
    person = PersonFactory(team_id=incident.team_id)
    ActFactory(team_id=incident.team_id, person_id=person.id, incident_id=incident.id)
    for use in uses:
        ConsentFactory(team_id=incident.team_id, person_id=person.id, use=use)


def _report(incident: Incident, source: Source | None, **values: object) -> Report:
    report: Report = ReportFactory(
        team_id=incident.team_id,
        incident_id=incident.id,
        source_id=None if source is None else source.id,
        **values,
    )
    return report


@pytest.fixture
def case(db_session: Session) -> Case:
    """A case whose one person consents to both uses, with reports from sources that
    consent to sharing with partners, to publication, to both or to neither."""
    team = TeamFactory()
    incident = IncidentFactory(team_id=team.id, start_date=date(2017, 3, 14))
    _person_in(incident, PARTNERS, PUBLISH)
    sources = {
        "both": _source(team, SourceKind.WITNESS, SourceReliability.A, PARTNERS, PUBLISH),
        "partners": _source(team, SourceKind.WITNESS, SourceReliability.B, PARTNERS),
        "public": _source(team, SourceKind.JOURNALIST, SourceReliability.A, PUBLISH),
        "neither": _source(team, SourceKind.NGO, SourceReliability.C, ConsentUse.KEEP),
    }
    reports = {
        "both-1": _report(incident, sources["both"]),
        "both-2": _report(incident, sources["both"]),
        "partners": _report(incident, sources["partners"]),
        "public": _report(incident, sources["public"]),
        "neither": _report(incident, sources["neither"]),
        "unsourced": _report(incident, None),
        # Rejected at triage: corroborates nothing, so neither counted nor withheld.
        "rejected": _report(
            incident, sources["both"], status=ReportStatus.REJECTED, rejection_reason="dup"
        ),
    }
    return Case(team, incident, reports, sources)


def test_partner_figures_count_only_reports_shared_with_partners(case: Case, ctx: Context) -> None:
    summary = summaries.summary_of(ctx, case.incident.reference, Profile.PARTNER)

    assert summary.shareable
    assert summary.reports == 3  # both-1, both-2, partners
    assert summary.independent_sources == 2  # two reports of one source are one source
    assert summary.sources_by_kind == (KindCount(SourceKind.WITNESS, 2),)
    assert summary.reliability_mix == (
        ReliabilityCount(SourceReliability.A, 1),
        ReliabilityCount(SourceReliability.B, 1),
    )
    assert summary.withheld == 3  # public, neither, unsourced
    assert summary.withheld_note == (
        "3 reports not counted: consent to sharing with named partners not given"
    )
    assert summary.month == "2017-03"  # never the day
    assert summary.region == "Chechen Republic" and summary.country == "RU"
    assert summary.estimated_victims == 3


def test_public_figures_count_only_reports_that_may_be_published(case: Case, ctx: Context) -> None:
    summary = summaries.summary_of(ctx, case.incident.reference, Profile.PUBLIC)

    assert summary.reports == 3  # both-1, both-2, public
    assert summary.independent_sources == 2
    assert summary.sources_by_kind == (
        KindCount(SourceKind.WITNESS, 1),
        KindCount(SourceKind.JOURNALIST, 1),
    )
    assert summary.reliability_mix == (ReliabilityCount(SourceReliability.A, 2),)
    assert summary.withheld == 3
    assert summary.withheld_note is not None
    assert summary.withheld_note.endswith("consent to publication without their name not given")


def test_one_person_without_consent_withholds_every_report(case: Case, ctx: Context) -> None:
    _person_in(case.incident, PARTNERS)  # a second person, who has not agreed to publication
    assert summaries.summary_of(ctx, case.incident.reference, Profile.PARTNER).reports == 3
    public = summaries.summary_of(ctx, case.incident.reference, Profile.PUBLIC)
    assert not public.shareable
    assert public.reports == 0 and public.sources_by_kind == () and public.region is None


def test_revoking_a_consent_takes_the_report_out_of_the_counts(
    case: Case, ctx: Context, db_session: Session
) -> None:
    before = summaries.summary_of(ctx, case.incident.reference, Profile.PARTNER)
    grant = db_session.scalars(
        select(Consent).where(
            Consent.source_id == case.sources["partners"].id, Consent.use == PARTNERS
        )
    ).one()
    consent.revoke(ctx, grant.id, consent.today(), grant.lock_version)

    after = summaries.summary_of(ctx, case.incident.reference, Profile.PARTNER)
    assert (before.reports, after.reports) == (3, 2)
    assert (before.withheld, after.withheld) == (3, 4)
    assert after.independent_sources == 1
    assert after.reliability_mix == (ReliabilityCount(SourceReliability.A, 1),)


def test_actions_and_responses_are_those_of_counted_reports(case: Case, ctx: Context) -> None:
    team = case.team.id
    petition = AdvocacyActionFactory(team_id=team, title="Petition", signatures=177_000)
    ActionLinkFactory(action_id=petition.id, report_id=case.reports["partners"].id)
    ActionResponseFactory(action_id=petition.id, kind=ResponseKind.DENIAL, date=date(2017, 6, 1))
    hidden = AdvocacyActionFactory(team_id=team, title="Relies on a withheld report")
    ActionLinkFactory(action_id=hidden.id, report_id=case.reports["neither"].id)
    StateResponseFactory(
        team_id=team,
        incident_id=case.incident.id,
        date=date(2017, 4, 2),
        date_precision=DatePrecision.MONTH,
    )

    summary = summaries.summary_of(ctx, case.incident.reference, Profile.PARTNER)
    assert [a.title for a in summary.actions] == ["Petition"]
    (action,) = summary.actions
    assert action.signatures == 177_000
    assert [(r.kind, r.date) for r in action.responses] == [(ResponseKind.DENIAL, date(2017, 6, 1))]
    (official,) = summary.official_responses
    assert official.when == "2017-04" and official.authority.startswith("The regional")
    # Under the public profile the petition's report is withheld, and so is the petition.
    assert summaries.summary_of(ctx, case.incident.reference, Profile.PUBLIC).actions == ()


def test_nothing_is_decrypted(case: Case, ctx: Context, db_session: Session) -> None:
    before = count_events(db_session, AuditAction.SECRET_DECRYPT)
    summaries.summary_of(ctx, case.incident.reference, Profile.PARTNER)
    export_case_summary(ctx, case.incident.reference, Profile.PUBLIC)
    assert count_events(db_session, AuditAction.SECRET_DECRYPT) == before


def test_export_holds_only_shareable_cases_and_is_audited_with_counts(
    case: Case, ctx: Context, db_session: Session
) -> None:
    closed = IncidentFactory(team_id=case.team.id)  # its one report's source consents to nothing
    _report(closed, _source(case.team, SourceKind.VICTIM, SourceReliability.B))
    IncidentFactory(team_id=case.team.id)  # no report at all

    plan = start_summary_export(ctx, Profile.PARTNER)
    out = io.StringIO()
    written = write_summary_export(ctx, plan, out, progress=None)

    document = json.loads(out.getvalue())
    assert document["format"] == SUMMARY_FORMAT and document["profile"] == "partner"
    assert document["field_classes"] == ["public"]
    references = [s["reference"] for s in document["summaries"]]
    assert references == [case.incident.reference]  # the demo-less database: one case
    assert written == 1
    (shared,) = document["summaries"]
    assert shared["corroboration"]["reports"] == 3
    assert shared["corroboration"]["sources_by_kind"] == {"witness": 2}
    assert shared["corroboration"]["reliability_mix"] == {"A": 1, "B": 1}
    assert shared["corroboration"]["reports_not_counted"] == 3
    assert "place_detail" not in shared and "narrative" not in shared
    event = events(db_session, AuditAction.EXPORT)[-1]
    assert event.actor == "cli:tests"
    assert event.detail == {
        "profile": "partner",
        "format": "json",
        "summaries": 1,
        "reports": 3,
        "reports_not_counted": 3,
        "teams": sorted(t.slug for t in db_session.scalars(select(Team))),
    }

    plan = start_summary_export(ctx, Profile.PARTNER, fmt="csv")
    out = io.StringIO()
    assert write_summary_export(ctx, plan, out) == 1
    header, *rows = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert tuple(header) == SUMMARY_COLUMNS
    (row,) = [dict(zip(header, r, strict=True)) for r in rows]
    assert row["reference"] == case.incident.reference
    assert (row["reports"], row["independent_sources"], row["reports_not_counted"]) == (
        "3",
        "2",
        "3",
    )
    assert row["sources_by_kind"] == "witness: 2" and row["reliability_mix"] == "A: 1; B: 1"
    assert row["actions"] == str(len(shared["actions"]))
    assert row["official_responses"] == str(len(shared["official_responses"]))
    event = events(db_session, AuditAction.EXPORT)[-1]
    assert event.detail is not None and event.detail["format"] == "csv"


def test_an_erased_case_is_not_shared(case: Case, ctx: Context) -> None:
    erasure.erase_record(ctx, case.incident.reference, "consent_withdrawn")
    assert not summaries.summary_of(ctx, case.incident.reference, Profile.PARTNER).shareable
    assert start_summary_export(ctx, Profile.PARTNER).cases == ()


def test_readers_see_their_teams_cases_and_only_exporters_export(
    case: Case, context_for: ContextFor, db_session: Session
) -> None:
    reference = case.incident.reference
    lead = context_for(UserFactory(role=Role.ADVOCACY_LEAD, teams=[case.team]))
    auditor = context_for(UserFactory(role=Role.AUDITOR, teams=[case.team]))
    outsider = context_for(UserFactory(role=Role.RESEARCHER, teams=[TeamFactory()]))
    admin = context_for(UserFactory(role=Role.ADMIN, teams=[]))

    assert summaries.summary_of(lead, reference, Profile.PARTNER).reports == 3
    assert [s.reference for s in summaries.summaries_page(lead, Profile.PARTNER).summaries] == [
        reference
    ]
    assert summaries.summary_of(auditor, reference, Profile.PUBLIC).reports == 3
    assert export_case_summary(lead, reference, Profile.PARTNER)["summaries"][0]["shareable"]
    with pytest.raises(PermissionDenied):
        export_case_summary(auditor, reference, Profile.PARTNER)
    with pytest.raises(PermissionDenied):
        start_summary_export(auditor, Profile.PUBLIC)
    with pytest.raises(NotFound):
        summaries.summary_of(outsider, reference, Profile.PARTNER)
    assert summaries.summaries_page(outsider, Profile.PARTNER).summaries == ()
    with pytest.raises(PermissionDenied):
        summaries.summaries_page(admin, Profile.PARTNER)


def test_pages_continue_after_the_last_case_shown(
    case: Case, ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    second = IncidentFactory(team_id=case.team.id)
    _person_in(second)  # a person who consents to nothing: not shareable, left out
    _report(second, case.sources["both"])
    third = IncidentFactory(team_id=case.team.id)
    _report(third, case.sources["both"])
    monkeypatch.setattr(summaries, "PAGE_SIZE", 1)
    monkeypatch.setattr(summaries, "SCAN_BATCH", 1)

    first = summaries.summaries_page(ctx, Profile.PARTNER)
    assert [s.reference for s in first.summaries] == [case.incident.reference]
    assert first.next_after == case.incident.reference
    then = summaries.summaries_page(ctx, Profile.PARTNER, after=first.next_after)
    assert [s.reference for s in then.summaries] == [third.reference]
    assert then.next_after is None


@pytest.mark.parametrize("value", ["full", "internal", "PARTNER", "x" * 100])
def test_only_the_outside_profiles_make_summaries(value: str) -> None:
    with pytest.raises(ValueError, match="choose partner or public"):
        summaries.parse_profile(value)
    assert summaries.parse_profile(None) is Profile.PARTNER


def test_the_command_exports_every_teams_shareable_cases(
    case: Case, app: Flask, db_session: Session
) -> None:
    other_team = TeamFactory()
    other = IncidentFactory(team_id=other_team.id)
    _report(other, _source(other_team, SourceKind.OFFICIAL, SourceReliability.D, PUBLISH))

    result = invoke(app, cli, "export", "--profile", "public")

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["profile"] == "public"
    assert sorted(s["reference"] for s in document["summaries"]) == sorted(
        [case.incident.reference, other.reference]
    )
    assert result.stderr.splitlines()[-1] == (
        "exported 2 case summaries (public): 4 reports counted, 3 not counted for lack of consent"
    )
    event = events(db_session, AuditAction.EXPORT)[-1]
    assert event.detail is not None and event.detail["summaries"] == 2
