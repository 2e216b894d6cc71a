"""The admin page's installation-auditor button, and what a team's auditors see of it."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.context import Context
from incidents.models import User
from incidents.models.vocabularies import Role
from incidents.services.audit_grants import set_installation_auditor
from tests.conftest import csrf_token
from tests.factories import UserFactory
from tests.helpers import count_events
from tests.web.conftest import World

GRANT = AuditAction.USER_INSTALLATION_AUDITOR_GRANT
ContextFor = Callable[..., Context]


def _reloaded(db_session: Session, user: User) -> User:
    db_session.expire_all()
    fresh = db_session.get(User, user.id)
    assert fresh is not None
    return fresh


def test_the_admin_page_grants_it_and_refuses_a_non_auditor_beside_the_button(
    client: FlaskClient,
    world: World,
    db_session: Session,
    as_role: Callable[[str], User | None],
) -> None:
    as_role("admin")
    auditor, researcher = world.users["auditor"], world.users["researcher"]
    page = f"/admin/users/{auditor.id}"
    assert "Make an installation auditor" in client.get(page).get_data(as_text=True)
    sent = client.post(
        f"{page}/installation-auditor",
        data={"csrf_token": csrf_token(client, page), "installation_auditor": "grant"},
    )
    assert sent.status_code == 302
    after = client.get(page).get_data(as_text=True)
    assert "is an installation auditor" in after and "Revoke the whole audit log" in after
    assert _reloaded(db_session, auditor).installation_auditor is True
    assert count_events(db_session, GRANT, auditor) == 1

    other = f"/admin/users/{researcher.id}"
    refused = client.post(
        f"{other}/installation-auditor",
        data={"csrf_token": csrf_token(client, other), "installation_auditor": "grant"},
    )
    assert refused.status_code == 422
    assert "give them the auditor role first" in refused.get_data(as_text=True)
    garbled = client.post(
        f"{other}/installation-auditor",
        data={"csrf_token": csrf_token(client, other), "installation_auditor": "maybe"},
    )
    assert garbled.status_code == 422
    assert "Choose to grant or to revoke" in garbled.get_data(as_text=True)
    assert _reloaded(db_session, researcher).installation_auditor is False


def test_the_grant_and_its_revocation_are_in_the_log_of_the_auditors_team(
    client: FlaskClient,
    world: World,
    db_session: Session,
    context_for: ContextFor,
    as_role: Callable[[str], User | None],
) -> None:
    colleague = UserFactory(role=Role.AUDITOR, teams=[world.team])
    set_installation_auditor(context_for(world.users["admin"]), colleague, True)
    db_session.flush()
    as_role("auditor")
    page = client.get("/audit?action=user.installation").get_data(as_text=True)
    assert "<code>user.installation_auditor_grant</code>" in page
    assert world.users["admin"].email in page, "who granted it"
