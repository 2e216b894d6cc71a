"""The house rules, checked: data flows one way (import-linter, configured in
pyproject.toml), only the boundaries commit, rooms stay small, and nothing in the
repository cites a document the repository does not contain."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "incidents"
MAX_LINES = 400
# Where a unit of work ends: the request's, the command's, and the helper both use.
BOUNDARIES = {
    PACKAGE / "web" / "boundary.py",
    PACKAGE / "cli" / "boundary.py",
    PACKAGE / "unit_of_work.py",
}
# Rooms below the boundaries: they flush, they never commit.
BELOW_THE_BOUNDARIES = [
    "services",
    "repositories",
    "records",
    "models",
    "crypto",
    "audit",
    "storage",
    "vault.py",
    "context.py",
    "permissions.py",
    "redaction.py",
]
# A citation of a document that is not in the repository ("SECURITY 21", "DESIGN §2").
FOREIGN_CITATION = re.compile(
    r"\bSECURITY(?:\.md)?[ ,]+(?:check )?\d|\bDESIGN(?:\.md)?\b|\bSTYLE\.md\b"
)


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _commit_calls(path: Path) -> list[int]:
    """Line numbers of every `<something>.commit()` call in the module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "commit"
    ]


def test_the_import_contracts_hold() -> None:
    lint = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    if not Path(lint).exists():
        pytest.fail("import-linter is not installed; install the dev extra")
    result = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


@pytest.mark.parametrize("room", BELOW_THE_BOUNDARIES)
def test_nothing_below_the_boundaries_commits(room: str) -> None:
    target = PACKAGE / room
    paths = [target] if target.is_file() else sorted(target.rglob("*.py"))
    assert paths, f"{room} holds no module"
    found = [f"{p.relative_to(ROOT)}:{line}" for p in paths for line in _commit_calls(p)]
    assert found == [], "services and what is below them flush; the boundary commits"


def test_an_early_commit_at_a_boundary_says_why() -> None:
    """Outside the unit-of-work modules a commit is an exception — a batch of a long job,
    or the log made durable before bytes leave — and its line says which."""
    unexplained = []
    for path in _modules():
        if path in BOUNDARIES:
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        for number in _commit_calls(path):
            if "#" not in lines[number - 1]:
                unexplained.append(f"{path.relative_to(ROOT)}:{number}")
    assert unexplained == []


def test_the_views_never_commit() -> None:
    views = [p for p in (PACKAGE / "web").rglob("*.py") if p not in BOUNDARIES]
    assert [str(p) for p in views if _commit_calls(p)] == []


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_over_the_limit(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{lines} lines: split it by reason to change"


def _repository_texts() -> list[Path]:
    paths = [ROOT / "README.md", ROOT / "pyproject.toml", *sorted((ROOT / ".ci").iterdir())]
    for folder in ("incidents", "tests", "templates", "config", "migrations"):
        paths += [
            p
            for p in sorted((ROOT / folder).rglob("*"))
            if p.is_file() and p.suffix in {".py", ".html", ".toml", ".md", ".css", ".txt", ""}
        ]
    return paths


def test_nothing_cites_a_document_the_repository_lacks() -> None:
    found = []
    for path in _repository_texts():
        if path == Path(__file__):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if FOREIGN_CITATION.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:80]}")
    assert found == [], "cite the README's Security model or Architecture instead"


def test_the_citation_check_can_fail() -> None:
    for cited in ("(SECURITY 21)", "SECURITY.md 10", "see DESIGN §2", "STYLE.md, convention 3"):
        assert FOREIGN_CITATION.search(cited), cited
    for fine in ("CONTENT_SECURITY_POLICY", "security check 21", "Content-Security-Policy"):
        assert not FOREIGN_CITATION.search(fine), fine
