"""The Help pages show the Researcher's and the Advocacy lead's guides with every screenshot
the browser tests take; the README's two guides show the same pictures, and its part on
the JSON API the token's and the import's; the committed pictures stay small."""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from incidents.models import User
from tests.browser.guide_shots import ADVOCACY_SHOTS, API_SHOTS, GUIDE_FOLDER, SHOTS, VIEWPORT
from tests.web.conftest import ROLES

LOGGED_IN = [role for role in ROLES if role != "anonymous"]
README = Path(__file__).parents[2] / "README.md"
IMAGE = re.compile(r'<img src="([^"]+)" alt="([^"]*)"')
MAX_GUIDE_BYTES = 1_500_000


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


@pytest.mark.parametrize("role", LOGGED_IN)
def test_every_logged_in_user_reads_the_guide_with_its_pictures(
    client: FlaskClient, as_role: Callable[[str], User | None], role: str
) -> None:
    as_role(role)
    response = client.get("/help")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<a class="account__help" href="/help" aria-current="page">Help</a>' in page
    images = IMAGE.findall(page)
    assert [src for src, _ in images] == [f"/static/guide/{name}.png" for name in SHOTS]
    assert all(len(alt) > 40 for _, alt in images), "each picture says what it shows"
    # Each one's size is given, so that the page does not jump while they load.
    assert page.count(f'width="{VIEWPORT["width"]}" height="') == len(SHOTS)
    for src, _ in images:
        picture = client.get(src)
        assert picture.status_code == 200 and picture.mimetype == "image/png", src
        picture.close()


@pytest.mark.parametrize("role", LOGGED_IN)
def test_every_logged_in_user_reads_the_advocacy_guide_with_its_pictures(
    client: FlaskClient, as_role: Callable[[str], User | None], role: str
) -> None:
    as_role(role)
    assert 'href="/help/advocacy"' in client.get("/help").get_data(as_text=True)
    response = client.get("/help/advocacy")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'href="/help" aria-current="page">Help</a>' in page
    images = IMAGE.findall(page)
    assert [src for src, _ in images] == [f"/static/guide/{name}.png" for name in ADVOCACY_SHOTS]
    assert all(len(alt) > 40 for _, alt in images), "each picture says what it shows"
    assert page.count(f'width="{VIEWPORT["width"]}" height="') == len(ADVOCACY_SHOTS)


def test_the_help_link_is_on_every_page_of_a_logged_in_user(
    client: FlaskClient, as_role: Callable[[str], User | None]
) -> None:
    as_role("researcher")
    assert 'class="account__help" href="/help">Help</a>' in client.get("/account").get_data(
        as_text=True
    )


def test_the_guide_is_for_logged_in_users_only(client: FlaskClient) -> None:
    response = client.get("/help")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert "/help" not in client.get("/login").get_data(as_text=True)


@pytest.mark.parametrize(
    ("heading", "shots", "test", "route", "then"),
    [
        (
            "## Researcher's guide",
            SHOTS,
            "test_researcher_guide.py",
            "/help",
            "## Advocacy lead's guide",
        ),
        (
            "## Advocacy lead's guide",
            ADVOCACY_SHOTS,
            "test_advocacy_guide.py",
            "/dashboard",
            "## The JSON API",
        ),
        (
            "## The JSON API",
            API_SHOTS,
            "test_import_export_in_chromium.py",
            None,  # no pages of its own to list
            "## Configuration",
        ),
    ],
)
def test_the_readme_guide_shows_every_committed_picture(
    heading: str, shots: tuple[str, ...], test: str, route: str | None, then: str
) -> None:
    readme = README.read_text(encoding="utf-8")
    guide = readme[readme.index(f"\n{heading}\n") :]
    guide = guide[: guide.index("\n## ", 1)]
    shown = re.findall(r"!\[[^\]]+\]\((incidents/web/static/guide/[^)]+\.png)\)", guide)
    assert shown == [f"incidents/web/static/guide/{name}.png" for name in shots]
    assert f"INCIDENTS_GUIDE_SCREENSHOTS=1 .venv/bin/pytest -n 0 tests/browser/{test}" in guide
    assert route is None or f"\n| `{route}` " in guide, f"{route} in the Pages table"
    assert readme[readme.index(guide) + len(guide) :].startswith(f"\n{then}\n"), "the order"


def test_the_committed_pictures_are_the_guide_s_and_small() -> None:
    committed = sorted(p.stem for p in GUIDE_FOLDER.glob("*.png"))
    every = SHOTS + ADVOCACY_SHOTS + API_SHOTS
    assert committed == sorted(every), "a picture without a place in a guide, or missing"
    for name in every:
        width, height = _png_size(GUIDE_FOLDER / f"{name}.png")
        assert width == VIEWPORT["width"] and 200 <= height <= 2 * VIEWPORT["height"], name
    total = sum(p.stat().st_size for p in GUIDE_FOLDER.glob("*.png"))
    assert total < MAX_GUIDE_BYTES, f"{total} bytes: keep the guide's pictures small"
