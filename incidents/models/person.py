"""People named in records, what was done to whom (acts), and by whom (involvements)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, relationship

from incidents.db import (
    Base,
    Versioned,
    created_at,
    enum_type,
    public,
    restricted,
    secret,
    updated_at,
    uuid_pk,
)
from incidents.models.incident import Incident
from incidents.models.organisation import TeamScoped
from incidents.models.vocabularies import (
    ActEndStatus,
    ActType,
    AgeBand,
    Attribution,
    DatePrecision,
    Gender,
    InvolvementDegree,
    PerpetratorKind,
)


class Person(Versioned, TeamScoped, Base):
    """Shown everywhere by its pseudonymous reference; identifying details are secret."""

    __tablename__ = "persons"

    id: Mapped[uuid.UUID] = uuid_pk()
    reference: Mapped[str] = restricted(String(20), unique=True, comment="e.g. PER-0042")
    full_name: Mapped[bytes | None] = secret("encrypted")
    aliases: Mapped[bytes | None] = secret("one per line, encrypted")
    date_of_birth: Mapped[bytes | None] = secret("ISO date or partial date, encrypted")
    contact: Mapped[bytes | None] = secret("encrypted")
    gender: Mapped[Gender] = restricted(enum_type(Gender, "gender"), default=Gender.UNKNOWN)
    age_band: Mapped[AgeBand] = restricted(enum_type(AgeBand, "age_band"), default=AgeBand.UNKNOWN)
    # As the person describes themselves, in their words; NULL is "not recorded". Apart
    # from `gender` (how the record sorts people in counts), and secret, unlike it.
    sexual_orientation: Mapped[bytes | None] = secret("as they self-identify, encrypted")
    gender_identity: Mapped[bytes | None] = secret("as they self-identify, encrypted")
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class Act(Versioned, TeamScoped, Base):
    """What was done to a person in an incident."""

    __tablename__ = "acts"

    id: Mapped[uuid.UUID] = uuid_pk()
    person_id: Mapped[uuid.UUID] = restricted(ForeignKey("persons.id"), index=True)
    incident_id: Mapped[uuid.UUID] = restricted(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    act_type: Mapped[ActType] = public(enum_type(ActType, "act_type"))
    start_date: Mapped[date | None] = restricted(Date)
    start_precision: Mapped[DatePrecision] = restricted(
        enum_type(DatePrecision, "start_precision"), default=DatePrecision.UNKNOWN
    )
    end_date: Mapped[date | None] = restricted(Date)
    end_precision: Mapped[DatePrecision] = restricted(
        enum_type(DatePrecision, "end_precision"), default=DatePrecision.UNKNOWN
    )
    end_status: Mapped[ActEndStatus] = public(
        enum_type(ActEndStatus, "act_end_status"), default=ActEndStatus.UNKNOWN
    )
    attribution: Mapped[Attribution] = public(
        enum_type(Attribution, "attribution"), default=Attribution.UNKNOWN
    )
    notes: Mapped[bytes | None] = secret("free text, encrypted")
    created_at: Mapped[datetime] = created_at()

    person: Mapped[Person] = relationship()
    incident: Mapped[Incident] = relationship()
    involvements: Mapped[list[Involvement]] = relationship(
        back_populates="act", cascade="all, delete-orphan"
    )


class Involvement(Versioned, TeamScoped, Base):
    """A perpetrator's part in an act."""

    __tablename__ = "involvements"

    id: Mapped[uuid.UUID] = uuid_pk()
    act_id: Mapped[uuid.UUID] = restricted(ForeignKey("acts.id", ondelete="CASCADE"), index=True)
    perpetrator_kind: Mapped[PerpetratorKind] = public(
        enum_type(PerpetratorKind, "perpetrator_kind"), default=PerpetratorKind.UNKNOWN
    )
    perpetrator_names: Mapped[bytes | None] = secret("names, encrypted")
    units: Mapped[bytes | None] = secret("units or formations, encrypted")
    degree: Mapped[InvolvementDegree] = public(
        enum_type(InvolvementDegree, "involvement_degree"), default=InvolvementDegree.SUSPECTED
    )
    created_at: Mapped[datetime] = created_at()

    act: Mapped[Act] = relationship(back_populates="involvements")
