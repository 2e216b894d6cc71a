"""The demo's evidence file can be downloaded, as a newcomer would: log in as the demo
researcher with the printed password (no second factor), open the case, download the file."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.http import parse_options_header

from incidents.context import Context
from incidents.services import demo
from incidents.storage.store import DirectoryEvidenceStore
from tests.conftest import csrf_token

CASE = demo.load_case()
[EVIDENCE] = CASE["evidence"]
ORIGINAL = (demo.CASE_FILE.parent / EVIDENCE["file"]).read_bytes()


@pytest.fixture
def seeded(db_session: Session, ctx: Context) -> Iterator[demo.SeedOutcome]:
    store = ctx.store
    assert isinstance(store, DirectoryEvidenceStore)
    stored_before = set(store.keys())
    outcome = demo.seed(ctx)
    db_session.flush()
    yield outcome
    for key in set(store.keys()) - stored_before:  # the store outlives the rolled-back test
        store.delete(key)


def test_the_demo_researcher_downloads_the_demo_evidence(
    client: FlaskClient, seeded: demo.SeedOutcome
) -> None:
    [researcher] = [c for c in seeded.credentials if c.role == "researcher"]
    response = client.post(
        "/login",
        data={
            "email": researcher.email,
            "password": researcher.password,
            "csrf_token": csrf_token(client, "/login"),
        },
    )
    assert response.status_code == 302
    assert "/login/verify" not in response.location  # the demo accounts skip the second factor

    page = client.get("/incidents/INC-2017-0001").get_data(as_text=True)
    digest = hashlib.sha256(ORIGINAL).hexdigest()
    assert digest in page  # SHA-256 shown beside the file
    links = re.findall(r'href="(/evidence/[0-9a-f-]+/download)">([^<]+)</a>', page)
    assert [name for _, name in links] == [EVIDENCE["filename"]]

    download = client.get(links[0][0])
    body = download.get_data()
    download.close()
    assert download.status_code == 200
    assert body == ORIGINAL
    assert download.mimetype == "image/png"
    disposition, options = parse_options_header(download.headers["Content-Disposition"])
    assert (disposition, options["filename"]) == ("attachment", EVIDENCE["filename"])
