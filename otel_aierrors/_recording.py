"""What is recorded, under which names: the recorder of ended attempts and calls.

`Telemetry` is built once per instrumentation and handed to every wrapper:
the tracer, the metric instruments, the cardinality limits, and the state the
instrumentation owns (its pending SDK set-up, its hand-off of dropped streams),
dropped with it by ``uninstrument()``. The call and
attempt records (`otel_aierrors._call`, `otel_aierrors._attempt`) gather what
happened to them into an immutable end record (`AttemptEnded`, `CallEnded`)
when they end and hand it to `Telemetry.attempt_ended` / `Telemetry.call_ended`;
these make the span attributes, set the status, make the metric records and end
the span, under the names of `otel_aierrors._names`, and tell nothing back.
Every step is guarded on its own: whatever raises, the span ends (naming the
class of the first exception in ``aierrors.internal_error``) and the call or
attempt is counted once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Final, NamedTuple

from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.trace import Status, StatusCode
from opentelemetry.util.types import AttributeValue

from otel_aierrors import _names as n
from otel_aierrors._cardinality import PortLimiter, ValueLimiter
from otel_aierrors._coexistence import is_own_attribute
from otel_aierrors._genai_metrics import duration_histogram, genai_metrics
from otel_aierrors._handoff import Handoff
from otel_aierrors._headers import NO_HEADERS, AttemptHeaders
from otel_aierrors._jobs import JobTracker
from otel_aierrors._provider_errors import MAX_ALTERNATIVE_LENGTH, ProviderError, parse_error_body
from otel_aierrors._redaction import MAX_TEXT_LENGTH, exportable_token, redact
from otel_aierrors._rejection_records import Rejections
from otel_aierrors._results import KNOWN_FINISH_REASONS, ResponseSummary
from otel_aierrors._safety import report_internal_error
from otel_aierrors._sdks.stainless import error_facts
from otel_aierrors._setup import NO_AUTO_SETUP, AutoSetup
from otel_aierrors._tally import tally
from otel_aierrors._target import CallSeries
from otel_aierrors._taxonomy import Classification, ErrorClass

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Span, Tracer

    from otel_aierrors._target import CallTarget

__all__ = [
    "AttemptEnded",
    "Attributes",
    "CallEnded",
    "Telemetry",
    "add_exception_event",
    "header_attributes",
    "provider_error_attributes",
]

Attributes = dict[str, AttributeValue]
#: A rate-limit gauge series: (`CallSeries.key`, kind).
RatelimitKey = tuple[tuple[AttributeValue, ...], str]

#: Rate-limit gauge series kept at most (their attributes are bounded already).
MAX_RATELIMIT_SERIES: Final = 1000
#: Distinct call targets whose `CallSeries` is kept; beyond it each call builds its own.
MAX_CACHED_SERIES: Final = 1024
#: The leading `CallTarget` fields that decide its series (operation to server port).
_SERIES_KEY_LENGTH: Final = 5


class AttemptEnded(NamedTuple):
    """What happened to one HTTP attempt, gathered once when it ended (`otel_aierrors._attempt`).

    A NamedTuple built positionally: one per attempt, on the hot path.
    """

    #: The attempt span, None when its call's span is not recorded (no span attribute is built then).
    span: Span | None
    #: The attempt span in its call's context (the exemplars of the duration lead to it).
    context: Context
    series: CallSeries
    #: The call's target: its credentials are masked in whatever text is exported (read only then).
    target: CallTarget
    number: int
    start: float
    end: float
    #: ``time.time_ns()`` taken with ``end``: the span's end.
    wall_end: int
    backoff: float
    wasted: bool
    #: The HTTP status; None when no response arrived or reading it failed.
    status: int | None
    headers: AttemptHeaders
    #: The error body, parsed; None when the response was no error or none arrived.
    provider_error: ProviderError | None
    #: Whether the error body was in memory (the classification read it).
    read_body: bool
    #: How the attempt failed; None for a success or a cancellation.
    classification: Classification | None
    outcome: str
    #: What was raised before a response arrived (not a cancellation).
    exception: BaseException | None
    #: The class of the first exception raised inside the instrumentation while ending it.
    fault: str | None


class CallEnded(NamedTuple):
    """What happened to one logical call, gathered once when it ended (`otel_aierrors._call`).

    Also what the ``gen_ai.client.*`` metrics read (`otel_aierrors._genai_metrics.MeasuredCall`).
    """

    span: Span
    #: Whether the call span is this package's (else only ``aierrors.*`` goes on it, and it is not ended here).
    owns_span: bool
    recording: bool
    span_context: Context
    target: CallTarget
    series: CallSeries
    records_genai: bool
    start: float
    end: float
    wall_end: int
    outcome: str
    #: How the call failed (outcome ``error``), else None.
    classification: Classification | None
    #: What the SDK raised, for the span's exception event.
    exception: BaseException | None
    summary: ResponseSummary | None
    #: Span attributes decided by the call (a job's, a stream's), set after the summary's.
    extra: Attributes | None
    abandoned: bool
    attempt_count: int
    backoff_total: float
    wasted_retries: int
    first_chunk_at: float | None
    stream_chunks: int
    #: The model that answered, for a gateway hop.
    response_model: str | None
    #: None: no gateway hop; else whether a fallback scope already names the hop (then it is only counted).
    gateway_hop_in_scope: bool | None
    internal_error: str | None


class _Instruments:
    """The metric instruments, created once per instrumentation."""

    def __init__(self, meter: Meter) -> None:
        # Counted in-process, reported at collection: one per call and per attempt (see `Tally`).
        self.calls = tally(meter, n.METRIC_CALLS, "{call}", "Logical SDK calls, by final outcome and error class.")
        self.attempts = tally(meter, n.METRIC_ATTEMPTS, "{attempt}", "HTTP attempts, retries included, by outcome.")
        self.attempt_duration = duration_histogram(
            meter, n.METRIC_ATTEMPT_DURATION, "Duration of one HTTP attempt, without the backoff before it."
        )
        # Only its total is read (seconds lost to backoff): counted in-process too, not a histogram.
        self.retry_backoff = tally(meter, n.METRIC_RETRY_BACKOFF, "s", "Seconds waited before retries.")
        self.retry_after = duration_histogram(
            meter, n.METRIC_RETRY_AFTER, "Delay the server asked for in Retry-After / retry-after-ms."
        )
        #: The latest remaining budget per (call series, kind), reported at each collection.
        self.ratelimit_latest: dict[RatelimitKey, tuple[Mapping[str, AttributeValue], int]] = {}
        meter.create_observable_gauge(
            n.METRIC_RATELIMIT_REMAINING,
            callbacks=[self._observe_ratelimit],
            unit="{request_or_token}",
            description="Remaining rate-limit budget reported by the server, by kind.",
        )
        self.fallback_hops = meter.create_counter(
            n.METRIC_FALLBACK_HOPS,
            unit="{hop}",
            description="Fallback hops from one model or provider to another.",
        )

    def _observe_ratelimit(self, options: CallbackOptions) -> Iterable[Observation]:
        # A copy: attempts may add series while the SDK collects.
        return [Observation(value, attributes) for attributes, value in list(self.ratelimit_latest.values())]


class Telemetry:
    """The tracer, the instruments, the cardinality limits and the state of one instrumentation."""

    def __init__(
        self,
        tracer: Tracer,
        meter: Meter,
        call_spans: str = "auto",
        latest_genai: bool = False,
        capture_content: bool = False,
        auto_setup: AutoSetup = NO_AUTO_SETUP,
    ) -> None:
        self.tracer = tracer
        #: The SDK set-up to make at the first call, if the instrumentation asked for one.
        self.auto_setup = auto_setup
        #: The finalizers of streams and raw responses, and the queue of those dropped unread.
        self.handoff = Handoff()
        #: For the instruments of what is patched apart from the call path (the circuit breakers).
        self.meter = meter
        #: Whether provider free text (error messages, hints) may be exported, redacted:
        #: the GenAI content-capture switch (see `otel_aierrors._redaction.content_capture_enabled`).
        self.capture_content = capture_content
        #: The ``gen_ai.client.*`` metrics, under the conventions the application opted into.
        self.genai = genai_metrics(meter, latest_genai)
        #: Whose call span it is: ``auto``, ``own`` or ``attach`` (see `otel_aierrors._coexistence`).
        self.call_spans = call_spans
        self.instruments = _Instruments(meter)
        #: Background responses, videos and batches, from their creation to their end (see `otel_aierrors._jobs`).
        self.jobs = JobTracker(meter)
        #: Answers the application rejected (see `otel_aierrors._rejections`).
        self.rejections = Rejections(meter, tracer)
        #: False once uninstrumented: what reaches it later (a rejection of an earlier call) records nothing.
        self.enabled = True
        #: Requested and served models have separate budgets: a gateway answering
        #: with random model names must not push real requested models to ``_other``.
        self.limit_model = ValueLimiter()
        self.limit_response_model = ValueLimiter()
        self.limit_server = ValueLimiter()
        #: ``server.port`` on metrics: call ``limit_server_port(limited_address, port)``.
        self.limit_server_port = PortLimiter()
        self.limit_operation = ValueLimiter(limit=32)
        self.limit_finish_reason = ValueLimiter(limit=16)
        self._series: dict[tuple[object, ...], CallSeries] = {}

    def record_ratelimit(self, series: CallSeries, headers: AttemptHeaders) -> None:
        """Keep the latest remaining budget per series; the observable gauge reports it at collection.

        No metric record per attempt: a gauge exports only its last value.
        """
        requests, tokens = headers.remaining_requests, headers.remaining_tokens
        if requests is not None:
            self._keep_latest((series.key, n.RATELIMIT_KIND_REQUESTS), series.ratelimit_requests, requests)
        if tokens is not None:
            self._keep_latest((series.key, n.RATELIMIT_KIND_TOKENS), series.ratelimit_tokens, tokens)

    def _keep_latest(self, key: RatelimitKey, attributes: Mapping[str, AttributeValue], value: int) -> None:
        latest = self.instruments.ratelimit_latest
        if len(latest) < MAX_RATELIMIT_SERIES or key in latest:
            latest[key] = (attributes, value)

    # --- what a call records -------------------------------------------------
    def call_series(self, target: CallTarget) -> CallSeries:
        """The bounded metric attributes of a call to ``target``, built once per distinct target.

        Exact, not an approximation: a limiter never takes back a value it admitted,
        nor admits one it refused, so a target's attributes never change.
        """
        key = target[:_SERIES_KEY_LENGTH]
        series = self._series.get(key)
        if series is None:
            series = self._new_series(target)
            if len(self._series) < MAX_CACHED_SERIES:
                self._series[key] = series
        return series

    def _new_series(self, target: CallTarget) -> CallSeries:
        address = self.limit_server(target.server_address or "unknown")
        base: Attributes = {
            n.GEN_AI_OPERATION_NAME: self.limit_operation(target.operation),
            n.GEN_AI_PROVIDER_NAME: target.provider,
            n.GEN_AI_REQUEST_MODEL: self.limit_model(target.request_model or "unknown"),
            n.SERVER_ADDRESS: address,
        }
        port = self.limit_server_port(address, target.server_port)
        return CallSeries(
            key=tuple(base.values()),
            base=base,
            genai={**base, n.SERVER_PORT: port} if port else base,
            ratelimit_requests={**base, n.RATELIMIT_KIND: n.RATELIMIT_KIND_REQUESTS},
            ratelimit_tokens={**base, n.RATELIMIT_KIND: n.RATELIMIT_KIND_TOKENS},
        )

    @staticmethod
    def summary_span_attributes(summary: ResponseSummary, attributes: Attributes) -> None:
        """The call-span attributes a response summary gives (never content)."""
        if summary.response_model:
            attributes[n.GEN_AI_RESPONSE_MODEL] = summary.response_model
        if summary.response_id:
            attributes[n.GEN_AI_RESPONSE_ID] = summary.response_id
        if summary.input_tokens is not None:
            attributes[n.GEN_AI_USAGE_INPUT_TOKENS] = summary.input_tokens
        if summary.output_tokens is not None:
            attributes[n.GEN_AI_USAGE_OUTPUT_TOKENS] = summary.output_tokens
        if summary.cache_read_tokens is not None:
            attributes[n.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = summary.cache_read_tokens
        if summary.cache_creation_tokens is not None:
            attributes[n.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] = summary.cache_creation_tokens
        if summary.reasoning_tokens is not None:
            attributes[n.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = summary.reasoning_tokens
        if summary.finish_reasons:
            attributes[n.GEN_AI_RESPONSE_FINISH_REASONS] = summary.finish_reasons
        if summary.soft_failure:
            attributes[n.SOFT_FAILURE] = summary.soft_failure
        if summary.system_fingerprint:
            attributes[n.OPENAI_RESPONSE_SYSTEM_FINGERPRINT] = summary.system_fingerprint
        if summary.service_tier:
            attributes[n.OPENAI_RESPONSE_SERVICE_TIER] = summary.service_tier

    def record_gateway_hop(
        self, requested: str | None, served: str | None, span_attributes: Attributes, owned_by_scope: bool
    ) -> None:
        """Count a ``gateway`` hop; it goes on the call span unless a fallback scope already names the hop."""
        reason = ErrorClass.UNKNOWN.value
        self.instruments.fallback_hops.add(
            1, self.hop_metric_attributes(n.FALLBACK_KIND_GATEWAY, requested, served, reason, served_model=True)
        )
        if owned_by_scope:
            return
        span_attributes[n.FALLBACK_KIND] = n.FALLBACK_KIND_GATEWAY
        if requested:
            span_attributes[n.FALLBACK_FROM_MODEL] = requested
        if served:
            span_attributes[n.FALLBACK_TO_MODEL] = served
        span_attributes[n.FALLBACK_REASON] = reason

    def hop_metric_attributes(
        self, kind: str, from_model: str | None, to_model: str | None, reason: str, *, served_model: bool = False
    ) -> Attributes:
        """``to_model`` of a gateway hop is the model that answered: it has its own cardinality budget."""
        limit_to = self.limit_response_model if served_model else self.limit_model
        return {
            n.FALLBACK_KIND: kind,
            n.FALLBACK_FROM_MODEL: self.limit_model(from_model or "unknown"),
            n.FALLBACK_TO_MODEL: limit_to(to_model or "unknown"),
            n.FALLBACK_REASON: reason,
        }

    # --- the recorder ------------------------------------------------------------
    def attempt_ended(self, ended: AttemptEnded) -> None:
        """Record one ended attempt: its metrics, then its span's attributes, status and end.

        Metrics first: an instrument that raises is named on the span. Plain try blocks,
        not `swallow`: this runs on every attempt.
        """
        fault = ended.fault
        span = ended.span
        span_attributes: Attributes = {}
        if span is not None:
            if ended.provider_error is not None:
                try:
                    provider_error_attributes(
                        ended.provider_error,
                        span_attributes,
                        ended.target.secrets,
                        capture_content=self.capture_content,
                    )
                except Exception:
                    fault = fault or report_internal_error("reading an attempt's provider error")
            if ended.exception is not None:
                try:
                    add_exception_event(
                        span,
                        ended.exception,
                        ended.target.secrets,
                        ended.classification,
                        capture_content=self.capture_content,
                    )
                except Exception:
                    fault = fault or report_internal_error("recording an attempt's exception")
            try:
                header_attributes(ended.headers, span_attributes)
            except Exception:
                fault = fault or report_internal_error("reading an attempt's headers")
        metric_attributes = dict(ended.series.base)
        metric_attributes[n.OUTCOME] = ended.outcome
        classification = ended.classification
        if classification is not None:
            error_value = classification.error_class.value
            metric_attributes[n.ERROR_CLASS] = error_value
            metric_attributes[n.RETRYABLE] = classification.retryable
            span_attributes[n.ERROR_CLASS] = error_value
            span_attributes[n.RETRYABLE] = classification.retryable
            span_attributes[n.ERROR_TYPE] = classification.error_class.error_type
        if ended.status is not None:
            span_attributes[n.HTTP_RESPONSE_STATUS_CODE] = ended.status
            metric_attributes[n.HTTP_RESPONSE_STATUS_CODE] = ended.status
        if ended.wasted:
            metric_attributes[n.RETRY_WASTED] = True
        try:
            fault = self.record_attempt(ended, metric_attributes) or fault
        except Exception:
            fault = fault or report_internal_error("recording attempt metrics")
        if span is None:
            return
        if fault is not None:
            span_attributes[n.INTERNAL_ERROR] = fault
        try:
            if classification is not None:
                span.set_status(Status(StatusCode.ERROR, classification.error_class.value))
            span.set_attributes(span_attributes)
        except Exception:
            report_internal_error("enriching an attempt span")
        try:
            span.end(end_time=ended.wall_end)
        except Exception:
            report_internal_error("ending an attempt span")

    def call_ended(self, ended: CallEnded) -> None:
        """Record one ended call: its span's attributes and status, its metrics, then the span's end.

        Metrics before the span's end: whoever sees the span (an exporter, a test) sees the call
        counted, and an instrument that raised is named on the span.
        """
        fault = ended.internal_error
        outcome = ended.outcome
        classification = ended.classification
        summary = ended.summary
        span = ended.span
        recording = ended.recording
        error_type: str | None = None
        span_attributes: Attributes = {}
        calls_attributes = dict(ended.series.base)
        calls_attributes[n.OUTCOME] = outcome
        if ended.target.stream:
            calls_attributes[n.STREAM] = True
        if classification is not None:
            error_type = classification.error_class.error_type
            error_value = classification.error_class.value
            span_attributes[n.ERROR_CLASS] = error_value
            span_attributes[n.RETRYABLE] = classification.retryable
            calls_attributes[n.ERROR_CLASS] = error_value
            calls_attributes[n.RETRYABLE] = classification.retryable
        try:
            if summary is not None:
                if summary.finish_reasons:
                    first = summary.finish_reasons[0]
                    if first not in KNOWN_FINISH_REASONS:
                        first = self.limit_finish_reason(first)
                    calls_attributes[n.FINISH_REASON] = first
                if summary.soft_failure:
                    calls_attributes[n.SOFT_FAILURE] = summary.soft_failure
                if recording:
                    self.summary_span_attributes(summary, span_attributes)
            if ended.abandoned:
                calls_attributes[n.STREAM_ABANDONED] = True
            if ended.extra:
                span_attributes.update(ended.extra)
        except Exception:
            name = report_internal_error("summarizing a call")
            fault = fault or name
        if classification is not None and recording and ended.owns_span:
            span_attributes[n.ERROR_TYPE] = error_type
            try:
                span.set_status(Status(StatusCode.ERROR, classification.error_class.value))
                if ended.exception is not None:
                    add_exception_event(
                        span,
                        ended.exception,
                        ended.target.secrets,
                        classification,
                        capture_content=self.capture_content,
                    )
            except Exception:
                name = report_internal_error("recording a call failure")
                fault = fault or name
        if ended.gateway_hop_in_scope is not None:
            try:
                self.record_gateway_hop(
                    ended.target.request_model, ended.response_model, span_attributes, ended.gateway_hop_in_scope
                )
            except Exception:
                name = report_internal_error("recording a gateway hop")
                fault = fault or name
        try:
            recorded = self.record_call(ended, calls_attributes, error_type)
            fault = fault or recorded
        except Exception:
            name = report_internal_error("recording call metrics")
            fault = fault or name
        try:
            if recording:
                span_attributes[n.OUTCOME] = outcome
                span_attributes[n.ATTEMPT_COUNT] = ended.attempt_count
                span_attributes[n.RETRY_BACKOFF_TOTAL] = ended.backoff_total
                if ended.wasted_retries:
                    span_attributes[n.RETRY_WASTED_COUNT] = ended.wasted_retries
                if ended.first_chunk_at is not None:
                    span_attributes[n.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = ended.first_chunk_at - ended.start
                if fault is not None:
                    span_attributes[n.INTERNAL_ERROR] = fault
                if ended.owns_span:
                    span.set_attributes(span_attributes)
                elif span.is_recording():
                    # Only ``aierrors.*`` goes on another instrumentation's span: the rest is its own to set.
                    span.set_attributes({key: value for key, value in span_attributes.items() if is_own_attribute(key)})
        except Exception:
            report_internal_error("enriching a call span")
        if ended.owns_span:
            try:
                span.end(end_time=ended.wall_end)
            except Exception:
                report_internal_error("ending a call span")

    def record_call(self, ended: CallEnded, calls_attributes: Attributes, error_type: str | None) -> str | None:
        """The metric records of one ended call, in its span's context (so exemplars lead to the trace).

        Each instrument is guarded on its own; returns the class of the first exception met, if any.
        """
        fault = None
        try:
            self.instruments.calls.add(calls_attributes)
        except Exception:
            fault = report_internal_error("recording aierrors.calls")
        if ended.outcome == n.OUTCOME_CANCELLED or not ended.records_genai:
            return fault  # the gen_ai.* metrics belong to whoever owns the call span, or encloses its scope
        attributes = ended.series.genai
        if error_type is not None:
            attributes = {**attributes, n.ERROR_TYPE: error_type}
        return self.genai.record(ended, attributes, ended.end - ended.start, ended.summary) or fault

    def record_attempt(self, ended: AttemptEnded, metric_attributes: Attributes) -> str | None:
        """The metric records of one ended attempt, each guarded on its own.

        Returns the class of the first exception met, if any (plain try blocks: they cost
        nothing until one raises, and this runs on every attempt).
        """
        instruments = self.instruments
        base = ended.series.base
        fault = None
        try:
            instruments.attempts.add(metric_attributes)
        except Exception:
            fault = report_internal_error("recording aierrors.attempts")
        try:
            instruments.attempt_duration.record(ended.end - ended.start, metric_attributes, ended.context)
        except Exception:
            fault = fault or report_internal_error("recording aierrors.attempt.duration")
        if ended.number > 1:
            try:
                instruments.retry_backoff.add(base, ended.backoff)
            except Exception:
                fault = fault or report_internal_error("recording aierrors.retry.backoff")
        headers = ended.headers
        if headers is NO_HEADERS:
            return fault
        if headers.retry_after is not None:
            try:
                instruments.retry_after.record(max(0.0, headers.retry_after), base)
            except Exception:
                fault = fault or report_internal_error("recording aierrors.retry_after")
        if headers.remaining_requests is not None or headers.remaining_tokens is not None:
            try:
                self.record_ratelimit(ended.series, headers)
            except Exception:
                fault = fault or report_internal_error("recording the rate-limit budget")
        return fault


def header_attributes(headers: AttemptHeaders, attributes: Attributes) -> None:
    if headers is NO_HEADERS:
        return
    if headers.request_id is not None:
        attributes[n.REQUEST_ID] = headers.request_id
    if headers.retry_after is not None:
        attributes[n.RETRY_AFTER] = headers.retry_after
    if headers.should_retry is not None:
        attributes[n.SERVER_SHOULD_RETRY] = headers.should_retry
    if headers.remaining_requests is not None:
        attributes[n.RATELIMIT_REMAINING_REQUESTS] = headers.remaining_requests
    if headers.remaining_tokens is not None:
        attributes[n.RATELIMIT_REMAINING_TOKENS] = headers.remaining_tokens
    if headers.reset_requests is not None:
        attributes[n.RATELIMIT_RESET_REQUESTS] = headers.reset_requests
    if headers.reset_tokens is not None:
        attributes[n.RATELIMIT_RESET_TOKENS] = headers.reset_tokens


def provider_error_attributes(
    error: ProviderError, attributes: Attributes, secrets: tuple[str, ...], *, capture_content: bool = False
) -> None:
    """The provider's code, type, param and alternatives when they are identifiers;
    its free text (message, hint, did_you_mean) only with content capture on.

    Providers quote the request in their messages ("Invalid 'messages[0].content':
    '...'"), so the text is prompt content: off by default, redacted and cut when on.
    """
    code = exportable_token(error.code, secrets)
    if code is not None:
        attributes[n.PROVIDER_ERROR_CODE] = code
    error_type = exportable_token(error.type, secrets)
    if error_type is not None:
        attributes[n.PROVIDER_ERROR_TYPE] = error_type
    param = exportable_token(error.param, secrets)
    if param is not None:
        attributes[n.PROVIDER_ERROR_PARAM] = param
    alternatives = [exportable_token(alt, secrets, MAX_ALTERNATIVE_LENGTH) for alt in error.alternatives]
    if any(alternatives):
        attributes[n.PROVIDER_ALTERNATIVES] = tuple(alt for alt in alternatives if alt is not None)
    if not capture_content:
        return
    if error.message is not None:
        attributes[n.PROVIDER_ERROR_MESSAGE] = redact(error.message, secrets)
    if error.hint is not None:
        attributes[n.PROVIDER_HINT] = redact(error.hint, secrets)
    if error.did_you_mean is not None:
        attributes[n.PROVIDER_DID_YOU_MEAN] = redact(error.did_you_mean, secrets)


def add_exception_event(
    span: Span,
    exception: BaseException,
    secrets: tuple[str, ...],
    classification: Classification | None = None,
    *,
    capture_content: bool = False,
) -> None:
    """Record the exception like ``Span.record_exception`` would, without the provider's text.

    The SDK's own ``record_exception`` would export ``str(exc)`` verbatim: an
    ``AuthenticationError`` quotes the key the provider echoed, a 400 the
    prompt, an ``Illegal header value`` the raw header. The message is built
    from our own fields (error class, HTTP status, a provider code that is an
    identifier) unless content capture is on; then it is the exception's
    text, redacted and cut.
    """
    exception_type = type(exception)
    if capture_content:
        message = redact(str(exception), secrets)
    else:
        message = _exception_summary(exception, secrets, classification)
    span.add_event(
        "exception",
        {
            "exception.type": f"{exception_type.__module__}.{exception_type.__qualname__}"[:MAX_TEXT_LENGTH],
            "exception.message": message,
        },
    )


def _exception_summary(
    exception: BaseException, secrets: tuple[str, ...], classification: Classification | None
) -> str:
    """``error class auth, HTTP 401, code invalid_api_key``: our fields, never the provider's text."""
    parts: list[str] = []
    if classification is not None:
        parts.append(f"error class {classification.error_class.value}")
    status, body = error_facts(exception)
    if status is not None and 100 <= status <= 599:
        parts.append(f"HTTP {status}")
    code = parse_error_body(body).code if body is not None else None
    token = exportable_token(code, secrets)
    if token is not None:
        parts.append(f"code {token}")
    return ", ".join(parts) if parts else type(exception).__qualname__[:MAX_TEXT_LENGTH]
