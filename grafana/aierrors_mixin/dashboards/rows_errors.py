"""Rows *Overview* and *Errors by class*: how many calls fail, of which class, and how fast the budget burns.

Cancelled calls (``aierrors_outcome="cancelled"``: the application stopped
them) are in no ratio here; *Calls by outcome* shows them apart.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import stat, timeseries
from grafana_foundation_sdk.builders.dashboard import DashboardLink

from .. import config as c
from ..recording import slo_ratio_rule
from .links import attempt_links, call_links, column, label, trace_links
from .panels import Query, stat_panel, table_panel, timeseries_panel
from .rows import Row
from .selectors import BY, RATE, WHERE, sel

__all__ = ["errors_row", "overview_row"]

ERRORS = sel('aierrors_outcome="error"')
COUNTED = sel(c.NOT_CANCELLED)


def _error_ratio_stat(title: str, description: str, metric: str, *, orange: float, red: float) -> stat.Panel:
    """Share of ``metric`` (calls or attempts) in error over the selected range, cancelled ones left out."""
    return stat_panel(
        title,
        description,
        "percentunit",
        Query(
            f"(sum(increase({metric}{ERRORS}[$__range])) or vector(0))\n/\nsum(increase({metric}{COUNTED}[$__range]))",
            instant=True,
        ),
        thresholds=[(orange, "orange"), (red, "red")],
    )


def overview_row() -> Row:
    calls, attempts = c.CALLS, c.ATTEMPTS
    return Row(
        "Overview",
        [
            _error_ratio_stat(
                "Call error ratio",
                "Share of logical SDK calls (retries included in one call) that ended in an error, over the "
                "selected time range. Soft failures (truncated, filtered, empty answers) are not errors; calls "
                "the application cancelled itself are not counted.",
                calls,
                orange=0.01,
                red=0.05,
            ),
            _error_ratio_stat(
                "Attempt error ratio",
                "Share of HTTP attempts, the SDK's retries included, that failed over the selected time range. "
                "Higher than the call error ratio when retries rescue calls.",
                attempts,
                orange=0.05,
                red=0.2,
            ),
            stat_panel(
                "Attempts per call",
                "HTTP attempts per logical call over the selected time range: 1 means no retry at all. "
                "The provider sees this many times the application's traffic.",
                "suffix: attempts/call",
                Query(
                    f"sum(increase({attempts}{COUNTED}[$__range]))\n/\nsum(increase({calls}{COUNTED}[$__range]))",
                    instant=True,
                ),
                thresholds=[(1.2, "orange"), (c.THRESHOLDS.attempts_per_call, "red")],
            ),
            stat_panel(
                "Error budget burn rate (1h)",
                "How many times faster than the objective allows the worst selected model spent its error "
                "budget over the last hour (recording rule of grafana/rules). 14.4 pages when the last 5 minutes "
                "agree.",
                "suffix:x",
                Query(f"max({slo_ratio_rule('1h')}{sel()}) / (1 - $objective)", instant=True),
                thresholds=[(1, "orange"), (14.4, "red")],
            ),
            timeseries_panel(
                "Calls by outcome",
                "Logical SDK calls per second by final outcome: ok, error, soft_failure, and cancelled (the "
                "application cancelled the call itself; not a failure of the provider).",
                "reqps",
                [
                    Query(
                        f"sum by (job, gen_ai_provider_name, aierrors_outcome) (rate({calls}{sel()}[{RATE}]))",
                        "{{aierrors_outcome}} · {{gen_ai_provider_name}} · {{job}}",
                    )
                ],
                width=24,
                stack=True,
            ),
        ],
    )


def _error_ratio_by_class(title: str, description: str, metric: str, links: list[DashboardLink]) -> timeseries.Panel:
    """Share of ``metric`` (calls or attempts) in error per class, cancelled ones left out."""
    return timeseries_panel(
        title,
        description,
        "percentunit",
        [
            Query(
                f"sum by ({BY}, aierrors_error_class) (rate({metric}{ERRORS}[{RATE}]))\n"
                f"/ ignoring (aierrors_error_class) group_left\n"
                f"sum by ({BY}) (rate({metric}{COUNTED}[{RATE}]))",
                "{{aierrors_error_class}} · " + WHERE,
            )
        ],
        links,
        min_value=0,
    )


def errors_row() -> Row:
    calls, attempts = c.CALLS, c.ATTEMPTS
    by_class = f"{BY}, aierrors_error_class"
    return Row(
        "Errors by class",
        [
            _error_ratio_by_class(
                "Call error ratio by error class",
                "Share of calls that failed, by the normalised error class of docs/telemetry.md, per service, "
                "provider, address and model. Click a series for the failed calls' traces in Jaeger.",
                calls,
                call_links(aierrors__error__class=label("aierrors_error_class")),
            ),
            _error_ratio_by_class(
                "Attempt error ratio by error class",
                "Share of HTTP attempts (retries included) that failed, by error class. A class that shows here "
                "but not in the call error ratio is being rescued by retries.",
                attempts,
                attempt_links(aierrors__error__class=label("aierrors_error_class")),
            ),
            timeseries_panel(
                "Error budget burn rate",
                "Call error ratio divided by the error budget (1 - objective), over the windows of the "
                "burn-rate alerts: 14.4 over 1h and 5m or 6 over 6h and 30m pages; 3 over 1d and 2h or 1 over "
                "3d and 6h opens a ticket.",
                "suffix:x",
                [
                    Query(f"{slo_ratio_rule(window)}{sel()} / (1 - $objective)", f"{window} · {WHERE}")
                    for window in ("5m", "1h", "6h", "3d")
                ],
                call_links(aierrors__outcome="error"),
                min_value=0,
                thresholds=[(1, "orange"), (14.4, "red")],
            ),
            table_panel(
                "Failed calls by class and operation (selected range)",
                "Failed calls over the selected time range by service, provider, address, model, operation and "
                "error class. Click a row for those calls' traces in Jaeger.",
                "short",
                Query(
                    f"sum by ({by_class}, gen_ai_operation_name) (increase({calls}{ERRORS}[$__range])) > 0",
                    instant=True,
                ),
                trace_links(
                    column("job"),
                    {
                        "gen_ai.provider.name": column("gen_ai_provider_name"),
                        "server.address": column("server_address"),
                        "gen_ai.request.model": column("gen_ai_request_model"),
                        "gen_ai.operation.name": column("gen_ai_operation_name"),
                        "aierrors.error.class": column("aierrors_error_class"),
                    },
                ),
            ),
        ],
    )
