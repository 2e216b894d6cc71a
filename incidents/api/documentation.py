"""What the API says of itself, without a token: its OpenAPI document and the reference
page made from it. Neither holds any record; both are the same for everyone."""

from __future__ import annotations

from flask import Response, jsonify, render_template

from incidents.api.blueprint import api, without_token
from incidents.api.openapi import openapi_document
from incidents.api.problems import PROBLEM_TYPES
from incidents.api.reference import sections


@api.get("/openapi.json")
@without_token
def openapi_json() -> Response:
    return jsonify(openapi_document())


@api.get("/docs")
@without_token
def reference_page() -> str:
    document = openapi_document()
    return render_template(
        "api/reference.html",
        info=document["info"],
        sections=sections(document),
        problem_types=PROBLEM_TYPES,
    )
