"""`incident-bot demo` and `incident-bot shell`: their script, their policy file, and how they run."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import tomllib
from pathlib import Path
from typing import Any

from config.errors import ConfigError
from config.policy_file import load_policy
from config.settings import Settings


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the demo, a shell script, or the interactive shell; a bad --script or policy file is a
    ConfigError before anything starts."""
    from bot import shell, shell_terminal
    from bot.shell_enter import terminal_stdin

    script = _script_lines(getattr(args, "script", None))
    own = None
    if args.command == "shell":
        given = getattr(args, "config", None)
        own = shell_policy(Path(given) if given else settings.incident_bot_config)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if script is None and args.command == "shell":
        return shell_terminal.run_interactive(args.database, own)
    if args.command == "demo":
        work = shell.run_demo(database_url=args.database, stdin=terminal_stdin())
    else:
        work = shell.run_script(script or [], database_url=args.database, own_policy=own)
    try:
        return asyncio.run(work)
    except KeyboardInterrupt:  # Ctrl-C stops a script quietly (the temporary database goes too)
        return 130


def shell_policy(path: Path | None) -> dict[str, Any] | None:
    """The tables of the policy file `shell --config` or INCIDENT_BOT_CONFIG names, checked as `serve`
    checks it (a bad file is a one-line ConfigError); None for the shell's built-in policy."""
    if path is None:
        return None
    policy = load_policy(path)
    missing = policy.missing_secrets(os.environ)
    if missing:
        raise ConfigError(missing)
    data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    return data


def _script_lines(path: str | None) -> list[str] | None:
    if path is None:
        return None
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"--script: cannot read {path} ({exc.strerror})") from None
