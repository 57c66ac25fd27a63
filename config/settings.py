"""Process settings from the environment (tokens, URLs, database)."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.errors import ConfigError
from config.policy import Policy, load_policy

DEFAULT_CONFIG_FILE = Path("incident-bot.toml")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
LOG_FORMATS = ("text", "json")


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

    def policy_path(self) -> Path | None:
        """The TOML file to read: INCIDENT_BOT_CONFIG, else ./incident-bot.toml if present."""
        if self.incident_bot_config is not None:
            return self.incident_bot_config
        return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None

    def require(self, *names: str, why: str) -> None:
        """Fail with a one-line ConfigError when any named setting is unset."""
        for name in names:
            value = getattr(self, name)
            if value is None or (isinstance(value, SecretStr) and not value.get_secret_value()):
                raise ConfigError(f"{name.upper()}: not set ({why})")


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
