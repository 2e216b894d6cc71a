"""Every route × role × method has an expected status (security check 10).

The route list comes from the application, so a new route without an entry here fails.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from incidents.models import User
from incidents.services import api_tokens, person_merge
from tests import factories
from tests.conftest import csrf_token
from tests.factories import (
    ActFactory,
    AdvocacyActionFactory,
    CampaignFactory,
    ConsentFactory,
    InvolvementFactory,
    PersonFactory,
    ReportFactory,
    SourceFactory,
    StateResponseFactory,
    UserFactory,
    stored_evidence,
)
from tests.web.conftest import ROLES, World

ANON, RESEARCHER, ADVOCACY, AUDITOR, ADMIN = ROLES
REFUSED = 422  # the one status of a form that was sent and could not be accepted
LOGGED_IN = (RESEARCHER, ADVOCACY, AUDITOR, ADMIN)


def _everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def _researchers_only(status: int) -> dict[str, int]:
    return {ANON: 302, RESEARCHER: status, ADVOCACY: 403, AUDITOR: 403, ADMIN: 403}


def _admins_only(status: int) -> dict[str, int]:
    return {ANON: 302, RESEARCHER: 403, ADVOCACY: 403, AUDITOR: 403, ADMIN: status}


# (endpoint, method) -> role -> expected status. 302 for anonymous means "sent to login".
MATRIX: dict[tuple[str, str], dict[str, int]] = {
    ("static", "GET"): _everyone(200),
    ("auth.login", "GET"): {ANON: 200, **dict.fromkeys(LOGGED_IN, 302)},
    ("auth.login", "POST"): {ANON: 401, **dict.fromkeys(LOGGED_IN, 302)},
    ("auth.logout", "POST"): _everyone(302),
    # Without a password step pending, the second-factor page sends everyone to login (or,
    # logged in, home).
    ("auth.verify", "GET"): _everyone(302),
    ("auth.verify", "POST"): _everyone(302),
    ("auth.reauthenticate", "GET"): {ANON: 302, **dict.fromkeys(LOGGED_IN, 200)},
    ("auth.reauthenticate", "POST"): {ANON: 302, **dict.fromkeys(LOGGED_IN, 401)},
    # Every logged-in user has an account page, administrators included.
    ("account.overview", "GET"): {ANON: 302, **dict.fromkeys(LOGGED_IN, 200)},
    ("account.change_password", "GET"): {ANON: 302, **dict.fromkeys(LOGGED_IN, 200)},
    ("account.change_password", "POST"): {ANON: 302, **dict.fromkeys(LOGGED_IN, REFUSED)},
    ("account.two_factor_setup", "GET"): {ANON: 302, **dict.fromkeys(LOGGED_IN, 200)},
    ("account.two_factor_setup", "POST"): {ANON: 302, **dict.fromkeys(LOGGED_IN, REFUSED)},
    # Without a second factor there are no codes to replace: back to the account page.
    ("account.new_recovery_codes", "POST"): _everyone(302),
    ("account.end_other_sessions", "POST"): _everyone(302),
    # The duress password: set after a recent password entry (the tests' logins are
    # recent); the empty form is refused. Removing one without one goes back to the account.
    ("account.duress_password", "GET"): {ANON: 302, **dict.fromkeys(LOGGED_IN, 200)},
    ("account.duress_password", "POST"): {ANON: 302, **dict.fromkeys(LOGGED_IN, REFUSED)},
    ("account.remove_duress_password", "POST"): _everyone(302),
    # The quick exit and the neutral page it lands on are for everyone, logged in or not.
    ("auth.quick_exit", "POST"): _everyone(303),
    ("auth.neutral_page", "GET"): _everyone(200),
    ("incidents.index", "GET"): _everyone(302),
    ("incidents.list_incidents", "GET"): {
        ANON: 302,
        RESEARCHER: 200,
        ADVOCACY: 200,
        AUDITOR: 200,
        ADMIN: 403,
    },
    ("incidents.show_incident", "GET"): {
        ANON: 302,
        RESEARCHER: 200,
        ADVOCACY: 200,
        AUDITOR: 200,
        ADMIN: 404,  # not in the team: the record does not exist for them
    },
    # People pages are for researchers only in this release; POSTs without a name are
    # refused forms.
    ("people.search", "GET"): _researchers_only(200),
    ("people.search", "POST"): _researchers_only(REFUSED),
    ("people.new_person", "GET"): _researchers_only(200),
    ("people.new_person", "POST"): _researchers_only(REFUSED),
    # The person is looked up first: the admin, in no team, is told it does not exist.
    ("people.show_person", "GET"): {**_researchers_only(200), ADMIN: 404},
    # Evidence: researchers of the team; an upload without a file is shown again (422).
    ("evidence.upload", "POST"): {
        ANON: 302,
        RESEARCHER: 422,
        ADVOCACY: 403,
        AUDITOR: 403,
        ADMIN: 404,
    },
    # Administration: users:manage only. The POSTs carry nonsense e-mail/password fields:
    # incomplete forms are shown again (422); the buttons and the roles-and-teams form
    # (which then clears the target's roles and teams) act and redirect (302).
    ("admin.users", "GET"): _admins_only(200),
    ("admin.new_user", "GET"): _admins_only(200),
    ("admin.new_user", "POST"): _admins_only(422),
    ("admin.user_detail", "GET"): _admins_only(200),
    ("admin.user_detail", "POST"): _admins_only(302),
    ("admin.disable_user", "POST"): _admins_only(302),
    ("admin.enable_user", "POST"): _admins_only(302),
    ("admin.reset_two_factor", "POST"): _admins_only(302),
    ("admin.unlock_user", "POST"): _admins_only(302),
    ("admin.set_password", "POST"): _admins_only(422),
    ("admin.teams", "GET"): _admins_only(200),
    ("admin.new_team", "GET"): _admins_only(200),
    ("admin.new_team", "POST"): _admins_only(422),
    ("admin.team_detail", "GET"): _admins_only(200),
    # Retention rules and legal holds: an empty rule or hold is shown again (422); a
    # remove or release button that names no rule or hold says so and goes back (302).
    ("admin.retention", "GET"): _admins_only(200),
    ("admin.add_retention_rule", "POST"): _admins_only(422),
    ("admin.remove_retention_rule", "POST"): _admins_only(302),
    ("admin.place_legal_hold", "POST"): _admins_only(422),
    ("admin.release_legal_hold", "POST"): _admins_only(302),
    ("evidence.download", "GET"): {
        ANON: 302,
        RESEARCHER: 200,
        ADVOCACY: 403,
        AUDITOR: 403,
        ADMIN: 404,
    },
    # Auditor pages: audit:read and provenance:read are the auditor's alone (separation
    # of duties: an admin manages users, not the record of what they did); the admin is
    # in no team, so an incident's provenance does not exist for them.
    ("audit.log", "GET"): {ANON: 302, RESEARCHER: 403, ADVOCACY: 403, AUDITOR: 200, ADMIN: 403},
    ("audit.verify", "GET"): {ANON: 302, RESEARCHER: 403, ADVOCACY: 403, AUDITOR: 200, ADMIN: 403},
    # The last signed checkpoint as a file; with none recorded yet, back to the verify page.
    ("audit.download_checkpoint", "GET"): {
        ANON: 302,
        RESEARCHER: 403,
        ADVOCACY: 403,
        AUDITOR: 302,
        ADMIN: 403,
    },
    ("audit.verify", "POST"): {
        ANON: 302,
        RESEARCHER: 403,
        ADVOCACY: 403,
        AUDITOR: 200,
        ADMIN: 403,
    },
    ("audit.provenance", "GET"): {
        ANON: 302,
        RESEARCHER: 403,
        ADVOCACY: 403,
        AUDITOR: 200,
        ADMIN: 404,
    },
}


# Erasing a record: researchers of its team, after a recent login (the matrix logs in
# just before each request); a POST without a reason is a refused form.
MATRIX[("erasure.erase", "GET")] = {
    ANON: 302,
    RESEARCHER: 200,
    ADVOCACY: 403,
    AUDITOR: 403,
    ADMIN: 404,
}
MATRIX[("erasure.erase", "POST")] = {
    ANON: 302,
    RESEARCHER: REFUSED,
    ADVOCACY: 403,
    AUDITOR: 403,
    ADMIN: 404,
}


# Reports and sources: restricted fields, so researchers and auditors; writing is the
# researchers'. The admin, in no team, finds no record of a team. POSTs without the
# record's fields are refused forms; an edit that does not say which version it was made
# from is an edit conflict (409), shown with both versions.
_RESTRICTED_READERS = {ANON: 302, RESEARCHER: 200, ADVOCACY: 403, AUDITOR: 200, ADMIN: 403}
for _area, _kind in (("reports", "report"), ("sources", "source")):
    MATRIX[(f"{_area}.list_{_area}", "GET")] = _RESTRICTED_READERS
    MATRIX[(f"{_area}.new_{_kind}", "GET")] = _researchers_only(200)
    MATRIX[(f"{_area}.new_{_kind}", "POST")] = _researchers_only(REFUSED)
    MATRIX[(f"{_area}.show_{_kind}", "GET")] = {**_RESTRICTED_READERS, ADMIN: 404}
    MATRIX[(f"{_area}.edit_{_kind}", "GET")] = {**_researchers_only(200), ADMIN: 404}
    MATRIX[(f"{_area}.edit_{_kind}", "POST")] = {**_researchers_only(409), ADMIN: 404}


# Consent: researchers of the person's or source's team record and withdraw it; the record
# is looked up first, so the admin, in no team, is told it does not exist. The POSTs
# carry no use or date: refused forms.
for _endpoint, _methods in (
    ("consent.new_person_consent", ("GET", "POST")),
    ("consent.new_source_consent", ("GET", "POST")),
    ("consent.revoke", ("POST",)),
):
    for _method in _methods:
        MATRIX[(_endpoint, _method)] = {
            ANON: 302,
            RESEARCHER: 200 if _method == "GET" else REFUSED,
            ADVOCACY: 403,
            AUDITOR: 403,
            ADMIN: 404,
        }


# Merging duplicate people: researchers of the team. The kept person is looked up first,
# so the admin, in no team, is told it does not exist; a POST without the other record is
# a refused form; an undo goes back to the person's page (302) whether or not it was done.
MATRIX[("people.merge_person", "GET")] = {**_researchers_only(200), ADMIN: 404}
MATRIX[("people.confirm_merge", "POST")] = {**_researchers_only(REFUSED), ADMIN: 404}
MATRIX[("people.undo_merge", "POST")] = {**_researchers_only(302), ADMIN: 404}

# Dismissing a related-case suggestion (or showing it again): the researchers of the
# team, who alone have the section. The record is looked up first, so the admin, in no
# team, is told it does not exist; a POST that names no suggestion is a refused form.
MATRIX[("incidents.related_cases", "POST")] = {**_researchers_only(REFUSED), ADMIN: 404}
MATRIX[("people.related_cases", "POST")] = {**_researchers_only(REFUSED), ADMIN: 404}

# Erasure reviews: researchers (case:write). A review is looked up first, so the admin,
# in no team, is told it does not exist; a POST with no decision is a refused form.
MATRIX[("reviews.queue", "GET")] = _researchers_only(200)
MATRIX[("reviews.decide", "GET")] = {**_researchers_only(200), ADMIN: 404}
MATRIX[("reviews.decide", "POST")] = {**_researchers_only(REFUSED), ADMIN: 404}

# Triage: researchers (case:write); a POST that names no report and no decision is a
# refused form.
MATRIX[("triage.queue", "GET")] = _researchers_only(200)
MATRIX[("triage.queue", "POST")] = _researchers_only(REFUSED)


# Recording an incident, editing one or a person, and the parts of an incident (acts,
# perpetrators, official responses): the researchers of the team. The admin, in no team,
# finds no incident, act or person; a new incident is refused to them (403).
MATRIX[("incidents.new_incident", "GET")] = _researchers_only(200)
MATRIX[("incidents.new_incident", "POST")] = _researchers_only(REFUSED)
for _endpoint in (
    "incidents.edit_incident",
    "people.edit_person",
    "acts.new_act",
    "acts.edit_act",
    "acts.new_involvement",
    "acts.edit_involvement",
    "acts.new_response",
    "acts.edit_response",
):
    _edits = _endpoint.split(".")[1].startswith("edit_")
    MATRIX[(_endpoint, "GET")] = {**_researchers_only(200), ADMIN: 404}
    MATRIX[(_endpoint, "POST")] = {**_researchers_only(409 if _edits else REFUSED), ADMIN: 404}
# A perpetrator may be recorded with nothing known but that there was one.
MATRIX[("acts.new_involvement", "POST")][RESEARCHER] = 302

# The Help page (the Researcher's guide) reads nothing of any team: every logged-in user.
MATRIX[("help.guide", "GET")] = {ANON: 302, **dict.fromkeys(LOGGED_IN, 200)}
MATRIX[("help.advocacy_guide", "GET")] = {ANON: 302, **dict.fromkeys(LOGGED_IN, 200)}


# Advocacy actions and campaigns: read by whoever holds advocacy:read in the team
# (researchers, advocacy leads, auditors), written by advocacy leads. The admin holds
# neither: refused the lists and forms (403), and finds no record of a team (404). POSTs
# without the fields are refused forms; an edit without its version is a conflict (409).
_ADVOCACY_READERS = {ANON: 302, RESEARCHER: 200, ADVOCACY: 200, AUDITOR: 200, ADMIN: 403}
_ADVOCACY_WRITERS = {ANON: 302, RESEARCHER: 403, ADVOCACY: 200, AUDITOR: 403, ADMIN: 403}
for _kind, _plural in (("action", "actions"), ("campaign", "campaigns")):
    MATRIX[(f"advocacy.list_{_plural}", "GET")] = _ADVOCACY_READERS
    MATRIX[(f"advocacy.new_{_kind}", "GET")] = _ADVOCACY_WRITERS
    MATRIX[(f"advocacy.new_{_kind}", "POST")] = {**_ADVOCACY_WRITERS, ADVOCACY: REFUSED}
    MATRIX[(f"advocacy.show_{_kind}", "GET")] = {**_ADVOCACY_READERS, ADMIN: 404}
    MATRIX[(f"advocacy.edit_{_kind}", "GET")] = {**_ADVOCACY_WRITERS, ADMIN: 404}
    MATRIX[(f"advocacy.edit_{_kind}", "POST")] = {**_ADVOCACY_WRITERS, ADVOCACY: 409, ADMIN: 404}

# Redacted case summaries: every reader of the team's cases; the downloads, those who may
# export redacted summaries. The admin, in no team, finds no incident.
MATRIX[("summaries.case_summary", "GET")] = {
    ANON: 302,
    RESEARCHER: 200,
    ADVOCACY: 200,
    AUDITOR: 200,
    ADMIN: 404,
}
MATRIX[("summaries.all_summaries", "GET")] = {
    ANON: 302,
    RESEARCHER: 200,
    ADVOCACY: 200,
    AUDITOR: 200,
    ADMIN: 403,
}
MATRIX[("summaries.export_summary", "GET")] = {
    ANON: 302,
    RESEARCHER: 200,
    ADVOCACY: 200,
    AUDITOR: 403,
    ADMIN: 404,
}
MATRIX[("summaries.export_summaries", "GET")] = {
    ANON: 302,
    RESEARCHER: 200,
    ADVOCACY: 200,
    AUDITOR: 403,
    ADMIN: 403,
}


# An action's responses, follow-ups and links to reports: the advocacy lead of the team
# only. The admin, in no team, finds no action; a form sent empty is refused, an edit
# without its version is a conflict, and the buttons go back to the action's page.
def _advocacy_only(status: int) -> dict[str, int]:
    return {ANON: 302, RESEARCHER: 403, ADVOCACY: status, AUDITOR: 403, ADMIN: 404}


for _endpoint, _get, _post in (
    ("advocacy.new_response", 200, REFUSED),
    ("advocacy.edit_response", 200, 409),
    ("advocacy.new_follow_up", 200, REFUSED),
    ("advocacy.edit_follow_up", 200, 409),
    ("advocacy.new_link", 200, REFUSED),
    ("advocacy.remove_link", 200, 302),
):
    MATRIX[(_endpoint, "GET")] = _advocacy_only(_get)
    MATRIX[(_endpoint, "POST")] = _advocacy_only(_post)
MATRIX[("advocacy.mark_follow_up_done", "POST")] = _advocacy_only(302)
MATRIX[("advocacy.mark_follow_up_undone", "POST")] = _advocacy_only(302)

# The dashboard: advocacy:read with case:read (the admin holds neither). The calendar
# feed's token: made by whoever reads advocacy work (shown on the page that answers),
# turned off by anyone for themselves; the feed itself needs no login, and a bad token
# is the same 404 for everyone.
MATRIX[("dashboard.show", "GET")] = {**_ADVOCACY_READERS, ADMIN: 403}
MATRIX[("dashboard.new_calendar_token", "POST")] = {**_ADVOCACY_READERS, ADMIN: 403}
MATRIX[("dashboard.revoke_calendar_token", "POST")] = _everyone(302)
MATRIX[("dashboard.calendar_feed", "GET")] = _everyone(404)

# The export page: whoever holds an export permission (researchers, advocacy leads for
# summaries, auditors for internal records); the admin holds none. A POST that chooses
# nothing is a refused form.
_EXPORTERS = {ANON: 302, RESEARCHER: 200, ADVOCACY: 200, AUDITOR: 200, ADMIN: 403}
MATRIX[("exports.export_page", "GET")] = _EXPORTERS
MATRIX[("exports.export_page", "POST")] = {
    **_EXPORTERS,
    RESEARCHER: 422,
    ADVOCACY: 422,
    AUDITOR: 422,
}

# The import page: whoever may write records (researchers case records, advocacy leads
# advocacy work); a POST without a file is a refused form. The templates are of the kinds
# the reader may import: a report's is no template for an advocacy lead.
_IMPORTERS = {ANON: 302, RESEARCHER: 200, ADVOCACY: 200, AUDITOR: 403, ADMIN: 403}
MATRIX[("imports.import_page", "GET")] = _IMPORTERS
MATRIX[("imports.import_page", "POST")] = {**_IMPORTERS, RESEARCHER: REFUSED, ADVOCACY: REFUSED}
MATRIX[("imports.csv_template", "GET")] = {**_IMPORTERS, ADVOCACY: 404}

# Personal API tokens. Every logged-in user has the page that makes one (an administrator's
# says their roles allow a token nothing); a form sent without its fields is refused. The
# revoke button names another user's token: not found for everyone but an administrator,
# who may revoke anyone's. The API answers a cookie alone with 401: only a bearer token
# authenticates it.
MATRIX[("account.new_api_token", "GET")] = {ANON: 302, **dict.fromkeys(LOGGED_IN, 200)}
MATRIX[("account.new_api_token", "POST")] = {ANON: 302, **dict.fromkeys(LOGGED_IN, REFUSED)}
MATRIX[("account.revoke_api_token", "POST")] = {ANON: 302, **dict.fromkeys(LOGGED_IN, 404)}
MATRIX[("account.revoke_api_token", "POST")][ADMIN] = 302
MATRIX[("admin.revoke_api_tokens", "POST")] = _admins_only(302)
# The installation-auditor grant: a button that says which (grant or revoke); sent without
# it, the form is refused.
MATRIX[("admin.installation_auditor", "POST")] = _admins_only(REFUSED)
MATRIX[("api.me", "GET")] = _everyone(401)

# The generic resources of the JSON API (incidents/api/records.py): with a cookie, every
# role included, the answer is 401 — what each role gets with a token of its own is
# tests/api/test_access.py. The API's description is public.
API_RESOURCES = {  # plural -> (singular, written through the generic resource)
    "organisations": ("organisation", True),
    "incidents": ("incident", True),
    "sources": ("source", True),
    "reports": ("report", True),
    "state_responses": ("state_response", True),
    "people": ("person", True),
    "consents": ("consent", False),
    "acts": ("act", True),
    "involvements": ("involvement", True),
    "campaigns": ("campaign", True),
    "advocacy_actions": ("advocacy_action", True),
    "action_responses": ("action_response", True),
}
for _plural, (_one, _written) in API_RESOURCES.items():
    MATRIX[(f"api.list_{_plural}", "GET")] = _everyone(401)
    MATRIX[(f"api.get_{_one}", "GET")] = _everyone(401)
    if _written:
        MATRIX[(f"api.create_{_one}", "POST")] = _everyone(401)
        MATRIX[(f"api.update_{_one}", "PATCH")] = _everyone(401)
MATRIX[("api.openapi_json", "GET")] = _everyone(200)
MATRIX[("api.reference_page", "GET")] = _everyone(200)
# The API's own resources for evidence, consents given and withdrawn, links, follow-ups and
# the audit log: with a cookie, 401 as well (each role's answer with a token of its own is
# in tests/api/test_evidence.py, test_consents.py, test_action_links.py,
# test_follow_ups.py and test_audit.py). Any id will do: the token is checked first.
_SOME_ID = "0b5f4a1c-9d0e-4f6b-8a52-3c1d2e4f5a6b"
API_SPECIAL_PATHS: dict[tuple[str, str], str] = {
    ("api.list_evidence", "GET"): "/api/v1/evidence",
    ("api.get_evidence", "GET"): f"/api/v1/evidence/{_SOME_ID}",
    ("api.download_evidence", "GET"): f"/api/v1/evidence/{_SOME_ID}/file",
    ("api.upload_evidence", "POST"): f"/api/v1/reports/{_SOME_ID}/evidence",
    ("api.create_consent", "POST"): "/api/v1/consents",
    ("api.revoke_consent", "POST"): f"/api/v1/consents/{_SOME_ID}/revoke",
    ("api.list_action_links", "GET"): "/api/v1/action_links",
    ("api.get_action_link", "GET"): f"/api/v1/action_links/{_SOME_ID}",
    ("api.create_action_link", "POST"): "/api/v1/action_links",
    ("api.delete_action_link", "DELETE"): f"/api/v1/action_links/{_SOME_ID}",
    ("api.list_follow_ups", "GET"): "/api/v1/follow_ups",
    ("api.get_follow_up", "GET"): f"/api/v1/follow_ups/{_SOME_ID}",
    ("api.create_follow_up", "POST"): "/api/v1/follow_ups",
    ("api.update_follow_up", "PATCH"): f"/api/v1/follow_ups/{_SOME_ID}",
    ("api.list_audit_events", "GET"): "/api/v1/audit/events",
    ("api.get_audit_event", "GET"): "/api/v1/audit/events/1",
}
for _route in API_SPECIAL_PATHS:
    MATRIX[_route] = _everyone(401)


def _routes(app: Flask) -> set[tuple[str, str]]:
    return {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }


def test_every_route_has_an_entry(app: Flask) -> None:
    routes = _routes(app)
    assert routes - MATRIX.keys() == set(), "routes without an access-matrix entry"
    assert MATRIX.keys() - routes == set(), "matrix entries for routes that no longer exist"


def _evidence_url(endpoint: str, world: World, client: FlaskClient) -> str | None:
    """Evidence routes need a report of the world's incident, with a real stored file."""
    if not endpoint.startswith("evidence."):
        return None
    report = ReportFactory(team_id=world.team.id, incident_id=world.incident.id)
    if endpoint == "evidence.upload":
        return f"/reports/{report.reference}/evidence"
    # The file goes when the test's transaction is rolled back (incidents.storage.lifecycle).
    evidence = stored_evidence(client.application.extensions["incidents.evidence_store"], report)
    return f"/evidence/{evidence.id}/download"


_ADMIN_USER_PATHS = {
    "admin.user_detail": "/admin/users/{}",
    "admin.disable_user": "/admin/users/{}/disable",
    "admin.enable_user": "/admin/users/{}/enable",
    "admin.reset_two_factor": "/admin/users/{}/two-factor/reset",
    "admin.unlock_user": "/admin/users/{}/unlock",
    "admin.set_password": "/admin/users/{}/password",
    "admin.revoke_api_tokens": "/admin/users/{}/api-tokens/revoke",
    "admin.installation_auditor": "/admin/users/{}/installation-auditor",
}


def _part_url(endpoint: str, world: World) -> str:
    """The pages of an incident's parts, and the edit pages of incidents and people."""
    incident = world.incident.reference
    if endpoint == "incidents.new_incident":
        return "/incidents/new"
    if endpoint == "incidents.edit_incident":
        return f"/incidents/{incident}/edit"
    person = PersonFactory(team_id=world.team.id)
    if endpoint == "people.edit_person":
        return f"/people/{person.reference}/edit"
    act = ActFactory(team_id=world.team.id, incident_id=world.incident.id, person_id=person.id)
    if endpoint == "acts.new_involvement":
        return f"/acts/{act.id}/perpetrators/new"
    if endpoint == "acts.edit_involvement":
        return f"/perpetrators/{InvolvementFactory(team_id=world.team.id, act_id=act.id).id}/edit"
    if endpoint == "acts.edit_response":
        response = StateResponseFactory(team_id=world.team.id, incident_id=world.incident.id)
        return f"/responses/{response.id}/edit"
    return {
        "acts.new_act": f"/incidents/{incident}/acts/new",
        "acts.edit_act": f"/acts/{act.id}/edit",
        "acts.new_response": f"/incidents/{incident}/responses/new",
    }[endpoint]


def _report_or_source_url(endpoint: str, world: World) -> str:
    area, _, page = endpoint.partition(".")
    if page.startswith("list_"):
        return f"/{area}"
    if page.startswith("new_"):
        return f"/{area}/new"
    factory = ReportFactory if area == "reports" else SourceFactory
    record = factory(team_id=world.team.id)
    return f"/{area}/{record.reference}" + ("/edit" if page.startswith("edit_") else "")


def _consent_url(endpoint: str, world: World) -> str:
    """Consent routes need a person, a source or a grant of the world's team."""
    if endpoint == "consent.new_person_consent":
        return f"/people/{PersonFactory(team_id=world.team.id).reference}/consents/new"
    if endpoint == "consent.new_source_consent":
        return f"/sources/{SourceFactory(team_id=world.team.id).reference}/consents/new"
    return f"/consents/{ConsentFactory(team_id=world.team.id).id}/revoke"


def _merge_url(endpoint: str, world: World) -> str:
    """Merge routes need a person of the world's team (and, to undo, a merge into them)."""
    kept = PersonFactory(team_id=world.team.id)
    if endpoint != "people.undo_merge":
        return f"/people/{kept.reference}/merge"
    duplicate = PersonFactory(team_id=world.team.id)
    note = person_merge.merge(factories.context(), kept.reference, duplicate.reference)
    return f"/people/merges/{note.merge_id}/undo"


def _summary_url(endpoint: str, world: World) -> str:
    case = f"/incidents/{world.incident.reference}/summary"
    return {
        "summaries.case_summary": f"{case}?profile=partner",
        "summaries.all_summaries": "/summaries?profile=public",
        "summaries.export_summary": f"{case}/export?profile=public",
        "summaries.export_summaries": "/summaries/export?profile=partner",
    }[endpoint]


_ADVOCACY_PAGES = {
    "advocacy.list_actions": "/advocacy/actions",
    "advocacy.new_action": "/advocacy/actions/new",
    "advocacy.list_campaigns": "/advocacy/campaigns",
    "advocacy.new_campaign": "/advocacy/campaigns/new",
}


def _advocacy_url(endpoint: str, world: World) -> str | None:
    """The action and campaign pages, about an action or a campaign of the world's team."""
    if endpoint in _ADVOCACY_PAGES:
        return _ADVOCACY_PAGES[endpoint]
    page = endpoint.partition(".")[2]
    edit = "/edit" if page.startswith("edit_") else ""
    if page in ("show_action", "edit_action"):
        return f"/advocacy/actions/{AdvocacyActionFactory(team_id=world.team.id).reference}{edit}"
    if page in ("show_campaign", "edit_campaign"):
        return f"/advocacy/campaigns/{CampaignFactory(team_id=world.team.id).id}{edit}"
    return None


_WORK_PATHS = {
    "advocacy.new_response": "/advocacy/actions/{action}/responses/new",
    "advocacy.new_follow_up": "/advocacy/actions/{action}/follow-ups/new",
    "advocacy.new_link": "/advocacy/actions/{action}/links/new",
    "advocacy.edit_response": "/advocacy/responses/{response}/edit",
    "advocacy.edit_follow_up": "/advocacy/follow-ups/{follow_up}/edit",
    "advocacy.mark_follow_up_done": "/advocacy/follow-ups/{follow_up}/done",
    "advocacy.mark_follow_up_undone": "/advocacy/follow-ups/{follow_up}/undone",
    "advocacy.remove_link": "/advocacy/links/{link}/remove",
}


def _work_url(endpoint: str, world: World) -> str | None:
    """An action's responses, follow-ups and links need an action of the world's team."""
    if endpoint not in _WORK_PATHS:
        return None
    action = factories.AdvocacyActionFactory(team_id=world.team.id)
    report = ReportFactory(team_id=world.team.id, incident_id=world.incident.id)
    done = endpoint == "advocacy.mark_follow_up_undone"
    return _WORK_PATHS[endpoint].format(
        action=action.reference,
        response=factories.ActionResponseFactory(action_id=action.id).id,
        follow_up=factories.FollowUpFactory(
            action_id=action.id, done_at=dt.datetime(2017, 7, 2, tzinfo=dt.UTC) if done else None
        ).id,
        link=factories.ActionLinkFactory(action_id=action.id, report_id=report.id).id,
    )


_DASHBOARD_PATHS = {
    "dashboard.show": "/dashboard",
    "dashboard.new_calendar_token": "/account/calendar",
    "dashboard.revoke_calendar_token": "/account/calendar/revoke",
    "dashboard.calendar_feed": "/calendar/not-a-token-0123456789abcdefghijklmnopqrstuvwx.ics",
}


def _api_token_url(world: World) -> str:
    """A token of a user who is not one of the world's: the revoke button's target."""
    owner = UserFactory(teams=[world.team])
    _, token = api_tokens.create(factories.context(), owner, "a script", ["cases:read"])
    return f"/account/api-tokens/{token.id}/revoke"


def _api_url(endpoint: str, world: World) -> str | None:
    """The generic API resources: a list, or the world's incident for every item (the
    cookie is refused before anything is looked up)."""
    page = endpoint.removeprefix("api.")
    for plural, (one, _written) in API_RESOURCES.items():
        if page in (f"list_{plural}", f"create_{one}"):
            return f"/api/v1/{plural}"
        if page in (f"get_{one}", f"update_{one}"):
            return f"/api/v1/{plural}/{world.incident.id}"
    special = {endpoint: path for (endpoint, _method), path in API_SPECIAL_PATHS.items()}
    if endpoint in special:
        return special[endpoint]
    return {"openapi_json": "/api/v1/openapi.json", "reference_page": "/api/v1/docs"}.get(page)


def _url(endpoint: str, world: World) -> str:
    api_url = _api_url(endpoint, world) if endpoint.startswith("api.") else None
    if api_url is not None:
        return api_url
    if endpoint == "account.revoke_api_token":
        return _api_token_url(world)
    if endpoint.startswith("summaries."):
        return _summary_url(endpoint, world)
    if endpoint in _DASHBOARD_PATHS:
        return _DASHBOARD_PATHS[endpoint]
    if endpoint.startswith("audit."):
        return {
            "audit.log": "/audit",
            "audit.verify": "/audit/verify",
            "audit.download_checkpoint": "/audit/checkpoint",
            "audit.provenance": f"/audit/incidents/{world.incident.reference}",
        }[endpoint]
    if endpoint.startswith("acts.") or endpoint in (
        "incidents.new_incident",
        "incidents.edit_incident",
        "people.edit_person",
    ):
        return _part_url(endpoint, world)
    if endpoint.startswith(("reports.", "sources.")):
        return _report_or_source_url(endpoint, world)
    if endpoint.startswith("consent."):
        return _consent_url(endpoint, world)
    if endpoint == "reviews.decide":
        return f"/erasure/reviews/{factories.pending_erasure_review(world.team.id).id}"
    advocacy = (
        _work_url(endpoint, world) or _advocacy_url(endpoint, world)
        if endpoint.startswith("advocacy.")
        else None
    )
    if advocacy is not None:
        return advocacy
    if endpoint == "incidents.related_cases":
        return f"/incidents/{world.incident.reference}/related"
    if endpoint == "people.related_cases":
        return f"/people/{PersonFactory(team_id=world.team.id).reference}/related"
    if endpoint == "people.show_person":
        return f"/people/{PersonFactory(team_id=world.team.id).reference}"
    if endpoint in ("people.merge_person", "people.confirm_merge", "people.undo_merge"):
        return _merge_url(endpoint, world)
    if endpoint in _ADMIN_USER_PATHS:  # about another user, so no one acts on themselves
        return _ADMIN_USER_PATHS[endpoint].format(UserFactory(teams=[world.team]).id)
    return {
        "static": "/static/app.css",
        "auth.login": "/login",
        "auth.logout": "/logout",
        "auth.verify": "/login/verify",
        "auth.reauthenticate": "/reauthenticate",
        "account.overview": "/account",
        "account.change_password": "/account/password",
        "account.two_factor_setup": "/account/two-factor",
        "account.new_recovery_codes": "/account/two-factor/recovery-codes",
        "account.end_other_sessions": "/account/sessions/end-others",
        "account.new_api_token": "/account/api-tokens/new",
        "account.duress_password": "/account/duress-password",
        "account.remove_duress_password": "/account/duress-password/remove",
        "auth.quick_exit": "/exit",
        "auth.neutral_page": "/weather",
        "api.me": "/api/v1/me",
        "incidents.index": "/",
        "incidents.list_incidents": "/incidents",
        "incidents.show_incident": f"/incidents/{world.incident.reference}",
        "people.search": "/people",
        "people.new_person": "/people/new",
        "triage.queue": "/triage",
        "reviews.queue": "/erasure/reviews",
        "help.guide": "/help",
        "help.advocacy_guide": "/help/advocacy",
        "admin.users": "/admin/users",
        "admin.new_user": "/admin/users/new",
        "admin.teams": "/admin/teams",
        "admin.new_team": "/admin/teams/new",
        "admin.team_detail": f"/admin/teams/{world.team.slug}",
        "admin.retention": "/admin/retention",
        "admin.add_retention_rule": "/admin/retention/rules",
        "admin.remove_retention_rule": "/admin/retention/rules/remove",
        "admin.place_legal_hold": "/admin/retention/holds",
        "admin.release_legal_hold": "/admin/retention/holds/release",
        "erasure.erase": f"/records/{world.incident.reference}/erase",
        "exports.export_page": "/export",
        "imports.import_page": "/import",
        "imports.csv_template": "/import/templates/report.csv",
    }[endpoint]


@pytest.fixture
def world(shared_world: World) -> World:
    """One world for the whole matrix (tests/web/conftest.py): each request's writes, and
    the records a route needs, are rolled back to the savepoint the test began with."""
    return shared_world


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("endpoint", "method"), sorted(MATRIX))
def test_access(
    endpoint: str,
    method: str,
    role: str,
    client: FlaskClient,
    world: World,
    as_role: Callable[[str], User | None],
) -> None:
    as_role(role)
    url = _evidence_url(endpoint, world, client) or _url(endpoint, world)
    data = None
    if method == "POST":
        # A valid CSRF token, so the status shows the access rule and not the CSRF check.
        # (Every logged-in page, the admin's 403 included, carries the logout form's token.)
        data = {"csrf_token": csrf_token(client, "/login" if role == ANON else "/incidents")}
        data |= {"email": "nobody@example.org", "password": "wrong password!"}
    response = client.open(url, method=method, data=data)
    response.close()  # a static file is streamed; close it rather than leak the handle
    assert response.status_code == MATRIX[(endpoint, method)][role], f"{method} {url} as {role}"
