"""Alertmanager alerts as Slack text: the list in the initial post, and updates."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from messages.blocks import Message, escape, section, truncate
from storage.models import Incident

if TYPE_CHECKING:
    from bot.alertmanager import Alert

MAX_LISTED = 15
_URL_OK = re.compile(r"^https?://[^\s<>|]+$")


def alert_line(alert: Alert) -> str:
    """`• :fire: HighErrorRate (instance=api-1): Error rate above 5% <url|source>`, not yet escaped.

    Pass it through blocks.escape before posting: that keeps the link and neutralises broadcasts.
    """
    icon = ":fire:" if alert.status == "firing" else ":white_check_mark:"
    where = ", ".join(f"{k}={v}" for k, v in alert.labels.items() if k not in ("alertname", "severity"))
    summary = alert.annotations.get("summary") or alert.annotations.get("description") or ""
    text = truncate(f"{alert.name} ({where})" if where else alert.name, 200)
    if summary:
        text += f": {truncate(summary, 300)}"
    url = alert.generator_url
    link = f" <{url}|source>" if url and _URL_OK.match(url) else ""
    return f"• {icon} {text}{link}"


def alert_list(alerts: list[Alert]) -> str:
    """The firing alerts, as plain text for the incident's impact (the template escapes it)."""
    lines = [alert_line(a) for a in alerts[:MAX_LISTED]]
    if len(alerts) > MAX_LISTED:
        lines.append(f"…and {len(alerts) - MAX_LISTED} more")
    return "*Alerts firing (Alertmanager)*\n" + "\n".join(lines)


def alerts_changed(incident: Incident, firing: list[Alert], resolved: list[Alert]) -> Message:
    """Posted in the incident channel when the group's alerts change; resolving stays with people."""
    parts = []
    if firing:
        parts.append(
            f"*{len(firing)} new alert(s) firing*\n"
            + "\n".join(escape(alert_line(a)) for a in firing[:MAX_LISTED])
        )
    if resolved:
        parts.append(
            f"*{len(resolved)} alert(s) resolved*\n"
            + "\n".join(escape(alert_line(a)) for a in resolved[:MAX_LISTED])
        )
    note = "Resolving the incident stays a human decision: `/incident resolve &lt;summary&gt;`."
    return Message(
        text=f"{incident.ref}: {len(firing)} new alert(s) firing, {len(resolved)} resolved",
        blocks=[section(truncate(p, 2900)) for p in parts] + [section(note)],
    )
