"""Installing with OAuth ("Add to Slack"): Bolt's flow, with installations and state in our database."""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt.oauth.async_callback_options import AsyncCallbackOptions, AsyncFailureArgs, AsyncSuccessArgs
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse

from bot.manifest import BOT_SCOPES, OAUTH_REDIRECT_PATH
from config.errors import ConfigError
from config.settings import Settings
from domain.workspace import Team
from storage.db import Database
from storage.installations import EncryptedInstallationStore, Sealer, SignedStateStore

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = OAUTH_REDIRECT_PATH


def oauth_settings(
    settings: Settings, db: Database, installed: Callable[[Team], None]
) -> tuple[EncryptedInstallationStore, AsyncOAuthSettings]:
    """The installation store and Bolt's OAuth settings; `installed` hears of each new installation."""
    key, secret = settings.incident_bot_encryption_key, settings.slack_client_secret
    state_secret, client_id = settings.slack_state_secret, settings.slack_client_id
    if key is None or secret is None or state_secret is None or client_id is None:
        raise ConfigError(
            "SLACK_CLIENT_ID: OAuth needs it, SLACK_CLIENT_SECRET, SLACK_STATE_SECRET and a key"
        )
    try:
        sealer = Sealer(key.get_secret_value())
    except ValueError as exc:
        raise ConfigError(f"INCIDENT_BOT_ENCRYPTION_KEY: {exc}") from None
    store = EncryptedInstallationStore(client_id, db, sealer)

    async def success(args: AsyncSuccessArgs) -> BoltResponse:
        i = args.installation
        installed(Team(i.team_id or "", i.enterprise_id, bool(i.is_enterprise_install)))
        return await args.default.success(args)

    async def failure(args: AsyncFailureArgs) -> BoltResponse:
        return await args.default.failure(args)

    public = settings.incident_bot_public_url
    return store, AsyncOAuthSettings(
        client_id=client_id,
        client_secret=secret.get_secret_value(),
        scopes=list(BOT_SCOPES),
        redirect_uri=public.rstrip("/") + REDIRECT_PATH if public else None,
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        install_page_rendering_enabled=False,
        authorization_url=settings.slack_page("/oauth/v2/authorize"),
        installation_store=store,
        state_store=SignedStateStore(state_secret.get_secret_value(), db),
        callback_options=AsyncCallbackOptions(success=success, failure=failure),
    )
