"""Bolt listeners, one module per feature, each attached by its `register(app, wiring)`."""

from typing import Any

from slack_bolt.async_app import AsyncApp

from handlers.subcommands import Subcommands
from handlers.wiring import Inbound, Webhook, Wiring
from runtime.inbox_worker import InboxWorker
from runtime.ops import Ops
from runtime.workspaces import Workspaces


def register_all(
    app: AsyncApp, workspaces: Workspaces, ops: Ops, worker: InboxWorker, inbound: Inbound
) -> dict[str, Webhook]:
    """Attach every feature's listeners, subcommands and inbox ops; every listener runs with its
    workspace's services. Returns the webhooks to serve (POST path → handler)."""
    from handlers import (
        alerts,
        catchup,
        commands,
        declare,
        experts,
        fields,
        followups,
        oncall,
        pages,
        relations,
        roles,
        runbook,
        statuspage,
        subscriptions,
        timeline,
        trackers,
        updates,
        workflows,
        workspace,
    )

    wiring = Wiring(ops, Subcommands(), workspaces, inbound)
    features: list[Any] = [workspace]  # its middleware first: it gives every listener its services
    features += [commands, declare, updates, roles, timeline, pages, oncall, followups, statuspage]
    features += [experts]
    features += [runbook]
    features += [relations]
    features += [catchup]
    features += [subscriptions]
    features += [fields]
    features += [workflows]
    features += [alerts, trackers]  # the inbound webhooks
    for feature in features:
        feature.register(app, wiring)
    wiring.attach(worker)
    return wiring.webhooks
