"""Application-level retries (``tenacity``, ``backoff``): one parent span per retried operation.

When the application retries a function that calls the SDK, each attempt is
an unrelated call span unless something ties them together. While the
retrying library runs a function, an `AppRetryScope` holds an INTERNAL span
``retry {function name}`` (made current, so the call spans nest under it) and
puts the application's 1-based attempt number and the library's name on each
call span; the first call of attempt 2 and later also says why the attempt
before was retried (``aierrors.app_retry.reason``: the error class of its last
call, ``invalid_output`` when its answer was rejected). Inside a fallback
scope the calls are also that scope's hops. Frameworks that re-ask
(Instructor, pydantic-ai) open the same scope (`otel_aierrors._frameworks`).
The span is opened by the first instrumented call inside the run (with the
run's start time): a retried function that never calls an AI SDK (a database
query) emits nothing.

The libraries are never imported by this module: `install` registers
post-import hooks, which patch them when (and if) the application imports
them.

- tenacity: ``Retrying.__call__`` and ``AsyncRetrying.__call__``, which every
  decorated function and ``Retrying()(fn, ...)`` go through, whenever the
  decoration happened. The attempt is tenacity's own
  ``statistics["attempt_number"]``. The iterator form (``for attempt in
  Retrying(...)``) is not linked. Inside a scope that numbers its own
  retries (``numbers_own_retries``: LiteLLM's, whose ``acompletion`` retries
  through tenacity) tenacity opens no span: the calls already carry their attempt.
- backoff: ``backoff._sync`` / ``backoff._async`` ``retry_exception`` and
  ``retry_predicate``, which build the retrying function when the decorator is
  applied; functions decorated before `install` are not linked. The attempt
  comes from ``details["tries"]`` of an ``on_backoff`` handler added to the
  decorator's own handlers.

Nothing here raises into the application: hooks and scopes report their own
failures and let the retried function run as if uninstrumented.
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable, Mapping
from types import ModuleType, TracebackType
from typing import Any, Final

import wrapt
from opentelemetry.instrumentation.utils import unwrap

from otel_aierrors import _names as n
from otel_aierrors._call import CallRecord, current_observer
from otel_aierrors._fallback import FallbackScope, reason_after
from otel_aierrors._recording import Attributes
from otel_aierrors._safety import report_internal_error, swallow
from otel_aierrors._scopes import ObservingScope, classify_exception
from otel_aierrors._taxonomy import ErrorClass

__all__ = ["AppRetryScope", "install", "uninstall"]


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


def _function_name(function: object) -> str:
    name = getattr(function, "__name__", None)
    return name if isinstance(name, str) and name else type(function).__name__


# --- tenacity ----------------------------------------------------------------------
def _numbered_by_framework() -> bool:
    """Whether the current scope numbers its own retries: a framework's (LiteLLM's ``acompletion``
    retries through tenacity), whose calls already carry their attempt, so tenacity adds no span."""
    return getattr(current_observer(), "numbers_own_retries", False) is True


def _tenacity_scope(instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> AppRetryScope | None:
    if not _enabled:
        return None
    try:
        if _numbered_by_framework():
            return None
        function = args[0] if args else kwargs["fn"]
        # The same dict tenacity fills in begin(): it clears it, never rebinds it.
        statistics = instance.statistics
        return AppRetryScope(n.APP_RETRY_TENACITY, _function_name(function), statistics=statistics)
    except Exception:
        report_internal_error("starting a tenacity retry span")
        return None


def _tenacity_call(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    scope = _tenacity_scope(instance, args, kwargs)
    if scope is None:
        return wrapped(*args, **kwargs)
    with scope:
        return wrapped(*args, **kwargs)


async def _tenacity_async_call(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    scope = _tenacity_scope(instance, args, kwargs)
    if scope is None:
        return await wrapped(*args, **kwargs)
    async with scope:
        return await wrapped(*args, **kwargs)


def _patch_tenacity(module: ModuleType) -> None:
    _wrap(module.Retrying, "__call__", _tenacity_call)
    async_retrying = getattr(module, "AsyncRetrying", None)
    if async_retrying is not None and "__call__" in vars(async_retrying):
        _wrap(async_retrying, "__call__", _tenacity_async_call)


# --- backoff -----------------------------------------------------------------------
def _backoff_handler(owner: object) -> Callable[[Mapping[str, Any]], None]:
    """An ``on_backoff`` handler: the next attempt of the scope ``owner`` opened is ``tries + 1``."""

    def note_backoff(details: Mapping[str, Any]) -> None:
        with swallow("reading a backoff attempt"):
            scope = current_observer()
            tries = details.get("tries")
            if isinstance(scope, AppRetryScope) and scope.owner is owner and isinstance(tries, int):
                scope.attempt = tries + 1

    return note_backoff


def _backoff_scope(name: str, owner: object) -> AppRetryScope | None:
    if not _enabled:
        return None
    return AppRetryScope(n.APP_RETRY_BACKOFF, name, owner=owner)


def _traced_backoff(retry: Callable[..., Any], name: str, owner: object, is_async: bool) -> Callable[..., Any]:
    """Wrap the retrying function backoff built so that each run has its scope."""
    if is_async:

        @functools.wraps(retry)
        async def traced_async(*args: Any, **kwargs: Any) -> Any:
            scope = _backoff_scope(name, owner)
            if scope is None:
                return await retry(*args, **kwargs)
            async with scope:
                return await retry(*args, **kwargs)

        return traced_async

    @functools.wraps(retry)
    def traced(*args: Any, **kwargs: Any) -> Any:
        scope = _backoff_scope(name, owner)
        if scope is None:
            return retry(*args, **kwargs)
        with scope:
            return retry(*args, **kwargs)

    return traced


def _backoff_factory(is_async: bool) -> Callable[..., Any]:
    def build_retry(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        owner = object()
        try:
            target = args[0] if args else kwargs["target"]
            name = _function_name(target)
            handlers = kwargs.get("on_backoff")
            kwargs = {**kwargs, "on_backoff": [*(handlers or ()), _backoff_handler(owner)]}
        except Exception:
            report_internal_error("decorating a function with backoff")
            return wrapped(*args, **kwargs)
        retry = wrapped(*args, **kwargs)
        try:
            return _traced_backoff(retry, name, owner, is_async)
        except Exception:
            report_internal_error("decorating a function with backoff")
            return retry

    return build_retry


def _patch_backoff(module: ModuleType) -> None:
    for submodule, is_async in (("backoff._sync", False), ("backoff._async", True)):
        owner = importlib.import_module(submodule)
        for function in ("retry_exception", "retry_predicate"):
            _wrap(owner, function, _backoff_factory(is_async))


# --- install / uninstall ---------------------------------------------------------------
_PATCHERS: Final[Mapping[str, Callable[[ModuleType], None]]] = {
    "tenacity": _patch_tenacity,
    "backoff": _patch_backoff,
}
_enabled = False
#: Libraries whose post-import hook is registered (wrapt cannot unregister one).
_registered: set[str] = set()
#: Libraries patched now, and every (owner, attribute) wrapped, for `uninstall`.
_patched_libraries: set[str] = set()
_wrapped: list[tuple[object, str]] = []


def _wrap(owner: object, attribute: str, wrapper: Callable[..., Any]) -> None:
    wrapt.wrap_function_wrapper(owner, attribute, wrapper)
    _wrapped.append((owner, attribute))


def _hook(library: str) -> Callable[[ModuleType], None]:
    def patch(module: ModuleType) -> None:
        # Runs inside the application's import statement: must never raise.
        with swallow(f"patching {library}"):
            if _enabled and library not in _patched_libraries:
                _patched_libraries.add(library)
                _PATCHERS[library](module)

    return patch


def install() -> None:
    """Patch tenacity and backoff now if imported, else as soon as the application imports them."""
    global _enabled
    _enabled = True
    for library in _PATCHERS:
        hook = _hook(library)
        if library not in _registered:
            _registered.add(library)
            wrapt.register_post_import_hook(hook, library)  # runs now if already imported
        else:
            module = sys.modules.get(library)
            if module is not None:
                hook(module)


def uninstall() -> None:
    """Restore what `install` patched; functions decorated meanwhile become pass-through."""
    global _enabled
    _enabled = False
    while _wrapped:
        owner, attribute = _wrapped.pop()
        with swallow("unpatching an application retry library"):
            unwrap(owner, attribute)
    _patched_libraries.clear()
