"""The erasure review queue: records whose consent to be kept in the database was
withdrawn, each waiting for a researcher of its team to erase it or keep it (with a
justification, such as a legal obligation).

Nothing identifying: references, ids, dates and who decided. The decision note, in the
decider's own words, is sealed for the team's researchers.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Uuid, text
from sqlalchemy.orm import Mapped

from incidents.db import (
    Base,
    UtcDateTime,
    Versioned,
    enum_type,
    restricted,
    secret,
    utcnow,
    uuid_pk,
)
from incidents.models.organisation import TeamScoped


class ReviewState(enum.StrEnum):
    PENDING = "pending"
    ERASED = "erased"
    KEPT = "kept"


_PENDING = text("state = 'pending'")


class ErasureReview(Versioned, TeamScoped, Base):
    """One record (`record_table`, `record_id`, its `reference` and kind) to be erased or
    kept since `consent_id`, a grant to keep it, was withdrawn. The lock stops two
    researchers deciding the same item at once."""

    __tablename__ = "erasure_reviews"
    __table_args__ = (
        # One open question per record: a second withdrawal does not ask it twice.
        Index(
            "ix_erasure_reviews_one_pending_per_record",
            "record_table",
            "record_id",
            unique=True,
            sqlite_where=_PENDING,
            postgresql_where=_PENDING,
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    record_table: Mapped[str] = restricted(String(63))
    record_id: Mapped[uuid.UUID] = restricted(Uuid, index=True)
    reference: Mapped[str] = restricted(String(40))
    kind: Mapped[str] = restricted(String(32), comment="the record's kind: person, source, report")
    consent_id: Mapped[uuid.UUID] = restricted(ForeignKey("consents.id"), index=True)
    raised_at: Mapped[datetime] = restricted(UtcDateTime, default=utcnow)
    raised_by: Mapped[str] = restricted(String(254), comment="e-mail or 'cli:<os user>'")
    raised_by_id: Mapped[uuid.UUID | None] = restricted(ForeignKey("users.id"))
    state: Mapped[ReviewState] = restricted(
        enum_type(ReviewState, "erasure_review_state"), default=ReviewState.PENDING
    )
    decided_at: Mapped[datetime | None] = restricted(UtcDateTime)
    decided_by: Mapped[str | None] = restricted(String(254), comment="e-mail or 'cli:<os user>'")
    decided_by_id: Mapped[uuid.UUID | None] = restricted(ForeignKey("users.id"))
    decision_note: Mapped[bytes | None] = secret("why erased or kept, in the decider's words")
