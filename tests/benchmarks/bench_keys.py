"""Benchmark of the encryption layer, key rotation, blind-index search and evidence streaming.

Not a test: a script that prints figures and ratios, each against a baseline measured in
the same run (README: "Benchmarks"). Run it from the repository root:

    .venv/bin/python -m tests.benchmarks.bench_keys [--quick]

`--quick` shrinks every size (for a smoke run); the goals are stated against the full
sizes. sqlalchemy-utils is needed for one comparison (`pip install -e '.[bench]'`);
without it that comparison is skipped.

Each section is a function returning its figures as a dict, for other commands to call:
`run(quick)` makes a throw-away installation and returns every section's figures by
name; `measure(app, name, quick)` runs one section on an installation from `make_app`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from incidents.crypto import envelope
from incidents.crypto.keys import load_key_file
from incidents.extensions import db
from incidents.models import DataKey, Person, Team, User
from incidents.models.user import TeamMembership, UserRole
from incidents.models.vocabularies import Role
from incidents.names import name_tokens
from incidents.repositories import records as record_queries
from incidents.services import keys, people, person_matching
from incidents.services.accounts import hash_password
from incidents.vault import FieldVault
from tests.benchmarks import keys_evidence, keys_fields
from tests.benchmarks.keys_setup import Stopwatch, context, goal, make_app, rates, report

MIB = 1 << 20
ROTATION_GOAL = 20_000  # data keys per second on SQLite
SEARCH_GOAL = 1000  # times faster than decrypt-and-scan, at 100k persons


def sizes(quick: bool) -> dict[str, Any]:
    return {
        "data_keys": 10_000 if quick else 100_000,
        "persons": 10_000 if quick else 100_000,
        "evidence": [10 * MIB, 50 * MIB] if quick else [50 * MIB, 500 * MIB],
        "rows": 2_000 if quick else 10_000,  # rows inserted and read against sqlalchemy-utils
    }


# -- field layer ---------------------------------------------------------------------------


def measure_fields(app: Any, quick: bool = False) -> dict[str, Any]:
    return {
        "layer": keys_fields.measure_field_layer(app),
        "sqlalchemy_utils": keys_fields.measure_sqlalchemy_utils(app, sizes(quick)["rows"]),
    }


def print_fields(figures: dict[str, Any]) -> None:
    keys_fields.print_field_layer(figures["layer"])
    keys_fields.print_sqlalchemy_utils(figures["sqlalchemy_utils"], figures["layer"]["4 KB"])


# -- key rotation --------------------------------------------------------------------------


def measure_rotation(app: Any, quick: bool = False) -> dict[str, float]:
    """`keys rotate` on SQLite: data keys re-wrapped per second, committed batch by batch."""
    count = sizes(quick)["data_keys"]
    with app.app_context():
        provider = app.extensions["incidents.keys"]
        master = provider.primary()
        team = uuid.uuid4()
        rows = []
        for _ in range(count):
            record = uuid.uuid4()
            wrapped = envelope.wrap_data_key(
                master, envelope.new_data_key(), "persons", record, team
            )
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "record_table": "persons",
                    "record_id": record,
                    "team_id": team,
                    "master_key_id": master.key_id,
                    "wrapped_key": wrapped,
                }
            )
        db.session.execute(insert(DataKey), rows)
        db.session.commit()
        ctx = context(app)
        _, provider = keys.add_primary_key(ctx)
        db.session.commit()
        ctx = ctx.with_keys(provider)
        with Stopwatch() as rotating:
            done = keys.rewrap_all(ctx, keys.DEFAULT_BATCH, lambda _: db.session.commit())
        first = rows[0]
        in_memory = rates(
            {
                "rewrap": lambda: envelope.wrap_data_key(
                    provider.primary(),
                    envelope.unwrap_data_key(
                        master, first["wrapped_key"], "persons", first["record_id"], team
                    ),
                    "persons",
                    first["record_id"],
                    team,
                )
            }
        )["rewrap"]
    app.extensions["incidents.keys"] = load_key_file(Path(provider.path))
    assert done >= count, "every data key was re-wrapped"  # with those of other sections
    return {
        "data_keys": done,
        "batch": keys.DEFAULT_BATCH,
        "keys_per_second": done / rotating.elapsed.wall,
        "keys_per_cpu_second": done / rotating.elapsed.cpu,
        "in_memory_per_cpu_second": in_memory,
    }


def print_rotation(figures: dict[str, float]) -> None:
    print(f"Key rotation ({figures['data_keys']:,.0f} data keys, SQLite)")
    in_memory = figures["in_memory_per_cpu_second"]
    label = f"re-wrap, committed in batches of {figures['batch']:,.0f}"
    report(label, figures["keys_per_second"], "keys/s", in_memory)
    report("  the same, per CPU second", figures["keys_per_cpu_second"], "keys/s", in_memory)
    report("baseline: unwrap + wrap in memory, per CPU second", in_memory, "keys/s")
    goal(
        f"rotation >= {ROTATION_GOAL:,} data keys/s on SQLite",
        figures["keys_per_second"] >= ROTATION_GOAL,
    )


# -- blind-index search -------------------------------------------------------------------

GIVEN = ["Movsar", "Aslan", "Zelimkhan", "Timur", "Ruslan", "Islam", "Adam", "Magomed"]
FAMILY = ["Demoev", "Primerov", "Testoev", "Fiktivov", "Obraztsov", "Vymyslov", "Shablonov"]


def _person_name(index: int) -> str:
    return f"{GIVEN[index % 8]} {FAMILY[index % 7]}{index}"


def _add_persons(app: Any, count: int) -> tuple[uuid.UUID, float]:
    """A researcher and `count` persons made through the service: (user id, persons/s)."""
    session = db.session
    team = Team(slug="bench-people", name="Benchmark people")
    session.add(team)
    session.flush()
    user = User(
        email="bench@example.org",
        display_name="Bench",
        password_hash=hash_password("benchmark password"),
    )
    user.roles = [UserRole(role=Role.RESEARCHER)]
    user.memberships = [TeamMembership(team_id=team.id)]
    session.add(user)
    session.commit()
    started = time.perf_counter()
    for index in range(count):
        people.create_person(context(app, user), team.id, {"full_name": _person_name(index)})
        if index % 2000 == 1999:
            session.commit()
    session.commit()
    return user.id, count / (time.perf_counter() - started)


def _checkpoint() -> None:
    """Fold the bulk load's write-ahead log into the database, as SQLite's automatic
    checkpoints would over time: reads through a large log are not what users see.

    SQLite refuses a checkpoint inside a transaction, and every transaction of the
    application's engine begins IMMEDIATE; so it runs after the commit, on the driver's
    own connection (in autocommit mode: the engine issues BEGIN itself), where no
    transaction is open.
    """
    db.session.close()
    with db.engine.connect() as connection:
        driver: Any = connection.connection.driver_connection
        assert not driver.in_transaction, "a checkpoint cannot run inside a transaction"
        busy, _, _ = driver.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0, "the checkpoint was blocked"


def measure_search(app: Any, quick: bool = False) -> dict[str, float]:
    """Finding a person by name through the blind index, against decrypting every name."""
    count = sizes(quick)["persons"]
    with app.app_context():
        user_id, creation = _add_persons(app, count)
        _checkpoint()
    # Searches run as in a request: a fresh application context and session.
    with app.app_context():
        session = db.session
        query = _person_name(count // 2).upper()  # a different spelling of the same name
        lookups = []
        for _ in range(5):
            user = session.get(User, user_id)  # loaded as a request would load it
            assert user is not None
            started = time.perf_counter()
            found = person_matching.search_people(context(app, user), query)
            lookups.append(time.perf_counter() - started)
            session.rollback()  # drop the search's audit events between runs
            session.expunge_all()
        assert found and found[0].reference, "the benchmark's target was not found"
        with Stopwatch() as scanning:
            matches = _scan(app, name_tokens(query))
        assert matches == 1
    lookup = sorted(lookups)[len(lookups) // 2]
    return {
        "persons": count,
        "create_per_second": creation,
        "lookup_ms": lookup * 1000,
        "scan_ms": scanning.elapsed.wall * 1000,
        "times_faster": scanning.elapsed.wall / lookup,
    }


def _scan(app: Any, wanted: list[str]) -> int:
    """Decrypt every person's name, batch by batch, and count those that match."""
    session = db.session
    provider = app.extensions["incidents.keys"]
    matches, after = 0, None
    while batch := record_queries.record_batch(session, Person, after, 1000):
        vault = FieldVault(session, provider)  # bounded key cache, as in reindex
        for person in batch:
            plain = vault.unseal(person, "full_name")["full_name"] or ""
            matches += name_tokens(plain) == wanted
        after = batch[-1].id
        session.expunge_all()
    return matches


def print_search(figures: dict[str, float]) -> None:
    print(f"Search by name ({figures['persons']:,.0f} persons, SQLite)")
    report(
        "create a person (seal 1 field, index, audit)", figures["create_per_second"], "persons/s"
    )
    print(
        "  blind-index lookup, confirmed by decryption (median of 5)"
        f"{figures['lookup_ms']:10.2f} ms"
    )
    print(
        f"  decrypt-and-scan of every person                         {figures['scan_ms']:10.2f} ms"
    )
    print(f"  blind index is {figures['times_faster']:,.0f}x faster")
    goal(
        f"blind-index lookup >= {SEARCH_GOAL:,}x faster than decrypt-and-scan at 100k",
        figures["times_faster"] >= SEARCH_GOAL,
    )


def measure_evidence(app: Any, quick: bool = False) -> dict[str, dict[str, float]]:
    return keys_evidence.measure_evidence(app, sizes(quick)["evidence"])


# -- the sections ---------------------------------------------------------------------------

SECTIONS: dict[str, tuple[Callable[[Any, bool], Any], Callable[[Any], None]]] = {
    "fields": (measure_fields, print_fields),
    "rotation": (measure_rotation, print_rotation),
    "search": (measure_search, print_search),
    "evidence": (measure_evidence, keys_evidence.print_evidence),
}


def measure(app: Any, name: str, quick: bool = False) -> Any:
    """The figures of one section (a key of SECTIONS) on an installation from make_app."""
    return SECTIONS[name][0](app, quick)


def run(
    quick: bool = False,
    names: Iterable[str] = SECTIONS,
    on_section: Callable[[str, Any], None] | None = None,
) -> dict[str, Any]:
    """Every named section's figures, by name, measured on one throw-away installation;
    `on_section(name, figures)` is called as each one is done."""
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="incidents-bench-") as folder:
        app = make_app(Path(folder))
        try:
            for name in names:
                results[name] = measure(app, name, quick)
                if on_section is not None:
                    on_section(name, results[name])
        finally:
            with app.app_context():
                db.engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument(
        "--only", choices=list(SECTIONS), action="append", help="run only this section"
    )
    arguments = parser.parse_args()
    run(arguments.quick, arguments.only or SECTIONS, print_section)


def print_section(name: str, figures: Any) -> None:
    SECTIONS[name][1](figures)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
