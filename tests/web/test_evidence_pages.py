"""Evidence through the pages (security checks 2, 12, 13, 14, 17, 28): upload with CSRF, the list
on the incident page per role, download as an attachment, limits and refusals."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage
from werkzeug.http import parse_options_header
from werkzeug.test import TestResponse, encode_multipart

from incidents.audit.actions import AuditAction
from incidents.context import Context
from incidents.models import Evidence, Report, User
from incidents.services.erasure import erase_record
from incidents.services.evidence.download import EvidenceIntegrityError
from incidents.storage.store import DirectoryEvidenceStore
from incidents.web.evidence.downloads import attachment_disposition
from incidents.web.evidence.uploads import FORM_ALLOWANCE
from tests import samples
from tests.conftest import csrf_token
from tests.factories import EvidenceFactory, ReportFactory, stored_evidence
from tests.helpers import count_events
from tests.web.conftest import World

CONTENT_CANARY = b"CANARY-evidence-body-4W7"
NAME_CANARY = "CANARY-evidence-name-8P3.png"


@pytest.fixture
def store(app: Flask) -> DirectoryEvidenceStore:
    store: DirectoryEvidenceStore = app.extensions["incidents.evidence_store"]
    return store


@pytest.fixture
def report(world: World) -> Report:
    report: Report = ReportFactory(team_id=world.team.id, incident_id=world.incident.id)
    return report


@pytest.fixture
def evidence(store: DirectoryEvidenceStore, report: Report) -> Iterator[Evidence]:
    content = samples.png(padding=9000) + CONTENT_CANARY
    evidence = stored_evidence(store, report, content=content, filename=NAME_CANARY)
    yield evidence
    if evidence.storage_key:  # the app's store outlives the rolled-back test
        store.delete(evidence.storage_key)


@pytest.fixture
def incident_url(world: World) -> str:
    return f"/incidents/{world.incident.reference}"


def upload(
    client: FlaskClient,
    report: Report,
    content: bytes,
    filename: str = "photo.png",
    description: str = "",
    *,
    csrf: bool = True,
    page: str = "/incidents",
    content_type: str | None = None,
) -> TestResponse:
    """POST the upload form; the file part declares `content_type`, else the type a
    browser takes from the file name."""
    values: dict[str, object] = {"description": description}
    if csrf:
        values["csrf_token"] = csrf_token(client, page)
    values["file"] = FileStorage(io.BytesIO(content), filename=filename, content_type=content_type)
    # Encoded in memory: the test client spools bodies over 500 KB to a temporary file
    # that it never closes, which the suite's warnings-as-errors would report.
    boundary, body = encode_multipart(values)
    return client.post(
        f"/reports/{report.reference}/evidence",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def count(db_session: Session, action: AuditAction | None = None) -> int:
    """Evidence rows, or audit events of `action`."""
    if action is None:
        return db_session.scalar(select(func.count()).select_from(Evidence)) or 0
    return count_events(db_session, action)


@pytest.fixture
def kept_keys(store: DirectoryEvidenceStore) -> Iterator[Callable[[], set[str]]]:
    """The store keys a test added (and removes them afterwards)."""
    before = set(store.keys())
    yield lambda: set(store.keys()) - before
    for key in set(store.keys()) - before:
        store.delete(key)


# -- the researcher's round trip --------------------------------------------------------


def test_the_app_keeps_evidence_in_a_private_folder_of_the_instance(
    app: Flask, store: DirectoryEvidenceStore
) -> None:
    assert store.root == Path(app.instance_path) / "evidence"
    assert stat.S_IMODE(store.root.stat().st_mode) == 0o700


def test_a_researcher_uploads_then_downloads(
    client: FlaskClient,
    world: World,
    report: Report,
    as_role: Callable[[str], User | None],
    db_session: Session,
    incident_url: str,
    kept_keys: Callable[[], set[str]],
) -> None:
    as_role("researcher")
    content = samples.png(padding=3 * 1024 * 1024) + CONTENT_CANARY  # several chunks
    response = upload(
        client, report, content, "фото блокпоста.png", "At the checkpoint", page=incident_url
    )
    assert response.status_code == 302
    assert response.location.endswith(f"{incident_url}#evidence-{report.reference}")
    assert len(kept_keys()) == 1

    page = client.get(incident_url).get_data(as_text=True)
    digest = hashlib.sha256(content).hexdigest()
    assert f"SHA-256 {digest}" in page  # the flash message
    assert "фото блокпоста.png" in page
    assert page.count(digest) == 2  # and the list
    assert "image/png" in page

    row = db_session.scalars(select(Evidence).where(Evidence.report_id == report.id)).one()
    before = count(db_session, AuditAction.EVIDENCE_ACCESSED)
    response = client.get(f"/evidence/{row.id}/download")
    body = response.get_data()
    response.close()
    assert response.status_code == 200
    assert body == content
    assert response.mimetype == "image/png"
    assert response.content_length == len(content)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    disposition, options = parse_options_header(response.headers["Content-Disposition"])
    assert disposition == "attachment"
    assert options["filename"] == "фото блокпоста.png"
    assert count(db_session, AuditAction.EVIDENCE_ACCESSED) == before + 1


def test_a_text_file_is_sent_as_utf8_text(
    client: FlaskClient,
    report: Report,
    as_role: Callable[[str], User | None],
    db_session: Session,
    kept_keys: Callable[[], set[str]],
) -> None:
    as_role("researcher")
    content = samples.ACCEPTED["text/plain"]
    assert upload(client, report, content, "statement.txt").status_code == 302
    row = db_session.scalars(select(Evidence).where(Evidence.report_id == report.id)).one()
    response = client.get(f"/evidence/{row.id}/download")
    assert response.get_data() == content
    response.close()
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"


# -- refusals ---------------------------------------------------------------------------


def test_an_upload_without_a_csrf_token_is_refused(
    client: FlaskClient,
    report: Report,
    as_role: Callable[[str], User | None],
    db_session: Session,
    kept_keys: Callable[[], set[str]],
) -> None:
    as_role("researcher")
    before = count(db_session)
    assert upload(client, report, samples.png(), csrf=False).status_code == 400
    assert count(db_session) == before
    assert kept_keys() == set()


def test_a_refused_type_shows_the_page_again_and_keeps_the_description(
    client: FlaskClient,
    report: Report,
    as_role: Callable[[str], User | None],
    db_session: Session,
    kept_keys: Callable[[], set[str]],
) -> None:
    as_role("researcher")
    content, _ = samples.REJECTED["ELF program"]
    response = upload(client, report, content, "tool", "Sent by a partner — keep this text")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Programs (application/x-executable) are not accepted as evidence." in page
    assert "Sent by a partner — keep this text</textarea>" in page
    assert f'id="evidence-error-{report.reference}"' in page
    assert count(db_session) == 0
    assert kept_keys() == set()


def test_a_web_page_named_png_is_refused_at_the_top_of_the_page_and_beside_the_field(
    client: FlaskClient,
    report: Report,
    as_role: Callable[[str], User | None],
    db_session: Session,
    kept_keys: Callable[[], set[str]],
) -> None:
    as_role("researcher")
    response = upload(client, report, samples.HTML_PAGE, "photo.png", "Keep this description")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    message = "This file is an HTML page (text/html)."
    # First: an alert at the top of the page, before the incident's own content, that
    # names the problem and links to the form's file field.
    summary = page.index('class="error-summary"')
    assert summary < page.index('class="page-head"')
    assert page.index(message) > summary
    assert f'<a href="#evidence-file-{report.reference}">File: {message}' in page
    assert f"The file was not added to {report.reference}" in page
    # Then again beside the field, which it describes, in a form that is open.
    field = page.index(f'<label class="field__label" for="evidence-file-{report.reference}">')
    beside = page.index(f'id="evidence-error-{report.reference}"', field)
    assert page.index(message, beside) < page.index(
        f'id="evidence-file-{report.reference}"', beside
    )
    assert f'aria-invalid="true" aria-describedby="evidence-error-{report.reference}"' in page
    assert "Its name ends in .png" in page
    assert "Keep this description</textarea>" in page
    assert count(db_session) == 0
    assert kept_keys() == set()


@pytest.mark.parametrize(
    ("content", "filename", "content_type", "message"),
    [
        (samples.SVG_IMAGE, "logo.svg", None, "an SVG image (image/svg+xml)"),
        (samples.POLYGLOTS["GIF with a script"], "p.gif", None, "two things at once"),
        (samples.jpeg(), "photo.png", None, "its content is a JPEG image (image/jpeg)"),
        (samples.png(), "photo", "application/pdf", "your browser sent it as a PDF"),
    ],
    ids=["svg", "polyglot", "misnamed jpeg", "declared as pdf"],
)
def test_what_the_content_says_decides(
    content: bytes,
    filename: str,
    content_type: str | None,
    message: str,
    client: FlaskClient,
    report: Report,
    as_role: Callable[[str], User | None],
    db_session: Session,
    kept_keys: Callable[[], set[str]],
) -> None:
    as_role("researcher")
    response = upload(client, report, content, filename, content_type=content_type)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(db_session) == 0
    assert kept_keys() == set()


def test_no_file_chosen(
    client: FlaskClient, report: Report, as_role: Callable[[str], User | None]
) -> None:
    as_role("researcher")
    response = client.post(
        f"/reports/{report.reference}/evidence",
        data={"csrf_token": csrf_token(client, "/incidents"), "description": "x"},
    )
    assert response.status_code == 422
    assert "This file is empty: choose a file to upload." in response.get_data(as_text=True)


@pytest.fixture
def small_limit(app: Flask, monkeypatch: pytest.MonkeyPatch) -> int:
    settings = app.config["INCIDENTS_SETTINGS"]
    monkeypatch.setitem(
        app.config, "INCIDENTS_SETTINGS", dataclasses.replace(settings, evidence_max_bytes=1000)
    )
    return 1000


def test_a_body_over_the_upload_limit_gets_a_clear_413_page(
    client: FlaskClient,
    report: Report,
    as_role: Callable[[str], User | None],
    small_limit: int,
    kept_keys: Callable[[], set[str]],
) -> None:
    as_role("researcher")
    response = upload(client, report, samples.png(padding=small_limit + FORM_ALLOWANCE))
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "Evidence files may be up to 1000 bytes" in page
    assert kept_keys() == set()


def test_a_file_over_the_limit_in_a_small_body_gets_413_too(
    client: FlaskClient,
    report: Report,
    as_role: Callable[[str], User | None],
    small_limit: int,
    kept_keys: Callable[[], set[str]],
) -> None:
    as_role("researcher")
    response = upload(client, report, samples.png(padding=small_limit))
    assert response.status_code == 413
    assert "larger than 1000 bytes" in response.get_data(as_text=True)
    assert kept_keys() == set()


def test_only_users_who_may_add_evidence_may_send_a_large_body(
    client: FlaskClient, report: Report, as_role: Callable[[str], User | None]
) -> None:
    as_role("auditor")
    large = samples.png(padding=17 * 1024 * 1024)  # over max_content_length (16 MiB)
    assert upload(client, report, large).status_code == 413
    assert upload(client, report, samples.png()).status_code == 403


# -- who sees and gets what -------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "upload_status", "download_status"),
    [
        ("advocacy_lead", 403, 403),
        ("auditor", 403, 403),
        ("admin", 404, 404),
        ("anonymous", 302, 302),
    ],
)
def test_other_roles_neither_upload_nor_download(
    role: str,
    upload_status: int,
    download_status: int,
    client: FlaskClient,
    report: Report,
    evidence: Evidence,
    as_role: Callable[[str], User | None],
    db_session: Session,
    kept_keys: Callable[[], set[str]],
) -> None:
    as_role(role)
    page = "/login" if role == "anonymous" else "/incidents"
    assert upload(client, report, samples.png(), page=page).status_code == upload_status
    response = client.get(f"/evidence/{evidence.id}/download")
    assert response.status_code == download_status
    assert CONTENT_CANARY not in response.get_data()
    response.close()
    assert kept_keys() == set()
    assert count(db_session, AuditAction.EVIDENCE_ACCESSED) == 0


def test_another_teams_evidence_and_reports_are_not_found(
    client: FlaskClient,
    world: World,
    store: DirectoryEvidenceStore,
    as_role: Callable[[str], User | None],
) -> None:
    other_report = ReportFactory(team_id=world.other_team.id)
    other = stored_evidence(store, other_report, filename=NAME_CANARY)
    try:
        as_role("researcher")
        assert upload(client, other_report, samples.png()).status_code == 404
        response = client.get(f"/evidence/{other.id}/download")
        assert response.status_code == 404
        response.close()
        assert client.get("/evidence/not-a-uuid/download").status_code == 404
        assert client.post("/reports/../../etc/evidence").status_code == 404
    finally:
        assert other.storage_key is not None
        store.delete(other.storage_key)


def test_the_incident_page_lists_evidence_by_role(
    client: FlaskClient,
    world: World,
    report: Report,
    evidence: Evidence,
    as_role: Callable[[str], User | None],
    db_session: Session,
    incident_url: str,
) -> None:
    as_role("researcher")
    before = count(db_session, AuditAction.SECRET_DECRYPT)
    page = client.get(incident_url).get_data(as_text=True)
    assert NAME_CANARY in page
    assert f"/evidence/{evidence.id}/download" in page
    assert evidence.sha256 in page
    assert f'action="/reports/{report.reference}/evidence"' in page
    assert 'enctype="multipart/form-data"' in page
    # One decryption event for the incident and one for the file name.
    assert count(db_session, AuditAction.SECRET_DECRYPT) == before + 2
    client.post("/logout", data={"csrf_token": csrf_token(client, "/incidents")})

    as_role("auditor")
    before = count(db_session, AuditAction.SECRET_DECRYPT)
    page = client.get(incident_url).get_data(as_text=True)
    assert evidence.sha256 in page  # provenance: restricted
    assert NAME_CANARY not in page
    assert "/download" not in page and '/evidence"' not in page
    assert count(db_session, AuditAction.SECRET_DECRYPT) == before
    client.post("/logout", data={"csrf_token": csrf_token(client, "/incidents")})

    as_role("advocacy_lead")
    page = client.get(incident_url).get_data(as_text=True)
    assert evidence.sha256 not in page and NAME_CANARY not in page
    assert "Evidence files" not in page


@pytest.mark.parametrize(
    ("content", "filename", "content_type"),
    [
        (samples.jpeg(), "photo.jpg", "image/jpeg"),
        (samples.pdf(), "statement.pdf", "application/pdf"),
        (samples.ACCEPTED["text/plain"], "statement.txt", "text/plain; charset=utf-8"),
    ],
)
def test_a_download_is_an_attachment_that_runs_nothing(
    content: bytes,
    filename: str,
    content_type: str,
    client: FlaskClient,
    report: Report,
    as_role: Callable[[str], User | None],
    db_session: Session,
    kept_keys: Callable[[], set[str]],
) -> None:
    as_role("researcher")
    assert upload(client, report, content, filename).status_code == 302
    row = db_session.scalars(select(Evidence).where(Evidence.report_id == report.id)).one()
    response = client.get(f"/evidence/{row.id}/download")
    assert response.get_data() == content
    response.close()
    assert response.headers["Content-Type"] == content_type
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert parse_options_header(response.headers["Content-Disposition"])[0] == "attachment"
    policy = response.headers["Content-Security-Policy"]
    assert "sandbox" in policy and "default-src 'none'" in policy
    page = client.get(f"/incidents/{report.incident.reference}")
    assert "sandbox" not in page.headers["Content-Security-Policy"]  # pages keep theirs


@pytest.mark.parametrize("recorded", ["text/html", "image/svg+xml"])
def test_a_row_that_says_html_or_svg_is_still_sent_as_bytes(
    recorded: str,
    client: FlaskClient,
    evidence: Evidence,
    as_role: Callable[[str], User | None],
    db_session: Session,
) -> None:
    # No upload can record these types; a row changed in the database is sent opaque.
    db_session.execute(
        update(Evidence).where(Evidence.id == evidence.id).values(media_type=recorded)
    )
    as_role("researcher")
    response = client.get(f"/evidence/{evidence.id}/download")
    response.get_data()
    response.close()
    assert response.mimetype == "application/octet-stream"
    assert parse_options_header(response.headers["Content-Disposition"])[0] == "attachment"


def test_a_changed_hash_stops_the_download_before_its_end(
    client: FlaskClient,
    evidence: Evidence,
    as_role: Callable[[str], User | None],
    db_session: Session,
) -> None:
    db_session.execute(update(Evidence).where(Evidence.id == evidence.id).values(sha256="cd" * 32))
    as_role("researcher")
    response = client.get(f"/evidence/{evidence.id}/download")
    assert response.status_code == 200  # the headers went before the end could be checked
    with pytest.raises(EvidenceIntegrityError):
        response.get_data()
    response.close()


def test_an_erased_reports_evidence_is_gone(
    client: FlaskClient,
    world: World,
    report: Report,
    evidence: Evidence,
    store: DirectoryEvidenceStore,
    as_role: Callable[[str], User | None],
    db_session: Session,
    ctx: Context,
) -> None:
    key = evidence.storage_key
    assert key is not None
    erase_record(dataclasses.replace(ctx, store=store), report.reference, "consent_withdrawn")
    db_session.commit()
    assert not store.exists(key)
    as_role("researcher")
    response = client.get(f"/evidence/{evidence.id}/download")
    assert response.status_code == 410
    assert "erased" in response.get_data(as_text=True)
    page = client.get(f"/incidents/{world.incident.reference}").get_data(as_text=True)
    assert "Erased with its report" in page
    assert f"/evidence/{evidence.id}/download" not in page
    assert evidence.sha256 in page  # provenance stays


def test_a_row_without_a_stored_file_is_listed_without_a_link(
    client: FlaskClient,
    world: World,
    report: Report,
    as_role: Callable[[str], User | None],
) -> None:
    metadata_only = EvidenceFactory(team_id=world.team.id, report_id=report.id)
    as_role("researcher")
    page = client.get(f"/incidents/{world.incident.reference}").get_data(as_text=True)
    assert "IMG_2017-03-01.jpg" in page and "no stored file" in page
    assert f"/evidence/{metadata_only.id}/download" not in page


def test_a_missing_stored_file_is_a_clear_error(
    client: FlaskClient,
    evidence: Evidence,
    store: DirectoryEvidenceStore,
    as_role: Callable[[str], User | None],
) -> None:
    assert evidence.storage_key is not None
    store.delete(evidence.storage_key)
    as_role("researcher")
    response = client.get(f"/evidence/{evidence.id}/download")
    assert response.status_code == 500
    assert "missing or damaged" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "filename",
    [
        'evil".png\r\nSet-Cookie: session=stolen',
        "фото; свидетель.jpg",
        "../../etc/passwd",
        "report\u202egnp.exe",
        "plain.png",
    ],
)
def test_the_content_disposition_is_safe_and_exact(filename: str) -> None:
    header = attachment_disposition(filename)
    assert "\r" not in header and "\n" not in header
    assert header.isascii()
    disposition, options = parse_options_header(header)
    assert disposition == "attachment"
    assert options["filename"] == filename  # filename* carries the exact name
    fallback = header.split("filename=", 1)[1].split(";", 1)[0]
    assert "/" not in fallback and "\\" not in fallback


def test_a_report_not_yet_linked_to_an_incident_takes_files_on_its_own_page(
    client: FlaskClient,
    world: World,
    as_role: Callable[[str], User | None],
    kept_keys: Callable[[], set[str]],
) -> None:
    unlinked = ReportFactory(team_id=world.team.id)  # logged, not triaged yet
    page_url = f"/reports/{unlinked.reference}"
    as_role("researcher")
    assert f"/reports/{unlinked.reference}/evidence" in client.get(page_url).text
    refused = upload(
        client,
        unlinked,
        b"<html><script>x</script></html>",
        "photo.png",
        "Typed note",
        page=page_url,
    )
    assert refused.status_code == 422  # shown again on the report's page, typing kept
    assert 'id="error-summary"' in refused.text and "Typed note" in refused.text
    content = samples.png()
    done = upload(client, unlinked, content, "roadblock.png", page=page_url)
    assert done.status_code == 302
    assert done.location.endswith(f"{page_url}#evidence-{unlinked.reference}")
    shown = client.get(page_url).text
    assert "roadblock.png" in shown and hashlib.sha256(content).hexdigest() in shown
    assert len(kept_keys()) == 1
