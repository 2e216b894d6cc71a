"""An action's responses, follow-ups and links to reports: the forms that add and change
them, the done/undone buttons and the removal of a link. Each is the advocacy lead's
(advocacy:write in the action's team) and goes back to the action's page, where the
section `templates/advocacy/_work.html` shows them to every reader of advocacy work."""

from __future__ import annotations

import uuid
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response
from wtforms import HiddenField, SelectChoice, SelectField, StringField, TextAreaField

from incidents.errors import EditConflict, ValidationError
from incidents.records.kinds import ACTION_RESPONSE, ADVOCACY_ACTION, FOLLOW_UP
from incidents.services import action_links, follow_ups, records
from incidents.web.advocacy.blueprint import blueprint
from incidents.web.boundary import context
from incidents.web.forms import ActionForm, done, submit
from incidents.web.records.editing import CONFLICT, Page, create_page, edit_page
from incidents.web.records.forms import RecordForm, form_for

RESPONSES, FOLLOW_UPS, LINKS = "responses-heading", "follow-ups-heading", "links-heading"
FORM_TEMPLATE = "advocacy/work_form.html"

ResponseForm = form_for(ACTION_RESPONSE, without=("action",))


class FollowUpForm(form_for(FOLLOW_UP, without=("action", "done_at"))):  # type: ignore[misc]
    # The colleagues who may take it, by display name (set per action).
    assignee = SelectField("Assignee", choices=[], validate_choice=False)


class LinkForm(ActionForm):
    report = StringField("Report (required)")
    note = TextAreaField("Note: what the report supports", render_kw={"rows": 4})

    def raw(self) -> dict[str, object]:
        return {"report": self.report.data, "note": self.note.data}


class VersionForm(ActionForm):
    """A button that changes a record: the version it was shown at."""

    lock_version = HiddenField()


def _to_action(reference: str, section: str) -> tuple[str, dict[str, Any]]:
    return "advocacy.show_action", {"reference": reference, "_anchor": section}


def _done(message: str, reference: str, section: str) -> Response:
    endpoint, values = _to_action(reference, section)
    return done(message, endpoint, **values)


def _action_url(reference: str, section: str) -> str:
    endpoint, values = _to_action(reference, section)
    return url_for(endpoint, **values)


def _page(reference: str, section: str, heading: str, submit_label: str, lead: str) -> Page:
    return Page(
        heading=f"{heading} — {reference}",
        back_url=_action_url(reference, section),
        back_label=f"Action {reference}",
        submit_label=submit_label,
        lead=lead,
    )


# -- responses ---------------------------------------------------------------------------


@blueprint.route(
    "/advocacy/actions/<advocacy_action:reference>/responses/new", methods=["GET", "POST"]
)
def new_response(reference: str) -> ResponseReturnValue:
    action = records.find(context(), ADVOCACY_ACTION, reference, ACTION_RESPONSE.write_permission)
    page = _page(
        reference,
        RESPONSES,
        "Record a response",
        "Save response",
        "What the target answered, and when. Give the report that documents it, if one does.",
    )
    return create_page(
        ACTION_RESPONSE,
        ResponseForm(),
        page,
        saved=lambda _: _to_action(reference, RESPONSES),
        team_id=action.team_id,
        fixed={"action": reference},
        template=FORM_TEMPLATE,
    )


@blueprint.route("/advocacy/responses/<uuid:response_id>/edit", methods=["GET", "POST"])
def edit_response(response_id: uuid.UUID) -> ResponseReturnValue:
    response = records.find(
        context(), ACTION_RESPONSE, response_id, ACTION_RESPONSE.write_permission
    )
    reference = response.action.reference
    page = _page(
        reference, RESPONSES, "Edit a response", "Save changes", "What the target answered."
    )
    return edit_page(
        ACTION_RESPONSE,
        response_id,
        ResponseForm(),
        page,
        saved=lambda _: _to_action(reference, RESPONSES),
        template=FORM_TEMPLATE,
    )


# -- follow-ups --------------------------------------------------------------------------


def _follow_up_form(team_id: uuid.UUID) -> FollowUpForm:
    form = FollowUpForm()
    colleagues = follow_ups.assignable(context(), team_id)
    form.assignee.choices = [SelectChoice("", "— nobody yet —")] + [
        SelectChoice(str(c.id), c.name) for c in colleagues
    ]
    return form


def _show(form: RecordForm, page: Page, status: int = 200, **extra: Any) -> ResponseReturnValue:
    return render_template(
        FORM_TEMPLATE, kind=FOLLOW_UP, form=form, page=page, links={}, **extra
    ), status


@blueprint.route(
    "/advocacy/actions/<advocacy_action:reference>/follow-ups/new", methods=["GET", "POST"]
)
def new_follow_up(reference: str) -> ResponseReturnValue:
    ctx = context()
    action = records.find(ctx, ADVOCACY_ACTION, reference, FOLLOW_UP.write_permission)
    form = _follow_up_form(action.team_id)
    page = _page(
        reference,
        FOLLOW_UPS,
        "Add a follow-up",
        "Save follow-up",
        "What is to be done next on this action, by when, and who is on it.",
    )
    outcome = submit(form, lambda: follow_ups.create(ctx, action, form.raw()))
    if outcome.accepted:
        return _done(f"Added a follow-up to {reference}.", reference, FOLLOW_UPS)
    return _show(form, page, outcome.status)


@blueprint.route("/advocacy/follow-ups/<uuid:follow_up_id>/edit", methods=["GET", "POST"])
def edit_follow_up(follow_up_id: uuid.UUID) -> ResponseReturnValue:
    ctx = context()
    follow_up = follow_ups.find(ctx, follow_up_id)
    reference = follow_up.action.reference
    form = _follow_up_form(follow_up.action.team_id)
    page = _page(reference, FOLLOW_UPS, "Edit a follow-up", "Save changes", "What is due next.")
    if not form.is_submitted():
        if not form.draft_restored:
            form.description.data = follow_up.description
            form.due_on.data = follow_up.due_on.isoformat() if follow_up.due_on else ""
            form.assignee.data = str(follow_up.assignee_id or "")
            form.lock_version.data = str(follow_up.lock_version)
        return _show(form, page)
    try:
        outcome = submit(
            form,
            lambda: follow_ups.update(
                ctx, follow_up_id, form.raw(), lock_version=_version(form.lock_version.data)
            ),
        )
    except EditConflict as conflict:
        # What was typed stays in the form; saving again replaces what the other saved.
        form.lock_version.data = str(follow_ups.find(ctx, follow_up_id).lock_version)
        return _show(form, page, CONFLICT, conflict=conflict)
    if outcome.accepted:
        changed = outcome.result().changed
        message = "Saved the follow-up." if changed else "Nothing changed in the follow-up."
        return _done(message, reference, FOLLOW_UPS)
    return _show(form, page, outcome.status)


def _mark(follow_up_id: uuid.UUID, done_now: bool) -> Response:
    ctx = context()
    follow_up = follow_ups.find(ctx, follow_up_id)
    reference = follow_up.action.reference
    form = VersionForm()
    target = _action_url(reference, FOLLOW_UPS)
    if not form.validate_on_submit():
        flash("The form had expired; try again.", "error")
        return redirect(target)
    mark = follow_ups.mark_done if done_now else follow_ups.mark_undone
    try:
        outcome = submit(form, lambda: mark(ctx, follow_up_id, _version(form.lock_version.data)))
    except EditConflict:
        flash("Someone else changed this follow-up meanwhile: look at it again.", "error")
        return redirect(target)
    if outcome.accepted:  # a refusal was flashed as it came ("already marked done")
        flash("Marked the follow-up done." if done_now else "Marked the follow-up not done.")
    return redirect(target)


@blueprint.route("/advocacy/follow-ups/<uuid:follow_up_id>/done", methods=["POST"])
def mark_follow_up_done(follow_up_id: uuid.UUID) -> Response:
    return _mark(follow_up_id, True)


@blueprint.route("/advocacy/follow-ups/<uuid:follow_up_id>/undone", methods=["POST"])
def mark_follow_up_undone(follow_up_id: uuid.UUID) -> Response:
    return _mark(follow_up_id, False)


# -- links to reports --------------------------------------------------------------------


@blueprint.route("/advocacy/actions/<advocacy_action:reference>/links/new", methods=["GET", "POST"])
def new_link(reference: str) -> ResponseReturnValue:
    ctx = context()
    action = records.find(ctx, ADVOCACY_ACTION, reference, FOLLOW_UP.write_permission)
    form = LinkForm()
    if not form.is_submitted() and request.args.get("report"):  # "link it again"
        form.report.data = request.args["report"]
        form.note.data = request.args.get("note", "")
    refused: list[action_links.LinkRefused] = []

    def save() -> Any:
        try:
            return action_links.link_report(ctx, action, form.raw(), audit_refusal=False)
        except action_links.LinkRefused as refusal:
            refused.append(refusal)
            raise

    outcome = submit(form, save)
    for refusal in refused:  # outside the savepoint the refusal rolled back
        action_links.record_refusal(ctx, refusal)
    if outcome.accepted:
        link = outcome.result()
        return _done(f"Linked {link.report.reference} to {reference}.", reference, LINKS)
    page = _page(
        reference,
        LINKS,
        "Link a report",
        "Link report",
        "A report of this team that supports the action, and what it supports. The report "
        "is refused if its source or the people of its incident have not consented to "
        f"what {action_links.purpose_of(action)} does with it.",
    )
    options = action_links.report_options(ctx, action)
    return render_template(
        "advocacy/work_link.html", form=form, page=page, options=options, refused=refused
    ), outcome.status


@blueprint.route("/advocacy/links/<uuid:link_id>/remove", methods=["GET", "POST"])
def remove_link(link_id: uuid.UUID) -> ResponseReturnValue:
    ctx = context()
    removal = action_links.for_removal(ctx, link_id)
    target = _action_url(removal.action_reference, LINKS)
    form = VersionForm()
    if request.method == "GET":
        form.lock_version.data = str(removal.lock_version)
        return render_template("advocacy/work_remove.html", form=form, removal=removal, back=target)
    if not form.validate_on_submit():
        flash("The form had expired; try again.", "error")
        return redirect(target)
    version = form.lock_version.data
    try:
        with_version = int(version) if version else None
        action_links.remove_link(ctx, link_id, with_version)
    except (ValueError, ValidationError) as error:
        flash(str(error) if isinstance(error, ValidationError) else "Try again.", "error")
        return redirect(target)
    flash(
        f"Removed the link from {removal.action_reference} to {removal.report_reference}. "
        "To undo, link the report again (Link a report), if consent still allows it."
    )
    return redirect(target)


def _version(text: str | None) -> int:
    try:
        return int(text or "")
    except ValueError:
        return 0  # a form without its version is a change of an unknown one: a conflict
