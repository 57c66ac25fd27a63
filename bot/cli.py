"""`incident-bot` command line: serve, worker, db upgrade, demo."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bot import teams
from bot.terminal import safe, say, write
from config.errors import ConfigError, Unavailable
from config.policy import Policy
from config.settings import Settings, load_config, load_settings
from domain.durations import parse_duration

if TYPE_CHECKING:
    from bot.supervisor import WorkerChild

log = logging.getLogger("bot")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="incident-bot", description="Slack incident bot.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser(
        "serve",
        help="run the bot (Socket Mode, or HTTP with --http), with its worker as a child process",
        description="Serve Slack (Socket Mode, or HTTP with --http), the webhooks and the web view, and "
        "run `incident-bot worker` as a child process that carries out what was acknowledged and runs "
        "the scheduled jobs; it is stopped with serve and restarted if it dies. With --no-worker, "
        "requests are only stored: run `incident-bot worker` processes beside it.",
    )
    serve.add_argument("--http", action="store_true", help="serve Slack requests on POST /slack/events")
    serve.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    serve.add_argument("--port", type=int, default=3000, help="port to listen on (default 3000)")
    serve.add_argument(
        "--no-worker",
        action="store_true",
        help="start no worker: store and answer only; no scheduled jobs run here (run `incident-bot worker`)",
    )

    worker = sub.add_parser(
        "worker",
        help="carry out acknowledged requests and run pages, reminders, handoffs, calendars, deliveries",
        description="Carry out the requests `serve` acknowledged and run every scheduled job (pages, "
        "reminders, handoffs, calendars, webhook deliveries, pruning), without serving Slack or "
        "webhooks. Serves /healthz, /readyz (database and paging tick) and /metrics on --port. "
        "SIGTERM lets the step in flight finish and hands back the rest.",
    )
    worker.add_argument("--host", default="0.0.0.0", help="address for the probes (default 0.0.0.0)")
    worker.add_argument(
        "--port", type=int, default=3001, help="port for /healthz, /readyz and /metrics (default 3001)"
    )
    worker.add_argument("--exit-with", type=int, default=None, help=argparse.SUPPRESS)  # serve's child

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", help="apply database migrations")

    export = sub.add_parser("export", help="print an incident as a postmortem draft (Markdown) or JSON")
    export.add_argument("incident", help="incident channel id, INC-<n> or the incident number")
    export.add_argument("--format", choices=("markdown", "json"), default="markdown")
    teams.add_argument(export)

    stats = sub.add_parser(
        "stats", help="incidents by severity, service or field, MTTA and MTTR (median and p90)"
    )
    stats.add_argument("--since", type=_window, default="30d", help="window, e.g. 7d, 30d, 12h (default 30d)")
    stats.add_argument("--format", choices=("table", "json"), default="table")
    stats.add_argument(
        "--by",
        type=_by,
        default="severity",
        help="one row per severity, per service or per value of field:<name> (default severity)",
    )
    teams.add_argument(stats)

    hooks = sub.add_parser("webhooks", help="outbound deliveries (webhooks, PagerDuty)")
    hooks_sub = hooks.add_subparsers(dest="webhooks_command", required=True, metavar="ACTION")
    hooks_sub.add_parser("status", help="deliveries by target and state, and the ones given up on")

    inbox = sub.add_parser("inbox", help="acknowledged requests still to carry out, and those given up on")
    inbox_sub = inbox.add_subparsers(dest="inbox_command", required=True, metavar="ACTION")
    inbox_sub.add_parser("status", help="requests by state, the oldest unfinished, and the ones given up on")

    from bot import oncall_cli

    oncall_cli.add_parser(sub)

    from bot import runbooks_cli

    runbooks_cli.add_parser(sub)

    from bot import templates_cli

    templates_cli.add_parser(sub)

    from bot import workflows_cli

    workflows_cli.add_parser(sub)

    man = sub.add_parser(
        "manifest", help="print the Slack app manifest (Socket Mode, or HTTP with --http-url)"
    )
    man.add_argument(
        "--http-url",
        type=_public_url,
        metavar="URL",
        help="public base URL, e.g. https://incidents.example.com",
    )

    throwaway = "runs on a throw-away SQLite database (DATABASE_URL is ignored) unless given --database"
    demo = sub.add_parser(
        "demo",
        help="run a scripted incident against the built-in Slack emulator",
        description=f"Run a scripted incident against the built-in Slack emulator; {throwaway}.",
    )
    shell = sub.add_parser(
        "shell",
        help="a local Slack workspace in the terminal, with the real bot",
        description=f"A local Slack workspace in the terminal, with the real bot; {throwaway}.",
    )
    shell.add_argument(
        "--script", default=None, metavar="FILE", help="run the commands in FILE instead of reading input"
    )
    shell.add_argument(
        "--config",
        default=None,
        metavar="FILE",
        help="run on this policy file instead of the built-in one (default: INCIDENT_BOT_CONFIG if set)",
    )
    for workspace in (demo, shell):
        workspace.add_argument(
            "--database",
            default=None,
            metavar="URL",
            help="keep the data in this database (default: a temporary SQLite file; not DATABASE_URL)",
        )
    return parser


def _secrets(settings: Settings, policy: Policy) -> list[str]:
    values = [
        settings.slack_bot_token,
        settings.slack_signing_secret,
        settings.slack_app_token,
        settings.alertmanager_token,
        settings.slack_client_secret,
        settings.slack_state_secret,
        settings.incident_bot_encryption_key,
        settings.incident_bot_session_secret,
    ]
    return [v.get_secret_value() for v in values if v is not None] + policy_secrets(policy)


def policy_secrets(policy: Policy) -> list[str]:
    """Webhook secrets and the integration keys the policy names, to keep them out of the logs."""
    secrets: list[str] = []
    for each in (policy, *policy.workspaces.values()):
        secrets += [hook.secret for hook in each.webhooks]
        names = [lvl.pagerduty_routing_key for lvl in each.escalation.levels if lvl.pagerduty_routing_key]
        if each.alertmanager_token_env:
            names.append(each.alertmanager_token_env)
        if each.statuspage:
            names.append(each.statuspage.api_key_env)
        names += [name for key, name in each.tracker_secrets() if not key.endswith("email_env")]
        secrets += [os.environ[n] for n in names if os.environ.get(n)]
    return secrets


def _window(text: str) -> str:
    """`stats --since`: a duration; anything else is refused naming the units."""
    try:
        parse_duration(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration: give a number and a unit, s (seconds), m (minutes), h (hours), "
            "d (days) or w (weeks), e.g. 12h, 7d or 1d12h"
        ) from None
    return text


def _by(text: str) -> str:
    """`stats --by`: severity, service or field:<name> (the policy says which fields there are)."""
    if text in ("severity", "service") or (text.startswith("field:") and text.removeprefix("field:").strip()):
        return text
    raise argparse.ArgumentTypeError(
        f"invalid choice: {text!r} (choose from severity, service, field:<name>)"
    )


def _public_url(text: str) -> str:
    """`manifest --http-url`: the https:// address Slack will call."""
    url = urlsplit(text.strip())
    if url.scheme != "https" or not url.hostname or url.query or url.fragment:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a public https:// URL (Slack calls only those), e.g. https://incidents.example.com"
        )
    return text.strip()


def _debug_everywhere(parser: argparse.ArgumentParser, *, top: bool = True) -> argparse.ArgumentParser:
    """`--debug` before or after the subcommand: on every (sub)parser; only the top one sets the default."""
    parser.add_argument(
        "--debug",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="on an error, show the traceback as well (so does LOG_LEVEL=debug)",
    )
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _debug_everywhere(child, top=False)
    return parser


def _report(exc: Exception, debug: bool) -> int:
    """Print an error as one line on stderr (a configuration error: one per mistake; after its traceback
    with --debug); return the exit code."""
    if debug:
        traceback.print_exception(exc)
    if isinstance(exc, ConfigError):
        # One line per mistake (a policy's workflows are checked whole), each said as such.
        *more, line = [f"configuration error: {part}" for part in str(exc).splitlines() or [""]]
        for each in more:
            say(f"incident-bot: {each}", sys.stderr)
    elif isinstance(exc, Unavailable):
        line = str(exc)
    else:
        first = (str(exc).strip().splitlines() or [""])[0]
        hint = "" if debug else " (--debug shows where)"
        line = f"unexpected error: {type(exc).__name__}: {first}{hint}"
    say(f"incident-bot: {line}", sys.stderr)
    return getattr(exc, "exit_code", 1)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; an error is one line on stderr: exit 2 when a setting must change, 1 otherwise."""
    args = _debug_everywhere(_parser()).parse_args(argv)
    debug = args.debug or os.environ.get("LOG_LEVEL", "").strip().lower() == "debug"
    try:
        if args.command == "manifest":
            from bot.manifest import render

            write(render(args.http_url))
            return 0
        settings = load_settings()  # every other command, the workspaces included, reads the environment
        if args.command in ("demo", "shell"):
            from bot import shell_cli

            return shell_cli.run(args, settings)
        try:
            settings, policy = load_config()
        except ConfigError as exc:  # the workflows that read have their words checked too: all at once
            from bot.policy_files import with_words

            raise with_words(exc, settings.policy_folder()) from None
        from runtime import logs

        logs.configure(settings.log_format, settings.log_level, _secrets(settings, policy))
        if args.command in ("export", "stats"):
            from bot import reports_cli

            return asyncio.run(reports_cli.run(args, settings, policy))
        if args.command == "oncall":
            from bot import oncall_cli

            return asyncio.run(oncall_cli.run(args, settings, policy))
        if args.command == "runbooks":
            from bot import runbooks_cli

            return asyncio.run(runbooks_cli.run(args, settings, policy))
        if args.command == "templates":
            from bot import templates_cli

            return asyncio.run(templates_cli.run(args, settings, policy))
        if args.command == "workflows":
            from bot import workflows_cli

            return workflows_cli.run(args, settings, policy)
        if args.command == "db":
            return asyncio.run(_db_upgrade(settings))
        if args.command == "webhooks":
            return asyncio.run(_webhooks_status(settings))
        if args.command == "inbox":
            return asyncio.run(_inbox_status(settings))
        if args.command == "serve":
            return _serve_command(settings, policy, args)
        if args.command == "worker":
            from bot.worker import check_worker

            missing = policy.missing_secrets(os.environ)
            if missing:
                raise ConfigError(missing)
            check_worker(settings)
            return asyncio.run(_worker(settings, policy, args))
    except Exception as exc:
        return _report(exc, debug)
    return 0


async def _webhooks_status(settings: Settings) -> int:
    from bot.preflight import existing_database
    from domain.redact import redact_urls
    from storage.outbox import OutboxRepo

    async with existing_database(settings.database_url) as (db, migrated):
        if not migrated:
            print("no deliveries yet")
            return 0
        async with db.session() as s:
            summary = await OutboxRepo(s).summary()
            failed = await OutboxRepo(s).failed()
    if not summary:
        print("no deliveries yet")
    # A webhook's path is often its key (Slack's incoming webhooks): targets show the host only.
    for target, state, count in summary:
        print(f"{safe(redact_urls(target))}\t{state}\t{count}")
    for row in failed:
        say(f"failed: {redact_urls(row.target)} {row.kind} event {row.event_id} (INC-{row.incident_id}) "
            f"after {row.attempts} attempts: {redact_urls(row.last_error or '')}")  # fmt: skip
    return 0


async def _inbox_status(settings: Settings) -> int:
    from bot.inbox_cli import status

    return await status(settings)


async def _db_upgrade(settings: Settings) -> int:
    from storage import migrate
    from storage.db import Database

    db = Database(settings.database_url)
    await db.check()
    try:
        await migrate.upgrade(db)
        print(f"database at revision {await migrate.current_revision(db)}")
    finally:
        await db.dispose()
    return 0


def _serve_command(settings: Settings, policy: Policy, args: argparse.Namespace) -> int:
    """`serve`: its checks, the worker child launched before this process's own heavier imports (so
    the two start side by side), then serving until a signal."""
    from bot.preflight import check_serve

    missing = policy.missing_secrets(os.environ)
    if missing:
        raise ConfigError(missing)
    check_serve(settings, http=args.http)
    child = None
    if not args.no_worker:
        from bot.supervisor import WorkerChild

        child = WorkerChild(policy.delivery.shutdown_grace.total_seconds())
        child.launch()
    try:
        from handlers.alerts import check_tokens

        problem = check_tokens(settings, policy, os.environ)
        if problem:
            raise ConfigError(problem)
        return asyncio.run(_serve(settings, policy, args, child))
    finally:
        if child is not None:
            child.kill()  # only when serve did not get to stop it


async def _serve(
    settings: Settings, policy: Policy, args: argparse.Namespace, child: WorkerChild | None
) -> int:
    from bot.serve import serve

    await serve(settings, policy, http=args.http, host=args.host, port=args.port, child=child)
    return 0


async def _worker(settings: Settings, policy: Policy, args: argparse.Namespace) -> int:
    from bot.worker import work

    await work(settings, policy, host=args.host, port=args.port, parent=args.exit_with)
    return 0
