"""Spans and metrics for one logical call and each of its HTTP attempts.

A `CallRecord` is opened when the application calls the SDK and closed when the
call returns, raises, or (for streams) when the stream ends. Every HTTP attempt
the SDK makes inside it, retries included, is an `AttemptRecord`: a child span
plus its metric records. The SDK patches decide *when* these happen; this
module decides *what* is recorded, under the names of `otel_aierrors._names`.

Everything here is on the hot path of every call: instruments are built once,
attribute dictionaries are built once per call and copied per record, and no
body is parsed unless the status says it is an error.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, NamedTuple, Protocol

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.metrics import Meter
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from otel_aierrors import _names as n
from otel_aierrors._cardinality import PortLimiter, ValueLimiter
from otel_aierrors._headers import NO_HEADERS, AttemptHeaders, read_headers
from otel_aierrors._redaction import MAX_TEXT_LENGTH, exportable_token, redact
from otel_aierrors._results import KNOWN_FINISH_REASONS, ResponseSummary
from otel_aierrors._taxonomy import (
    MAX_ALTERNATIVE_LENGTH,
    Classification,
    ErrorClass,
    ProviderError,
    classification_of,
    classify_code,
    classify_status,
    classify_transport_exception,
    parse_error_body,
)

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer

__all__ = ["AttemptRecord", "CallObserver", "CallRecord", "CallTarget", "Telemetry", "current_call"]

#: Bucket boundaries recommended by the GenAI semantic conventions.
DURATION_BUCKETS: Final = (
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
    5.12,
    10.24,
    20.48,
    40.96,
    81.92,
)
TOKEN_BUCKETS: Final = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip

Attributes = dict[str, AttributeValue]

#: Seconds between two settings of the rate-limit gauge for one series on success.
RATELIMIT_GAUGE_INTERVAL: Final = 1.0

#: The call whose HTTP attempts are being made in this context. The transport
#: hook reads it to know that a ``send`` is an attempt of an instrumented call.
_CURRENT_CALL: contextvars.ContextVar[CallRecord | None] = contextvars.ContextVar(
    "otel_aierrors_current_call", default=None
)


def current_call() -> CallRecord | None:
    return _CURRENT_CALL.get()


def enter_call(call: CallRecord) -> contextvars.Token[CallRecord | None]:
    return _CURRENT_CALL.set(call)


def exit_call(token: contextvars.Token[CallRecord | None]) -> None:
    _CURRENT_CALL.reset(token)


class CallObserver(Protocol):
    """Something that wants to see every call start and end in its context (fallback scopes)."""

    def call_started(self, call: CallRecord) -> Attributes: ...

    def call_ended(self, call: CallRecord) -> None: ...


#: Set by `otel_aierrors._fallback` (which builds on this module) when instrumentation
#: starts: records a gateway hop when a response names another model than requested.
GATEWAY_HOP_RECORDER: Callable[[CallRecord, CallObserver | None, Attributes], None] | None = None

#: Set by a fallback scope while it is open; None almost always.
CALL_OBSERVER: contextvars.ContextVar[CallObserver | None] = contextvars.ContextVar(
    "otel_aierrors_call_observer", default=None
)


class CallTarget(NamedTuple):
    """What is known about a call before it is sent (a NamedTuple: one is built per call)."""

    operation: str
    provider: str
    request_model: str | None
    server_address: str | None
    server_port: int | None
    stream: bool
    #: Exact strings to mask wherever they appear (the client's API key).
    secrets: tuple[str, ...] = ()
    #: The HTTP client the SDK sends through, to tell its attempts from other traffic.
    http_client: object | None = None


class _Instruments:
    """The metric instruments, created once per instrumentation."""

    def __init__(self, meter: Meter) -> None:
        self.operation_duration = meter.create_histogram(
            n.METRIC_OPERATION_DURATION,
            unit="s",
            description="Duration of a GenAI operation, retries and backoff included.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.token_usage = meter.create_histogram(
            n.METRIC_TOKEN_USAGE,
            unit="{token}",
            description="Tokens used per GenAI operation, by token type.",
            explicit_bucket_boundaries_advisory=TOKEN_BUCKETS,
        )
        self.time_to_first_chunk = meter.create_histogram(
            n.METRIC_TIME_TO_FIRST_CHUNK,
            unit="s",
            description="Time from the call to the first chunk of a streamed response.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.calls = meter.create_counter(
            n.METRIC_CALLS, unit="{call}", description="Logical SDK calls, by final outcome and error class."
        )
        self.attempts = meter.create_counter(
            n.METRIC_ATTEMPTS, unit="{attempt}", description="HTTP attempts, retries included, by outcome."
        )
        self.attempt_duration = meter.create_histogram(
            n.METRIC_ATTEMPT_DURATION,
            unit="s",
            description="Duration of one HTTP attempt, without the backoff before it.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.retry_backoff = meter.create_histogram(
            n.METRIC_RETRY_BACKOFF,
            unit="s",
            description="Time waited before a retry.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.retry_after = meter.create_histogram(
            n.METRIC_RETRY_AFTER,
            unit="s",
            description="Delay the server asked for in Retry-After / retry-after-ms.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.ratelimit_remaining = meter.create_gauge(
            n.METRIC_RATELIMIT_REMAINING,
            unit="{request_or_token}",
            description="Remaining rate-limit budget reported by the server, by kind.",
        )
        self.fallback_hops = meter.create_counter(
            n.METRIC_FALLBACK_HOPS,
            unit="{hop}",
            description="Fallback hops from one model or provider to another.",
        )


class Telemetry:
    """The tracer, the instruments and the cardinality limits of one instrumentation."""

    def __init__(self, tracer: Tracer, meter: Meter) -> None:
        self.tracer = tracer
        self.instruments = _Instruments(meter)
        #: Requested and served models have separate budgets: a gateway answering
        #: with random model names must not push real requested models to ``_other``.
        self.limit_model = ValueLimiter()
        self.limit_response_model = ValueLimiter()
        self.limit_server = ValueLimiter()
        #: ``server.port`` on metrics: call ``limit_server_port(limited_address, port)``.
        self.limit_server_port = PortLimiter()
        self.limit_operation = ValueLimiter(limit=32)
        self.limit_finish_reason = ValueLimiter(limit=16)
        #: When the rate-limit gauge was last set, per (operation, model, server) series.
        self._ratelimit_recorded_at: dict[tuple[AttributeValue, ...], float] = {}

    def record_ratelimit(self, base: Mapping[str, AttributeValue], headers: AttemptHeaders, now: float) -> None:
        """Set the remaining-budget gauge, at most once per second per series.

        A gauge exports only its last value, so setting it on every attempt
        costs two metric records per attempt for nothing; an exhausted budget
        is always recorded at once.
        """
        key = (base[n.GEN_AI_OPERATION_NAME], base[n.GEN_AI_REQUEST_MODEL], base[n.SERVER_ADDRESS])
        exhausted = headers.remaining_requests == 0 or headers.remaining_tokens == 0
        last = self._ratelimit_recorded_at.get(key)
        if not exhausted and last is not None and now - last < RATELIMIT_GAUGE_INTERVAL:
            return
        self._ratelimit_recorded_at[key] = now
        gauge = self.instruments.ratelimit_remaining
        if headers.remaining_requests is not None:
            gauge.set(headers.remaining_requests, {**base, n.RATELIMIT_KIND: "requests"})
        if headers.remaining_tokens is not None:
            gauge.set(headers.remaining_tokens, {**base, n.RATELIMIT_KIND: "tokens"})

    def start_call(self, target: CallTarget) -> CallRecord:
        return CallRecord(self, target)


class CallRecord:
    """One logical SDK call: its span, its attempts and its final outcome."""

    __slots__ = (
        "_ended",
        "_metric_attributes",
        "_observer",
        "attempt_count",
        "backoff_total",
        "error_class",
        "first_chunk_at",
        "last_attempt_end",
        "last_classification",
        "last_provider_error",
        "outcome",
        "response_model",
        "span",
        "span_context",
        "start",
        "target",
        "telemetry",
        "wasted_retries",
    )

    def __init__(self, telemetry: Telemetry, target: CallTarget) -> None:
        self.telemetry = telemetry
        self.target = target
        attributes: Attributes = {
            n.GEN_AI_OPERATION_NAME: target.operation,
            n.GEN_AI_PROVIDER_NAME: target.provider,
        }
        if target.request_model:
            attributes[n.GEN_AI_REQUEST_MODEL] = target.request_model
        if target.server_address:
            attributes[n.SERVER_ADDRESS] = target.server_address
        if target.server_port:
            attributes[n.SERVER_PORT] = target.server_port
        if target.stream:
            attributes[n.STREAM] = True
        self._observer = CALL_OBSERVER.get()
        if self._observer is not None:
            attributes.update(self._observer.call_started(self))
        name = f"{target.operation} {target.request_model}" if target.request_model else target.operation
        self.span: Span = telemetry.tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)
        self.span_context = trace.set_span_in_context(self.span)
        self._metric_attributes: Attributes = {
            n.GEN_AI_OPERATION_NAME: telemetry.limit_operation(target.operation),
            n.GEN_AI_PROVIDER_NAME: target.provider,
            n.GEN_AI_REQUEST_MODEL: telemetry.limit_model(target.request_model or "unknown"),
            n.SERVER_ADDRESS: telemetry.limit_server(target.server_address or "unknown"),
        }
        self.start = time.perf_counter()
        self.attempt_count = 0
        self.backoff_total = 0.0
        self.wasted_retries = 0
        self.last_attempt_end: float | None = None
        self.last_classification: Classification | None = None
        self.last_provider_error: ProviderError | None = None
        self.first_chunk_at: float | None = None
        self.outcome: str | None = None
        self.error_class: ErrorClass | None = None
        self.response_model: str | None = None
        self._ended = False

    @property
    def metric_attributes(self) -> Mapping[str, AttributeValue]:
        return self._metric_attributes

    @property
    def ended(self) -> bool:
        return self._ended

    # --- attempts ----------------------------------------------------------
    def start_attempt(self, method: str, resend_count: int | None) -> AttemptRecord:
        now = time.perf_counter()
        self.attempt_count += 1
        backoff = 0.0 if self.last_attempt_end is None else max(0.0, now - self.last_attempt_end)
        wasted = self.last_classification is not None and not self.last_classification.retryable
        if self.attempt_count > 1:
            self.backoff_total += backoff
            if wasted:
                self.wasted_retries += 1
        return AttemptRecord(self, method, self.attempt_count, now, backoff, resend_count, wasted)

    # --- ends ---------------------------------------------------------------
    def record_first_chunk(self) -> None:
        if self.first_chunk_at is None:
            self.first_chunk_at = time.perf_counter()

    def end_ok(self, summary: ResponseSummary | None, extra: Attributes | None = None, abandoned: bool = False) -> None:
        """End a call whose response arrived; the summary decides ok, soft failure or in-band failure."""
        if self._ended:
            return
        if summary is not None and summary.failed:
            self.end_error(classify_code(summary.failure_code, ErrorClass.SERVER_ERROR), None, extra, summary)
            return
        self._ended = True
        attributes = self._common_end_attributes()
        calls_attributes = dict(self._metric_attributes)
        soft = summary.soft_failure if summary is not None else None
        self.outcome = n.OUTCOME_SOFT_FAILURE if soft else n.OUTCOME_OK
        attributes[n.OUTCOME] = self.outcome
        calls_attributes[n.OUTCOME] = self.outcome
        if self.target.stream:
            calls_attributes[n.STREAM] = True
        if summary is not None:
            self._summary_attributes(summary, attributes, calls_attributes)
        if abandoned:
            calls_attributes[n.STREAM_ABANDONED] = True
        if extra:
            attributes.update(extra)
        self._finish(attributes, calls_attributes, None, summary)

    def end_error(
        self,
        classification: Classification,
        exception: BaseException | None,
        extra: Attributes | None = None,
        summary: ResponseSummary | None = None,
    ) -> None:
        """End a call that failed: the SDK raised, or a stream broke."""
        if self._ended:
            return
        self._ended = True
        self.outcome = n.OUTCOME_ERROR
        self.error_class = classification.error_class
        error_value = classification.error_class.value
        attributes = self._common_end_attributes()
        attributes[n.OUTCOME] = n.OUTCOME_ERROR
        attributes[n.ERROR_CLASS] = error_value
        attributes[n.RETRYABLE] = classification.retryable
        attributes[n.ERROR_TYPE] = error_value
        calls_attributes = dict(self._metric_attributes)
        calls_attributes[n.OUTCOME] = n.OUTCOME_ERROR
        calls_attributes[n.ERROR_CLASS] = error_value
        calls_attributes[n.RETRYABLE] = classification.retryable
        if self.target.stream:
            calls_attributes[n.STREAM] = True
        if summary is not None:
            self._summary_attributes(summary, attributes, calls_attributes)
        if extra:
            attributes.update(extra)
        if exception is not None:
            _add_exception_event(self.span, exception, self.target.secrets)
        self.span.set_status(Status(StatusCode.ERROR, error_value))
        self._finish(attributes, calls_attributes, error_value, summary)

    def end_with_exception(self, exception: BaseException) -> None:
        """End a call the SDK raised from, classified by what its attempts saw."""
        self.end_error(self.classify_exception(exception), exception)

    def classify_exception(self, exception: BaseException) -> Classification:
        status = getattr(exception, "status_code", None)
        if self.last_classification is not None and (status is not None or self._is_transport(exception)):
            return self.last_classification
        if isinstance(status, int):
            provider_error = parse_error_body(_body_of(exception))
            return classify_status(status, provider_error)
        if self._is_transport(exception):
            return classify_transport_exception(exception)
        return classification_of(ErrorClass.UNKNOWN)

    @staticmethod
    def _is_transport(exception: BaseException) -> bool:
        return classify_transport_exception(exception).error_class is not ErrorClass.UNKNOWN

    def _common_end_attributes(self) -> Attributes:
        attributes: Attributes = {
            n.ATTEMPT_COUNT: self.attempt_count,
            n.RETRY_BACKOFF_TOTAL: self.backoff_total,
        }
        if self.wasted_retries:
            attributes[n.RETRY_WASTED_COUNT] = self.wasted_retries
        return attributes

    def _summary_attributes(self, summary: ResponseSummary, span_attrs: Attributes, calls_attrs: Attributes) -> None:
        if summary.response_model:
            self.response_model = summary.response_model
            span_attrs[n.GEN_AI_RESPONSE_MODEL] = summary.response_model
        if summary.response_id:
            span_attrs[n.GEN_AI_RESPONSE_ID] = summary.response_id
        if summary.input_tokens is not None:
            span_attrs[n.GEN_AI_USAGE_INPUT_TOKENS] = summary.input_tokens
        if summary.output_tokens is not None:
            span_attrs[n.GEN_AI_USAGE_OUTPUT_TOKENS] = summary.output_tokens
        if summary.finish_reasons:
            span_attrs[n.GEN_AI_RESPONSE_FINISH_REASONS] = summary.finish_reasons
            first = summary.finish_reasons[0]
            if first not in KNOWN_FINISH_REASONS:
                first = self.telemetry.limit_finish_reason(first)
            calls_attrs[n.FINISH_REASON] = first
        if summary.soft_failure:
            span_attrs[n.SOFT_FAILURE] = summary.soft_failure
            calls_attrs[n.SOFT_FAILURE] = summary.soft_failure

    def _finish(
        self,
        span_attributes: Attributes,
        calls_attributes: Attributes,
        error_type: str | None,
        summary: ResponseSummary | None,
    ) -> None:
        end = time.perf_counter()
        instruments = self.telemetry.instruments
        if self.first_chunk_at is not None:
            ttfc = self.first_chunk_at - self.start
            span_attributes[n.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = ttfc
            instruments.time_to_first_chunk.record(ttfc, self._metric_attributes)
        if (
            self.response_model is not None
            and self.response_model != self.target.request_model
            and GATEWAY_HOP_RECORDER is not None
        ):
            GATEWAY_HOP_RECORDER(self, self._observer, span_attributes)
        self.span.set_attributes(span_attributes)
        self.span.end()
        # In the span's context, so that exemplars lead from a metric to this trace.
        context = self.span_context
        instruments.calls.add(1, calls_attributes, context)
        duration_attributes = self._metric_attributes
        if error_type is not None or self.target.server_port:
            duration_attributes = dict(duration_attributes)
            if self.target.server_port:
                duration_attributes[n.SERVER_PORT] = self.target.server_port
            if error_type is not None:
                duration_attributes[n.ERROR_TYPE] = error_type
        instruments.operation_duration.record(end - self.start, duration_attributes, context)
        if summary is not None:
            if summary.input_tokens is not None:
                instruments.token_usage.record(
                    summary.input_tokens, {**self._metric_attributes, n.GEN_AI_TOKEN_TYPE: "input"}
                )
            if summary.output_tokens is not None:
                instruments.token_usage.record(
                    summary.output_tokens, {**self._metric_attributes, n.GEN_AI_TOKEN_TYPE: "output"}
                )
        if self._observer is not None:
            self._observer.call_ended(self)


class AttemptRecord:
    """One HTTP attempt of a call: a child span and its metric records."""

    __slots__ = ("backoff", "call", "context", "number", "span", "start", "wasted")

    def __init__(
        self,
        call: CallRecord,
        method: str,
        number: int,
        start: float,
        backoff: float,
        resend_count: int | None,
        wasted: bool,
    ) -> None:
        self.call = call
        self.number = number
        self.start = start
        self.backoff = backoff
        self.wasted = wasted
        attributes: Attributes = {
            n.ATTEMPT_NUMBER: number,
            n.HTTP_REQUEST_METHOD: method,
            n.GEN_AI_OPERATION_NAME: call.target.operation,
        }
        if call.target.server_address:
            attributes[n.SERVER_ADDRESS] = call.target.server_address
        if call.target.server_port:
            attributes[n.SERVER_PORT] = call.target.server_port
        if resend_count:
            attributes[n.HTTP_REQUEST_RESEND_COUNT] = resend_count
        if number > 1:
            attributes[n.ATTEMPT_BACKOFF] = backoff
        if wasted:
            attributes[n.RETRY_WASTED] = True
        self.span: Span = call.telemetry.tracer.start_span(
            f"{method} {call.target.operation}",
            context=call.span_context,
            kind=SpanKind.CLIENT,
            attributes=attributes,
        )
        self.context = trace.set_span_in_context(self.span, call.span_context)

    def activate(self) -> object:
        """Make the attempt span current, so HTTP-level instrumentations nest under it."""
        return otel_context.attach(self.context)

    @staticmethod
    def deactivate(token: object) -> None:
        otel_context.detach(token)  # type: ignore[arg-type]

    def end_response(self, status: int, lowered_headers: Iterable[tuple[bytes, bytes]], body: bytes | None) -> None:
        """End the attempt with the response the server sent."""
        end = time.perf_counter()
        is_error = status >= 400
        headers = read_headers(lowered_headers, with_retry_after=is_error)
        attributes: Attributes = {n.HTTP_RESPONSE_STATUS_CODE: status}
        _header_attributes(headers, attributes)
        classification = None
        if is_error:
            provider_error = parse_error_body(body)
            classification = classify_status(status, provider_error, headers.should_retry)
            if headers.retry_after is None and provider_error.retry_after is not None:
                headers = _with_retry_after(headers, provider_error.retry_after)
                attributes[n.RETRY_AFTER] = provider_error.retry_after
            _provider_error_attributes(provider_error, attributes, self.call.target.secrets)
            self.call.last_provider_error = provider_error
        self._end(end, attributes, classification, status, headers)

    def end_exception(self, exception: BaseException) -> None:
        """End the attempt with the exception raised before any response arrived."""
        end = time.perf_counter()
        classification = classify_transport_exception(exception)
        _add_exception_event(self.span, exception, self.call.target.secrets)
        self._end(end, {}, classification, None, NO_HEADERS)

    def _end(
        self,
        end: float,
        attributes: Attributes,
        classification: Classification | None,
        status: int | None,
        headers: AttemptHeaders,
    ) -> None:
        call = self.call
        call.last_attempt_end = end
        call.last_classification = classification
        metric_attributes = dict(call.metric_attributes)
        if classification is None:
            metric_attributes[n.OUTCOME] = n.OUTCOME_OK
        else:
            error_value = classification.error_class.value
            attributes[n.ERROR_CLASS] = error_value
            attributes[n.RETRYABLE] = classification.retryable
            attributes[n.ERROR_TYPE] = error_value
            self.span.set_status(Status(StatusCode.ERROR, error_value))
            metric_attributes[n.OUTCOME] = n.OUTCOME_ERROR
            metric_attributes[n.ERROR_CLASS] = error_value
            metric_attributes[n.RETRYABLE] = classification.retryable
        if status is not None:
            metric_attributes[n.HTTP_RESPONSE_STATUS_CODE] = status
        if self.wasted:
            metric_attributes[n.RETRY_WASTED] = True
        self.span.set_attributes(attributes)
        self.span.end()
        instruments = call.telemetry.instruments
        instruments.attempts.add(1, metric_attributes, self.context)
        instruments.attempt_duration.record(end - self.start, metric_attributes, self.context)
        base = call.metric_attributes
        if self.number > 1:
            instruments.retry_backoff.record(self.backoff, base)
        if headers.retry_after is not None:
            instruments.retry_after.record(max(0.0, headers.retry_after), base)
        if headers.remaining_requests is not None or headers.remaining_tokens is not None:
            call.telemetry.record_ratelimit(base, headers, end)


def _header_attributes(headers: AttemptHeaders, attributes: Attributes) -> None:
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


def _with_retry_after(headers: AttemptHeaders, seconds: float) -> AttemptHeaders:
    return headers._replace(retry_after=seconds)


def _provider_error_attributes(
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


def _add_exception_event(
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
    status = getattr(exception, "status_code", None)
    if isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 599:
        parts.append(f"HTTP {status}")
    code = getattr(exception, "code", None)
    token = exportable_token(code, secrets) if isinstance(code, str) else None
    if token is not None:
        parts.append(f"code {token}")
    return ", ".join(parts) if parts else type(exception).__qualname__[:MAX_TEXT_LENGTH]


def _body_of(exception: BaseException) -> Any:
    body = getattr(exception, "body", None)
    if body is not None:
        return {"error": body} if isinstance(body, Mapping) and "error" not in body else body
    response = getattr(exception, "response", None)
    content = getattr(response, "content", None) if response is not None else None
    return content if isinstance(content, (bytes, str)) else None
