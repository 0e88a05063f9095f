"""What a user may want to change: the objective, the burn-rate windows, thresholds, labels.

Metric and label names are not configurable: they are the Prometheus form of
the names in ``docs/telemetry.md`` (``aierrors.calls`` is scraped as
``aierrors_calls_total``, ``aierrors.error.class`` as ``aierrors_error_class``)
and a test checks every name used here against that document.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

#: Share of calls that must succeed; ``generate.py --objective`` overrides it.
DEFAULT_OBJECTIVE: Final = 0.99

#: The period the error budget is defined over (the SRE workbook's 30 days).
SLO_PERIOD_HOURS: Final = 30 * 24

#: Where the ``runbook_url`` annotations point (absolute, so that the link works in Alertmanager's
#: notifications and in Grafana); each alert appends ``#<alertname in lower case>``, an anchor of
#: ``docs/runbooks.md``. The project has no public URL yet: this placeholder (a reserved domain,
#: RFC 2606) is the one base to set, here and as ``RUNBOOKS_URL`` in
#: ``otel_aierrors/cli/report/alerts.py`` (the HTML report's links; a test keeps the two equal),
#: to the URL where your team reads ``docs/runbooks.md``; then run ``python grafana/generate.py``.
RUNBOOK_URL: Final = "https://otel-aierrors.example/docs/runbooks.md"

# --- label sets ----------------------------------------------------------------
#: Where an SLO is kept: per service (``job``), provider (``gen_ai_provider_name``: ``openai``,
#: ``anthropic``, ``groq``, ...; two SDKs behind one gateway share a ``server_address`` but not
#: this), the address they call (``server_address``) and model.
SLO_LABELS: Final = ("job", "gen_ai_provider_name", "server_address", "gen_ai_request_model")
#: Where provider-wide conditions (credentials, a provider down) are located.
PROVIDER_LABELS: Final = ("job", "gen_ai_provider_name", "server_address")

# --- PromQL selectors (the Prometheus names of docs/telemetry.md) ----------------
CALLS: Final = "aierrors_calls_total"
ATTEMPTS: Final = "aierrors_attempts_total"
FALLBACK_HOPS: Final = "aierrors_fallback_hops_total"
#: The application's circuit breakers (pybreaker, purgatory): 1 for each breaker's current state.
BREAKER_STATUS: Final = "aierrors_breaker_status"
BREAKER_TRANSITIONS: Final = "aierrors_breaker_transitions_total"
#: Where a breaker is located: the service and the breaker (breakers carry no call attributes).
BREAKER_LABELS: Final = ("job", "aierrors_breaker_library", "aierrors_breaker_name")

#: Calls (and attempts) the application cancelled itself (``asyncio`` cancellation, its own
#: timeout around a stream): they say nothing about the provider, so no ratio counts them,
#: neither as errors nor in the denominator.
NOT_CANCELLED: Final = 'aierrors_outcome!="cancelled"'

#: The window of the recording rules that unify the two GenAI conventions (see ``genai.py``).
GENAI_RATE_WINDOW: Final = "5m"


@dataclass(frozen=True)
class BurnRateWindow:
    """One pair of windows of a multiwindow, multi-burn-rate alert (SRE workbook, chapter 5)."""

    #: How many times faster than the objective allows the budget is spent.
    factor: float
    long: str
    short: str
    #: ``for`` of the alert.
    for_: str
    severity: str

    def budget_spent(self) -> float:
        """Share of the period's error budget spent over the long window at this burn rate."""
        from .durations import parse_duration

        hours = float(parse_duration(self.long)) / 3600
        return self.factor * hours / SLO_PERIOD_HOURS


#: Page on 2% of the budget in 1h or 5% in 6h; ticket on 10% in 1d or 10% in 3d.
BURN_RATE_WINDOWS: Final = (
    BurnRateWindow(14.4, "1h", "5m", "2m", "critical"),
    BurnRateWindow(6, "6h", "30m", "15m", "critical"),
    BurnRateWindow(3, "1d", "2h", "1h", "warning"),
    BurnRateWindow(1, "3d", "6h", "3h", "warning"),
)


@dataclass(frozen=True)
class Thresholds:
    """Thresholds of the alerts that are not burn-rate alerts."""

    #: ``aierrors.error.class="auth"`` / ``"quota_exhausted"``: any in this window pages.
    credentials_window: str = "5m"
    #: A provider whose every attempt failed over this window, for as long.
    all_attempts_failed_window: str = "5m"
    all_attempts_failed_for: str = "5m"
    #: Share of attempts answered with ``rate_limit``.
    rate_limited_ratio: float = 0.10
    #: Attempts per call (1.0 means no retry at all; the SDK's default allows 3).
    attempts_per_call: float = 1.5
    #: Share of attempts that retry a failure that cannot heal (``aierrors.retry.wasted``).
    wasted_retry_ratio: float = 0.01
    #: Fallback hops per call of the service.
    fallback_ratio: float = 0.05
    #: Content-filtered / truncated answers: above this share *and* this many times the last day's share.
    soft_failure_ratio: float = 0.05
    soft_failure_baseline_factor: float = 3.0
    #: Share of calls whose stream broke after it started.
    stream_interrupted_ratio: float = 0.02
    #: Window and ``for`` of the warning-level ratios above.
    ratio_window: str = "15m"
    ratio_for: str = "15m"
    #: The baseline the spikes are compared with.
    baseline_window: str = "1d"
    #: A circuit breaker not closed (open, or half-open between trials) for this long pages as a warning.
    breaker_open_for: str = "5m"


THRESHOLDS: Final = Thresholds()
