"""The incident list's filters: what a query string may narrow the list to."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass

from incidents.models.vocabularies import IncidentStatus, ViolationType
from incidents.repositories import incidents as incident_queries
from incidents.services import listing


@dataclass(frozen=True)
class IncidentFilters:
    """The incident list's filters, from a query string (values that mean nothing are
    dropped). Months, not days, for the start: the list shows every reader the month."""

    status: IncidentStatus | None = None
    violation_type: ViolationType | None = None
    country: str | None = None
    region: str | None = None
    began_from: str | None = None  # YYYY-MM
    began_to: str | None = None
    reference: str | None = None

    @classmethod
    def from_query(cls, args: Mapping[str, str]) -> IncidentFilters:
        country = (listing.text(args, "country") or "").upper()
        reference = listing.text(args, "reference")
        return cls(
            status=listing.choice(args, "status", IncidentStatus),
            violation_type=listing.choice(args, "violation_type", ViolationType),
            country=country if re.fullmatch("[A-Z]{2}", country) else None,
            region=listing.text(args, "region"),
            began_from=listing.month(args, "began_from"),
            began_to=listing.month(args, "began_to"),
            reference=reference.upper() if reference else None,
        )

    def query_string(self) -> dict[str, str]:
        return {
            name: str(getattr(value, "value", value))
            for name, value in dataclasses.asdict(self).items()
            if value is not None
        }

    @property
    def active(self) -> bool:
        return bool(self.query_string())

    def query(self) -> incident_queries.IncidentQuery:
        return incident_queries.IncidentQuery(
            status=self.status,
            violation_type=self.violation_type,
            country=self.country,
            region=self.region,
            began_from=listing.first_day(self.began_from),
            began_before=listing.first_day_after(self.began_to),
            reference=self.reference,
        )
