"""Bolt listeners, one module per kind, each with `register(app)`."""

from slack_bolt.async_app import AsyncApp

from runtime.inbox_worker import InboxWorker
from runtime.workspaces import Workspaces


def register_all(app: AsyncApp, workspaces: Workspaces, worker: InboxWorker) -> None:
    """Attach every listener to the app and every inbox op to the worker (subcommand and op modules
    register themselves on import). Every listener runs with its workspace's context."""
    from handlers import (  # noqa: F401
        actions,
        alerts,
        commands,
        escalation_commands,
        events,
        followup_commands,
        integration_commands,
        lifecycle_commands,
        oncall_commands,
        ops,
        role_commands,
        timeline_commands,
        tracker_ops,
        update_typos,
        views,
        workspace,
    )

    workspace.register(app, workspaces)
    for module in (commands, events, views, actions, followup_commands, update_typos):
        module.register(app)
    ops.register(workspaces, worker)
