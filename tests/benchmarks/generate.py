"""Generated archives for the benchmarks: an import file (`incidents-records/1`, the
layout `incidents export` writes) of N reports with the records around them.

    .venv/bin/python -m tests.benchmarks.generate --reports 10k --seed 1 -o archive.json

Cases are drawn across four teams (one of them small): an incident with one to four
reports, each from a source (sources are met again), the people harmed with their
acts, perpetrators and consents, official responses, and advocacy — campaigns, actions
with organisations, responses, follow-ups assigned to the team's advocacy lead, links
to reports whose source and people consented. People's names are Cyrillic or Latin,
with other spellings as aliases (tests/benchmarks/corpus.py).

The same seed gives the same bytes: every value, id and date comes from one seeded
generator, and nothing from the clock. Memory stays bounded: each kind streams to a
file of its own as cases are made (a few recent ids are kept per team to link to), and
the files are joined in the registry's order at the end. The users the file names (the
follow-ups' assignees) are not records: `cases.team_users` says who they are.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from incidents.records.kinds import KINDS
from tests.benchmarks import corpus as c
from tests.benchmarks.cases import Archive

FORMAT = "incidents-records/1"
GENERATED_AT = "2025-01-01T00:00:00+00:00"  # fixed: the same seed must give the same bytes


def size(text: str) -> int:
    """A count as the command line writes it: 1000, 10k, 1m."""
    text = text.strip().lower()
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * factor)


class KindFiles:
    """One temporary file per kind, each a JSON list's items, joined at the end."""

    def __init__(self, folder: Path) -> None:
        self.files = {
            k.name: (folder / f"{k.name}.part").open("w", encoding="utf-8") for k in KINDS
        }
        self.counts = dict.fromkeys(self.files, 0)
        self._dumps = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode

    def add(self, kind: str, doc: dict[str, Any]) -> None:
        out = self.files[kind]
        out.write(",\n    " if self.counts[kind] else "\n    ")
        out.write(self._dumps(doc))
        self.counts[kind] += 1

    def join(self, out: IO[str], header: dict[str, Any]) -> None:
        head = json.dumps(header, ensure_ascii=False, indent=2)
        out.write(head[: head.rindex("}")].rstrip() + ',\n  "records": {')
        for index, (kind, part) in enumerate(self.files.items()):
            part.close()
            out.write(f'{"," if index else ""}\n  "{kind}": [')
            with open(part.name, encoding="utf-8") as items:
                shutil.copyfileobj(items, out, 1 << 20)
            out.write("\n  ]" if self.counts[kind] else "]")
        out.write("\n  }\n}\n")


def header() -> dict[str, Any]:
    return {
        "format": FORMAT,
        "profile": "full",
        "generated_at": GENERATED_AT,
        "field_classes": ["advocacy", "public", "restricted", "secret"],
        "teams": [{"slug": slug, "name": name} for slug, name, _s, _c, _r in c.TEAMS],
    }


def generate(
    path: Path, reports: int, seed: int, progress: Callable[[int], None] | None = None
) -> dict[str, int]:
    """Write an archive of `reports` reports to `path`: the records of each kind."""
    with tempfile.TemporaryDirectory(prefix="incidents-generate-", dir=path.parent) as folder:
        files = KindFiles(Path(folder))
        archive = Archive(files.add, seed)
        made = 0
        while made < reports:
            count = min(reports - made, archive.rng.choice((1, 1, 2, 2, 3, 4)))
            archive.case(count)
            made += count
            if progress is not None and (made % 1000 < count or made == reports):
                progress(made)
        with path.open("w", encoding="utf-8") as out:
            files.join(out, header())
        return files.counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--reports", type=size, required=True, help="how many: 1000, 10k, 1m")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("-o", "--output", type=Path, required=True)
    arguments = parser.parse_args(argv)
    started = time.perf_counter()

    def bar(done: int) -> None:
        width = 40 * done // arguments.reports
        print(f"\rgenerating [{'#' * width:<40}] {done:,} reports", end="", file=sys.stderr)

    try:
        counts = generate(arguments.output, arguments.reports, arguments.seed, bar)
    except OSError as error:
        print(f"\ncannot write {arguments.output}: {error.strerror}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - started
    records = sum(counts.values())
    print(
        f"\n{records:,} records in {seconds:.1f} s ({records / seconds:,.0f} records/s)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
