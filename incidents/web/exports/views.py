"""The export page: choose what to export and the format; the file is streamed.

A download that writes to the audit log is a POST, not a GET: the export is recorded by
the service, and the application commits that event once the view has answered
(incidents/web/application.py), before the first byte of the body is sent. The body is
then read from the database batch by batch as it is sent: `stream_with_context` keeps
the request for the stream, whose session is closed after the last byte (`_then_closed`),
and the stream only reads (it writes no event that the commit would have missed). A
`full` export needs the password entered recently, as every operation that opens secrets
in bulk.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from flask import Blueprint, Response, render_template, stream_with_context
from flask.typing import ResponseReturnValue

from incidents.context import Context
from incidents.errors import PermissionDenied
from incidents.extensions import SQLITE_BEGIN
from incidents.redaction import Profile
from incidents.services import export
from incidents.services.summaries import SUMMARY_PROFILES
from incidents.web.boundary import context
from incidents.web.exports.forms import ExportForm
from incidents.web.forms import REFUSED
from incidents.web.security import recent_login_required

blueprint = Blueprint("exports", __name__)


@blueprint.route("/export", methods=["GET", "POST"])
def export_page() -> ResponseReturnValue:
    profiles = export.profiles_for(context())
    if not profiles:
        raise PermissionDenied("exporting needs an export permission")
    form = ExportForm.offering(profiles)
    if not form.is_submitted():
        return _page(form, profiles)
    if not form.validate():
        return _page(form, profiles), REFUSED
    profile, fmt = form.chosen()
    if profile is Profile.FULL:
        return recent_login_required(_download)(profile, fmt)
    return _download(profile, fmt)


def _page(form: ExportForm, profiles: tuple[Profile, ...]) -> str:
    return render_template(
        "exports/export.html",
        form=form,
        profiles=profiles,
        teams=export.teams_exported(context()),
    )


def _download(profile: Profile, fmt: str) -> Response:
    ctx = context()
    body: Iterator[bytes]
    if profile in SUMMARY_PROFILES:
        summary_plan = export.start_summary_export(ctx, profile, fmt=fmt)
        body, suffix, what = export.stream_summary_export(ctx, summary_plan), fmt, "summaries"
    else:
        plan = export.start_export(ctx, profile, fmt=fmt)
        body, suffix, what = export.stream_export(ctx, plan), plan.suffix, "records"
    day = datetime.now(UTC).date().isoformat()
    response = Response(
        stream_with_context(_then_closed(ctx, body)), mimetype=export.MEDIA_TYPES[suffix]
    )
    response.headers["Content-Disposition"] = (
        f'attachment; filename="incidents-{what}-{profile.value}-{day}.{suffix}"'
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _then_closed(ctx: Context, body: Iterator[bytes]) -> Iterator[bytes]:
    """`body`, then the session it read through closed: after the last byte, or when the
    download is cut short. The application context closed that session once already, as
    the view answered; reading the stream opened it again on a connection that nothing
    else gives back, left in its transaction (on SQLite, holding the write lock for good:
    no one could save anything after one export from this page).

    The stream only reads, so on SQLite its transaction begins DEFERRED: a long export
    does not hold the write lock, and others save while it runs (from a snapshot of its
    own, in WAL mode, so the file stays consistent)."""
    try:
        ctx.session.connection(execution_options={SQLITE_BEGIN: "DEFERRED"})
        yield from body
    finally:
        ctx.session.close()
