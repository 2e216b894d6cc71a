"""Benchmark of the encryption layer, key rotation, blind-index search and evidence streaming.

Not a test: a script that prints figures and ratios, each against a baseline measured in
the same run (DESIGN §6). Run it from the repository root:

    .venv/bin/python -m tests.benchmarks.bench_keys [--quick]

`--quick` shrinks every size (for a smoke run); the goals of the issue are stated
against the full sizes. sqlalchemy-utils is needed for one comparison (`pip install
-e '.[bench]'`); without it that line is skipped.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import insert

from incidents import create_app, migrate
from incidents.audit.log import Actor
from incidents.crypto import envelope
from incidents.crypto.keys import generate_master_key, load_key_file, write_key_file
from incidents.crypto.vault import FieldVault
from incidents.extensions import db
from incidents.models import DataKey, Incident, Team
from incidents.services import keys

ACTOR = Actor("benchmark")
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
        _, provider = keys.add_primary_key(db.session, provider, ACTOR)
        db.session.commit()
        started = time.perf_counter()
        done = 0
        while batch := keys.rewrap_batch(db.session, provider, ACTOR, 1000):
            db.session.commit()
            done += batch
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
    report("re-wrap, committed in batches of 1,000", done / elapsed, "keys/s", unwrap_wrap)
    report("baseline: unwrap + wrap in memory only", unwrap_wrap, "keys/s")
    goal("rotation >= 20,000 data keys/s on SQLite", done / elapsed >= 20_000)
    app.extensions["incidents.keys"] = load_key_file(Path(provider.path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    arguments = parser.parse_args()
    rotation_keys = 10_000 if arguments.quick else 100_000
    with tempfile.TemporaryDirectory(prefix="incidents-bench-") as folder:
        app = make_app(Path(folder))
        bench_field_layer(app)
        bench_rotation(app, rotation_keys)
        with app.app_context():
            db.engine.dispose()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
