"""What is in progress in this context: the instrumented call, and the scopes around it.

Context variables, so that threads and asyncio tasks each see their own. The
transport hook reads the current call to know that a ``send`` is one of its
attempts; a call reads the innermost scope (fallback, application retry) to
report to it.
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from opentelemetry.context import Context

    from otel_aierrors._call import CallRecord
    from otel_aierrors._recording import Attributes

__all__ = [
    "CallObserver",
    "call_ended_here",
    "current_call",
    "current_observer",
    "enter_call",
    "exit_call",
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


#: The call whose HTTP attempts are being made in this context: the transport
#: hook reads it to know that a ``send`` is an attempt of an instrumented call.
_CURRENT_CALL: contextvars.ContextVar[CallRecord | None] = contextvars.ContextVar(
    "otel_aierrors_current_call", default=None
)
#: The innermost scope open in this context; None almost always.
_OBSERVER: contextvars.ContextVar[CallObserver | None] = contextvars.ContextVar(
    "otel_aierrors_call_observer", default=None
)


#: The last call that ended in this context, for `otel_aierrors.reject` (its span has ended by then).
_LAST_ENDED: contextvars.ContextVar[CallRecord | None] = contextvars.ContextVar(
    "otel_aierrors_last_ended_call", default=None
)


def call_ended_here(call: CallRecord) -> None:
    _LAST_ENDED.set(call)


def last_ended_call() -> CallRecord | None:
    return _LAST_ENDED.get()


def current_call() -> CallRecord | None:
    return _CURRENT_CALL.get()


def enter_call(call: CallRecord) -> contextvars.Token[CallRecord | None]:
    return _CURRENT_CALL.set(call)


def exit_call(token: contextvars.Token[CallRecord | None]) -> None:
    _CURRENT_CALL.reset(token)


def observe(observer: CallObserver | None) -> tuple[CallObserver | None, contextvars.Token[CallObserver | None]]:
    """Make ``observer`` see the calls of this context; returns (the outer observer, the reset token)."""
    return _OBSERVER.get(), _OBSERVER.set(observer)


def stop_observing(token: contextvars.Token[CallObserver | None]) -> None:
    _OBSERVER.reset(token)


def current_observer() -> CallObserver | None:
    return _OBSERVER.get()
