"""Blind indexes without a database: normalisation (security check 9), what is indexed,
keyed hashing under one key per index and master key, and the width setting."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given
from hypothesis import strategies as st

from incidents.crypto.blind_index import BlindIndexer, derive_index_key
from incidents.crypto.keys import MasterKey, StaticKeyProvider, generate_master_key
from incidents.db import secret_columns
from incidents.errors import ConfigurationError
from incidents.names import (
    ROMANISATION_RULES,
    name_tokens,
    normalise_date,
    normalise_name,
    spelling_key,
)
from incidents.records.indexing import index_terms
from incidents.records.kinds import PERSON, REPORT, SOURCE, indexed_kinds
from incidents.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]

# Invented names only; the surnames here belong to no one.
SAME_NAME = [
    ["Мовсар Демоев", "Movsar Demoev", "DEMOYEV movsar", "Movsar Dëmoev", "Мовсар Дёмоев"],
    ["Зелимхан Тестоев", "Zelimkhan Testoyev", "Zelimhan Testoev", "TESTOEV, Zelimkhan"],
    ["Дмитрий Примеров", "Dmitry Primerov", "Dmitrii Primerov", "Dmitriy Primerov"],
    ["Евгения Фиктивова", "Yevgeniya Fiktivova", "Evgenia Fiktivova"],
    ["Джабраил Выдумкин", "Dzhabrail Vydumkin", "Djabrail Vydumkin", "Jabrail Vydumkin"],
    ["Хасан Образцов", "Khasan Obraztsov", "Hassan Obraztsov", "Hasan Obraztsov"],
    ["Жанна Условная", "Zhanna Uslovnaya", "Janna Uslovnaya"],
    ["Марьям Макетова", "Mar'yam Maketova", "Maryam Maketova", "Mar’yam Maketova"],
]

DIFFERENT = [
    ("Movsar Demoev", "Movsar Demaev"),
    ("Ruslan Testoev", "Ruslana Testoeva"),
    ("Zelimkhan Testoev", "Zelimkhan Testov"),
    ("Adam Primerov", "Adlan Primerov"),
]


@pytest.mark.parametrize("spellings", SAME_NAME, ids=lambda s: s[1])
def test_spellings_of_the_same_name_normalise_alike(spellings: list[str]) -> None:
    assert len({normalise_name(s) for s in spellings}) == 1, [normalise_name(s) for s in spellings]


def test_the_chechen_name_pair_matches_in_cyrillic_and_latin() -> None:
    assert normalise_name("Зелимхан Тестоев") == normalise_name("Zelimkhan Testoyev")
    assert normalise_name("Зелимхан Тестоев") == "testoev zelimhan"


@pytest.mark.parametrize(("one", "other"), DIFFERENT)
def test_different_names_stay_apart(one: str, other: str) -> None:
    assert normalise_name(one) != normalise_name(other)


@pytest.mark.parametrize(("pattern", "replacement", "example"), ROMANISATION_RULES)
def test_every_documented_rule_joins_its_example(
    pattern: object, replacement: str, example: str
) -> None:
    one, other = example.split(" = ")
    assert normalise_name(one) == normalise_name(other)
    assert normalise_name(one) != one.lower()  # the example needs a rule, not just lower case


def test_tokens_are_sorted_deduplicated_and_punctuation_free() -> None:
    assert name_tokens("  Demoev-Movsar, (Movsar)!  ") == ["demoev", "movsar"]
    assert normalise_name("...") == ""
    assert normalise_name("Адам 2-й") == "2 adam i"


def test_other_scripts_are_transliterated() -> None:
    assert normalise_name("Ἀλέξανδρος") == normalise_name("Alexandros")
    assert normalise_name("محمد") != ""


def test_spelling_key_is_the_exact_comparison() -> None:
    assert spelling_key("Movsar  DEMOEV") == spelling_key("demoev movsar")
    assert spelling_key("Movsar Demoev") != spelling_key("Мовсар Демоев")
    assert spelling_key("Mar'yam") == spelling_key("Mar’yam") == ("maryam",)


LETTERS = "abcdefghijklmnopqrstuvwxyzабвгдеёжзийклмнопрстуфхцчшщъыьэюя"
ACCENTED = "éèêëáàâäóòôöúùûüçñíìîïýÿčšž"
COMBINING = ["\u0300", "\u0301", "\u0302", "\u0303", "\u0308", "\u030a", "\u030c", "\u0327"]
words = st.text(alphabet=LETTERS + ACCENTED, min_size=1, max_size=12)
names = st.lists(words, min_size=1, max_size=5)


@given(names)
def test_case_does_not_matter(parts: list[str]) -> None:
    text = " ".join(parts)
    assert normalise_name(text.upper()) == normalise_name(text) == normalise_name(text.title())


@given(names, st.randoms(use_true_random=False))
def test_word_order_does_not_matter(parts: list[str], rng: random.Random) -> None:
    shuffled = parts[:]
    rng.shuffle(shuffled)
    assert normalise_name(" ".join(shuffled)) == normalise_name(" ".join(parts))


@given(
    st.lists(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12),
        min_size=1,
        max_size=5,
    ),
    st.data(),
)
def test_accents_do_not_matter(parts: list[str], data: st.DataObject) -> None:
    text = " ".join(parts)
    accented = "".join(
        char + (data.draw(st.sampled_from(["", *COMBINING])) if char.isalpha() else "")
        for char in text
    )
    assert normalise_name(accented) == normalise_name(text)


@given(names, st.lists(st.sampled_from(list(' ,.;:()-/"!?')), min_size=1, max_size=4))
def test_punctuation_between_words_does_not_matter(parts: list[str], marks: list[str]) -> None:
    text = " ".join(parts)
    assert normalise_name(("".join(marks) + " ").join(parts)) == normalise_name(text)


@given(st.text(max_size=60))
def test_normalisation_is_idempotent_and_ascii(text: str) -> None:
    once = normalise_name(text)
    assert normalise_name(once) == once
    assert once == "" or all(token.isascii() and token.isalnum() for token in once.split(" "))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1994", "1994"),
        ("1994-05", "1994-05"),
        ("1994-5", "1994-05"),
        ("1994-05-17", "1994-05-17"),
        (" 1994-5-7 ", "1994-05-07"),
        ("1996-02-29", "1996-02-29"),
        ("1994-02-30", None),
        ("1994-13", None),
        ("0000", None),
        ("17.05.1994", None),
        ("94", None),
        ("1994-05-17T00:00", None),
        ("", None),
    ],
)
def test_dates_normalise_to_iso_or_partial_iso(text: str, expected: str | None) -> None:
    assert normalise_date(text) == expected


def test_index_terms_of_a_person() -> None:
    terms = index_terms(
        PERSON.indexed,
        {
            "full_name": "Мовсар Демоев",
            "aliases": "Mova\n\nMovsar Demoyev\n  ",
            "date_of_birth": "1994-5-17",
            "contact": "never indexed",
        },
    )
    assert sorted(terms) == [
        ("person_dob", "1994-05-17"),
        ("person_name", "demoev movsar"),  # the full name and the second alias: once
        ("person_name", "mova"),
        ("person_name_token", "demoev"),
        ("person_name_token", "mova"),
        ("person_name_token", "movsar"),
    ]


def test_index_terms_of_a_source_and_of_empty_fields() -> None:
    assert sorted(index_terms(SOURCE.indexed, {"identity": "Zarema P."})) == [
        ("source_identity", "p zarema"),
        ("source_identity_token", "zarema"),  # one-letter words have no entry of their own
    ]
    empty = {"full_name": None, "aliases": "", "date_of_birth": "soon"}
    assert index_terms(PERSON.indexed, empty) == []
    assert index_terms(REPORT.indexed, {"narrative": "not indexed"}) == []


def test_indexed_fields_name_existing_secret_columns() -> None:
    secret = {(table.name, column.name) for table, column in secret_columns()}
    indexed = [(kind.table, field.column) for kind in indexed_kinds() for field in kind.indexed]
    assert indexed, "no indexed field: the check would be empty"
    for table_and_column in indexed:
        assert table_and_column in secret


# -- keyed hashing ------------------------------------------------------------------------


def _provider(*keys: MasterKey) -> StaticKeyProvider:
    return StaticKeyProvider(keys, keys[0].key_id, "test")


def test_each_index_has_its_own_key_derived_by_hkdf() -> None:
    master = generate_master_key()
    expected = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=b"incidents/blind-index/v1/person_name",
    ).derive(master.material)
    assert derive_index_key(master, "person_name") == expected
    assert derive_index_key(master, "person_name_token") != expected
    assert derive_index_key(generate_master_key(), "person_name") != expected


@pytest.mark.parametrize("width", [1, 2, 8, 16, 32])
def test_values_have_exactly_the_configured_width(width: int) -> None:
    indexer = BlindIndexer(_provider(generate_master_key()), width)
    key_id, value = indexer.entry("person_name", "demoev movsar")
    assert len(value) == width
    assert key_id == indexer.provider.primary().key_id


@pytest.mark.parametrize("width", [0, 33])
def test_impossible_widths_are_refused(width: int) -> None:
    with pytest.raises(ValueError, match="width"):
        BlindIndexer(_provider(generate_master_key()), width)


def test_the_same_term_differs_by_index_and_by_master_key() -> None:
    first, second = generate_master_key(), generate_master_key()
    indexer = BlindIndexer(_provider(first, second), 16)
    values = {
        indexer.value(first, "person_name", "movsar"),
        indexer.value(first, "person_name_token", "movsar"),
        indexer.value(second, "person_name", "movsar"),
    }
    assert len(values) == 3
    # Deterministic: the same key, index and term always give the same value.
    assert indexer.value(first, "person_name", "movsar") == BlindIndexer(
        _provider(first), 16
    ).value(first, "person_name", "movsar")


def test_new_entries_use_the_primary_and_lookups_cover_every_key() -> None:
    old, new = generate_master_key(), generate_master_key()
    before = BlindIndexer(_provider(old), 8)
    after = BlindIndexer(_provider(new, old), 8)
    key_id, value = before.entry("person_name", "demoev movsar")
    assert key_id == old.key_id
    assert after.entry("person_name", "demoev movsar")[0] == new.key_id
    lookup = after.lookup("person_name", ["demoev movsar"])
    assert set(lookup.values) == {old.key_id, new.key_id}
    assert lookup.terms_of(old.key_id, value) == {"demoev movsar"}
    assert lookup.terms_of(new.key_id, value) == frozenset()


def test_a_lookup_keeps_every_term_that_shares_a_value() -> None:
    indexer = BlindIndexer(_provider(generate_master_key()), 1)
    terms = [f"name{i}" for i in range(300)]  # 300 terms in 256 values: collisions certain
    lookup = indexer.lookup("person_name_token", terms)
    (by_value,) = lookup.values.values()
    assert sum(len(found) for found in by_value.values()) == 300
    assert any(len(found) > 1 for found in by_value.values())


# -- the setting ----------------------------------------------------------------------------


def test_blind_index_bytes_defaults_to_8_and_is_documented() -> None:
    assert load_settings(environ={}).blind_index_bytes == 8
    assert "blind_index_bytes = 8" in (ROOT / "config" / "default.toml").read_text()
    assert "`blind_index_bytes`" in (ROOT / "README.md").read_text()


def test_blind_index_bytes_from_the_environment() -> None:
    settings = load_settings(environ={"INCIDENTS_BLIND_INDEX_BYTES": "12"})
    assert settings.blind_index_bytes == 12


@pytest.mark.parametrize("value", ["1", "33", "0", "eight", "8.5"])
def test_blind_index_bytes_outside_2_to_32_is_refused(value: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        load_settings(environ={"INCIDENTS_BLIND_INDEX_BYTES": value})
    assert "blind_index_bytes" in str(error.value)
    assert "\n" not in str(error.value)
