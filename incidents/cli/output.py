"""Progress bars on stderr and files written only once they are whole."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

import click

STDOUT = "-"
PROGRESS_FROM_BYTES = 8 * 1024 * 1024  # smaller files are done before a bar would show


@contextlib.contextmanager
def progress(
    length: int, label: str, *, at_terminal_only: bool = False
) -> Iterator[Callable[[int], None] | None]:
    """A bar on stderr, so stdout stays clean for data; with `at_terminal_only`, none
    unless stderr is a terminal, so that a failure in a script is still one line."""
    if at_terminal_only and not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
        yield bar.update


@contextlib.contextmanager
def byte_progress(length: int, label: str) -> Iterator[Callable[[int], None] | None]:
    """A bar for a large file at a terminal; None otherwise."""
    if length < PROGRESS_FROM_BYTES:
        yield None
        return
    with progress(length, label, at_terminal_only=True) as bar:
        yield bar


def read_text(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise click.ClickException(f"cannot read {path}: {reason}") from None


@contextlib.contextmanager
def new_text_file(output: str) -> Iterator[TextIO]:
    """A text file that did not exist (refused before anything else happens), or stdout
    for '-'; a file left unfinished by an error is removed again."""
    if output == STDOUT:
        yield sys.stdout
        return
    path = Path(output)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise click.ClickException(f"{path} exists; refusing to overwrite it") from None
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            yield handle
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def write_new(output: str, text: str) -> None:
    """Write `text` to the new file `output`, or to stdout for '-'."""
    with new_text_file(output) as handle:
        handle.write(text)


@contextlib.contextmanager
def whole_file(output: Path, mode: int = 0o644) -> Iterator[int]:
    """A descriptor of a hidden partial file that becomes `output` only if the block
    ends without an error; otherwise nothing is left behind."""
    partial = output.with_name(f".{output.name}.partial")
    try:
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        yield descriptor
        partial.replace(output)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise click.ClickException(f"cannot write {output}: {exc.strerror}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
