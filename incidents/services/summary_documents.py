"""Redacted case summaries as data to export: a JSON document of each (what its page
shows, no more) and, for a spreadsheet, one CSV row of each with its lists flattened.
Public fields only, as incidents/services/summaries.py builds them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from incidents.db import FieldClass
from incidents.redaction import Profile
from incidents.services import consent_uses, csv_layout, summaries

SUMMARY_FORMAT = "incidents-summaries/1"


def summary_header(profile: Profile) -> dict[str, Any]:
    return {
        "format": SUMMARY_FORMAT,
        "profile": profile.value,
        "generated_at": datetime.now(UTC).isoformat(),
        "field_classes": [FieldClass.PUBLIC.value],
        "consent_use": consent_uses.PROFILE_USES[profile].value,
    }


def summary_document(summary: summaries.CaseSummary) -> dict[str, Any]:
    """A summary as JSON-ready data: what its page shows, no more; of a case that cannot
    be shared, only its reference."""
    if not summary.shareable:
        return {"reference": summary.reference, "shareable": False}
    return {
        "reference": summary.reference,
        "shareable": True,
        "violation_types": [v.value for v in summary.violation_types],
        "country": summary.country,
        "region": summary.region,
        "month": summary.month,
        "estimated_victims": summary.estimated_victims,
        "corroboration": {
            "reports": summary.reports,
            "independent_sources": summary.independent_sources,
            "sources_by_kind": {c.kind.value: c.sources for c in summary.sources_by_kind},
            "reliability_mix": {c.reliability.value: c.sources for c in summary.reliability_mix},
            "reports_not_counted": summary.withheld,
            "not_counted_because": (
                summaries.withheld_reason(summary.profile) if summary.withheld else None
            ),
        },
        "official_responses": [
            {"kind": r.kind.value, "date": r.when, "authority": r.authority}
            for r in summary.official_responses
        ],
        "actions": [_action_document(a) for a in summary.actions],
    }


# One row per case: the summary's figures flattened, its lists as counts or "; "-joined.
SUMMARY_COLUMNS = (
    "reference",
    "violation_types",
    "country",
    "region",
    "month",
    "estimated_victims",
    "reports",
    "independent_sources",
    "sources_by_kind",
    "reliability_mix",
    "reports_not_counted",
    "not_counted_because",
    "official_responses",
    "actions",
    "action_references",
)


def summary_row(summary: summaries.CaseSummary) -> list[str]:
    """The cells of one case's summary under SUMMARY_COLUMNS, each one neutralised."""
    document = summary_document(summary)
    corroboration = document.get("corroboration", {})
    values: dict[str, Any] = {
        **document,
        **corroboration,
        "sources_by_kind": _pairs(corroboration.get("sources_by_kind", {})),
        "reliability_mix": _pairs(corroboration.get("reliability_mix", {})),
        "official_responses": len(summary.official_responses),
        "actions": len(summary.actions),
        "action_references": [a.reference for a in summary.actions],
    }
    return [csv_layout.neutralise(csv_layout.cell(values.get(c))) for c in SUMMARY_COLUMNS]


def _pairs(counts: Mapping[str, int]) -> list[str]:
    return [f"{name}: {count}" for name, count in counts.items()]


def _action_document(action: summaries.ActionSummary) -> dict[str, Any]:
    return {
        "reference": action.reference,
        "kind": action.kind.value,
        "title": action.title,
        "start_date": _iso(action.start_date),
        "end_date": _iso(action.end_date),
        "status": action.status.value,
        "impact": action.impact.value,
        "signatures": action.signatures,
        "participants": action.participants,
        "responses": [{"kind": r.kind.value, "date": _iso(r.date)} for r in action.responses],
    }


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None
