"""Application retry libraries' wrappers: tenacity and backoff, each run an `AppRetryScope`.

Neither library is imported by this module, nor a dependency: the patch table
(`otel_aierrors._patches.targets.APP_RETRY_ROWS`) names each callable and the
factory here that builds its wrapper, and `otel_aierrors._patches.on_import`
applies the rows when (and if) the application imports a library, and puts
back what it replaced on ``uninstrument()``.

- tenacity: ``Retrying.__call__`` and ``AsyncRetrying.__call__``, which every
  decorated function and ``Retrying()(fn, ...)`` go through, whenever the
  decoration happened. The attempt is tenacity's own
  ``statistics["attempt_number"]``. The iterator form (``for attempt in
  Retrying(...)``) is not linked. Inside a scope that numbers its own
  retries (``numbers_own_retries``: LiteLLM's, whose ``acompletion`` retries
  through tenacity) tenacity opens no span: the calls already carry their attempt.
- backoff: ``backoff._sync`` / ``backoff._async`` ``retry_exception`` and
  ``retry_predicate``, which build the retrying function when the decorator is
  applied: a function decorated while instrumented is linked until
  ``uninstrument()`` (then it runs as if never traced); one decorated before
  ``instrument()``, or under an earlier instrumentation, is not. The attempt
  comes from ``details["tries"]`` of an ``on_backoff`` handler added to the
  decorator's own handlers.

Whether to trace is the instrumentation's own: its telemetry's ``enabled``,
which ``uninstrument()`` turns off. A backoff-decorated function outlives the
patch that built it, so it holds that telemetry weakly. Nothing here raises
into the application: each wrapper reports its own failures and lets the
retried function run as if uninstrumented.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from otel_aierrors import _names as n
from otel_aierrors._app_retries import AppRetryScope, function_name
from otel_aierrors._call import current_observer
from otel_aierrors._safety import report_internal_error, swallow

if TYPE_CHECKING:
    from otel_aierrors._patches.targets import Wrapper
    from otel_aierrors._recording import Telemetry

__all__ = ["backoff_async_retry", "backoff_sync_retry", "tenacity_async_call", "tenacity_call"]


# --- tenacity ----------------------------------------------------------------------
def tenacity_call(telemetry: Telemetry) -> Wrapper:
    """``Retrying.__call__``: one run of the retried function is one scope."""

    def call(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        scope = _tenacity_scope(telemetry, instance, args, kwargs)
        if scope is None:
            return wrapped(*args, **kwargs)
        with scope:
            return wrapped(*args, **kwargs)

    return call


def tenacity_async_call(telemetry: Telemetry) -> Wrapper:
    """``AsyncRetrying.__call__``: the same, awaited."""

    async def call(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        scope = _tenacity_scope(telemetry, instance, args, kwargs)
        if scope is None:
            return await wrapped(*args, **kwargs)
        async with scope:
            return await wrapped(*args, **kwargs)

    return call


def _numbered_by_framework() -> bool:
    """Whether the current scope numbers its own retries: a framework's (LiteLLM's ``acompletion``
    retries through tenacity), whose calls already carry their attempt, so tenacity adds no span."""
    return getattr(current_observer(), "numbers_own_retries", False) is True


def _tenacity_scope(
    telemetry: Telemetry, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> AppRetryScope | None:
    if not telemetry.enabled:
        return None
    try:
        if _numbered_by_framework():
            return None
        function = args[0] if args else kwargs["fn"]
        # The same dict tenacity fills in begin(): it clears it, never rebinds it.
        statistics = instance.statistics
        return AppRetryScope(n.APP_RETRY_TENACITY, function_name(function), statistics=statistics)
    except Exception:
        report_internal_error("starting a tenacity retry span")
        return None


# --- backoff -----------------------------------------------------------------------
def backoff_sync_retry(telemetry: Telemetry) -> Wrapper:
    """``backoff._sync.retry_exception`` / ``retry_predicate``: the retrying function they build gets a scope."""
    return _build_retry(weakref.ref(telemetry), is_async=False)


def backoff_async_retry(telemetry: Telemetry) -> Wrapper:
    """``backoff._async.retry_exception`` / ``retry_predicate``: the same, for a coroutine function."""
    return _build_retry(weakref.ref(telemetry), is_async=True)


def _build_retry(telemetry: weakref.ref[Telemetry], *, is_async: bool) -> Wrapper:
    def build_retry(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        owner = object()
        try:
            target = args[0] if args else kwargs["target"]
            name = function_name(target)
            handlers = kwargs.get("on_backoff")
            kwargs = {**kwargs, "on_backoff": [*(handlers or ()), _backoff_handler(owner)]}
        except Exception:
            report_internal_error("decorating a function with backoff")
            return wrapped(*args, **kwargs)
        retry = wrapped(*args, **kwargs)
        try:
            return _traced_backoff(retry, name, owner, telemetry, is_async)
        except Exception:
            report_internal_error("decorating a function with backoff")
            return retry

    return build_retry


def _backoff_handler(owner: object) -> Callable[[Mapping[str, Any]], None]:
    """An ``on_backoff`` handler: the next attempt of the scope ``owner`` opened is ``tries + 1``."""

    def note_backoff(details: Mapping[str, Any]) -> None:
        with swallow("reading a backoff attempt"):
            scope = current_observer()
            tries = details.get("tries")
            if isinstance(scope, AppRetryScope) and scope.owner is owner and isinstance(tries, int):
                scope.attempt = tries + 1

    return note_backoff


def _backoff_scope(telemetry: weakref.ref[Telemetry], name: str, owner: object) -> AppRetryScope | None:
    """A scope for one run, while the instrumentation that decorated the function is on."""
    live = telemetry()
    if live is None or not live.enabled:
        return None
    return AppRetryScope(n.APP_RETRY_BACKOFF, name, owner=owner)


def _traced_backoff(
    retry: Callable[..., Any], name: str, owner: object, telemetry: weakref.ref[Telemetry], is_async: bool
) -> Callable[..., Any]:
    """Wrap the retrying function backoff built so that each run has its scope."""
    if is_async:

        @functools.wraps(retry)
        async def traced_async(*args: Any, **kwargs: Any) -> Any:
            scope = _backoff_scope(telemetry, name, owner)
            if scope is None:
                return await retry(*args, **kwargs)
            async with scope:
                return await retry(*args, **kwargs)

        return traced_async

    @functools.wraps(retry)
    def traced(*args: Any, **kwargs: Any) -> Any:
        scope = _backoff_scope(telemetry, name, owner)
        if scope is None:
            return retry(*args, **kwargs)
        with scope:
            return retry(*args, **kwargs)

    return traced
