"""What went out under consent: every report a redacted summary counted, on a page or in
an export, recorded with the use its source and people had consented to.

A withdrawal later reads these rows to name the summaries and exports made before it
that used the consent (incidents/services/consent_reach.py). Summaries made after it
leave the report out by themselves: consent is read afresh for each one.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

from incidents.context import Context
from incidents.redaction import Profile
from incidents.repositories import erasure_reviews as queries
from incidents.services import consent_uses


def record(ctx: Context, profile: Profile, fmt: str, report_ids: Collection[uuid.UUID]) -> None:
    """Record that the reports `report_ids` went out in one summary page or export of
    `profile` (partner or public) as `fmt` — two statements, however many reports."""
    ids = list(dict.fromkeys(report_ids))
    teams = queries.teams_of_reports(ctx.session, ids)
    batch = uuid.uuid4()
    use = consent_uses.PROFILE_USES[profile]
    queries.add_disclosures(
        ctx.session,
        [
            {
                "id": uuid.uuid4(),
                "batch_id": batch,
                "report_id": report_id,
                "team_id": teams[report_id],
                "use": use,
                "profile": profile.value,
                "format": fmt,
                "disclosed_by": ctx.actor.label,
                "disclosed_by_id": ctx.actor.user_id,
            }
            for report_id in ids
            if report_id in teams
        ],
    )
