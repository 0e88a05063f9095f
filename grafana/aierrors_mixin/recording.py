"""Recording rules: the SLO's error ratios, the soft-failure shares, the GenAI series under either convention.

Groups are named ``*.rules`` and rules ``level:metric:operation``, the level
being the labels the series keep (:data:`~.config.SLO_LABELS`; ``le`` and
``gen_ai_token_type`` are part of what a bucket or a token series is).
Cancelled calls (``aierrors_outcome="cancelled"``) are in no ratio, neither
numerator nor denominator: the application stopped them, the provider did not
fail them.
"""

from __future__ import annotations

from typing import Any

from . import config as c
from .durations import Scale
from .genai import LATEST, LEGACY, either

__all__ = [
    "SLO_WINDOWS",
    "genai_rule",
    "recording_groups",
    "slo_ratio_rule",
    "soft_failure_rule",
]

Rule = dict[str, Any]

#: Every window a burn-rate alert reads, short and long, in increasing order.
SLO_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")

LEVEL = "_".join(c.SLO_LABELS)
BY = ", ".join(c.SLO_LABELS)

#: Calls that count in a ratio: every outcome but ``cancelled``.
COUNTED_CALLS = f"{c.CALLS}{{{c.NOT_CANCELLED}}}"

#: The soft failures whose spikes alert, with the selectors that count them.
SOFT_FAILURES = {
    # Content filtering shows either as a 200 with finish_reason content_filter
    # (a soft failure) or as an error whose class is content_filter.
    "content_filtered": (
        f'{c.CALLS}{{aierrors_soft_failure="content_filter"}}',
        f'{c.CALLS}{{aierrors_error_class="content_filter"}}',
    ),
    "truncated": (f'{c.CALLS}{{aierrors_soft_failure="truncated"}}',),
}

#: The GenAI series recorded under one name whichever convention the application uses.
GENAI_SERIES = (
    "gen_ai_client_duration_seconds_bucket",
    "gen_ai_client_duration_seconds_sum",
    "gen_ai_client_duration_seconds_count",
    "gen_ai_client_tokens",
    "gen_ai_client_time_to_first_chunk_seconds_bucket",
)


def slo_ratio_rule(window: str) -> str:
    """Name of the recorded call error ratio over ``window`` (the nominal window)."""
    return f"{LEVEL}:aierrors_calls_errors:ratio_rate{window}"


def soft_failure_rule(kind: str, window: str) -> str:
    """Name of the recorded share of calls with soft failure ``kind`` over ``window``."""
    return f"{LEVEL}:aierrors_calls_{kind}:ratio_rate{window}"


def genai_rule(series: str) -> str:
    """Name of the recorded per-second rate of GenAI ``series`` (one of :data:`GENAI_SERIES`)."""
    if series not in GENAI_SERIES:
        raise ValueError(f"not a recorded GenAI series: {series!r}")
    return f"{LEVEL}:{series}:rate{c.GENAI_RATE_WINDOW}"


def _slo_rules(scale: Scale) -> list[Rule]:
    rules = []
    for window in SLO_WINDOWS:
        w = scale(window)
        # Without an error the numerator has no series: "or 0 * total" keeps the
        # ratio at 0 instead of absent, so dashboards and absent() checks see it.
        rules.append(
            {
                "record": slo_ratio_rule(window),
                "expr": (
                    f"(\n"
                    f'  sum by ({BY}) (rate({c.CALLS}{{aierrors_outcome="error"}}[{w}]))\n'
                    f"  or\n"
                    f"  0 * sum by ({BY}) (rate({COUNTED_CALLS}[{w}]))\n"
                    f")\n"
                    f"/\n"
                    f"sum by ({BY}) (rate({COUNTED_CALLS}[{w}]))\n"
                ),
            }
        )
    return rules


def _soft_failure_rules(scale: Scale) -> list[Rule]:
    rules = []
    t = c.THRESHOLDS
    for kind, selectors in SOFT_FAILURES.items():
        for window in (t.ratio_window, t.baseline_window):
            w = scale(window)
            counted = "\n  or\n".join(f"  rate({selector}[{w}])" for selector in selectors)
            rules.append(
                {
                    "record": soft_failure_rule(kind, window),
                    "expr": f"sum by ({BY}) (\n{counted}\n)\n/\nsum by ({BY}) (rate({COUNTED_CALLS}[{w}]))\n",
                }
            )
    return rules


def _genai_rules(scale: Scale) -> list[Rule]:
    w = scale(c.GENAI_RATE_WINDOW)

    def rate(metric: str, by: str = BY) -> str:
        return f"sum by ({by}) (rate({metric}[{w}]))"

    def latest_rate(suffix: str, by: str = BY) -> str:
        # Inference and embeddings have a histogram each under the latest conventions;
        # their series differ by gen_ai_operation_name, so "or" is their union.
        inference, embeddings = LATEST["inference_duration"].prometheus, LATEST["embeddings_duration"].prometheus
        return f"sum by ({by}) (\n  rate({inference}{suffix}[{w}])\n  or\n  rate({embeddings}{suffix}[{w}])\n)"

    legacy_duration = LEGACY["duration"].prometheus
    duration = {
        f"gen_ai_client_duration_seconds{suffix}": either(
            rate(f"{legacy_duration}{suffix}", by), latest_rate(suffix, by)
        )
        for suffix, by in (("_bucket", f"le, {BY}"), ("_sum", BY), ("_count", BY))
    }
    # Embeddings have no usage counter under the latest conventions, only their per-operation
    # histogram: its sum is their input tokens (a different gen_ai_operation_name, so "or" adds it).
    latest_input = (
        f"sum by ({BY}) (\n  rate({LATEST['input_tokens'].prometheus}[{w}])\n  or\n"
        f"  rate({LATEST['embeddings_input_tokens'].prometheus}_sum[{w}])\n)"
    )
    tokens = either(
        rate(f"{LEGACY['tokens'].prometheus}_sum", f"{BY}, gen_ai_token_type"),
        f'label_replace({latest_input}, "gen_ai_token_type", "input", "", "")\nor\n'
        f'label_replace({rate(LATEST["output_tokens"].prometheus)}, "gen_ai_token_type", "output", "", "")',
    )
    first_chunk = either(
        rate(f"{LEGACY['time_to_first_chunk'].prometheus}_bucket", f"le, {BY}"),
        rate(f"{LATEST['time_to_first_chunk'].prometheus}_bucket", f"le, {BY}"),
    )
    exprs = {
        **duration,
        "gen_ai_client_tokens": tokens,
        "gen_ai_client_time_to_first_chunk_seconds_bucket": first_chunk,
    }
    return [{"record": genai_rule(series), "expr": exprs[series] + "\n"} for series in GENAI_SERIES]


def recording_groups(scale: Scale) -> list[dict[str, Any]]:
    """The recording rules: call error ratios for the SLO, soft-failure shares, GenAI series."""
    return [
        {"name": "aierrors-slo.rules", "rules": _slo_rules(scale)},
        {"name": "aierrors-soft-failures.rules", "rules": _soft_failure_rules(scale)},
        {"name": "aierrors-genai.rules", "rules": _genai_rules(scale)},
    ]
