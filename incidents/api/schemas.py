"""The API's schemas, made from the record registry (incidents/records/kinds.py).

For each kind of record: `<Kind>Create` (the body of a POST: the required input fields
required), `<Kind>Update` (a PATCH: every field optional; null empties it) and `<Kind>`
(a document, incidents/services/documents.py: bookkeeping, every input field optional
and nullable, what the application records of itself, `withheld` and `sealed`). A new
kind or field in the registry is in the API and its OpenAPI document with no edit here.

Pydantic checks shapes — types, lengths, vocabularies — so that the OpenAPI document
can say them; the registry's validator still runs in the service and checks meaning
(a link to a record of the same team, an end after the start). Both refusals come back
in the same problem shape (incidents/api/problems.py).
"""

from __future__ import annotations

import enum
import functools
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model
from sqlalchemy import BigInteger, Boolean, Date, Integer, LargeBinary, Uuid

from incidents.db import FieldClass, UtcDateTime, field_class_of
from incidents.models.vocabularies import DatePrecision
from incidents.records.action_parts import Colleague, Moment
from incidents.records.fields import (
    Choice,
    Choices,
    Day,
    FuzzyDate,
    InputField,
    Lines,
    Link,
    LinkList,
    Number,
    PartialDate,
    Pattern,
    Text,
)
from incidents.records.kind import RecordKind
from incidents.records.kinds import KINDS, PERSON
from incidents.services.documents import document_key, recorded_columns

FUZZY_DATE = r"^\d{4}(-\d{2}(-\d{2})?)?$"
MAX_KEY = 64  # a reference or an id (incidents/records/fields.py Link)
MAX_TEAM_SLUG = 100
MAX_EMAIL = 320

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list; `next` is the cursor of the next page, null on the last."""

    items: list[T]
    next: str | None = Field(description="Pass as ?cursor= for the next page; null: no more.")


class Request(BaseModel):
    """A request body: an unknown field is refused, naming it, never dropped in silence."""

    model_config = ConfigDict(extra="forbid")


class Document(BaseModel):
    """A record as the reader may see it."""

    id: str = Field(json_schema_extra={"format": "uuid"})


# Last in every document, after the fields: what the reader was not given, and why.
_ABSENT: dict[str, Any] = {
    "withheld": (
        list[str] | None,
        Field(None, description="Fields the reader may not see: left out."),
    ),
    "sealed": (
        list[str] | None,
        Field(
            None,
            description="Secret fields the reader may see that were not opened "
            "(lists never decrypt): left out; read the record to open them.",
        ),
    ),
}


def model_name(kind: RecordKind) -> str:
    """CamelCase of the kind's name: state_response → StateResponse."""
    return "".join(part.capitalize() for part in kind.name.split("_"))


def _no_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("Enter a whole number, not true or false")
    return value


def _text(spec: Text) -> Any:
    constraints: dict[str, Any] = {"max_length": spec.max_length}
    # A pattern the validator checks after normalising (a country code upper-cased) is
    # not the request's: "ru" may be sent, and becomes RU.
    if isinstance(spec, Pattern) and spec.normal is str:
        constraints["pattern"] = f"^{spec.pattern}$"
    return Annotated[str, Field(**constraints)]


def _request_type(spec: InputField) -> Any:
    """What a request may send for the field: its type and the limits it is held to."""
    if isinstance(spec, Lines):
        item = Annotated[str, Field(max_length=spec.max_length)]
        return Annotated[list[item], Field(max_length=spec.max_lines)]
    if isinstance(spec, PartialDate):
        return Annotated[str, Field(max_length=spec.max_length, examples=["1991", "1991-04-17"])]
    if isinstance(spec, Text):
        return _text(spec)
    if isinstance(spec, Number):
        # JSON Schema's integers include 3.0: so does the model (not 3.5, nor true).
        return Annotated[int, Field(ge=spec.minimum, le=spec.maximum), BeforeValidator(_no_bool)]
    if isinstance(spec, FuzzyDate):
        return Annotated[str, Field(pattern=FUZZY_DATE, examples=["2017", "2017-04", "2017-04-20"])]
    if isinstance(spec, Link):
        return Annotated[
            str, Field(max_length=MAX_KEY, description=f"A {spec.kind}'s reference or id.")
        ]
    if isinstance(spec, LinkList):
        return list[Annotated[str, Field(max_length=MAX_KEY)]]
    if isinstance(spec, Colleague):
        return Annotated[str, Field(max_length=MAX_EMAIL, description="A user's e-mail or id.")]
    return _document_type(spec)


def _document_type(spec: InputField) -> Any:
    """What a document holds for the field: its type only. What is stored is answered as
    it is — a limit it was not written under (by an older version, an import, the demo)
    must not make a record unreadable."""
    if isinstance(spec, Lines):
        return list[str]
    if isinstance(spec, Choice):
        return spec.vocabulary
    if isinstance(spec, Choices):
        return list[spec.vocabulary]  # type: ignore[name-defined]
    if isinstance(spec, Number):
        return int
    if isinstance(spec, Day):
        return Annotated[str, Field(json_schema_extra={"format": "date"})]
    if isinstance(spec, Moment):
        return Annotated[str, Field(json_schema_extra={"format": "date-time"})]
    if isinstance(spec, LinkList):
        return list[str]
    return str


def _fields(kind: RecordKind, *, required: bool, request: bool) -> dict[str, Any]:
    """The input fields as pydantic fields: required ones as required with `required`,
    every other nullable with no default (a field not sent is not changed)."""
    fields: dict[str, Any] = {}
    for spec in kind.fields:
        kind_of_value = _request_type(spec) if request else _document_type(spec)
        described = Field(description=spec.label.capitalize() + ".")
        if required and spec.required:
            fields[spec.name] = (kind_of_value, described)
        else:
            fields[spec.name] = (
                kind_of_value | None,
                Field(None, description=described.description),
            )
        if isinstance(spec, FuzzyDate):
            fields[spec.precision_field] = (
                DatePrecision | None,
                Field(None, description=f"How precisely the {spec.label} is known."),
            )
    return fields


def _team_field(kind: RecordKind) -> dict[str, Any]:
    if not kind.team_scoped:
        return {}
    slug = Annotated[str, Field(max_length=MAX_TEAM_SLUG)]
    return {"team": (slug, Field(description="The slug of the team the record belongs to."))}


_COLUMN_TYPES: tuple[tuple[type[Any], Any], ...] = (
    (UtcDateTime, datetime),
    (Date, date),
    (BigInteger, int),
    (Integer, int),
    (Boolean, bool),
)


def _recorded_type(kind: RecordKind, column: str) -> Any:
    sql = kind.model.__table__.columns[column].type
    if isinstance(sql, Uuid):  # another record's id, or a user's e-mail (…_by_id)
        return str
    if isinstance(sql, LargeBinary):  # a secret, opened
        return str
    for sql_type, python in _COLUMN_TYPES:
        if isinstance(sql, sql_type):
            return python
    enum_class = getattr(sql, "enum_class", None)
    if isinstance(enum_class, type) and issubclass(enum_class, enum.Enum):
        return enum_class
    return str


def _recorded(kind: RecordKind) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for column in recorded_columns(kind):
        column_class = field_class_of(kind.model.__table__.columns[column])
        note = "Recorded by the application" + (
            "; secret." if column_class is FieldClass.SECRET else "."
        )
        fields[document_key(column)] = (
            _recorded_type(kind, column) | None,
            Field(None, description=note),
        )
    return fields


@functools.cache
def document_model(kind: RecordKind) -> type[Document]:
    bookkeeping: dict[str, Any] = {}
    if kind.prefix is not None:
        bookkeeping["reference"] = (str | None, Field(None, examples=[f"{kind.prefix}-0001"]))
    if kind.team_scoped:
        bookkeeping["team"] = (str | None, Field(None, description="The team's slug."))
    if "lock_version" in kind.model.__table__.columns:
        bookkeeping["lock_version"] = (
            int | None,
            Field(None, description="The version; send it back in If-Match to change it."),
        )
    return create_model(
        model_name(kind),
        __base__=Document,
        __doc__=f"A {kind.label}, as the reader may see it.",
        **bookkeeping,
        **_fields(kind, required=False, request=False),
        **_recorded(kind),
        **_ABSENT,
    )


@functools.cache
def create_model_of(kind: RecordKind) -> type[Request]:
    return create_model(
        f"{model_name(kind)}Create",
        __base__=Request,
        __doc__=f"A new {kind.label}.",
        **_team_field(kind),
        **_fields(kind, required=True, request=True),
        **(_CONFIRMATION if kind is PERSON else {}),
    )


# A new person is first compared with the people of the team, as on the page: when some
# may be the same, nothing is created until the caller says this is someone else.
_CONFIRMATION: dict[str, Any] = {
    "confirmed_different": (
        bool,
        Field(
            False,
            description="Send true, after looking at the possible duplicates a first "
            "attempt named, to record this person all the same.",
        ),
    )
}


@functools.cache
def update_model_of(kind: RecordKind) -> type[Request]:
    return create_model(
        f"{model_name(kind)}Update",
        __base__=Request,
        __doc__=f"Changes to a {kind.label}: the fields sent change, null empties one.",
        **_fields(kind, required=False, request=True),
    )


def all_document_models() -> dict[str, type[Document]]:
    return {kind.name: document_model(kind) for kind in KINDS}
