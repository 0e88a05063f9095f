"""The ``gen_ai.client.*`` metrics, under the conventions the application opted into.

The GenAI semantic conventions renamed their client metrics when they moved to
their own repository (``open-telemetry/semantic-conventions-genai``, migration
guide from core v1.41). Instrumentations keep the old names by default and
switch with ``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental``; the
conventions define no dual mode for GenAI, so exactly one set is emitted.
The ``aierrors.*`` metrics are the same under both.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Final, Protocol

from opentelemetry.context import Context

from otel_aierrors import _names as n
from otel_aierrors._safety import report_internal_error

if TYPE_CHECKING:
    from collections.abc import Mapping

    from opentelemetry.metrics import Counter, Histogram, Meter
    from opentelemetry.util.types import AttributeValue

    from otel_aierrors._results import ResponseSummary
    from otel_aierrors._target import CallSeries, CallTarget

__all__ = ["GenAIMetrics", "MeasuredCall", "genai_metrics", "latest_conventions_opted_in"]

#: Bucket boundaries recommended by the GenAI semantic conventions.
DURATION_BUCKETS: Final = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
TOKEN_BUCKETS: Final = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip
#: The context token counts are recorded in: no span, so the ``trace_based`` exemplar filter
#: makes no exemplar. The call's duration already links the call to its trace, and an
#: exemplar adds about 2 us to a histogram record (timeit, this SDK, 2 records per call).
NO_EXEMPLAR: Final = Context()


def duration_histogram(meter: Meter, name: str, description: str) -> Histogram:
    """A histogram of seconds with the conventions' buckets."""
    return meter.create_histogram(
        name, unit="s", description=description, explicit_bucket_boundaries_advisory=DURATION_BUCKETS
    )


def token_histogram(meter: Meter, name: str, description: str) -> Histogram:
    """A histogram of tokens with the conventions' buckets."""
    return meter.create_histogram(
        name, unit="{token}", description=description, explicit_bucket_boundaries_advisory=TOKEN_BUCKETS
    )


_OPT_IN_VARIABLE: Final = "OTEL_SEMCONV_STABILITY_OPT_IN"
_LATEST: Final = "gen_ai_latest_experimental"


def latest_conventions_opted_in(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``OTEL_SEMCONV_STABILITY_OPT_IN`` lists ``gen_ai_latest_experimental`` (in ``environ``, default
    ``os.environ``), read at ``instrument()``.

    Read here rather than through opentelemetry-instrumentation's private
    ``_semconv`` helper, which caches the variable once per process.
    """
    values = (os.environ if environ is None else environ).get(_OPT_IN_VARIABLE, "").split(",")
    return _LATEST in (value.strip() for value in values)


class MeasuredCall(Protocol):
    """What the ``gen_ai.client.*`` metrics read of an ended call (`otel_aierrors._recording.CallEnded` is one).

    A protocol, so that this module, below the call record, does not import it.
    """

    @property
    def span_context(self) -> Context: ...
    @property
    def series(self) -> CallSeries: ...
    @property
    def target(self) -> CallTarget: ...
    @property
    def start(self) -> float: ...
    @property
    def first_chunk_at(self) -> float | None: ...
    @property
    def stream_chunks(self) -> int: ...


class GenAIMetrics(Protocol):
    """Records the ``gen_ai.client.*`` metrics of one ended call.

    Each instrument is guarded on its own (a plain try costs nothing until it raises);
    ``record`` returns the class of the first exception met, if any, and never raises.
    """

    def record(
        self,
        call: MeasuredCall,
        attributes: Mapping[str, AttributeValue],
        duration: float,
        summary: ResponseSummary | None,
    ) -> str | None: ...


class _OperationMetrics:
    """The names of semantic conventions v1.37-v1.41 (the default)."""

    def __init__(self, meter: Meter) -> None:
        self.duration = duration_histogram(
            meter, n.METRIC_OPERATION_DURATION, "Duration of a GenAI operation, retries and backoff included."
        )
        self.tokens = token_histogram(meter, n.METRIC_TOKEN_USAGE, "Tokens used per GenAI operation, by token type.")
        self.time_to_first_chunk = duration_histogram(
            meter, n.METRIC_TIME_TO_FIRST_CHUNK, "Time from the call to the first chunk of a streamed response."
        )

    def record(
        self,
        call: MeasuredCall,
        attributes: Mapping[str, AttributeValue],
        duration: float,
        summary: ResponseSummary | None,
    ) -> str | None:
        context = call.span_context
        base = call.series.base
        fault = None
        if call.first_chunk_at is not None:
            try:
                self.time_to_first_chunk.record(call.first_chunk_at - call.start, base, context)
            except Exception:
                fault = report_internal_error("recording the time to first chunk")
        try:
            self.duration.record(duration, attributes, context)
        except Exception:
            fault = fault or report_internal_error("recording the operation duration")
        if summary is None:
            return fault
        try:
            if summary.input_tokens is not None:
                self.tokens.record(summary.input_tokens, {**base, n.GEN_AI_TOKEN_TYPE: "input"}, NO_EXEMPLAR)
        except Exception:
            fault = fault or report_internal_error("recording the token usage")
        try:
            if summary.output_tokens is not None:
                self.tokens.record(summary.output_tokens, {**base, n.GEN_AI_TOKEN_TYPE: "output"}, NO_EXEMPLAR)
        except Exception:
            fault = fault or report_internal_error("recording the token usage")
        return fault


class _InferenceMetrics:
    """The names of ``semantic-conventions-genai`` (``gen_ai_latest_experimental``)."""

    def __init__(self, meter: Meter) -> None:
        def counter(name: str, description: str) -> Counter:
            return meter.create_counter(name, unit="{token}", description=description)

        self.inference_duration = duration_histogram(
            meter, n.METRIC_INFERENCE_DURATION, "Duration of a GenAI inference call."
        )
        self.embeddings_duration = duration_histogram(
            meter, n.METRIC_EMBEDDINGS_DURATION, "Duration of a GenAI embeddings call."
        )
        self.usage_input = counter(n.METRIC_INFERENCE_USAGE_INPUT_TOKENS, "Input tokens used.")
        self.usage_output = counter(n.METRIC_INFERENCE_USAGE_OUTPUT_TOKENS, "Output tokens used.")
        self.usage_cache_read = counter(
            n.METRIC_INFERENCE_USAGE_CACHE_READ_INPUT_TOKENS, "Input tokens read from the provider's cache."
        )
        self.usage_cache_write = counter(
            n.METRIC_INFERENCE_USAGE_CACHE_WRITE_INPUT_TOKENS, "Input tokens written to the provider's cache."
        )
        self.usage_reasoning = counter(
            n.METRIC_INFERENCE_USAGE_REASONING_OUTPUT_TOKENS, "Output tokens spent on reasoning."
        )
        self.operation_input = token_histogram(
            meter, n.METRIC_INFERENCE_OPERATION_INPUT_TOKENS, "Input tokens per inference call."
        )
        self.operation_output = token_histogram(
            meter, n.METRIC_INFERENCE_OPERATION_OUTPUT_TOKENS, "Output tokens per inference call."
        )
        self.embeddings_input = token_histogram(
            meter, n.METRIC_EMBEDDINGS_OPERATION_INPUT_TOKENS, "Input tokens per embeddings call."
        )
        self.time_to_first_chunk = duration_histogram(
            meter, n.METRIC_INFERENCE_TIME_TO_FIRST_CHUNK, "Time to the first chunk of a stream."
        )
        self.time_per_output_chunk = duration_histogram(
            meter,
            n.METRIC_INFERENCE_TIME_PER_OUTPUT_CHUNK,
            "Mean time between the output chunks of a stream (recorded once per stream).",
        )

    def record(
        self,
        call: MeasuredCall,
        attributes: Mapping[str, AttributeValue],
        duration: float,
        summary: ResponseSummary | None,
    ) -> str | None:
        context = call.span_context
        embeddings = call.target.operation == "embeddings"
        fault = None
        try:
            (self.embeddings_duration if embeddings else self.inference_duration).record(duration, attributes, context)
        except Exception:
            fault = report_internal_error("recording the operation duration")
        if call.first_chunk_at is not None:
            try:
                self.time_to_first_chunk.record(call.first_chunk_at - call.start, attributes, context)
                chunks = call.stream_chunks
                if chunks > 1:
                    per_chunk = (call.start + duration - call.first_chunk_at) / (chunks - 1)
                    self.time_per_output_chunk.record(per_chunk, attributes, context)
            except Exception:
                fault = fault or report_internal_error("recording the stream's chunk times")
        if summary is None:
            return fault
        if embeddings:
            try:
                if summary.input_tokens is not None:
                    self.embeddings_input.record(summary.input_tokens, attributes, NO_EXEMPLAR)
            except Exception:
                fault = fault or report_internal_error("recording the token usage")
            return fault
        for value, counter, histogram in (
            (summary.input_tokens, self.usage_input, self.operation_input),
            (summary.output_tokens, self.usage_output, self.operation_output),
            (summary.cache_read_tokens, self.usage_cache_read, None),
            (summary.cache_creation_tokens, self.usage_cache_write, None),
            (summary.reasoning_tokens, self.usage_reasoning, None),
        ):
            if value is None:
                continue
            try:
                counter.add(value, attributes, NO_EXEMPLAR)
                if histogram is not None:
                    histogram.record(value, attributes, NO_EXEMPLAR)
            except Exception:
                fault = fault or report_internal_error("recording the token usage")
        return fault


def genai_metrics(meter: Meter, latest: bool) -> GenAIMetrics:
    """The ``gen_ai.client.*`` instruments of the conventions in force."""
    return _InferenceMetrics(meter) if latest else _OperationMetrics(meter)
