"""The cases of a generated archive (tests/benchmarks/generate.py), drawn with one seeded
generator: which team, what happened, who reported it, who was harmed and by whom, who
consented to what, and the advocacy that followed. Each record is handed, as the
document an export would write, to the function that writes it; only a few recent ids
per team are kept, to link later records to.
"""

from __future__ import annotations

import random
import uuid
from collections import deque
from collections.abc import Callable
from datetime import date
from typing import Any

from tests.benchmarks import corpus as c

EMAIL_DOMAIN = "bench.example.org"
LINKABLE_KINDS = ("petition", "protest", "letter", "meeting", "other")  # anonymised use only
OTHER_ACTION_KINDS = ("public_statement", "media_outreach", "un_or_treaty_body_submission")
FIRST_DAY = date(2014, 1, 1).toordinal()
DAYS = date(2024, 12, 31).toordinal() - FIRST_DAY
RECENT = 40  # ids kept per team to link back to


def team_users(slug: str) -> dict[str, str]:
    """The accounts a generated team has: role value -> e-mail address."""
    return {
        "researcher": f"researcher.{slug}@{EMAIL_DOMAIN}",
        "advocacy_lead": f"lead.{slug}@{EMAIL_DOMAIN}",
    }


class Team:
    """What one team's later cases may link back to."""

    def __init__(self, slug: str, countries: tuple[str, ...]) -> None:
        self.slug = slug
        self.countries = countries
        self.sources: deque[str] = deque(maxlen=RECENT)
        self.consenting_sources: set[str] = set()
        self.linkable_reports: deque[str] = deque(maxlen=RECENT)
        self.campaign: str | None = None
        self.cases = 0


class Archive:
    """Draws cases with one seeded generator and writes each record to its kind's file."""

    def __init__(self, add: Callable[[str, dict[str, Any]], None], seed: int) -> None:
        self.add = add  # writes one record of a kind
        self.rng = random.Random(seed)
        self.teams = [Team(slug, countries) for slug, _n, _s, countries, _r in c.TEAMS]
        self.weights = [share for _slug, _n, share, _c, _r in c.TEAMS]
        self.organisations = [self.organisation(name) for name in c.ORGANISATIONS]

    # -- drawing ------------------------------------------------------------------------

    def new_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def day(self, after: int = 0) -> tuple[int, str]:
        ordinal = FIRST_DAY + after + self.rng.randrange(max(1, DAYS - after))
        return ordinal - FIRST_DAY, date.fromordinal(ordinal).isoformat()

    def fuzzy(self, iso: str) -> tuple[str, str]:
        draw = self.rng.random()
        if draw < 0.6:
            return iso, "day"
        return (iso[:7], "month") if draw < 0.9 else (iso[:4], "year")

    def text(self, low: int, high: int) -> str:
        return " ".join(self.rng.choices(c.SENTENCES, k=self.rng.randint(low, high)))

    def pick(self, options: tuple[str, ...] | list[str]) -> str:
        return options[self.rng.randrange(len(options))]

    def name(self) -> tuple[str, list[str], str]:
        """(full name, other names, gender): Cyrillic with Latin spellings as aliases,
        or now and then the other way round, as another team wrote it down."""
        woman = self.rng.random() < 0.3
        first = self.pick(c.WOMEN if woman else c.MEN)  # type: ignore[arg-type]
        last = self.pick(c.SURNAMES_WOMEN if woman else c.SURNAMES_MEN)  # type: ignore[arg-type]
        spelled = [f"{first[i]} {last[i]}" for i in range(min(len(first), len(last)))]
        if self.rng.random() < 0.25:
            spelled.append(f"{last[1]} {first[1]}".upper())  # as a passport or a list has it
        if self.rng.random() < 0.05:
            spelled.append(self.pick(c.NICKNAMES))
        primary = 1 if self.rng.random() < 0.2 else 0
        full = spelled.pop(primary)
        return full, spelled[: self.rng.randint(1, len(spelled))], "woman" if woman else "man"

    # -- records ------------------------------------------------------------------------

    def organisation(self, name: str) -> str:
        organisation = self.new_id()
        self.add("organisation", {"id": organisation, "name": name, "kind": "ngo"})
        return organisation

    def case(self, reports: int) -> None:
        made = sum(t.cases for t in self.teams)
        # Every team has a case from the first: the smallest archive has a small team too.
        team = (
            self.teams[made]
            if made < len(self.teams)
            else self.rng.choices(self.teams, self.weights)[0]
        )
        team.cases += 1
        begun, start = self.day()
        incident = self.incident(team, start)
        people = [self.person(team, incident, start) for _ in range(self.rng.choice((1, 1, 2, 3)))]
        for _ in range(reports):
            loose = self.rng.random() < 0.1  # not linked to an incident yet: triage's queue
            self.report(team, None if loose else incident, begun, all(people))
        if self.rng.random() < 0.2:
            self.state_response(team, incident, start)
        if team.cases % 8 == 0:
            self.action(team)

    def incident(self, team: Team, start: str) -> str:
        when, precision = self.fuzzy(start)
        incident = self.new_id()
        doc = {
            "id": incident,
            "team": team.slug,
            "title": self.pick(c.TITLES),
            "summary": "A case documented by the team; details are kept confidential.",
            "narrative": self.text(4, 12),
            "violation_types": sorted(set(self.rng.choices(_VIOLATIONS, k=self.rng.randint(1, 3)))),
            "country": self.pick(team.countries),
            "region": self.pick(c.REGIONS),
            "place_detail": self.pick(c.PLACES),
            "start_date": when,
            "start_precision": precision,
            "status": self.pick(_INCIDENT_STATUSES),
            "estimated_victims": self.rng.randint(1, 12),
        }
        self.add("incident", doc)
        return incident

    def person(self, team: Team, incident: str, start: str) -> bool:
        """A person harmed in the incident, with their act, perpetrators and consents;
        whether they consented to anonymised use in advocacy."""
        full, aliases, gender = self.name()
        person = self.new_id()
        year = self.rng.randint(1960, 2004)
        born = f"{year}-{self.rng.randint(1, 12):02d}-{self.rng.randint(1, 28):02d}"
        self.add(
            "person",
            {
                "id": person,
                "team": team.slug,
                "full_name": full,
                "aliases": aliases,
                "date_of_birth": born if self.rng.random() < 0.6 else str(year),
                "contact": f"Through the team's contact, ref. {self.rng.randint(100, 999)}",
                "gender": gender,
                "age_band": self.pick(_AGE_BANDS),
            },
        )
        act = self.new_id()
        self.add(
            "act",
            {
                "id": act,
                "team": team.slug,
                "person": person,
                "incident": incident,
                "act_type": self.pick(_ACT_TYPES),
                "start_date": start,
                "start_precision": "day",
                "end_status": self.pick(_END_STATUSES),
                "attribution": self.pick(_ATTRIBUTIONS),
                "notes": self.text(1, 3),
            },
        )
        if self.rng.random() < 0.7:
            self.add(
                "involvement",
                {
                    "id": self.new_id(),
                    "team": team.slug,
                    "act": act,
                    "perpetrator_kind": self.pick(_PERPETRATOR_KINDS),
                    "perpetrator_names": self.pick(c.PERPETRATORS),
                    "units": self.pick(c.UNITS),
                    "degree": self.pick(_DEGREES),
                },
            )
        consented = self.rng.random() < 0.85
        uses = ["keep_in_database"] + (["anonymised_advocacy"] if consented else [])
        for use in uses:
            self.consent(team, "person", person, use, start)
        return consented

    def consent(self, team: Team, giver: str, giver_id: str, use: str, start: str) -> None:
        self.add(
            "consent",
            {
                "id": self.new_id(),
                "team": team.slug,
                giver: giver_id,
                "use": use,
                "granted_on": start,
            },
        )

    def source(self, team: Team, start: str) -> tuple[str, bool]:
        if team.sources and self.rng.random() < 0.3:  # a source met before
            known = self.pick(list(team.sources))
            return known, known in team.consenting_sources
        full, _aliases, _gender = self.name()
        source = self.new_id()
        self.add(
            "source",
            {
                "id": source,
                "team": team.slug,
                "kind": self.pick(_SOURCE_KINDS),
                "identity": f"{full}, {self.pick(_RELATIONS)}",
                "contact": f"Signal, number ending {self.rng.randint(1000, 9999)}",
                "reliability": self.pick(_RELIABILITIES),
                "risk_level": self.pick(_RISKS),
            },
        )
        if team.sources.maxlen == len(team.sources):
            team.consenting_sources.discard(team.sources[0])
        team.sources.append(source)
        if self.rng.random() < 0.9:
            self.consent(team, "source", source, "anonymised_advocacy", start)
            team.consenting_sources.add(source)
        return source, source in team.consenting_sources

    def report(self, team: Team, incident: str | None, begun: int, people_consented: bool) -> None:
        _when, received = self.day(begun)
        source, source_consented = self.source(team, received)
        report = self.new_id()
        self.add(
            "report",
            {
                "id": report,
                "team": team.slug,
                "title": self.pick(c.REPORT_TITLES),
                "source": source,
                "incident": incident,
                "received_on": received,
                "channel": self.pick(_CHANNELS),
                "language": self.pick(("ru", "ru", "en", "ce", "kk", "hy")),
                "narrative": self.text(3, 10),
                "credibility": self.rng.randint(1, 6),
                "status": "linked" if incident else "new",
            },
        )
        if incident and people_consented and source_consented:
            team.linkable_reports.append(report)

    def state_response(self, team: Team, incident: str, start: str) -> None:
        self.add(
            "state_response",
            {
                "id": self.new_id(),
                "team": team.slug,
                "incident": incident,
                "kind": self.pick(_STATE_RESPONSES),
                "date": start[:7],
                "date_precision": "month",
                "authority": self.pick(c.AUTHORITIES),
                "description": "Reported by the family's lawyer.",
            },
        )

    def action(self, team: Team) -> None:
        if team.campaign is None or self.rng.random() < 0.05:
            team.campaign = self.new_id()
            self.add(
                "campaign",
                {"id": team.campaign, "team": team.slug, "name": f"Campaign {team.cases}"},
            )
        linked = bool(team.linkable_reports) and self.rng.random() < 0.7
        action = self.new_id()
        _when, start = self.day()
        self.add(
            "advocacy_action",
            {
                "id": action,
                "team": team.slug,
                "campaign": team.campaign,
                "kind": self.pick(LINKABLE_KINDS if linked else OTHER_ACTION_KINDS),
                "title": f"Appeal on the cases of {start[:4]}",
                "description": self.text(1, 3),
                "start_date": start,
                "target": self.pick(c.TARGETS),
                "demands": "Investigate; release those held; protect the families.",
                "priority": self.pick(("low", "medium", "high", "urgent")),
                "status": self.pick(("planned", "ongoing", "completed")),
                "organisations": sorted(set(self.rng.choices(self.organisations, k=2))),
            },
        )
        if self.rng.random() < 0.3:
            self.add(
                "action_response",
                {"id": self.new_id(), "action": action, "kind": self.pick(_RESPONSES)},
            )
        if self.rng.random() < 0.4:
            self.add(
                "follow_up",
                {
                    "id": self.new_id(),
                    "action": action,
                    "description": "Ask for the authorities' answer.",
                    "due_on": start,
                    "assignee": team_users(team.slug)["advocacy_lead"],
                },
            )
        if linked:
            count = min(len(team.linkable_reports), self.rng.randint(1, 3))
            for report in self.rng.sample(list(team.linkable_reports), count):
                self.add("action_link", {"id": self.new_id(), "action": action, "report": report})


_VIOLATIONS = ("abduction", "arbitrary_detention", "torture_or_ill_treatment", "threats", "killing")
_INCIDENT_STATUSES = ("reported", "under_verification", "corroborated", "verified", "closed")
_AGE_BANDS = ("18_29", "18_29", "30_49", "30_49", "50_64", "unknown")
_ACT_TYPES = ("abducted", "detained", "detained", "tortured", "threatened", "disappeared")
_END_STATUSES = ("released", "released", "held", "still_missing", "unknown")
_ATTRIBUTIONS = ("officials_deny_the_act", "no_official_statement", "unknown")
_PERPETRATOR_KINDS = ("state_security", "police", "police", "military", "unknown")
_DEGREES = ("carried_out", "ordered", "suspected")
_SOURCE_KINDS = ("victim", "witness", "family_member", "journalist", "ngo")
_RELATIONS = ("sister of the victim", "neighbour", "cellmate", "lawyer", "journalist")
_RELIABILITIES = ("A", "B", "B", "C", "C", "D", "F")
_RISKS = ("low", "medium", "high", "critical")
_CHANNELS = ("interview", "hotline", "secure_message", "partner_ngo", "media")
_STATE_RESPONSES = ("denial", "statement", "investigation_opened", "no_response")
_RESPONSES = ("favourable", "denial", "request_for_information", "no_response")
