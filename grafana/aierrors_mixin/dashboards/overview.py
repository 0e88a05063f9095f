"""The *AI errors / Overview* dashboard: its rows, in reading order."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as builders
from grafana_foundation_sdk.models import dashboard

from .rows import Row
from .rows_answers import answers_row
from .rows_breakers import breakers_row
from .rows_errors import errors_row, overview_row
from .rows_jobs import jobs_row
from .rows_latency import fallbacks_row, latency_row
from .rows_retries import retries_row
from .variables import dashboard_links, variables

__all__ = ["FILE_NAME", "overview"]

FILE_NAME = "aierrors-overview.json"
TITLE = "AI errors / Overview"
DESCRIPTION = (
    "Calls of the OpenAI-compatible SDKs (openai, anthropic, groq, together, cerebras, fireworks) by service, "
    "provider, address and model: errors by class, retries, rate limits, soft failures, streams, cancellations, "
    "fallbacks, circuit breakers, jobs that end later and latency (otel-aierrors)."
)


def overview(uid: str, objective: float) -> builders.Dashboard:
    """The dashboard, with panel ids numbered in layout order."""
    rows: list[Row] = [
        overview_row(),
        errors_row(),
        retries_row(),
        answers_row(),
        fallbacks_row(),
        breakers_row(),
        jobs_row(),
        latency_row(),
    ]
    board = (
        builders.Dashboard(TITLE)
        .uid(uid)
        .description(DESCRIPTION)
        .tags(["aierrors", "openai", "genai"])
        .editable()
        .tooltip(dashboard.DashboardCursorSync.CROSSHAIR)
        .refresh("30s")
        .time("now-6h", "now")
        .timezone("")
        .variables(list(variables(objective)))
        .links(dashboard_links())
    )
    panel_id = 0
    for row in rows:
        panel_id += 1
        board = board.with_row(builders.Row(row.title).id(panel_id))
        for panel in row.panels:
            panel_id += 1
            board = board.with_panel(panel.id(panel_id))
    return board
