"""LangChain's ``with_fallbacks`` as a fallback scope and ``with_retry`` as an application retry.

``RunnableWithFallbacks.invoke`` / ``ainvoke`` try the runnable and then each
fallback until one returns; each runnable tried makes its SDK call (a
``ChatOpenAI`` calls the openai SDK), which the wrapper makes a hop of a
`FallbackScope` named ``langchain``. ``stream`` / ``astream`` fall back only
while getting the first chunk: the scope covers exactly that first step (set
and reset inside one ``next`` / ``__anext__``, so it never spans the
application's code between chunks); the stream handed over is the last hop,
open when the scope ends, which counts as its success. ``batch`` / ``abatch``
are not wrapped: their inputs fail and fall back independently, so one scope
over a batch would interleave the hops of different inputs.

``RunnableRetry.invoke`` / ``ainvoke`` run ``for attempt in Retrying(...)``:
tenacity's iterator form, which the tenacity patch does not see (it wraps
``Retrying.__call__``), so nothing else records these retries. Each run is an
`AppRetryScope` with library ``langchain`` and the bound runnable's name
(``retry ChatOpenAI``); the attempt number is tenacity's own
``statistics["attempt_number"]`` of the ``Retrying`` the run builds with
``_sync_retrying`` / ``_async_retrying`` (without those private methods, in
another release, every call says attempt 1). ``batch`` / ``abatch`` are not
wrapped (each input retries on its own).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, Final

from otel_aierrors import _names as n
from otel_aierrors._app_retries import AppRetryScope
from otel_aierrors._call import current_observer
from otel_aierrors._fallback import FallbackScope
from otel_aierrors._safety import swallow

if TYPE_CHECKING:
    from otel_aierrors._patches.targets import Wrapper
    from otel_aierrors._recording import Telemetry

__all__ = [
    "SCOPE_NAME",
    "fallbacks_ainvoke",
    "fallbacks_astream",
    "fallbacks_invoke",
    "fallbacks_stream",
    "retry_ainvoke",
    "retry_invoke",
    "retry_retrying",
]

#: The fallback scope's name: its span is ``fallback langchain`` (a constant, so bounded).
SCOPE_NAME: Final = "langchain"


# --- with_fallbacks ------------------------------------------------------------------
def fallbacks_invoke(telemetry: Telemetry) -> Wrapper:
    """Wrap ``RunnableWithFallbacks.invoke``: one fallback scope per run."""

    def traced_invoke(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        with FallbackScope(SCOPE_NAME):
            return wrapped(*args, **kwargs)

    return traced_invoke


def fallbacks_ainvoke(telemetry: Telemetry) -> Wrapper:
    """Wrap ``RunnableWithFallbacks.ainvoke``: one fallback scope per run."""

    async def traced_ainvoke(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        async with FallbackScope(SCOPE_NAME):
            return await wrapped(*args, **kwargs)

    return traced_ainvoke


def _scoped_stream(chunks: Iterator[Any]) -> Iterator[Any]:
    with FallbackScope(SCOPE_NAME):
        try:
            first = next(chunks)
        except StopIteration:
            return
    yield first
    yield from chunks


async def _scoped_astream(chunks: AsyncIterator[Any]) -> AsyncIterator[Any]:
    async with FallbackScope(SCOPE_NAME):
        try:
            first = await chunks.__anext__()
        except StopAsyncIteration:
            return
    try:
        yield first
        async for chunk in chunks:
            yield chunk
    finally:
        # As when the application closes the stream itself: the runnable's generator is closed.
        close = getattr(chunks, "aclose", None)
        if close is not None:
            await close()


def fallbacks_stream(telemetry: Telemetry) -> Wrapper:
    """Wrap ``RunnableWithFallbacks.stream``: getting the first chunk (where it falls back) is the scope."""

    def traced_stream(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return _scoped_stream(wrapped(*args, **kwargs))

    return traced_stream


def fallbacks_astream(telemetry: Telemetry) -> Wrapper:
    """Wrap ``RunnableWithFallbacks.astream``: getting the first chunk (where it falls back) is the scope."""

    def traced_astream(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        return _scoped_astream(wrapped(*args, **kwargs))

    return traced_astream


# --- with_retry ----------------------------------------------------------------------
def _retry_scope(instance: Any) -> AppRetryScope | None:
    scope: AppRetryScope | None = None
    with swallow("starting a langchain retry span"):
        bound = getattr(instance, "bound", None)
        name = bound.get_name() if bound is not None else type(instance).__name__
        scope = AppRetryScope(n.APP_RETRY_LANGCHAIN, str(name), owner=instance)
    return scope


def retry_invoke(telemetry: Telemetry) -> Wrapper:
    """Wrap ``RunnableRetry.invoke``: one application retry span per run."""

    def traced_invoke(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        scope = _retry_scope(instance)
        if scope is None:
            return wrapped(*args, **kwargs)
        with scope:
            return wrapped(*args, **kwargs)

    return traced_invoke


def retry_ainvoke(telemetry: Telemetry) -> Wrapper:
    """Wrap ``RunnableRetry.ainvoke``: one application retry span per run."""

    async def traced_ainvoke(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        scope = _retry_scope(instance)
        if scope is None:
            return await wrapped(*args, **kwargs)
        async with scope:
            return await wrapped(*args, **kwargs)

    return traced_ainvoke


def retry_retrying(telemetry: Telemetry) -> Wrapper:
    """Wrap ``RunnableRetry._sync_retrying`` / ``_async_retrying``: the run's scope follows the
    attempt number of the tenacity ``Retrying`` / ``AsyncRetrying`` they build."""

    def follow_attempts(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        retrying = wrapped(*args, **kwargs)
        with swallow("reading a langchain retry's attempts"):
            scope = current_observer()
            # Only the scope this runnable's invoke opened (not an outer one, not a batch's).
            if isinstance(scope, AppRetryScope) and scope.owner is instance:
                scope.follow(retrying.statistics)
        return retrying

    return follow_attempts
