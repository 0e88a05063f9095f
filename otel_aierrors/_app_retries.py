"""Application-level retries: one parent span per retried operation, the `AppRetryScope`.

When the application retries a function that calls the SDK, each attempt is
an unrelated call span unless something ties them together. While the
retrying library runs a function, an `AppRetryScope` holds an INTERNAL span
``retry {function name}`` (made current, so the call spans nest under it) and
puts the application's 1-based attempt number and the library's name on each
call span; the first call of attempt 2 and later also says why the attempt
before was retried (``aierrors.app_retry.reason``: the error class of its last
call, ``invalid_output`` when its answer was rejected). Inside a fallback
scope the calls are also that scope's hops. The span is opened by the first
instrumented call inside the run (with the run's start time): a retried
function that never calls an AI SDK (a database query) emits nothing.

The scopes are opened by the wrappers of tenacity and backoff
(`otel_aierrors._patches.app_retries`, rows of the patch table), and by the
frameworks that retry or re-ask (LangChain, Instructor, pydantic-ai:
`otel_aierrors._frameworks`); this module patches nothing.

Nothing here raises into the application: scopes report their own failures
and let the retried function run as if uninstrumented.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any

from otel_aierrors import _names as n
from otel_aierrors._call import CallRecord
from otel_aierrors._fallback import FallbackScope, reason_after
from otel_aierrors._recording import Attributes
from otel_aierrors._safety import swallow
from otel_aierrors._scopes import ObservingScope, classify_exception
from otel_aierrors._taxonomy import ErrorClass

__all__ = ["AppRetryScope", "function_name"]


class AppRetryScope(ObservingScope):
    """One operation retried by the application: a ``retry {function}`` span and the attempt of each call."""

    def __init__(
        self,
        library: str,
        function: str,
        statistics: Mapping[str, Any] | None = None,
        owner: object | None = None,
    ) -> None:
        super().__init__(f"retry {function}", {n.APP_RETRY_LIBRARY: library})
        #: ``tenacity`` or ``backoff``.
        self.library = library
        #: Name of the retried function, for the span name.
        self.function = function
        #: The attempt in progress, 1-based; backoff's handler moves it on.
        self.attempt = 1
        #: tenacity's statistics of this run, whose ``attempt_number`` is authoritative.
        self._statistics = statistics
        #: What created the scope (a backoff decoration), so its handler finds only its own scopes.
        self.owner = owner
        self._fallback: FallbackScope | None = None
        #: The latest call that ended in the scope: the next attempt's reason.
        self._last_call: CallRecord | None = None
        #: The latest attempt whose first call has been given its reason.
        self._reasoned_attempt = 1

    @property
    def fallback_scope(self) -> FallbackScope | None:
        return self._fallback

    @property
    def retry_scope(self) -> AppRetryScope:
        return self

    def follow(self, statistics: Mapping[str, Any]) -> None:
        """Read the attempt number from these tenacity statistics from now on (a retry loop built inside the run)."""
        self._statistics = statistics

    def attempt_number(self) -> int:
        if self._statistics is not None:
            number = self._statistics.get("attempt_number")
            if isinstance(number, int) and not isinstance(number, bool):
                return number
        return self.attempt

    def attempt_attributes(self) -> Attributes:
        return {n.APP_RETRY_ATTEMPT: self.attempt_number(), n.APP_RETRY_LIBRARY: self.library}

    # --- CallObserver -----------------------------------------------------------------
    def call_started(self, call: CallRecord) -> Attributes:
        attributes: Attributes = {}
        with swallow("recording an application retry attempt"):
            if self._fallback is not None:
                attributes.update(self._fallback.call_started(call))
            attributes.update(self.attempt_attributes())
            number = self.attempt_number()
            previous = self._last_call
            if number > self._reasoned_attempt and previous is not None:
                self._reasoned_attempt = number
                attributes[n.APP_RETRY_REASON] = reason_after(previous)
        return attributes

    def call_ended(self, call: CallRecord) -> None:
        self._last_call = call
        if self._fallback is not None:
            self._fallback.call_ended(call)

    def failure(self, exception: BaseException) -> ErrorClass | str:
        """The span's error when the retried operation finally raised ``exception``: its class."""
        return classify_exception(exception)

    def is_later_hop(self, call: CallRecord) -> bool:
        return self._fallback is not None and self._fallback.is_later_hop(call)

    # --- context manager --------------------------------------------------------------
    def __enter__(self) -> AppRetryScope:
        with swallow("opening an application retry span"):
            outer = self._open()
            scope = getattr(outer, "fallback_scope", None)
            self._fallback = scope if isinstance(scope, FallbackScope) else None
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with swallow("closing an application retry span"):
            error = self.failure(exc) if exc is not None else None
            attributes: Attributes = {n.APP_RETRY_ATTEMPT: self.attempt_number()}
            if error == n.SOFT_INVALID_OUTPUT:
                attributes[n.SOFT_FAILURE] = n.SOFT_INVALID_OUTPUT
            self._close(attributes, error)

    async def __aenter__(self) -> AppRetryScope:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)


def function_name(function: object) -> str:
    """The retried function's name, for the span name: its ``__name__``, else its type's (a callable object)."""
    name = getattr(function, "__name__", None)
    return name if isinstance(name, str) and name else type(function).__name__
