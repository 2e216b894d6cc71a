r"""The screenshots of the Researcher's guide (README and the Help page), of the Advocacy
lead's guide (README) and of README's JSON API (a token, an import checked), taken by the
browser tests while they do what the guides describe.

The committed pictures are replaced only when asked:

    INCIDENTS_GUIDE_SCREENSHOTS=1 .venv/bin/pytest -n 0 tests/browser/test_researcher_guide.py
    INCIDENTS_GUIDE_SCREENSHOTS=1 .venv/bin/pytest -n 0 tests/browser/test_advocacy_guide.py
    INCIDENTS_GUIDE_SCREENSHOTS=1 .venv/bin/pytest -n 0 \
        tests/browser/test_import_export_in_chromium.py

An ordinary run takes every shot too, into the test's temporary folder, so a shot that no
longer fits its page (a section renamed, a button gone) fails the run, not the next
regeneration; the committed files stay as they are.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import incidents.web

GUIDE_FOLDER = Path(incidents.web.__file__).parent / "static" / "guide"
REGENERATE = os.environ.get("INCIDENTS_GUIDE_SCREENSHOTS") == "1"
VIEWPORT = {"width": 1200, "height": 800}
# Every shot of the guide, in the guide's order; the Help page and README show all of them.
SHOTS = (
    "reports-list",
    "consent",
    "log-report",
    "report-grade",
    "corroboration",
    "person-search",
    "triage",
    "edit-conflict",
)
# Every shot of the Advocacy lead's guide, in its order; the README shows all of them.
ADVOCACY_SHOTS = (
    "advocacy-actions",
    "link-refused",
    "action-page",
    "case-summary",
    "dashboard",
)
# The shots of README's part on the JSON API (its tokens, then importing), in its order.
API_SHOTS = (
    "api-token-shown",
    "import-dry-run",
)


class Camera:
    """Takes the guide's shots into the committed folder (when regenerating) or elsewhere."""

    def __init__(self, scratch: Path) -> None:
        self.folder = GUIDE_FOLDER if REGENERATE else scratch
        self.folder.mkdir(parents=True, exist_ok=True)

    def shoot(
        self, page: Any, name: str, section: Any = None, max_height: int = 0, margin: int = 16
    ) -> Path:
        """The first screen of `page`, or `section` (a locator) and `margin` pixels around
        it, at most `max_height` (one screen unless said) tall. The demo banner is left
        out: a real account has none."""
        assert name in SHOTS + ADVOCACY_SHOTS + API_SHOTS, f"{name} is not a shot of a guide"
        page.evaluate("document.querySelectorAll('.banner').forEach(b => b.remove())")
        target = self.folder / f"{name}.png"
        if section is None:
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(target))
        else:
            # Where the section is on the whole page, which the clip is relative to.
            top, height = section.evaluate(
                "el => { const r = el.getBoundingClientRect();"
                " return [r.top + window.scrollY, r.height]; }"
            )
            page.screenshot(
                path=str(target),
                full_page=True,
                clip={
                    "x": 0,
                    "y": max(top - margin, 0),
                    "width": VIEWPORT["width"],
                    "height": min(height + 2 * margin, max_height or VIEWPORT["height"]),
                },
            )
        assert target.stat().st_size > 1000, f"{name}: an empty picture"
        return target
