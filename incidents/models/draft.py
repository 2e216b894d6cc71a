"""What a user was typing when their session ended: kept sealed until they log in again
and open the page, or until it expires (incidents/services/drafts.py)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped

from incidents.db import Base, UtcDateTime, created_at, restricted, system, uuid_pk

MAX_PATH_LENGTH = 500


class Draft(Base):
    """A form that arrived after its user's session had timed out.

    The content is sealed like a TOTP secret, not as a case record's secret field: a
    draft belongs to a user, not to a team, and is never exported or shown as case data;
    its data key is bound to the user, so content moved to another user's row does not
    open.
    """

    __tablename__ = "drafts"
    __table_args__ = (Index("ix_drafts_user_id_path", "user_id", "path"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = restricted(ForeignKey("users.id", ondelete="CASCADE"))
    path: Mapped[str] = restricted(
        String(MAX_PATH_LENGTH), comment="the page the form was posted to, and is restored on"
    )
    content: Mapped[bytes] = system(
        LargeBinary, comment="the form's fields as JSON, sealed with the draft's data key"
    )
    created_at: Mapped[datetime] = created_at()
    expires_at: Mapped[datetime] = restricted(
        UtcDateTime, index=True, comment="discarded from then on, restored or not"
    )
