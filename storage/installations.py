"""OAuth installations and state in the bot's own database, through slack_sdk's SQLAlchemy stores;
bot and user tokens are encrypted at rest (Fernet: AES-128-CBC with an HMAC-SHA256 tag)."""

from __future__ import annotations

import copy
import hashlib
import hmac
import logging
from typing import TypeVar

from cryptography.fernet import Fernet, InvalidToken
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy import delete, select, update

from storage.db import Database
from storage.models import (
    AlertGroup,
    CalendarCopy,
    EmailUser,
    Handoff,
    InboxItem,
    Incident,
    OncallOverride,
    Person,
    ScheduledJob,
    slack_bots,
    slack_installations,
    slack_oauth_states,
)

log = logging.getLogger(__name__)

_TOKENS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")
Entity = TypeVar("Entity", Installation, Bot)
# Rows from before workspaces existed (team_id ''): adopted by the one workspace of a bot token.
_OWNED = (
    Incident,
    ScheduledJob,
    InboxItem,
    AlertGroup,
    OncallOverride,
    CalendarCopy,
    EmailUser,
    Handoff,
    Person,
)


class Sealer:
    """Encrypts and decrypts token values with the key from INCIDENT_BOT_ENCRYPTION_KEY."""

    def __init__(self, key: str) -> None:
        try:
            self._fernet = Fernet(key.encode())
        except (ValueError, TypeError):
            raise ValueError("not a Fernet key (32 url-safe base64-encoded bytes)") from None

    def seal(self, entity: Entity) -> Entity:
        """A copy with every token encrypted (a copy already sealed stays as it is)."""
        out = copy.copy(entity)
        for name in _TOKENS:
            value = getattr(out, name, None)
            if value and not self._is_sealed(value):
                setattr(out, name, self._fernet.encrypt(value.encode()).decode())
        return out

    def open(self, entity: Entity | None) -> Entity | None:
        """The entity with its tokens decrypted; a token that does not decrypt (another key) is dropped."""
        if entity is None:
            return None
        for name in _TOKENS:
            value = getattr(entity, name, None)
            if value:
                try:
                    setattr(entity, name, self._fernet.decrypt(value.encode()).decode())
                except InvalidToken:
                    log.error("a stored %s does not decrypt with INCIDENT_BOT_ENCRYPTION_KEY: ignored", name)
                    setattr(entity, name, None)
        return entity

    def _is_sealed(self, value: str) -> bool:
        try:
            self._fernet.decrypt(value.encode())
        except InvalidToken:
            return False
        return True


class EncryptedInstallationStore(AsyncSQLAlchemyInstallationStore):
    """slack_sdk's async SQLAlchemy store on the bot's tables, with tokens sealed before they are
    written and opened after they are read."""

    def __init__(self, client_id: str, db: Database, sealer: Sealer) -> None:
        super().__init__(client_id, db.engine, logger=log)
        # The tables Alembic created (tokens as Text, room for the ciphertext), not the store's own.
        self.metadata = slack_bots.metadata
        self.bots, self.installations = slack_bots, slack_installations
        self.sealer = sealer

    async def async_save(self, installation: Installation) -> None:
        await super().async_save(self.sealer.seal(installation))

    async def async_save_bot(self, bot: Bot) -> None:
        await super().async_save_bot(self.sealer.seal(bot))

    async def async_find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        found = await super().async_find_bot(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install
        )
        return self.sealer.open(found)

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        found = await super().async_find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )
        return self.sealer.open(found)

    async def installed_teams(self) -> list[tuple[str | None, str | None, bool]]:
        """(enterprise id, team id, org-wide) of every installation with a bot token."""
        c = slack_bots.c
        stmt = (
            select(c.enterprise_id, c.team_id, c.is_enterprise_install)
            .where(c.client_id == self.client_id, c.bot_token.is_not(None))
            .distinct()
        )
        async with self.engine.connect() as conn:
            return [(e, t, bool(org)) for e, t, org in (await conn.execute(stmt)).all()]

    async def teams_of_enterprise(self, enterprise_id: str) -> list[str]:
        """The workspaces of an organisation that have incidents."""
        stmt = select(Incident.team_id).where(Incident.enterprise_id == enterprise_id).distinct()
        async with self.engine.connect() as conn:
            return [team for (team,) in (await conn.execute(stmt)).all() if team]


class SignedStateStore(AsyncSQLAlchemyOAuthStateStore):
    """OAuth state kept in the database, each value signed with SLACK_STATE_SECRET: a forged or
    altered state is refused before the database is asked."""

    def __init__(self, secret: str, db: Database, expiration_seconds: int = 600) -> None:
        super().__init__(expiration_seconds, db.engine, logger=log)
        self.metadata, self.oauth_states = slack_oauth_states.metadata, slack_oauth_states
        self._secret = secret.encode()

    def _sign(self, state: str) -> str:
        return hmac.new(self._secret, state.encode(), hashlib.sha256).hexdigest()[:32]

    async def async_issue(self, *args: object, **kwargs: object) -> str:
        state = await super().async_issue(*args, **kwargs)
        return f"{state}.{self._sign(state)}"

    async def async_consume(self, state: str) -> bool:
        raw, _, signature = state.rpartition(".")
        if not raw or not hmac.compare_digest(signature, self._sign(raw)):
            return False
        return await super().async_consume(raw)


async def adopt_unowned_rows(db: Database, team_id: str) -> int:
    """Give rows kept before workspaces existed (team '') to `team_id`; how many moved."""
    moved = 0
    async with db.session() as s:
        # A name the workspace has seen since wins over the one kept from before.
        seen = select(Person.user_id).where(Person.team_id == team_id)
        await s.execute(delete(Person).where(Person.team_id == "", Person.user_id.in_(seen)))
        for model in _OWNED:
            stmt = update(model).where(model.team_id == "").values(team_id=team_id)
            moved += (await s.execute(stmt.execution_options(synchronize_session=False))).rowcount or 0
    return moved


async def workspace_ids(db: Database) -> list[str]:
    """The workspaces the database holds incidents, overrides or installations of."""
    found: set[str] = set()
    async with db.session() as s:
        for column in (Incident.team_id, OncallOverride.team_id, slack_bots.c.team_id):
            found.update(t for (t,) in (await s.execute(select(column).distinct())).all() if t)
    return sorted(found)
