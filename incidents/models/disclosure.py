"""Reports that went out under a consent: each report a redacted summary counted, shown
on a page or exported, with the use its people and source had consented to.

When that consent is withdrawn, these rows say which summaries and exports made before
already used it; later ones leave the report out by themselves (the consent is read
afresh each time). One `batch_id` for each summary page or export.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped

from incidents.db import Base, UtcDateTime, enum_type, restricted, utcnow, uuid_pk
from incidents.models.organisation import TeamScoped
from incidents.models.vocabularies import ConsentUse


class ReportDisclosure(TeamScoped, Base):
    __tablename__ = "report_disclosures"

    id: Mapped[uuid.UUID] = uuid_pk()
    batch_id: Mapped[uuid.UUID] = restricted(Uuid, index=True, comment="one summary or export")
    report_id: Mapped[uuid.UUID] = restricted(ForeignKey("reports.id"), index=True)
    use: Mapped[ConsentUse] = restricted(enum_type(ConsentUse, "consent_use"))
    profile: Mapped[str] = restricted(String(16), comment="partner or public")
    format: Mapped[str] = restricted(String(8), comment="html (a page), json or csv")
    disclosed_at: Mapped[datetime] = restricted(UtcDateTime, default=utcnow)
    disclosed_by: Mapped[str] = restricted(String(254), comment="e-mail or 'cli:<os user>'")
    disclosed_by_id: Mapped[uuid.UUID | None] = restricted(ForeignKey("users.id"))
