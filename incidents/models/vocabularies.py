"""Controlled vocabularies, following HURIDOCS' Events Standard Formats where they fit."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    RESEARCHER = "researcher"
    ADVOCACY_LEAD = "advocacy_lead"
    AUDITOR = "auditor"
    ADMIN = "admin"


class ViolationType(enum.StrEnum):
    ABDUCTION = "abduction"
    ARBITRARY_DETENTION = "arbitrary_detention"
    ENFORCED_DISAPPEARANCE = "enforced_disappearance"
    TORTURE = "torture_or_ill_treatment"
    KILLING = "killing"
    SEXUAL_VIOLENCE = "sexual_violence"
    THREATS = "threats"
    FORCED_OUTING = "forced_outing"
    EXTORTION = "extortion"
    OTHER = "other"


class DatePrecision(enum.StrEnum):
    DAY = "day"
    MONTH = "month"
    YEAR = "year"
    UNKNOWN = "unknown"


class IncidentStatus(enum.StrEnum):
    REPORTED = "reported"
    UNDER_VERIFICATION = "under_verification"
    CORROBORATED = "corroborated"
    VERIFIED = "verified"
    DISPUTED = "disputed"
    CLOSED = "closed"


class Channel(enum.StrEnum):
    INTERVIEW = "interview"
    HOTLINE = "hotline"
    SECURE_MESSAGE = "secure_message"
    PARTNER_NGO = "partner_ngo"
    MEDIA = "media"
    SOCIAL_MEDIA = "social_media"
    OFFICIAL_DOCUMENT = "official_document"
    OTHER = "other"


class ReportStatus(enum.StrEnum):
    NEW = "new"
    TRIAGED = "triaged"
    LINKED = "linked"
    REJECTED = "rejected"


class SourceKind(enum.StrEnum):
    VICTIM = "victim"
    WITNESS = "witness"
    FAMILY_MEMBER = "family_member"
    JOURNALIST = "journalist"
    NGO = "ngo"
    OFFICIAL = "official"
    DOCUMENT = "document"
    SOCIAL_MEDIA = "social_media"
    OTHER = "other"


class SourceReliability(enum.StrEnum):
    """Admiralty scale for the source, rated apart from the information it gives."""

    A = "A"  # completely reliable
    B = "B"  # usually reliable
    C = "C"  # fairly reliable
    D = "D"  # not usually reliable
    E = "E"  # unreliable
    F = "F"  # reliability cannot be judged


CREDIBILITY_LABELS = {
    1: "confirmed by other sources",
    2: "probably true",
    3: "possibly true",
    4: "doubtful",
    5: "improbable",
    6: "truth cannot be judged",
}

RELIABILITY_LABELS = {
    "A": "completely reliable",
    "B": "usually reliable",
    "C": "fairly reliable",
    "D": "not usually reliable",
    "E": "unreliable",
    "F": "reliability cannot be judged",
}


class RiskLevel(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class ConsentUse(enum.StrEnum):
    KEEP = "keep_in_database"
    ANONYMISED_ADVOCACY = "anonymised_advocacy"
    PUBLISH_WITHOUT_NAME = "publication_without_name"
    PUBLISH_WITH_NAME = "publication_with_name"
    SHARE_WITH_PARTNERS = "sharing_with_named_partners"
    TRANSFER_TO_UN_OR_COURTS = "transfer_to_un_or_courts"


class Gender(enum.StrEnum):
    MAN = "man"
    WOMAN = "woman"
    NON_BINARY = "non_binary"
    OTHER = "other"
    UNKNOWN = "unknown"


class AgeBand(enum.StrEnum):
    CHILD = "under_18"
    YOUNG_ADULT = "18_29"
    ADULT = "30_49"
    OLDER_ADULT = "50_64"
    ELDER = "65_plus"
    UNKNOWN = "unknown"


class ActType(enum.StrEnum):
    ABDUCTED = "abducted"
    DETAINED = "detained"
    TORTURED = "tortured"
    KILLED = "killed"
    DISAPPEARED = "disappeared"
    THREATENED = "threatened"
    RELEASED = "released"
    OTHER = "other"


class ActEndStatus(enum.StrEnum):
    STILL_MISSING = "still_missing"
    HELD = "held"
    RELEASED = "released"
    DECEASED = "deceased"
    UNKNOWN = "unknown"


class Attribution(enum.StrEnum):
    """What the authorities say of the act, as documented."""

    ACKNOWLEDGED = "officials_acknowledge"
    DENY_ACT = "officials_deny_the_act"
    DENY_RESPONSIBILITY = "acknowledge_act_deny_responsibility"
    NO_STATEMENT = "no_official_statement"
    UNKNOWN = "unknown"


class PerpetratorKind(enum.StrEnum):
    STATE_SECURITY = "state_security"
    POLICE = "police"
    MILITARY = "military"
    PARAMILITARY = "paramilitary"
    NON_STATE = "non_state"
    UNKNOWN = "unknown"


class InvolvementDegree(enum.StrEnum):
    CARRIED_OUT = "carried_out"
    ORDERED = "ordered"
    PLANNED = "planned"
    COMPLICIT = "complicit"
    SUSPECTED = "suspected"
    FAILED_TO_PREVENT = "failed_to_prevent"


class StateResponseKind(enum.StrEnum):
    DENIAL = "denial"
    STATEMENT = "statement"
    INVESTIGATION_OPENED = "investigation_opened"
    CHARGES = "charges"
    NO_RESPONSE = "no_response"


class ActionKind(enum.StrEnum):
    PETITION = "petition"
    PROTEST = "protest"
    PUBLIC_STATEMENT = "public_statement"
    LETTER = "letter"
    MEETING = "meeting"
    UN_SUBMISSION = "un_or_treaty_body_submission"
    MEDIA_OUTREACH = "media_outreach"
    LITIGATION = "litigation"
    OTHER = "other"


class ActionStatus(enum.StrEnum):
    PLANNED = "planned"
    ONGOING = "ongoing"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Priority(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


class ResponseKind(enum.StrEnum):
    FAVOURABLE = "favourable"
    PLEDGED_COMMITMENT = "pledged_commitment"
    DENIAL = "denial"
    REQUEST_FOR_INFORMATION = "request_for_information"
    TOKEN_RESPONSE = "token_response"  # noqa: S105
    NO_RESPONSE = "no_response"


class Impact(enum.StrEnum):
    STRONG_POSITIVE = "strong_positive"
    POSITIVE = "positive"
    NEUTRAL = "neutral"
    NEGATIVE = "negative"
    STRONG_NEGATIVE = "strong_negative"
    UNKNOWN = "unknown"


class OrganisationKind(enum.StrEnum):
    NGO = "ngo"
    MEDIA = "media"
    GOVERNMENT = "government"
    INTERGOVERNMENTAL = "intergovernmental"
    COMMUNITY_GROUP = "community_group"
    OTHER = "other"


class ErasureReason(enum.StrEnum):
    """Why a record was erased: a code others may see, never the eraser's own words."""

    CONSENT_WITHDRAWN = "consent_withdrawn"
    RETENTION = "retention"
    DUPLICATE = "duplicate"
    ENTERED_IN_ERROR = "entered_in_error"
    SAFETY = "safety"
    OTHER = "other"


ERASURE_REASON_LABELS = {
    "consent_withdrawn": "consent withdrawn",
    "retention": "retention period ended",
    "duplicate": "duplicate of another record",
    "entered_in_error": "entered in error",
    "safety": "safety of someone named",
    "other": "other (see the note)",
}


# Values whose plain "underscores to spaces" reading would be wrong or awkward.
_LABELS = {
    "ngo": "NGO",
    "partner_ngo": "partner NGO",
    "torture_or_ill_treatment": "torture or ill-treatment",
    "un_or_treaty_body_submission": "UN or treaty-body submission",
    "officials_acknowledge": "officials acknowledge the act",
    "officials_deny_the_act": "officials deny the act",
    "acknowledge_act_deny_responsibility": "officials acknowledge the act, deny responsibility",
    "sharing_with_named_partners": "sharing with named partners",
    "transfer_to_un_or_courts": "transfer to UN bodies or courts",
    "under_18": "under 18",
    "18_29": "18–29",
    "30_49": "30–49",
    "50_64": "50–64",
    "65_plus": "65 and over",
}


def label(value: enum.Enum | str | None) -> str:
    """Human-readable label of a vocabulary value: 'under_verification' → 'under verification'."""
    if value is None:
        return ""
    text = str(value.value if isinstance(value, enum.Enum) else value)
    return _LABELS.get(text, text.replace("_", " "))
