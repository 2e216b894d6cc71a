"""Related-case suggestions a researcher dismissed: which pair of records, for which
reason. Ids, a reason code and who and when only: never the value the two share."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped

from incidents.db import Base, UtcDateTime, enum_type, restricted, utcnow, uuid_pk
from incidents.models.organisation import TeamScoped


class SuggestionReason(enum.StrEnum):
    """Why two records are suggested together: the blind index they share a term of."""

    SAME_UNIT = "same_unit"
    SAME_PERPETRATOR_NAME = "same_perpetrator_name"
    SAME_PLACE = "same_place"
    SAME_PERSON_NAME = "same_person_name"


class SuggestionDismissal(TeamScoped, Base):
    """A pair marked "not related": `first_id` and `second_id` (the smaller id first, so
    that a pair dismissed from either record's page is the same row) are not suggested
    together for `reason` again. Incidents on an incident's page, people on a person's."""

    __tablename__ = "suggestion_dismissals"
    __table_args__ = (
        UniqueConstraint("record_table", "first_id", "second_id", "reason"),
        CheckConstraint("first_id < second_id", name="ordered_pair"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    record_table: Mapped[str] = restricted(String(63), comment="incidents or persons")
    first_id: Mapped[uuid.UUID] = restricted(Uuid)
    second_id: Mapped[uuid.UUID] = restricted(Uuid, index=True)
    reason: Mapped[SuggestionReason] = restricted(enum_type(SuggestionReason, "suggestion_reason"))
    dismissed_at: Mapped[datetime] = restricted(UtcDateTime, default=utcnow)
    dismissed_by: Mapped[str] = restricted(String(254), comment="e-mail or 'cli:<os user>'")
    dismissed_by_id: Mapped[uuid.UUID | None] = restricted(ForeignKey("users.id"))
