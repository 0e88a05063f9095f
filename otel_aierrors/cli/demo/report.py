"""The demo's report, counted from the exported spans and metric data points.

`build_report` reads only what the SDK exported (`ExportedTelemetry`): the
counts by outcome and error class come from the ``aierrors.calls`` and
``aierrors.attempts`` counters, backoff and ``Retry-After`` from their
histograms, hops from ``aierrors.fallback.hops``, calls by provider from
``aierrors.calls`` and ``aierrors.attempts``, app retries (LiteLLM's own,
with ``--litellm``) from the call spans, breaker state changes,
rejected answers and jobs from their counters, the slowest traces from the
spans. Where spans and metrics both know a number, the report shows that they
agree, which is the check a user would otherwise do by hand in their backend.
`render_report` draws it with rich; `DemoReport.to_json` is the same content
for scripts and tests.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from otel_aierrors import _names as n
from otel_aierrors.cli.demo.workload import SCENARIO_ATTRIBUTE

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics.export import MetricsData
    from opentelemetry.sdk.trace import ReadableSpan
    from rich.console import Console

    from otel_aierrors.cli.demo.pipeline import ExportedTelemetry

__all__ = ["DemoReport", "build_report", "render_report"]

#: How many of the slowest traces the report lists.
SLOWEST: Final = 5
#: Placeholder for "no error class / no soft failure" in grouped rows.
NONE: Final = "-"


@dataclass(frozen=True)
class CallGroup:
    """Calls with one final outcome and class (``aierrors.calls``)."""

    outcome: str
    #: Error class for errors, soft-failure kind for soft failures, ``-`` for ok.
    kind: str
    calls: int
    #: HTTP attempts these calls made, from their spans' ``aierrors.attempt.count``.
    attempts: int


@dataclass(frozen=True)
class AttemptGroup:
    """HTTP attempts with one outcome, class and status (``aierrors.attempts``)."""

    outcome: str
    error_class: str
    status: str
    attempts: int
    #: Of which retries after an attempt whose class is not retryable.
    wasted: int


@dataclass(frozen=True)
class Retries:
    """Retry amplification and the time it cost."""

    calls: int
    attempts: int
    #: Attempts per call: 1.0 means no call was retried.
    amplification: float
    #: Waits before a retry (the attempt spans after a call's first: the metric adds up only
    #: seconds) and their total seconds (``aierrors.retry.backoff``).
    backoff_waits: int
    backoff_seconds: float
    #: Responses that asked for a delay (``aierrors.server.retry_after``) and the seconds asked.
    retry_after_responses: int
    retry_after_seconds: float
    #: Retries of an attempt that could not succeed (``aierrors.retry.wasted``).
    wasted_retries: int


@dataclass(frozen=True)
class HopGroup:
    """Fallback hops of one kind between two models (``aierrors.fallback.hops``)."""

    kind: str
    reason: str
    from_model: str
    to_model: str
    hops: int


@dataclass(frozen=True)
class AppRetryGroup:
    """Calls an application's retry loop made, by the library that made it (``aierrors.app_retry.library``).

    Read from the call spans: no metric counts app retries. With ``--litellm``
    these are LiteLLM's own tries (``litellm``) and the retries
    ``litellm.completion(num_retries=...)`` makes through tenacity.
    """

    library: str
    calls: int
    #: Of which retries (``aierrors.app_retry.attempt`` above 1) and failed calls.
    retries: int
    failed: int


@dataclass(frozen=True)
class ProviderGroup:
    """Calls and HTTP attempts to one provider (``gen_ai.provider.name`` on ``aierrors.calls`` / ``.attempts``)."""

    provider: str
    calls: int
    attempts: int
    failed_attempts: int


@dataclass(frozen=True)
class BreakerGroup:
    """State changes of one circuit breaker from one state to another (``aierrors.breaker.transitions``)."""

    name: str
    from_state: str
    to_state: str
    transitions: int


@dataclass(frozen=True)
class TraceSummary:
    """One trace: its root span, how long it took, and what its calls ended as."""

    trace_id: str
    root: str
    seconds: float
    calls: int
    attempts: int
    #: Each call's outcome in start order: ``ok``, an error class or a soft failure.
    story: str


@dataclass(frozen=True)
class Agreement:
    """One number read from the spans and from the metrics."""

    what: str
    spans: float
    metrics: float

    @property
    def agrees(self) -> bool:
        return abs(self.spans - self.metrics) <= 1e-6 * max(1.0, abs(self.spans))


@dataclass(frozen=True)
class DemoReport:
    """Everything the report shows."""

    calls: list[CallGroup]
    attempts: list[AttemptGroup]
    retries: Retries
    soft_failures: dict[str, int]
    fallback_hops: list[HopGroup]
    #: Fallback scopes by name: ``{"answer": {"scopes": 3, "succeeded_at_hop_1": 3}}``.
    fallback_scopes: dict[str, dict[str, int]]
    #: Calls made by an application's retry loop (LiteLLM's, tenacity's...), by library.
    app_retries: list[AppRetryGroup]
    #: Calls and attempts by provider (the terminal shows them when there is more than one).
    providers: list[ProviderGroup]
    #: Circuit-breaker state changes, answers the application rejected (by reason), jobs by kind and end.
    breaker_transitions: list[BreakerGroup]
    rejected_answers: dict[str, int]
    jobs: dict[str, int]
    slowest: list[TraceSummary]
    #: Scenario names in the order their spans started.
    scenarios: list[str]
    agreements: list[Agreement]
    #: Facts about the run that are not telemetry (seed, duration, destinations).
    run: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        document = dataclasses.asdict(self)
        document["agreements"] = [{**dataclasses.asdict(a), "agrees": a.agrees} for a in self.agreements]
        return document


# --- reading the exported data ---------------------------------------------------
def _points(metrics: MetricsData | None, name: str) -> Iterator[Any]:
    if metrics is None:
        return
    for resource_metrics in metrics.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                if metric.name == name:
                    yield from metric.data.data_points


def _text(attributes: Mapping[str, Any] | None, key: str) -> str:
    value = (attributes or {}).get(key)
    return NONE if value is None else str(value)


def _number(attributes: Mapping[str, Any] | None, key: str) -> float:
    value = (attributes or {}).get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _call_kind(attributes: Mapping[str, Any] | None) -> str:
    """The error class of a failed call, the kind of a soft failure, else ``-``."""
    attributes = attributes or {}
    value = attributes.get(n.ERROR_CLASS, attributes.get(n.SOFT_FAILURE))
    return NONE if value is None else str(value)


def _outcome_rank(outcome: str) -> int:
    return {n.OUTCOME_OK: 0, n.OUTCOME_SOFT_FAILURE: 1, n.OUTCOME_ERROR: 2}.get(outcome, 3)


def build_report(telemetry: ExportedTelemetry, run: Mapping[str, Any] | None = None) -> DemoReport:
    """Count the report's numbers from exported spans and metric points."""
    metrics = telemetry.metrics
    calls = _call_groups(metrics, telemetry.calls())
    attempts = _attempt_groups(metrics)
    total_calls = sum(group.calls for group in calls)
    total_attempts = sum(group.attempts for group in attempts)
    backoff = list(_points(metrics, n.METRIC_RETRY_BACKOFF))
    retry_after = list(_points(metrics, n.METRIC_RETRY_AFTER))
    retries = Retries(
        calls=total_calls,
        attempts=total_attempts,
        amplification=round(total_attempts / total_calls, 3) if total_calls else 0.0,
        backoff_waits=sum(1 for span in telemetry.attempts() if _number(span.attributes, n.ATTEMPT_NUMBER) > 1),
        backoff_seconds=round(sum(float(point.value) for point in backoff), 3),
        retry_after_responses=sum(int(point.count) for point in retry_after),
        retry_after_seconds=round(sum(float(point.sum) for point in retry_after), 3),
        wasted_retries=sum(group.wasted for group in attempts),
    )
    soft: Counter[str] = Counter()
    for point in _points(metrics, n.METRIC_CALLS):
        if n.SOFT_FAILURE in (point.attributes or {}):
            soft[_text(point.attributes, n.SOFT_FAILURE)] += int(point.value)
    hops = _hop_groups(metrics)
    return DemoReport(
        calls=calls,
        attempts=attempts,
        retries=retries,
        soft_failures=dict(soft.most_common()),
        fallback_hops=hops,
        fallback_scopes=_fallback_scopes(telemetry.spans),
        app_retries=_app_retry_groups(telemetry.calls()),
        providers=_provider_groups(metrics),
        breaker_transitions=_breaker_groups(metrics),
        rejected_answers=_tally(metrics, n.METRIC_REJECTIONS, n.REJECTION_REASON),
        jobs=_tally(metrics, n.METRIC_JOBS, n.JOB_KIND, n.JOB_STATUS),
        slowest=_slowest_traces(telemetry.spans),
        scenarios=_scenarios(telemetry.spans),
        agreements=_agreements(
            telemetry, retries, sum(hop.hops for hop in hops if hop.kind != n.FALLBACK_KIND_GATEWAY)
        ),
        run=dict(run or {}),
    )


def _call_groups(metrics: MetricsData | None, call_spans: list[ReadableSpan]) -> list[CallGroup]:
    counts: Counter[tuple[str, str]] = Counter()
    for point in _points(metrics, n.METRIC_CALLS):
        counts[(_text(point.attributes, n.OUTCOME), _call_kind(point.attributes))] += int(point.value)
    attempts: Counter[tuple[str, str]] = Counter()
    for span in call_spans:
        key = (_text(span.attributes, n.OUTCOME), _call_kind(span.attributes))
        attempts[key] += int(_number(span.attributes, n.ATTEMPT_COUNT))
    ordered = sorted(counts.items(), key=lambda item: (_outcome_rank(item[0][0]), -item[1], item[0][1]))
    return [CallGroup(outcome, kind, count, attempts[(outcome, kind)]) for (outcome, kind), count in ordered]


def _attempt_groups(metrics: MetricsData | None) -> list[AttemptGroup]:
    counts: Counter[tuple[str, str, str]] = Counter()
    wasted: Counter[tuple[str, str, str]] = Counter()
    for point in _points(metrics, n.METRIC_ATTEMPTS):
        attributes = point.attributes or {}
        key = (
            _text(attributes, n.OUTCOME),
            _text(attributes, n.ERROR_CLASS),
            _text(attributes, n.HTTP_RESPONSE_STATUS_CODE),
        )
        counts[key] += int(point.value)
        if attributes.get(n.RETRY_WASTED) is True:
            wasted[key] += int(point.value)
    ordered = sorted(counts.items(), key=lambda item: (_outcome_rank(item[0][0]), -item[1], item[0][1:]))
    return [AttemptGroup(*key, attempts=count, wasted=wasted[key]) for key, count in ordered]


def _hop_groups(metrics: MetricsData | None) -> list[HopGroup]:
    counts: Counter[tuple[str, str, str, str]] = Counter()
    for point in _points(metrics, n.METRIC_FALLBACK_HOPS):
        attributes = point.attributes or {}
        key = (
            _text(attributes, n.FALLBACK_KIND),
            _text(attributes, n.FALLBACK_REASON),
            _text(attributes, n.FALLBACK_FROM_MODEL),
            _text(attributes, n.FALLBACK_TO_MODEL),
        )
        counts[key] += int(point.value)
    return [HopGroup(*key, hops=count) for key, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


def _app_retry_groups(call_spans: list[ReadableSpan]) -> list[AppRetryGroup]:
    calls: Counter[str] = Counter()
    retries: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for span in call_spans:
        attributes = span.attributes or {}
        if n.APP_RETRY_LIBRARY not in attributes:
            continue
        library = _text(attributes, n.APP_RETRY_LIBRARY)
        calls[library] += 1
        retries[library] += _number(attributes, n.APP_RETRY_ATTEMPT) > 1
        failed[library] += attributes.get(n.OUTCOME) == n.OUTCOME_ERROR
    return [
        AppRetryGroup(library, count, retries[library], failed[library]) for library, count in sorted(calls.items())
    ]


def _provider_groups(metrics: MetricsData | None) -> list[ProviderGroup]:
    calls = _tally(metrics, n.METRIC_CALLS, n.GEN_AI_PROVIDER_NAME)
    attempts: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for point in _points(metrics, n.METRIC_ATTEMPTS):
        provider = _text(point.attributes, n.GEN_AI_PROVIDER_NAME)
        attempts[provider] += int(point.value)
        failed[provider] += int(point.value) if _text(point.attributes, n.OUTCOME) == n.OUTCOME_ERROR else 0
    providers = sorted(set(calls) | set(attempts))
    return [ProviderGroup(name, calls.get(name, 0), attempts[name], failed[name]) for name in providers]


def _breaker_groups(metrics: MetricsData | None) -> list[BreakerGroup]:
    counts: Counter[tuple[str, str, str]] = Counter()
    for point in _points(metrics, n.METRIC_BREAKER_TRANSITIONS):
        attributes = point.attributes or {}
        key = (
            _text(attributes, n.BREAKER_NAME),
            _text(attributes, n.BREAKER_FROM_STATE),
            _text(attributes, n.BREAKER_TO_STATE),
        )
        counts[key] += int(point.value)
    return [BreakerGroup(*key, transitions=count) for key, count in sorted(counts.items())]


def _tally(metrics: MetricsData | None, name: str, *keys: str) -> dict[str, int]:
    """A counter's total by the values of ``keys`` (joined by a space), largest first."""
    counts: Counter[str] = Counter()
    for point in _points(metrics, name):
        counts[" ".join(_text(point.attributes, key) for key in keys)] += int(point.value)
    return dict(counts.most_common())


def _fallback_scopes(spans: Iterable[ReadableSpan]) -> dict[str, dict[str, int]]:
    scopes: dict[str, Counter[str]] = defaultdict(Counter)
    for span in spans:
        attributes = span.attributes or {}
        name = attributes.get(n.FALLBACK_NAME)
        if name is None or n.FALLBACK_HOPS not in attributes:
            continue
        tally = scopes[str(name)]
        tally["scopes"] += 1
        succeeded = attributes.get(n.FALLBACK_SUCCEEDED_HOP)
        tally["no_hop_succeeded" if succeeded is None else f"succeeded_at_hop_{succeeded}"] += 1
    return {name: dict(sorted(tally.items())) for name, tally in sorted(scopes.items())}


def _story(calls: list[ReadableSpan]) -> str:
    steps = []
    for span in sorted(calls, key=lambda s: s.start_time or 0):
        outcome = _text(span.attributes, n.OUTCOME)
        steps.append(n.OUTCOME_OK if outcome == n.OUTCOME_OK else _call_kind(span.attributes))
    return " → ".join(steps)


def _slowest_traces(spans: Iterable[ReadableSpan]) -> list[TraceSummary]:
    traces: dict[int, list[ReadableSpan]] = defaultdict(list)
    for span in spans:
        if span.context is not None:
            traces[span.context.trace_id].append(span)
    summaries = []
    for trace_id, members in traces.items():
        roots = [span for span in members if span.parent is None] or members
        # A trace lasts from its first span's start to its last span's end, as Jaeger and the
        # HTML report measure it; ranked on nanoseconds so that two traces a rounding apart
        # are ordered the same way in both reports.
        nanoseconds = max(span.end_time or 0 for span in members) - min(span.start_time or 0 for span in members)
        call_spans = [span for span in members if n.ATTEMPT_COUNT in (span.attributes or {})]
        root = roots[0].attributes or {}
        summary = TraceSummary(
            trace_id=f"{trace_id:032x}",
            root=str(root.get(SCENARIO_ATTRIBUTE, roots[0].name)),
            seconds=round(nanoseconds / 1e9, 3),
            calls=len(call_spans),
            attempts=sum(1 for span in members if n.ATTEMPT_NUMBER in (span.attributes or {})),
            story=_story(call_spans),
        )
        summaries.append((nanoseconds, summary))
    summaries.sort(key=lambda item: (-item[0], item[1].trace_id))
    return [summary for _, summary in summaries[:SLOWEST]]


def _scenarios(spans: Iterable[ReadableSpan]) -> list[str]:
    roots = [span for span in spans if SCENARIO_ATTRIBUTE in (span.attributes or {})]
    roots.sort(key=lambda span: span.start_time or 0)
    return [_text(span.attributes, SCENARIO_ATTRIBUTE) for span in roots]


def _agreements(telemetry: ExportedTelemetry, retries: Retries, hops: int) -> list[Agreement]:
    call_spans = telemetry.calls()
    attempt_spans = telemetry.attempts()
    wasted = sum(1 for span in attempt_spans if (span.attributes or {}).get(n.RETRY_WASTED) is True)
    backoff = sum(_number(span.attributes, n.ATTEMPT_BACKOFF) for span in attempt_spans)
    hop_spans = sum(1 for span in call_spans if _number(span.attributes, n.FALLBACK_HOP) > 0)
    return [
        Agreement("calls", len(call_spans), retries.calls),
        Agreement("attempts", len(attempt_spans), retries.attempts),
        Agreement("wasted retries", wasted, retries.wasted_retries),
        Agreement("backoff seconds", round(backoff, 3), retries.backoff_seconds),
        Agreement("fallback hops in scopes", hop_spans, hops),
    ]


# --- drawing it ----------------------------------------------------------------------
def render_report(report: DemoReport, console: Console) -> None:
    """Print the report as rich tables (each names the metric its numbers come from)."""
    from rich import box
    from rich.table import Table

    def table(title: str, caption: str, *columns: str, numeric: int = 0) -> Table:
        grid = Table(
            title=f"[bold]{title}[/bold] [dim]{caption}[/dim]",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            padding=(0, 1),
            min_width=48,
        )
        for index, column in enumerate(columns):
            right = index >= len(columns) - numeric
            grid.add_column(column, justify="right" if right else "left", no_wrap=right)
        return grid

    retries = report.retries
    calls = table(
        "Calls", "aierrors.calls", "outcome", "class / kind", "calls", "share", "attempts", "per call", numeric=4
    )
    for group in report.calls:
        share = f"{100 * group.calls / retries.calls:.0f}%" if retries.calls else "-"
        per_call = f"{group.attempts / group.calls:.2f}" if group.calls else "-"
        calls.add_row(_styled(group.outcome), group.kind, str(group.calls), share, str(group.attempts), per_call)
    calls.add_section()
    calls.add_row("all", "", str(retries.calls), "", str(retries.attempts), f"{retries.amplification:.2f}")
    console.print(calls)

    attempts = table(
        "HTTP attempts", "aierrors.attempts", "outcome", "error class", "status", "attempts", "wasted", numeric=2
    )
    for attempt in report.attempts:
        wasted = str(attempt.wasted) if attempt.wasted else ""
        attempts.add_row(_styled(attempt.outcome), attempt.error_class, attempt.status, str(attempt.attempts), wasted)
    console.print(attempts)

    cost = table("Retries", "aierrors.retry.backoff, aierrors.server.retry_after", "", "")
    cost.show_header = False
    cost.add_row("retry amplification", f"{retries.amplification:.2f} attempts per call")
    cost.add_row("retries", str(retries.attempts - retries.calls))
    cost.add_row("time lost to backoff", f"{retries.backoff_seconds:.2f} s in {retries.backoff_waits} waits")
    cost.add_row(
        "delay servers asked for",
        f"{retries.retry_after_seconds:.2f} s in {retries.retry_after_responses} responses (Retry-After)",
    )
    cost.add_row("wasted retries", f"{retries.wasted_retries} (retried an error that cannot heal)")
    console.print(cost)

    soft = table("Soft failures", "HTTP 200, not what was asked", "kind", "calls", numeric=1)
    for kind, count in report.soft_failures.items():
        soft.add_row(kind, str(count))
    if not report.soft_failures:
        soft.add_row("none", "0")
    console.print(soft)

    hops = table("Fallback hops", "aierrors.fallback.hops", "kind", "reason", "from → to", "hops", numeric=1)
    for hop in report.fallback_hops:
        hops.add_row(hop.kind, _hop_reason(hop), f"{hop.from_model} → {hop.to_model}", str(hop.hops))
    if not report.fallback_hops:
        hops.add_row("none", "", "", "0")
    scope_lines = [_scope_line(name, tally) for name, tally in report.fallback_scopes.items()]
    hops.caption = "\n".join(scope_lines)
    hops.caption_justify = "left"
    # A caption wraps at the table's width: a long scope name would break its line.
    hops.min_width = max([hops.min_width or 0, *(len(line) for line in scope_lines)])
    console.print(hops)

    _render_app_retries(report, table, console)

    later = table(
        "Breakers, rejected answers, jobs",
        "aierrors.breaker.transitions, aierrors.rejections, aierrors.jobs",
        "what",
        "",
        "count",
        numeric=1,
    )
    for change in report.breaker_transitions:
        later.add_row("breaker", f"{change.name}: {change.from_state} → {change.to_state}", str(change.transitions))
    for reason, count in report.rejected_answers.items():
        later.add_row("rejected answer", reason, str(count))
    for job, count in report.jobs.items():
        later.add_row("job", job, str(count))
    if not (report.breaker_transitions or report.rejected_answers or report.jobs):
        later.add_row("none", "", "0")
    console.print(later)

    slow = table("Slowest traces", "", "trace id", "scenario, calls ended", "seconds", "calls/\nattempts", numeric=2)
    slow.columns[0].no_wrap = True
    slow.columns[1].min_width = 22
    for summary in report.slowest:
        slow.add_row(
            summary.trace_id,
            f"{summary.root}\n[dim]{summary.story}[/dim]" if summary.story else summary.root,
            f"{summary.seconds:.3f}",
            f"{summary.calls}/{summary.attempts}",
        )
    console.print(slow)

    checks = table("Spans and metrics agree", "", "number", "spans", "metrics", "", numeric=0)
    for agreement in report.agreements:
        mark = "[green]✓[/green]" if agreement.agrees else "[red]✗ differ[/red]"
        checks.add_row(agreement.what, f"{agreement.spans:g}", f"{agreement.metrics:g}", mark)
    console.print(checks)


def _render_app_retries(report: DemoReport, table: Callable[..., Any], console: Console) -> None:
    """Application retries and calls by provider, printed only when there are some (``demo --litellm``).

    The default workload has neither app retries nor a second provider: its report is unchanged.
    """
    if report.app_retries:
        retries = table("App retries", "aierrors.app_retry.*", "library", "calls", "retries", "failed", numeric=3)
        for group in report.app_retries:
            retries.add_row(group.library, str(group.calls), str(group.retries), str(group.failed))
        console.print(retries)
    if len(report.providers) > 1:
        providers = table(
            "Providers", "gen_ai.provider.name", "provider", "calls", "attempts", "failed attempts", numeric=3
        )
        for provider in report.providers:
            providers.add_row(
                provider.provider, str(provider.calls), str(provider.attempts), str(provider.failed_attempts)
            )
        console.print(providers)


def _hop_reason(hop: HopGroup) -> str:
    """What triggered the hop; a gateway hop has no error: the gateway answered with another model."""
    if hop.kind == n.FALLBACK_KIND_GATEWAY:
        return "model swapped"
    return hop.reason


def _scope_line(name: str, tally: Mapping[str, int]) -> str:
    results = []
    for key, value in tally.items():
        if key.startswith("succeeded_at_hop_"):
            hop = int(key.removeprefix("succeeded_at_hop_"))  # 0 is the primary
            after = "by the primary" if hop == 0 else f"after {hop} fallback{'s' if hop > 1 else ''}"
            results.append(f"{value} answered {after}")
        elif key == "no_hop_succeeded":
            results.append(f"{value} got no answer")
    return f"fallback {name!r}: {tally.get('scopes', 0)} scopes" + "".join(f", {result}" for result in results)


def _styled(outcome: str) -> str:
    color = {n.OUTCOME_OK: "green", n.OUTCOME_SOFT_FAILURE: "yellow", n.OUTCOME_ERROR: "red"}.get(outcome)
    return f"[{color}]{outcome}[/{color}]" if color else outcome
