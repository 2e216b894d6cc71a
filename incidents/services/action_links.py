"""Links from an advocacy action to the reports that support it, made only when the
report may serve what the action does with it.

A link is refused when the report's source, or anyone with an act in its incident, has
not consented to a use the action's kind needs (incidents/services/consent_uses.py);
the refusal names the use and counts who, never who they are, and is audited. A link
made under consent that is later withdrawn stays, flagged (incidents/services/
advocacy_work.py), until someone removes it — which is audited too.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from incidents.audit.actions import AuditAction
from incidents.audit.log import record_event
from incidents.context import Context
from incidents.errors import NotFound, ValidationError
from incidents.models.advocacy import ActionLink, AdvocacyAction
from incidents.models.report import Report
from incidents.models.vocabularies import ActionKind
from incidents.permissions import Permission
from incidents.records.fields import Problem, RecordLink
from incidents.records.kinds import ACTION_LINK, ADVOCACY_ACTION, REPORT
from incidents.repositories import action_work as queries
from incidents.repositories import records as record_queries
from incidents.services import records
from incidents.services.consent_uses import USES_BY_KIND, MissingConsent, missing_consents, refusal

# What each kind of action is, in a refusal: "RPT-2017-0003 cannot support <this>: …".
PURPOSES: dict[ActionKind, str] = {
    ActionKind.PETITION: "a petition",
    ActionKind.PROTEST: "a protest",
    ActionKind.PUBLIC_STATEMENT: "a public statement",
    ActionKind.LETTER: "a letter",
    ActionKind.MEETING: "a meeting",
    ActionKind.UN_SUBMISSION: "a UN submission",
    ActionKind.MEDIA_OUTREACH: "media outreach",
    ActionKind.LITIGATION: "litigation",
    ActionKind.OTHER: "this action",
}
LINK_FIELDS = ("report", "note")
REPORT_OPTIONS = 200  # offered on the form; any other can be typed


class LinkRefused(ValidationError):
    """The report may not serve the action: `missing` says which uses and who."""

    def __init__(
        self, action: AdvocacyAction, report: Report, missing: tuple[MissingConsent, ...]
    ) -> None:
        message = refusal(report.reference, missing, PURPOSES[action.kind])
        super().__init__(message, {"report": message})
        self.action = action
        self.report = report
        self.missing = missing


@dataclass(frozen=True)
class Removal:
    """A link about to be removed, as the confirmation shows it."""

    link_id: uuid.UUID
    action_reference: str
    report_reference: str
    note: str
    lock_version: int


def report_options(ctx: Context, action: AdvocacyAction) -> list[tuple[str, str | None]]:
    """References of the newest reports of the action's team, with their incidents'."""
    return queries.report_choices(ctx.session, action.team_id, REPORT_OPTIONS)


def purpose_of(action: AdvocacyAction) -> str:
    return PURPOSES[action.kind]


def missing_for(action: AdvocacyAction, report: Report) -> tuple[MissingConsent, ...]:
    """What the report lacks today to serve the action's kind (empty: nothing)."""
    return missing_consents(report, USES_BY_KIND[action.kind])


def link_report(
    ctx: Context,
    action: AdvocacyAction | str,
    raw: Mapping[str, object],
    *,
    audit_refusal: bool = True,
    record_id: uuid.UUID | None = None,
) -> ActionLink:
    """Link the report named in `raw` ("report": its reference; "note") to `action` (or
    its reference), in the action's team. LinkRefused when consent is missing — audited
    unless `audit_refusal` is False (a page records it outside its savepoint, which the
    refusal rolls back) — and ValidationError for no such report or one already linked.
    An import gives the id the link has in its file (`record_id`)."""
    found = _action(ctx, action)
    unknown = {name: "This field does not exist here." for name in raw if name not in LINK_FIELDS}
    if unknown:
        raise ValidationError.of(unknown)
    report = _report(ctx, found, raw.get("report"))
    if queries.link_between(ctx.session, found.id, report.id) is not None:
        raise ValidationError.on(
            "report", f"{report.reference} is already linked to {found.reference}."
        )
    missing = missing_for(found, report)
    if missing:
        refused = LinkRefused(found, report, missing)
        if audit_refusal:
            record_refusal(ctx, refused)
        raise refused
    values = {"action": found.reference, "report": report.reference, "note": raw.get("note")}
    link: ActionLink = records.create(ctx, ACTION_LINK, values, record_id=record_id)
    return link


def check_kind_change(action: AdvocacyAction, raw: Mapping[str, object]) -> None:
    """Refuse a new kind for `action` that a linked report may not serve (a petition made
    a UN submission needs every linked report's consent to transfer), naming the report
    and what is missing; the links made under the old kind would otherwise stand."""
    try:
        kind = ActionKind(str(raw.get("kind", "")))
    except ValueError:
        return  # not a kind at all: the registry's own check says so
    if kind is action.kind:
        return
    for link in action.links:
        missing = missing_consents(link.report, USES_BY_KIND[kind])
        if missing:
            message = refusal(link.report.reference, missing, PURPOSES[kind])
            raise ValidationError.on(
                "kind", f"{message} Remove its link first, or keep the kind of action."
            )


def record_refusal(ctx: Context, refused: LinkRefused) -> None:
    """One audit event on the action: which report was refused and for which uses —
    counts of people, never who."""
    record_event(
        ctx.session,
        ctx.actor,
        AuditAction.LINK_REFUSED,
        refused.action,
        fields=["links"],
        detail={
            "report": refused.report.reference,
            "uses": sorted(m.use.value for m in refused.missing),
        },
    )


def for_removal(ctx: Context, link_id: uuid.UUID) -> Removal:
    """A link the principal may remove (advocacy:write in its action's team)."""
    link: ActionLink = records.find(ctx, ACTION_LINK, link_id, ACTION_LINK.write_permission)
    return Removal(
        link.id, link.action.reference, link.report.reference, link.note, link.lock_version
    )


def remove_link(ctx: Context, link_id: uuid.UUID, lock_version: int | None = None) -> Removal:
    """Remove a link (advocacy:write in its action's team), with one audit event on the
    action naming the report. With `lock_version`, a link changed since is refused."""
    link: ActionLink = records.find(ctx, ACTION_LINK, link_id, ACTION_LINK.write_permission)
    removed = for_removal(ctx, link_id)
    if lock_version is not None and lock_version != link.lock_version:
        raise ValidationError(
            f"The link to {removed.report_reference} changed since you opened it; look again."
        )
    action = link.action
    ctx.session.delete(link)
    ctx.session.flush()
    record_event(
        ctx.session,
        ctx.actor,
        AuditAction.LINK_REMOVED,
        action,
        fields=["links"],
        detail={"report": removed.report_reference, "link": str(removed.link_id)},
    )
    return removed


def _action(ctx: Context, action: AdvocacyAction | str) -> AdvocacyAction:
    key = action if isinstance(action, str) else action.id
    found: AdvocacyAction = records.find(ctx, ADVOCACY_ACTION, key, ACTION_LINK.write_permission)
    return found


def _report(ctx: Context, action: AdvocacyAction, raw: object) -> Report:
    """The report named, in the action's team; another team's is no report, as is an
    erased one."""
    try:
        link = REPORT_FIELD.parse(raw)
    except Problem as problem:
        raise ValidationError.on("report", str(problem)) from None
    assert isinstance(link, RecordLink)  # the field is required
    no_such = ValidationError.on(
        "report", f"There is no report {link.key} in this team; check the reference."
    )
    try:
        report: Report = records.find(ctx, REPORT, link.key, Permission.CASE_READ)
    except NotFound:
        raise no_such from None
    if report.team_id != action.team_id:
        raise no_such
    if record_queries.is_erased(ctx.session, REPORT.table, report.id):
        raise ValidationError.on("report", f"{link.key} was erased; link another report.")
    return report


REPORT_FIELD = ACTION_LINK.field("report")
