"""People pages: search, recording a person (with duplicate confirmation), the detail
page, access by role and team, CSRF, and one audit event per decryption."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.context import Context
from incidents.models import Person, User
from incidents.models.vocabularies import Role
from incidents.services import people
from incidents.services.erasure import erase_record
from tests.conftest import csrf_token
from tests.factories import UserFactory
from tests.helpers import count_events
from tests.web.conftest import World

LOCATION = re.compile(r"/people/(PER-\d+)$")
REFUSED = 422  # the one status of a form that was sent and could not be accepted


@pytest.fixture
def record(context_for: Callable[..., Context], world: World) -> Callable[..., Person]:
    """Record a person through the service, in the world's team unless told otherwise."""

    def make(
        full_name: str, aliases: str | None = None, born: str | None = None, **kw: Any
    ) -> Person:
        team = kw.pop("team", world.team)
        user = kw.pop("user", world.users["researcher"])
        details = {
            "full_name": full_name,
            "aliases": aliases,
            "date_of_birth": born,
            "contact": kw.pop("contact", None),
        }
        return people.create_person(context_for(user), team.id, details)

    return make


def _decryptions(session: Session) -> int:
    return count_events(session, AuditAction.SECRET_DECRYPT)


def _persons(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Person)) or 0


def _search(client: FlaskClient, query: str) -> Any:
    return client.post("/people", data={"q": query, "csrf_token": csrf_token(client, "/people")})


def _form(client: FlaskClient, **fields: str) -> dict[str, str]:
    return {"csrf_token": csrf_token(client, "/people/new"), **fields}


# -- navigation and access ---------------------------------------------------------------


def test_the_people_link_is_shown_only_to_researchers(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    as_role("researcher")
    assert 'href="/people"' in client.get("/incidents").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/incidents")})
    for role in ("advocacy_lead", "auditor"):
        as_role(role)
        assert 'href="/people"' not in client.get("/incidents").get_data(as_text=True)
        client.post("/logout", data={"csrf_token": csrf_token(client, "/incidents")})


@pytest.mark.parametrize("role", ["advocacy_lead", "auditor", "admin"])
def test_other_roles_are_refused_every_people_page(
    role: str,
    client: FlaskClient,
    world: World,
    as_role: Callable[[str], User | None],
    record: Callable[..., Person],
    db_session: Session,
) -> None:
    person = record("Movsar Demoev", contact="CANARY-contact-5T1")
    as_role(role)
    before = _decryptions(db_session)
    # A valid token (every logged-in page, a 403 included, has the logout form's), so the
    # answer shows the access rule and not the CSRF check.
    data = {"csrf_token": csrf_token(client, "/incidents"), "q": "Movsar", "full_name": "X"}
    for method, path in [
        ("GET", "/people"),
        ("GET", "/people/new"),
        ("GET", f"/people/{person.reference}"),
        ("POST", "/people"),
        ("POST", "/people/new"),
    ]:
        response = client.open(path, method=method, data=data if method == "POST" else None)
        # The admin belongs to no team: the team's person does not exist for them.
        expected = 404 if role == "admin" and path.endswith(person.reference) else 403
        assert response.status_code == expected, (method, path)
        body = response.get_data(as_text=True)
        assert "CANARY-contact-5T1" not in body
        assert "Movsar" not in body
    assert _decryptions(db_session) == before


def test_another_teams_person_is_not_found(
    client: FlaskClient,
    world: World,
    as_role: Callable[[str], User | None],
    record: Callable[..., Person],
    db_session: Session,
) -> None:
    outsider = UserFactory(role=Role.RESEARCHER, teams=[world.other_team])
    theirs = record(
        "Movsar Demoev", contact="CANARY-other-5T2", team=world.other_team, user=outsider
    )
    as_role("researcher")
    before = _decryptions(db_session)
    response = client.get(f"/people/{theirs.reference}")
    assert response.status_code == 404
    assert "CANARY-other-5T2" not in response.get_data(as_text=True)
    results = _search(client, "Movsar Demoev").get_data(as_text=True)
    assert theirs.reference not in results
    assert "No one in your teams matches" in results
    assert _decryptions(db_session) == before
    for reference in ("PER-9999", "PER-1'--", "../../etc/passwd", "x" * 300):
        assert client.get(f"/people/{reference}").status_code == 404


# -- search ------------------------------------------------------------------------------


def test_search_shows_confirmed_matches_and_how_they_matched(
    client: FlaskClient,
    world: World,
    as_role: Callable[[str], User | None],
    record: Callable[..., Person],
    db_session: Session,
) -> None:
    person = record("Зелимхан Тестоев", "Zelimkhan")
    record("Adam Primerov")
    as_role("researcher")
    page = client.get("/people")
    assert page.status_code == 200
    assert 'method="post"' in page.get_data(as_text=True)  # names stay out of URLs and logs
    before = _decryptions(db_session)

    response = _search(client, "Zelimkhan Testoyev")

    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert person.reference in body
    assert "Зелимхан Тестоев" in body
    assert "Transliterated" in body
    assert "Primerov" not in body
    assert _decryptions(db_session) == before + 1  # one event per person decrypted
    assert 'value="Zelimkhan Testoyev"' in body  # the query is kept in the form
    partial = _search(client, "testoev").get_data(as_text=True)
    assert person.reference in partial and "Partial" in partial
    exact = _search(client, "zelimkhan").get_data(as_text=True)
    assert "Exact" in exact and "on another name: Zelimkhan" in exact


def test_search_with_no_match_and_with_no_query(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None]
) -> None:
    as_role("researcher")
    assert "No one in your teams matches" in _search(client, "Nobody Anywhere").get_data(
        as_text=True
    )
    empty = _search(client, "   ")
    assert empty.status_code == REFUSED
    assert "Enter a name" in empty.get_data(as_text=True)


def test_search_needs_a_csrf_token(
    client: FlaskClient,
    world: World,
    as_role: Callable[[str], User | None],
    record: Callable[..., Person],
    db_session: Session,
) -> None:
    record("Movsar Demoev")
    as_role("researcher")
    before = _decryptions(db_session)
    response = client.post("/people", data={"q": "Movsar Demoev"})
    assert response.status_code == 400
    assert "Movsar" not in response.get_data(as_text=True)
    assert _decryptions(db_session) == before


# -- creating ----------------------------------------------------------------------------


def test_create_a_person_then_see_the_detail(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None], db_session: Session
) -> None:
    as_role("researcher")
    form = client.get("/people/new").get_data(as_text=True)
    assert world.team.name in form
    assert world.other_team.name not in form
    response = client.post(
        "/people/new",
        data=_form(
            client,
            full_name="Адлан Выдумкин",
            aliases="Adlan Vydumkin\nAdlanchik",
            date_of_birth="1993-2",
            contact="CANARY-contact-8K3",
            gender="man",
            age_band="30_49",
            team=str(world.team.id),
        ),
    )
    assert response.status_code == 302
    match = LOCATION.search(response.headers["Location"])
    assert match is not None
    reference = match.group(1)
    before = _decryptions(db_session)

    detail = client.get(f"/people/{reference}")

    assert detail.status_code == 200
    body = detail.get_data(as_text=True)
    for shown in ("Адлан Выдумкин", "Adlanchik", "February 1993", "CANARY-contact-8K3", "30–49"):
        assert shown in body
    assert _decryptions(db_session) == before + 1  # exactly one event for the page
    # The new person is in the index: found by another spelling.
    assert reference in _search(client, "Adlan Vydumkin").get_data(as_text=True)


def test_a_possible_duplicate_must_be_confirmed(
    client: FlaskClient,
    world: World,
    as_role: Callable[[str], User | None],
    record: Callable[..., Person],
    db_session: Session,
) -> None:
    existing = record("Мовсар Демоев", born="1994-05-17")
    as_role("researcher")
    typed = {
        "full_name": "Movsar Demoyev",
        "aliases": "Mova",
        "date_of_birth": "1994-05-17",
        "contact": "via the hotline",
        "gender": "man",
        "age_band": "18_29",
        "team": str(world.team.id),
    }
    count = _persons(db_session)
    before = _decryptions(db_session)

    first = client.post("/people/new", data=_form(client, **typed))

    assert first.status_code == 200
    body = first.get_data(as_text=True)
    assert "already recorded" in body
    assert existing.reference in body
    assert "This is a different person — create anyway" in body
    for value in ("Movsar Demoyev", "Mova", "1994-05-17", "via the hotline"):
        assert value in body  # nothing typed is lost
    assert _persons(db_session) == count
    assert _decryptions(db_session) == before + 1  # the one candidate, decrypted to compare

    second = client.post("/people/new", data=_form(client, **typed, confirm_different="y"))

    assert second.status_code == 302
    assert _persons(db_session) == count + 1


def test_invalid_input_is_shown_with_everything_typed_kept(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None], db_session: Session
) -> None:
    as_role("researcher")
    count = _persons(db_session)
    response = client.post(
        "/people/new",
        data=_form(
            client,
            full_name="Adam Primerov",
            aliases="Adamchik",
            date_of_birth="17/05/1994",
            contact="a safe number",
            gender="man",
            age_band="unknown",
            team=str(world.team.id),
        ),
    )
    assert response.status_code == REFUSED
    body = response.get_data(as_text=True)
    assert "Use YYYY, YYYY-MM or YYYY-MM-DD" in body
    for value in ("Adam Primerov", "Adamchik", "17/05/1994", "a safe number"):
        assert value in body
    future = client.post(
        "/people/new",
        data=_form(
            client, full_name="Adam Primerov", date_of_birth="2999", team=str(world.team.id)
        ),
    )
    assert future.status_code == REFUSED
    assert "Enter a date between 1880 and today." in future.get_data(as_text=True)
    assert _persons(db_session) == count


def test_a_person_cannot_be_created_in_another_team(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None], db_session: Session
) -> None:
    as_role("researcher")
    count = _persons(db_session)
    response = client.post(
        "/people/new",
        data=_form(client, full_name="Adam Primerov", team=str(world.other_team.id)),
    )
    assert response.status_code == REFUSED
    assert "Not a valid choice" in response.get_data(as_text=True)
    assert _persons(db_session) == count


def test_creating_needs_a_csrf_token(
    client: FlaskClient, world: World, as_role: Callable[[str], User | None], db_session: Session
) -> None:
    as_role("researcher")
    count = _persons(db_session)
    response = client.post(
        "/people/new", data={"full_name": "Adam Primerov", "team": str(world.team.id)}
    )
    assert response.status_code == 400
    assert _persons(db_session) == count


# -- detail ------------------------------------------------------------------------------


def test_an_erased_person_shows_the_tombstone_and_decrypts_nothing(
    client: FlaskClient,
    world: World,
    as_role: Callable[[str], User | None],
    record: Callable[..., Person],
    db_session: Session,
    ctx: Context,
) -> None:
    person = record("Movsar Demoev", contact="CANARY-erased-2W6")
    erase_record(ctx, person.reference, "consent_withdrawn")
    as_role("researcher")
    before = _decryptions(db_session)
    response = client.get(f"/people/{person.reference}")
    assert response.status_code == 410
    body = response.get_data(as_text=True)
    assert "This record was erased" in body
    assert "Consent withdrawn" in body
    assert "CANARY-erased-2W6" not in body
    assert person.reference not in _search(client, "Movsar Demoev").get_data(as_text=True)
    assert _decryptions(db_session) == before
