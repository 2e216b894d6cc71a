"""Evidence files through the API, on SQLite and PostgreSQL: a researcher's upload and
download round trip (the same bytes, the same SHA-256, as an attachment in a sandbox,
with its custody and decryption events); the page's checks on type and size; the details
as each role may see them; another team's report or file is not found, and an erased
file is gone."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import uuid
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage
from werkzeug.test import TestResponse, encode_multipart

from incidents.audit.actions import AuditAction
from incidents.context import Context
from incidents.models import Evidence, Report
from incidents.services.erasure import erase_record
from incidents.storage.store import DirectoryEvidenceStore
from incidents.web.evidence.uploads import FORM_ALLOWANCE
from incidents.web.security import ATTACHMENT_CONTENT_SECURITY_POLICY
from tests import samples
from tests.api.conftest import TokenClient, field_errors, problem
from tests.factories import ReportFactory, stored_evidence
from tests.helpers import count_events
from tests.web.conftest import World

ApiClient = Callable[..., TokenClient]
NAME = "CANARY-api-evidence-5T1.png"
DESCRIPTION = "CANARY-api-description-2H9: the checkpoint"


@pytest.fixture
def store(app: Flask) -> DirectoryEvidenceStore:
    store: DirectoryEvidenceStore = app.extensions["incidents.evidence_store"]
    return store


@pytest.fixture
def kept_keys(store: DirectoryEvidenceStore) -> Iterator[Callable[[], set[str]]]:
    """The store keys a test added (and removes them afterwards)."""
    before = set(store.keys())
    yield lambda: set(store.keys()) - before
    for key in set(store.keys()) - before:
        store.delete(key)


@pytest.fixture
def report(world: World) -> Report:
    report: Report = ReportFactory(team_id=world.team.id, incident_id=world.incident.id)
    return report


@pytest.fixture
def evidence(store: DirectoryEvidenceStore, report: Report) -> Evidence:
    return stored_evidence(store, report, filename=NAME, description=DESCRIPTION)


def send(
    caller: TokenClient,
    report: Report | str,
    content: bytes,
    filename: str = "photo.png",
    **fields: str,
) -> TestResponse:
    """POST `content` as the `file` part (and `fields` as parts of their own)."""
    values: dict[str, object] = dict(fields)
    values["file"] = FileStorage(io.BytesIO(content), filename=filename)
    boundary, body = encode_multipart(values)  # in memory: see tests/web/test_evidence_pages
    key = report if isinstance(report, str) else report.reference
    return caller.post(
        f"/reports/{key}/evidence",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def test_a_researcher_uploads_then_downloads_the_same_file(
    api_client: ApiClient,
    report: Report,
    db_session: Session,
    kept_keys: Callable[[], set[str]],
) -> None:
    researcher = api_client("researcher")
    content = samples.png(padding=300_000)
    digest = hashlib.sha256(content).hexdigest()

    sent = send(
        researcher,
        report,
        content,
        NAME,
        description=DESCRIPTION,
        captured_at="2017-03-01T09:30:00+03:00",
    )

    assert sent.status_code == 201, sent.get_data(as_text=True)
    document = sent.get_json()
    assert (document["sha256"], document["size_bytes"]) == (digest, len(content))
    assert (document["media_type"], document["report"]) == ("image/png", str(report.id))
    assert document["captured_at"].startswith("2017-03-01T06:30:00")
    assert sorted(document["sealed"]) == ["description", "filename"]
    assert sent.headers["Location"] == f"/api/v1/evidence/{document['id']}"
    assert len(kept_keys()) == 1

    got = researcher.get(f"/evidence/{document['id']}/file")

    assert got.status_code == 200
    assert got.get_data() == content
    assert hashlib.sha256(got.get_data()).hexdigest() == digest
    assert got.content_type == "image/png"
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert NAME in got.headers["Content-Disposition"]
    assert got.headers["Content-Security-Policy"] == ATTACHMENT_CONTENT_SECURITY_POLICY
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.headers["Cache-Control"] == "no-store"
    stored = db_session.get(Evidence, uuid.UUID(document["id"]))
    assert count_events(db_session, AuditAction.EVIDENCE_RECEIVED, stored) == 1
    assert count_events(db_session, AuditAction.EVIDENCE_ACCESSED, stored) == 1
    assert count_events(db_session, AuditAction.SECRET_DECRYPT, stored) == 1


def test_an_upload_is_checked_as_on_the_page(
    api_client: ApiClient, report: Report, kept_keys: Callable[[], set[str]]
) -> None:
    researcher = api_client("researcher")

    page = send(researcher, report, b"<html><script>alert(1)</script></html>", "photo.png")
    renamed = send(researcher, report, samples.pdf(), "photo.png")
    naive = send(researcher, report, samples.png(), captured_at="2017-03-01T09:30:00")
    empty = send(researcher, report, b"")
    unknown = send(researcher, report, samples.png(), colour="red")
    boundary, without_file = encode_multipart({"description": "No file"})
    no_file = researcher.post(
        f"/reports/{report.reference}/evidence",
        data=without_file,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    as_json = researcher.post(f"/reports/{report.reference}/evidence", {"file": "x"})

    assert "not accepted" in field_errors(page)["file"]
    assert field_errors(renamed)["file"].startswith("Not what it says it is")
    assert set(field_errors(naive)) == {"captured_at"}
    assert field_errors(empty) == {"file": "This file is empty: choose a file to upload."}
    assert set(field_errors(unknown)) == {"colour"}
    assert field_errors(no_file) == {"file": "Send the file in a part named `file`, with its name."}
    assert problem(as_json)["status"] == 415
    assert kept_keys() == set()  # nothing refused is kept


@pytest.fixture
def small_limit(app: Flask, monkeypatch: pytest.MonkeyPatch) -> int:
    settings = app.config["INCIDENTS_SETTINGS"]
    monkeypatch.setitem(
        app.config, "INCIDENTS_SETTINGS", dataclasses.replace(settings, evidence_max_bytes=1000)
    )
    return 1000


def test_a_file_over_the_limit_is_a_413_whether_or_not_the_body_is(
    api_client: ApiClient,
    report: Report,
    small_limit: int,
    kept_keys: Callable[[], set[str]],
) -> None:
    researcher = api_client("researcher")

    large_body = send(researcher, report, samples.png(padding=small_limit + FORM_ALLOWANCE))
    large_file = send(researcher, report, samples.png(padding=small_limit))

    for answer in (large_body, large_file):
        assert answer.status_code == 413
        assert problem(answer)["detail"].startswith(
            "The file is larger than 1000 bytes, the most this installation accepts"
        )
        assert set(field_errors(answer)) == {"file"}
    assert kept_keys() == set()


def test_each_role_sees_the_details_it_may(
    api_client: ApiClient, evidence: Evidence, report: Report, db_session: Session
) -> None:
    researcher, auditor, lead = (
        api_client(role) for role in ("researcher", "auditor", "advocacy_lead")
    )
    url = f"/evidence/{evidence.id}"
    before = count_events(db_session, AuditAction.SECRET_DECRYPT, evidence)

    opened = researcher.get(url).get_json()
    listed = researcher.get(f"/evidence?report={report.reference}").get_json()
    audited = auditor.get(url).get_json()

    assert (opened["filename"], opened["description"]) == (NAME, DESCRIPTION)
    assert count_events(db_session, AuditAction.SECRET_DECRYPT, evidence) == before + 1
    assert [item["id"] for item in listed["items"]] == [str(evidence.id)]
    assert sorted(listed["items"][0]["sealed"]) == ["description", "filename"]
    assert audited["sha256"] == evidence.sha256
    assert sorted(audited["withheld"]) == ["description", "filename"]
    assert NAME not in auditor.get("/evidence").get_data(as_text=True)
    assert auditor.get(f"{url}/file").status_code == 403
    for answer in (lead.get(url), lead.get("/evidence"), lead.get(f"{url}/file")):
        assert answer.status_code == 403
    assert count_events(db_session, AuditAction.SECRET_DECRYPT, evidence) == before + 1


def test_only_researchers_with_a_writing_token_upload(
    api_client: ApiClient, report: Report, kept_keys: Callable[[], set[str]]
) -> None:
    large = samples.png(padding=17 * 1024 * 1024)  # over the usual body limit (16 MiB)

    for role in ("advocacy_lead", "auditor"):
        assert send(api_client(role), report, samples.png()).status_code == 403, role
        assert send(api_client(role), report, large).status_code == 403, role
    reader = api_client("researcher", ["cases:read"])
    assert send(reader, report, samples.png()).status_code == 403
    assert kept_keys() == set()


def test_another_teams_reports_and_files_are_not_found(
    api_client: ApiClient, world: World, store: DirectoryEvidenceStore
) -> None:
    researcher = api_client("researcher")
    theirs = ReportFactory(team_id=world.other_team.id)
    their_file = stored_evidence(store, theirs)

    assert send(researcher, theirs, samples.png()).status_code == 404
    assert researcher.get(f"/evidence/{their_file.id}").status_code == 404
    assert researcher.get(f"/evidence/{their_file.id}/file").status_code == 404
    assert researcher.get(f"/evidence/{uuid.uuid4()}/file").status_code == 404
    assert researcher.get("/evidence/not-an-id/file").status_code == 404
    assert researcher.get("/evidence").get_json()["items"] == []
    assert set(field_errors(researcher.get(f"/evidence?report={theirs.reference}"))) == {"report"}
    if their_file.storage_key:
        store.delete(their_file.storage_key)


def test_an_erased_reports_file_is_gone(
    api_client: ApiClient, evidence: Evidence, report: Report, ctx: Context
) -> None:
    researcher = api_client("researcher")
    erase_record(ctx, report.reference, "consent_withdrawn")

    for url in (f"/evidence/{evidence.id}", f"/evidence/{evidence.id}/file"):
        answer = researcher.get(url)
        assert answer.status_code == 410, url
        assert problem(answer)["type"] == "/api/v1/problems/erased"
    assert researcher.get("/evidence").get_json()["items"] == []
