"""The field layer's own cost: sealing and opening one secret field through the vault,
against raw AES-GCM and against AES-GCM plus the UTF-8 step every text field needs (the
limit for text), and against sqlalchemy-utils' StringEncryptedType with its AES-GCM
engine, what one might pick instead: in memory, and inserting and reading rows.

Short values are where the layer's own overhead shows: at ~0.5 KB it should reach half
the limit for text. The rows compared hold one secret text each, in tables made for the
comparison (not the application's): ours also writes each record's wrapped data key.
"""

from __future__ import annotations

import functools
import os
import secrets
import uuid
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import String, Uuid, delete, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from incidents.crypto import envelope
from incidents.db import secret
from incidents.extensions import db
from incidents.models import DataKey, Incident, Team
from incidents.vault import FieldVault
from tests.benchmarks.keys_setup import FIELD_VALUE, Stopwatch, goal, rates, report

SIZES = {"0.5 KB": FIELD_VALUE, "4 KB": FIELD_VALUE * 8}
SHORT_GOAL = 0.5  # of the limit for text, at 0.5 KB
_UTILS_KEY = secrets.token_bytes(32)


def measure_field_layer(app: Any) -> dict[str, dict[str, float]]:
    """Operations per CPU second, by size: raw AES-GCM, the limit for text, the layer."""
    return {label: _measure_size(app, value) for label, value in SIZES.items()}


def _measure_size(app: Any, value: str) -> dict[str, float]:
    plaintext = value.encode()
    raw = AESGCM(envelope.new_data_key())
    nonce = os.urandom(12)
    sealed_raw = raw.encrypt(nonce, plaintext, b"")
    with app.app_context():
        session = db.session
        team = Team(slug=f"bench-{uuid.uuid4().hex[:6]}", name="Benchmark")
        session.add(team)
        session.flush()
        record = Incident(team_id=team.id, reference="INC-2099-0001", title="benchmark")
        vault = FieldVault(session, app.extensions["incidents.keys"])
        vault.seal(record, narrative=value)  # makes and caches the data key
        session.add(record)
        session.flush()
        figures = rates(
            {
                "raw_encrypt": lambda: raw.encrypt(os.urandom(12), plaintext, b""),
                "raw_decrypt": lambda: raw.decrypt(nonce, sealed_raw, b""),
                # A field holds text: even a perfect layer pays for UTF-8 both ways.
                "text_encrypt": lambda: raw.encrypt(os.urandom(12), value.encode(), b""),
                "text_decrypt": lambda: raw.decrypt(nonce, sealed_raw, b"").decode(),
                "seal": lambda: vault.seal(record, narrative=value),
                "unseal": lambda: vault.unseal(record, "narrative"),
            }
        )
        session.rollback()
    return figures


def print_field_layer(figures: dict[str, dict[str, float]]) -> None:
    for label, size in figures.items():
        print(f"Field encryption (one ~{label} secret field), per CPU second")
        report("raw AESGCM encrypt (the physical limit)", size["raw_encrypt"], "ops/s")
        report("raw AESGCM decrypt", size["raw_decrypt"], "ops/s")
        report("raw AESGCM + UTF-8 encode (limit for text)", size["text_encrypt"], "ops/s")
        report("raw AESGCM + UTF-8 decode (limit for text)", size["text_decrypt"], "ops/s")
        report("field layer seal (AAD, nonce, AESGCM, setattr)", size["seal"], "ops/s")
        report("field layer unseal (... and UTF-8 decoding)", size["unseal"], "ops/s")
        seal, unseal = size["seal"] / size["text_encrypt"], size["unseal"] / size["text_decrypt"]
        print(f"  field layer vs the limit for text: seal {seal:.0%}, unseal {unseal:.0%}")
        if label == "0.5 KB":
            goal(f"field layer >= {SHORT_GOAL:.0%} of the limit for text", min(seal, unseal) >= 0.5)


# -- sqlalchemy-utils ---------------------------------------------------------------------


class _Tables(DeclarativeBase):
    """Tables for the comparison only, beside the application's in the same database."""


class SealedRow(_Tables):
    __tablename__ = "bench_sealed_rows"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    team_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    text: Mapped[bytes | None] = secret()


@functools.cache  # one class per process: its table is declared once
def _utils_row_class() -> Any:
    from sqlalchemy_utils import StringEncryptedType
    from sqlalchemy_utils.types.encrypted.encrypted_type import AesGcmEngine

    class UtilsRow(_Tables):
        __tablename__ = "bench_utils_rows"
        id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
        team_id: Mapped[uuid.UUID] = mapped_column(Uuid)
        text: Mapped[str | None] = mapped_column(
            StringEncryptedType(String, _UTILS_KEY, AesGcmEngine)
        )

    return UtilsRow


def measure_sqlalchemy_utils(app: Any, rows: int) -> dict[str, float] | None:
    """sqlalchemy-utils against the field layer at 4 KB: encrypt and decrypt per CPU
    second, rows inserted and read per second; None without sqlalchemy-utils."""
    try:
        from sqlalchemy_utils.types.encrypted.encrypted_type import AesGcmEngine
    except ImportError:
        return None
    value = SIZES["4 KB"]
    engine = AesGcmEngine()
    engine._update_key(secrets.token_bytes(32))
    sealed = engine.encrypt(value)
    figures = rates(
        {"encrypt": lambda: engine.encrypt(value), "decrypt": lambda: engine.decrypt(sealed)}
    )
    utils_row = _utils_row_class()
    with app.app_context():
        _Tables.metadata.create_all(db.engine)
        team_id = uuid.uuid4()
        provider = app.extensions["incidents.keys"]
        vault = FieldVault(db.session, provider)  # one per transaction, as in a request
        figures["layer_insert"], figures["layer_read"] = _insert_and_read(
            rows,
            lambda: _sealed_row(vault, team_id, value),
            lambda: _read_sealed(FieldVault(db.session, provider)),
        )
        figures["utils_insert"], figures["utils_read"] = _insert_and_read(
            rows,
            lambda: utils_row(team_id=team_id, text=value),
            lambda: [row.text for row in db.session.scalars(select(utils_row))],
        )
        _Tables.metadata.drop_all(db.engine)
        db.session.execute(delete(DataKey).where(DataKey.record_table == SealedRow.__tablename__))
        db.session.commit()
    return figures


def _sealed_row(vault: FieldVault, team_id: uuid.UUID, value: str) -> SealedRow:
    """A new row sealed as a batch of new records is (an import): its key made, no query."""
    row = SealedRow(id=uuid.uuid4(), team_id=team_id)
    vault.seal_new(row, text=value)
    return row


def _read_sealed(vault: FieldVault) -> list[str | None]:
    rows = db.session.scalars(select(SealedRow)).all()
    return [opened["text"] for opened in vault.unseal_many([(row, ("text",)) for row in rows])]


def _insert_and_read(rows: int, make: Any, read_all: Any) -> tuple[float, float]:
    """Rows per wall-clock second: `rows` made and inserted in one transaction, then all
    read back (and decrypted) in a new session."""
    session = db.session
    with Stopwatch() as inserting:
        session.add_all([make() for _ in range(rows)])
        session.commit()
    session.close()
    with Stopwatch() as reading:
        texts = read_all()
        session.rollback()
    session.close()
    assert len(texts) == rows and all(texts), "the comparison read back what it wrote"
    return rows / inserting.elapsed.wall, rows / reading.elapsed.wall


def print_sqlalchemy_utils(figures: dict[str, float] | None, layer: dict[str, float]) -> None:
    if figures is None:
        print("  sqlalchemy-utils not installed: comparison skipped (pip install -e '.[bench]')")
        return
    print("sqlalchemy-utils StringEncryptedType with AesGcmEngine (~4 KB), what one might pick")
    report("encrypt, per CPU second", figures["encrypt"], "ops/s")
    report("decrypt, per CPU second", figures["decrypt"], "ops/s")
    report("insert rows, field layer (with their data keys)", figures["layer_insert"], "rows/s")
    report("insert rows, sqlalchemy-utils", figures["utils_insert"], "rows/s")
    report("read rows, field layer (keys in one query)", figures["layer_read"], "rows/s")
    report("read rows, sqlalchemy-utils", figures["utils_read"], "rows/s")
    print(
        f"  field layer vs sqlalchemy-utils: seal {layer['seal'] / figures['encrypt']:.2f}x, "
        f"unseal {layer['unseal'] / figures['decrypt']:.2f}x, "
        f"insert {figures['layer_insert'] / figures['utils_insert']:.2f}x, "
        f"read {figures['layer_read'] / figures['utils_read']:.2f}x "
        "(and it binds each value to its place)"
    )
    goal(
        "field layer faster than sqlalchemy-utils on insert and read",
        figures["layer_insert"] > figures["utils_insert"]
        and figures["layer_read"] > figures["utils_read"],
    )
