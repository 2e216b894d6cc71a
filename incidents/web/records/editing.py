"""The one way a page creates or edits a record: the form from the registry, the
service call in a savepoint, messages beside the fields, and — when someone else saved
first — both versions side by side with what was typed kept in the form."""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app, render_template
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, URLSafeSerializer
from wtforms import SelectChoice

from incidents.context import Context
from incidents.errors import EditConflict
from incidents.records.fields import Link
from incidents.records.kind import RecordKind
from incidents.services import editing, records
from incidents.web.boundary import context
from incidents.web.forms import done, submit
from incidents.web.records.forms import RecordForm

CONFLICT = 409
# A record's reference in a heading ("Edit incident INC-2024-0001", "Add an act — …").
_REFERENCE_IN_HEADING = re.compile(r"\s*(?:—\s*)?\b[A-Z]{2,5}(?:-\d{4})?-\d{4,}\b")


@dataclass(frozen=True)
class Page:
    """What the form page says around the form."""

    heading: str
    back_url: str
    back_label: str
    submit_label: str
    lead: str | None = None

    @property
    def title(self) -> str:
        """The heading without the record's reference: a page's title stays in the
        browser's history and tab, so it names no case."""
        return _REFERENCE_IN_HEADING.sub("", self.heading).strip()


def team_choices(ctx: Context) -> list[SelectChoice]:
    """The teams the user works in, by name: where a new record may go."""
    teams = sorted(ctx.user.member_teams, key=lambda t: t.name)
    return [SelectChoice(str(t.id), t.name) for t in teams]


def create_page(
    kind: RecordKind,
    form: RecordForm,
    page: Page,
    *,
    saved: Callable[[Any], tuple[str, dict[str, Any]]],
    team_id: uuid.UUID | None = None,
    fixed: Mapping[str, object] | None = None,
    template: str = "records/form.html",
) -> ResponseReturnValue:
    """Show and save the form for a new record of `kind`: in `team_id` when it follows
    from the page (an act of an incident), else in the team chosen on the form. `fixed`
    values (the incident of that act) are not on the form. `saved(record)` names the
    endpoint and its values to go to next."""
    ctx = context()
    records.ensure_may_create(ctx, kind, team_id)
    choosing_team = team_id is None and kind.team_scoped
    if choosing_team:
        form.team.choices = team_choices(ctx)
        if len(form.team.choices) == 1 and not form.is_submitted():
            form.team.data = form.team.choices[0].value

    def save() -> Any:
        chosen = uuid.UUID(form.team.data) if choosing_team else team_id
        return records.create(ctx, kind, {**form.raw(), **(fixed or {})}, team_id=chosen)

    outcome = submit(form, save)
    if outcome.accepted:
        record = outcome.result()
        endpoint, values = saved(record)
        return done(f"Saved {_name(kind, record)}.", endpoint, **values)
    return _render(template, kind, form, page, team_id, choosing_team), outcome.status


def edit_page(
    kind: RecordKind,
    key: str | uuid.UUID,
    form: RecordForm,
    page: Page,
    *,
    saved: Callable[[Any], tuple[str, dict[str, Any]]],
    template: str = "records/form.html",
    check: Callable[[Mapping[str, object]], None] | None = None,
) -> ResponseReturnValue:
    """Show the record `key` in its edit form and save what changed. An edit from an
    older version is refused with both versions shown and the typed text kept. `check`
    sees what was typed before it is saved, and refuses it with a ValidationError (a rule
    that needs the database, such as the consent an action's links rely on)."""
    ctx = context()
    # Another team's record, or an erased one, is no record, and one the user may not
    # change is refused, before the form is even read.
    editing.editable_record(ctx, kind, key)
    if not form.is_submitted():
        editable = editing.editable_values(ctx, kind, key, form.input_names)
        if not form.draft_restored:  # a draft holds what was typed, and its version
            form.fill(editable.values)
            form.lock_version.data = str(editable.lock_version)
            form.opened.data = opened_digests(kind, editable.values)
        return _render(template, kind, form, page, editable.team_id, False)

    def save() -> records.Updated:
        if check is not None:
            check(form.raw())
        return records.update(ctx, kind, key, form.raw(), lock_version=_version(form))

    try:
        outcome = submit(form, save)
    except EditConflict as conflict:
        stored = editing.editable_values(ctx, kind, key, form.input_names)
        theirs = take_theirs_where_untouched(kind, form, stored.values)
        # Saving again from here replaces what is stored in the fields both changed,
        # knowingly: the form now carries the stored version.
        form.lock_version.data = str(stored.lock_version)
        form.opened.data = opened_digests(kind, stored.values)
        return _render(
            template,
            kind,
            form,
            page,
            stored.team_id,
            False,
            conflict=conflict,
            differences=[
                d
                for d in editing.differences(kind, stored.values, form.raw())
                if theirs is None or d.name in theirs
            ],
        ), CONFLICT
    if outcome.accepted:
        updated = outcome.result()
        endpoint, values = saved(updated.record)
        if not updated.changed:
            return done(f"Nothing changed in {_name(kind, updated.record)}.", endpoint, **values)
        labels = ", ".join(kind.field(name).label for name in updated.changed)
        return done(f"Saved {_name(kind, updated.record)}: {labels}.", endpoint, **values)
    # Refused: the links offer the records of every team of the user, as on a new record.
    return _render(template, kind, form, page, None, False), outcome.status


def opened_digests(kind: RecordKind, values: Mapping[str, object]) -> str:
    """What the form's fields hold now, as a signed map of keyed digests."""
    return _signer().dumps({name: _digest(kind, name, value) for name, value in values.items()})


def take_theirs_where_untouched(
    kind: RecordKind, form: RecordForm, stored: Mapping[str, object]
) -> set[str] | None:
    """A three-way merge after an edit conflict: each field the editor left as it was
    opened takes what the other editor stored, so that saving again loses neither's
    changes. Returns the fields the other editor changed too (None without the digests
    of the opened form — an old or tampered page —: every field is then the editor's
    own, as typed, and any may differ)."""
    try:
        opened = _signer().loads(form.opened.data or "")
    except BadSignature:
        return None
    if not isinstance(opened, dict):
        return None
    typed = form.raw()
    theirs = set()
    for name in form.input_names:
        if name not in stored:
            continue
        if opened.get(name) != _digest(kind, name, stored[name]):
            theirs.add(name)
        if opened.get(name) == _digest(kind, name, typed.get(name)):
            form._fields[name].data = stored[name]
    return theirs


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(_secret_key(), salt="incidents.record-form.opened")


def _secret_key() -> str:
    key: str = current_app.config["SECRET_KEY"]
    return key


def _digest(kind: RecordKind, name: str, value: object) -> str:
    # Keyed: a page saved from the browser does not let anyone test guesses of a secret.
    text = editing.comparable(kind.field(name), value)
    key = hashlib.sha256(f"{_secret_key()}:record-form-digest".encode()).digest()
    return hmac.new(key, f"{name}\0{text}".encode(), hashlib.sha256).hexdigest()[:32]


def _version(form: RecordForm) -> int:
    try:
        return int(form.lock_version.data or "")
    except ValueError:
        return 0  # a form without its version is an edit of an unknown one: a conflict


def _render(
    template: str,
    kind: RecordKind,
    form: RecordForm,
    page: Page,
    team_id: uuid.UUID | None,
    choosing_team: bool,
    **extra: Any,
) -> str:
    ctx = context()
    teams = [team_id] if team_id is not None else None
    links = {
        spec.name: editing.link_options(ctx, spec.kind, teams)
        for spec in kind.fields
        if isinstance(spec, Link)
        and spec.name in form.input_names
        and spec.name not in form.chosen_links  # those the page offers as a list
    }
    return render_template(
        template,
        kind=kind,
        form=form,
        page=page,
        links=links,
        choosing_team=choosing_team,
        **extra,
    )


def _name(kind: RecordKind, record: Any) -> str:
    reference = getattr(record, "reference", None)
    return f"{kind.label} {reference}" if reference else f"the {kind.label}"
