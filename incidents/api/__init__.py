"""The JSON API under /api/v1: resources over the same services as the pages, personal
tokens, problem details for every error and an OpenAPI document made from the schemas
that validate requests and shape responses."""

from __future__ import annotations

from flask import Flask


def register_api(app: Flask) -> None:
    """Add the API to `app` (after the web, whose error page it wraps for /api/v1)."""
    # Each module registers its operations on the blueprint when imported.
    from incidents.api import (  # noqa: F401
        advocacy,
        audit,
        blueprint,
        consents,
        documentation,
        evidence,
        me,
        problems,
        records,
    )
    from incidents.extensions import csrf

    # A bearer token in a header is not sent by a browser on its own, and cookies never
    # authenticate the API: there is no cross-site request to forge (blueprint.py).
    csrf.exempt(blueprint.api)
    app.register_blueprint(blueprint.api)
    problems.install(app)
