"""A running application reads its key file again once another process has replaced it:
after `incidents keys rotate` a server wraps new data keys under the new primary at once,
without a restart; a key file broken meanwhile leaves it the keys it already held."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask import Flask

from incidents.crypto.keys import generate_master_key, load_key_file, write_key_file
from incidents.extensions import key_provider
from tests.conftest import make_test_app


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "master.key"
    first = generate_master_key()
    write_key_file(path, [first], first.key_id)
    return path


@pytest.fixture
def served(tmp_path: Path, key_file: Path) -> Flask:
    return make_test_app(
        f"sqlite:///{tmp_path / 'db.sqlite'}",
        tmp_path / "instance",
        generate_master_key(),
        master_key="",
        master_key_file=str(key_file),
    )


def test_a_key_added_by_another_process_becomes_the_primary_at_once(
    served: Flask, key_file: Path
) -> None:
    with served.app_context():
        (first,) = key_provider().key_ids()
        assert key_provider() is key_provider()  # unchanged file: the same keys, not re-read
        # What `incidents keys rotate` does from its own process: the file replaced whole.
        load_key_file(key_file).add_primary(second := generate_master_key())
        assert key_provider().primary().key_id == second.key_id
        assert key_provider().key_ids() == [second.key_id, first]
        assert key_provider().get(first).key_id == first  # old data keys still unwrap


def test_a_retired_key_is_gone_from_the_running_application(served: Flask, key_file: Path) -> None:
    with served.app_context():
        (first,) = key_provider().key_ids()
        provider = load_key_file(key_file).add_primary(generate_master_key())
        provider.remove(first)
        assert first not in key_provider().key_ids()


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param(lambda path: path.write_text("{not json"), id="not a key file"),
        pytest.param(lambda path: path.unlink(), id="removed"),
        pytest.param(
            lambda path: write_key_file(
                path, [k := generate_master_key(development=True)], k.key_id
            ),
            id="a development key",
        ),
    ],
)
def test_a_key_file_broken_meanwhile_leaves_the_keys_held(
    served: Flask, key_file: Path, broken: object, caplog: pytest.LogCaptureFixture
) -> None:
    with served.app_context():
        held = key_provider().key_ids()
        with caplog.at_level(logging.WARNING, logger="incidents.crypto.keys"):
            broken(key_file)  # type: ignore[operator]
            assert key_provider().key_ids() == held
        assert "keeping the master keys already loaded" in caplog.text
