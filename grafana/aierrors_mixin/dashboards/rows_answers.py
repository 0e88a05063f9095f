"""Row *Answers and streams*: soft failures, rejected answers, finish reasons, broken / abandoned / cancelled
streams, first chunk."""

from __future__ import annotations

from .. import config as c
from ..recording import genai_rule, soft_failure_rule
from .links import call_links, label, trace_links
from .panels import Query, timeseries_panel
from .rows import Row
from .selectors import BY, RATE, WHERE, sel

__all__ = ["answers_row"]

SOFT = sel('aierrors_outcome="soft_failure"')
FINISHED = sel('aierrors_finish_reason!=""')
INTERRUPTED = sel('aierrors_error_class="stream_interrupted"')
ABANDONED = sel('aierrors_stream_abandoned="true"')
CANCELLED = sel('aierrors_outcome="cancelled"')
REJECTIONS = "aierrors_rejections_total"


def answers_row() -> Row:
    calls, t = c.CALLS, c.THRESHOLDS
    return Row(
        "Answers and streams",
        [
            timeseries_panel(
                "Soft failures by kind and finish reason",
                "HTTP 200 answers that are not what was asked for: truncated (finish_reason length), "
                "content_filter, empty, refusal, with the first choice's finish reason.",
                "reqps",
                [
                    Query(
                        f"sum by ({BY}, aierrors_soft_failure, aierrors_finish_reason) (rate({calls}{SOFT}[{RATE}]))",
                        "{{aierrors_soft_failure}} ({{aierrors_finish_reason}}) · " + WHERE,
                    )
                ],
                call_links(aierrors__soft_failure=label("aierrors_soft_failure")),
            ),
            timeseries_panel(
                "Answers rejected by the application",
                "Answers per second the application's own check refused after a 200 (otel_aierrors.reject: the "
                "JSON did not parse, the schema did not validate, a guard said no), by reason, on the model of "
                "the call that gave them. The calls count as ok in the other panels.",
                "reqps",
                [
                    Query(
                        f"sum by ({BY}, aierrors_rejection_reason) (rate({REJECTIONS}{sel()}[{RATE}]))",
                        "{{aierrors_rejection_reason}} · " + WHERE,
                    )
                ],
                trace_links(
                    label("job"),
                    {
                        "aierrors.soft_failure": "invalid_output",
                        "aierrors.rejection.reason": label("aierrors_rejection_reason"),
                    },
                ),
            ),
            timeseries_panel(
                "Content-filtered and truncated share",
                "Share of calls whose answer was content-filtered (soft failure or content_filter error) or "
                "truncated, over 15m and over the last day: the spike alerts compare the two.",
                "percentunit",
                [
                    Query(f"{soft_failure_rule(kind, window)}{sel()}", f"{kind} {window} · {WHERE}")
                    for kind in ("content_filtered", "truncated")
                    for window in (t.ratio_window, t.baseline_window)
                ],
                call_links(),
                min_value=0,
            ),
            timeseries_panel(
                "Finish reasons",
                "Calls per second by the first choice's finish reason (stop, length, content_filter, "
                "tool_calls, or the provider's own value).",
                "reqps",
                [
                    Query(
                        f"sum by ({BY}, aierrors_finish_reason) (rate({calls}{FINISHED}[{RATE}]))",
                        "{{aierrors_finish_reason}} · " + WHERE,
                    )
                ],
                call_links(),
                stack=True,
            ),
            timeseries_panel(
                "Stream interruptions",
                "Streamed calls per second that broke after they had started "
                '(aierrors_error_class="stream_interrupted"): connection dropped, an error event mid-stream, or '
                "a stream that ended without its terminal marker.",
                "reqps",
                [Query(f"sum by ({BY}) (rate({calls}{INTERRUPTED}[{RATE}]))", WHERE)],
                call_links(aierrors__error__class="stream_interrupted"),
            ),
            timeseries_panel(
                "Abandoned streams",
                "Streams the caller closed, broke out of, never iterated or dropped before their end, by "
                'outcome (aierrors_stream_abandoned="true"): tokens paid for and never read.',
                "reqps",
                [
                    Query(
                        f"sum by ({BY}, aierrors_outcome) (rate({calls}{ABANDONED}[{RATE}]))",
                        "{{aierrors_outcome}} · " + WHERE,
                    )
                ],
                call_links(aierrors__stream__abandoned="true"),
            ),
            timeseries_panel(
                "Calls cancelled by the application",
                'Share of calls the application cancelled itself (aierrors_outcome="cancelled": asyncio '
                "cancellation, its own timeout around a stream). Not a failure of the provider: no error ratio, "
                "SLO or alert counts them; a rise means the application's own timeouts are too short or its "
                "users leave.",
                "percentunit",
                [
                    Query(
                        f"(\n  sum by ({BY}) (rate({calls}{CANCELLED}[{RATE}]))\n  or\n"
                        f"  0 * sum by ({BY}) (rate({calls}{sel()}[{RATE}]))\n)\n"
                        f"/\nsum by ({BY}) (rate({calls}{sel()}[{RATE}]))",
                        WHERE,
                    )
                ],
                call_links(aierrors__outcome="cancelled"),
                min_value=0,
            ),
            timeseries_panel(
                "Time to first chunk (streams)",
                "Seconds from the call to the first chunk of a streamed answer, median and 95th percentile over "
                "5m, from the GenAI histogram of either convention (recording rule of grafana/rules).",
                "s",
                [
                    Query(
                        f"histogram_quantile({q}, sum by (le, {BY}) "
                        f"({genai_rule('gen_ai_client_time_to_first_chunk_seconds_bucket')}{sel()}))",
                        f"p{int(q * 100)} · {WHERE}",
                    )
                    for q in (0.5, 0.95)
                ],
                call_links(),
            ),
        ],
    )
