"""The logged-in user and the per-request helpers views share."""

from __future__ import annotations

import uuid

from flask_login import current_user

from incidents.audit.log import Actor
from incidents.crypto.vault import FieldVault
from incidents.extensions import db, key_provider, login_manager
from incidents.models.user import User


def current_account() -> User:
    """The User behind current_user (views run after the login check)."""
    user: User = current_user._get_current_object()
    return user


def actor() -> Actor:
    user = current_account()
    return Actor(user.email, user.id)


def vault() -> FieldVault:
    return FieldVault(db.session, key_provider())


def init_login() -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see this page."
    login_manager.login_message_category = "info"

    @login_manager.user_loader  # type: ignore[untyped-decorator]
    def load_user(user_id: str) -> User | None:
        try:
            key = uuid.UUID(user_id)
        except ValueError:
            return None
        user = db.session.get(User, key)
        return user if user is not None and user.is_active else None
