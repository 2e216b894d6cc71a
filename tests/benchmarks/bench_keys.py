"""Benchmark of the encryption layer, key rotation, blind-index search and evidence streaming.

Not a test: a script that prints figures and ratios, each against a baseline measured in
the same run (README: "Benchmarks"). Run it from the repository root:

    .venv/bin/python -m tests.benchmarks.bench_keys [--quick]

`--quick` shrinks every size (for a smoke run); the goals of the issue are stated
against the full sizes. sqlalchemy-utils is needed for one comparison (`pip install
-e '.[bench]'`); without it that line is skipped.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import secrets
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import insert

from incidents import create_app, migrate
from incidents.context import Context
from incidents.crypto import envelope
from incidents.crypto.keys import generate_master_key, load_key_file, write_key_file
from incidents.extensions import db, evidence_store
from incidents.models import DataKey, Incident, Person, Report, Team, User
from incidents.models.user import TeamMembership, UserRole
from incidents.models.vocabularies import Channel, Role
from incidents.names import name_tokens
from incidents.permissions import Operator
from incidents.repositories import records as record_queries
from incidents.services import keys, people, person_matching
from incidents.services.accounts import hash_password
from incidents.services.evidence import download, intake
from incidents.vault import FieldVault

OPERATOR = Operator("benchmark")
FIELD_VALUE = "Показания свидетеля: задержан у блокпоста, удерживался шесть дней. " * 4  # ~0.5 KB


def rate(operation: Callable[[], Any], seconds: float = 1.0) -> float:
    """Operations per second over at least `seconds`."""
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(200):
            operation()
        count += 200
    return count / elapsed


def report(
    name: str, value: float, unit: str, baseline: float | None = None, note: str = ""
) -> None:
    ratio = f"  ({value / baseline:6.1%} of baseline)" if baseline else ""
    print(f"  {name:<48} {value:>14,.0f} {unit}{ratio}{'  ' + note if note else ''}")


def goal(text: str, met: bool) -> None:
    print(f"  goal: {text}: {'met' if met else 'NOT MET'}")


def make_app(workdir: Path) -> Any:
    key_path = workdir / "master.key"
    key = generate_master_key()
    write_key_file(key_path, [key], key.key_id)
    app = create_app(
        {
            "env": "testing",
            "instance_path": str(workdir),
            "database_url": f"sqlite:///{workdir / 'bench.db'}",
            "secret_key": secrets.token_urlsafe(48),
            "master_key_file": str(key_path),
        }
    )
    with app.app_context():
        migrate.upgrade(db.engine)
    return app


def context(app: Any, principal: User | Operator = OPERATOR, **settings: Any) -> Context:
    """A call context on the session of the current application context; `settings`
    replace single settings."""
    configured = app.config["INCIDENTS_SETTINGS"]
    return Context.build(
        db.session,
        app.extensions["incidents.keys"],
        evidence_store(),
        dataclasses.replace(configured, **settings) if settings else configured,
        principal,
    )


def bench_field_layer(app: Any) -> None:
    for size_label, value in (
        ("~0.5 KB", FIELD_VALUE),
        ("~4 KB, a typical narrative", FIELD_VALUE * 8),
    ):
        print(f"Field encryption (one {size_label} secret field)")
        layer = _bench_field_size(app, value)
    _bench_sqlalchemy_utils(*layer)


def _bench_field_size(app: Any, value: str) -> tuple[float, float]:
    plaintext = value.encode()
    raw = AESGCM(envelope.new_data_key())
    nonce = os.urandom(12)
    sealed_raw = raw.encrypt(nonce, plaintext, b"")
    raw_encrypt = rate(lambda: raw.encrypt(os.urandom(12), plaintext, b""))
    raw_decrypt = rate(lambda: raw.decrypt(nonce, sealed_raw, b""))
    report("raw AESGCM encrypt (the physical limit)", raw_encrypt, "ops/s")
    report("raw AESGCM decrypt", raw_decrypt, "ops/s")
    # A field holds text: even a perfect layer pays for UTF-8 on the way in and out.
    text_encrypt = rate(lambda: raw.encrypt(os.urandom(12), value.encode(), b""))
    text_decrypt = rate(lambda: raw.decrypt(nonce, sealed_raw, b"").decode())
    report("raw AESGCM + UTF-8 encode (limit for text)", text_encrypt, "ops/s")
    report("raw AESGCM + UTF-8 decode (limit for text)", text_decrypt, "ops/s")
    with app.app_context():
        session = db.session
        team = Team(slug=f"bench-{uuid.uuid4().hex[:6]}", name="Benchmark")
        session.add(team)
        session.flush()
        record = Incident(team_id=team.id, reference="INC-2099-0001", title="benchmark")
        vault = FieldVault(session, app.extensions["incidents.keys"])
        vault.seal(record, narrative=value)  # creates and caches the data key
        session.add(record)
        session.flush()
        layer_encrypt = rate(lambda: vault.seal(record, narrative=value))
        layer_decrypt = rate(lambda: vault.unseal(record, "narrative"))
        session.rollback()
    report("field layer seal (AAD, nonce, AESGCM, setattr)", layer_encrypt, "ops/s", raw_encrypt)
    report("field layer unseal (... and UTF-8 decoding)", layer_decrypt, "ops/s", raw_decrypt)
    print(
        f"  field layer vs the text limit: seal {layer_encrypt / text_encrypt:.0%}, "
        f"unseal {layer_decrypt / text_decrypt:.0%}"
    )
    goal(
        "field layer >= 30% of raw AESGCM ops/s",
        min(layer_encrypt / raw_encrypt, layer_decrypt / raw_decrypt) >= 0.30,
    )
    return layer_encrypt, layer_decrypt


def _bench_sqlalchemy_utils(layer_encrypt: float, layer_decrypt: float) -> None:
    value = FIELD_VALUE * 8
    try:
        from sqlalchemy_utils.types.encrypted.encrypted_type import AesGcmEngine
    except ImportError:
        print("  sqlalchemy-utils not installed: comparison skipped (pip install -e '.[bench]')")
        return
    engine = AesGcmEngine()
    engine._update_key(secrets.token_bytes(32))
    sealed = engine.encrypt(value)
    utils_encrypt = rate(lambda: engine.encrypt(value))
    utils_decrypt = rate(lambda: engine.decrypt(sealed))
    print("sqlalchemy-utils StringEncryptedType with AesGcmEngine (~4 KB), what one might pick")
    report("encrypt", utils_encrypt, "ops/s")
    report("decrypt", utils_decrypt, "ops/s")
    print(
        f"  field layer vs sqlalchemy-utils: seal {layer_encrypt / utils_encrypt:.2f}x, "
        f"unseal {layer_decrypt / utils_decrypt:.2f}x (and it binds each value to its place)"
    )


def bench_rotation(app: Any, count: int) -> None:
    print(f"Key rotation ({count:,} data keys, SQLite)")
    with app.app_context():
        provider = app.extensions["incidents.keys"]
        master = provider.primary()
        team = uuid.uuid4()
        rows = []
        for _ in range(count):
            record = uuid.uuid4()
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "record_table": "persons",
                    "record_id": record,
                    "team_id": team,
                    "master_key_id": master.key_id,
                    "wrapped_key": envelope.wrap_data_key(
                        master, envelope.new_data_key(), "persons", record, team
                    ),
                }
            )
        db.session.execute(insert(DataKey), rows)
        db.session.commit()
        ctx = context(app)
        _, provider = keys.add_primary_key(ctx)
        db.session.commit()
        ctx = ctx.with_keys(provider)
        started = time.perf_counter()
        done = keys.rewrap_all(ctx, keys.DEFAULT_BATCH, lambda _: db.session.commit())
        elapsed = time.perf_counter() - started
        unwrap_wrap = rate(
            lambda: envelope.wrap_data_key(
                master,
                envelope.unwrap_data_key(
                    master, rows[0]["wrapped_key"], "persons", rows[0]["record_id"], team
                ),
                "persons",
                rows[0]["record_id"],
                team,
            )
        )
    label = f"re-wrap, committed in batches of {keys.DEFAULT_BATCH:,}"
    report(label, done / elapsed, "keys/s", unwrap_wrap)
    report("baseline: unwrap + wrap in memory only", unwrap_wrap, "keys/s")
    goal("rotation >= 20,000 data keys/s on SQLite", done / elapsed >= 20_000)
    app.extensions["incidents.keys"] = load_key_file(Path(provider.path))


# -- blind-index search -------------------------------------------------------------------

GIVEN = ["Movsar", "Aslan", "Zelimkhan", "Timur", "Ruslan", "Islam", "Adam", "Magomed"]
FAMILY = ["Demoev", "Primerov", "Testoev", "Fiktivov", "Obraztsov", "Vymyslov", "Shablonov"]


def bench_blind_index(app: Any, count: int) -> None:
    print(f"Search by name ({count:,} persons, SQLite)")
    with app.app_context():
        session = db.session
        provider = app.extensions["incidents.keys"]
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
            name = f"{GIVEN[index % 8]} {FAMILY[index % 7]}{index}"
            people.create_person(context(app, user), team.id, {"full_name": name})
            if index % 2000 == 1999:
                session.commit()
        session.commit()
        creation = count / (time.perf_counter() - started)
        report("create a person (seal 1 field, index, audit)", creation, "persons/s")
        user_id = user.id
        session.close()
        # Fold the bulk load's write-ahead log into the database, as SQLite's automatic
        # checkpoints would over time: reads through a large log are not what users see.
        # Outside any transaction (SQLite refuses a checkpoint inside one, and every
        # transaction of the application's engine begins IMMEDIATE): on the driver's
        # connection, which is in autocommit mode.
        with db.engine.connect() as connection:
            driver: Any = connection.connection.driver_connection
            driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    # Searches run as in a request: a fresh application context and session.
    with app.app_context():
        session = db.session
        target = f"{GIVEN[(count // 2) % 8]} {FAMILY[(count // 2) % 7]}{count // 2}"
        query = target.upper()  # a different spelling of the same name
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

        started = time.perf_counter()
        wanted = name_tokens(query)
        matches, after = 0, None
        while batch := record_queries.record_batch(session, Person, after, 1000):
            vault = FieldVault(session, provider)  # bounded key cache, as in reindex
            for person in batch:
                plain = vault.unseal(person, "full_name")["full_name"] or ""
                matches += name_tokens(plain) == wanted
            after = batch[-1].id
            session.expunge_all()
        scan = time.perf_counter() - started
        assert matches == 1
    lookup = sorted(lookups)[len(lookups) // 2]
    print(f"  blind-index lookup, confirmed by decryption (median of 5)  {lookup * 1000:10.2f} ms")
    print(f"  decrypt-and-scan of every person                          {scan * 1000:10.2f} ms")
    print(f"  blind index is {scan / lookup:,.0f}x faster")
    goal("blind-index lookup >= 1,000x faster than decrypt-and-scan at 100k", scan / lookup >= 1000)


# -- evidence streaming ---------------------------------------------------------------------


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


def bench_evidence(app: Any, sizes: list[int]) -> None:
    print("Evidence files (encrypted in 1 MiB chunks)")
    chunk_bytes = app.config["INCIDENTS_SETTINGS"].evidence_chunk_bytes
    for size in sizes:
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
            figures = {}
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
                    figures["peak"] = tracemalloc.get_traced_memory()[1]
                    tracemalloc.stop()
                else:
                    figures["write"], figures["read"] = size / write, size / read
        mib = 1 << 20
        print(
            f"  {size // mib:>5} MiB: intake {figures['write'] / mib:7.1f} MiB/s, download "
            f"{figures['read'] / mib:7.1f} MiB/s, peak Python memory "
            f"{figures['peak'] / mib:6.1f} MiB ({figures['peak'] / size:.1%} of the file)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    arguments = parser.parse_args()
    rotation_keys = persons = 10_000 if arguments.quick else 100_000
    mib = 1 << 20
    evidence_sizes = [10 * mib, 50 * mib] if arguments.quick else [50 * mib, 500 * mib]
    with tempfile.TemporaryDirectory(prefix="incidents-bench-") as folder:
        app = make_app(Path(folder))
        bench_field_layer(app)
        bench_rotation(app, rotation_keys)
        bench_blind_index(app, persons)
        bench_evidence(app, evidence_sizes)
        with app.app_context():
            db.engine.dispose()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
