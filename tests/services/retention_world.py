"""Records on both sides of each retention rule's period, for the retention tests.

Each rule gets three records: one a day past its due date, one due today, one due
tomorrow. The boundary is worked out here by hand (a year back is the same day of the
month, a month back the same day), not with the service's own arithmetic.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from incidents.context import Context
from incidents.db import utcnow
from incidents.models import Incident, Person, Report, RetentionRule, Source
from incidents.models.retention import PeriodUnit
from incidents.models.vocabularies import ReportStatus
from incidents.services import retention_rules
from incidents.services.retention_rules import NewRule
from tests.factories import (
    IncidentFactory,
    PersonFactory,
    ReportFactory,
    SourceFactory,
    TeamFactory,
)

SOURCE_SECRETS = {"identity": "Aslan Testov", "contact": "+7 928 000 00 00"}
REPORT_SECRET = "He was taken from the market at noon."
PERSON_SECRETS = {"full_name": "Ruslan Exampleov", "contact": "ruslan@example.org"}
INCIDENT_SECRETS = {"narrative": "The raid, as told.", "place_detail": "The third house."}
OFFSETS = {"overdue": -1, "today": 0, "tomorrow": 1}  # days after the boundary


@dataclass
class RetentionWorld:
    today: dt.date
    team_id: uuid.UUID
    rules: dict[str, RetentionRule] = field(default_factory=dict)
    # rule name -> offset name -> record
    records: dict[str, dict[str, Any]] = field(default_factory=dict)

    def due(self) -> set[tuple[str, str | None]]:
        """(reference, field) of every record expected to be due today."""
        return {
            (record.reference, self.rules[name].field)
            for name, by_offset in self.records.items()
            for offset, record in by_offset.items()
            if offset != "tomorrow"
        }

    def not_due(self) -> list[tuple[str, Any]]:
        return [(name, by_offset["tomorrow"]) for name, by_offset in self.records.items()]


def years_back(day: dt.date, years: int) -> dt.date:
    """The same day `years` earlier (29 February: the 28th, a day past the boundary)."""
    if (day.month, day.day) == (2, 29):
        return dt.date(day.year - years, 2, 28)
    return day.replace(year=day.year - years)


def _at_noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)


def set_dates(session: Session, record: Any, **values: object) -> None:
    """Dates as if the record were old: written past the ORM, so `onupdate` keeps out."""
    model = type(record)
    session.flush()
    session.execute(
        update(model)
        .where(model.id == record.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.expire(record)


def _rule(ctx: Context, kind: str, field_name: str, count: int, unit: str, since: str) -> Any:
    return retention_rules.add_rule(ctx, NewRule(kind, field_name, str(count), unit, since))


def build(ctx: Context, session: Session, today: dt.date | None = None) -> RetentionWorld:
    today = today or utcnow().date()
    team = TeamFactory()
    world = RetentionWorld(today, team.id)
    world.rules = {
        "source contact": _rule(ctx, "source", "contact", 2, PeriodUnit.YEARS, "last_report"),
        "report narrative": _rule(ctx, "report", "narrative", 1, PeriodUnit.YEARS, "rejected_on"),
        "person": _rule(ctx, "person", "", 5, PeriodUnit.YEARS, "created_at"),
        "incident": _rule(ctx, "incident", "", 30, PeriodUnit.DAYS, "updated_at"),
    }
    boundaries = {
        "source contact": years_back(today, 2),
        "report narrative": years_back(today, 1),
        "person": years_back(today, 5),
        "incident": today - dt.timedelta(days=30),
    }
    recent = _at_noon(today)
    for name, boundary in boundaries.items():
        world.records[name] = {}
        for offset_name, offset in OFFSETS.items():
            since = boundary + dt.timedelta(days=offset)
            world.records[name][offset_name] = _make(session, name, team.id, since, recent)
    return world


def _make(
    session: Session, name: str, team_id: uuid.UUID, since: dt.date, recent: dt.datetime
) -> Any:
    if name == "source contact":
        source: Source = SourceFactory(team_id=team_id, secrets=dict(SOURCE_SECRETS))
        # An older report and the last one: the period runs from the last.
        ReportFactory(team_id=team_id, source_id=source.id, received_on=since - dt.timedelta(400))
        ReportFactory(team_id=team_id, source_id=source.id, received_on=since)
        set_dates(session, source, created_at=recent, updated_at=recent)
        return source
    if name == "report narrative":
        report: Report = ReportFactory(
            team_id=team_id, status=ReportStatus.REJECTED, secrets={"narrative": REPORT_SECRET}
        )
        set_dates(session, report, created_at=recent, updated_at=_at_noon(since))
        return report
    if name == "person":
        person: Person = PersonFactory(team_id=team_id, secrets=dict(PERSON_SECRETS))
        set_dates(session, person, created_at=_at_noon(since), updated_at=recent)
        return person
    incident: Incident = IncidentFactory(team_id=team_id, secrets=dict(INCIDENT_SECRETS))
    set_dates(session, incident, created_at=_at_noon(since), updated_at=_at_noon(since))
    return incident
