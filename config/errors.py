"""The errors the command line reports in one line: exit 2 to fix a setting, 1 to retry later."""


class ConfigError(Exception):
    """Invalid configuration; the message is one line naming the key and what is wrong."""

    exit_code = 2


class Unavailable(Exception):
    """The settings may be right but what they point at is not there now (a server down, a port taken)."""

    exit_code = 1
