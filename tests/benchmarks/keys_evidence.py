"""Evidence files through intake and download: MiB per second both ways, and peak Python
memory against the file's size (files are encrypted in chunks, so memory stays flat)."""

from __future__ import annotations

import os
import time
import tracemalloc
import uuid
from datetime import date
from typing import Any

from incidents.extensions import db
from incidents.models import Report, Team
from incidents.models.vocabularies import Channel
from incidents.services.evidence import download, intake
from tests.benchmarks.keys_setup import context

MIB = 1 << 20


class _GeneratedFile:
    """A readable stream of `size` bytes that looks like a JPEG to type detection."""

    def __init__(self, size: int) -> None:
        self.remaining = size
        self.block = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + os.urandom(1 << 20)
        self.offset = 0

    def read(self, size: int = -1) -> bytes:
        size = self.remaining if size < 0 else min(size, self.remaining)
        out = bytearray()
        while len(out) < size:
            piece = self.block[self.offset : self.offset + size - len(out)]
            if not piece:
                self.offset = 15  # keep the header only at the start
                continue
            out += piece
            self.offset += len(piece)
        self.remaining -= len(out)
        return bytes(out)


def measure_evidence(app: Any, file_sizes: list[int]) -> dict[str, dict[str, float]]:
    """Evidence intake and download in MiB/s, and peak Python memory, by file size."""
    return {f"{size // MIB} MiB": _measure_file(app, size) for size in file_sizes}


def _measure_file(app: Any, size: int) -> dict[str, float]:
    chunk_bytes = app.config["INCIDENTS_SETTINGS"].evidence_chunk_bytes
    with app.app_context():
        session = db.session
        team = Team(slug=f"bench-ev-{uuid.uuid4().hex[:6]}", name="Benchmark evidence")
        session.add(team)
        session.flush()
        report_ = Report(
            team_id=team.id,
            reference=f"RPT-2099-{uuid.uuid4().hex[:6]}",
            title="benchmark",
            received_on=date.today(),
            channel=Channel.OTHER,
        )
        session.add(report_)
        session.flush()
        ctx = context(app, evidence_max_bytes=size + 1, evidence_chunk_bytes=chunk_bytes)
        figures: dict[str, float] = {}
        for traced in (False, True):
            if traced:
                tracemalloc.start()
            started = time.perf_counter()
            item = intake.add_evidence(ctx, report_, _GeneratedFile(size), "photo.jpg", None)
            session.commit()
            write = time.perf_counter() - started
            started = time.perf_counter()
            _, content = download.open_evidence(ctx, item.id)
            read_bytes = sum(len(chunk) for chunk in content)
            content.close()
            session.commit()
            read = time.perf_counter() - started
            assert read_bytes == size
            if traced:
                figures["peak_mib"] = tracemalloc.get_traced_memory()[1] / MIB
                tracemalloc.stop()
            else:
                figures["intake_mib_per_second"] = size / write / MIB
                figures["download_mib_per_second"] = size / read / MIB
    figures["peak_share_of_file"] = figures["peak_mib"] * MIB / size
    return figures


def print_evidence(figures: dict[str, dict[str, float]]) -> None:
    print("Evidence files (encrypted in 1 MiB chunks)")
    for label, file in figures.items():
        print(
            f"  {label:>8}: intake {file['intake_mib_per_second']:7.1f} MiB/s, download "
            f"{file['download_mib_per_second']:7.1f} MiB/s, peak Python memory "
            f"{file['peak_mib']:6.1f} MiB ({file['peak_share_of_file']:.1%} of the file)"
        )
