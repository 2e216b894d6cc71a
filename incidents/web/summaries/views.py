"""Redacted case summaries: one case, or every shareable case of the reader's teams as
one printable page (one case per printed sheet), and their JSON downloads."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, render_template, request
from flask.typing import ResponseReturnValue

from incidents.redaction import Profile
from incidents.services import consent_uses, erasure, export, summaries
from incidents.web.boundary import context
from incidents.web.errors import render_error

blueprint = Blueprint("summaries", __name__)


class _BadProfile(Exception):
    pass


def _profile() -> Profile:
    try:
        return summaries.parse_profile(request.args.get("profile"))
    except ValueError as exc:
        raise _BadProfile(str(exc)) from None


@blueprint.errorhandler(_BadProfile)
def _bad_profile(error: _BadProfile) -> tuple[str, int]:
    return render_error(400, str(error), "Unknown summary profile")


def _template_values(profile: Profile) -> dict[str, Any]:
    return {
        "profile": profile,
        "profiles": summaries.SUMMARY_PROFILES,
        "page_size": summaries.PAGE_SIZE,
        "use_phrase": consent_uses.USE_PHRASES[consent_uses.PROFILE_USES[profile]],
    }


@blueprint.route("/incidents/<incident:reference>/summary")
def case_summary(reference: str) -> ResponseReturnValue:
    profile = _profile()
    tombstone = erasure.tombstone_for(context(), reference)
    if tombstone is not None:  # only the tombstone is left
        return render_template("errors/erased.html", tombstone=tombstone), 410
    summary = summaries.summary_of(context(), reference, profile)
    return render_template("summaries/case.html", summary=summary, **_template_values(profile))


@blueprint.route("/summaries")
def all_summaries() -> str:
    profile = _profile()
    after = request.args.get("after") or None
    page = summaries.summaries_page(context(), profile, after=after[:30] if after else None)
    return render_template("summaries/all.html", page=page, **_template_values(profile))


@blueprint.route("/incidents/<incident:reference>/summary/export")
def export_summary(reference: str) -> Response:
    profile = _profile()
    document = export.export_case_summary(context(), reference, profile)
    return _download(json.dumps(document, ensure_ascii=False, indent=2), reference, profile)


@blueprint.route("/summaries/export")
def export_summaries() -> Response:
    profile = _profile()
    ctx = context()
    plan = export.start_summary_export(ctx, profile)
    out = io.StringIO()
    export.write_summary_export(ctx, plan, out)
    return _download(out.getvalue(), "cases", profile)


def _download(text: str, name: str, profile: Profile) -> Response:
    day = datetime.now(UTC).date().isoformat()
    response = Response(text, mimetype="application/json")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="summary-{name}-{profile.value}-{day}.json"'
    )
    return response
