"""A researcher or an advocacy lead attacking the import: rows that name another team's
records by id, by reference and by another tool's id — as the record itself or as what
it links to — and files made to exhaust the server: JSON nested thousands deep, a ZIP
that unpacks to hundreds of megabytes, a damaged or encrypted ZIP, a line without end,
a file of bad records, text PostgreSQL refuses. Each is refused like a record that does
not exist, or with one clear problem, in bounded memory; nothing of the other team is
changed or told, and nothing is ever a crash.
"""

from __future__ import annotations

import io
import json
import re
import struct
import time
import tracemalloc
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incidents.context import Context
from incidents.errors import PermissionDenied
from incidents.models import Incident, Person, Team, User
from incidents.models.vocabularies import Role
from incidents.records.kinds import kind_named
from incidents.services import erasure, imports
from incidents.services.import_csv import LINE_LIMIT, MAX_EXPANSION
from incidents.services.import_files import MAX_DEPTH, MAX_PROBLEMS
from incidents.services.import_rows import NAMESPACE
from tests.conftest import csrf_token
from tests.factories import (
    AdvocacyActionFactory,
    IncidentFactory,
    PersonFactory,
    TeamFactory,
    UserFactory,
)

Build = Callable[..., Context]
MiB = 1024 * 1024


def _json(records: dict[str, list[dict[str, Any]]]) -> io.BytesIO:
    body = {"format": "incidents-records/1", "records": records}
    return io.BytesIO(json.dumps(body).encode())


def _problems(outcome: imports.ImportOutcome) -> list[tuple[str | None, str]]:
    return [(error.field, error.message) for error in outcome.errors]


def _count(session: Session, model: type[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


@contextmanager
def _bounded(megabytes: int, seconds: float) -> Iterator[None]:
    """The block allocates at most `megabytes` at its peak and ends within `seconds`."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        yield
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < megabytes * MiB, f"{peak / MiB:.0f} MiB at the peak"
    assert time.monotonic() - started < seconds, "too slow"


@pytest.fixture
def north(db_session: Session) -> Team:
    return TeamFactory(slug="north")


@pytest.fixture
def south(db_session: Session) -> Team:
    return TeamFactory(slug="south")


@pytest.fixture
def researcher(north: Team) -> User:
    return UserFactory(role=Role.RESEARCHER, teams=[north])


# -- another team's records ----------------------------------------------------------------


def test_the_id_of_another_teams_record_is_refused_without_saying_whose_it_is(
    db_session: Session, context_for: Build, ctx: Context, researcher: User, south: Team
) -> None:
    theirs = IncidentFactory(team_id=south.id, title="Their incident")
    erased = IncidentFactory(team_id=south.id, title="Their erased incident")
    erasure.erase_record(ctx, erased.reference, "consent_withdrawn")
    person = PersonFactory(team_id=south.id)
    rows = {
        "their incident": ("incident", {"id": str(theirs.id), "title": "Mine"}),
        "their erased incident": ("incident", {"id": str(erased.id), "title": "Mine"}),
        "their person": ("person", {"id": str(person.id), "full_name": "A name"}),
    }
    answers = set()
    for kind, row in rows.values():
        outcome = imports.plan_import(
            context_for(researcher), _json({kind: [{**row, "team": "north"}]})
        )
        answers |= set(_problems(outcome))
    (field, message), *others = answers
    assert others == [] and field == "id", "one refusal, whoever's record and whatever kind"
    assert "team" not in message
    db_session.expire_all()
    stored = db_session.get(Incident, theirs.id)
    assert stored is not None and (stored.title, stored.team_id) == ("Their incident", south.id)


def test_an_advocacy_leads_row_with_the_id_of_another_teams_action_changes_nothing(
    db_session: Session, context_for: Build, north: Team, south: Team
) -> None:
    lead = UserFactory(role=Role.ADVOCACY_LEAD, teams=[north])
    theirs = AdvocacyActionFactory(team_id=south.id, title="Their petition")
    row = {"id": str(theirs.id), "team": "north", "kind": "petition", "title": "Ours"}
    (problem,) = _problems(
        imports.plan_import(context_for(lead), _json({"advocacy_action": [row]}))
    )
    assert problem[0] == "id" and "team" not in problem[1]
    db_session.expire_all()
    assert db_session.get(type(theirs), theirs.id).title == "Their petition"


def test_a_reference_of_another_teams_record_never_reaches_it(
    db_session: Session, context_for: Build, researcher: User, south: Team
) -> None:
    theirs = IncidentFactory(team_id=south.id, title="Their incident")
    ours = IncidentFactory(team_id=researcher.memberships[0].team_id, title="Our incident")
    ctx = context_for(researcher)

    def row(reference: str) -> io.BytesIO:
        return _json({"incident": [{"team": "north", "title": "Changed", "reference": reference}]})

    (field, message), *others = _problems(imports.plan_import(ctx, row(theirs.reference)))
    assert others == [] and field == "reference", "a new record, whose reference is taken"
    assert "team" not in message
    ours_changed = imports.plan_import(ctx, row(ours.reference), dry_run=True)
    assert ours_changed.counts["incident"].updated == 1, "a reference of the team's own record"
    db_session.expire_all()
    assert db_session.get(Incident, theirs.id).title == "Their incident"


LINKS = {
    # kind: (the row without its link, the link's field, the kind it links to)
    "report": ({"team": "north", "title": "R", "received_on": "2017-01-01", "channel": "media"},
               "incident", "incident"),
    "act": ({"team": "north", "act_type": "detained"}, "person", "person"),
    "consent": ({"team": "north", "use": "keep", "granted_on": "2017-01-01"}, "person", "person"),
    "action_link": ({}, "report", "report"),
    "follow_up": ({"description": "Ask again", "due_on": "2017-07-01"}, "action",
                  "advocacy_action"),
}  # fmt: skip
# What the other team's import of each kind had, with another tool's id "x-1".
THEIR_ROWS = {
    "incident": {"title": "Theirs"},
    "person": {"full_name": "Their person"},
    "report": {"title": "Theirs", "received_on": "2017-01-01", "channel": "media"},
    "advocacy_action": {"kind": "petition", "title": "Theirs"},
}
KEYS = re.compile(r"[0-9a-f]{8}-[0-9a-f-]{27}|[A-Z]{3}-[0-9-]+|[xy]-[12]")


@pytest.mark.parametrize("kind", list(LINKS))
@pytest.mark.parametrize("by", ["id", "reference", "external id"])
def test_a_link_to_another_teams_record_is_refused_like_a_link_to_nothing(
    kind: str, by: str, db_session: Session, context_for: Build, north: Team, south: Team
) -> None:
    base, field, target = LINKS[kind]
    role = Role.ADVOCACY_LEAD if kind in ("action_link", "follow_up") else Role.RESEARCHER
    target_role = Role.ADVOCACY_LEAD if target == "advocacy_action" else Role.RESEARCHER
    them = UserFactory(role=target_role, teams=[south])
    their_row = {"id": "x-1", "team": "south", **THEIR_ROWS[target]}
    assert imports.plan_import(context_for(them), _json({target: [their_row]})).imported
    theirs = db_session.get(kind_named(target).model, uuid.uuid5(NAMESPACE, f"{target}:south:x-1"))
    row = dict(base)
    if kind == "act":
        row["incident"] = str(IncidentFactory(team_id=north.id).id)
    if kind == "action_link":
        row["action"] = str(AdvocacyActionFactory(team_id=north.id).id)
    keys = {
        "id": (str(theirs.id), str(uuid.uuid4())),
        "reference": (theirs.reference, theirs.reference.rsplit("-", 1)[0] + "-9999"),
        "external id": ("x-1", "y-2"),  # theirs, in their team; nobody's
    }[by]
    user = UserFactory(role=role, teams=[north])
    answers = []
    for key in keys:
        outcome = imports.plan_import(context_for(user), _json({kind: [{**row, field: key}]}))
        assert not outcome.imported
        answers.append([(f, KEYS.sub("KEY", m)) for f, m in _problems(outcome)])
    assert answers[0] == answers[1], "another team's record answers as no record"
    assert answers[0][0][0] == field, answers[0]


def test_content_ids_cannot_be_worked_out_from_another_teams_rows(
    db_session: Session, context_for: Build, north: Team, south: Team
) -> None:
    """A row without an id gets one from its content: someone of another team who guesses
    that content (a name) cannot work the id out and ask their own import about it."""
    theirs = UserFactory(role=Role.RESEARCHER, teams=[south])
    row = {"team": "south", "full_name": "Ruslan Example"}
    assert imports.plan_import(context_for(theirs), _json({"person": [row]})).imported
    guessed = uuid.uuid5(
        NAMESPACE, f"person:south:content:{json.dumps(row, sort_keys=True, ensure_ascii=False)}"
    )
    attacker = UserFactory(role=Role.RESEARCHER, teams=[north])
    probe = {"id": str(guessed), "team": "north", "full_name": "Anyone"}
    outcome = imports.plan_import(context_for(attacker), _json({"person": [probe]}), dry_run=True)
    assert outcome.ok and outcome.counts["person"].created == 1, _problems(outcome)


# -- who may import what -------------------------------------------------------------------


def test_an_advocacy_lead_imports_no_case_record_and_an_auditor_nothing(
    db_session: Session, context_for: Build, north: Team
) -> None:
    lead = UserFactory(role=Role.ADVOCACY_LEAD, teams=[north])
    rows = {
        "incident": [{"team": "north", "title": "Not theirs"}],
        "source": [{"team": "north", "kind": "witness"}],
        "report": [
            {"team": "north", "title": "R", "received_on": "2017-01-01", "channel": "media"}
        ],
        "person": [{"team": "north", "full_name": "A name"}],
    }
    outcome = imports.plan_import(context_for(lead), _json(rows))
    assert sorted(e.kind or "" for e in outcome.errors) == sorted(rows)
    assert all(e.field is None and "Your roles" in e.message for e in outcome.errors)
    assert _count(db_session, Incident) == _count(db_session, Person) == 0
    auditor = UserFactory(role=Role.AUDITOR, teams=[north])
    for kind in ("incident", "campaign", "organisation"):
        with pytest.raises(PermissionDenied):
            imports.plan_import(context_for(auditor), _json({kind: [{"team": "north"}]}))


# -- files made to exhaust the server --------------------------------------------------------


def test_json_nested_thousands_deep_is_one_problem_in_little_memory(
    db_session: Session, context_for: Build, researcher: User
) -> None:
    # Deep enough that the paths of ijson's `parse` would take half a gigabyte.
    depth = 15_000
    for place in ("identity", "id"):  # a field, and the id a row's content would be hashed for
        body = (
            b'{"records": {"source": [{"team": "north", "kind": "witness", "%s": ' % place.encode()
            + b"[" * depth
            + b"]" * depth
            + b"}]}}"
        )
        with _bounded(megabytes=64, seconds=10):
            outcome = imports.plan_import(context_for(researcher), io.BytesIO(body))
        (error,) = outcome.errors
        assert f"nested more than {MAX_DEPTH} levels" in error.message
    # A syntax error deep inside what is skipped is placed by the slow parser, as cheaply.
    broken = b'{"records": {"no_such_kind": [' + b"[" * 20_000 + b"}"
    with _bounded(megabytes=64, seconds=20):
        outcome = imports.plan_import(context_for(researcher), io.BytesIO(broken))
    assert any("not valid JSON" in error.message for error in outcome.errors)


def _zip_of(name: str, chunk: bytes, times: int) -> bytes:
    """A ZIP of one member written `times` times `chunk`, compressed as it is written."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open(name, "w") as member,
    ):
        member.write(b"id,team,kind\n")
        for _ in range(times):
            member.write(chunk)
    return buffer.getvalue()


@pytest.mark.parametrize("filling", [b"\n", b"a"], ids=["empty lines", "one endless line"])
def test_a_zip_bomb_is_refused_before_a_byte_is_unpacked(
    filling: bytes, db_session: Session, context_for: Build, researcher: User
) -> None:
    bomb = _zip_of("source.csv", filling * MiB, 400)  # 400 MiB in about 400 KiB
    assert len(bomb) < 2 * MiB
    with _bounded(megabytes=32, seconds=5):
        outcome = imports.plan_import(context_for(researcher), io.BytesIO(bomb), name="x.zip")
    (error,) = outcome.errors
    assert error.message.startswith("The ZIP would unpack to 419,430,413 bytes")
    assert f"more than {MAX_EXPANSION} times its own size" in error.message


def _damaged(archive: bytes, how: str) -> bytes:
    data = bytearray(archive)
    local, central = data.find(b"PK\x03\x04"), data.rfind(b"PK\x01\x02")
    if how == "crc":
        data[local + 14 : local + 18] = data[central + 16 : central + 20] = b"\0\0\0\0"
    elif how == "stream":
        start = local + 30 + len("source.csv")
        data[start + 4 : start + 40] = bytes(b ^ 0xFF for b in data[start + 4 : start + 40])
    elif how == "password":
        data[local + 6] |= 1
        data[central + 8] |= 1
    else:  # a compression method no reader knows
        data[local + 8 : local + 10] = data[central + 10 : central + 12] = struct.pack("<H", 99)
    return bytes(data)


@pytest.mark.parametrize("how", ["crc", "stream", "password", "method"])
def test_a_damaged_or_locked_zip_is_one_problem(
    how: str, db_session: Session, context_for: Build, researcher: User
) -> None:
    archive = _zip_of("source.csv", b"x1,north,witness\n", 2000)
    broken = _damaged(archive, how)
    outcome = imports.plan_import(context_for(researcher), io.BytesIO(broken), name="x.zip")
    (error,) = outcome.errors
    assert error.source == "source.csv" and "make the ZIP again" in error.message


def test_a_line_without_end_is_refused_without_being_held(
    db_session: Session, context_for: Build, researcher: User
) -> None:
    line = b"id,team,kind,identity\n" + b"x," * (4 * MiB)  # 12 MiB, not a single line break
    with _bounded(megabytes=64, seconds=10):
        outcome = imports.plan_import(context_for(researcher), io.BytesIO(line), kind="source")
    (error,) = outcome.errors
    assert error.row == 2 and f"longer than {LINE_LIMIT:,} characters" in error.message


def test_a_file_of_bad_records_keeps_a_few_hundred_problems(
    db_session: Session, context_for: Build, researcher: User
) -> None:
    body = json.dumps({"records": {"source": [1] * 300_000}}).encode()
    with _bounded(megabytes=16, seconds=60):
        outcome = imports.plan_import(context_for(researcher), io.BytesIO(body))
    assert len(outcome.errors) == MAX_PROBLEMS
    assert len(outcome.errors) + outcome.more_errors == 300_000
    lines = b"id,team,kind\n" + b"a,b,c,d\n" * 500_000
    upload = imports.open_import(io.BytesIO(lines), kind="source")
    assert len(upload.problems) == MAX_PROBLEMS and upload.problems.more == 500_000 - MAX_PROBLEMS


@pytest.mark.parametrize(
    "row",
    [
        {"team": "north", "title": "T", "reference": "INC-2017-\u00000001"},
        {"team": "north\u0000", "title": "T"},
        {"team": "north", "title": "T", "id": "case\u0000-1"},
    ],
    ids=["reference", "team", "external id"],
)
def test_a_nul_in_a_row_is_a_row_error_on_every_database(
    row: dict[str, str], db_session: Session, context_for: Build, ctx: Context, researcher: User
) -> None:
    for importer in (context_for(researcher), ctx):
        outcome = imports.plan_import(importer, _json({"incident": [row]}), dry_run=True)
        assert outcome.ok or outcome.errors[0].field in ("reference", "team")


# -- through the page ----------------------------------------------------------------------


def test_the_page_answers_a_bomb_and_deep_json_with_their_problems(
    client: FlaskClient, db_session: Session, login_as: Callable[[User], User], researcher: User
) -> None:
    login_as(researcher)
    for data, name, expected in (
        (_zip_of("source.csv", b"\n" * MiB, 100), "x.zip", "The ZIP would unpack to"),
        (
            b'{"records": {"source": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}}",
            "x.json",
            "nested",
        ),
    ):
        form = {
            "csrf_token": csrf_token(client, "/import"),
            "file": (io.BytesIO(data), name),
            "dry_run": "y",
        }
        response = client.post("/import", data=form, content_type="multipart/form-data")
        assert response.status_code == 422
        assert expected in response.get_data(as_text=True)
