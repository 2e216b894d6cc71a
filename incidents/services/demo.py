"""The demo case, loaded from its data file through the same services the pages use.

The case itself is data (incidents/demo/chechnya-2017.toml): the 2017 reports of
abductions, torture and killings of men believed to be gay or bisexual in Chechnya and
the advocacy that followed. Organisations, actions, official responses and public
statements are as reported at the time; every victim, witness, source, name, place detail
and narrative in it is FICTIONAL. This module only reads the file and hands each entry to
the record registry's generic create (people to the people service, files to evidence
intake), so the demo goes through every check a typed-in record does.
"""

from __future__ import annotations

import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from incidents.context import Context
from incidents.errors import ValidationError
from incidents.models.user import User
from incidents.models.vocabularies import Role, label
from incidents.records.fields import Link, LinkList
from incidents.records.kind import RecordKind
from incidents.records.kinds import ACTION_LINK, KINDS, REPORT
from incidents.services import accounts, action_links, follow_ups, people, records
from incidents.services.evidence import intake

CASE_FILE = Path(__file__).resolve().parent.parent / "demo" / "chechnya-2017.toml"
DEMO_DOMAIN = "demo.example.org"
# Entries of the file that are not records of a kind.
NOT_RECORDS = {"team", "teams", "users"}


@dataclass(frozen=True)
class Credential:
    role: str  # the role's value: "advocacy_lead"
    email: str
    password: str

    @property
    def role_label(self) -> str:
        """The role as the pages name it: "advocacy lead"."""
        return label(Role(self.role))


@dataclass
class SeedOutcome:
    seeded: bool
    credentials: list[Credential] = field(default_factory=list)
    # The links the consent check refused, as it worded each refusal: the demo shows one.
    refused_links: list[str] = field(default_factory=list)


def load_case(path: Path = CASE_FILE) -> dict[str, Any]:
    with path.open("rb") as handle:
        case = tomllib.load(handle)
    unknown = set(case) - NOT_RECORDS - {kind.name for kind in KINDS}
    if unknown:
        raise ValidationError(f"The demo file names no kind of record {sorted(unknown)}.")
    return case


def seed(ctx: Context, path: Path = CASE_FILE) -> SeedOutcome:
    """Seed the demo case once, and (re)set the demo users' passwords."""
    case = load_case(path)
    if accounts.team_by_slug(ctx, case["team"]) is not None:
        return SeedOutcome(False, _demo_users(ctx, case["users"]))
    loader = _Loader(ctx, case, path.parent)
    loader.make_teams()
    credentials = _demo_users(ctx, case["users"])  # follow-ups are assigned to them
    loader.make_records()
    return SeedOutcome(True, credentials, loader.refused)


def _demo_users(ctx: Context, users: list[dict[str, Any]]) -> list[Credential]:
    credentials = []
    for entry in users:
        email = f"{entry['login']}@{DEMO_DOMAIN}"
        password = secrets.token_urlsafe(12)
        role = Role(entry["role"])
        user: User | None = accounts.find_user_by_email(ctx, email)
        if user is None:
            teams = [t for t in (accounts.team_by_slug(ctx, s) for s in entry["teams"]) if t]
            user = accounts.create_user(ctx, email, entry["name"], password, [role], teams)
        else:
            accounts.set_password(ctx, user, password)
        # Demo accounts log in without a second factor so that anyone can try the demo;
        # every page says so, and production ignores the exemption.
        user.two_factor_exempt = True
        credentials.append(Credential(role.value, email, password))
    return credentials


class _Loader:
    """Creates the file's records in the registry's order, replacing each link (the key
    of another entry) with the reference or id of the record made for it."""

    def __init__(self, ctx: Context, case: dict[str, Any], folder: Path) -> None:
        self.ctx = ctx
        self.case = case
        self.folder = folder
        self.made: dict[str, str] = {}  # entry key -> reference or id
        self.teams: dict[str, Any] = {}
        self.refused: list[str] = []

    def make_teams(self) -> None:
        for team in self.case["teams"]:
            self.teams[team["slug"]] = accounts.create_team(self.ctx, team["slug"], team["name"])

    def make_records(self) -> None:
        for kind in KINDS:
            for entry in self.case.get(kind.name, []):
                self._create(kind, dict(entry))

    def _create(self, kind: RecordKind, entry: dict[str, Any]) -> None:
        key = entry.pop("key", None)
        team = self.teams[entry.pop("team", self.case["team"])]
        if kind.name == "evidence":
            record = self._evidence(entry)
        elif kind.name == "action_link":
            record = self._link(entry)
        else:
            values = {name: self._linked(kind, name, value) for name, value in entry.items()}
            team_id = team.id if kind.team_scoped else None
            if kind.name == "person":
                record = people.create_person(self.ctx, team.id, values)
            elif kind.name == "follow_up":  # its assignee is checked by the follow-up service
                action = values.pop("action")
                if "assignee" in values:
                    values["assignee"] = self._user_id(values["assignee"])
                record = follow_ups.create(self.ctx, action, values)
            else:
                record = records.create(self.ctx, kind, values, team_id=team_id)
        if key is not None and record is not None:
            self.made[key] = getattr(record, "reference", None) or str(record.id)

    def _linked(self, kind: RecordKind, name: str, value: Any) -> Any:
        spec = next((f for f in kind.fields if f.name == name), None)
        if not isinstance(spec, Link | LinkList):
            return value
        if isinstance(value, list):
            return [self.made[item] for item in value]
        return self.made[value]

    def _evidence(self, entry: dict[str, Any]) -> Any:
        report = records.find(self.ctx, REPORT, self.made[entry["report"]])
        with (self.folder / entry["file"]).open("rb") as stream:
            return intake.add_evidence(
                self.ctx, report, stream, entry["filename"], entry.get("description")
            )

    def _user_id(self, login: str) -> str:
        user = accounts.find_user_by_email(self.ctx, f"{login}@{DEMO_DOMAIN}")
        if user is None:
            raise ValidationError(f"The demo file assigns work to {login!r}, no demo user.")
        return str(user.id)

    def _link(self, entry: dict[str, Any]) -> Any:
        """A link through the consent check, as a lead makes one. The file marks the link
        it expects refused; any other outcome means the file and the consents disagree."""
        expect_refusal = bool(entry.pop("refused", False))
        action = self.made[entry.pop("action")]
        values = {name: self._linked(ACTION_LINK, name, value) for name, value in entry.items()}
        try:
            link = action_links.link_report(self.ctx, action, values)
        except ValidationError as refusal:
            if not expect_refusal:
                raise
            self.refused.append(str(refusal))
            return None
        if expect_refusal:
            raise ValidationError(f"The demo expects the link to {values['report']} refused.")
        return link
