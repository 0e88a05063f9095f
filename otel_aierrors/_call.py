"""One logical SDK call: its CLIENT span, its attempts, its outcome and its metrics.

A `CallRecord` opens when the application calls the SDK and closes when the
call returns, raises, is cancelled, or (for streams and raw responses) when
the caller is done with what it got. It decides the outcome (the verdict is
`otel_aierrors._taxonomy.call_verdict`), gathers what happened into one
immutable `CallEnded` and hands it to the recorder (`Telemetry.call_ended`),
which makes the span attributes and metric records and ends the span; nothing
flows back. Its attempts keep their own end record (`AttemptRecord.ended`),
which the call reads when it starts the next attempt or ends. Ending the span
and counting the call never depend on the optional enrichment before them: an
internal error there is reported and the call is still ended and counted.

When the call's span is not recorded (the sampler dropped it), no span
attribute is built beyond what the sampler saw at the start; the metrics are
recorded for every call.

Who is told of a call lives here too: the innermost scope observing the calls
of this context (`CallObserver`: fallback scopes, application retries), and
the last call that ended in it (for `otel_aierrors.reject`). A call reads the
one and sets the other on every call; the call in progress itself, which the
transport hook reads, is in `otel_aierrors._context`.
"""

from __future__ import annotations

import contextvars
import time
import weakref
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind

from otel_aierrors import _names as n
from otel_aierrors._attempt import AttemptRecord
from otel_aierrors._coexistence import host_call_span, is_own_attribute
from otel_aierrors._hops import is_gateway_hop
from otel_aierrors._provider_errors import EMPTY_PROVIDER_ERROR, ProviderError, parse_error_body
from otel_aierrors._recording import Attributes, CallEnded, Telemetry
from otel_aierrors._results import ResponseSummary
from otel_aierrors._safety import report_internal_error, swallow
from otel_aierrors._taxonomy import UNCLASSIFIED, Classification, ErrorClass, call_verdict

if TYPE_CHECKING:
    from collections.abc import Callable

    from opentelemetry.trace import Span

    from otel_aierrors._jobs import JobVerdict
    from otel_aierrors._target import CallTarget

__all__ = [
    "CallObserver",
    "CallRecord",
    "current_observer",
    "last_ended_call",
    "observe",
    "stop_observing",
]


class CallObserver(Protocol):
    """A scope that sees every call started in its context (fallback scopes, application retries)."""

    def call_started(self, call: CallRecord) -> Attributes:
        """Attributes the scope adds to the call span (the hop, the application's attempt)."""

    def parent_context(self, call: CallRecord) -> Context | None:
        """The context to start the call span in: the scope's own span, opened when first needed."""

    def is_later_hop(self, call: CallRecord) -> bool:
        """Whether the call replaces an earlier call of a fallback scope."""

    def call_ended(self, call: CallRecord) -> None:
        """The call ended (its outcome and error class are set)."""


# Context variables, so that threads and asyncio tasks each see their own; here, beside the
# call that reads and sets them (a call reads the first and sets the second on every call).
#: The innermost scope open in this context; None almost always.
_OBSERVER: contextvars.ContextVar[CallObserver | None] = contextvars.ContextVar(
    "otel_aierrors_call_observer", default=None
)
#: The last call that ended in this context, for `otel_aierrors.reject` (its span has ended by then).
_LAST_ENDED: contextvars.ContextVar[CallRecord | None] = contextvars.ContextVar(
    "otel_aierrors_last_ended_call", default=None
)


def observe(observer: CallObserver | None) -> tuple[CallObserver | None, contextvars.Token[CallObserver | None]]:
    """Make ``observer`` see the calls of this context; returns (the outer observer, the reset token)."""
    return _OBSERVER.get(), _OBSERVER.set(observer)


def stop_observing(token: contextvars.Token[CallObserver | None]) -> None:
    _OBSERVER.reset(token)


def current_observer() -> CallObserver | None:
    return _OBSERVER.get()


def last_ended_call() -> CallRecord | None:
    return _LAST_ENDED.get()


class CallRecord:
    """One logical SDK call: its span, its attempts and its final outcome."""

    __slots__ = (
        "_observer",
        "_raised",
        "attempt_count",
        "backoff_total",
        "ended",
        "error_class",
        "first_chunk_at",
        "internal_error",
        "last_attempt",
        "outcome",
        "owns_span",
        "recording",
        "records_genai",
        "rejection",
        "response_id",
        "response_model",
        "series",
        "span",
        "span_context",
        "start",
        "stream_chunks",
        "target",
        "telemetry",
        "wasted_retries",
    )

    def __init__(self, telemetry: Telemetry, target: CallTarget) -> None:
        # What the instrumentation left for its next call: an attribute check each when there is none.
        if telemetry.auto_setup.pending:
            telemetry.auto_setup.ensure_configured()  # before the span: the tracer binds to what it sets up
        if telemetry.handoff.queued:
            telemetry.handoff.drain()  # end the calls of streams dropped since
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
            attributes[n.GEN_AI_REQUEST_STREAM] = True
        if target.parameters:
            attributes.update(target.parameters)  # at the start: one attribute set, not two
        parent: Context | None = None
        observer = self._observer = _OBSERVER.get()
        if observer is not None:
            with swallow("reporting a call to its scope"):
                attributes.update(observer.call_started(self))
                parent = observer.parent_context(self)
        current = otel_context.get_current()  # read once: the coexistence check, the span's parent, its context
        if parent is None:
            parent = current
        host = host_call_span(telemetry.call_spans, current)
        enclosed = host is not None and observer is not None and _encloses_scope(host, observer)
        if enclosed:
            # The other span was already current when the scope began: it covers the
            # whole scope (pydantic-ai's ``chat`` span around a FallbackModel's hops),
            # not this one call, so the call gets a span of its own under the scope's.
            host = None
        #: Whether the call span is this package's (else another instrumentation's, see `_coexistence`).
        self.owns_span = host is None
        #: Whether this call records the ``gen_ai.*`` metrics: not when another instrumentation's
        #: span is its call span, or encloses its scope (that instrumentation records them).
        self.records_genai = self.owns_span and not enclosed
        if host is None:
            name = f"{target.operation} {target.request_model}" if target.request_model else target.operation
            host = telemetry.tracer.start_span(name, context=parent, kind=SpanKind.CLIENT, attributes=attributes)
        self.span: Span = host
        if not self.owns_span:
            parent = current  # the attempts nest under the other instrumentation's span, current now
            self._attributes_on_host(attributes)
        self.recording = self.span.is_recording()
        self.span_context = trace.set_span_in_context(self.span, parent)
        #: The bounded metric attributes of this call's target, shared with every call to it (never mutated).
        self.series = telemetry.call_series(target)
        self.start = time.perf_counter()
        self.attempt_count = 0
        self.backoff_total = 0.0
        self.wasted_retries = 0
        #: The call's latest attempt: its end record tells the next attempt's backoff and the call's verdict.
        self.last_attempt: AttemptRecord | None = None
        self.first_chunk_at: float | None = None
        self.stream_chunks = 0
        self.outcome: str | None = None
        self.error_class: ErrorClass | None = None
        self.response_model: str | None = None
        self.response_id: str | None = None
        #: The reason the application rejected this call's answer (`otel_aierrors.reject`), if it did.
        self.rejection: str | None = None
        #: The exception the SDK raised from this call, held weakly (see `exception_id`).
        self._raised: Callable[[], BaseException | None] | None = None
        #: The class of the first exception raised inside the instrumentation on the call's end path.
        self.internal_error: str | None = None
        #: Whether the call has ended: set by the call itself, read by its hooks (an attribute,
        #: not a property: the transport reads it on every attempt).
        self.ended = False

    @property
    def exception_id(self) -> int | None:
        """``id()`` of the exception the SDK raised from this call while it lives, so a scope can tell
        which of its calls an exception came from; None once it is freed (a new exception may then
        get its address, and must not be taken for this call's)."""
        raised = self._raised() if self._raised is not None else None
        return None if raised is None else id(raised)

    def fault(self, where: str) -> None:
        """Report the exception being handled; its class goes on the call span (``aierrors.internal_error``)."""
        name = report_internal_error(where)
        if self.internal_error is None:
            self.internal_error = name

    def abort(self, where: str) -> None:
        """The last resort when ending the call itself raised: end its span if still open, never raise."""
        self.fault(where)
        self.ended = True
        try:
            if self.owns_span and self.span.is_recording():
                self.span.set_attribute(n.INTERNAL_ERROR, self.internal_error or "")
                self.span.end()
        except Exception:
            report_internal_error("ending a call span")

    # --- attempts ----------------------------------------------------------
    def start_attempt(self, method: str, resend_count: int | None) -> AttemptRecord:
        now = time.perf_counter()
        self.attempt_count += 1
        previous = self.last_attempt.ended if self.last_attempt is not None else None
        backoff = 0.0
        wasted = False
        if previous is not None:
            backoff = max(0.0, now - previous.end)
            wasted = previous.classification is not None and not previous.classification.retryable
            if self.attempt_count > 1:
                self.backoff_total += backoff
                if wasted:
                    self.wasted_retries += 1
        attempt = self.last_attempt = AttemptRecord(
            self, method, self.attempt_count, now, backoff, resend_count, wasted
        )
        return attempt

    def first_chunk(self) -> None:
        """A stream's first chunk arrived (the stream counts the rest, see `streamed`)."""
        if self.first_chunk_at is None:
            self.first_chunk_at = time.perf_counter()

    def streamed(self, chunks: int) -> None:
        """How many chunks the stream delivered, told before the call ends."""
        self.stream_chunks = chunks

    # --- ends ---------------------------------------------------------------
    def end(
        self,
        summary: ResponseSummary | None,
        extra: Attributes | None = None,
        *,
        abandoned: bool = False,
        end_time: float | None = None,
        end_wall_ns: int | None = None,
    ) -> None:
        """End a call whose response arrived; the summary decides ok, soft failure or in-band failure.

        ``end_time`` (perf counter) and ``end_wall_ns`` (``time.time_ns()``) are when the call
        ended, if not now: a raw response parsed later, a stream the application dropped.
        """
        if self.ended:
            return
        job = self._job(summary) if summary is not None and summary.job_kind is not None else None
        if job is not None:
            extra = {**(extra or {}), **job.attributes}
            if job.repeat and summary is not None and summary.failed:
                summary = replace(summary, failed=False, failure_code=None)  # counted by the poll that saw it
        if summary is not None and summary.failed:
            classification: Classification | None = UNCLASSIFIED
            try:
                failure = ProviderError(code=summary.failure_code)
                default = ErrorClass.JOB_FAILED if job is not None else ErrorClass.SERVER_ERROR
                classification = call_verdict(None, None, failure, None, False, default)
            except Exception:
                self.fault("classifying a call's in-band failure")
            self.fail(classification or UNCLASSIFIED, None, extra, summary)
            return
        self.ended = True
        soft = summary.soft_failure if summary is not None else None
        outcome = n.OUTCOME_SOFT_FAILURE if soft else n.OUTCOME_OK
        if job is not None and job.outcome is not None:
            outcome = job.outcome
        self._finish(outcome, None, None, summary, extra, abandoned, end_time, end_wall_ns)

    def _job(self, summary: ResponseSummary) -> JobVerdict | None:
        """Follow the job the response shows; the poll that sees its end is linked to its creation."""
        try:
            job = self.telemetry.jobs.observe(self, summary)
            if job is not None and job.created_by is not None and self.recording and self.owns_span:
                self.span.add_link(job.created_by, {n.JOB_ID: summary.job_id or ""})
        except Exception:
            self.fault("following a job")
            return None
        return job

    def fail(
        self,
        classification: Classification,
        exception: BaseException | None,
        extra: Attributes | None = None,
        summary: ResponseSummary | None = None,
    ) -> None:
        """End a call that failed: the SDK raised, a stream broke or was cut."""
        if self.ended:
            return
        self.ended = True
        self.error_class = classification.error_class
        self._finish(n.OUTCOME_ERROR, classification, exception, summary, extra, False, None, None)

    def cancel(self, extra: Attributes | None = None) -> None:
        """End a call the application itself stopped: not a failure of the provider."""
        if self.ended:
            return
        self.ended = True
        self._finish(n.OUTCOME_CANCELLED, None, None, None, extra, False, None, None)

    def end_with_exception(self, exception: BaseException, status: int | None, body: Any) -> None:
        """End a call the SDK raised from, with the status and body the exception carries."""
        if self.ended:
            return
        if self._observer is not None:  # only a scope asks (`exception_id`)
            self._raised = _held(exception)

        def provider_error() -> ProviderError:
            try:
                return parse_error_body(body)
            except Exception:
                self.fault("reading a call's error body")
                return EMPTY_PROVIDER_ERROR

        last = self.last_attempt.ended if self.last_attempt is not None else None
        try:
            classification = call_verdict(
                exception,
                status,
                provider_error,
                last.classification if last is not None else None,
                last is not None and last.read_body,
            )
        except Exception:
            self.fault("classifying a call's exception")
            classification = UNCLASSIFIED
        if classification is None:
            self.cancel()
        else:
            self.fail(classification, exception)

    # --- internals ------------------------------------------------------------
    def _attributes_on_host(self, attributes: Attributes) -> None:
        """Only ``aierrors.*`` goes on another instrumentation's span: the rest is its own to set."""
        if self.span.is_recording():
            self.span.set_attributes({key: value for key, value in attributes.items() if is_own_attribute(key)})

    def _finish(
        self,
        outcome: str,
        classification: Classification | None,
        exception: BaseException | None,
        summary: ResponseSummary | None,
        extra: Attributes | None,
        abandoned: bool,
        end_time: float | None,
        end_wall_ns: int | None,
    ) -> None:
        """Gather what happened into the call's end record and hand it to the recorder; then tell the scope."""
        end = time.perf_counter() if end_time is None else end_time
        # The span's end is taken now, not after the metrics; an explicit end is the wall clock
        # taken with it, or (a raw response parsed later) converted to it.
        if end_wall_ns is not None:
            wall_end = end_wall_ns
        else:
            wall_end = time.time_ns() if end_time is None else _wall_ns(end_time)
        self.outcome = outcome
        if summary is not None:
            if summary.response_model:
                self.response_model = summary.response_model
            self.response_id = summary.response_id
        target = self.target
        hop_in_scope: bool | None = None
        try:
            # The model asked for answering (the same text) is no hop: no comparison to make.
            served = self.response_model
            if served != target.request_model and is_gateway_hop(target.request_model, served, target.provider):
                hop_in_scope = self._observer is not None and self._observer.is_later_hop(self)
        except Exception:
            self.fault("recording a gateway hop")
        self.telemetry.call_ended(
            CallEnded(  # positional: a NamedTuple built from keywords costs twice as much
                self.span,  # span
                self.owns_span,  # owns_span
                self.recording,  # recording
                self.span_context,  # span_context
                target,  # target
                self.series,  # series
                self.records_genai,  # records_genai
                self.start,  # start
                end,  # end
                wall_end,  # wall_end
                outcome,  # outcome
                classification,  # classification
                exception,  # exception
                summary,  # summary
                extra,  # extra
                abandoned,  # abandoned
                self.attempt_count,  # attempt_count
                self.backoff_total,  # backoff_total
                self.wasted_retries,  # wasted_retries
                self.first_chunk_at,  # first_chunk_at
                self.stream_chunks,  # stream_chunks
                self.response_model,  # response_model
                hop_in_scope,  # gateway_hop_in_scope
                self.internal_error,  # internal_error
            )
        )
        if self._observer is not None:
            with swallow("reporting a call's end to its scope"):
                self._observer.call_ended(self)
        _LAST_ENDED.set(self)


def _wall_ns(perf_seconds: float) -> int:
    return time.time_ns() - int((time.perf_counter() - perf_seconds) * 1e9)


def _encloses_scope(span: Span, observer: object) -> bool:
    """Whether ``span`` was the current span when the scope ``observer`` was entered."""
    entered = getattr(observer, "_entered_context", None)
    return entered is not None and trace.get_current_span(entered) is span


def _held(exception: BaseException) -> Callable[[], BaseException | None]:
    """A weak reference to ``exception``: the SDKs' exception classes take one. A built-in exception
    (``TimeoutError``, a ``KeyError``) takes none and is held by the call record, of a call in a scope
    only, as long as the record lives (built-ins carry no response body)."""
    try:
        return weakref.ref(exception)
    except TypeError:
        return lambda: exception
