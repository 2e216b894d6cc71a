"""The import page, for those who may write records (researchers: case records and the
rest; advocacy leads: advocacy work). The file is checked and imported by one service
call (incidents/services/imports.py), which keeps its own savepoints: whatever it
answers, nothing is half-imported. Its answer is shown on the page itself, with the
choices made kept, rather than after a redirect: the list of problems is the point.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import IO

from flask import Blueprint, Response, render_template
from flask.typing import ResponseReturnValue

from incidents.errors import NotFound
from incidents.records.kind import RecordKind
from incidents.services import imports
from incidents.services.import_csv import template
from incidents.web.boundary import context
from incidents.web.forms import REFUSED
from incidents.web.imports.forms import ImportForm

blueprint = Blueprint("imports", __name__)
ZIP_MAGIC = b"PK\x03\x04"


@blueprint.route("/import", methods=["GET", "POST"])
def import_page() -> ResponseReturnValue:
    ctx = context()
    kinds = imports.importable_kinds(ctx)  # PermissionDenied for those who may not import
    form = ImportForm.offering(imports.import_teams(ctx), kinds)
    if not form.is_submitted():
        return _page(form, kinds)
    if not form.validate() or not form.sent_file():
        return _page(form, kinds), REFUSED
    sent = form.file.data
    outcome = imports.plan_import(
        ctx,
        _readable(sent.stream),
        kind=form.kind.data or None,
        team=form.team.data or None,
        dry_run=bool(form.dry_run.data),
        name=sent.filename,
    )
    return _page(form, kinds, outcome, sent.filename), (200 if outcome.ok else REFUSED)


def _readable(stream: IO[bytes]) -> IO[bytes]:
    """The upload as the import reads it. An upload is spooled encrypted and can only be
    rewound; a ZIP is read from its end first, so it is held in memory instead (no more
    than the request's size limit)."""
    head = stream.read(len(ZIP_MAGIC))
    stream.seek(0)
    return io.BytesIO(stream.read()) if head == ZIP_MAGIC else stream


def _page(
    form: ImportForm,
    kinds: Sequence[RecordKind],
    outcome: imports.ImportOutcome | None = None,
    filename: str | None = None,
) -> str:
    return render_template(
        "imports/import.html", form=form, kinds=kinds, outcome=outcome, filename=filename
    )


@blueprint.get("/import/templates/<name>.csv")
def csv_template(name: str) -> Response:
    """The header row of a CSV of one kind the reader may import, as a file to fill in."""
    kind = next((k for k in imports.importable_kinds(context()) if k.name == name), None)
    if kind is None:
        raise NotFound(f"no template {name}")
    response = Response(template(kind), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{kind.name}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response
