"""One unit of work per request, per command, and per batch of a long job.

The boundary commits once on success and rolls back on error; services only flush.
Reading a secret writes an audit event, so a boundary that let its session close with
events still uncommitted would have shown plaintext and lost the record of it: `close`
fails loudly when that happens under test (`strict`), and logs it otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from incidents.audit.log import pending_events

log = logging.getLogger(__name__)


class UncommittedAuditEvents(RuntimeError):
    """A session closed with audit events that were neither committed nor rolled back."""


@contextmanager
def unit_of_work(session: Session) -> Iterator[None]:
    """Commit what the block did, or roll all of it back if it raises."""
    try:
        yield
    except BaseException:
        session.rollback()
        raise
    try:
        session.commit()
    except BaseException:
        # A commit refused (the disk full, the database gone) leaves the transaction to
        # be rolled back, not closed as if its events were lost on the way.
        session.rollback()
        raise


def close(session: Session, *, strict: bool) -> None:
    """End the session; refuse (strict) or report audit events it would lose."""
    pending = pending_events(session)
    session.close()
    if pending:
        message = (
            f"{pending} audit event(s) were neither committed nor rolled back: the unit "
            "of work ended without its commit"
        )
        if strict:
            raise UncommittedAuditEvents(message)
        log.error(message)
