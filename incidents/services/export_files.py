"""The files an export writes — JSON, one CSV, a ZIP of CSVs — as chunks of bytes.

Each writer is a generator that takes what to write in batches and yields the bytes of
each batch as soon as they are made, so an export can be streamed to a browser or
written to a file with no more than one batch in memory. Nothing here reads the
database or knows who is exporting: the caller gives the documents and rows.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from incidents.services.csv_layout import neutralise

Batch = Sequence[Mapping[str, Any]]  # documents written together
Rows = Sequence[Sequence[str]]  # CSV rows written together, their cells neutralised


def json_file(
    header: Mapping[str, Any], key: str, sections: Iterable[tuple[str, Iterable[Batch]]]
) -> Iterator[bytes]:
    """One JSON object: the `header`'s keys, then `key` holding one list per section
    name (the records of each kind)."""
    yield _opening(header, key) + b"{"
    for index, (name, batches) in enumerate(sections):
        yield (", " if index else "").encode() + json.dumps(name).encode() + b": "
        yield from _json_list(batches)
    yield b"}}\n"


def json_list_file(
    header: Mapping[str, Any], key: str, batches: Iterable[Batch]
) -> Iterator[bytes]:
    """One JSON object: the `header`'s keys, then `key` holding one list (summaries)."""
    yield _opening(header, key)
    yield from _json_list(batches)
    yield b"}\n"


def _opening(header: Mapping[str, Any], key: str) -> bytes:
    """The header object left open for one more key."""
    text = json.dumps({**header, key: None}, ensure_ascii=False)
    ending = "null}"
    assert text.endswith(ending)
    return text[: -len(ending)].encode()


def _json_list(batches: Iterable[Batch]) -> Iterator[bytes]:
    first = True
    yield b"["
    for batch in batches:
        parts = []
        for item in batch:
            parts.append(("\n  " if first else ",\n  ") + json.dumps(item, ensure_ascii=False))
            first = False
        if parts:
            yield "".join(parts).encode()
    yield b"]"


def csv_file(columns: Sequence[str], batches: Iterable[Rows]) -> Iterator[bytes]:
    """One CSV, UTF-8: the header row, then the rows batch by batch (RFC 4180 quoting)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def taken() -> bytes:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text.encode("utf-8")

    writer.writerow([neutralise(column) for column in columns])
    yield taken()
    for rows in batches:
        writer.writerows(rows)
        yield taken()


class _Pending:
    """A write-only stream that keeps what is written until it is taken: the ZIP writer
    writes into it, the generator hands on what it holds. It cannot seek, so zipfile
    writes each member's sizes after its data (a data descriptor)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        """Nothing to flush: what is written waits for `take`."""

    def close(self) -> None:
        """Nothing to close: the generator takes what is left."""

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def zip_file(members: Iterable[tuple[str, Iterable[bytes]]]) -> Iterator[bytes]:
    """A ZIP (deflated) of the members, each a name and its content in chunks."""
    pending = _Pending()
    with zipfile.ZipFile(pending, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, chunks in members:
            # The size is not known before the end: ZIP64 sizes, so that a member may
            # pass 4 GiB without the writer having to seek back.
            with archive.open(name, "w", force_zip64=True) as member:
                for chunk in chunks:
                    member.write(chunk)
                    yield pending.take()
            yield pending.take()
    yield pending.take()
