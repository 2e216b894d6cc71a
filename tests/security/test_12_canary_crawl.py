"""Security check 12: no page seen by an advocacy lead or an auditor contains a secret value.

A distinct canary goes into every secret field of the model (the list comes from the
metadata, so a new secret column needs a canary here or the test fails) and into an
evidence file. Each role then crawls every page it can reach, following every same-site
link from "/", plus the team's record pages. A researcher of the team, doing the same,
must find the canaries: that proves they were planted where pages would show them.
"""

from __future__ import annotations

import html
import json
import re
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

import markupsafe
import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from incidents.db import secret_columns
from incidents.models import User
from incidents.vault import FieldVault
from tests.factories import (
    ActFactory,
    ConsentFactory,
    IncidentFactory,
    InvolvementFactory,
    PersonFactory,
    ReportFactory,
    SourceFactory,
    erased_incident,
    kept_erasure_review,
    stored_evidence,
)
from tests.helpers import evidence_store
from tests.web.conftest import World

MAX_PAGES = 400
HREF = re.compile(r"""\bhref\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
# What the pages of this release show a researcher of the team: the crawl must find these.
SHOWN_TO_RESEARCHERS = {
    ("incidents", "narrative"),
    ("incidents", "place_detail"),
    ("persons", "full_name"),
    ("persons", "aliases"),
    ("persons", "contact"),
    ("persons", "sexual_orientation"),  # as they self-identify, on the person's page
    ("persons", "gender_identity"),
    ("erasures", "reason_note"),  # why it was erased, on the erased record's page
    ("consents", "notes"),  # the conditions, in the person's consent section
    ("erasure_reviews", "decision_note"),  # why a record was kept, on its review's page
    ("reports", "narrative"),  # the account, on the report's page
    ("sources", "identity"),  # who the source is, on the source's page
    ("sources", "contact"),
    ("sources", "protective_notes"),
    ("acts", "notes"),  # on the incident page, with each act
    ("involvements", "perpetrator_names"),  # the perpetrators of each act
    ("involvements", "units"),
    ("evidence", "filename"),
    ("evidence", "description"),  # beside the file's name
    ("evidence", "<file>"),  # the downloaded file itself
}
# Characters that every escaping changes, so the escaped forms differ from the raw value.
TAIL = ' <&"é>'


def _canary(table: str, column: str) -> str:
    return f"CANARY-{table}-{column}-{secrets.token_hex(4)}{TAIL}"


def needles(value: str) -> set[bytes]:
    """The forms a value can take in a response: raw, HTML- and JSON-escaped, and its
    ASCII core (which every escaping and URL-encoding leaves as it is)."""
    core = value.removesuffix(TAIL)
    forms = {
        value,
        core,
        html.escape(value),
        str(markupsafe.escape(value)),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
    }
    return {form.encode() for form in forms} | {core.encode("utf-16-le")}


@dataclass
class Planted:
    """The canaries by (table, column), and the record pages of the team."""

    canaries: dict[tuple[str, str], str]
    records: dict[str, Any] = field(default_factory=dict)
    seeds: list[str] = field(default_factory=list)


def _secrets_for(table: str, canaries: dict[tuple[str, str], str]) -> dict[str, str]:
    return {column: value for (t, column), value in canaries.items() if t == table}


@pytest.fixture
def planted(world: World, client: FlaskClient) -> Planted:
    canaries = {(t.name, c.name): _canary(t.name, c.name) for t, c in secret_columns()}
    canaries[("evidence", "<file>")] = _canary("evidence", "file")
    team = world.team.id

    def s(table: str) -> dict[str, str]:
        return _secrets_for(table, canaries)

    incident = IncidentFactory(team_id=team, secrets=s("incidents"))
    person = PersonFactory(team_id=team, secrets=s("persons"))
    source = SourceFactory(team_id=team, secrets=s("sources"))
    report = ReportFactory(
        team_id=team, incident_id=incident.id, source_id=source.id, secrets=s("reports")
    )
    act = ActFactory(team_id=team, person_id=person.id, incident_id=incident.id, secrets=s("acts"))
    involvement = InvolvementFactory(team_id=team, act_id=act.id, secrets=s("involvements"))
    consent = ConsentFactory(team_id=team, person_id=person.id, secrets=s("consents"))
    (note,) = s("erasure_reviews").values()
    review = kept_erasure_review(person, consent.id, note)
    (reason,) = s("erasures").values()
    erased, tombstone = erased_incident(team, reason)
    evidence = stored_evidence(
        evidence_store(client.application),
        report,
        content=canaries[("evidence", "<file>")].encode(),
        filename=canaries[("evidence", "filename")],
        description=canaries[("evidence", "description")],
    )
    records = {
        r.__tablename__: r
        for r in (incident, person, source, report, act, involvement, consent, evidence, review)
    }
    records[tombstone.__tablename__] = tombstone
    assert {table for table, _ in canaries} == records.keys(), "a secret table has no record"
    return Planted(
        canaries,
        records,
        seeds=[
            f"/incidents/{incident.reference}",
            f"/people/{person.reference}",
            f"/evidence/{evidence.id}/download",
            f"/incidents/{world.incident.reference}",
            f"/incidents/{erased.reference}",  # its tombstone
        ],
    )


def _links(response: TestResponse, base: str) -> list[str]:
    if not response.mimetype.startswith("text/html"):
        return []
    found = []
    for href in HREF.findall(response.get_data(as_text=True)):
        url, _ = urldefrag(urljoin(base, html.unescape(href)))
        parts = urlsplit(url)
        if parts.scheme in ("", "http") and parts.netloc in ("", "localhost"):
            found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


@dataclass
class Crawl:
    visited: dict[str, int] = field(default_factory=dict)  # path -> status
    by_links: set[str] = field(default_factory=set)  # visited before the seeds were added
    seen: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # canary -> where


def crawl(client: FlaskClient, planted: Planted) -> Crawl:
    """Breadth-first from "/", GET only, following same-site links; then the seeds."""
    forms = {key: needles(value) for key, value in planted.canaries.items()}
    result = Crawl()
    queue: deque[str] = deque(["/"])
    seeded = False
    while queue or not seeded:
        if not queue:
            result.by_links = set(result.visited)
            queue.extend(planted.seeds)
            seeded = True
            continue
        path = queue.popleft()
        if path in result.visited:
            continue
        assert len(result.visited) < MAX_PAGES, "the crawl does not end"
        response = client.get(path)
        result.visited[path] = response.status_code
        body = response.get_data()
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items()).encode()
        for key, variants in forms.items():
            for where, content in (("body", body), ("headers", headers)):
                if any(v in content for v in variants):
                    result.seen.setdefault(key, []).append(f"{where} of {path}")
        queue.extend(link for link in _links(response, f"http://localhost{path}") if link)
        response.close()
    return result


def _reached_by_links(result: Crawl) -> None:
    """The crawl got somewhere: the list, and an incident page found by following links."""
    assert result.visited.get("/incidents") == 200, result.visited
    incident_pages = [p for p in result.by_links if re.fullmatch(r"/incidents/INC-[\d-]+", p)]
    assert incident_pages, f"the crawl reached no incident page: {sorted(result.visited)}"


@pytest.mark.parametrize("role", ["advocacy_lead", "auditor"])
def test_12_no_secret_on_any_page_an_advocacy_lead_or_auditor_reaches(
    role: str, client: FlaskClient, planted: Planted, sign_in: Callable[[str], User | None]
) -> None:
    sign_in(role)
    result = crawl(client, planted)
    _reached_by_links(result)
    assert result.visited[planted.seeds[0]] == 200, "the canary incident's page was not shown"
    assert result.seen == {}, f"secret values seen by {role}: {result.seen}"


def test_12_a_researcher_of_the_team_finds_the_canaries(
    client: FlaskClient,
    planted: Planted,
    sign_in: Callable[[str], User | None],
    vault: FieldVault,
) -> None:
    sign_in("researcher")
    result = crawl(client, planted)
    _reached_by_links(result)
    missing = SHOWN_TO_RESEARCHERS - result.seen.keys()
    assert missing == set(), f"planted but not found by the researcher: {sorted(missing)}"
    # The fields no page shows yet were planted too: they open to their canary.
    for (table, column), value in planted.canaries.items():
        if column != "<file>":
            assert vault.unseal(planted.records[table], column) == {column: value}
