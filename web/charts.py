"""SVG charts that read without colour: every mark carries its value as a label and a title, each
series has its own pattern, and the numbers are also in a table beside the chart."""

from __future__ import annotations

from html import escape

SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")
# A fill and a pattern per severity: told apart in greyscale too.
PATTERNS = {"SEV1": "solid", "SEV2": "hatch", "SEV3": "dots", "SEV4": "cross"}
COLOURS = {"SEV1": "#b5121b", "SEV2": "#d9480f", "SEV3": "#b08900", "SEV4": "#1c7ed6"}

_DEFS = """<defs>
<pattern id="p-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
<rect width="6" height="6" fill="#fff"/>
<line x1="0" y1="0" x2="0" y2="6" stroke="#000" stroke-width="3"/></pattern>
<pattern id="p-dots" width="6" height="6" patternUnits="userSpaceOnUse">
<rect width="6" height="6" fill="#fff"/><circle cx="3" cy="3" r="1.6" fill="#000"/></pattern>
<pattern id="p-cross" width="6" height="6" patternUnits="userSpaceOnUse">
<rect width="6" height="6" fill="#fff"/><path d="M0 3H6M3 0V6" stroke="#000" stroke-width="1.2"/></pattern>
</defs>"""


def _fill(severity: str) -> str:
    pattern = PATTERNS.get(severity, "solid")
    return COLOURS.get(severity, "#555") if pattern == "solid" else f"url(#p-{pattern})"


def bars(title: str, groups: list[str], series: dict[str, dict[str, float]], unit: str = "") -> str:
    """Grouped bars: one group per label (a week, a month), one bar per series (a severity); every
    bar is a `rect.mark` with its value written above it."""
    width, height, left, bottom, top = 640, 260, 40, 40, 20
    if not series:
        return f'<p class="empty">{escape(title)}: no data in this window.</p>'
    values = [v for s in series.values() for v in s.values()]
    peak = max(values, default=0) or 1
    names = [s for s in SEVERITIES if s in series] + [s for s in series if s not in SEVERITIES]
    slot = (width - left - 10) / max(len(groups), 1)
    bar = max(min(slot / (len(names) + 1), 28), 3)
    out = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMinYMin meet">',
        f"<title>{escape(title)}</title>",
        _DEFS,
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 5}" y2="{height - bottom}" stroke="#333"/>',
    ]
    for g, group in enumerate(groups):
        x0 = left + g * slot + (slot - len(names) * bar) / 2  # the group's bars centred in its slot
        for n, name in enumerate(names):
            value = series[name].get(group)
            if value is None:
                continue
            h = (height - bottom - top) * value / peak
            x, y = x0 + n * bar, height - bottom - h
            shown = f"{value:g}{unit}"
            out.append(
                f'<rect class="mark" data-series="{escape(name)}" data-group="{escape(group)}" '
                f'data-value="{value:g}" x="{x:.1f}" y="{y:.1f}" width="{bar - 2:.1f}" height="{h:.1f}" '
                f'fill="{_fill(name)}" stroke="#000" stroke-width="0.5">'
                f"<title>{escape(name)} {escape(group)}: {escape(shown)}</title></rect>"
            )
            out.append(
                f'<text x="{x + (bar - 2) / 2:.1f}" y="{y - 3:.1f}" font-size="9" text-anchor="middle">'
                f"{escape(shown)}</text>"
            )
        out.append(
            f'<text x="{left + g * slot + slot / 2:.1f}" y="{height - bottom + 14}" font-size="10" '
            f'text-anchor="middle">{escape(group)}</text>'
        )
    for n, name in enumerate(names):  # the legend names each pattern
        x = left + n * 120
        out.append(
            f'<rect x="{x}" y="{height - 16}" width="12" height="12" fill="{_fill(name)}" stroke="#000"/>'
            f'<text x="{x + 16}" y="{height - 6}" font-size="11">{escape(name)}</text>'
        )
    out.append("</svg>")
    return "".join(out)
