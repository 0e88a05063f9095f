"""What the HTML report shows, counted from OTLP JSON (`otlp.Telemetry`).

The totals are counted as the demo's terminal report counts them
(``otel_aierrors.cli.demo.report``): calls, attempts, backoff, ``Retry-After``,
soft failures and hops from the metric series' totals, attempts per call from
the call spans. What only the spans can tell is counted from them: the
timeline (calls and attempts per time bucket, by class), the retries each
error class caused and the backoff they cost, and the waterfalls of the
slowest and the failing traces.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from otel_aierrors import _names as n
from otel_aierrors.cli.report.otlp import STATUS_ERROR, AttributeValue, Span, Telemetry

__all__ = ["ClassCost", "Flow", "Group", "Report", "Row", "Timeline", "Totals", "Waterfall", "analyse"]

#: Placeholder for "no error class / no soft failure" (as in the terminal report).
NONE: Final = "-"
#: Waterfalls drawn: the slowest traces, then the failing ones not already drawn.
SLOWEST_TRACES: Final = 3
FAILING_TRACES: Final = 3
#: Rows of one waterfall at most; a longer trace is cut (and says so).
MAX_ROWS: Final = 40
#: At most this many time buckets on the timeline.
MAX_BUCKETS: Final = 120
_BUCKET_SIZES: Final = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400)
#: ``aierrors.fallback.reason`` of a hop after a call that did not fail.
UNKNOWN_REASON: Final = "unknown"
#: The demo's root spans carry the scenario's name here.
SCENARIO_ATTRIBUTE: Final = "demo.scenario"


@dataclass(frozen=True)
class Group:
    """Calls with one outcome and class or kind (``aierrors.calls``), and the attempts they made."""

    outcome: str
    kind: str
    calls: int
    attempts: int


@dataclass(frozen=True)
class Totals:
    """The run's totals, counted as the terminal report counts them."""

    calls: int
    attempts: int
    amplification: float
    backoff_waits: int
    backoff_seconds: float
    retry_after_responses: int
    retry_after_seconds: float
    wasted_retries: int


@dataclass(frozen=True)
class ClassCost:
    """The retries that followed attempts of one error class, and what they cost."""

    error_class: str
    #: Failed attempts of this class.
    failures: int
    #: Attempts that retried one of them.
    retries: int
    #: Seconds waited before those retries (``aierrors.attempt.backoff``).
    backoff_seconds: float
    #: Of the retries, those of a failure that cannot heal (``aierrors.retry.wasted``).
    wasted: int


@dataclass(frozen=True)
class Flow:
    """Fallback hops of one kind and reason between two models (``aierrors.fallback.hops``)."""

    kind: str
    reason: str
    from_model: str
    to_model: str
    hops: int


@dataclass(frozen=True)
class Timeline:
    """Calls and attempts per time bucket, by class."""

    bucket_seconds: int
    #: Unix time (s) of each bucket's start.
    times: list[float]
    #: Final class of a call (``ok``, an error class, a soft-failure kind) -> calls ending in each bucket.
    calls: dict[str, list[int]]
    #: Error class of an attempt (``ok`` when it got an answer) -> attempts ending in each bucket.
    attempts: dict[str, list[int]]


@dataclass(frozen=True)
class Row:
    """One span of a waterfall: a bar from ``start`` for ``seconds``, indented by ``depth``."""

    depth: int
    label: str
    detail: str
    #: Seconds from the trace's start.
    start: float
    seconds: float
    #: ``ok``, ``error``, ``soft`` (a soft failure), ``scope`` (fallback scope) or ``plain``.
    kind: str
    #: Seconds the SDK waited before this attempt (drawn as a gap before the bar).
    backoff: float = 0.0


@dataclass(frozen=True)
class Waterfall:
    """One trace drawn as a span tree in time."""

    trace_id: str
    title: str
    #: Why it is drawn: ``slowest``, or ``with failures`` (a span of it failed, maybe an attempt that was retried).
    why: str
    seconds: float
    story: str
    rows: list[Row]
    #: Spans left out beyond `MAX_ROWS`.
    cut: int = 0


@dataclass(frozen=True)
class Report:
    """Everything the HTML report shows."""

    totals: Totals
    groups: list[Group]
    timeline: Timeline
    costs: list[ClassCost]
    soft_failures: dict[str, int]
    flows: list[Flow]
    #: Fallback scopes by name: scopes, answered by the primary, after fallbacks, not at all.
    scopes: dict[str, dict[str, int]]
    waterfalls: list[Waterfall]
    #: Answers the application rejected: fallback hops after a call that did not fail
    #: (``aierrors.fallback.reason`` ``unknown``, a gateway's model swap aside).
    rejected: int
    spans: int
    #: Unix times (s) of the first span's start and the last span's end.
    window: tuple[float, float]
    #: Sum of each metric series over the input, by metric name and attribute set (for the alerts).
    series: dict[str, list[tuple[Mapping[str, AttributeValue], float]]] = field(default_factory=dict)


def analyse(telemetry: Telemetry) -> Report:
    """Count everything the page shows."""
    calls = [span for span in telemetry.spans if n.ATTEMPT_COUNT in span.attributes]
    attempts = [span for span in telemetry.spans if n.ATTEMPT_NUMBER in span.attributes]
    groups = _groups(telemetry, calls)
    attempt_points = list(telemetry.metric(n.METRIC_ATTEMPTS))
    backoff = list(telemetry.metric(n.METRIC_RETRY_BACKOFF))
    retry_after = list(telemetry.metric(n.METRIC_RETRY_AFTER))
    total_calls = sum(group.calls for group in groups)
    total_attempts = int(sum(point.value for point in attempt_points))
    totals = Totals(
        calls=total_calls,
        attempts=total_attempts,
        amplification=round(total_attempts / total_calls, 3) if total_calls else 0.0,
        # Each retry follows one wait; counted from the attempt spans (the metric adds up seconds only).
        backoff_waits=sum(1 for span in attempts if number(span.attributes, n.ATTEMPT_NUMBER) > 1),
        backoff_seconds=round(sum(point.value for point in backoff), 3),
        retry_after_responses=int(sum(point.value for point in retry_after)),
        retry_after_seconds=round(sum(point.total for point in retry_after), 3),
        wasted_retries=int(sum(p.value for p in attempt_points if p.attributes.get(n.RETRY_WASTED) is True)),
    )
    soft: Counter[str] = Counter()
    for point in telemetry.metric(n.METRIC_CALLS):
        if n.SOFT_FAILURE in point.attributes:
            soft[text(point.attributes, n.SOFT_FAILURE)] += int(point.value)
    starts = [span.start_ns for span in telemetry.spans]
    ends = [span.end_ns for span in telemetry.spans]
    series: dict[str, list[tuple[Mapping[str, AttributeValue], float]]] = defaultdict(list)
    for point in telemetry.points:
        series[point.metric].append((point.attributes, point.value))
    flows = _flows(telemetry)
    return Report(
        totals=totals,
        groups=groups,
        timeline=_timeline(calls, attempts),
        costs=_costs(attempts),
        soft_failures=dict(soft.most_common()),
        flows=flows,
        scopes=_scopes(telemetry.spans),
        waterfalls=_waterfalls(telemetry.spans),
        rejected=sum(f.hops for f in flows if f.reason == UNKNOWN_REASON and f.kind != n.FALLBACK_KIND_GATEWAY),
        spans=len(telemetry.spans),
        window=(min(starts) / 1e9, max(ends) / 1e9) if starts else (0.0, 0.0),
        series=dict(series),
    )


# --- helpers shared with the page ---------------------------------------------------
def text(attributes: Mapping[str, AttributeValue], key: str) -> str:
    value = attributes.get(key)
    return NONE if value is None else str(value)


def number(attributes: Mapping[str, AttributeValue], key: str) -> float:
    value = attributes.get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def call_kind(attributes: Mapping[str, AttributeValue]) -> str:
    """The error class of a failed call, the kind of a soft failure, else ``-``."""
    value = attributes.get(n.ERROR_CLASS, attributes.get(n.SOFT_FAILURE))
    return NONE if value is None else str(value)


def _call_class(attributes: Mapping[str, AttributeValue]) -> str:
    """What the timeline stacks a call under: ``ok``, ``cancelled``, its error class or soft-failure kind."""
    outcome = text(attributes, n.OUTCOME)
    kind = call_kind(attributes)
    return outcome if kind == NONE else kind


def _outcome_rank(outcome: str) -> int:
    return {n.OUTCOME_OK: 0, n.OUTCOME_SOFT_FAILURE: 1, n.OUTCOME_ERROR: 2}.get(outcome, 3)


# --- counting -----------------------------------------------------------------------
def _groups(telemetry: Telemetry, calls: Sequence[Span]) -> list[Group]:
    counts: Counter[tuple[str, str]] = Counter()
    for point in telemetry.metric(n.METRIC_CALLS):
        counts[(text(point.attributes, n.OUTCOME), call_kind(point.attributes))] += int(point.value)
    made: Counter[tuple[str, str]] = Counter()
    for span in calls:
        made[(text(span.attributes, n.OUTCOME), call_kind(span.attributes))] += int(
            number(span.attributes, n.ATTEMPT_COUNT)
        )
    ordered = sorted(counts.items(), key=lambda item: (_outcome_rank(item[0][0]), -item[1], item[0][1]))
    return [Group(outcome, kind, count, made[(outcome, kind)]) for (outcome, kind), count in ordered]


def _bucket_seconds(seconds: float) -> int:
    for size in _BUCKET_SIZES:
        if seconds / size <= MAX_BUCKETS:
            return size
    return _BUCKET_SIZES[-1]


def _timeline(calls: Sequence[Span], attempts: Sequence[Span]) -> Timeline:
    ends = [span.end_ns for span in (*calls, *attempts)]
    if not ends:
        return Timeline(1, [], {}, {})
    first = min(ends) // 1_000_000_000
    size = _bucket_seconds((max(ends) / 1e9) - first)
    count = int(((max(ends) / 1e9) - first) // size) + 1

    def stack(spans: Iterable[Span], key: str | None) -> dict[str, list[int]]:
        rows: dict[str, list[int]] = defaultdict(lambda: [0] * count)
        for span in spans:
            name = _call_class(span.attributes) if key is None else text(span.attributes, key)
            if name == NONE:
                name = n.OUTCOME_OK
            rows[name][int((span.end_ns / 1e9 - first) // size)] += 1
        ok = {name: rows.pop(name) for name in (n.OUTCOME_OK,) if name in rows}
        return ok | dict(sorted(rows.items(), key=lambda item: -sum(item[1])))

    return Timeline(
        bucket_seconds=size,
        times=[float(first + index * size) for index in range(count)],
        calls=stack(calls, None),
        attempts=stack(attempts, n.ERROR_CLASS),
    )


def _costs(attempts: Sequence[Span]) -> list[ClassCost]:
    """Each retry is charged to the class of the attempt it retried (the one before it in its call)."""
    by_call: dict[tuple[str, str], list[Span]] = defaultdict(list)
    for span in attempts:
        by_call[(span.trace_id, span.parent_id)].append(span)
    failures: Counter[str] = Counter()
    retries: Counter[str] = Counter()
    wasted: Counter[str] = Counter()
    backoff: defaultdict[str, float] = defaultdict(float)
    for members in by_call.values():
        members.sort(key=lambda span: (number(span.attributes, n.ATTEMPT_NUMBER), span.start_ns))
        for before, after in zip([None, *members], members, strict=False):
            if n.ERROR_CLASS in after.attributes:
                failures[text(after.attributes, n.ERROR_CLASS)] += 1
            if before is None:
                continue
            cause = text(before.attributes, n.ERROR_CLASS)
            retries[cause] += 1
            backoff[cause] += number(after.attributes, n.ATTEMPT_BACKOFF)
            wasted[cause] += after.attributes.get(n.RETRY_WASTED) is True
    classes = sorted(set(failures) | set(retries), key=lambda name: (-backoff[name], -retries[name], name))
    return [ClassCost(name, failures[name], retries[name], round(backoff[name], 3), wasted[name]) for name in classes]


def _flows(telemetry: Telemetry) -> list[Flow]:
    counts: Counter[tuple[str, str, str, str]] = Counter()
    for point in telemetry.metric(n.METRIC_FALLBACK_HOPS):
        labels = point.attributes
        key = (
            text(labels, n.FALLBACK_KIND),
            text(labels, n.FALLBACK_REASON),
            text(labels, n.FALLBACK_FROM_MODEL),
            text(labels, n.FALLBACK_TO_MODEL),
        )
        counts[key] += int(point.value)
    return [Flow(*key, hops=count) for key, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


def _scopes(spans: Iterable[Span]) -> dict[str, dict[str, int]]:
    scopes: dict[str, Counter[str]] = defaultdict(Counter)
    for span in spans:
        name = span.attributes.get(n.FALLBACK_NAME)
        if name is None or n.FALLBACK_HOPS not in span.attributes:
            continue
        tally = scopes[str(name)]
        tally["scopes"] += 1
        succeeded = span.attributes.get(n.FALLBACK_SUCCEEDED_HOP)
        tally["no_hop_succeeded" if succeeded is None else f"succeeded_at_hop_{succeeded}"] += 1
    return {name: dict(sorted(tally.items())) for name, tally in sorted(scopes.items())}


# --- waterfalls -------------------------------------------------------------------------
def _waterfalls(spans: Iterable[Span]) -> list[Waterfall]:
    traces: dict[str, list[Span]] = defaultdict(list)
    for span in spans:
        traces[span.trace_id].append(span)
    summaries = sorted(traces.items(), key=lambda item: (-_nanoseconds(item[1]), item[0]))
    chosen: list[tuple[str, str]] = [(trace_id, "slowest") for trace_id, _ in summaries[:SLOWEST_TRACES]]
    failing = [
        (trace_id, members)
        for trace_id, members in summaries
        if any(span.status == STATUS_ERROR for span in members) and (trace_id, "slowest") not in chosen
    ]
    failing.sort(key=lambda item: (-sum(n.ATTEMPT_NUMBER in s.attributes for s in item[1]), item[0]))
    # One failing trace per story (root name and call outcomes), the one with the most attempts.
    stories: set[tuple[str, ...]] = {_story_key(traces[trace_id]) for trace_id, _ in chosen}
    for trace_id, members in failing:
        if len(chosen) >= SLOWEST_TRACES + FAILING_TRACES:
            break
        if _story_key(members) not in stories:
            stories.add(_story_key(members))
            chosen.append((trace_id, "with failures"))
    return [_waterfall(trace_id, why, traces[trace_id]) for trace_id, why in chosen]


def _story_key(members: Sequence[Span]) -> tuple[str, ...]:
    roots = [span for span in members if not span.parent_id]
    calls = sorted((s for s in members if n.ATTEMPT_COUNT in s.attributes), key=lambda s: s.start_ns)
    return (roots[0].name if roots else "", *(call_kind(s.attributes) for s in calls))


def _nanoseconds(members: Sequence[Span]) -> int:
    """From the first span's start to the last span's end, as the terminal report ranks traces."""
    return max(span.end_ns for span in members) - min(span.start_ns for span in members)


def _waterfall(trace_id: str, why: str, members: list[Span]) -> Waterfall:
    ids = {span.span_id for span in members}
    children: dict[str, list[Span]] = defaultdict(list)
    for span in members:
        children[span.parent_id if span.parent_id in ids else ""].append(span)
    start = min(span.start_ns for span in members)
    ordered: list[tuple[int, Span]] = []

    def walk(parent: str, depth: int) -> None:
        for span in sorted(children.get(parent, ()), key=lambda s: (s.start_ns, s.span_id)):
            ordered.append((depth, span))
            walk(span.span_id, depth + 1)

    walk("", 0)
    roots = children.get("", members)
    title = str(roots[0].attributes.get(SCENARIO_ATTRIBUTE, roots[0].name)) if roots else trace_id
    calls = sorted((s for s in members if n.ATTEMPT_COUNT in s.attributes), key=lambda s: s.start_ns)
    story = " → ".join(
        n.OUTCOME_OK if text(s.attributes, n.OUTCOME) == n.OUTCOME_OK else call_kind(s.attributes) for s in calls
    )
    rows = [_row(depth, span, start) for depth, span in ordered[:MAX_ROWS]]
    return Waterfall(trace_id, title, why, _nanoseconds(members) / 1e9, story, rows, max(0, len(ordered) - MAX_ROWS))


def _row(depth: int, span: Span, trace_start: int) -> Row:
    attributes = span.attributes
    start = (span.start_ns - trace_start) / 1e9
    if n.ATTEMPT_NUMBER in attributes:
        status = text(attributes, n.HTTP_RESPONSE_STATUS_CODE)
        error = text(attributes, n.ERROR_CLASS)
        details = [f"#{int(number(attributes, n.ATTEMPT_NUMBER))}", "" if status == NONE else status]
        details.append("" if error == NONE else error)
        if n.RETRY_AFTER in attributes:
            details.append(f"Retry-After {number(attributes, n.RETRY_AFTER):g} s")
        failed = span.status == STATUS_ERROR or error != NONE
        return Row(
            depth,
            span.name,
            " ".join(part for part in details if part),
            start,
            span.seconds,
            "error" if failed else "ok",
            number(attributes, n.ATTEMPT_BACKOFF),
        )
    if n.ATTEMPT_COUNT in attributes:
        outcome = text(attributes, n.OUTCOME)
        kind = call_kind(attributes)
        attempts = int(number(attributes, n.ATTEMPT_COUNT))
        details = [outcome if kind == NONE else f"{outcome}: {kind}", f"{attempts} att."]
        if number(attributes, n.FALLBACK_HOP) > 0:
            details.append(f"fallback hop {int(number(attributes, n.FALLBACK_HOP))}")
        if n.APP_RETRY_LIBRARY in attributes:
            # A try of an application's retry loop (LiteLLM's own, tenacity...): which one, by whom.
            library = text(attributes, n.APP_RETRY_LIBRARY)
            details.append(f"{library} try {int(number(attributes, n.APP_RETRY_ATTEMPT))}")
        style = {n.OUTCOME_OK: "ok", n.OUTCOME_SOFT_FAILURE: "soft"}.get(outcome, "error")
        return Row(depth, span.name, ", ".join(details), start, span.seconds, style)
    if n.FALLBACK_HOPS in attributes:
        succeeded = attributes.get(n.FALLBACK_SUCCEEDED_HOP)
        answer = "no answer" if succeeded is None else f"answered at hop {succeeded}"
        hops = int(number(attributes, n.FALLBACK_HOPS))
        detail = f"fallback {text(attributes, n.FALLBACK_NAME)}: {hops} hops, {answer}"
        return Row(depth, span.name, detail, start, span.seconds, "scope")
    kind = "error" if span.status == STATUS_ERROR else "plain"
    scenario = text(attributes, SCENARIO_ATTRIBUTE)
    detail = "" if scenario == NONE or span.name.endswith(scenario) else scenario
    return Row(depth, span.name, detail, start, span.seconds, kind)
