"""Row *Retries and rate limits*: what retries cost, which are wasted, how close the rate limits are."""

from __future__ import annotations

from .. import config as c
from ..recording import genai_rule
from .links import attempt_links, call_links
from .panels import Query, timeseries_panel
from .rows import Row
from .selectors import BY, RATE, WHERE, ratio, sel

__all__ = ["retries_row"]

COUNTED = sel(c.NOT_CANCELLED)
WASTED = sel('aierrors_retry_wasted="true"')
RATE_LIMITED = sel('aierrors_error_class="rate_limit"')


def retries_row() -> Row:
    calls, attempts, t = c.CALLS, c.ATTEMPTS, c.THRESHOLDS
    rate_limited = attempt_links(aierrors__error__class="rate_limit")
    return Row(
        "Retries and rate limits",
        [
            timeseries_panel(
                "Retry amplification (attempts per call)",
                "HTTP attempts per logical call: 1 is no retry; the openai SDK's default max_retries=2 allows 3. "
                f"The AIErrorsRetryStorm alert fires above {t.attempts_per_call:g}.",
                "suffix: attempts/call",
                [Query(ratio(f"rate({attempts}{COUNTED}[{RATE}])", f"rate({calls}{COUNTED}[{RATE}])"), WHERE)],
                call_links(),
                thresholds=[(t.attempts_per_call, "red")],
            ),
            timeseries_panel(
                "Time lost to backoff per call",
                "Average seconds a call spent waiting between its attempts (the SDK's backoff sleeps, honouring "
                "Retry-After).",
                "s",
                [
                    Query(
                        ratio(
                            f"rate(aierrors_retry_backoff_seconds_total{sel()}[{RATE}])",
                            f"rate({calls}{sel()}[{RATE}])",
                        ),
                        WHERE,
                    )
                ],
                call_links(),
            ),
            timeseries_panel(
                "Share of call time spent in backoff",
                "Seconds spent waiting before retries divided by the seconds calls took in total (over 5m, the "
                "GenAI duration of either convention): latency the users pay for retries alone.",
                "percentunit",
                [
                    Query(
                        f"sum by ({BY}) (rate(aierrors_retry_backoff_seconds_total{sel()}[{c.GENAI_RATE_WINDOW}]))\n"
                        f"/\n"
                        f"sum by ({BY}) ({genai_rule('gen_ai_client_duration_seconds_sum')}{sel()})",
                        WHERE,
                    )
                ],
                call_links(),
                min_value=0,
            ),
            timeseries_panel(
                "Wasted retries",
                "Retries sent after an attempt whose class cannot succeed when sent again (e.g. the SDK "
                "retrying a 429 insufficient_quota), by the class the retry ended in "
                '(aierrors_retry_wasted="true").',
                "reqps",
                [
                    Query(
                        f"sum by ({BY}, aierrors_error_class) (rate({attempts}{WASTED}[{RATE}]))",
                        "{{aierrors_error_class}} · " + WHERE,
                    )
                ],
                attempt_links(aierrors__retry__wasted="true"),
            ),
            timeseries_panel(
                "Retry-After asked for",
                "Delay the servers asked for in retry-after-ms / retry-after / the body's retry_after, median "
                "and 95th percentile.",
                "s",
                [
                    Query(
                        f"histogram_quantile({q}, sum by (le, {BY}) "
                        f"(rate(aierrors_server_retry_after_seconds_bucket{sel()}[{RATE}])))",
                        f"p{int(q * 100)} · {WHERE}",
                    )
                    for q in (0.5, 0.95)
                ],
                rate_limited,
            ),
            timeseries_panel(
                "Responses asking for a delay",
                "Responses per second that carried a Retry-After (or retry-after-ms, or a body retry_after).",
                "reqps",
                [Query(f"sum by ({BY}) (rate(aierrors_server_retry_after_seconds_count{sel()}[{RATE}]))", WHERE)],
                rate_limited,
            ),
            timeseries_panel(
                "Rate-limit headroom",
                "Lowest remaining budget the provider reported in x-ratelimit-remaining-requests / -tokens (or "
                "anthropic-ratelimit-*), by kind. Zero means the next request is throttled.",
                "short",
                [
                    Query(
                        f"min by ({BY}, aierrors_ratelimit_kind) (aierrors_ratelimit_remaining{sel()})",
                        "{{aierrors_ratelimit_kind}} · " + WHERE,
                    )
                ],
                rate_limited,
                min_value=0,
            ),
            timeseries_panel(
                "Rate-limited attempts",
                "Share of HTTP attempts answered with a rate limit (429 rate_limit). "
                f"AIErrorsRateLimitSaturation fires above {t.rate_limited_ratio:.0%}.",
                "percentunit",
                [
                    Query(
                        ratio(
                            f"rate({attempts}{RATE_LIMITED}[{RATE}])",
                            f"rate({attempts}{COUNTED}[{RATE}])",
                        ),
                        WHERE,
                    )
                ],
                rate_limited,
                min_value=0,
                thresholds=[(t.rate_limited_ratio, "red")],
            ),
        ],
    )
