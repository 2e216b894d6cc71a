"""A person's sexual orientation and gender identity, as they describe themselves: two
secret fields, apart from `gender`, sealed at rest, "not recorded" unless given, read by
the team's researchers on the person's page and nowhere else."""

from __future__ import annotations

import io
import json
from collections.abc import Callable

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from incidents.audit.actions import AuditAction
from incidents.context import Context
from incidents.db import FieldClass
from incidents.errors import ValidationError
from incidents.models import Person
from incidents.models.vocabularies import Gender, Role
from incidents.records.kinds import PERSON
from incidents.redaction import PROFILE_FIELD_CLASSES, Profile, visible_values
from incidents.services import people
from incidents.services.export import start_export, write_export
from tests.factories import TeamFactory, UserFactory
from tests.helpers import events

ContextFor = Callable[..., Context]
ORIENTATION = "bisexual, in her words CANARY-so-4T1"
IDENTITY = "trans woman CANARY-gi-8P5"
SELF = ("sexual_orientation", "gender_identity")


def _person(ctx: Context, team_id: object, **extra: str) -> Person:
    details = {"full_name": "Malika Testova", "gender": "woman", **extra}
    return people.create_person(ctx, team_id, details)  # type: ignore[arg-type]


def test_the_fields_are_secret_and_apart_from_gender() -> None:
    fields = {field.name: field for field in PERSON.fields}
    assert all(fields[name].secret for name in SELF)
    assert Person.__table__.c.gender.info["field_class"] != FieldClass.SECRET  # a separate fact
    assert all(Person.__table__.c[name].info["field_class"] == FieldClass.SECRET for name in SELF)


def test_they_are_sealed_at_rest_and_read_on_the_persons_page(
    db_session: Session, context_for: ContextFor
) -> None:
    team = TeamFactory()
    ctx = context_for(UserFactory(role=Role.RESEARCHER, teams=[team]))
    person = _person(ctx, team.id, sexual_orientation=ORIENTATION, gender_identity=IDENTITY)
    db_session.flush()
    key = person.id.hex if db_session.bind.dialect.name == "sqlite" else person.id
    raw = db_session.execute(
        text("SELECT sexual_orientation, gender_identity FROM persons WHERE id = :id"),
        {"id": key},
    ).one()
    for value in raw:
        assert value is not None and b"CANARY" not in bytes(value)
    view = people.view_person(ctx, person.reference)
    assert (view.sexual_orientation, view.gender_identity) == (ORIENTATION, IDENTITY)
    assert view.gender is Gender.WOMAN  # never read off, nor written into, the other field
    [opened] = events(db_session, AuditAction.SECRET_DECRYPT, person)
    assert set(SELF) <= set(opened.fields or ())


def test_not_given_is_not_recorded(db_session: Session, context_for: ContextFor) -> None:
    team = TeamFactory()
    ctx = context_for(UserFactory(role=Role.RESEARCHER, teams=[team]))
    person = _person(ctx, team.id)
    assert person.sexual_orientation is None and person.gender_identity is None
    view = people.view_person(ctx, person.reference)
    assert view.sexual_orientation is None and view.gender_identity is None


def test_a_long_self_description_is_refused_naming_the_field(context_for: ContextFor) -> None:
    team = TeamFactory()
    ctx = context_for(UserFactory(role=Role.RESEARCHER, teams=[team]))
    with pytest.raises(ValidationError) as refused:
        _person(ctx, team.id, gender_identity="x" * 201)
    assert set(refused.value.errors) == {"gender_identity"}


@pytest.mark.parametrize("profile", [Profile.INTERNAL, Profile.PARTNER, Profile.PUBLIC])
def test_no_profile_but_the_full_one_carries_them(profile: Profile) -> None:
    shown = visible_values(Person(), PROFILE_FIELD_CLASSES[profile], dict.fromkeys(SELF, "x"))
    assert not set(SELF) & set(shown)


def test_the_auditors_export_leaves_them_out_and_the_researchers_has_them(
    db_session: Session, context_for: ContextFor
) -> None:
    team = TeamFactory()
    researcher = context_for(UserFactory(role=Role.RESEARCHER, teams=[team]))
    _person(researcher, team.id, sexual_orientation=ORIENTATION, gender_identity=IDENTITY)
    auditor = context_for(UserFactory(role=Role.AUDITOR, teams=[team]))

    def exported(ctx: Context, profile: Profile) -> str:
        out = io.StringIO()
        write_export(ctx, start_export(ctx, profile, teams=[team.id]), out)
        return out.getvalue()

    internal = exported(auditor, Profile.INTERNAL)
    assert "CANARY-so" not in internal and "CANARY-gi" not in internal
    [person] = json.loads(exported(researcher, Profile.FULL))["records"]["person"]
    assert (person["sexual_orientation"], person["gender_identity"]) == (ORIENTATION, IDENTITY)
