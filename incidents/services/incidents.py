"""Reading incidents as a given user sees them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from incidents.audit.log import Actor, record_event
from incidents.crypto.vault import FieldVault, secret_field_names
from incidents.db import FieldClass
from incidents.errors import NotFound
from incidents.models.incident import Incident
from incidents.models.user import User
from incidents.permissions import Permission, can, ensure, visible_field_classes
from incidents.redaction import visible_values
from incidents.repositories import incidents as incident_queries
from incidents.services.evidence import evidence_for_reports

PAGE_SIZE = 50


@dataclass(frozen=True)
class IncidentPage:
    incidents: Sequence[Incident]
    next_after: str | None


@dataclass
class IncidentView:
    """An incident as one user may see it: only the values of the field classes they may read."""

    reference: str
    classes: frozenset[FieldClass]
    fields: dict[str, Any]
    violation_types: list[str]
    state_responses: list[dict[str, Any]] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)
    acts: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    can_add_evidence: bool = False
    can_erase: bool = False

    @property
    def shows_secrets(self) -> bool:
        return FieldClass.SECRET in self.classes

    @property
    def shows_restricted(self) -> bool:
        return FieldClass.RESTRICTED in self.classes


def list_incidents(
    session: Session, user: User, after: str | None = None, limit: int = PAGE_SIZE
) -> IncidentPage:
    """One page of the incidents of the user's teams; no decryption on list pages."""
    ensure(user, Permission.CASE_READ)
    rows = incident_queries.incident_page(session, user.team_ids, after, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return IncidentPage(rows, rows[-1].reference if more and rows else None)


def view_incident(
    session: Session, vault: FieldVault, user: User, actor: Actor, reference: str
) -> IncidentView:
    """The incident `reference` as `user` may see it; decrypts (and audits) only if allowed."""
    incident = incident_queries.incident_by_reference(session, reference)
    if incident is None:
        raise NotFound(f"no incident {reference}")
    classes = visible_field_classes(user, incident)  # NotFound for another team
    decrypted = None
    if FieldClass.SECRET in classes:
        names = secret_field_names(Incident)
        decrypted = vault.unseal(incident, *names)
        record_event(session, actor, "secret.decrypt", incident, fields=names)
    view = IncidentView(
        reference=incident.reference,
        classes=classes,
        fields=visible_values(incident, classes, decrypted),
        violation_types=[v.value for v in incident.violation_types],
    )
    view.fields["start_month_year"] = incident.start_month_year
    view.state_responses = [visible_values(r, classes) for r in incident.state_responses]
    for act in incident_queries.acts_of_incident(session, incident):
        values = visible_values(act, classes - {FieldClass.SECRET})
        if FieldClass.RESTRICTED in classes:
            values["person_reference"] = act.person.reference
        view.acts.append(values)
    if FieldClass.RESTRICTED in classes:
        reports = incident_queries.reports_of_incident(session, incident)
        evidence = evidence_for_reports(session, vault, actor, user, reports)
        for report in reports:
            values = visible_values(report, classes - {FieldClass.SECRET})
            if report.source is not None:
                values["source_kind"] = report.source.kind.value
                values["source_reliability"] = report.source.reliability.value
            values["evidence"] = evidence.get(report.id, [])
            view.reports.append(values)
        view.can_add_evidence = can(user, Permission.CASE_WRITE, incident)
    view.can_erase = can(user, Permission.CASE_WRITE, incident)
    view.actions = [
        visible_values(action, classes - {FieldClass.SECRET})
        for action in incident_queries.actions_supported_by(session, incident)
    ]
    return view
