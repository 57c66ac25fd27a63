"""Bolt listeners, one module per kind, each with `register(app, ctx)`."""

from slack_bolt.async_app import AsyncApp

from services.context import BotContext


def register_all(app: AsyncApp, ctx: BotContext) -> None:
    """Attach every listener to the app and every inbox op to the worker (subcommand and op modules
    register themselves on import)."""
    from handlers import (  # noqa: F401
        actions,
        alerts,
        commands,
        escalation_commands,
        events,
        integration_commands,
        lifecycle_commands,
        oncall_commands,
        ops,
        role_commands,
        timeline_commands,
        views,
    )

    for module in (commands, events, views, actions):
        module.register(app, ctx)
    ops.register(ctx)
