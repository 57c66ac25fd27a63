"""Bolt listeners, one module per feature, each attached by its `register(app, wiring)`."""

from slack_bolt.async_app import AsyncApp

from handlers.subcommands import Subcommands
from handlers.wiring import Wiring
from runtime.inbox_worker import InboxWorker
from runtime.ops import Ops
from runtime.workspaces import Workspaces


def register_all(app: AsyncApp, workspaces: Workspaces, ops: Ops, worker: InboxWorker) -> None:
    """Attach every feature's listeners, subcommands and inbox ops; every listener runs with its
    workspace's services."""
    from handlers import (  # noqa: F401
        alerts,
        commands,
        declare,
        followups,
        oncall,
        pages,
        roles,
        statuspage,
        timeline,
        tracker_ops,
        updates,
        workspace,
    )
    from handlers import (
        ops as legacy_ops,
    )

    wiring = Wiring(ops, Subcommands(), workspaces)
    workspace.register(app, workspaces)
    commands.register(app, wiring)
    declare.register(app, wiring)
    timeline.register(app, wiring)
    roles.register(app, wiring)
    pages.register(app, wiring)
    oncall.register(app, wiring)
    followups.register(app, wiring)
    updates.register(app, wiring)
    statuspage.register(app, wiring)
    legacy_ops.register(workspaces, worker)
    wiring.attach(worker)
