"""LiteLLM's own retries and fallbacks as one fallback scope: each deployment a hop, its retries app-retry attempts.

``litellm.Router(model_list=..., fallbacks=..., num_retries=...)`` retries a
deployment and falls back to other model groups itself, calling the provider
SDKs with their own retries off (``max_retries=0``); ``litellm.completion(model,
fallbacks=[...])`` walks its list of models the same way. Without this module
every try is an unrelated call span. Here one Router call (``completion``,
``acompletion``), or one ``litellm.completion``/``acompletion`` given
``fallbacks``, is one `LiteLLMScope`: a ``fallback {model group}`` span under
which the calls nest. A call to another target (model, address or key) than
the previous one is a hop whose reason is the previous call's error class; a
call to the same target again is LiteLLM retrying that deployment: it keeps
the hop's index and carries ``aierrors.app_retry.attempt`` (1, 2, ...) and
``aierrors.app_retry.library = litellm``, LiteLLM's backoff showing as the gap
between the call spans. ``litellm.acompletion(num_retries=...)`` retries
through tenacity: inside a LiteLLM scope tenacity's hook stays out, and those
retries are numbered here like the Router's.

Hooks: litellm 1.110's Router delegates every endpoint to its ``RustCore``
(``litellm.router_rust.core``), whose ``completion``/``acompletion`` run the
whole walk (the retry and fallback decisions are taken in the Rust core and
each try is a call of ``litellm.completion``/``acompletion`` through the
host); ``litellm.completion``/``acompletion`` are the package's public
functions. The scope's name is the requested model group, bounded per
instrumentation by a `ValueLimiter` (100 names of at most 96 characters, then
``_other``): in practice it is one of the Router's configured ``model_name``
values, a short list fixed in the application's code.

Nothing here changes what LiteLLM returns or raises: the scope's own work runs
inside `swallow`, and a call already inside a LiteLLM scope (the Router's
tries, the fallback loop's own ``litellm.acompletion``) passes through.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from otel_aierrors import _names as n
from otel_aierrors._call import CallRecord, current_observer
from otel_aierrors._cardinality import ValueLimiter
from otel_aierrors._fallback import FallbackScope, _hop_target
from otel_aierrors._recording import Attributes
from otel_aierrors._safety import report_internal_error, swallow

if TYPE_CHECKING:
    from otel_aierrors._patches.targets import Wrapper
    from otel_aierrors._recording import Telemetry

__all__ = [
    "LiteLLMScope",
    "acompletion_with_fallbacks",
    "completion_with_fallbacks",
    "router_acompletion",
    "router_completion",
]

#: The scope's name when the requested model is not a string.
_UNNAMED = "router"


class LiteLLMScope(FallbackScope):
    """A fallback scope whose repeated calls to the same target are LiteLLM's retries, not hops."""

    #: LiteLLM's retries are numbered here, also those it makes through tenacity
    #: (``litellm.acompletion(num_retries=...)``): tenacity's hook opens no retry span inside.
    numbers_own_retries = True

    def __init__(self, name: str) -> None:
        super().__init__(name)
        #: The attempt on the current hop's target, 1-based.
        self._attempt = 0
        #: Every call after the primary's target, retries included (`is_later_hop`).
        self._later: list[CallRecord] = []

    def call_started(self, call: CallRecord) -> Attributes:
        attributes: Attributes = {}
        with swallow("recording a LiteLLM hop"):
            attributes = self._litellm_hop(call)
        return attributes

    def _litellm_hop(self, call: CallRecord) -> Attributes:
        target = _hop_target(call)
        with self._lock:
            retry = bool(self._targets) and self._targets[-1] == target
            if retry:
                # The hop's latest try stands for it: its outcome, and the reason of the next hop.
                self._calls[-1] = call
                self._attempt += 1
                attempt, index = self._attempt, len(self._calls) - 1
                if index > 0:
                    self._later.append(call)
        if retry:
            return {n.FALLBACK_HOP: index, n.APP_RETRY_ATTEMPT: attempt, n.APP_RETRY_LIBRARY: n.APP_RETRY_LITELLM}
        attributes = self._hop(call)
        with self._lock:
            self._attempt = 1
            if len(self._calls) > 1:
                self._later.append(call)
        attributes[n.APP_RETRY_ATTEMPT] = 1
        attributes[n.APP_RETRY_LIBRARY] = n.APP_RETRY_LITELLM
        return attributes

    def is_later_hop(self, call: CallRecord) -> bool:
        with self._lock:
            return any(seen is call for seen in self._later)


def _requested_model(args: tuple[Any, ...], kwargs: dict[str, Any]) -> object:
    return kwargs["model"] if "model" in kwargs else (args[0] if args else None)


def _scope(limit: ValueLimiter, model: object) -> LiteLLMScope | None:
    """A new scope, or None inside one already (the Router's own tries) or when opening it failed."""
    try:
        if isinstance(current_observer(), LiteLLMScope):
            return None
        return LiteLLMScope(limit(model) if isinstance(model, str) and model else _UNNAMED)
    except Exception:
        report_internal_error("starting a LiteLLM fallback scope")
        return None


def _has_fallbacks(kwargs: dict[str, Any]) -> bool:
    """Whether ``litellm.completion`` will walk a list of models: its ``fallbacks`` or ``litellm.model_fallbacks``."""
    if kwargs.get("fallbacks"):
        return True
    litellm = sys.modules.get("litellm")
    return bool(getattr(litellm, "model_fallbacks", None))


def _sync_wrapper(telemetry: Telemetry, applies: Callable[[dict[str, Any]], bool]) -> Wrapper:
    limit = ValueLimiter()

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        scope = None
        with swallow("starting a LiteLLM fallback scope"):
            if applies(kwargs):
                scope = _scope(limit, _requested_model(args, kwargs))
        if scope is None:
            return wrapped(*args, **kwargs)
        with scope:
            return wrapped(*args, **kwargs)

    return wrapper


def _async_wrapper(telemetry: Telemetry, applies: Callable[[dict[str, Any]], bool]) -> Wrapper:
    limit = ValueLimiter()

    async def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        scope = None
        with swallow("starting a LiteLLM fallback scope"):
            if applies(kwargs):
                scope = _scope(limit, _requested_model(args, kwargs))
        if scope is None:
            return await wrapped(*args, **kwargs)
        async with scope:
            return await wrapped(*args, **kwargs)

    return wrapper


def _always(_kwargs: dict[str, Any]) -> bool:
    return True


def router_completion(telemetry: Telemetry) -> Wrapper:
    """``RustCore.completion`` (``Router.completion``): the whole call is one scope."""
    return _sync_wrapper(telemetry, _always)


def router_acompletion(telemetry: Telemetry) -> Wrapper:
    """``RustCore.acompletion`` (``Router.acompletion``): the whole call is one scope."""
    return _async_wrapper(telemetry, _always)


def completion_with_fallbacks(telemetry: Telemetry) -> Wrapper:
    """``litellm.completion``: a scope when it is given ``fallbacks``, else the call as is."""
    return _sync_wrapper(telemetry, _has_fallbacks)


def acompletion_with_fallbacks(telemetry: Telemetry) -> Wrapper:
    """``litellm.acompletion``: a scope when it is given ``fallbacks``, else the call as is."""
    return _async_wrapper(telemetry, _has_fallbacks)
