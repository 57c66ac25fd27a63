"""The errors the command line reports in one line: exit 2 to fix a setting, 1 to retry later."""

from typing import Any


class ConfigError(Exception):
    """Invalid configuration; the message is one line naming the key and what is wrong (a policy's
    workflows: one line per mistake)."""

    exit_code = 2
    # A policy whose only mistakes are in workflows: the policy without those entries, and for each
    # table (its key prefix) where each workflow it kept is written, so their words are checked too.
    partial: tuple[Any, dict[str, list[str]]] | None = None


class Unavailable(Exception):
    """The settings may be right but what they point at is not there now (a server down, a port taken)."""

    exit_code = 1
