"""Queries on personal API tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from incidents.models.user import ApiToken, User


def token_by_hash(session: Session, token_hash: str) -> ApiToken | None:
    return session.scalars(select(ApiToken).where(ApiToken.token_hash == token_hash)).one_or_none()


def token_by_id(session: Session, token_id: uuid.UUID) -> ApiToken | None:
    return session.get(ApiToken, token_id)


def tokens_with_owners(
    session: Session, user_id: uuid.UUID | None = None
) -> list[tuple[ApiToken, User]]:
    """Every token (of one user, when given) with its owner, newest first."""
    query = select(ApiToken, User).join(User, User.id == ApiToken.user_id)
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    rows = session.execute(query.order_by(ApiToken.created_at.desc(), ApiToken.id))
    return [(token, owner) for token, owner in rows]


def usable_tokens(session: Session, user_id: uuid.UUID, now: datetime) -> list[ApiToken]:
    """The user's tokens that are neither revoked nor expired at `now`."""
    return list(
        session.scalars(
            select(ApiToken)
            .where(
                ApiToken.user_id == user_id,
                ApiToken.revoked_at.is_(None),
                or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
            )
            .order_by(ApiToken.created_at)
        )
    )
