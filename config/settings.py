"""Process settings from the environment (tokens, URLs, database)."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.errors import ConfigError
from config.policy import Policy
from config.policy_file import load_policy

DEFAULT_CONFIG_FILE = Path("incident-bot.toml")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
LOG_FORMATS = ("text", "json")
OAUTH_SETTINGS = ("slack_client_id", "slack_client_secret", "slack_state_secret")
WEB_SETTINGS = ("slack_client_id", "slack_client_secret", "incident_bot_session_secret")
MIN_SESSION_SECRET_BYTES = 32


class Settings(BaseSettings):
    """Environment variables the bot reads; secrets stay SecretStr so they never print."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = "sqlite:///./incident-bot.db"
    incident_bot_config: Path | None = None
    log_format: str = "text"
    log_level: str = "INFO"
    alertmanager_token: SecretStr | None = None
    # Installing with OAuth ("Add to Slack") into any number of workspaces instead of one token.
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_state_secret: SecretStr | None = None
    incident_bot_encryption_key: SecretStr | None = None
    # Where people reach this bot from outside (OAuth's redirect, the web view's links).
    incident_bot_public_url: str | None = None
    # Signs the web view's session cookies.
    incident_bot_session_secret: SecretStr | None = None

    @field_validator("incident_bot_encryption_key")
    @classmethod
    def _fernet_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value():
            try:
                raw = base64.urlsafe_b64decode(value.get_secret_value().encode())
            except (ValueError, binascii.Error):
                raw = b""
            if len(raw) != 32:
                raise ValueError("not a Fernet key (32 url-safe base64-encoded bytes; see the README)")
        return value

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        if value.strip().lower() not in LOG_FORMATS:
            raise ValueError(f"must be {' or '.join(LOG_FORMATS)}")
        return value.strip().lower()

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.strip().lower() not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return value.strip().upper()

    @property
    def oauth(self) -> bool:
        """True when the bot is installed with OAuth (many workspaces): no bot token, and the app's
        OAuth settings. With a bot token, SLACK_CLIENT_ID and SECRET only sign people in to the web view."""
        return not _given(self.slack_bot_token) and any(_given(getattr(self, n)) for n in OAUTH_SETTINGS)

    def check_install_mode(self) -> None:
        """One way to reach Slack: a bot token, or all of the OAuth settings and an encryption key."""
        if not self.oauth:
            return
        self.require(*OAUTH_SETTINGS, why="installing with OAuth needs all three")
        self.require("incident_bot_encryption_key", why="bot tokens are encrypted at rest")

    def check_session_secret(self) -> None:
        """INCIDENT_BOT_SESSION_SECRET, when set, is long enough to key the web view's cookies."""
        secret = self.incident_bot_session_secret
        size = len(secret.get_secret_value().encode()) if secret else 0
        if 0 < size < MIN_SESSION_SECRET_BYTES:
            raise ConfigError(
                f"INCIDENT_BOT_SESSION_SECRET: {size} bytes is too short (at least {MIN_SESSION_SECRET_BYTES}"
                " random bytes, e.g. the output of `openssl rand -base64 32`)"
            )

    @property
    def web_view(self) -> bool:
        """Whether the web view can sign people in: the app's client id and secret and a session secret."""
        return all(_given(getattr(self, n)) for n in WEB_SETTINGS)

    def slack_page(self, path: str) -> str:
        """A page of Slack's own site (sign-in, install); with SLACK_API_URL elsewhere (an emulator),
        that origin's."""
        parts = urlsplit(self.slack_api_url)
        if parts.hostname in (None, "slack.com"):
            return "https://slack.com" + path
        return f"{parts.scheme}://{parts.netloc}{path}"

    def policy_path(self) -> Path | None:
        """The TOML file to read: INCIDENT_BOT_CONFIG, else ./incident-bot.toml if present."""
        if self.incident_bot_config is not None:
            return self.incident_bot_config
        return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None

    def policy_folder(self) -> Path | None:
        """The folder a policy file's relative paths (runbooks) start from: the file's own."""
        path = self.policy_path()
        return path.parent if path is not None else None

    def require(self, *names: str, why: str) -> None:
        """Fail with a one-line ConfigError when any named setting is unset."""
        for name in names:
            if not _given(getattr(self, name)):
                raise ConfigError(f"{name.upper()}: not set ({why})")


def _given(value: object) -> bool:
    """Set to something: an empty variable counts as unset."""
    return bool(value.get_secret_value() if isinstance(value, SecretStr) else value)


def load_settings(**overrides: object) -> Settings:
    """Read Settings from the environment; a bad value becomes a one-line ConfigError."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        key = str(err["loc"][0]).upper() if err["loc"] else "settings"
        # Never echo the offending value: it may be a secret.
        raise ConfigError(f"{key}: {err['msg'].removeprefix('Value error, ')}") from None


def load_config(**overrides: object) -> tuple[Settings, Policy]:
    """Settings from the environment plus the policy from the TOML file."""
    settings = load_settings(**overrides)
    return settings, load_policy(settings.policy_path())
