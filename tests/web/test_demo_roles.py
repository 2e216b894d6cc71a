"""Each demo user sees what the README's "What each role can and cannot do" gives their
role, and nothing more (security check 12): every secret value of the demo case is
decrypted here, and a crawl of every page each demo user can reach looks for all of them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.context import Context
from incidents.db import Base, secret_columns
from incidents.services import accounts, demo
from incidents.storage.store import DirectoryEvidenceStore
from incidents.vault import secret_field_names
from tests.conftest import CHANCE_MATCH
from tests.security.conftest import enter
from tests.security.test_12_canary_crawl import Planted, crawl

MODELS = {mapper.local_table.name: mapper.class_ for mapper in Base.registry.mappers}
# Short secrets ("ru", a year) turn up on any page by chance; they prove nothing either way.
MIN_LENGTH = 8


@dataclass
class DemoCase:
    secrets: dict[tuple[str, str], str]  # (table, column#n) -> a decrypted secret value
    incident_pages: list[str]
    emails: dict[str, str]  # role -> e-mail


@pytest.fixture
def demo_case(db_session: Session, ctx: Context) -> Iterator[DemoCase]:
    store = ctx.store
    assert isinstance(store, DirectoryEvidenceStore)
    stored_before = set(store.keys())
    outcome = demo.seed(ctx)
    db_session.flush()
    vault = ctx.vault
    values: dict[tuple[str, str], str] = {}
    for table in sorted({t.name for t, _ in secret_columns()}):
        model = MODELS[table]
        for number, record in enumerate(db_session.scalars(select(model))):
            for column, value in vault.unseal(record, *secret_field_names(model)).items():
                if value and len(value) >= MIN_LENGTH and not CHANCE_MATCH.fullmatch(value):
                    values[(table, f"{column}#{number}")] = value
    # Person pages are found by searching, not by links: the crawl is given them.
    people = db_session.scalars(select(MODELS["persons"].reference)).all()
    pages = ["/incidents/INC-2017-0001", *(f"/people/{ref}" for ref in people)]
    yield DemoCase(values, pages, {c.role: c.email for c in outcome.credentials})
    for key in set(store.keys()) - stored_before:  # the store outlives the rolled-back test
        store.delete(key)


def _as(client: FlaskClient, ctx: Context, case: DemoCase, role: str) -> None:
    user = accounts.find_user_by_email(ctx, case.emails[role])
    assert user is not None
    enter(client, ctx.session, user)


def _crawl(client: FlaskClient, case: DemoCase) -> tuple[dict[str, int], set[tuple[str, str]]]:
    result = crawl(client, Planted(case.secrets, seeds=case.incident_pages))
    return result.visited, set(result.seen)


@pytest.mark.parametrize("role", ["advocacy_lead", "auditor", "admin"])
def test_no_demo_secret_reaches_an_advocacy_lead_an_auditor_or_the_admin(
    client: FlaskClient, ctx: Context, demo_case: DemoCase, role: str
) -> None:
    assert len(demo_case.secrets) > 20, "the demo case should have many secret values"
    _as(client, ctx, demo_case, role)
    visited, seen = _crawl(client, demo_case)
    assert seen == set(), f"{role} saw {sorted(seen)}"
    expected_incident = 404 if role == "admin" else 200  # the admin is in no team
    assert visited["/incidents/INC-2017-0001"] == expected_incident


def test_the_demo_researcher_reads_the_secrets_of_the_case(
    client: FlaskClient, ctx: Context, demo_case: DemoCase
) -> None:
    _as(client, ctx, demo_case, "researcher")
    _, seen = _crawl(client, demo_case)
    tables = {table for table, _ in seen}
    assert {"incidents", "persons"} <= tables, sorted(seen)


ROLE_PAGES = {
    # path: {role: status}
    "/incidents": {"researcher": 200, "advocacy_lead": 200, "auditor": 200, "admin": 403},
    "/people": {"researcher": 200, "advocacy_lead": 403, "auditor": 403, "admin": 403},
    "/audit": {"researcher": 403, "advocacy_lead": 403, "auditor": 200, "admin": 403},
    "/audit/incidents/INC-2017-0001": {
        "researcher": 403,
        "advocacy_lead": 403,
        "auditor": 200,
        "admin": 404,
    },
    "/admin/users": {"researcher": 403, "advocacy_lead": 403, "auditor": 403, "admin": 200},
}


@pytest.mark.parametrize("role", ["researcher", "advocacy_lead", "auditor", "admin"])
def test_each_demo_user_reaches_the_areas_of_their_role(
    client: FlaskClient, ctx: Context, demo_case: DemoCase, role: str
) -> None:
    _as(client, ctx, demo_case, role)
    got = {path: client.get(path).status_code for path in ROLE_PAGES}
    assert got == {path: statuses[role] for path, statuses in ROLE_PAGES.items()}
