"""The README's worked example of the API, run as written against the application: its
curl commands are read from the README and sent through the test client."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from incidents.models.vocabularies import Role
from tests.api.conftest import make_token
from tests.factories import TeamFactory, UserFactory

README = Path(__file__).resolve().parents[2] / "README.md"
API = "http://localhost:5000/api/v1"


def _example_commands() -> list[list[str]]:
    text = README.read_text(encoding="utf-8")
    section = text.split("**A worked example.**", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block, "the README's worked example has no shell block"
    joined = block.group(1).replace("\\\n", " ")
    return [shlex.split(line) for line in joined.splitlines() if line.startswith("curl ")]


def _send(client: FlaskClient, command: list[str], token: str) -> Any:
    method, headers, data, url = "GET", {}, None, None
    words = iter(command[1:])
    for word in words:
        if word == "-X":
            method = next(words)
        elif word == "-H":
            name, _, value = next(words).partition(": ")
            headers[name] = value.replace("$TOKEN", token)
        elif word == "-d":
            data = next(words)
        elif not word.startswith("-"):
            url = word.replace("$API", API).removeprefix("http://localhost:5000")
    assert url is not None, command
    return client.open(url, method=method, headers=headers, data=data)


def test_the_readme_example_records_an_incident_and_a_report_and_reads_it(
    app: Flask, client: FlaskClient, db_session: Session
) -> None:
    team = TeamFactory(slug="north-caucasus", name="North Caucasus")
    researcher = UserFactory(role=Role.RESEARCHER, teams=[team])
    db_session.flush()
    token = make_token(app, db_session, researcher)

    commands = _example_commands()
    assert len(commands) == 3
    incident, report, read = (_send(client, command, token) for command in commands)

    assert incident.status_code == 201, incident.get_json()
    assert incident.get_json()["reference"] == "INC-2017-0001"
    assert incident.get_json()["sealed"] == ["narrative", "place_detail"]
    assert report.status_code == 201, report.get_json()
    assert report.get_json()["incident"] == incident.get_json()["id"]
    assert read.status_code == 200
    shown = read.get_json()
    assert shown["reference"] == "RPT-2017-0001"
    assert shown["narrative"] == "Three men in uniform took him from the bus."
    # The answer the README shows: the same keys in the same order, the same values but
    # those it leaves out ("…": ids and times).
    section = README.read_text(encoding="utf-8").split("**A worked example.**", 1)[1]
    answer = re.search(r"```json\n(.*?)```", section, re.DOTALL)
    assert answer, "the README shows no answer"
    documented = json.loads(answer.group(1))
    assert list(documented) == list(shown)
    assert {k: v for k, v in documented.items() if v != "…"} == {
        k: v for k, v in shown.items() if documented[k] != "…"
    }
