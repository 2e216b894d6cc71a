"""Follow-ups of advocacy actions through the API, on SQLite and PostgreSQL: added by the
action's advocacy lead, assigned by e-mail only to a colleague of the team who works on
its advocacy (anyone else, of the team or not, is refused in the same words), marked done
and not done with If-Match, read by every role that reads advocacy work; another team's
follow-up is not found."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.context import Context
from incidents.models import AdvocacyAction, FollowUp
from incidents.models.vocabularies import Role
from incidents.services import accounts
from incidents.services.follow_ups import NOT_ASSIGNABLE
from tests.api.conftest import TokenClient, field_errors, problem
from tests.factories import AdvocacyActionFactory, FollowUpFactory, UserFactory
from tests.helpers import count_events
from tests.web.conftest import World

ApiClient = Callable[..., TokenClient]


def _action(world: World) -> AdvocacyAction:
    action: AdvocacyAction = AdvocacyActionFactory(team_id=world.team.id)
    return action


def test_a_lead_adds_assigns_and_marks_a_follow_up_done_and_undone(
    api_client: ApiClient, world: World, db_session: Session
) -> None:
    lead = api_client("advocacy_lead")
    colleague = UserFactory(role=Role.ADVOCACY_LEAD, teams=[world.team])
    action = _action(world)

    made = lead.post(
        "/follow_ups",
        {
            "action": action.reference,
            "description": "Ask again for a criminal investigation.",
            "due_on": "2017-07-01",
            "assignee": colleague.email.upper(),
        },
    )

    assert made.status_code == 201, made.get_data(as_text=True)
    follow_up = made.get_json()
    assert made.headers["Location"] == f"/api/v1/follow_ups/{follow_up['id']}"
    assert follow_up["assignee"] == colleague.email
    assert (follow_up["action"], follow_up["due_on"]) == (str(action.id), "2017-07-01")
    assert follow_up["done_at"] is None
    url = f"/follow_ups/{follow_up['id']}"

    done = lead.patch(url, {"done": True}, headers={"If-Match": made.headers["ETag"]})
    assert done.status_code == 200, done.get_data(as_text=True)
    assert done.get_json()["done_at"] is not None
    assert done.headers["ETag"] == '"2"'

    changed = lead.patch(url, {"done": False, "due_on": "2017-08-01"}, headers={"If-Match": '"2"'})
    assert changed.status_code == 200, changed.get_data(as_text=True)
    assert (changed.get_json()["done_at"], changed.get_json()["due_on"]) == (None, "2017-08-01")
    assert changed.headers["ETag"] == '"4"'  # two changes, each under the lock
    # Asking for what already is changes nothing, and still checks the version.
    again = lead.patch(url, {"done": False}, headers={"If-Match": '"4"'})
    assert again.status_code == 200
    assert again.headers["ETag"] == '"4"'
    assert lead.get(url).get_json()["lock_version"] == 4


def test_a_stale_version_changes_nothing(api_client: ApiClient, world: World) -> None:
    lead = api_client("advocacy_lead")
    follow_up = FollowUpFactory(action_id=_action(world).id)
    url = f"/follow_ups/{follow_up.id}"

    stale = lead.patch(url, {"done": True, "description": "Mine"}, headers={"If-Match": '"9"'})

    assert stale.status_code == 409
    assert problem(stale)["current_version"] == 1
    shown = lead.get(url).get_json()
    assert (shown["done_at"], shown["description"]) == (None, follow_up.description)
    assert problem(lead.patch(url, {"done": True}))["status"] == 428


def test_only_a_colleague_who_works_on_the_advocacy_is_assigned(
    api_client: ApiClient, world: World
) -> None:
    lead = api_client("advocacy_lead")
    action = _action(world)
    researcher = UserFactory(role=Role.RESEARCHER, teams=[world.team])
    elsewhere = UserFactory(role=Role.ADVOCACY_LEAD, teams=[world.other_team])
    follow_up = FollowUpFactory(action_id=action.id)

    for who in (researcher.email, elsewhere.email, "nobody@example.org"):
        body = {"action": action.reference, "description": "Call them.", "assignee": who}
        assert field_errors(lead.post("/follow_ups", body)) == {"assignee": NOT_ASSIGNABLE}, who
        changed = lead.patch(
            f"/follow_ups/{follow_up.id}", {"assignee": who}, headers={"If-Match": "1"}
        )
        assert field_errors(changed) == {"assignee": NOT_ASSIGNABLE}, who


def test_follow_ups_are_read_by_advocacy_readers_and_changed_by_leads(
    api_client: ApiClient, world: World, db_session: Session
) -> None:
    action = _action(world)
    follow_up = FollowUpFactory(action_id=action.id)
    url = f"/follow_ups/{follow_up.id}"

    for role in ("researcher", "auditor"):
        caller = api_client(role)
        listed = caller.get(f"/follow_ups?action={action.reference}")
        assert [item["id"] for item in listed.get_json()["items"]] == [str(follow_up.id)], role
        assert caller.get(url).status_code == 200, role
        assert caller.patch(url, {"done": True}, headers={"If-Match": "1"}).status_code == 403
        body = {"action": action.reference, "description": "Call them."}
        assert caller.post("/follow_ups", body).status_code == 403, role
    reader = api_client("advocacy_lead", ["advocacy:read"])
    assert reader.patch(url, {"done": True}, headers={"If-Match": "1"}).status_code == 403
    assert count_events(db_session, AuditAction.RECORD_UPDATE, follow_up) == 0


def test_another_teams_follow_ups_and_actions_are_not_found(
    api_client: ApiClient, world: World
) -> None:
    lead = api_client("advocacy_lead")
    theirs = AdvocacyActionFactory(team_id=world.other_team.id)
    their_follow_up: FollowUp = FollowUpFactory(action_id=theirs.id)

    assert lead.get(f"/follow_ups/{their_follow_up.id}").status_code == 404
    patched = lead.patch(
        f"/follow_ups/{their_follow_up.id}", {"done": True}, headers={"If-Match": "1"}
    )
    assert patched.status_code == 404
    assert lead.get("/follow_ups").get_json()["items"] == []
    added = lead.post("/follow_ups", {"action": theirs.reference, "description": "Call them."})
    assert set(field_errors(added)) == {"action"}


def test_a_follow_up_is_added_open(api_client: ApiClient, world: World) -> None:
    lead = api_client("advocacy_lead")

    answer = lead.post(
        "/follow_ups",
        {"action": _action(world).reference, "description": "Done already", "done_at": "x"},
    )

    assert set(field_errors(answer)) == {"done_at"}


def test_a_follow_up_sent_back_as_read_keeps_an_assignee_who_has_left(
    api_client: ApiClient, world: World, ctx: Context
) -> None:
    lead = api_client("advocacy_lead")
    gone = UserFactory(role=Role.ADVOCACY_LEAD, teams=[world.team])
    follow_up = FollowUpFactory(action_id=_action(world).id, assignee_id=gone.id)
    accounts.disable_user(ctx, gone)
    url = f"/follow_ups/{follow_up.id}"
    read = lead.get(url).get_json()
    assert read["assignee"] == gone.email

    sent_back = lead.patch(
        url,
        {"description": "Call them on Monday.", "assignee": read["assignee"]},
        headers={"If-Match": f'"{read["lock_version"]}"'},
    )

    assert sent_back.status_code == 200, sent_back.get_data(as_text=True)
    assert sent_back.get_json()["assignee"] == gone.email
    assert sent_back.get_json()["description"] == "Call them on Monday."
