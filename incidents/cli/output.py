"""Progress bars on stderr and files written only once they are whole."""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, TextIO

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


# Checkpoints and proofs are kilobytes; a larger file is not one, and is not read whole.
MAX_TEXT_FILE_CHARACTERS = 4_000_000


def read_text(path: Path | None) -> str | None:
    """A UTF-8 file exactly as written (line endings untouched: they are signed too)."""
    if path is None:
        return None
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            text = handle.read(MAX_TEXT_FILE_CHARACTERS + 1)
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise click.ClickException(f"cannot read {path}: {reason}") from None
    if len(text) > MAX_TEXT_FILE_CHARACTERS:
        raise click.ClickException(
            f"cannot read {path}: larger than {MAX_TEXT_FILE_CHARACTERS} characters"
        )
    return text


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
        # The caller has closed the descriptor: sync through a new one, so that a power
        # cut after the rename cannot leave the name pointing at a file not yet on disk.
        _sync(partial)
        partial.replace(output)
        _sync(output.parent)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise click.ClickException(f"cannot write {output}: {exc.strerror}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _sync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def durable_new_file(output: Path, mode: int = 0o600) -> Iterator[BinaryIO]:
    """A binary file that appears as `output` only when whole and on disk.

    It is written under a hidden name of its own (two writers never share one), synced,
    then linked into place, which fails rather than replaces if `output` appeared
    meanwhile; a writer killed half-way leaves only its hidden `.partial` file."""
    if output.exists():
        raise click.ClickException(f"{output} exists; refusing to overwrite it")
    partial = output.with_name(f".{output.name}.{secrets.token_hex(4)}.partial")
    try:
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(descriptor, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.link(partial, output)
        _sync_folder(output.parent)
    except FileExistsError:
        raise click.ClickException(f"{output} exists; refusing to overwrite it") from None
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror}") from None
    finally:
        partial.unlink(missing_ok=True)


def _sync_folder(folder: Path) -> None:
    """Make the new name durable (a no-op where folders cannot be opened)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
