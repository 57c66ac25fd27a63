"""Alertmanager alerts as Slack text: the list in the initial post, and updates."""

from __future__ import annotations

from typing import TYPE_CHECKING

from domain.records import Incident
from messages.blocks import Message, context, section, truncate, utc
from messages.text import escape, link

if TYPE_CHECKING:
    from domain.alerts import Alert

MAX_LISTED = 15


def alert_line(alert: Alert) -> str:
    """`• :fire: HighErrorRate (instance=api-1): Error rate above 5% <url|source>`, as mrkdwn: the alert's
    labels and annotations escaped, the link to its source the bot's own."""
    icon = ":fire:" if alert.status == "firing" else ":white_check_mark:"
    where = ", ".join(f"{k}={v}" for k, v in alert.labels.items() if k not in ("alertname", "severity"))
    summary = alert.annotations.get("summary") or alert.annotations.get("description") or ""
    text = truncate(f"{alert.name} ({where})" if where else alert.name, 200)
    if summary:
        text += f": {truncate(summary, 300)}"
    source = f" {link(alert.generator_url, 'source')}" if alert.generator_url else ""
    return f"• {icon} {escape(text)}{source}"


def alert_list(alerts: list[Alert]) -> str:
    """The firing alerts as mrkdwn, kept as the incident's impact (see messages.incident.impact_mrkdwn)."""
    lines = [alert_line(a) for a in alerts[:MAX_LISTED]]
    if len(alerts) > MAX_LISTED:
        lines.append(f"…and {len(alerts) - MAX_LISTED} more")
    return "*Alerts firing (Alertmanager)*\n" + "\n".join(lines)


def alerts_changed(incident: Incident, firing: list[Alert], resolved: list[Alert]) -> Message:
    """Posted in the incident channel when the group's alerts change; resolving stays with people."""
    parts = []
    if firing:
        parts.append(
            f"*{len(firing)} new alert(s) firing*\n" + "\n".join(alert_line(a) for a in firing[:MAX_LISTED])
        )
    if resolved:
        parts.append(
            f"*{len(resolved)} alert(s) resolved*\n" + "\n".join(alert_line(a) for a in resolved[:MAX_LISTED])
        )
    note = "Resolving the incident stays a human decision: `/incident resolve &lt;summary&gt;`."
    return Message(
        text=f"{incident.ref}: {len(firing)} new alert(s) firing, {len(resolved)} resolved",
        blocks=[section(truncate(p, 2900)) for p in parts] + [section(note)],
    )


def still_firing(incident: Incident, firing: list[Alert], window: str) -> Message:
    """Posted in a resolved incident's channel when its alert group fires within the reopen window;
    nobody is paged."""
    lines = "\n".join(alert_line(a) for a in firing[:MAX_LISTED])
    if len(firing) > MAX_LISTED:
        lines += f"\n…and {len(firing) - MAX_LISTED} more"
    return Message(
        text=f"{incident.ref}: {len(firing)} alert(s) still firing after resolution",
        blocks=[
            section(
                f":warning: *Still firing after resolution:* {incident.ref} was resolved at "
                f"{utc(incident.resolved_at)}, but Alertmanager reports {len(firing)} alert(s) of its "
                "group still firing. Nobody was paged."
            ),
            section(truncate(lines, 2900)),
            context(
                "Said again only when the set of firing alerts changes. A firing notification more than "
                f"{window} after the resolution declares a new incident; to act sooner, "
                "`/incident declare` one."
            ),
        ],
    )
