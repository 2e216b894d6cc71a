"""Consents given and withdrawn, through the API: the consent service the pages use
(incidents/services/consent.py), so a grant is refused when it overlaps one still in
force, and a withdrawal says what relied on the consent — the reports, and the advocacy
actions linked to them, whose links are flagged from that day on (GET /action_links).

Recording and withdrawing are for researchers of the person's or source's team
(case:write); the consents themselves are read like any record (GET /consents,
incidents/api/records.py).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from incidents.api.answers import created
from incidents.api.bodies import body_of
from incidents.api.operations import ApiResult, operation
from incidents.api.schemas import Request, create_model_of, document_model
from incidents.context import Context
from incidents.errors import NotFound, ValidationError
from incidents.permissions import Permission
from incidents.records.kinds import CONSENT, PERSON, SOURCE
from incidents.services import api_records, consent, records

TAG, SCOPE = "Consents", "cases:write"
OWNERS = (PERSON.name, SOURCE.name)

ConsentGrant = body_of(
    "ConsentGrant",
    "A consent to one use, given by a person or a source (by reference or id) on a day.",
    create_model_of(CONSENT),
    (*OWNERS, *consent.GRANT_FIELDS),
)


class ConsentWithdrawal(Request):
    """Withdrawing a consent: from which day (the day it was given, or later)."""

    revoked_on: Annotated[str, Field(json_schema_extra={"format": "date"})] = Field(
        description="The day the consent was withdrawn.", examples=["2017-05-02"]
    )


class ReliedReport(BaseModel):
    """A report that relied on the consent withdrawn."""

    reference: str
    title: str | None = Field(None, description="None for a report that was erased.")
    erased: bool


class ReliedLink(BaseModel):
    """An advocacy action's link to one of those reports."""

    action: str = Field(description="The action's reference.")
    action_title: str
    report: str = Field(description="The report's reference.")


class Withdrawn(BaseModel):
    """A consent withdrawn, and what relied on it: check each, since from that day on it
    may no longer be used for what the consent allowed."""

    consent: document_model(CONSENT)  # type: ignore[valid-type]
    reports: list[ReliedReport]
    action_links: list[ReliedLink]


def _owner(ctx: Context, raw: dict[str, Any]) -> consent.Owner:
    """The person or the source named in the body, if the reader may record its consent."""
    named = [name for name in OWNERS if raw.get(name) is not None]
    if len(named) != 1:
        raise ValidationError.on(
            PERSON.name, "Give the person or the source who gave this consent, not both."
        )
    kind, key = named[0], str(raw[named[0]])
    try:
        return consent.owner_for_granting(ctx, kind, key)
    except NotFound:
        raise ValidationError.on(
            kind, f"There is no {kind} {key} in this team; check the reference."
        ) from None


@operation(
    "POST",
    "/consents",
    name="create_consent",
    summary="Record a consent",
    scope=SCOPE,
    tag=TAG,
    body=ConsentGrant,
    response=document_model(CONSENT),
    status=201,
    etag=True,
)
def create_consent(ctx: Context, body: BaseModel) -> ApiResult:
    """Records that the person or source consents to one use from a day, in their team;
    a use already granted and not withdrawn by that day is refused."""
    raw = body.model_dump(mode="json", exclude_unset=True)
    owner = _owner(ctx, raw)
    given = consent.grant(ctx, owner, {k: v for k, v in raw.items() if k not in OWNERS})
    document = api_records.document_of(ctx, CONSENT, given, open_secrets=False)
    return created(document, "get_consent", given.id)


@operation(
    "POST",
    "/consents/<key>/revoke",
    name="revoke_consent",
    summary="Withdraw a consent",
    scope=SCOPE,
    tag=TAG,
    body=ConsentWithdrawal,
    response=Withdrawn,
    if_match=True,
)
def revoke_consent(ctx: Context, key: str, body: ConsentWithdrawal, if_match: int) -> ApiResult:
    """Withdraws the consent from the day given, if it is still at the version of
    If-Match (otherwise 409, and nothing is saved); answers with what relied on it."""
    revocation = consent.revoke(ctx, key, body.revoked_on, if_match)
    withdrawn = records.find(ctx, CONSENT, revocation.target.consent.id, Permission.CASE_READ)
    answer = Withdrawn(
        consent=api_records.document_of(ctx, CONSENT, withdrawn, open_secrets=False),
        reports=[
            ReliedReport(
                reference=r.reference, title=None if r.erased else r.title, erased=r.erased
            )
            for r in revocation.reports
        ],
        action_links=[
            ReliedLink(
                action=a.action_reference, action_title=a.action_title, report=a.report_reference
            )
            for a in revocation.action_links
        ],
    )
    return ApiResult(answer, headers={"ETag": f'"{withdrawn.lock_version}"'})
