"""Where a command meets the services: the operator's call context and one unit of work.

A command acts as the Operator (audited as `cli:<login name>`), commits once when it
succeeds and rolls back when it fails. Long jobs commit per batch through the callback
they are given; a command commits early only where bytes must not leave before the
audit log has recorded them, and says so where it does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click
from flask import current_app
from flask.cli import with_appcontext

from incidents.context import Context
from incidents.extensions import db, evidence_store, key_provider
from incidents.permissions import Operator
from incidents.unit_of_work import unit_of_work

F = TypeVar("F", bound=Callable[..., Any])


def operator_context() -> Context:
    return Context.build(
        db.session,
        key_provider(),
        evidence_store(),
        current_app.config["INCIDENTS_SETTINGS"],
        Operator.from_environment(),
    )


@contextmanager
def operator_unit() -> Iterator[Context]:
    """The operator's context for a block that commits when it ends (and rolls back if
    it raises)."""
    ctx = operator_context()
    with unit_of_work(ctx.session):
        yield ctx


def as_operator(command: F) -> F:
    """Run the command in the application, as the operator, in one unit of work; the
    command takes the context as its first argument. What it returns is what it did, said
    once the unit has committed — never before, so a failed commit says nothing done."""

    @with_appcontext
    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        with operator_unit() as ctx:
            outcome = command(ctx, *args, **kwargs)
        if outcome is not None:
            click.echo(outcome)

    return run  # type: ignore[return-value]


def commit_each_batch(ctx: Context, bar: Callable[[int], None] | None) -> Callable[[int], None]:
    """The callback a long job calls after each batch: the batch is a unit of work of its
    own (a job killed half-way keeps its finished batches and resumes), then the bar moves."""

    def batch_done(count: int) -> None:
        ctx.session.commit()
        if bar is not None:
            bar(count)

    return batch_done
