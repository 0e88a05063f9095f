"""One HTTP attempt of a call: a child span of the call, and what happened to it.

Every ``send`` the SDK makes inside an instrumented call is an attempt, its
own retries included. When it ends, what happened (status, headers read once,
the error body, the classification, times) is gathered into one immutable
`AttemptEnded`, kept as `AttemptRecord.ended` (its call reads it when it starts
the next attempt or ends) and handed to the recorder (`Telemetry.attempt_ended`),
which makes the span attributes, the metric records and ends the span. An
attempt of a call whose span is not recorded makes no span and builds no span
attribute; its metrics are recorded all the same.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from opentelemetry import trace
from opentelemetry.trace import SpanKind

from otel_aierrors import _names as n
from otel_aierrors._headers import NO_HEADERS, read_headers
from otel_aierrors._provider_errors import EMPTY_PROVIDER_ERROR, ProviderError, parse_error_body
from otel_aierrors._recording import AttemptEnded, Attributes
from otel_aierrors._safety import report_internal_error
from otel_aierrors._taxonomy import UNCLASSIFIED, Classification, classify, is_cancellation

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Span

    from otel_aierrors._headers import AttemptHeaders
    from otel_aierrors._recording import Telemetry
    from otel_aierrors._target import CallSeries, CallTarget

__all__ = ["AttemptOwner", "AttemptRecord"]


class AttemptOwner(Protocol):
    """What an attempt reads of its call (`otel_aierrors._call.CallRecord` is one); it tells the call nothing.

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


class AttemptRecord:
    """One HTTP attempt of a call: a child span (when the call records) and its metric records."""

    __slots__ = ("backoff", "call", "context", "ended", "number", "span", "start", "wasted")

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
        #: What happened to the attempt, once it ended (None before, or if ending it raised).
        self.ended: AttemptEnded | None = None
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
        provider_error: ProviderError | None = None
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
            except Exception:
                fault = fault or report_internal_error("reading an attempt's provider error")
        # A response is ok below 400; else (no status included) classified, so an error.
        outcome = n.OUTCOME_OK if classification is None else n.OUTCOME_ERROR
        self._end(
            end, wall_end, status, headers, provider_error, classification, outcome, None, body is not None, fault
        )

    def end_exception(self, exception: BaseException) -> None:
        """End the attempt with the exception raised before any response arrived."""
        end, wall_end = time.perf_counter(), time.time_ns()
        if is_cancellation(exception):
            self._end(end, wall_end, None, NO_HEADERS, None, None, n.OUTCOME_CANCELLED, None, False, None)
            return
        fault: str | None = None
        try:
            classification = classify(exception=exception)
        except Exception:
            fault = report_internal_error("classifying an attempt's exception")
            classification = UNCLASSIFIED
        self._end(end, wall_end, None, NO_HEADERS, None, classification, n.OUTCOME_ERROR, exception, False, fault)

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
        status: int | None,
        headers: AttemptHeaders,
        provider_error: ProviderError | None,
        classification: Classification | None,
        outcome: str,
        exception: BaseException | None,
        read_body: bool,
        fault: str | None,
    ) -> None:
        """Gather what happened into the attempt's end record, keep it for the call, hand it to the recorder."""
        call = self.call
        ended = AttemptEnded(  # positional: a NamedTuple built from keywords costs twice as much
            self.span,  # span
            self.context,  # context
            call.series,  # series
            call.target,  # target
            self.number,  # number
            self.start,  # start
            end,  # end
            wall_end,  # wall_end
            self.backoff,  # backoff
            self.wasted,  # wasted
            status,  # status
            headers,  # headers
            provider_error,  # provider_error
            read_body,  # read_body
            classification,  # classification
            outcome,  # outcome
            exception,  # exception
            fault,  # fault
        )
        # The call reads this record until it ends, and the last call ended lives on in its
        # context (`otel_aierrors.reject` reads it): keep no exception past the recorder, whose
        # traceback holds the SDK's frames and the request they sent.
        self.ended = ended if exception is None else ended._replace(exception=None)
        call.telemetry.attempt_ended(ended)
