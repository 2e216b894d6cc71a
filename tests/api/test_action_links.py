"""Links from advocacy actions to reports through the API, on SQLite and PostgreSQL: made
by the action's advocacy lead when consent allows, refused with the page's words — a 422
problem, audited all the same — when it does not, flagged once a consent they relied on
is withdrawn, removed with If-Match; read by every role that reads advocacy work, and
another team's link is not found."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.models import ActionLink, AdvocacyAction, Report
from incidents.models.vocabularies import ActionKind, ConsentUse
from incidents.services import action_links
from incidents.services.consent_uses import refusal
from tests.api.conftest import TokenClient, field_errors, problem
from tests.factories import (
    ActionLinkFactory,
    AdvocacyActionFactory,
    ConsentFactory,
    ReportFactory,
    SourceFactory,
)
from tests.helpers import count_events
from tests.web.conftest import World

ApiClient = Callable[..., TokenClient]


def _consenting_report(world: World, use: ConsentUse = ConsentUse.ANONYMISED_ADVOCACY) -> Report:
    """A report whose source consents to `use` (its incident has no people)."""
    source = SourceFactory(team_id=world.team.id)
    ConsentFactory(team_id=world.team.id, person_id=None, source_id=source.id, use=use)
    report: Report = ReportFactory(team_id=world.team.id, source_id=source.id)
    return report


def _action(world: World, kind: ActionKind = ActionKind.PETITION) -> AdvocacyAction:
    action: AdvocacyAction = AdvocacyActionFactory(team_id=world.team.id, kind=kind)
    return action


def test_a_lead_links_a_consenting_report_and_removes_the_link(
    api_client: ApiClient, world: World, db_session: Session
) -> None:
    lead = api_client("advocacy_lead")
    action, report = _action(world), _consenting_report(world)

    made = lead.post(
        "/action_links",
        {"action": action.reference, "report": report.reference, "note": "The detention."},
    )

    assert made.status_code == 201, made.get_data(as_text=True)
    link = made.get_json()
    assert made.headers["Location"] == f"/api/v1/action_links/{link['id']}"
    assert made.headers["ETag"] == '"1"'
    assert (link["action"], link["report"]) == (str(action.id), str(report.id))
    assert link["note"] == "The detention."
    assert link["created_by"] == lead.user.email
    assert link["flagged"] is False
    assert db_session.get(ActionLink, uuid.UUID(link["id"])) is not None

    listed = lead.get(f"/action_links?action={action.reference}").get_json()
    assert [item["id"] for item in listed["items"]] == [link["id"]]

    removed = lead.delete(f"/action_links/{link['id']}", headers={"If-Match": '"1"'})

    assert removed.status_code == 204
    assert removed.get_data() == b""
    assert lead.get(f"/action_links/{link['id']}").status_code == 404
    assert count_events(db_session, AuditAction.LINK_REMOVED, action) == 1


def test_a_refused_link_is_a_422_in_the_pages_words_and_stays_in_the_audit_log(
    api_client: ApiClient, world: World, db_session: Session
) -> None:
    lead = api_client("advocacy_lead")
    action = _action(world, ActionKind.UN_SUBMISSION)
    report = _consenting_report(world)  # anonymised advocacy only, not transfer to the UN
    expected = refusal(
        report.reference, action_links.missing_for(action, report), "a UN submission"
    )

    answer = lead.post("/action_links", {"action": action.reference, "report": report.id.hex})

    assert answer.status_code == 422
    body = problem(answer)
    assert body["type"] == "/api/v1/problems/consent-missing"
    assert body["detail"] == expected
    assert field_errors(answer) == {"report": expected}
    assert "transfer to UN bodies or courts" in expected
    assert (
        db_session.scalars(select(ActionLink).where(ActionLink.action_id == action.id)).all() == []
    )
    # The request was answered, not failed: its refusal event was committed with it.
    assert count_events(db_session, AuditAction.LINK_REFUSED, action) == 1


def test_a_withdrawn_consent_flags_the_link(
    api_client: ApiClient, world: World, db_session: Session
) -> None:
    lead, researcher = api_client("advocacy_lead"), api_client("researcher")
    source = SourceFactory(team_id=world.team.id)
    grant = ConsentFactory(
        team_id=world.team.id,
        person_id=None,
        source_id=source.id,
        use=ConsentUse.ANONYMISED_ADVOCACY,
    )
    report = ReportFactory(team_id=world.team.id, source_id=source.id)
    link = lead.post(
        "/action_links", {"action": _action(world).reference, "report": str(report.id)}
    )
    assert link.status_code == 201, link.get_data(as_text=True)

    withdrawn = researcher.post(
        f"/consents/{grant.id}/revoke", {"revoked_on": "2017-05-01"}, headers={"If-Match": "1"}
    )
    assert withdrawn.status_code == 200, withdrawn.get_data(as_text=True)

    shown = lead.get(f"/action_links/{link.get_json()['id']}").get_json()
    assert shown["flagged"] is True
    assert shown["flag_reason"] == "its source has not consented to anonymised use in advocacy"


def test_removing_needs_the_version_read(api_client: ApiClient, world: World) -> None:
    lead = api_client("advocacy_lead")
    action = _action(world)
    link = ActionLinkFactory(action_id=action.id, report_id=ReportFactory(team_id=world.team.id).id)

    assert problem(lead.delete(f"/action_links/{link.id}"))["status"] == 428
    stale = lead.delete(f"/action_links/{link.id}", headers={"If-Match": '"7"'})
    assert problem(stale)["current_version"] == 1
    assert stale.status_code == 409
    assert lead.get(f"/action_links/{link.id}").status_code == 200


def test_only_the_teams_advocacy_lead_links_and_every_advocacy_reader_reads(
    api_client: ApiClient, world: World
) -> None:
    action, report = _action(world), _consenting_report(world)
    link = ActionLinkFactory(action_id=action.id, report_id=report.id)
    body = {"action": action.reference, "report": report.reference}

    for role in ("researcher", "auditor"):
        caller = api_client(role)
        assert caller.post("/action_links", body).status_code == 403, role
        assert (
            caller.delete(f"/action_links/{link.id}", headers={"If-Match": "1"}).status_code == 403
        )
        assert caller.get(f"/action_links/{link.id}").status_code == 200, role
        assert [i["id"] for i in caller.get("/action_links").get_json()["items"]] == [str(link.id)]
    # A token without the scope cannot do what its user's role could.
    reader = api_client("advocacy_lead", ["advocacy:read"])
    assert reader.post("/action_links", body).status_code == 403


def test_another_teams_actions_reports_and_links_are_not_found(
    api_client: ApiClient, world: World
) -> None:
    lead = api_client("advocacy_lead")
    theirs = AdvocacyActionFactory(team_id=world.other_team.id)
    their_report = ReportFactory(team_id=world.other_team.id)
    their_link = ActionLinkFactory(action_id=theirs.id, report_id=their_report.id)
    mine = _action(world)

    assert lead.get(f"/action_links/{their_link.id}").status_code == 404
    assert (
        lead.delete(f"/action_links/{their_link.id}", headers={"If-Match": "1"}).status_code == 404
    )
    assert lead.get("/action_links").get_json()["items"] == []
    to_theirs = lead.post(
        "/action_links", {"action": theirs.reference, "report": str(their_report.id)}
    )
    assert field_errors(to_theirs) == {
        "action": f"There is no advocacy action {theirs.reference} in this team; check the "
        "reference."
    }
    from_mine = lead.post(
        "/action_links", {"action": mine.reference, "report": str(their_report.id)}
    )
    assert set(field_errors(from_mine)) == {"report"}
    filtered = lead.get(f"/action_links?report={their_report.reference}")
    assert set(field_errors(filtered)) == {"report"}


def test_unknown_fields_and_shapes_are_refused_by_name(api_client: ApiClient, world: World) -> None:
    lead = api_client("advocacy_lead")

    answer = lead.post("/action_links", {"action": _action(world).reference, "colour": "red"})

    assert set(field_errors(answer)) == {"report", "colour"}
