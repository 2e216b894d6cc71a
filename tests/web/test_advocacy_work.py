"""An action's responses, follow-ups and links to reports on its page: the lead's forms
accept, or refuse with a 422 that keeps what was typed (a link without consent names the
missing use); a withdrawn consent flags the link on the page; follow-ups are marked done
and undone by their buttons; only the team's advocacy lead writes, and every reader of
advocacy work sees the section."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.context import Context
from incidents.models import (
    ActionLink,
    ActionResponse,
    AdvocacyAction,
    Consent,
    FollowUp,
    Report,
    User,
)
from incidents.models.vocabularies import ActionKind, ConsentUse, ResponseKind
from incidents.services import consent
from tests.conftest import csrf_token
from tests.factories import (
    ActFactory,
    ActionLinkFactory,
    ActionResponseFactory,
    AdvocacyActionFactory,
    ConsentFactory,
    FollowUpFactory,
    PersonFactory,
    ReportFactory,
    SourceFactory,
)
from tests.helpers import count_events
from tests.web.conftest import World

REFUSED = 422
TITLE = "CANARY-report-title-6J2"


@pytest.fixture
def action(world: World) -> AdvocacyAction:
    return AdvocacyActionFactory(team_id=world.team.id, kind=ActionKind.UN_SUBMISSION)


@pytest.fixture
def report(world: World) -> Report:
    """A report of the world's incident whose source and one person agreed to anonymised
    advocacy only: a petition may use it, a UN submission may not."""
    source = SourceFactory(team_id=world.team.id)
    person = PersonFactory(team_id=world.team.id)
    ActFactory(team_id=world.team.id, person_id=person.id, incident_id=world.incident.id)
    for owner in ({"source_id": source.id, "person_id": None}, {"person_id": person.id}):
        ConsentFactory(team_id=world.team.id, use=ConsentUse.ANONYMISED_ADVOCACY, **owner)
    return ReportFactory(
        team_id=world.team.id, source_id=source.id, incident_id=world.incident.id, title=TITLE
    )


def _post(client: FlaskClient, path: str, **data: str) -> tuple[int, str, str]:
    response = client.post(
        path, data={"csrf_token": csrf_token(client, "/advocacy/actions"), **data}
    )
    return (
        response.status_code,
        html.unescape(response.get_data(as_text=True)),
        response.headers.get("Location", ""),
    )


def _page(client: FlaskClient, action: AdvocacyAction) -> str:
    response = client.get(f"/advocacy/actions/{action.reference}")
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def test_a_lead_records_a_response_and_sees_it_on_the_action(
    client: FlaskClient,
    action: AdvocacyAction,
    report: Report,
    as_role: Callable[[str], User | None],
    db_session: Session,
) -> None:
    as_role("advocacy_lead")
    path = f"/advocacy/actions/{action.reference}/responses/new"
    status, body, _ = _post(client, path, kind="", date="2017-06-02", text="They denied it.")
    assert status == REFUSED
    assert "Choose a kind of response." in body and "They denied it." in body
    status, _, location = _post(
        client,
        path,
        kind=ResponseKind.DENIAL.value,
        date="2017-06-02",
        text="They denied it.",
        supporting_report=report.reference,
    )
    assert status == 302 and location.endswith(
        f"/advocacy/actions/{action.reference}#responses-heading"
    )
    (response,) = db_session.scalars(
        select(ActionResponse).where(ActionResponse.action_id == action.id)
    ).all()
    assert response.supporting_report_id == report.id
    page = _page(client, action)
    assert (
        "They denied it." in page and f'Documented in <span class="ref">{report.reference}' in page
    )
    assert TITLE not in page

    edit = f"/advocacy/responses/{response.id}/edit"
    form = html.unescape(client.get(edit).get_data(as_text=True))
    assert "They denied it." in form and TITLE not in form
    status, _, _ = _post(
        client, edit, kind="denial", date="2017-06-03", text="Denied again.", lock_version="1"
    )
    assert status == 302
    assert "Denied again." in _page(client, action)


def test_a_link_without_consent_is_refused_with_what_was_typed_kept(
    client: FlaskClient,
    action: AdvocacyAction,
    report: Report,
    as_role: Callable[[str], User | None],
    db_session: Session,
) -> None:
    as_role("advocacy_lead")
    path = f"/advocacy/actions/{action.reference}/links/new"
    form = html.unescape(client.get(path).get_data(as_text=True))
    assert report.reference in form and TITLE not in form  # offered, by reference only
    status, body, _ = _post(client, path, report=report.reference, note="The family's account.")
    assert status == REFUSED
    assert (
        f"{report.reference} cannot support a UN submission: its source and 1 of the 1 "
        "person in its incident have not consented to transfer to UN bodies or courts."
    ) in body
    assert f'value="{report.reference}"' in body and "The family's account." in body
    assert TITLE not in body and "CANARY-narrative" not in body
    assert db_session.scalars(select(ActionLink)).all() == []
    assert count_events(db_session, AuditAction.LINK_REFUSED, target=action) == 1


def test_a_linked_report_is_flagged_when_consent_is_withdrawn(
    client: FlaskClient,
    world: World,
    report: Report,
    as_role: Callable[[str], User | None],
    ctx: Context,
    db_session: Session,
) -> None:
    petition = AdvocacyActionFactory(team_id=world.team.id, kind=ActionKind.PETITION)
    as_role("advocacy_lead")
    path = f"/advocacy/actions/{petition.reference}/links/new"
    status, _, location = _post(client, path, report=report.reference, note="Shows the arrests.")
    assert status == 302 and location.endswith("#links-heading")
    page = _page(client, petition)
    assert report.reference in page and "Shows the arrests." in page
    assert f'href="/incidents/{world.incident.reference}/summary"' in page
    assert "Consent withdrawn" not in page

    grant = db_session.scalars(select(Consent).where(Consent.source_id == report.source_id)).one()
    consent.revoke(ctx, grant.id, dt.datetime.now(dt.UTC).date(), grant.lock_version)
    page = _page(client, petition)
    assert "1 link relies on consent that was withdrawn." in page
    assert (
        "Consent withdrawn: its source has not consented to anonymised use in advocacy; "
        "this report should no longer be used for this action."
    ) in page

    (link,) = db_session.scalars(select(ActionLink)).all()
    confirm = html.unescape(client.get(f"/advocacy/links/{link.id}/remove").get_data(as_text=True))
    assert f"Remove the link from {petition.reference} to {report.reference}?" in confirm
    status, _, _ = _post(client, f"/advocacy/links/{link.id}/remove", lock_version="1")
    assert status == 302
    assert db_session.scalars(select(ActionLink)).all() == []
    assert count_events(db_session, AuditAction.LINK_REMOVED, target=petition) == 1


def test_a_follow_up_is_assigned_marked_done_and_undone(
    client: FlaskClient,
    world: World,
    action: AdvocacyAction,
    as_role: Callable[[str], User | None],
    db_session: Session,
) -> None:
    lead = as_role("advocacy_lead")
    assert lead is not None
    path = f"/advocacy/actions/{action.reference}/follow-ups/new"
    form = client.get(path).get_data(as_text=True)
    assert f'<option value="{lead.id}">{lead.display_name}</option>' in form
    researcher = world.users["researcher"]
    assert str(researcher.id) not in form
    status, body, _ = _post(
        client, path, description="Ask again.", due_on="2017-09-01", assignee=str(researcher.id)
    )
    assert status == REFUSED and "Choose someone of this action's team" in body
    assert "Ask again." in body and "2017-09-01" in body
    status, _, _ = _post(
        client, path, description="Ask again.", due_on="2017-09-01", assignee=str(lead.id)
    )
    assert status == 302
    page = _page(client, action)
    assert "Ask again." in page and "Overdue" in page and lead.display_name in page

    (follow_up,) = db_session.scalars(select(FollowUp)).all()
    status, _, _ = _post(client, f"/advocacy/follow-ups/{follow_up.id}/done", lock_version="1")
    assert status == 302
    page = _page(client, action)
    assert "Mark not done" in page and "Overdue" not in page
    db_session.refresh(follow_up)
    assert follow_up.done_at is not None
    # A stale button changes nothing.
    _post(client, f"/advocacy/follow-ups/{follow_up.id}/undone", lock_version="1")
    db_session.refresh(follow_up)
    assert follow_up.done_at is not None
    assert "changed this follow-up meanwhile" in html.unescape(_page(client, action))
    _post(client, f"/advocacy/follow-ups/{follow_up.id}/undone", lock_version="2")
    db_session.refresh(follow_up)
    assert follow_up.done_at is None

    edit = f"/advocacy/follow-ups/{follow_up.id}/edit"
    assert "Ask again." in client.get(edit).get_data(as_text=True)
    status, body, _ = _post(
        client, edit, description="", due_on="2017-09-01", assignee="", lock_version="3"
    )
    assert status == REFUSED and "Enter a description." in body
    status, body, _ = _post(
        client, edit, description="Mine", due_on="2017-09-01", assignee="", lock_version="1"
    )
    assert status == 409 and "Someone else saved this" in body and "Mine" in body
    status, _, _ = _post(
        client, edit, description="Ask once more.", due_on="", assignee="", lock_version="3"
    )
    assert status == 302
    db_session.refresh(follow_up)
    assert (follow_up.description, follow_up.due_on, follow_up.assignee_id) == (
        "Ask once more.",
        None,
        None,
    )


@pytest.mark.parametrize("role", ["researcher", "auditor"])
def test_other_readers_see_the_work_but_change_nothing(
    role: str,
    client: FlaskClient,
    world: World,
    action: AdvocacyAction,
    report: Report,
    as_role: Callable[[str], User | None],
    db_session: Session,
) -> None:
    ActionResponseFactory(action_id=action.id, text="The ministry denied it.")
    follow_up = FollowUpFactory(action_id=action.id, description="Write again.")
    ActionLinkFactory(action_id=action.id, report_id=report.id, note="Flagged here.")
    as_role(role)
    page = _page(client, action)
    assert "The ministry denied it." in page and "Write again." in page
    assert "Flagged here." in page and "Consent withdrawn" in page  # never consented to UN use
    assert "Add a response" not in page and "Mark done" not in page and "Remove" not in page
    status, _, _ = _post(client, f"/advocacy/follow-ups/{follow_up.id}/done", lock_version="1")
    assert status == 403
    status, _, _ = _post(
        client, f"/advocacy/actions/{action.reference}/links/new", report=report.reference
    )
    assert status == 403
    db_session.refresh(follow_up)
    assert follow_up.done_at is None


def test_an_action_cannot_change_to_a_kind_its_linked_reports_may_not_serve(
    client: FlaskClient,
    world: World,
    report: Report,
    as_role: Callable[[str], User | None],
    db_session: Session,
) -> None:
    """A petition may use the report; made a UN submission it could not: the kind change
    is refused, naming the report and the consent, and the link stays as it was made."""
    petition = AdvocacyActionFactory(team_id=world.team.id, kind=ActionKind.PETITION)
    ActionLinkFactory(action_id=petition.id, report_id=report.id)
    as_role("advocacy_lead")
    path = f"/advocacy/actions/{petition.reference}/edit"
    typed = {
        "title": petition.title,
        "start_date": "2017-05-01",
        "priority": "medium",
        "status": "planned",
        "impact": "unknown",
        "lock_version": str(petition.lock_version),
    }
    status, body, _ = _post(client, path, kind="un_or_treaty_body_submission", **typed)
    assert status == REFUSED
    assert (
        f"{report.reference} cannot support a UN submission: its source and 1 of the 1 "
        "person in its incident have not consented to transfer to UN bodies or courts."
    ) in body
    db_session.refresh(petition)
    assert petition.kind is ActionKind.PETITION
    # A kind the report may serve is saved as any other change.
    status, _, _ = _post(client, path, kind="letter", **typed)
    assert status == 302
    db_session.refresh(petition)
    assert petition.kind is ActionKind.LETTER
