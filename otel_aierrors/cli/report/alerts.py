"""The shipped alert rules' thresholds, evaluated on one run's metric totals.

Each rule of ``grafana/rules/aierrors.alerts.yaml`` is a ratio (or a count)
per model or per provider compared with a threshold. Here the whole input is
one window: the ratio is computed from the series' totals and compared with
the rule's threshold, so a row says "this threshold was crossed by this
data", not "Prometheus would have paged" (``for:`` and the window lengths
need the history a file does not have). ``tests/cli/test_html_report.py``
checks that every rule here exists in the shipped file with the same
threshold and runbook URL.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from otel_aierrors import _names as n
from otel_aierrors.cli.report.otlp import AttributeValue

__all__ = ["RULES", "RUNBOOKS_URL", "AlertRule", "Crossing", "evaluate", "runbook_url"]

#: Default base of every ``runbook_url``: ``docs/runbooks.md`` of the published repository. The
#: project has no public URL yet, so this is a placeholder on a reserved domain (RFC 2606): set it
#: here and as ``RUNBOOK_URL`` in ``grafana/aierrors_mixin/config.py`` (a test keeps the two equal),
#: then run ``python grafana/generate.py``. ``otel-aierrors report --runbooks-url`` overrides it.
RUNBOOKS_URL: Final = "https://otel-aierrors.example/docs/runbooks.md"

Series = Sequence[tuple[Mapping[str, AttributeValue], float]]
#: The metric series of the input by name, as `analysis.Report.series` holds them.
AllSeries = Mapping[str, Series]
Labels = tuple[str, ...]

MODEL: Final = (n.GEN_AI_PROVIDER_NAME, n.SERVER_ADDRESS, n.GEN_AI_REQUEST_MODEL)
PROVIDER: Final = (n.GEN_AI_PROVIDER_NAME, n.SERVER_ADDRESS)
FLOW: Final = (n.FALLBACK_FROM_MODEL, n.FALLBACK_TO_MODEL)


@dataclass(frozen=True)
class AlertRule:
    """One shipped alert (one of its burn-rate windows for ``AIErrorsErrorBudgetBurn``)."""

    name: str
    severity: str
    #: The threshold the rule's expression compares with (``> threshold``).
    threshold: float
    #: What is compared, in words.
    what: str
    #: Ratio or count per location, from the input's metric series.
    measure: Callable[[AllSeries], dict[Labels, float]]
    #: Shown as a percentage (ratios) or a number (counts, attempts per call).
    percent: bool = True
    #: The long window for the burn-rate rules (they differ only by threshold and windows).
    window: str = ""


@dataclass(frozen=True)
class Crossing:
    """One location (model, provider or fallback flow) whose value crossed a rule's threshold."""

    rule: AlertRule
    where: str
    value: float
    runbook: str


def runbook_url(name: str, base: str = RUNBOOKS_URL) -> str:
    """The absolute runbook link of an alert: ``base#<name in lower case>``, as the rules carry it."""
    return f"{base}#{name.lower()}"


def evaluate(series: AllSeries, base: str = RUNBOOKS_URL) -> list[Crossing]:
    """Every (rule, location) whose value over the input is above the rule's threshold."""
    crossings = []
    seen: set[tuple[str, Labels]] = set()
    for rule in RULES:
        for where, value in sorted(rule.measure(series).items()):
            # The burn-rate windows come strictest first: a location shows the strictest it crossed.
            if value > rule.threshold and (rule.name, where) not in seen:
                seen.add((rule.name, where))
                located = " ".join(part for part in where if part)
                crossings.append(Crossing(rule, located, value, runbook_url(rule.name, base)))
    return crossings


# --- measures --------------------------------------------------------------------------
Match = Callable[[Mapping[str, AttributeValue]], bool]


def _sum(series: AllSeries, metric: str, by: Labels, match: Match) -> dict[Labels, float]:
    totals: dict[Labels, float] = defaultdict(float)
    for labels, value in series.get(metric, ()):
        if match(labels):
            totals[tuple(str(labels.get(key, "")) for key in by)] += value
    return dict(totals)


def _is(key: str, value: AttributeValue) -> Match:
    return lambda labels: labels.get(key) == value


def _both(first: Match, second: Match) -> Match:
    return lambda labels: first(labels) and second(labels)


def _any(labels: Mapping[str, AttributeValue]) -> bool:
    return True


def _not_cancelled(labels: Mapping[str, AttributeValue]) -> bool:
    return labels.get(n.OUTCOME) != n.OUTCOME_CANCELLED


def _ratio(
    metric: str, by: Labels, numerator: Match, denominator_metric: str = "", denominator: Match = _not_cancelled
) -> Callable[[AllSeries], dict[Labels, float]]:
    def measure(series: AllSeries) -> dict[Labels, float]:
        top = _sum(series, metric, by, numerator)
        bottom = _sum(series, denominator_metric or metric, by, denominator)
        return {where: top.get(where, 0.0) / total for where, total in bottom.items() if total > 0}

    return measure


def _count(metric: str, by: Labels, match: Match) -> Callable[[AllSeries], dict[Labels, float]]:
    return lambda series: _sum(series, metric, by, match)


def _failing_all(series: AllSeries) -> dict[Labels, float]:
    failed = _sum(series, n.METRIC_ATTEMPTS, PROVIDER, _is(n.OUTCOME, n.OUTCOME_ERROR))
    ok = _sum(series, n.METRIC_ATTEMPTS, PROVIDER, _is(n.OUTCOME, n.OUTCOME_OK))
    return {where: count for where, count in failed.items() if not ok.get(where)}


def _fallback_share(series: AllSeries) -> dict[Labels, float]:
    calls = sum(value for labels, value in series.get(n.METRIC_CALLS, ()) if _not_cancelled(labels))
    hops = _sum(series, n.METRIC_FALLBACK_HOPS, FLOW, _any)
    return {(f"{where[0]} → {where[1]}",): count / calls for where, count in hops.items()} if calls else {}


def _wasted(series: AllSeries) -> dict[Labels, float]:
    by = (*MODEL, n.ERROR_CLASS)
    wasted = _sum(series, n.METRIC_ATTEMPTS, by, _is(n.RETRY_WASTED, True))
    attempts = _sum(series, n.METRIC_ATTEMPTS, MODEL, _not_cancelled)
    return {where: count / attempts[where[:-1]] for where, count in wasted.items() if attempts.get(where[:-1])}


def _burn(factor: float, long: str, short: str, severity: str) -> AlertRule:
    return AlertRule(
        "AIErrorsErrorBudgetBurn",
        severity,
        round(factor * 0.01, 6),
        f"failed calls, {factor:g}x the 99% objective's error rate ({long} and {short} windows)",
        _ratio(n.METRIC_CALLS, MODEL, _is(n.OUTCOME, n.OUTCOME_ERROR)),
        window=long,
    )


def _breakers_not_closed(series: AllSeries) -> dict[Labels, float]:
    """1 for each breaker whose closed-state gauge ends at 0 (the rule's ``for:`` needs history a file lacks)."""
    by = (n.BREAKER_LIBRARY, n.BREAKER_NAME)
    closed = _sum(series, n.METRIC_BREAKER_STATUS, by, _is(n.BREAKER_STATE, n.BREAKER_STATE_CLOSED))
    return {where: 1.0 for where, value in closed.items() if value == 0}


_STREAMED: Final = _is(n.STREAM, True)

#: The shipped rules, in the order of ``grafana/rules/aierrors.alerts.yaml``.
RULES: Final[tuple[AlertRule, ...]] = (
    _burn(14.4, "1h", "5m", "critical"),
    _burn(6, "6h", "30m", "critical"),
    _burn(3, "1d", "2h", "warning"),
    _burn(1, "3d", "6h", "warning"),
    AlertRule(
        "AIErrorsAuthenticationFailures",
        "critical",
        0,
        "authentication failures (401)",
        _count(n.METRIC_ATTEMPTS, PROVIDER, _is(n.ERROR_CLASS, "auth")),
        percent=False,
    ),
    AlertRule(
        "AIErrorsQuotaExhausted",
        "critical",
        0,
        "quota-exhausted answers",
        _count(n.METRIC_ATTEMPTS, PROVIDER, _is(n.ERROR_CLASS, "quota_exhausted")),
        percent=False,
    ),
    AlertRule(
        "AIErrorsProviderFailingAllAttempts",
        "critical",
        0,
        "failed attempts to a provider that answered none",
        _failing_all,
        percent=False,
    ),
    AlertRule(
        "AIErrorsRateLimitSaturation",
        "warning",
        0.1,
        "attempts answered with a rate limit (429)",
        _ratio(n.METRIC_ATTEMPTS, MODEL, _is(n.ERROR_CLASS, "rate_limit")),
    ),
    AlertRule(
        "AIErrorsRetryStorm",
        "warning",
        1.5,
        "HTTP attempts per call",
        _ratio(n.METRIC_ATTEMPTS, MODEL, _not_cancelled, n.METRIC_CALLS),
        percent=False,
    ),
    AlertRule("AIErrorsWastedRetries", "warning", 0.01, "attempts that retried a failure that cannot heal", _wasted),
    AlertRule("AIErrorsFallbackRateHigh", "warning", 0.05, "calls that fell back, per flow", _fallback_share),
    AlertRule(
        "AIErrorsContentFilterSpike",
        "warning",
        0.05,
        "content-filtered calls (the rule also needs 3x the day's share)",
        _ratio(n.METRIC_CALLS, MODEL, _is(n.SOFT_FAILURE, "content_filter")),
    ),
    AlertRule(
        "AIErrorsTruncationSpike",
        "warning",
        0.05,
        "truncated answers (the rule also needs 3x the day's share)",
        _ratio(n.METRIC_CALLS, MODEL, _is(n.SOFT_FAILURE, "truncated")),
    ),
    AlertRule(
        "AIErrorsStreamInterruptions",
        "warning",
        0.02,
        "streamed calls that broke after the first chunk",
        _ratio(
            n.METRIC_CALLS,
            MODEL,
            _both(_STREAMED, _is(n.ERROR_CLASS, "stream_interrupted")),
            denominator=_both(_STREAMED, _not_cancelled),
        ),
    ),
    AlertRule(
        "AIErrorsCircuitBreakerOpen",
        "warning",
        0,
        "circuit breakers not closed at the end of the input (the rule also needs 5m)",
        _breakers_not_closed,
        percent=False,
    ),
)
