"""What a withdrawn consent reaches beyond the grant itself.

Withdrawing consent to be kept in the database puts the record (a person; a source and
its reports) in the erasure review queue of its team (incidents/services/
erasure_reviews.py). Withdrawing any other use names the redacted summaries and exports
that already used it for the reports that relied on it (incidents/services/
disclosures.py); the advocacy links that did are named by the withdrawal itself and
flagged on their actions. Whatever is made later asks for the consent again, and leaves
the reports out or refuses them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from incidents.context import Context
from incidents.models.consent import Consent
from incidents.models.vocabularies import ConsentUse
from incidents.repositories import consents as consent_queries
from incidents.repositories import erasure_reviews as queries
from incidents.services import erasure_reviews


@dataclass(frozen=True)
class EarlierDisclosure:
    """A summary page or an export made under the consent before it was withdrawn, and
    which of the reports that relied on it it counted."""

    disclosed_at: datetime
    disclosed_by: str
    profile: str  # partner or public
    format: str  # html (a page seen), json or csv
    reports: tuple[str, ...]

    @property
    def what(self) -> str:
        """E.g. "partner summary page" or "public summary export (csv)"."""
        if self.format == "html":
            return f"{self.profile} summary page"
        return f"{self.profile} summary export ({self.format})"


@dataclass(frozen=True)
class Reach:
    reviews: tuple[erasure_reviews.ReviewView, ...] = ()  # consent to keep withdrawn
    disclosures: tuple[EarlierDisclosure, ...] = ()  # any other use withdrawn


def follow(
    ctx: Context, consent: Consent, owner: Any, reports: Sequence[consent_queries.ReportRow]
) -> Reach:
    """What the withdrawal of `consent` (of `owner`, whose `reports` relied on it) reaches:
    the reviews it raised, or the earlier summaries and exports that used it."""
    if consent.use is ConsentUse.KEEP:
        return Reach(reviews=erasure_reviews.raise_for(ctx, consent, owner, reports))
    since = datetime.combine(consent.granted_on, time.min, tzinfo=UTC)
    rows = queries.disclosures_of(ctx.session, [r.id for r in reports], consent.use, since)
    batches: dict[uuid.UUID, list[Any]] = {}
    for disclosure, reference in rows:  # newest first: so are the batches
        batches.setdefault(disclosure.batch_id, []).append((disclosure, reference))
    return Reach(
        disclosures=tuple(
            EarlierDisclosure(
                disclosed_at=found[0][0].disclosed_at,
                disclosed_by=found[0][0].disclosed_by,
                profile=found[0][0].profile,
                format=found[0][0].format,
                reports=tuple(sorted({reference for _, reference in found})),
            )
            for found in batches.values()
        )
    )
