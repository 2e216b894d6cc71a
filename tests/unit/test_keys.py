"""Master key files, the key variable and the static provider (security check 8)."""

from __future__ import annotations

import base64
import json
import secrets
import stat
from pathlib import Path
from typing import Any

import pytest

from incidents.crypto.keys import (
    KEY_BYTES,
    KEY_FILE_FORMAT,
    MasterKey,
    StaticKeyProvider,
    generate_master_key,
    load_key_file,
    parse_key_variable,
    write_key_file,
)
from incidents.errors import MasterKeyError


def b64(material: bytes) -> str:
    return base64.b64encode(material).decode("ascii")


def variable(*keys: MasterKey) -> str:
    return ",".join(f"{key.key_id}:{b64(key.material)}" for key in keys)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def assert_one_line_naming(error: pytest.ExceptionInfo[MasterKeyError], *names: str) -> None:
    message = str(error.value)
    assert "\n" not in message, f"not one line: {message!r}"
    for name in names:
        assert name in message, f"{name!r} not named in {message!r}"


# -- writing and reading ----------------------------------------------------------------


def test_written_key_file_is_owner_only_and_round_trips(tmp_path: Path) -> None:
    keys = [generate_master_key() for _ in range(3)]
    path = tmp_path / "keys" / "master.key"
    write_key_file(path, keys, keys[1].key_id)
    assert mode_of(path) == 0o600
    provider = load_key_file(path)
    assert provider.primary() == keys[1]
    assert provider.key_ids()[0] == keys[1].key_id
    assert sorted(provider.key_ids()) == sorted(key.key_id for key in keys)
    for key in keys:
        assert provider.get(key.key_id).material == key.material
    assert not provider.is_development
    assert str(path) in provider.origin


def test_rewriting_a_key_file_keeps_it_owner_only_and_leaves_no_temporary(
    tmp_path: Path,
) -> None:
    path = tmp_path / "master.key"
    path.write_text("old")
    path.chmod(0o644)
    key = generate_master_key()
    write_key_file(path, [key], key.key_id)
    assert mode_of(path) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["master.key"]
    assert load_key_file(path).primary() == key


def test_master_key_repr_holds_no_key_material() -> None:
    key = generate_master_key()
    assert b64(key.material) not in repr(key)
    assert key.material.hex() not in repr(key)


@pytest.mark.parametrize("development", [True, False])
def test_development_flag_round_trips(tmp_path: Path, development: bool) -> None:
    key = generate_master_key(development=development)
    path = tmp_path / "master.key"
    write_key_file(path, [key], key.key_id)
    provider = load_key_file(path)
    assert provider.primary().development is development
    assert provider.is_development is development


def test_one_development_key_marks_the_provider_as_development(tmp_path: Path) -> None:
    production, development = generate_master_key(), generate_master_key(development=True)
    path = tmp_path / "master.key"
    write_key_file(path, [production, development], production.key_id)
    assert load_key_file(path).is_development


def test_generated_keys_are_unique_and_valid() -> None:
    keys = [generate_master_key() for _ in range(200)]
    assert len({key.key_id for key in keys}) == 200
    assert len({key.material for key in keys}) == 200
    assert {len(key.material) for key in keys} == {KEY_BYTES}


# -- load_key_file errors ---------------------------------------------------------------


def document(**changes: Any) -> dict[str, Any]:
    key = {"id": "mk-a", "key": b64(secrets.token_bytes(KEY_BYTES))}
    return {"format": KEY_FILE_FORMAT, "primary": "mk-a", "keys": [key], **changes}


def valid_file_text() -> str:
    return json.dumps(document(), indent=2) + "\n"


BROKEN_FILES: dict[str, str | bytes] = {
    "empty": "",
    "whitespace": "  \n",
    "truncated": valid_file_text()[:40],
    "cut at the end": valid_file_text()[:-3],
    "not JSON": "mk-a = secret\n",
    "not UTF-8": b"\xff\xfe\x00binary",
    "a JSON list": "[]",
    "a JSON string": json.dumps(KEY_FILE_FORMAT),
    "no format": json.dumps({k: v for k, v in document().items() if k != "format"}),
    "wrong format marker": json.dumps(document(format="incidents-master-keys/2")),
    "no keys": json.dumps(document(keys=[])),
    "keys not a list": json.dumps(document(keys={"mk-a": "x"})),
    "no primary": json.dumps({k: v for k, v in document().items() if k != "primary"}),
    "primary not a string": json.dumps(document(primary=1)),
    "entry not an object": json.dumps(document(keys=["mk-a"])),
    "entry without id": json.dumps(document(keys=[{"key": b64(bytes(32))}])),
    "entry without key": json.dumps(document(keys=[{"id": "mk-a"}])),
    "bad base64": json.dumps(document(keys=[{"id": "mk-a", "key": "not base64!"}])),
    "non-ASCII base64": json.dumps(document(keys=[{"id": "mk-a", "key": "ключ"}])),
    "key of 16 bytes": json.dumps(document(keys=[{"id": "mk-a", "key": b64(bytes(16))}])),
    "key of 33 bytes": json.dumps(document(keys=[{"id": "mk-a", "key": b64(bytes(33))}])),
    "bad key id": json.dumps(
        document(primary="mk a", keys=[{"id": "mk a", "key": b64(bytes(32))}])
    ),
    "empty key id": json.dumps(document(primary="", keys=[{"id": "", "key": b64(bytes(32))}])),
    "primary not among keys": json.dumps(document(primary="mk-b")),
    "duplicate key id": json.dumps(
        document(
            keys=[
                {"id": "mk-a", "key": b64(secrets.token_bytes(32))},
                {"id": "mk-a", "key": b64(secrets.token_bytes(32))},
            ]
        )
    ),
}


@pytest.mark.parametrize("content", BROKEN_FILES.values(), ids=BROKEN_FILES.keys())
def test_broken_key_file_raises_one_line_naming_the_file(
    tmp_path: Path, content: str | bytes
) -> None:
    path = tmp_path / "master.key"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(MasterKeyError) as error:
        load_key_file(path)
    assert_one_line_naming(error, str(path))


def test_missing_key_file_says_it_does_not_exist(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "master.key"
    with pytest.raises(MasterKeyError, match="does not exist") as error:
        load_key_file(path)
    assert_one_line_naming(error, str(path))


def test_unreadable_key_file_raises_naming_the_file(tmp_path: Path) -> None:
    """A folder where the file should be: the read fails with an OSError."""
    path = tmp_path / "master.key"
    path.mkdir()
    with pytest.raises(MasterKeyError) as error:
        load_key_file(path)
    assert_one_line_naming(error, str(path))


def test_key_file_errors_never_show_key_material(tmp_path: Path) -> None:
    material = b64(secrets.token_bytes(33))
    path = tmp_path / "master.key"
    path.write_text(json.dumps(document(keys=[{"id": "mk-a", "key": material}])))
    with pytest.raises(MasterKeyError) as error:
        load_key_file(path)
    assert material not in str(error.value)
    assert "33 bytes" in str(error.value)


# -- the key variable -------------------------------------------------------------------


def test_key_variable_first_key_is_primary() -> None:
    first, second, third = (generate_master_key() for _ in range(3))
    provider = parse_key_variable(variable(first, second, third))
    assert provider.primary() == first
    assert provider.key_ids() == [first.key_id, *sorted([second.key_id, third.key_id])]
    assert provider.get(third.key_id).material == third.material
    assert not provider.is_development


def test_key_variable_tolerates_spaces_around_entries() -> None:
    first, second = generate_master_key(), generate_master_key()
    provider = parse_key_variable(f" {variable(first)} , {variable(second)} ")
    assert provider.primary() == first
    assert provider.get(second.key_id) == second


VALID_MATERIAL = b64(bytes(range(32)))

BROKEN_VARIABLES = {
    "empty": "",
    "no colon": "mk-a",
    "only an id": "mk-a:",
    "trailing comma": f"mk-a:{VALID_MATERIAL},",
    "empty entry": f"mk-a:{VALID_MATERIAL},,mk-b:{VALID_MATERIAL}",
    "no id": f":{VALID_MATERIAL}",
    "bad id": f"mk a:{VALID_MATERIAL}",
    "bad base64": "mk-a:not*base64",
    "short key": f"mk-a:{b64(bytes(31))}",
    "long key": f"mk-a:{b64(bytes(64))}",
    "second entry broken": f"mk-a:{VALID_MATERIAL},mk-b",
    "duplicate id": f"mk-a:{VALID_MATERIAL},mk-a:{b64(bytes(32))}",
}


@pytest.mark.parametrize("value", BROKEN_VARIABLES.values(), ids=BROKEN_VARIABLES.keys())
def test_malformed_key_variable_raises_naming_the_variable(value: str) -> None:
    with pytest.raises(MasterKeyError) as error:
        parse_key_variable(value, name="INCIDENTS_MASTER_KEY")
    assert_one_line_naming(error, "INCIDENTS_MASTER_KEY")
    assert VALID_MATERIAL not in str(error.value)


def test_duplicate_id_in_variable_does_not_swap_the_primary() -> None:
    """Regression: a repeated id used to keep the last material under the first's id."""
    first = generate_master_key()
    other = b64(secrets.token_bytes(KEY_BYTES))
    with pytest.raises(MasterKeyError, match="more than once"):
        parse_key_variable(f"{variable(first)},{first.key_id}:{other}")


# -- the provider -----------------------------------------------------------------------


def test_provider_get_of_unknown_id_raises_naming_the_id() -> None:
    key = generate_master_key()
    provider = StaticKeyProvider([key], key.key_id, "test keys")
    with pytest.raises(MasterKeyError, match="mk-retired-2016") as error:
        provider.get("mk-retired-2016")
    assert "test keys" in str(error.value)
    assert provider.get(key.key_id) is key


def test_provider_refuses_a_primary_it_does_not_hold() -> None:
    with pytest.raises(MasterKeyError) as error:
        StaticKeyProvider([generate_master_key()], "mk-b", "test keys")
    assert_one_line_naming(error, "'mk-b'", "test keys")


def test_provider_refuses_no_keys() -> None:
    with pytest.raises(MasterKeyError):
        StaticKeyProvider([], "mk-a", "test keys")


@pytest.mark.parametrize("key_id", ["", "mk a", "-leading-dash", "x" * 65, "mk/../etc", "ключ"])
def test_master_key_refuses_bad_ids(key_id: str) -> None:
    with pytest.raises(MasterKeyError, match="id"):
        MasterKey(key_id, bytes(KEY_BYTES))


@pytest.mark.parametrize("length", [0, 16, 31, 33, 64])
def test_master_key_refuses_wrong_lengths(length: int) -> None:
    with pytest.raises(MasterKeyError, match=f"{length} bytes"):
        MasterKey("mk-a", bytes(length))


def test_master_key_accepts_the_longest_id() -> None:
    assert MasterKey("a" * 64, bytes(KEY_BYTES)).key_id == "a" * 64


@pytest.mark.parametrize("flag", ["no", 0, "false", None])
def test_development_flag_must_be_a_boolean(tmp_path: Path, flag: object) -> None:
    key = generate_master_key()
    path = tmp_path / "master.key"
    write_key_file(path, [key], key.key_id)
    document = json.loads(path.read_text())
    document["keys"][0]["development"] = flag
    path.write_text(json.dumps(document))
    with pytest.raises(MasterKeyError, match="'development' must be true or false"):
        load_key_file(path)
