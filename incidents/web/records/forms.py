"""Forms made from the record registry: one form field per input field of a kind, named
after the model attribute (`title`, `narrative`, `received_on`…), labelled as the
registry labels it, secret fields marked as such.

The form only carries text: every value is checked by the registry's one validator when
the service creates or updates the record, and its messages are put beside the fields.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any

from wtforms import (
    Field,
    HiddenField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired

from incidents.models.vocabularies import (
    CREDIBILITY_LABELS,
    RELIABILITY_LABELS,
    SourceReliability,
    label,
)
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
from incidents.records.kinds import kind_named
from incidents.web.drafts import DraftForm
from incidents.web.forms import MultiCheckboxField

NOT_GIVEN = ""
SHORT_TEXT = 300  # longer text gets a text area


class RecordForm(DraftForm):
    """A record's fields, plus the version it was edited from (the optimistic lock).

    What was typed outlives the session it was typed in (a draft, kept sealed, restored
    after the same user logs in again)."""

    lock_version = HiddenField()
    # What each field held when the form was opened, as keyed digests (never the values):
    # after an edit conflict, the fields this editor left alone take what is stored now.
    opened = HiddenField()

    # Class attributes with names no record field has (a source has a `kind` field).
    record_kind: RecordKind
    input_names: tuple[str, ...] = ()  # the input fields on this form, in registry order
    input_hints: Mapping[str, str] = {}
    secret_names: frozenset[str] = frozenset()
    # Links chosen from a list the page offers (`offer`): records without a reference to
    # type (a campaign), and lists of shared records (the organisations of an action).
    chosen_links: frozenset[str] = frozenset()

    def offer(self, name: str, options: Iterable[tuple[str, str]]) -> None:
        """The records the chosen link `name` may name, as (id, what to call it)."""
        field = self._fields[name]
        choices = [SelectChoice(value, text) for value, text in options]
        if not isinstance(field, SelectMultipleField):  # keep the "none" or "choose" option
            choices = [*list(field.choices or [])[:1], *choices]
        field.choices = choices

    def raw(self) -> dict[str, object]:
        """What was entered, keyed by input field, as the record services take it."""
        return {name: self._fields[name].data for name in self.input_names}

    def record_fields(self) -> list[Field]:
        return [self._fields[name] for name in self.input_names]

    def fill(self, values: Mapping[str, object]) -> None:
        """Show stored values (as `editable_values` gives them) in a form not yet sent."""
        for name, value in values.items():
            if name in self._fields:
                self._fields[name].data = value


def form_for(
    kind: RecordKind,
    *,
    only: Iterable[str] | None = None,
    without: Iterable[str] = (),
    with_team: bool = False,
) -> type[RecordForm]:
    """A form class for `kind`: its input fields (`only` these, `without` those), and a
    choice of team `with_team` (for a new record that does not follow from another)."""
    chosen = set(only) if only is not None else None
    skipped = set(without)
    specs = [
        spec
        for spec in kind.fields
        if (chosen is None or spec.name in chosen) and spec.name not in skipped
    ]
    attributes: dict[str, Any] = {spec.name: _form_field(kind, spec) for spec in specs}
    if with_team:
        attributes["team"] = SelectField("Team", validators=[DataRequired("Choose a team.")])
    attributes.update(
        record_kind=kind,
        input_names=tuple(spec.name for spec in specs),
        input_hints={spec.name: hint for spec in specs if (hint := _hint(spec))},
        secret_names=frozenset(spec.name for spec in specs if spec.secret),
        chosen_links=frozenset(spec.name for spec in specs if _chosen(spec)),
    )
    return type(f"{kind.name.title().replace('_', '')}Form", (RecordForm,), attributes)


def _form_field(kind: RecordKind, spec: InputField) -> Field:
    title = spec.label[:1].upper() + spec.label[1:]
    if spec.required:
        title += " (required)"
    if isinstance(spec, Choice):
        choices = [SelectChoice(v.value, _choice_label(v)) for v in spec.vocabulary]
        if spec.required:  # nothing chosen for the user: a hurried default is a wrong fact
            choices.insert(0, SelectChoice(NOT_GIVEN, "— choose —"))
        elif _may_be_empty(kind, spec):
            choices.insert(0, SelectChoice(NOT_GIVEN, "— not given —"))
        # The registry's validator judges the choice, with its own message.
        return SelectField(
            title, choices=choices, default=_default(kind, spec), validate_choice=False
        )
    if isinstance(spec, Choices):
        return MultiCheckboxField(
            title,
            choices=[SelectChoice(v.value, label(v)) for v in spec.vocabulary],
            validate_choice=False,
        )
    if isinstance(spec, LinkList):  # the page offers the records (RecordForm.offer)
        return MultiCheckboxField(title, choices=[], validate_choice=False)
    if isinstance(spec, Link) and _chosen(spec):
        empty = "— choose —" if spec.required else "— none —"
        return SelectField(title, choices=[SelectChoice(NOT_GIVEN, empty)], validate_choice=False)
    if isinstance(spec, Day):
        return StringField(title, render_kw={"type": "date"})
    if isinstance(spec, Number) and spec.name == "credibility":
        # The Admiralty scale, each grade with what it means; 6 ("cannot be judged") until
        # someone judges it.
        grades = [SelectChoice(str(n), f"{n} — {text}") for n, text in CREDIBILITY_LABELS.items()]
        return SelectField(title, choices=grades, default="6", validate_choice=False)
    if isinstance(spec, Number):
        return StringField(title, render_kw={"inputmode": "numeric"})
    if isinstance(spec, FuzzyDate | PartialDate):
        return StringField(title, render_kw={"inputmode": "numeric"})
    if isinstance(spec, Lines) or (isinstance(spec, Text) and spec.max_length > SHORT_TEXT):
        return TextAreaField(title, render_kw={"rows": 8 if spec.secret else 4})
    return StringField(title)


def _chosen(spec: InputField) -> bool:
    """Whether the field names records chosen from a list rather than typed."""
    if isinstance(spec, LinkList):
        return True
    return isinstance(spec, Link) and kind_named(spec.kind).prefix is None


def _choice_label(value: enum.Enum) -> str:
    if isinstance(value, SourceReliability):
        return f"{value.value} — {RELIABILITY_LABELS[value.value]}"
    return label(value)


def _may_be_empty(kind: RecordKind, spec: InputField) -> bool:
    column = kind.model.__table__.columns.get(spec.name)
    return not spec.required and (column is None or column.nullable)


def _default(kind: RecordKind, spec: InputField) -> str | None:
    """The model's default (a report's status "new"), preselected on a new record."""
    column = kind.model.__table__.columns.get(spec.name)
    default = getattr(column, "default", None)
    value = getattr(default, "arg", None)
    if isinstance(value, enum.Enum):
        return str(value.value)
    return None


def _hint(spec: InputField) -> str | None:
    if isinstance(spec, FuzzyDate):
        return "As much as is known: 2017, 2017-04 or 2017-04-20."
    if isinstance(spec, PartialDate):
        return "As much as is known: 1994, 1994-05 or 1994-05-17."
    if isinstance(spec, Day):
        return "Pick the day, or type it as 2017-04-20."
    if isinstance(spec, Pattern):
        return spec.hint
    if isinstance(spec, Link) and not _chosen(spec):
        return f"The {spec.label}'s reference or choose from the list."
    if isinstance(spec, Lines):
        return "One per line: other spellings, the name in another script, nicknames."
    return None
