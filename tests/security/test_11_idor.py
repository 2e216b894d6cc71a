"""Security check 11: records of another team answer 404 to every role, by id and by reference.

The routes come from the application: every route that takes an argument is either
checked here with another team's record, or listed as not team-scoped with the reason.
Each answer is compared with the answer for a reference or id that names nothing: they
must be the same (no existence oracle), and 404 — also for a role the access matrix
refuses the route for its own team's records (403 there).
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient

from incidents.models import User
from incidents.services import person_merge
from tests import factories, samples
from tests.factories import (
    ActFactory,
    ActionLinkFactory,
    ActionResponseFactory,
    AdvocacyActionFactory,
    CampaignFactory,
    ConsentFactory,
    FollowUpFactory,
    InvolvementFactory,
    PersonFactory,
    ReportFactory,
    SourceFactory,
    StateResponseFactory,
    UserFactory,
    stored_evidence,
)
from tests.helpers import evidence_store
from tests.security.conftest import token
from tests.web.conftest import ROLES, World

# endpoint -> the kinds of record whose reference or id it takes
TEAM_SCOPED: dict[str, tuple[str, ...]] = {
    "incidents.show_incident": ("incident",),
    "people.show_person": ("person",),
    "evidence.upload": ("report",),
    "evidence.download": ("evidence",),
    "erasure.erase": ("incident", "report", "source", "person"),
    "audit.provenance": ("incident",),
    "people.merge_person": ("person",),
    "people.confirm_merge": ("person",),
    "people.undo_merge": ("merge",),
    "incidents.related_cases": ("incident",),
    "people.related_cases": ("person",),
    "incidents.edit_incident": ("incident",),
    "reports.show_report": ("report",),
    "reports.edit_report": ("report",),
    "sources.show_source": ("source",),
    "sources.edit_source": ("source",),
    "people.edit_person": ("person",),
    "acts.new_act": ("incident",),
    "acts.new_response": ("incident",),
    "acts.edit_act": ("act",),
    "acts.new_involvement": ("act",),
    "acts.edit_involvement": ("involvement",),
    "acts.edit_response": ("response",),
    "consent.new_person_consent": ("person",),
    "consent.new_source_consent": ("source",),
    "consent.revoke": ("consent",),
    "reviews.decide": ("erasure_review",),
    "advocacy.show_action": ("advocacy_action",),
    "advocacy.edit_action": ("advocacy_action",),
    "advocacy.show_campaign": ("campaign",),
    "advocacy.edit_campaign": ("campaign",),
    "advocacy.new_response": ("advocacy_action",),
    "advocacy.edit_response": ("action_response",),
    "advocacy.new_follow_up": ("advocacy_action",),
    "advocacy.edit_follow_up": ("follow_up",),
    "advocacy.mark_follow_up_done": ("follow_up",),
    "advocacy.mark_follow_up_undone": ("follow_up",),
    "advocacy.new_link": ("advocacy_action",),
    "advocacy.remove_link": ("action_link",),
    "summaries.case_summary": ("incident",),
    "summaries.export_summary": ("incident",),
}
# Accounts and teams belong to no team: administrators manage all of them (users:manage),
# and every other role is refused these pages whatever the id.
ADMIN_ONLY: dict[str, str] = {
    "admin.user_detail": "user",
    "admin.disable_user": "user",
    "admin.enable_user": "user",
    "admin.reset_two_factor": "user",
    "admin.unlock_user": "user",
    "admin.set_password": "user",
    "admin.revoke_api_tokens": "user",
    "admin.installation_auditor": "user",
    "admin.team_detail": "team",
}
NOT_TEAM_SCOPED = {
    "static": "the application's own CSS and images",
    # Opened by its token alone, without a session: an unknown token is the same 404 as
    # another user's revoked one (tests/security/test_advocacy_attacks.py).
    "dashboard.calendar_feed": "a calendar feed, named by its secret token",
    # A user's own token: another user's is the same 404 as an id that names nothing, for
    # everyone but administrators (tests/web/test_api_token_pages.py).
    "account.revoke_api_token": "a personal API token, its owner's or an administrator's",
    # A kind of record, not a record: the header row of an empty CSV, the same for all.
    "imports.csv_template": "the CSV template of a kind of record",
}


def _routes_with_arguments(app: Flask) -> dict[str, set[str]]:
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.arguments:
            methods = (rule.methods or set()) - {"HEAD", "OPTIONS"}
            routes.setdefault(rule.endpoint, set()).update(methods)
    return routes


def test_11_every_route_with_an_argument_is_checked_or_listed(app: Flask) -> None:
    routes = _routes_with_arguments(app).keys()
    # The JSON API answers a cookie with 401 before any lookup: its routes are checked
    # with a token of each role in tests/api/test_idor.py, which covers every one of them.
    api = {endpoint for endpoint in routes if endpoint.startswith("api.")}
    covered = TEAM_SCOPED.keys() | ADMIN_ONLY.keys() | NOT_TEAM_SCOPED.keys() | api
    assert routes - covered == set(), "routes with an argument that no IDOR check covers"
    assert covered - routes == set(), "IDOR entries for routes that no longer exist"


@dataclass
class Target:
    """Another team's record of one kind, and a value of the same shape naming nothing."""

    kind: str
    value: str
    missing: str


def _targets(world: World, client: FlaskClient) -> dict[str, Target]:
    other = world.other_team.id
    report = ReportFactory(team_id=other, incident_id=world.other_incident.id)
    evidence = stored_evidence(evidence_store(client.application), report)
    person = PersonFactory(team_id=other)
    source = SourceFactory(team_id=other)
    member = UserFactory(teams=[world.other_team])

    def missing_reference(reference: str) -> str:
        prefix, _, _ = reference.rpartition("-")
        return f"{prefix}-9999999"

    records = {
        "incident": world.other_incident.reference,
        "person": person.reference,
        "report": report.reference,
        "source": source.reference,
    }
    targets = {kind: Target(kind, ref, missing_reference(ref)) for kind, ref in records.items()}
    targets["evidence"] = Target("evidence", str(evidence.id), str(uuid.uuid4()))
    targets["user"] = Target("user", str(member.id), str(uuid.uuid4()))
    merged = PersonFactory(team_id=other)
    merge = person_merge.merge(factories.context(), person.reference, merged.reference)
    targets["merge"] = Target("merge", str(merge.merge_id), str(uuid.uuid4()))
    targets["team"] = Target("team", world.other_team.slug, "no-such-team")
    review = factories.pending_erasure_review(other)
    targets["erasure_review"] = Target("erasure_review", str(review.id), str(uuid.uuid4()))
    act = ActFactory(team_id=other, incident_id=world.other_incident.id, person_id=person.id)
    involvement = InvolvementFactory(team_id=other, act_id=act.id)
    response = StateResponseFactory(team_id=other, incident_id=world.other_incident.id)
    consent = ConsentFactory(team_id=other, source_id=source.id, person_id=None)
    campaign = CampaignFactory(team_id=other)
    action = AdvocacyActionFactory(team_id=other, campaign_id=campaign.id)
    targets["advocacy_action"] = Target(
        "advocacy_action", action.reference, missing_reference(action.reference)
    )
    follow_up = FollowUpFactory(action_id=action.id, assignee_id=member.id)
    for kind, record in (
        ("act", act),
        ("involvement", involvement),
        ("response", response),
        ("consent", consent),
        ("campaign", campaign),
        ("action_response", ActionResponseFactory(action_id=action.id)),
        ("follow_up", follow_up),
        ("action_link", ActionLinkFactory(action_id=action.id, report_id=report.id)),
    ):
        targets[kind] = Target(kind, str(record.id), str(uuid.uuid4()))
    return targets


def _url(app: Flask, endpoint: str, value: str) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    (argument,) = rule.arguments
    adapter = app.url_map.bind("localhost")
    converted = uuid.UUID(value) if argument.endswith("_id") else value
    return adapter.build(endpoint, {argument: converted})


def _send(client: FlaskClient, method: str, url: str, role: str, target: Target) -> int:
    data = None
    if method == "POST":
        # A valid token, and fields that would make the request succeed on the team's own
        # record: the lookup, not a missing field, must be what stops it.
        data = {
            "csrf_token": token(client, "/login" if role == "anonymous" else "/account"),
            "confirm_reference": target.value,
            "reason": "Asked for by the person concerned in writing.",
            "description": "A photograph.",
            "file": (io.BytesIO(samples.png()), "photo.png"),
        }
    response = client.open(url, method=method, data=data)
    response.close()
    return response.status_code


@pytest.mark.parametrize("role", ROLES)
def test_11_another_teams_records_are_not_found_by_reference_or_id(
    role: str,
    app: Flask,
    client: FlaskClient,
    world: World,
    sign_in: Callable[[str], User | None],
) -> None:
    targets = _targets(world, client)
    sign_in(role)
    routes = _routes_with_arguments(app)
    checked = 0
    for endpoint, kinds in TEAM_SCOPED.items():
        for method in sorted(routes[endpoint]):
            for kind in kinds:
                target = targets[kind]
                where = f"{method} {endpoint} with another team's {kind}, as {role}"
                other = _send(client, method, _url(app, endpoint, target.value), role, target)
                missing = _send(client, method, _url(app, endpoint, target.missing), role, target)
                # The same answer as for a record that does not exist: no existence oracle.
                assert other == missing, where
                if role == "anonymous":
                    assert other == 302, where  # sent to log in before anything is looked up
                else:
                    # 404 even for a role refused the route for its own team's records:
                    # the record is looked up (and found not to be theirs) first.
                    assert other == 404, where
                    checked += 1
    if role != "anonymous":
        assert checked > 0, "the role was refused every route: nothing was checked"


@pytest.mark.parametrize("role", ROLES)
def test_11_account_and_team_pages_are_for_administrators_whatever_the_id(
    role: str,
    app: Flask,
    client: FlaskClient,
    world: World,
    sign_in: Callable[[str], User | None],
) -> None:
    targets = _targets(world, client)
    sign_in(role)
    routes = _routes_with_arguments(app)
    for endpoint, kind in ADMIN_ONLY.items():
        for method in sorted(routes[endpoint]):
            target = targets[kind]
            where = f"{method} {endpoint} as {role}"
            missing = _send(client, method, _url(app, endpoint, target.missing), role, target)
            if role == "admin":
                assert missing == 404, where  # an unknown id is not found, never an error
                continue
            other = _send(client, method, _url(app, endpoint, target.value), role, target)
            expected = 302 if role == "anonymous" else 403
            assert (other, missing) == (expected, expected), where
