"""Static SVG drawings: the trace waterfalls and the horizontal bar charts.

Drawn here, in Python, rather than by the chart library: a waterfall is a
Gantt chart of a span tree (uPlot and its peers draw series over an x axis,
not trees), and a bar chart by class is a few labelled rectangles; static SVG
shows without JavaScript, prints, and is checked by the browser test like the
canvases.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from types import MappingProxyType
from typing import Final

from otel_aierrors.cli.report.analysis import Waterfall

__all__ = ["COLORS", "bars", "color", "waterfall"]

#: One colour per class or kind, the same on every chart of the page.
COLORS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "ok": "#3fa55b",
        "cancelled": "#9aa0a6",
        "rate_limit": "#f59e0b",
        "quota_exhausted": "#db2777",
        "auth": "#7c3aed",
        "permission": "#8b5cf6",
        "upstream_error": "#dc2626",
        "server_error": "#b91c1c",
        "overloaded": "#ea580c",
        "timeout": "#92400e",
        "connection": "#475569",
        "stream_interrupted": "#2563eb",
        "invalid_request": "#0891b2",
        "context_length": "#0e7490",
        "not_found": "#64748b",
        "content_filter": "#ca8a04",
        "refusal": "#eab308",
        "truncated": "#a3a635",
        "empty": "#facc15",
        "unknown": "#6b7280",
    }
)
_SPARE: Final = ("#0d9488", "#be185d", "#4d7c0f", "#9333ea", "#c2410c", "#1d4ed8", "#57534e")
#: Bar colours of the waterfall rows by `analysis.Row.kind`.
_ROW_COLORS: Final = MappingProxyType(
    {"ok": "#3fa55b", "error": "#dc2626", "soft": "#eab308", "scope": "#6366f1", "plain": "#94a3b8"}
)

WIDTH: Final = 1040
LABELS: Final = 360
ROW: Final = 20
AXIS: Final = 24
#: Average width of a label character, in pixels, to cut labels before the bars start.
_CHAR: Final = 7


def color(name: str) -> str:
    """The colour of a class or kind; unknown names get a spare colour chosen by their letters."""
    return COLORS.get(name) or _SPARE[sum(map(ord, name)) % len(_SPARE)]


def _fit(name: str, detail: str, room: int) -> tuple[str, str]:
    """Name and detail cut to ``room`` characters in all (the full text is in the row's tooltip)."""
    if len(name) >= room:
        return name[: max(1, room - 1)] + "…", ""
    room -= len(name) + 1
    return name, detail if len(detail) <= room else detail[: max(0, room - 1)] + "…"


def _seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def waterfall(trace: Waterfall) -> str:
    """The span tree of one trace on a time axis; attempts show the backoff before them, hatched."""
    span = max(trace.seconds, 1e-6)
    plot = WIDTH - LABELS - 16
    height = AXIS + ROW * len(trace.rows) + 4

    def x(seconds: float) -> float:
        return LABELS + plot * max(0.0, seconds) / span

    parts = [
        f'<svg class="waterfall" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" '
        f'aria-label="trace {escape(trace.trace_id)}">',
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#fde68a"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#d97706" stroke-width="2"/></pattern></defs>',
    ]
    for index in range(5):
        at = span * index / 4
        parts.append(
            f'<line x1="{x(at):.1f}" y1="{AXIS - 6}" x2="{x(at):.1f}" y2="{height}" class="grid"/>'
            f'<text x="{x(at):.1f}" y="{AXIS - 10}" class="tick" text-anchor="{"end" if index == 4 else "middle"}">'
            f"{_seconds(at)}</text>"
        )
    for index, row in enumerate(trace.rows):
        top = AXIS + index * ROW
        if index % 2:
            parts.append(f'<rect x="0" y="{top}" width="{WIDTH}" height="{ROW}" class="stripe"/>')
        indent = 6 + 14 * row.depth
        name, detail = _fit(row.label, row.detail, (LABELS - indent - 10) // _CHAR)
        parts.append(
            f'<text x="{indent}" y="{top + 14}" class="label"><tspan class="name">{escape(name)}'
            f'</tspan> <tspan class="detail">{escape(detail)}</tspan><title>{escape(row.label)} '
            f"{escape(row.detail)}</title></text>"
        )
        if row.backoff > 0:
            gap_start = x(row.start - row.backoff)
            parts.append(
                f'<rect x="{gap_start:.1f}" y="{top + 6}" width="{max(1.0, x(row.start) - gap_start):.1f}" '
                f'height="{ROW - 12}" fill="url(#hatch)" class="backoff"><title>backoff {_seconds(row.backoff)} '
                f"before this attempt</title></rect>"
            )
        fill = _ROW_COLORS.get(row.kind, _ROW_COLORS["plain"])
        width = max(2.0, x(row.start + row.seconds) - x(row.start))
        parts.append(
            f'<rect x="{x(row.start):.1f}" y="{top + 3}" width="{width:.1f}" height="{ROW - 6}" rx="2" '
            f'fill="{fill}" class="bar {row.kind}"><title>{escape(row.label)} {escape(row.detail)}: '
            f"{_seconds(row.seconds)} from +{_seconds(row.start)}</title></rect>"
        )
        end = x(row.start + row.seconds) + 4
        if end < WIDTH - 60:
            parts.append(f'<text x="{end:.1f}" y="{top + 14}" class="dur">{_seconds(row.seconds)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bars(items: Sequence[tuple[str, float, str]], unit: str = "", colors: Mapping[str, str] | None = None) -> str:
    """Horizontal bars, one per ``(name, value, label)``, coloured by name, scaled to the largest."""
    if not items:
        return '<p class="none">none in this data</p>'
    top = max(value for _, value, _ in items) or 1.0
    label_width, plot = 160, 220
    height = 22 * len(items) + 4
    width = label_width + plot + 110
    parts = [f'<svg class="bars" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">']
    for index, (name, value, label) in enumerate(items):
        y = 2 + 22 * index
        fill = (colors or {}).get(name) or color(name)
        length = max(1.0, plot * value / top) if value else 0.0
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 14}" text-anchor="end" class="label">{escape(name)}</text>'
            f'<rect x="{label_width}" y="{y + 2}" width="{length:.1f}" height="16" rx="2" fill="{fill}">'
            f"<title>{escape(name)}: {escape(label)}{escape(unit)}</title></rect>"
            f'<text x="{label_width + length + 6:.1f}" y="{y + 14}" class="value">{escape(label)}{escape(unit)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
