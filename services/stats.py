"""`incident-bot stats`: incidents by severity, MTTA and MTTR (median and p90) over a window."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.durations import format_duration
from domain.severity import Severity
from storage.db import Database
from storage.models import Incident
from storage.repositories import IncidentRepo

SEVERITIES = tuple(Severity)


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0–100) by linear interpolation between closest ranks; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass
class Row:
    """Figures for one severity (or all)."""

    declared: int
    open: int
    resolved: int
    mtta_p50: float | None
    mtta_p90: float | None
    mttr_p50: float | None
    mttr_p90: float | None


def summarise(incidents: list[Incident]) -> Row:
    """Counts and time-to-acknowledge / time-to-resolve percentiles, in seconds."""
    tta = [(i.acknowledged_at - i.declared_at).total_seconds() for i in incidents if i.acknowledged_at]
    ttr = [(i.resolved_at - i.declared_at).total_seconds() for i in incidents if i.resolved_at]
    return Row(
        declared=len(incidents),
        open=sum(1 for i in incidents if i.resolved_at is None),
        resolved=len(ttr),
        mtta_p50=percentile(tta, 50),
        mtta_p90=percentile(tta, 90),
        mttr_p50=percentile(ttr, 50),
        mttr_p90=percentile(ttr, 90),
    )


async def load(db: Database, since: datetime) -> list[Incident]:
    """Incidents declared since `since`."""
    async with db.session() as s:
        return await IncidentRepo(s).declared_since(since)


def report(incidents: list[Incident], since: datetime, window: str, fmt: str) -> str:
    """The stats as an aligned table or as JSON."""
    rows = {sev: summarise([i for i in incidents if i.severity == sev]) for sev in SEVERITIES}
    rows["all"] = summarise(incidents)
    if fmt == "json":
        data = {
            "since": since.isoformat().replace("+00:00", "Z"),
            "window": window,
            "by_severity": {k: vars(v) for k, v in rows.items() if k != "all"},
            "all": vars(rows["all"]),
        }
        return json.dumps(data, indent=2) + "\n"

    def dur(seconds: float | None) -> str:
        return format_duration(timedelta(seconds=round(seconds))) if seconds is not None else "-"

    header = ("Severity", "Declared", "Open", "Resolved", "MTTA p50", "MTTA p90", "MTTR p50", "MTTR p90")
    table = [header] + [
        (
            name if name != "all" else "All",
            str(r.declared),
            str(r.open),
            str(r.resolved),
            dur(r.mtta_p50),
            dur(r.mtta_p90),
            dur(r.mttr_p50),
            dur(r.mttr_p90),
        )
        for name, r in rows.items()
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in table]
    title = f"Incidents declared since {since:%Y-%m-%d %H:%M} UTC ({window}): {len(incidents)}"
    return "\n".join([title, "", *lines]) + "\n"
