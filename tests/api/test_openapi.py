"""The API's schemas, its OpenAPI document and its reference page, made from the record
registry and the registered operations: nothing a document holds is lost by its model,
every operation is described, and the page shows each without a script."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from incidents.api.operations import OPERATIONS
from incidents.api.schemas import create_model_of, document_model, update_model_of
from incidents.records.fields import FuzzyDate
from incidents.records.kind import RecordKind
from incidents.records.kinds import INCIDENT, KINDS, PERSON
from incidents.services.documents import BOOKKEEPING, document_key, input_names, recorded_columns


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_a_document_model_has_every_key_a_document_can_hold(kind: RecordKind) -> None:
    model = document_model(kind)
    possible = {"id", "withheld", "sealed", *input_names(kind)}
    possible |= {document_key(column) for column in recorded_columns(kind)}
    possible |= {key for key in BOOKKEEPING if key in model.model_fields}
    # Answers go through the model, which drops what it lacks: it must lack nothing.
    assert possible - model.model_fields.keys() == set()
    assert model.model_fields.keys() - possible == set()


def test_request_models_take_the_input_fields_and_refuse_the_rest() -> None:
    create, update = create_model_of(INCIDENT), update_model_of(INCIDENT)
    required = {name for name, spec in create.model_fields.items() if spec.is_required()}
    assert required == {"team", "title"}
    assert set(update.model_fields) == set(input_names(INCIDENT))
    assert not any(spec.is_required() for spec in update.model_fields.values())
    assert create.model_config.get("extra") == "forbid"
    dates = [spec for spec in INCIDENT.fields if isinstance(spec, FuzzyDate)]
    assert all(spec.precision_field in update.model_fields for spec in dates)
    assert "confirmed_different" in create_model_of(PERSON).model_fields


def test_the_document_describes_every_operation(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    described = {
        (method.upper(), path) for path, methods in document["paths"].items() for method in methods
    }
    assert described == {(op.method, op.path) for op in OPERATIONS}
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["bearer"]["description"],
    }
    listing = document["paths"]["/api/v1/incidents"]["get"]
    parameters = {p["name"]: p for p in listing["parameters"]}
    assert {"cursor", "limit", "status", "region"} <= parameters.keys()
    assert parameters["limit"]["schema"]["maximum"] == 200
    change = document["paths"]["/api/v1/incidents/{key}"]["patch"]
    assert {"409", "428", "422", "404", "401", "507"} <= change["responses"].keys()
    # Every operation may meet a database that is down or busy.
    operations = [op for methods in document["paths"].values() for op in methods.values()]
    assert all("503" in op["responses"] for op in operations)
    assert "507" not in listing["responses"]  # a read writes nothing that could fill a disk
    problem = change["responses"]["409"]["content"]["application/problem+json"]["schema"]
    assert problem == {"$ref": "#/components/schemas/Problem"}
    assert change["security"] == [{"bearer": ["cases:write"]}]
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', str(document).replace("'", '"')))
    assert refs <= document["components"]["schemas"].keys(), "a reference names no schema"


def test_the_reference_page_shows_every_operation_without_a_script(client: FlaskClient) -> None:
    response = client.get("/api/v1/docs")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<script" not in page and "style=" not in page and "http" not in page.split("<body")[0]
    for op in OPERATIONS:
        assert f'id="{op.name}"' in page, op.name
        assert f"{op.method} {op.path}" in page
    assert "Token scope: <code>cases:write</code>" in page
    assert 'id="problem-edit-conflict"' in page
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
