"""The call context: who acts, and with what, for one request, command or job.

Built only at the boundaries — incidents/web/boundary.py for a request (once, and once
more acting for nobody while the login is resolved), incidents/cli/boundary.py for a
command — and passed first to every service, so a service never reaches for a global
and every dependency it has is in one value.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from incidents.audit.log import Actor
from incidents.crypto.blind_index import BlindIndexer
from incidents.crypto.keys import KeyProvider
from incidents.errors import PermissionDenied
from incidents.models.user import User
from incidents.permissions import Operator
from incidents.settings import Settings
from incidents.storage.store import EvidenceStore
from incidents.vault import FieldVault

ANONYMOUS = "anonymous"
# What the audit log names a user acting through an API token: the token, so that each
# use is traced to it, with the user's id beside it.
TOKEN_ACTOR_PREFIX = "token:"  # noqa: S105 (a label, not a token)


@dataclass(frozen=True)
class Context:
    """A session and what acts through it. `principal` is a logged-in User, the
    Operator at the command line, or None: nobody, who may do nothing."""

    session: Session
    keys: KeyProvider
    store: EvidenceStore
    settings: Settings
    principal: User | Operator | None
    vault: FieldVault
    indexer: BlindIndexer

    @classmethod
    def build(
        cls,
        session: Session,
        keys: KeyProvider,
        store: EvidenceStore,
        settings: Settings,
        principal: User | Operator | None = None,
    ) -> Context:
        return cls(
            session,
            keys,
            store,
            settings,
            principal,
            FieldVault(session, keys),
            BlindIndexer(keys, settings.blind_index_bytes),
        )

    @property
    def actor(self) -> Actor:
        """Who the audit log names for what this context does."""
        principal = self.principal
        if principal is None:
            return Actor(ANONYMOUS)
        if isinstance(principal, Operator):
            return Actor(principal.label)
        grant = principal.token_grant
        if grant is not None:
            return Actor(f"{TOKEN_ACTOR_PREFIX}{grant.token_id}", principal.id)
        return Actor(principal.email, principal.id)

    @property
    def user(self) -> User:
        """The logged-in user acting; PermissionDenied for the operator or nobody."""
        if not isinstance(self.principal, User):
            raise PermissionDenied("this is done by a logged-in user")
        return self.principal

    @property
    def under_duress(self) -> bool:
        """Whether this is a session opened with a duress password, which shows no case
        record and changes no credential (incidents/services/duress.py)."""
        return isinstance(self.principal, User) and self.principal.under_duress

    def acting_as(self, principal: User | Operator | None) -> Context:
        """The same session and keys, for another principal (after a login)."""
        return replace(self, principal=principal)

    def with_keys(self, keys: KeyProvider) -> Context:
        """The same session and principal with new master keys (after a key change)."""
        return Context.build(self.session, keys, self.store, self.settings, self.principal)
