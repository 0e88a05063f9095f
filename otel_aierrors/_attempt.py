"""One HTTP attempt of a call: a child span of the call and its metric records.

Every ``send`` the SDK makes inside an instrumented call is an attempt, its
own retries included. An attempt of a call whose span is not recorded makes
no span and builds no span attribute; its metrics are recorded all the same.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from otel_aierrors import _names as n
from otel_aierrors._headers import NO_HEADERS, AttemptHeaders, read_headers
from otel_aierrors._provider_errors import EMPTY_PROVIDER_ERROR, parse_error_body
from otel_aierrors._recording import Attributes, add_exception_event, header_attributes, provider_error_attributes
from otel_aierrors._safety import report_internal_error
from otel_aierrors._taxonomy import UNCLASSIFIED, Classification, classify, is_cancellation

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Span

    from otel_aierrors._recording import Telemetry
    from otel_aierrors._target import CallSeries, CallTarget

__all__ = ["AttemptOwner", "AttemptRecord"]


class AttemptOwner(Protocol):
    """What an attempt reads of its call, and tells it (`otel_aierrors._call.CallRecord` is one).

    A protocol: the call creates its attempts, so this module is below it and does not import it.
    """

    @property
    def telemetry(self) -> Telemetry: ...
    @property
    def target(self) -> CallTarget: ...
    @property
    def series(self) -> CallSeries: ...
    @property
    def span_context(self) -> Context: ...
    @property
    def recording(self) -> bool: ...

    def attempt_ended(self, classification: Classification | None, end: float, read_body: bool) -> None: ...


class AttemptRecord:
    """One HTTP attempt of a call: a child span (when the call records) and its metric records."""

    __slots__ = ("backoff", "call", "context", "number", "span", "start", "wasted")

    def __init__(
        self,
        call: AttemptOwner,
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
        self.span: Span | None = None
        self.context: Context = call.span_context
        if not call.recording:
            return
        target = call.target
        attributes: Attributes = {
            n.ATTEMPT_NUMBER: number,
            n.HTTP_REQUEST_METHOD: method,
            n.GEN_AI_OPERATION_NAME: target.operation,
        }
        if target.server_address:
            attributes[n.SERVER_ADDRESS] = target.server_address
        if target.server_port:
            attributes[n.SERVER_PORT] = target.server_port
        if resend_count:
            attributes[n.HTTP_REQUEST_RESEND_COUNT] = resend_count
        if number > 1:
            attributes[n.ATTEMPT_BACKOFF] = backoff
        if wasted:
            attributes[n.RETRY_WASTED] = True
        self.span = call.telemetry.tracer.start_span(
            f"{method} {target.operation}", context=call.span_context, kind=SpanKind.CLIENT, attributes=attributes
        )
        self.context = trace.set_span_in_context(self.span, call.span_context)

    def activate(self) -> object | None:
        """Make the attempt span current, so HTTP-level instrumentations nest under it."""
        return otel_context.attach(self.context) if self.span is not None else None

    @staticmethod
    def deactivate(token: object | None) -> None:
        if token is not None:
            otel_context.detach(token)  # type: ignore[arg-type]

    def end_response(
        self,
        status: int | None,
        lowered_headers: Iterable[tuple[bytes, bytes]],
        body: bytes | None,
        fault: str | None = None,
    ) -> None:
        """End the attempt with the response the server sent (``body`` only if already in memory).

        ``status`` is None, and ``fault`` the exception's class, when reading the response
        itself failed. Each step below is guarded on its own: whatever raises, the span ends.
        """
        end, wall_end = time.perf_counter(), time.time_ns()
        classification: Classification | None = None
        headers = NO_HEADERS
        span_attributes: Attributes = {}
        is_error = status is None or status >= 400
        try:
            headers = read_headers(lowered_headers, with_retry_after=is_error)
        except Exception:
            fault = fault or report_internal_error("reading an attempt's headers")
        if is_error:
            provider_error = EMPTY_PROVIDER_ERROR
            try:
                provider_error = parse_error_body(body)
            except Exception:
                fault = fault or report_internal_error("reading an attempt's error body")
            try:
                classification = classify(
                    status=status, provider_error=provider_error, should_retry=headers.should_retry
                )
            except Exception:
                fault = fault or report_internal_error("classifying an attempt")
                classification = UNCLASSIFIED
            try:
                if headers.retry_after is None and provider_error.retry_after is not None:
                    headers = headers._replace(retry_after=provider_error.retry_after)
                if self.span is not None:
                    provider_error_attributes(
                        provider_error,
                        span_attributes,
                        self.call.target.secrets,
                        capture_content=self.call.telemetry.capture_content,
                    )
            except Exception:
                fault = fault or report_internal_error("reading an attempt's provider error")
        if self.span is not None:
            try:
                header_attributes(headers, span_attributes)
            except Exception:
                fault = fault or report_internal_error("reading an attempt's headers")
        self._end(
            end, wall_end, span_attributes, classification, status, headers, n.OUTCOME_ERROR, body is not None, fault
        )

    def end_exception(self, exception: BaseException) -> None:
        """End the attempt with the exception raised before any response arrived."""
        end, wall_end = time.perf_counter(), time.time_ns()
        if is_cancellation(exception):
            self._end(end, wall_end, {}, None, None, NO_HEADERS, n.OUTCOME_CANCELLED, False, None)
            return
        fault: str | None = None
        try:
            classification = classify(exception=exception)
        except Exception:
            fault = report_internal_error("classifying an attempt's exception")
            classification = UNCLASSIFIED
        if self.span is not None:
            try:
                add_exception_event(
                    self.span,
                    exception,
                    self.call.target.secrets,
                    classification,
                    capture_content=self.call.telemetry.capture_content,
                )
            except Exception:
                fault = fault or report_internal_error("recording an attempt's exception")
        self._end(end, wall_end, {}, classification, None, NO_HEADERS, n.OUTCOME_ERROR, False, fault)

    def abort(self, fault: str) -> None:
        """The last resort when ending the attempt itself raised: end its span if still open."""
        span = self.span
        try:
            if span is not None and span.is_recording():
                span.set_attribute(n.INTERNAL_ERROR, fault)
                span.end()
        except Exception:
            report_internal_error("ending an attempt span")

    def _end(
        self,
        end: float,
        wall_end: int,
        span_attributes: Attributes,
        classification: Classification | None,
        status: int | None,
        headers: AttemptHeaders,
        outcome_if_not_ok: str,
        read_body: bool,
        fault: str | None,
    ) -> None:
        """Record the attempt's metrics, then end its span (with any internal error met on the way)."""
        call = self.call
        call.attempt_ended(classification, end, read_body)
        metric_attributes = dict(call.series.base)
        if classification is None:
            metric_attributes[n.OUTCOME] = n.OUTCOME_OK if status is not None else outcome_if_not_ok
        else:
            error_value = classification.error_class.value
            metric_attributes[n.OUTCOME] = n.OUTCOME_ERROR
            metric_attributes[n.ERROR_CLASS] = error_value
            metric_attributes[n.RETRYABLE] = classification.retryable
            span_attributes[n.ERROR_CLASS] = error_value
            span_attributes[n.RETRYABLE] = classification.retryable
            span_attributes[n.ERROR_TYPE] = classification.error_class.error_type
        if status is not None:
            span_attributes[n.HTTP_RESPONSE_STATUS_CODE] = status
            metric_attributes[n.HTTP_RESPONSE_STATUS_CODE] = status
        if self.wasted:
            metric_attributes[n.RETRY_WASTED] = True
        # Metrics first: an instrument that raises is named on the span.
        fault = call.telemetry.record_attempt(self, metric_attributes, end, headers) or fault
        span = self.span
        if span is None:
            return
        if fault is not None:
            span_attributes[n.INTERNAL_ERROR] = fault
        # Plain try blocks, not `swallow`: this runs on every attempt.
        try:
            if classification is not None:
                span.set_status(Status(StatusCode.ERROR, classification.error_class.value))
            span.set_attributes(span_attributes)
        except Exception:
            report_internal_error("enriching an attempt span")
        try:
            span.end(end_time=wall_end)
        except Exception:
            report_internal_error("ending an attempt span")
