"""Security check 12 for the JSON API: an advocacy lead's and an auditor's tokens, reading
every list the API has and every record those lists name (page after page), get no
secret value and nothing of another team; the lead gets no restricted value of a case
either; nothing is decrypted for them. The same canaries as the advocacy crawl
(tests/security/test_advocacy_crawl.py); a researcher of the team, reading the same way,
finds them — so the check can fail.

A document names its record by id: the ids of the team's own records are what the API
gives every reader to name them by, and are not looked for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.db import secret_columns
from tests.api.conftest import TokenClient, api_client  # noqa: F401 (a fixture)
from tests.helpers import count_events
from tests.security.test_12_canary_crawl import Planted, needles
from tests.security.test_advocacy_crawl import planted  # noqa: F401 (the fixture)

MAX_CALLS = 2000
FILES = {("evidence", "filename"), ("evidence", "description"), ("evidence", "<file>")}


@dataclass
class ApiCrawl:
    statuses: dict[str, int] = field(default_factory=dict)
    seen: dict[tuple[str, str], list[str]] = field(default_factory=dict)


def _lists(app: Flask) -> list[str]:
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        and not rule.arguments
        and "GET" in (rule.methods or ())
        and rule.endpoint not in ("api.openapi_json", "api.reference_page")
    )


def _items(app: Flask) -> dict[str, list[str]]:
    """List URL -> the rules of what it lists, one by one (`/incidents/<key>`, …)."""
    found: dict[str, list[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and "GET" in (rule.methods or ()) and rule.arguments:
            found.setdefault(rule.rule.split("/<")[0], []).append(rule.rule)
    return found


def read_everything(app: Flask, client: TokenClient, canaries: Planted) -> ApiCrawl:
    forms = {key: needles(value) for key, value in canaries.canaries.items()}
    result = ApiCrawl()
    items = _items(app)
    queue = [f"{path}?limit=200" for path in _lists(app)]
    while queue:
        path = queue.pop(0)
        if path in result.statuses:
            continue
        assert len(result.statuses) < MAX_CALLS, "the crawl does not end"
        response = client.get(path)
        result.statuses[path] = response.status_code
        body = response.get_data()
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items()).encode()
        for key, variants in forms.items():
            if any(v in body or v in headers for v in variants):
                result.seen.setdefault(key, []).append(path)
        if response.status_code != 200 or not response.is_json:
            continue
        page = response.get_json()
        if isinstance(page, dict) and isinstance(page.get("items"), list):
            base = path.split("?")[0]
            for item in page["items"]:
                for rule in items.get(base, []):
                    argument = rule.split("<")[1].split(">")[0]
                    queue.append(rule.replace(f"<{argument}>", str(item.get("id"))))
            if page.get("next"):
                queue.append(f"{base}?limit=200&cursor={page['next']}")
    return result


def _not_an_own_id(key: tuple[str, str]) -> bool:
    return key[0].startswith("other ") or not key[1].startswith("id ")


@pytest.mark.parametrize("role", ["advocacy_lead", "auditor"])
def test_12_api_answers_to_a_lead_or_an_auditor_carry_no_secret(
    role: str,
    app: Flask,
    planted: Planted,  # noqa: F811 (the fixture imported above)
    api_client: Callable[..., TokenClient],  # noqa: F811 (the fixture imported above)
    db_session: Session,
) -> None:
    client = api_client(role)
    result = read_everything(app, client, planted)
    assert sum(status == 200 for status in result.statuses.values()) > 20, result.statuses
    decrypted = count_events(db_session, AuditAction.SECRET_DECRYPT.value, actor=client.user.email)
    assert decrypted == 0, "something was decrypted"
    secret = {(t.name, c.name) for t, c in secret_columns()} | FILES
    seen = {key for key in result.seen if _not_an_own_id(key)}
    if role == "auditor":  # restricted values are the auditor's to read
        seen = {key for key in seen if key in secret or key[0].startswith("other ")}
    assert seen == set(), {key: result.seen[key] for key in seen}


def test_12_a_researcher_reading_the_api_finds_the_canaries(
    app: Flask,
    planted: Planted,  # noqa: F811
    api_client: Callable[..., TokenClient],  # noqa: F811 (the fixture imported above)
) -> None:
    result = read_everything(app, api_client("researcher"), planted)
    seen = set(result.seen)
    assert ("incidents", "narrative") in seen, "a secret the researcher may read is not found"
    assert ("reports", "title") in seen
    assert not {key for key in seen if key[0].startswith("other ")}, "another team's data"
