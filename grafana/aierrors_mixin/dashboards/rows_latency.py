"""Rows *Fallbacks* and *Latency and tokens*: hops between models, call vs attempt latency, tokens, operations.

The GenAI duration and token metrics are read under either convention (see
``genai.py``): inline ``or`` where exemplars matter (the latency panel reads
raw histograms), the recorded unified series elsewhere.
"""

from __future__ import annotations

from .. import config as c
from ..genai import LATEST, LEGACY, either
from ..recording import genai_rule
from .links import call_links, column, label, trace_links
from .panels import Query, table_panel, timeseries_panel
from .rows import Row
from .selectors import BY, RATE, WHERE, sel

__all__ = ["fallbacks_row", "latency_row"]

HOP_LABELS = (
    "job, aierrors_fallback_kind, aierrors_fallback_from_model, aierrors_fallback_to_model, aierrors_fallback_reason"
)


def fallbacks_row() -> Row:
    # Hops carry no call attributes: the model filter applies to the model fallen back from.
    hops = c.FALLBACK_HOPS + '{job=~"$job", aierrors_fallback_from_model=~"$model"}'
    return Row(
        "Fallbacks",
        [
            timeseries_panel(
                "Fallback hops (from → to, reason)",
                "Fallback hops per second from one model to the next, with the kind of hop and the error class "
                "that caused it. The model filter applies to the model fallen back from.",
                "cps",
                [
                    Query(
                        f"sum by ({HOP_LABELS}) (rate({hops}[{RATE}]))",
                        "{{aierrors_fallback_from_model}} → {{aierrors_fallback_to_model}} "
                        "({{aierrors_fallback_kind}}, {{aierrors_fallback_reason}}) · {{job}}",
                    )
                ],
                trace_links(
                    label("job"),
                    {
                        "aierrors.fallback.from_model": label("aierrors_fallback_from_model"),
                        "aierrors.fallback.to_model": label("aierrors_fallback_to_model"),
                        "aierrors.fallback.reason": label("aierrors_fallback_reason"),
                    },
                ),
            ),
            table_panel(
                "Fallback hops (selected range)",
                "Fallback hops over the selected time range, by service, from and to model, kind and reason.",
                "short",
                Query(f"sum by ({HOP_LABELS}) (increase({hops}[$__range])) > 0", instant=True),
                trace_links(
                    column("job"),
                    {
                        "aierrors.fallback.from_model": column("aierrors_fallback_from_model"),
                        "aierrors.fallback.to_model": column("aierrors_fallback_to_model"),
                        "aierrors.fallback.reason": column("aierrors_fallback_reason"),
                    },
                ),
            ),
        ],
    )


def _call_buckets() -> str:
    """Call duration buckets per second, legacy or latest (inference and embeddings) convention."""
    legacy = f"sum by (le, {BY}) (rate({LEGACY['duration'].prometheus}_bucket{sel()}[{RATE}]))"
    latest = " or ".join(
        f"rate({LATEST[name].prometheus}_bucket{sel()}[{RATE}])"
        for name in ("inference_duration", "embeddings_duration")
    )
    return either(legacy, f"sum by (le, {BY}) ({latest})")


def _quantiles(buckets: str, name: str) -> list[Query]:
    return [
        Query(f"histogram_quantile({q}, {buckets})", f"{name} p{int(q * 100)} · {WHERE}", exemplar=True)
        for q in (0.5, 0.95, 0.99)
    ]


def latency_row() -> Row:
    attempt_buckets = f"sum by (le, {BY}) (rate(aierrors_attempt_duration_seconds_bucket{sel()}[{RATE}]))"
    return Row(
        "Latency and tokens",
        [
            timeseries_panel(
                "Call vs attempt latency",
                "p50, p95 and p99 of whole calls (retries and backoff included) against single HTTP attempts. "
                "The gap is the time retries cost. Exemplars (dots) open the trace. Calls are read from the "
                "GenAI duration of either convention.",
                "s",
                _quantiles(_call_buckets(), "call") + _quantiles(attempt_buckets, "attempt"),
                call_links(),
                width=24,
                height=10,
            ),
            timeseries_panel(
                "Tokens",
                "Tokens per second by type (input, output), as the responses reported them, over 5m, from the "
                "GenAI token metrics of either convention (recording rule of grafana/rules).",
                "suffix: tokens/s",
                [
                    Query(
                        f"sum by ({BY}, gen_ai_token_type) ({genai_rule('gen_ai_client_tokens')}{sel()})",
                        "{{gen_ai_token_type}} · " + WHERE,
                    )
                ],
                call_links(),
                stack=True,
            ),
            timeseries_panel(
                "Calls per second by operation",
                "Logical calls per second by GenAI operation (chat, embeddings, ...).",
                "reqps",
                [
                    Query(
                        f"sum by ({BY}, gen_ai_operation_name) (rate({c.CALLS}{sel()}[{RATE}]))",
                        "{{gen_ai_operation_name}} · " + WHERE,
                    )
                ],
                call_links(),
                stack=True,
            ),
        ],
    )
