"""The demo case: the 2017 reports of abductions, torture and killings of men believed to be
gay or bisexual in Chechnya, and the advocacy that followed.

Organisations, actions, official responses and public statements are as reported in the
press at the time. Every victim, witness, source, name, place detail and narrative below
is FICTIONAL, made up for the demonstration.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from incidents.audit.log import Actor, record_event
from incidents.crypto.keys import KeyProvider
from incidents.crypto.vault import FieldVault
from incidents.models import (
    Act,
    ActionLink,
    ActionResponse,
    AdvocacyAction,
    Campaign,
    Consent,
    Evidence,
    FollowUp,
    Incident,
    IncidentViolation,
    Involvement,
    Organisation,
    Person,
    Report,
    Source,
    StateResponse,
    Team,
)
from incidents.models.vocabularies import (
    ActEndStatus,
    ActionKind,
    ActionStatus,
    ActType,
    AgeBand,
    Attribution,
    Channel,
    ConsentUse,
    DatePrecision,
    Gender,
    Impact,
    IncidentStatus,
    InvolvementDegree,
    OrganisationKind,
    PerpetratorKind,
    Priority,
    ReportStatus,
    ResponseKind,
    RiskLevel,
    Role,
    SourceKind,
    SourceReliability,
    StateResponseKind,
    ViolationType,
)
from incidents.services import accounts, people
from incidents.services.records import create_record
from incidents.settings import Settings

DEMO_TEAM = "north-caucasus"
OTHER_TEAM = "central-asia"
DEMO_DOMAIN = "demo.example.org"
DEMO_USERS: list[tuple[Role, str, str, list[str]]] = [
    (Role.RESEARCHER, "researcher", "Demo Researcher", [DEMO_TEAM]),
    (Role.ADVOCACY_LEAD, "advocacy", "Demo Advocacy Lead", [DEMO_TEAM]),
    (Role.AUDITOR, "auditor", "Demo Auditor", [DEMO_TEAM]),
    (Role.ADMIN, "admin", "Demo Administrator", []),
]
DAY_OF_ACTION = date(2017, 6, 2)
OTHER_COUNTRIES = [
    ("CA", "Canada"),
    ("FI", "Finland"),
    ("IT", "Italy"),
    ("NL", "the Netherlands"),
    ("NO", "Norway"),
    ("ES", "Spain"),
    ("SE", "Sweden"),
    ("UA", "Ukraine"),
]


@dataclass(frozen=True)
class Credential:
    role: str
    email: str
    password: str


@dataclass
class SeedOutcome:
    seeded: bool
    credentials: list[Credential] = field(default_factory=list)


def seed(
    session: Session,
    provider: KeyProvider,
    actor: Actor,
    blind_index_bytes: int = Settings.blind_index_bytes,
) -> SeedOutcome:
    """Seed the demo case once, and (re)set the demo users' passwords; the caller commits.

    The demo's people and sources are indexed as they would be when entered by hand, so
    the People search finds them at once.
    """
    seeded = False
    if accounts.team_by_slug(session, DEMO_TEAM) is None:
        _Seeder(session, FieldVault(session, provider), actor).run()
        people.reindex_all(session, provider, width=blind_index_bytes, actor=actor)
        seeded = True
    return SeedOutcome(seeded, _demo_users(session, actor))


def _demo_users(session: Session, actor: Actor) -> list[Credential]:
    credentials = []
    for role, local_part, name, team_slugs in DEMO_USERS:
        email = f"{local_part}@{DEMO_DOMAIN}"
        password = secrets.token_urlsafe(12)
        user = accounts.find_user_by_email(session, email)
        if user is None:
            teams = [t for t in (accounts.team_by_slug(session, s) for s in team_slugs) if t]
            user = accounts.create_user(session, actor, email, name, password, [role], teams)
        else:
            accounts.set_password(session, actor, user, password)
        # Demo accounts log in without a second factor so that anyone can try the demo;
        # every page says so, and production ignores the exemption.
        user.two_factor_exempt = True
        credentials.append(Credential(role.value, email, password))
    return credentials


class _Seeder:
    def __init__(self, session: Session, vault: FieldVault, actor: Actor) -> None:
        self.session = session
        self.vault = vault
        self.actor = actor

    def add(
        self, record_type: type[Any], secrets: dict[str, str | None] | None = None, **fields: Any
    ) -> Any:
        return create_record(
            self.session, self.vault, self.actor, record_type, secrets=secrets, **fields
        )

    def add_plain(self, record: Any) -> None:
        """A record without secrets or reference (responses, follow-ups, links)."""
        self.session.add(record)
        self.session.flush()
        record_event(self.session, self.actor, "record.create", record)

    def run(self) -> None:
        team = accounts.create_team(
            self.session, self.actor, DEMO_TEAM, "North Caucasus documentation"
        )
        other = accounts.create_team(
            self.session, self.actor, OTHER_TEAM, "Central Asia documentation"
        )
        organisations = self.organisations()
        crackdown, checkpoint = self.incidents(team)
        reports = self.sources_and_reports(team, crackdown, checkpoint)
        self.people(team, crackdown, checkpoint)
        self.state_responses(team, crackdown, reports["media"])
        self.advocacy(team, organisations, reports)
        self.other_team(other)

    def organisations(self) -> dict[str, Organisation]:
        found = {}
        for key, name, kind, country, website in [
            (
                "stonewall",
                "Stonewall UK",
                OrganisationKind.NGO,
                "GB",
                "https://www.stonewall.org.uk",
            ),
            (
                "amnesty",
                "Amnesty International UK",
                OrganisationKind.NGO,
                "GB",
                "https://www.amnesty.org.uk",
            ),
        ]:
            organisation = Organisation(name=name, kind=kind, country=country, website=website)
            self.add_plain(organisation)
            found[key] = organisation
        return found

    def incidents(self, team: Team) -> tuple[Incident, Incident]:
        crackdown = self.add(
            Incident,
            team_id=team.id,
            title="Abductions, torture and killings of men believed to be gay or bisexual",
            summary=(
                "In April 2017 credible sources in Russia reported that over 100 men believed "
                "to be gay or bisexual had been abducted, tortured or killed in the Chechen "
                "Republic, in what is believed to be a coordinated campaign against LGBT people. "
                "The Chechen and Russian authorities initially reacted with denials."
            ),
            country="RU",
            region="Chechen Republic",
            start_date=date(2017, 1, 1),
            start_precision=DatePrecision.YEAR,
            status=IncidentStatus.CORROBORATED,
            estimated_victims=100,
            violations=[
                IncidentViolation(violation_type=v)
                for v in (
                    ViolationType.ABDUCTION,
                    ViolationType.ARBITRARY_DETENTION,
                    ViolationType.TORTURE,
                    ViolationType.KILLING,
                )
            ],
            secrets={
                "narrative": (
                    "FICTIONAL DEMO NARRATIVE. Survivors interviewed by the team describe being "
                    "summoned by acquaintances, detained by men in uniform, held for up to two "
                    "weeks in an unofficial facility with other men, beaten and given electric "
                    "shocks, and pressed to name others. Some were handed back to relatives with "
                    "the suggestion that the family deal with them."
                ),
                "place_detail": (
                    "FICTIONAL: a disused agricultural building behind the former dairy at "
                    "Demo-Yurt, 3 km north-east of the fictional Highway 00."
                ),
            },
        )
        checkpoint = self.add(
            Incident,
            team_id=team.id,
            title="Detention of a young man at a road checkpoint",
            summary="A man was detained at a checkpoint, held for several days and released.",
            country="RU",
            region="Chechen Republic",
            start_date=date(2017, 3, 14),
            start_precision=DatePrecision.DAY,
            end_date=date(2017, 3, 20),
            end_precision=DatePrecision.DAY,
            status=IncidentStatus.UNDER_VERIFICATION,
            estimated_victims=1,
            violations=[
                IncidentViolation(violation_type=ViolationType.ARBITRARY_DETENTION),
                IncidentViolation(violation_type=ViolationType.THREATS),
            ],
            secrets={
                "narrative": (
                    "FICTIONAL DEMO NARRATIVE. Stopped at a checkpoint, his phone was searched; "
                    "he was held for six days and released after a relative paid money."
                ),
                "place_detail": "FICTIONAL: checkpoint 7 on the road out of Primer-Gorsk.",
            },
        )
        return crackdown, checkpoint

    def sources_and_reports(
        self, team: Team, crackdown: Incident, checkpoint: Incident
    ) -> dict[str, Report]:
        survivor = self.add(
            Source,
            team_id=team.id,
            kind=SourceKind.VICTIM,
            reliability=SourceReliability.B,
            risk_level=RiskLevel.CRITICAL,
            secrets={
                "identity": "FICTIONAL: Movsar Demoev (Мовсар Демоев), survivor",
                "contact": "FICTIONAL: via Signal +7 900 000-00-01, only after 20:00",
                "protective_notes": "FICTIONAL: relocated; never call a family landline.",
            },
        )
        sister = self.add(
            Source,
            team_id=team.id,
            kind=SourceKind.FAMILY_MEMBER,
            reliability=SourceReliability.C,
            risk_level=RiskLevel.HIGH,
            secrets={
                "identity": "FICTIONAL: sister of a missing man, 'Zarema Primerova'",
                "contact": "FICTIONAL: through the partner hotline only",
            },
        )
        journalist = self.add(
            Source,
            team_id=team.id,
            kind=SourceKind.JOURNALIST,
            reliability=SourceReliability.A,
            risk_level=RiskLevel.MEDIUM,
            secrets={"identity": "FICTIONAL: staff reporter 'Irina Vymyslova'"},
        )
        hotline = self.add(
            Source,
            team_id=team.id,
            kind=SourceKind.NGO,
            reliability=SourceReliability.B,
            risk_level=RiskLevel.MEDIUM,
            secrets={"identity": "FICTIONAL: partner emergency hotline 'Safe Line Demo'"},
        )
        reports = {
            "interview": self.add(
                Report,
                team_id=team.id,
                title="Interview with a survivor of detention",
                source_id=survivor.id,
                incident_id=crackdown.id,
                received_on=date(2017, 4, 20),
                channel=Channel.INTERVIEW,
                language="ru",
                credibility=2,
                status=ReportStatus.LINKED,
                secrets={
                    "narrative": (
                        "FICTIONAL TESTIMONY. 'They took my phone and read every message. "
                        "Each night they asked for names.'"
                    )
                },
            ),
            "family": self.add(
                Report,
                team_id=team.id,
                title="Call from a relative of a missing man",
                source_id=sister.id,
                incident_id=crackdown.id,
                received_on=date(2017, 4, 27),
                channel=Channel.HOTLINE,
                language="ru",
                credibility=3,
                status=ReportStatus.LINKED,
                secrets={
                    "narrative": (
                        "FICTIONAL TESTIMONY. Her brother left for work and never came home; "
                        "officials told the family not to ask again."
                    )
                },
            ),
            "media": self.add(
                Report,
                team_id=team.id,
                title="Press report of over 100 men detained",
                source_id=journalist.id,
                incident_id=crackdown.id,
                received_on=date(2017, 4, 3),
                channel=Channel.MEDIA,
                language="ru",
                credibility=1,
                status=ReportStatus.LINKED,
                secrets={
                    "narrative": "FICTIONAL SUMMARY of the press report and the reporter's notes."
                },
            ),
            "partner": self.add(
                Report,
                team_id=team.id,
                title="Partner hotline summary of evacuation requests",
                source_id=hotline.id,
                incident_id=crackdown.id,
                received_on=date(2017, 5, 15),
                channel=Channel.PARTNER_NGO,
                language="en",
                credibility=2,
                status=ReportStatus.LINKED,
                secrets={
                    "narrative": "FICTIONAL: 40 requests for help received by the hotline demo."
                },
            ),
            "checkpoint": self.add(
                Report,
                team_id=team.id,
                title="Account of a checkpoint detention",
                source_id=survivor.id,
                incident_id=checkpoint.id,
                received_on=date(2017, 3, 28),
                channel=Channel.SECURE_MESSAGE,
                language="ru",
                credibility=3,
                status=ReportStatus.LINKED,
                secrets={"narrative": "FICTIONAL: message describing the checkpoint detention."},
            ),
            "untriaged": self.add(
                Report,
                team_id=team.id,
                title="Unverified social media post about new detentions",
                received_on=date(2017, 5, 30),
                channel=Channel.SOCIAL_MEDIA,
                language="ru",
                credibility=6,
                status=ReportStatus.NEW,
                secrets={"narrative": "FICTIONAL: anonymous post, not yet triaged."},
            ),
        }
        self.add(
            Evidence,
            team_id=team.id,
            report_id=reports["interview"].id,
            sha256="5f0c3ad5d1f1e3b7c1b5d0f0a5f2f7c0b9e8d7c6b5a4938271605f4e3d2c1b0a",
            size_bytes=482113,
            media_type="image/jpeg",
            secrets={
                "filename": "FICTIONAL_injuries_photo_0412.jpg",
                "description": "FICTIONAL: photograph of bruising, taken by the interviewer.",
            },
        )
        for source in (survivor, sister, journalist, hotline):
            uses = [ConsentUse.KEEP, ConsentUse.ANONYMISED_ADVOCACY]
            if source is survivor:
                uses.append(ConsentUse.TRANSFER_TO_UN_OR_COURTS)
            if source in (journalist, hotline):
                uses.append(ConsentUse.PUBLISH_WITHOUT_NAME)
            for use in uses:
                self.add(
                    Consent,
                    team_id=team.id,
                    source_id=source.id,
                    use=use,
                    granted_on=date(2017, 4, 20),
                )
        return reports

    def people(self, team: Team, crackdown: Incident, checkpoint: Incident) -> None:
        people = [
            (
                "Movsar Demoev",
                "Мовсар Демоев\nMovsar Demoyev",
                "1991-05-17",
                crackdown,
                [
                    (ActType.DETAINED, ActEndStatus.RELEASED),
                    (ActType.TORTURED, ActEndStatus.RELEASED),
                ],
            ),
            (
                "Aslan Primerov",
                "Аслан Примеров",
                "1988",
                crackdown,
                [(ActType.DISAPPEARED, ActEndStatus.STILL_MISSING)],
            ),
            (
                "Timur Fiktivov",
                "Тимур Фиктивов",
                "1996-11-02",
                checkpoint,
                [
                    (ActType.DETAINED, ActEndStatus.RELEASED),
                    (ActType.THREATENED, ActEndStatus.RELEASED),
                ],
            ),
        ]
        for name, aliases, born, incident, acts in people:
            person = self.add(
                Person,
                team_id=team.id,
                gender=Gender.MAN,
                age_band=AgeBand.YOUNG_ADULT if born > "1990" else AgeBand.ADULT,
                secrets={
                    "full_name": f"{name} (fictional)",
                    "aliases": aliases,
                    "date_of_birth": born,
                    "contact": f"FICTIONAL: reachable through the team's contact for {name}",
                },
            )
            for use in (ConsentUse.KEEP, ConsentUse.ANONYMISED_ADVOCACY):
                self.add(
                    Consent,
                    team_id=team.id,
                    person_id=person.id,
                    use=use,
                    granted_on=date(2017, 4, 20),
                )
            for act_type, end_status in acts:
                act = self.add(
                    Act,
                    team_id=team.id,
                    person_id=person.id,
                    incident_id=incident.id,
                    act_type=act_type,
                    start_date=incident.start_date,
                    start_precision=incident.start_precision,
                    end_status=end_status,
                    attribution=Attribution.DENY_ACT,
                    secrets={"notes": f"FICTIONAL: notes on the {act_type.value} act of {name}"},
                )
                self.add(
                    Involvement,
                    team_id=team.id,
                    act_id=act.id,
                    perpetrator_kind=PerpetratorKind.STATE_SECURITY,
                    degree=InvolvementDegree.SUSPECTED,
                    secrets={
                        "perpetrator_names": "FICTIONAL: an officer known as 'the Major'",
                        "units": "FICTIONAL: Demo Special Unit No. 0",
                    },
                )

    def state_responses(self, team: Team, crackdown: Incident, media_report: Report) -> None:
        for kind, when, precision, authority, description in [
            (
                StateResponseKind.DENIAL,
                date(2017, 4, 1),
                DatePrecision.MONTH,
                "Spokesman for the head of the Chechen Republic",
                "Denied that LGBT people exist in Chechnya: 'nobody can detain or harass anyone "
                "who is simply not present in the republic'.",
            ),
            (
                StateResponseKind.DENIAL,
                date(2017, 4, 1),
                DatePrecision.MONTH,
                "Chechen and Russian authorities",
                "Initially reacted to the reports with denials.",
            ),
            (
                StateResponseKind.INVESTIGATION_OPENED,
                date(2017, 6, 2),
                DatePrecision.MONTH,
                "Russian authorities",
                "Reportedly opened a preliminary investigation; activists call for a full "
                "criminal investigation and for steps to protect people at risk.",
            ),
        ]:
            self.add(
                StateResponse,
                team_id=team.id,
                incident_id=crackdown.id,
                kind=kind,
                date=when,
                date_precision=precision,
                authority=authority,
                description=description,
                supporting_report_id=media_report.id,
            )

    def advocacy(
        self, team: Team, organisations: dict[str, Organisation], reports: dict[str, Report]
    ) -> None:
        both = [organisations["stonewall"], organisations["amnesty"]]
        demands = (
            "Fully investigate the reports; proceed from the preliminary investigation to a "
            "full criminal investigation; bring the perpetrators to justice; take all necessary "
            "steps to ensure the safety of individuals who may be at risk in Chechnya."
        )
        campaign = self.add(
            Campaign,
            team_id=team.id,
            name="We Exist — international day of action",
            description=(
                "Protests at Russian embassies and consulates on one day, in the United "
                "Kingdom and in Canada, Finland, Italy, the Netherlands, Norway, Spain, Sweden "
                "and Ukraine, to highlight the crackdown on LGBT people in Chechnya."
            ),
            start_date=DAY_OF_ACTION,
            end_date=DAY_OF_ACTION,
        )
        petition = self.add(
            AdvocacyAction,
            team_id=team.id,
            campaign_id=campaign.id,
            kind=ActionKind.PETITION,
            title="Petition for a full investigation of the Chechnya crackdown",
            description="A petition of more than 177,000 signatures taken to the Russian Embassy.",
            start_date=DAY_OF_ACTION,
            end_date=DAY_OF_ACTION,
            target="Embassy of the Russian Federation, London",
            places="London, United Kingdom",
            demands=demands,
            signatures=177000,
            priority=Priority.HIGH,
            status=ActionStatus.COMPLETED,
            impact=Impact.UNKNOWN,
            organisations=both,
        )
        london = self.add(
            AdvocacyAction,
            team_id=team.id,
            campaign_id=campaign.id,
            kind=ActionKind.PROTEST,
            title="'We Exist' protest at the Russian Embassy, London",
            description=(
                "Activists in black 'We Exist' T-shirts with placards 'Stop the Chechnya "
                "crackdown' and 'Love is a human right'; a giant rainbow flag laid on the "
                "pavement and rainbow flowers left at the gates. Stonewall founders Sir Ian "
                "McKellen and Lord Michael Cashman joined the protest."
            ),
            start_date=DAY_OF_ACTION,
            end_date=DAY_OF_ACTION,
            target="Embassy of the Russian Federation, London",
            places="London, United Kingdom",
            demands=demands,
            priority=Priority.HIGH,
            status=ActionStatus.COMPLETED,
            organisations=both,
        )
        edinburgh = self.add(
            AdvocacyAction,
            team_id=team.id,
            campaign_id=campaign.id,
            kind=ActionKind.PROTEST,
            title="'We Exist' protest at the Russian Consulate, Edinburgh",
            description="Activists in Scotland protested outside the Russian Consulate.",
            start_date=DAY_OF_ACTION,
            end_date=DAY_OF_ACTION,
            target="Consulate General of the Russian Federation, Edinburgh",
            places="Edinburgh, United Kingdom",
            demands=demands,
            status=ActionStatus.COMPLETED,
        )
        for _code, country in OTHER_COUNTRIES:
            self.add(
                AdvocacyAction,
                team_id=team.id,
                campaign_id=campaign.id,
                kind=ActionKind.PROTEST,
                title=f"Demonstration in {country} on the international day of action",
                start_date=DAY_OF_ACTION,
                end_date=DAY_OF_ACTION,
                target="Russian authorities",
                places=country[0].upper() + country[1:],
                demands=demands,
                status=ActionStatus.COMPLETED,
            )
        statement = self.add(
            AdvocacyAction,
            team_id=team.id,
            campaign_id=campaign.id,
            kind=ActionKind.PUBLIC_STATEMENT,
            title="Stonewall and Amnesty International UK call for justice for the victims",
            description=(
                "Ruth Hunt, Stonewall's Chief Executive: 'We must have an investigation and we "
                "must have justice for the victims.' Kate Allen, Amnesty International UK's "
                "Director: the authorities in both Chechnya and Moscow should be fully "
                "investigating and ensuring that the perpetrators are brought to justice."
            ),
            start_date=DAY_OF_ACTION,
            target="Chechen and Russian authorities",
            demands=demands,
            status=ActionStatus.COMPLETED,
            organisations=both,
        )
        self.add_plain(
            ActionResponse(
                action_id=statement.id,
                kind=ResponseKind.DENIAL,
                date=date(2017, 4, 1),
                text="Earlier official denials that LGBT people exist in Chechnya stood.",
            )
        )
        self.add_plain(
            FollowUp(
                action_id=petition.id,
                description="Check whether the preliminary investigation became a full "
                "criminal investigation; prepare a UN submission if not.",
                due_on=date(2017, 9, 1),
            )
        )
        for action, report_key, note in [
            (petition, "media", "The press report documents over 100 detentions."),
            (petition, "partner", "Evacuation requests show people remain at risk."),
            (london, "partner", "Hotline figures quoted in the protest materials."),
            (edinburgh, "media", "Press report cited in the consulate protest."),
            (statement, "interview", "An anonymised survivor account supports the statement."),
        ]:
            self.add_plain(
                ActionLink(action_id=action.id, report_id=reports[report_key].id, note=note)
            )

    def other_team(self, team: Team) -> None:
        """A record the demo users must never see: it belongs to another team."""
        self.add(
            Incident,
            team_id=team.id,
            title="Threats against a human-rights lawyer",
            summary="A lawyer representing detainees received repeated threats.",
            country="KZ",
            start_date=date(2018, 2, 1),
            start_precision=DatePrecision.MONTH,
            status=IncidentStatus.REPORTED,
            estimated_victims=1,
            violations=[IncidentViolation(violation_type=ViolationType.THREATS)],
            secrets={"narrative": "FICTIONAL: another team's secret narrative, never shown."},
        )
