"""All models, imported here so that Base.metadata is complete once this package is imported."""

from incidents.models.advocacy import (
    ActionLink,
    ActionResponse,
    AdvocacyAction,
    Campaign,
    FollowUp,
    action_organisations,
)
from incidents.models.audit import AuditEvent, AuditTreeState
from incidents.models.blind_index import BlindIndexEntry
from incidents.models.consent import Consent
from incidents.models.disclosure import ReportDisclosure
from incidents.models.draft import Draft
from incidents.models.erasure import Erasure
from incidents.models.erasure_review import ErasureReview, ReviewState
from incidents.models.evidence import Evidence
from incidents.models.evidence_blob import EvidenceBlob, EvidenceBlobChunk
from incidents.models.incident import Incident, IncidentViolation, StateResponse
from incidents.models.keys import DataKey
from incidents.models.organisation import Organisation, Team
from incidents.models.person import Act, Involvement, Person
from incidents.models.person_merge import PersonMerge
from incidents.models.report import Report
from incidents.models.retention import LegalHold, RetentionRule
from incidents.models.sequence import ReferenceCounter
from incidents.models.source import Source
from incidents.models.suggestion import SuggestionDismissal
from incidents.models.user import (
    ApiToken,
    RecoveryCode,
    TeamMembership,
    User,
    UserRole,
    UserSession,
)

__all__ = [
    "Act",
    "ActionLink",
    "ActionResponse",
    "AdvocacyAction",
    "ApiToken",
    "AuditEvent",
    "AuditTreeState",
    "BlindIndexEntry",
    "Campaign",
    "Consent",
    "DataKey",
    "Draft",
    "Erasure",
    "ErasureReview",
    "Evidence",
    "EvidenceBlob",
    "EvidenceBlobChunk",
    "FollowUp",
    "Incident",
    "IncidentViolation",
    "Involvement",
    "LegalHold",
    "Organisation",
    "Person",
    "PersonMerge",
    "RecoveryCode",
    "ReferenceCounter",
    "Report",
    "ReportDisclosure",
    "RetentionRule",
    "ReviewState",
    "Source",
    "StateResponse",
    "SuggestionDismissal",
    "Team",
    "TeamMembership",
    "User",
    "UserRole",
    "UserSession",
    "action_organisations",
]
