"""Imports are all or nothing: every row is checked, a file with one bad row changes
nothing and names the row and field, a dry run reports and changes nothing, importing
again creates nothing, and bad files of every kind are one clear message each."""

from __future__ import annotations

import codecs
import io
import json
import uuid
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incidents.context import Context
from incidents.models import (
    ActionLink,
    AdvocacyAction,
    Campaign,
    Consent,
    FollowUp,
    Incident,
    Person,
    Report,
    Source,
    Team,
    User,
)
from incidents.models.vocabularies import ActionKind, ConsentUse, Role
from incidents.records.kinds import kind_named
from incidents.services import erasure, import_run, imports
from incidents.services.import_csv import template
from incidents.services.import_rows import NAMESPACE
from incidents.vault import FieldVault
from tests.factories import (
    AdvocacyActionFactory,
    ConsentFactory,
    IncidentFactory,
    ReportFactory,
    SourceFactory,
    TeamFactory,
    UserFactory,
)
from tests.helpers import count_events, events

Build = Callable[..., Context]


def _json(records: dict[str, list[dict[str, Any]]], **header: Any) -> io.BytesIO:
    body = {"format": "incidents-records/1", **header, "records": records}
    return io.BytesIO(json.dumps(body).encode())


def _count(session: Session, model: type[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _case(team: str, *, bad_date: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """An incident, a source and two reports, linked by other tools' ids."""
    return {
        "incident": [
            {
                "id": "case-1",
                "team": team,
                "reference": "INC-2016-0042",
                "title": "Detentions at a checkpoint",
                "narrative": "CANARY-narrative of the import",
                "violation_types": ["arbitrary_detention"],
                "start_date": "2016-05",
                "country": "RU",
            }
        ],
        "source": [{"id": "src-1", "team": team, "kind": "witness", "identity": "A witness"}],
        "report": [
            {
                "id": "rpt-1",
                "team": team,
                "title": "First account",
                "source": "src-1",
                "incident": "case-1",
                "received_on": "2016-06-01",
                "channel": "interview",
            },
            {
                "id": "rpt-2",
                "team": team,
                "title": "Second account",
                "incident": "case-1",
                "received_on": bad_date or "2016-06-02",
                "channel": "hotline",
            },
        ],
    }


@pytest.fixture
def team(db_session: Session) -> Team:
    return TeamFactory(slug="north")


@pytest.fixture
def researcher(team: Team) -> User:
    return UserFactory(role=Role.RESEARCHER, teams=[team])


def test_a_json_file_is_imported_with_its_links_references_and_secrets(
    db_session: Session, context_for: Build, researcher: User, vault: FieldVault
) -> None:
    ctx = context_for(researcher)
    outcome = imports.plan_import(ctx, _json(_case("north")))
    assert outcome.imported, outcome.errors
    assert {k: c.created for k, c in outcome.per_kind()} == {
        "incident": 1,
        "source": 1,
        "report": 2,
    }
    incident = db_session.scalars(select(Incident).where(Incident.title.like("Detentions%"))).one()
    assert incident.reference == "INC-2016-0042"
    assert incident.id == uuid.uuid5(NAMESPACE, "incident:north:case-1")
    assert vault.unseal(incident, "narrative")["narrative"] == "CANARY-narrative of the import"
    reports = db_session.scalars(select(Report).where(Report.incident_id == incident.id)).all()
    assert {r.title for r in reports} == {"First account", "Second account"}
    # The kept reference moved its counter on: the next incident of 2016 is 0043.
    later = imports.plan_import(
        ctx,
        _json({"incident": [{"team": "north", "title": "Later", "start_date": "2016"}]}),
    )
    assert later.imported
    made = db_session.scalars(select(Incident).where(Incident.title == "Later")).one()
    assert made.reference == "INC-2016-0043"
    first, _later = events(db_session, "import")
    assert first.detail["counts"]["report"] == {"created": 2}
    assert first.team_id == incident.team_id
    assert "CANARY" not in json.dumps(first.detail)


def test_importing_the_same_file_again_creates_nothing(
    db_session: Session, context_for: Build, researcher: User
) -> None:
    ctx = context_for(researcher)
    assert imports.plan_import(ctx, _json(_case("north"))).imported
    before = _count(db_session, Report)
    again = imports.plan_import(ctx, _json(_case("north")))
    assert again.imported, again.errors
    assert {k: (c.created, c.unchanged) for k, c in again.per_kind()} == {
        "incident": (0, 1),
        "source": (0, 1),
        "report": (0, 2),
    }
    assert _count(db_session, Report) == before


def test_one_bad_row_changes_nothing_and_is_named(
    db_session: Session, context_for: Build, researcher: User
) -> None:
    before = (_count(db_session, Incident), _count(db_session, Report), count_events(db_session))
    outcome = imports.plan_import(context_for(researcher), _json(_case("north", bad_date="2/6/16")))
    assert not outcome.imported
    (error,) = outcome.errors
    assert (error.kind, error.row, error.field) == ("report", 2, "received_on")
    assert str(error) == "report record 2, field received_on: Use a date like 2017-04-20."
    assert outcome.count("report").failed == 1
    # Nothing was written: no record and no audit event (nothing was decrypted either).
    after = (_count(db_session, Incident), _count(db_session, Report), count_events(db_session))
    assert after == before


def test_a_dry_run_reports_and_changes_nothing(
    db_session: Session, context_for: Build, researcher: User
) -> None:
    ctx = context_for(researcher)
    before = (_count(db_session, Report), count_events(db_session))
    outcome = imports.plan_import(ctx, _json(_case("north")), dry_run=True)
    assert outcome.ok and not outcome.imported
    assert outcome.count("report").created == 2
    assert [(c.kind, c.outcome) for c in outcome.changes][:2] == [
        ("incident", "created"),
        ("source", "created"),
    ]
    assert (_count(db_session, Report), count_events(db_session)) == before
    # Once imported, a dry run of a changed file names the fields it would change.
    assert imports.plan_import(ctx, _json(_case("north"))).imported
    changed = _case("north")
    changed["report"][0]["title"] = "First account, corrected"
    changed["incident"][0]["narrative"] = "Another narrative"
    check = imports.plan_import(ctx, _json(changed), dry_run=True)
    updates = {(c.kind, c.record[:3], c.fields) for c in check.changes if c.outcome == "updated"}
    assert updates == {("report", "RPT", ("title",)), ("incident", "INC", ("narrative",))}
    report = db_session.scalars(select(Report).where(Report.title.like("First account%"))).one()
    assert report.title == "First account"
    # The stored narrative was decrypted to compare it: that stays in the log.
    decrypted = events(db_session, "secret.decrypt")
    assert {(e.target_table, e.detail.get("purpose")) for e in decrypted} == {
        ("incidents", "import"),
        ("sources", "import"),
    }


def test_an_update_changes_only_what_differs_and_never_from_an_older_version(
    db_session: Session, context_for: Build, researcher: User
) -> None:
    ctx = context_for(researcher)
    assert imports.plan_import(ctx, _json(_case("north"))).imported
    changed = _case("north")
    changed["report"][1]["channel"] = "media"
    outcome = imports.plan_import(ctx, _json(changed))
    assert outcome.imported and outcome.count("report").updated == 1
    report = db_session.scalars(select(Report).where(Report.title == "Second account")).one()
    assert report.channel.value == "media" and report.lock_version == 2
    # A file made from version 1 that would change the report again is refused.
    stale = _case("north")
    stale["report"][1].update(channel="official_document", lock_version=1)
    refused = imports.plan_import(ctx, _json(stale))
    (error,) = refused.errors
    assert error.field == "lock_version" and "nothing was overwritten" in error.message
    db_session.refresh(report)
    assert report.channel.value == "media"


def test_links_to_another_teams_records_and_to_nothing_are_refused(
    db_session: Session, context_for: Build, researcher: User
) -> None:
    other = IncidentFactory(team_id=TeamFactory().id)
    rows = {
        "report": [
            {
                "team": "north",
                "title": "A",
                "incident": other.reference,
                "received_on": "2017-01-01",
                "channel": "media",
            },
            {
                "team": "north",
                "title": "B",
                "source": "no-such-source",
                "received_on": "2017-01-01",
                "channel": "media",
            },
        ]
    }
    outcome = imports.plan_import(context_for(researcher), _json(rows))
    assert [(e.row, e.field) for e in outcome.errors] == [(1, "incident"), (2, "source")]
    assert "There is no incident" in outcome.errors[0].message
    assert _count(db_session, Report) == 0


def test_a_team_that_is_not_the_users_is_a_row_error(
    db_session: Session, context_for: Build, researcher: User
) -> None:
    TeamFactory(slug="south")
    rows = {"source": [{"team": "south", "kind": "witness"}]}
    (error,) = imports.plan_import(context_for(researcher), _json(rows)).errors
    assert error.field == "team" and error.message.startswith("south is not one of your teams")


def test_the_operator_creates_the_teams_the_file_lists(db_session: Session, ctx: Context) -> None:
    rows = {"source": [{"team": "west", "kind": "witness"}]}
    outcome = imports.plan_import(ctx, _json(rows, teams=[{"slug": "west", "name": "West"}]))
    assert outcome.imported and outcome.teams_created == ["west"]
    assert db_session.scalars(select(Team).where(Team.slug == "west")).one().name == "West"
    # A team neither known nor listed is named.
    (error,) = imports.plan_import(
        ctx, _json({"source": [{"team": "east", "kind": "witness"}]})
    ).errors
    assert error.field == "team" and "There is no team east" in error.message


def test_rows_without_a_team_take_the_default(
    db_session: Session, context_for: Build, researcher: User, team: Team
) -> None:
    ctx = context_for(researcher)
    (error,) = imports.plan_import(ctx, _json({"source": [{"kind": "witness"}]})).errors
    assert error.field == "team"
    outcome = imports.plan_import(ctx, _json({"source": [{"kind": "witness"}]}), team="north")
    assert outcome.imported
    assert db_session.scalars(select(Source)).one().team_id == team.id


def test_a_link_that_consent_does_not_allow_is_a_row_error(
    db_session: Session, context_for: Build, team: Team
) -> None:
    lead = UserFactory(role=Role.ADVOCACY_LEAD, teams=[team])
    report = ReportFactory(team_id=team.id, source_id=SourceFactory(team_id=team.id).id)
    action = AdvocacyActionFactory(team_id=team.id, kind=ActionKind.UN_SUBMISSION)
    rows = {"action_link": [{"action": str(action.id), "report": report.reference}]}
    outcome = imports.plan_import(context_for(lead), _json(rows))
    (error,) = outcome.errors
    assert error.field == "report" and report.reference in error.message
    assert _count(db_session, ActionLink) == 0
    # The refusal is audited as the page audits it, though nothing was imported.
    (refused,) = events(db_session, "link.refused")
    assert refused.detail["report"] == report.reference


def test_an_advocacy_lead_imports_advocacy_work_and_no_case_records(
    db_session: Session, context_for: Build, team: Team
) -> None:
    lead = UserFactory(role=Role.ADVOCACY_LEAD, teams=[team])
    rows = {
        "incident": [{"team": "north", "title": "Not theirs"}],
        "campaign": [{"id": "c1", "team": "north", "name": "Free them"}],
        "advocacy_action": [
            {"team": "north", "campaign": "c1", "kind": "petition", "title": "Sign"}
        ],
        "follow_up": [{"team": "north", "action": "ACT-2099-0001", "description": "Deliver it"}],
    }
    outcome = imports.plan_import(context_for(lead), _json(rows))
    assert [(e.kind, e.field) for e in outcome.errors] == [
        ("incident", None),
        ("follow_up", "action"),
    ]
    assert "Your roles do not let you write incidents" in outcome.errors[0].message
    del rows["incident"], rows["follow_up"]
    assert imports.plan_import(context_for(lead), _json(rows)).imported
    action = db_session.scalars(select(AdvocacyAction)).one()
    assert action.campaign_id == db_session.scalars(select(Campaign)).one().id


def test_a_follow_up_is_assigned_by_e_mail_and_marked_done(
    db_session: Session, context_for: Build, team: Team
) -> None:
    lead = UserFactory(role=Role.ADVOCACY_LEAD, teams=[team])
    outsider = UserFactory(role=Role.ADVOCACY_LEAD, teams=[TeamFactory()])
    action = AdvocacyActionFactory(team_id=team.id)
    row = {
        "action": action.reference,
        "description": "Call them",
        "assignee": lead.email,
        "done_at": "2017-06-02T09:00:00+00:00",
    }
    refused = imports.plan_import(
        context_for(lead), _json({"follow_up": [{**row, "assignee": outsider.email}]})
    )
    assert [e.field for e in refused.errors] == ["assignee"]
    assert imports.plan_import(context_for(lead), _json({"follow_up": [row]})).imported
    follow_up = db_session.scalars(select(FollowUp)).one()
    assert follow_up.assignee_id == lead.id and follow_up.done_at is not None


def test_consents_go_through_the_consent_service(
    db_session: Session, context_for: Build, researcher: User, team: Team
) -> None:
    given = ConsentFactory(team_id=team.id, use=ConsentUse.KEEP)
    row = {
        "team": "north",
        "person": str(given.person_id),
        "use": "keep_in_database",
        "granted_on": "2018-01-01",
    }
    (error,) = imports.plan_import(context_for(researcher), _json({"consent": [row]})).errors
    assert error.field == "use" and "already consents" in error.message
    withdrawn = {**row, "use": "publication_without_name", "revoked_on": "2018-02-01"}
    assert imports.plan_import(context_for(researcher), _json({"consent": [withdrawn]})).imported
    made = db_session.scalars(
        select(Consent).where(Consent.use == ConsentUse.PUBLISH_WITHOUT_NAME)
    ).one()
    assert made.revoked_on is not None and made.recorded_by_id == researcher.id


def test_people_are_recorded_through_the_people_service(
    db_session: Session, context_for: Build, researcher: User, vault: FieldVault
) -> None:
    row = {"team": "north", "full_name": "  Ruslan   Example ", "aliases": ["R. Example"]}
    assert imports.plan_import(context_for(researcher), _json({"person": [row]})).imported
    person = db_session.scalars(select(Person)).one()
    assert vault.unseal(person, "full_name", "aliases") == {
        "full_name": "Ruslan Example",
        "aliases": "R. Example",
    }


def test_a_reference_of_another_record_is_a_row_error(
    db_session: Session, context_for: Build, researcher: User, team: Team
) -> None:
    taken = IncidentFactory(team_id=team.id)
    rows = {
        "incident": [
            {"id": str(uuid.uuid4()), "team": "north", "title": "T", "reference": taken.reference}
        ]
    }
    (error,) = imports.plan_import(context_for(researcher), _json(rows)).errors
    assert error.field == "reference" and "another incident" in error.message


def test_duplicate_ids_in_one_file_are_named(
    db_session: Session, context_for: Build, researcher: User
) -> None:
    same = {"team": "north", "kind": "witness"}
    outcome = imports.plan_import(context_for(researcher), _json({"source": [same, dict(same)]}))
    (error,) = outcome.errors
    assert (error.row, error.field) == (2, "id")
    assert "the same source as source record 1" in error.message


def test_unknown_fields_are_named_once_per_kind(
    db_session: Session, context_for: Build, researcher: User
) -> None:
    rows = [
        {"team": "north", "kind": "witness", "nickname": f"N{n}", "identity": f"W{n}"}
        for n in range(5)
    ]
    outcome = imports.plan_import(context_for(researcher), _json({"source": rows}))
    (error,) = outcome.errors
    assert (error.kind, error.row, error.field) == ("source", 1, "nickname")


def test_wrong_values_get_the_registrys_own_messages(
    db_session: Session, context_for: Build, researcher: User
) -> None:
    rows = {
        "incident": [
            {"team": "north", "title": "x" * 301, "status": "lost", "start_date": "May 2017"}
        ]
    }
    (outcome,) = [imports.plan_import(context_for(researcher), _json(rows))]
    assert {e.field: e.message for e in outcome.errors} == {
        "title": "Use at most 300 characters.",
        "status": "Choose a status from the list.",
        "start_date": "Use YYYY, YYYY-MM or YYYY-MM-DD, e.g. 2017 or 2017-04-20.",
    }


def test_errors_are_capped(db_session: Session, context_for: Build, researcher: User) -> None:
    rows = [{"team": "north", "kind": "nobody knows", "id": str(n)} for n in range(205)]
    outcome = imports.plan_import(context_for(researcher), _json({"source": rows}))
    assert len(outcome.errors) == imports.MAX_LISTED and outcome.more_errors == 5


def test_memory_is_let_go_in_batches(
    db_session: Session, context_for: Build, researcher: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_run, "BATCH", 2)
    rows = [
        {"id": f"s{n}", "team": "north", "kind": "witness", "identity": f"W{n}"} for n in range(7)
    ]
    done: list[int] = []
    outcome = imports.plan_import(
        context_for(researcher), _json({"source": rows}), progress=done.append
    )
    assert outcome.imported and done == [2, 2, 2, 1]
    assert _count(db_session, Source) == 7


# -- bad files ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "line", "words"),
    [
        (b'{"records": {"source": [\n{"kind": "witness",}\n]}}', 2, "not valid JSON"),
        (b'{"records": {"source": [\n{"kind": "witness"}\n', 3, "cut short"),
        (b"[1, 2]", None, "one JSON object"),
    ],
)
def test_malformed_json_is_one_message_with_its_line(
    db_session: Session, ctx: Context, data: bytes, line: int | None, words: str
) -> None:
    outcome = imports.plan_import(ctx, io.BytesIO(data))
    (error,) = outcome.errors
    assert error.row == line and words in error.message


def test_a_summaries_export_is_refused(db_session: Session, ctx: Context) -> None:
    data = json.dumps({"format": "incidents-summaries/1", "summaries": []}).encode()
    (error,) = imports.plan_import(ctx, io.BytesIO(data)).errors
    assert "redacted case summaries" in error.message


def _csv(text: str, encoding: str = "utf-8") -> io.BytesIO:
    return io.BytesIO(text.encode(encoding))


def test_a_csv_filled_in_from_its_template(
    db_session: Session, context_for: Build, researcher: User
) -> None:
    header = template(kind_named("incident"))
    assert header.startswith("id,reference,team,title,summary,narrative,violation_types")
    columns = header.strip().split(",")
    cells = dict.fromkeys(columns, "")
    cells.update(
        id="case-7",
        team="north",
        title="'=1+2",
        violation_types="abduction; torture_or_ill_treatment\nkilling",
        start_date="2017-04",
        narrative='He said: "they came at night",\nthen left.',
    )
    line = ",".join('"' + cells[c].replace('"', '""') + '"' for c in columns)
    outcome = imports.plan_import(
        context_for(researcher), _csv(header + line + "\r\n"), name="incident.csv"
    )
    assert outcome.imported, outcome.errors
    incident = db_session.scalars(select(Incident).where(Incident.title == "=1+2")).one()
    assert {v.violation_type.value for v in incident.violations} == {
        "abduction",
        "torture_or_ill_treatment",
        "killing",
    }
    assert incident.start_precision.value == "month"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_a_csv_with_a_byte_order_mark_is_read(
    db_session: Session, context_for: Build, researcher: User, encoding: str
) -> None:
    data = _csv("team,kind,identity\r\nnorth,witness,Zelimkhan Éxample\r\n", encoding)
    outcome = imports.plan_import(context_for(researcher), data, kind="source")
    assert outcome.imported, outcome.errors


def test_a_latin_1_csv_is_refused_at_its_line(
    db_session: Session, ctx: Context, team: Team
) -> None:
    data = _csv(
        "team,kind,identity\nnorth,witness,Ok\nnorth,witness,Zelimkhan Éxample\n", "latin-1"
    )
    (error,) = imports.plan_import(ctx, data, kind="source").errors
    assert error.row == 3 and "save the file as UTF-8" in error.message
    assert str(error).startswith("source.csv line 3: Line 3 holds bytes that are not UTF-8")


def test_an_unknown_column_is_one_error(db_session: Session, ctx: Context, team: Team) -> None:
    rows = "".join(f"north,witness,W{n},blue\n" for n in range(4))
    data = _csv("team,kind,identity,colour\n" + rows)
    (error,) = imports.plan_import(ctx, data, kind="source").errors
    assert (error.row, error.field) == (1, "colour")


def test_bad_csv_rows_are_named_by_their_line(
    db_session: Session, ctx: Context, team: Team
) -> None:
    data = "team,kind,reliability\nnorth,witness,A\n\nnorth,elf,A\nnorth,witness,Z,extra\n"
    outcome = imports.plan_import(ctx, _csv(data), kind="source")
    assert [(e.row, e.field) for e in outcome.errors] == [(4, "kind"), (5, None)]
    assert _count(ctx.session, Source) == 0


def test_a_huge_cell_is_refused(db_session: Session, ctx: Context, team: Team) -> None:
    data = "team,kind,identity\nnorth,witness," + "x" * 200_000 + "\n"
    (error,) = imports.plan_import(ctx, _csv(data), kind="source").errors
    assert error.row == 2 and "longer than 131,072 characters" in error.message


def test_a_csv_without_its_kind_is_refused(db_session: Session, ctx: Context) -> None:
    (error,) = imports.plan_import(ctx, _csv("team,kind\nnorth,witness\n")).errors
    assert "Say which kind of record" in error.message


def test_a_zip_of_csvs_is_imported_referenced_kinds_first(
    db_session: Session, ctx: Context
) -> None:
    TeamFactory(slug="zipped")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(
            "report.csv",
            "id,team,title,source,received_on,channel\nr1,zipped,A,s1,2017-01-02,media\n",
        )
        z.writestr("source.csv", codecs.BOM_UTF8.decode() + "id,team,kind\ns1,zipped,witness\n")
    outcome = imports.plan_import(ctx, archive, name="export.zip")
    assert outcome.imported, outcome.errors
    report = ctx.session.scalars(select(Report).where(Report.title == "A")).one()
    assert report.source_id == uuid.uuid5(NAMESPACE, "source:zipped:s1")


def test_a_zip_with_a_stray_file_is_refused(db_session: Session, ctx: Context) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("notes.txt", "hello")
    (error,) = imports.plan_import(ctx, archive, name="x.zip").errors
    assert "notes.txt" in error.message


def test_json_in_utf_16_is_read_and_in_latin_1_refused(
    db_session: Session, ctx: Context, team: Team
) -> None:
    text = '{"records": {"source": [\n{"team": "north", "kind": "witness", "identity": "Éva"}\n]}}'
    assert imports.plan_import(ctx, io.BytesIO(text.encode("utf-16")), name="a.json").imported
    (error,) = imports.plan_import(ctx, io.BytesIO(text.encode("latin-1")), name="b.json").errors
    assert (error.row, error.unit) == (2, "line") and "not UTF-8" in error.message


def test_an_erased_records_reference_is_not_given_again(
    db_session: Session, ctx: Context, team: Team
) -> None:
    gone = IncidentFactory(team_id=team.id)
    erasure.erase_record(ctx, gone.reference, "consent_withdrawn")
    row = {"team": "north", "title": "New", "reference": gone.reference}
    (error,) = imports.plan_import(ctx, _json({"incident": [{**row, "id": "new"}]})).errors
    assert error.field == "reference" and gone.reference in error.message
    # Without an id, the row is about the erased record, which cannot change.
    (error,) = imports.plan_import(ctx, _json({"incident": [row]})).errors
    assert error.message == f"{gone.reference} was erased; it cannot be changed."


def test_kinds_may_come_in_any_order(
    db_session: Session, context_for: Build, researcher: User
) -> None:
    case = _case("north")
    backwards = {kind: case[kind] for kind in reversed(list(case))}
    assert next(iter(backwards)) == "report"
    outcome = imports.plan_import(context_for(researcher), _json(backwards))
    assert outcome.imported, outcome.errors
    assert _count(db_session, Report) == 2


def test_a_csv_with_semicolons_between_its_cells(
    db_session: Session, ctx: Context, team: Team
) -> None:
    data = _csv('team;kind;identity\nnorth;witness;"Doe; Jane"\n')
    assert imports.plan_import(ctx, data, kind="source").imported
    assert _count(db_session, Source) == 1
