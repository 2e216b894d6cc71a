"""The merge pages: from a person's page to the choice, the side-by-side comparison, the
confirmation and the undo; what each person's page then says; bad input; audit events."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incidents.context import Context
from incidents.models import Act, Person, PersonMerge, User
from incidents.models.vocabularies import Role
from incidents.services import people
from tests.conftest import csrf_token
from tests.factories import ActFactory, ConsentFactory, UserFactory
from tests.helpers import count_events, events
from tests.web.conftest import World

REFUSED = 422
HIDDEN = re.compile(r'name="(duplicate|fingerprint)"[^>]*value="([^"]*)"')


@pytest.fixture
def pair(context_for: Callable[..., Context], world: World) -> tuple[Person, Person]:
    """One man recorded twice by the team's researcher; the second record has two acts
    and a consent."""
    ctx = context_for(world.users["researcher"])
    team = world.team.id
    kept = people.create_person(ctx, team, {"full_name": "Movsar Demoev", "contact": "Kept-3H"})
    duplicate = people.create_person(
        ctx, team, {"full_name": "Мовсар Демоев", "aliases": "Movsik", "contact": "Dup-8Q"}
    )
    for _ in range(2):
        ActFactory(team_id=team, person_id=duplicate.id, incident_id=world.incident.id)
    ConsentFactory(team_id=team, person_id=duplicate.id)
    return kept, duplicate


def _page(client: FlaskClient, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, path
    return response.get_data(as_text=True)


def _confirmation(body: str) -> dict[str, str]:
    return dict(HIDDEN.findall(body))


def _merges(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(PersonMerge)) or 0


def _acts_of(session: Session, person: Person) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).where(Act.person_id == person.id)) or 0


def test_a_researcher_merges_a_duplicate_and_undoes_it(
    client: FlaskClient,
    world: World,
    as_role: Callable[[str], User | None],
    pair: tuple[Person, Person],
    db_session: Session,
) -> None:
    kept, duplicate = pair
    as_role("researcher")
    start_url = f"/people/{kept.reference}/merge"
    assert f'href="{start_url}"' in _page(client, f"/people/{kept.reference}")

    start = _page(client, start_url)
    assert 'method="get"' in start and 'name="duplicate"' in start
    # The other record is suggested, with a link to compare the two; not the person itself.
    compare = f"{start_url}?duplicate={duplicate.reference}"
    assert html.escape(compare) in start
    assert f"duplicate={kept.reference}" not in start

    decryptions = count_events(db_session, "secret.decrypt")
    review = _page(client, compare)
    assert count_events(db_session, "secret.decrypt") == decryptions + 2  # one per person
    for text in ("Movsar Demoev", "Мовсар Демоев", "Movsik", "Kept-3H", "Dup-8Q"):
        assert text in review
    assert "2 acts and 1 consent" in review
    fields = _confirmation(review)
    assert fields["duplicate"] == duplicate.reference and fields["fingerprint"]

    token = csrf_token(client, compare)
    decryptions = count_events(db_session, "secret.decrypt")
    merged = client.post(start_url, data={**fields, "csrf_token": token})
    assert merged.status_code == 302
    assert merged.headers["Location"].endswith(f"/people/{kept.reference}")
    assert count_events(db_session, "secret.decrypt") == decryptions  # the merge decrypts nothing
    assert count_events(db_session, "person.merge", duplicate) == 1
    assert _acts_of(db_session, kept) == 2 and _acts_of(db_session, duplicate) == 0

    kept_page = _page(client, f"/people/{kept.reference}")
    assert f"{duplicate.reference} is merged into {kept.reference}" in kept_page  # the flash
    assert "Records merged into this person" in kept_page
    [merge_id] = re.findall(r'action="/people/merges/([0-9a-f-]+)/undo"', kept_page)
    duplicate_page = _page(client, f"/people/{duplicate.reference}")
    assert 'id="merged-into-heading"' in duplicate_page
    assert f'href="/people/{kept.reference}"' in duplicate_page
    assert f'href="/people/{duplicate.reference}/merge"' not in duplicate_page
    assert "Dup-8Q" in duplicate_page  # the record is kept, details and all

    undo = f"/people/merges/{merge_id}/undo"
    undone = client.post(undo, data={"csrf_token": csrf_token(client, f"/people/{kept.reference}")})
    assert undone.status_code == 302
    assert _acts_of(db_session, duplicate) == 2 and _acts_of(db_session, kept) == 0
    kept_page = _page(client, f"/people/{kept.reference}")
    assert "The merge is undone" in kept_page
    assert "Records merged into this person" not in kept_page
    assert 'id="merged-into-heading"' not in _page(client, f"/people/{duplicate.reference}")
    # A second undo (a page left open) is refused on the person's page, and changes nothing.
    again = client.post(undo, data={"csrf_token": csrf_token(client, f"/people/{kept.reference}")})
    assert again.status_code == 302
    assert "already undone" in _page(client, f"/people/{kept.reference}")
    assert count_events(db_session, "person.unmerge") == 1


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter the reference of the other record"),
        ("   ", "Enter the reference of the other record"),
        ("<script>alert(1)</script>", "Enter a person&#39;s reference"),
        ("x" * 5000, "Enter the reference of the other record"),
        ("PER-9999999", "There is no person PER-9999999 in your teams"),
    ],
)
def test_a_bad_reference_is_named_beside_the_field_and_kept(
    client: FlaskClient,
    world: World,
    as_role: Callable[[str], User | None],
    pair: tuple[Person, Person],
    typed: str,
    message: str,
    db_session: Session,
) -> None:
    kept, _ = pair
    as_role("researcher")
    decryptions = count_events(db_session, "secret.decrypt")
    response = client.get(f"/people/{kept.reference}/merge", query_string={"duplicate": typed})
    assert response.status_code == REFUSED
    body = response.get_data(as_text=True)
    assert message in body
    assert "field--invalid" in body
    assert "<script>alert(1)" not in body
    if typed.strip() and len(typed) < 100:
        assert f'value="{html.escape(typed)}"' in body  # what was typed is kept
    assert count_events(db_session, "secret.decrypt") == decryptions  # nothing was opened


def test_the_same_person_and_another_teams_person_are_refused(
    client: FlaskClient,
    world: World,
    as_role: Callable[[str], User | None],
    pair: tuple[Person, Person],
    context_for: Callable[..., Context],
) -> None:
    kept, _ = pair
    outsider = context_for(UserFactory(role=Role.RESEARCHER, teams=[world.other_team]))
    theirs = people.create_person(outsider, world.other_team.id, {"full_name": "Movsar Demoev"})
    as_role("researcher")
    url = f"/people/{kept.reference}/merge"
    itself = _page(client, f"{url}?duplicate={kept.reference}", REFUSED)
    assert "itself" in itself
    other = _page(client, f"{url}?duplicate={theirs.reference}", REFUSED)
    assert f"There is no person {theirs.reference} in your teams" in other
    # Another team's person in the address is not found, as every record of theirs.
    assert client.get(f"/people/{theirs.reference}/merge").status_code == 404
    token = csrf_token(client, url)
    response = client.post(f"/people/{theirs.reference}/merge", data={"csrf_token": token})
    assert response.status_code == 404


def test_a_refused_confirmation_merges_nothing_and_says_why(
    client: FlaskClient,
    world: World,
    as_role: Callable[[str], User | None],
    pair: tuple[Person, Person],
    db_session: Session,
) -> None:
    kept, duplicate = pair
    as_role("researcher")
    url = f"/people/{kept.reference}/merge"
    fields = _confirmation(_page(client, f"{url}?duplicate={duplicate.reference}"))
    token = csrf_token(client, url)
    # Something was recorded about the duplicate after the comparison was opened.
    ActFactory(team_id=world.team.id, person_id=duplicate.id, incident_id=world.incident.id)
    stale = client.post(url, data={**fields, "csrf_token": token})
    assert stale.status_code == REFUSED
    body = stale.get_data(as_text=True)
    assert "changed after the comparison was opened" in body
    assert f'value="{duplicate.reference}"' in body  # the choice is kept, to compare again
    missing: dict[str, Any] = {"csrf_token": token, "duplicate": duplicate.reference}
    assert client.post(url, data=missing).status_code == REFUSED
    assert _merges(db_session) == 0
    assert count_events(db_session, "person.merge") == 0


def test_search_results_point_from_a_merged_record_to_the_kept_one(
    client: FlaskClient,
    world: World,
    as_role: Callable[[str], User | None],
    pair: tuple[Person, Person],
) -> None:
    kept, duplicate = pair
    as_role("researcher")
    url = f"/people/{kept.reference}/merge"
    fields = _confirmation(_page(client, f"{url}?duplicate={duplicate.reference}"))
    assert (
        client.post(url, data={**fields, "csrf_token": csrf_token(client, url)}).status_code == 302
    )
    search = client.post(
        "/people", data={"q": "Movsik", "csrf_token": csrf_token(client, "/people")}
    )
    body = search.get_data(as_text=True)
    assert duplicate.reference in body
    assert f'merged into <a href="/people/{kept.reference}"' in body


def test_the_merge_link_is_for_researchers_and_not_on_a_merged_record(
    client: FlaskClient,
    world: World,
    as_role: Callable[[str], User | None],
    pair: tuple[Person, Person],
    db_session: Session,
) -> None:
    kept, duplicate = pair
    as_role("researcher")
    url = f"/people/{kept.reference}/merge"
    fields = _confirmation(_page(client, f"{url}?duplicate={duplicate.reference}"))
    client.post(url, data={**fields, "csrf_token": csrf_token(client, url)})
    # The merged record cannot take others: its merge page says so, with no form.
    refused = _page(client, f"/people/{duplicate.reference}/merge")
    assert f"merge other records into {kept.reference} instead" in refused
    assert 'name="duplicate"' not in refused
    [event] = events(db_session, "person.merge", duplicate)
    assert event.detail["into"] == kept.reference
