"""The one error type for bad configuration."""


class ConfigError(Exception):
    """Invalid configuration; the message is one line naming the key and what is wrong."""

    exit_code = 2
