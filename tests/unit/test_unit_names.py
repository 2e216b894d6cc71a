"""Units and places as blind-index terms: the same unit written two ways is one term, a
different unit is another, and an incident's place and a perpetrator's names are whole
values, one per line."""

from __future__ import annotations

import pytest

from incidents.names import normalise_unit
from incidents.records.indexing import index_terms
from incidents.records.kinds import INCIDENT, INVOLVEMENT


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("3rd Bn, 42nd Regt", "3 battalion 42 regiment"),
        ("Demo Special Unit No. 0", "DEMO SPEC. UNIT #0"),
        ("Батальон «Север»", "Sever Battalion"),
        ("ОМОН", "omon"),
        ("Coy B", "B Company"),
        ("the 5th Brigade", "5 bde"),
    ],
)
def test_one_unit_written_two_ways_is_one_term(one: str, other: str) -> None:
    assert normalise_unit(one) == normalise_unit(other) != ""


@pytest.mark.parametrize(
    ("one", "other"),
    [("3rd Battalion", "4th Battalion"), ("Sever Battalion", "Yug Battalion"), ("OMON", "SOBR")],
)
def test_different_units_stay_different(one: str, other: str) -> None:
    assert normalise_unit(one) != normalise_unit(other)


def test_a_perpetrators_units_and_names_are_whole_values_one_per_line() -> None:
    terms = index_terms(
        INVOLVEMENT.indexed,
        {"units": "3rd Bn; OMON\nomon", "perpetrator_names": "Petr Ivanov\n'the Major'"},
    )
    assert sorted(terms) == [
        ("perpetrator_name", "ivanov petr"),
        ("perpetrator_name", "major the"),
        ("perpetrator_unit", "3 batalion"),
        ("perpetrator_unit", "omon"),
    ]


def test_an_incidents_place_is_indexed_line_by_line_and_nothing_else() -> None:
    terms = index_terms(
        INCIDENT.indexed,
        {"place_detail": "Checkpoint 7\nThe old dairy, Demo-Yurt", "narrative": "never"},
    )
    assert sorted(terms) == [
        ("incident_place", "7 checkpoint"),
        ("incident_place", "dairi demo old the yurt"),  # names' folding: final y is i
    ]
