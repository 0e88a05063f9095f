"""Scopes around the application's own code: what fallback scopes and application retries share.

A scope sees every instrumented call made inside it (`otel_aierrors._call`'s
observer) and gives those calls a parent INTERNAL span (``fallback {name}``,
``retry {function}``). The span is opened lazily, by the first instrumented
call inside the scope, with the scope's own start time: a scope inside which
no AI call happens (a retried database query) emits nothing.

Each scope remembers the nearest scope of the other kind around it, so a
fallback inside a retried function (or the reverse) records both the hop and
the application's attempt on each call, while a scope of the same kind nested
inside owns its calls alone.
"""

from __future__ import annotations

import contextvars
import time
from typing import TYPE_CHECKING, Protocol

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from otel_aierrors._call import CallObserver, CallRecord, observe, stop_observing
from otel_aierrors._provider_errors import parse_error_body
from otel_aierrors._recording import Attributes
from otel_aierrors._safety import swallow
from otel_aierrors._sdks.stainless import error_facts
from otel_aierrors._taxonomy import ErrorClass, classify

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Span

__all__ = ["AttemptSource", "HopSource", "ObservingScope", "classify_exception"]


def classify_exception(exception: BaseException) -> ErrorClass:
    """The error class of an exception by itself, as a call span would classify it.

    Exceptions that carry neither an HTTP status nor a transport failure (the
    application's own ``ValueError``) are ``unknown``.
    """
    status, body = error_facts(exception)
    return classify(status=status, provider_error=parse_error_body(body), exception=exception).error_class


class AttemptSource(Protocol):
    """An application-level retry the calls of a scope belong to (see `otel_aierrors._app_retries`)."""

    def attempt_attributes(self) -> Attributes: ...


class HopSource(Protocol):
    """A fallback scope the calls of a scope are hops of (`otel_aierrors._fallback.FallbackScope`, which
    builds on this module and so is not imported by it)."""

    def is_later_hop(self, call: CallRecord) -> bool: ...


class ObservingScope:
    """A scope's observer registration and its lazily opened INTERNAL span."""

    def __init__(self, span_name: str, attributes: Attributes) -> None:
        self._span_name = span_name
        self._span_attributes = attributes
        self._span: Span | None = None
        self._span_context: Context | None = None
        self._entered_context: Context | None = None
        self._entered_at_ns = 0
        self._outer: CallObserver | None = None
        self._observer_token: contextvars.Token[CallObserver | None] | None = None

    # --- scope kinds (overridden) ---------------------------------------------------
    @property
    def fallback_scope(self) -> HopSource | None:
        """The fallback scope whose hops the calls made here are."""
        return None

    @property
    def retry_scope(self) -> AttemptSource | None:
        """The application-level retry whose attempts the calls made here are."""
        return None

    @property
    def open_span(self) -> Span | None:
        """The scope's span while it is open (a call inside the scope opened it), else None."""
        return self._span

    # --- CallObserver ---------------------------------------------------------------
    def call_started(self, call: CallRecord) -> Attributes:
        return {}

    def call_ended(self, call: CallRecord) -> None:
        return None

    def is_later_hop(self, call: CallRecord) -> bool:
        scope = self.fallback_scope
        return scope is not None and scope is not self and scope.is_later_hop(call)

    def parent_context(self, call: CallRecord) -> Context | None:
        """Open the scope's span on the first call inside it; the call span goes under it."""
        if self._span_context is None:
            parent = self._entered_context
            outer = self._outer
            if outer is not None and _same_span(parent, getattr(outer, "_entered_context", None)):
                parent = outer.parent_context(call)
            span = call.telemetry.tracer.start_span(
                self._span_name,
                context=parent,
                kind=SpanKind.INTERNAL,
                attributes=self._span_attributes,
                start_time=self._entered_at_ns,
            )
            self._span = span
            self._span_context = trace.set_span_in_context(span, parent)
        return self._span_context

    # --- lifetime -------------------------------------------------------------------
    def _open(self) -> CallObserver | None:
        """Start observing the calls of this context; returns the scope around this one."""
        self._entered_context = otel_context.get_current()
        self._entered_at_ns = time.time_ns()
        self._outer, self._observer_token = observe(self)
        return self._outer

    def _close(self, attributes: Attributes, error_class: ErrorClass | str | None) -> None:
        """Stop observing; end the span, if a call opened it, with these final attributes.

        ``error_class`` is the status description of a scope that failed: an
        error class, or ``invalid_output`` when a framework's re-asks ran out on
        rejected answers.
        """
        token, self._observer_token = self._observer_token, None
        if token is not None:
            with swallow("resetting the call observer"):
                stop_observing(token)
        span, self._span = self._span, None
        if span is None:
            return
        try:
            if error_class is not None:
                description = error_class.value if isinstance(error_class, ErrorClass) else error_class
                span.set_status(Status(StatusCode.ERROR, description))
            span.set_attributes(attributes)
        finally:
            span.end()


def _same_span(first: Context | None, second: Context | None) -> bool:
    return trace.get_current_span(first) is trace.get_current_span(second)
