"""Bolt listeners, one module per kind, each with `register(app, ctx)`."""

from slack_bolt.async_app import AsyncApp

from bot.context import BotContext
from bot.logs import bind


def register_all(app: AsyncApp, ctx: BotContext) -> None:
    """Attach every listener to the app (subcommand modules register themselves on import)."""
    from handlers import (  # noqa: F401
        actions,
        commands,
        escalation_commands,
        events,
        lifecycle_commands,
        role_commands,
        timeline_commands,
        views,
    )

    @app.middleware
    async def bind_log_ids(body: dict, next) -> None:  # type: ignore[no-untyped-def, type-arg]
        # Every log line of this request, and of the work it spawns, carries Slack's id.
        bind(event_id=body.get("event_id"), request_id=body.get("trigger_id"))
        await next()

    for module in (commands, events, views, actions):
        module.register(app, ctx)
