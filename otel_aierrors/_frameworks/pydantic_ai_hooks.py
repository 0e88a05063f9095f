"""pydantic-ai's `FallbackModel` as a fallback scope: one request, each model it tries a hop.

``FallbackModel.request`` tries its models in turn until one answers and
moves on when ``fallback_on`` says so (by default on any ``ModelAPIError``).
Each model it tries makes an SDK call that this package already records; the
wrapper puts the request in a `FallbackScope` named ``pydantic-ai``, so those
calls are its hops (0 the primary, then one per model tried) with the
previous call's error class as the reason.

``request_stream`` is an async context manager whose ``__aenter__`` does the
falling back (a stream is handed over once its first event arrived). The
scope covers that ``__aenter__`` only: it is opened and closed in the same
task, never across the application's ``async with`` body, whose code it must
not claim. The stream handed over is the last hop, still open when the scope
ends, which counts as its success (as for `with_fallback` returning a stream).

The name is the constant ``pydantic-ai``: the span name must stay bounded,
and ``FallbackModel.model_name`` (``fallback:gpt-4o,gpt-4o-mini``) is built
from whatever model list the application passes; the models are on each hop.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

import wrapt

from otel_aierrors._fallback import FallbackScope

if TYPE_CHECKING:
    from otel_aierrors._patches.targets import Wrapper
    from otel_aierrors._recording import Telemetry

__all__ = ["SCOPE_NAME", "request", "request_stream"]

#: The fallback scope's name: its span is ``fallback pydantic-ai``.
SCOPE_NAME: Final = "pydantic-ai"


def request(telemetry: Telemetry) -> Wrapper:
    """Wrap ``FallbackModel.request`` (async): the request runs in a fallback scope."""

    async def traced_request(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        async with FallbackScope(SCOPE_NAME):
            return await wrapped(*args, **kwargs)

    return traced_request


if TYPE_CHECKING:
    _Proxy = wrapt.ObjectProxy[Any]
else:  # wrapt 1.x's ObjectProxy is not subscriptable
    _Proxy = wrapt.ObjectProxy


class _ScopedOpen(_Proxy):
    """The context manager ``request_stream`` returned (a proxy: same class for ``isinstance``),
    whose ``__aenter__`` runs in a fallback scope."""

    async def __aenter__(self) -> Any:
        async with FallbackScope(SCOPE_NAME):
            return await self.__wrapped__.__aenter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        result: bool | None = await self.__wrapped__.__aexit__(exc_type, exc, tb)
        return result


def request_stream(telemetry: Telemetry) -> Wrapper:
    """Wrap ``FallbackModel.request_stream``: opening the stream runs in a fallback scope."""

    def traced_request_stream(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        manager = wrapped(*args, **kwargs)
        if not hasattr(manager, "__aenter__") or not hasattr(manager, "__aexit__"):
            return manager
        return _ScopedOpen(manager)

    return traced_request_stream
