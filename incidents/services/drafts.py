"""Nothing typed is lost when a session ends: a form that arrives after its session has
timed out is kept, sealed, for the user whose session it was, and filled in again once
they have logged in and open the same page — once, and only for draft_lifetime_hours.

A draft is held like a TOTP secret: with a data key of its own, wrapped by the master
key and bound to the draft and its user, so a database without the keys shows nothing
of it and content moved to another user's row does not open. Which fields are kept is
the web's choice (never the CSRF token, a password or a file: incidents/web/drafts.py);
this module decides whose draft it is and who gets it back. Audit events name the page
and the fields, never a value.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from incidents.audit.actions import AuditAction
from incidents.audit.log import record_event
from incidents.context import Context
from incidents.crypto import envelope
from incidents.db import utcnow
from incidents.errors import DecryptionError
from incidents.models.draft import MAX_PATH_LENGTH, Draft
from incidents.models.user import User
from incidents.repositories import accounts as account_queries
from incidents.repositories import drafts as queries
from incidents.services import sessions

log = logging.getLogger(__name__)

# Only a session that ran out of time leaves a draft: one ended by logging out, a
# password or role change or a disabled account means its user is not to carry on.
TIMED_OUT = frozenset({sessions.EndReason.IDLE, sessions.EndReason.EXPIRED})
# The request that finds a session timed out ends it and keeps the draft at once; the
# slack covers requests of the same browser that raced it, and a cookie of a session
# that ended long ago keeps nothing.
JUST_ENDED = timedelta(minutes=2)
# A user's drafts are bounded in size and number, newest kept.
MAX_DRAFT_BYTES = 1024 * 1024
MAX_DRAFTS_PER_USER = 10
CONTENT_PLACE = "content"

Fields = list[tuple[str, str]]


class _DraftPlace:
    """Where a draft's data key and content are bound: the draft, and in the place of a
    team (which a draft does not have) its user."""

    __tablename__ = Draft.__tablename__

    def __init__(self, draft: Draft) -> None:
        self.id: Any = draft.id
        self.team_id: Any = draft.user_id


def lifetime(ctx: Context) -> timedelta:
    return timedelta(hours=ctx.settings.draft_lifetime_hours)


def owner_of_timed_out_session(
    ctx: Context, session_token: str | None, now: datetime | None = None
) -> User | None:
    """The active user whose session behind `session_token` has just ended by a timeout
    (the request that found it timed out ended it); None for any other token."""
    if not session_token:
        return None
    row = account_queries.session_by_token_hash(ctx.session, sessions.hash_token(session_token))
    if row is None or row.ended_at is None or row.end_reason not in TIMED_OUT:
        return None
    if (now or utcnow()) - row.ended_at > JUST_ENDED or not row.user.is_active:
        return None
    return row.user


def keep(
    ctx: Context,
    session_token: str | None,
    path: str,
    fields: Sequence[tuple[str, str]],
    now: datetime | None = None,
) -> Draft | None:
    """Keep `fields`, sent to the page `path` by a browser whose session has just timed
    out, as the draft of that session's user; None (nothing kept) for a token of any
    other session, no fields, or more than a draft may hold.

    One draft per user and page: a newer one replaces it."""
    now = now or utcnow()
    user = owner_of_timed_out_session(ctx, session_token, now)
    if user is None or not fields or len(path) > MAX_PATH_LENGTH:
        return None
    content = json.dumps({"fields": [[name, value] for name, value in fields]}).encode()
    if len(content) > MAX_DRAFT_BYTES:
        log.warning("a draft of %d bytes was not kept (at most %d)", len(content), MAX_DRAFT_BYTES)
        return None
    purge_expired(ctx, now)
    queries.delete_drafts(ctx.session, queries.draft_ids_at(ctx.session, user.id, path))
    draft = Draft(
        id=uuid.uuid4(), user_id=user.id, path=path, created_at=now, expires_at=now + lifetime(ctx)
    )
    draft.content = _seal(ctx, draft, content)
    ctx.session.add(draft)
    ctx.session.flush()
    queries.delete_drafts(
        ctx.session, queries.draft_ids_of(ctx.session, user.id)[MAX_DRAFTS_PER_USER:]
    )
    record_event(
        ctx.session,
        ctx.acting_as(user).actor,
        AuditAction.DRAFT_KEEP,
        draft,
        fields=_names(name for name, _value in fields),
        detail={"path": page_of(path)},
    )
    return draft


_RECORD_IN_PATH = re.compile(
    r"(?<=/)(?:[A-Z]{3}-(?:\d{4}-)?\d{4,}|[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12})(?=/|$)"
)


def page_of(path: str) -> str:
    """The page a draft is of, without the record it is about (`/people/…/edit`): a draft
    has no team, so its events are shown to every team's auditors."""
    return _RECORD_IN_PATH.sub("…", path)


def restore(ctx: Context, path: str, now: datetime | None = None) -> Fields | None:
    """The fields the acting user's draft of the page `path` holds, or None; the draft is
    deleted as it is given back (a second call gives nothing)."""
    user = ctx.user
    if ctx.under_duress:  # what was typed is case data; it waits for a real session
        return None
    now = now or utcnow()
    purge_expired(ctx, now)
    found = queries.drafts_at(ctx.session, user.id, path, now)
    if not found:
        return None
    newest = found[0]
    try:
        fields = _open(ctx, newest)
    except (DecryptionError, ValueError) as error:  # the message names no value
        log.warning("a draft could not be opened and was discarded: %s", error)
        fields = None
    if fields is not None:
        record_event(
            ctx.session,
            ctx.actor,
            AuditAction.DRAFT_RESTORE,
            newest,
            fields=_names(name for name, _value in fields),
            detail={"path": page_of(path)},
        )
    queries.delete_drafts(ctx.session, [draft.id for draft in found])
    return fields


def purge_expired(ctx: Context, now: datetime | None = None) -> int:
    """Delete every expired draft with its data key (keeping and restoring call this,
    so no draft outlives its time by more than the next of either); how many there were."""
    return queries.delete_expired(ctx.session, now or utcnow())


def _names(names: Iterable[str]) -> list[str]:
    return sorted(set(names))


def _seal(ctx: Context, draft: Draft, content: bytes) -> bytes:
    place = _DraftPlace(draft)
    cipher = ctx.vault.cipher_for(place, create=True)
    aad = envelope.field_aad(place.__tablename__, CONTENT_PLACE, place.id, place.team_id)
    return envelope.seal_with(cipher, content, aad)


def _open(ctx: Context, draft: Draft) -> Fields:
    place = _DraftPlace(draft)
    cipher = ctx.vault.cipher_for(place, create=False)
    aad = envelope.field_aad(place.__tablename__, CONTENT_PLACE, place.id, place.team_id)
    document = json.loads(envelope.open_with(cipher, draft.content, aad))
    pairs = document.get("fields") if isinstance(document, dict) else None
    if not isinstance(pairs, list):
        raise ValueError("a draft without its fields")
    fields: Fields = []
    for pair in pairs:
        if not (
            isinstance(pair, list)
            and len(pair) == 2
            and all(isinstance(part, str) for part in pair)
        ):
            raise ValueError("a draft field that is not a name and a text")
        fields.append((pair[0], pair[1]))
    return fields
