"""The one table of patch targets, read by `instrument`, `uninstrument` and ``doctor``.

Each row names the module that holds a callable, the callable's path in it
and how to build its wrapper for one instrumentation's telemetry. A row is
applied when its module is imported (`otel_aierrors._patches.on_import`), so
building the table imports no SDK and no HTTP library: it only reads
`otel_aierrors._sdks.SDK_ROWS`, the frameworks' rows, the circuit-breaker
rows and the application retry libraries' rows, whose wrappers it names
instead of importing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, NamedTuple

from otel_aierrors._frameworks import FRAMEWORK_ROWS
from otel_aierrors._patches import Wrapper
from otel_aierrors._sdks import SDK_ROWS, SdkRow

if TYPE_CHECKING:
    from otel_aierrors._recording import Telemetry

__all__ = [
    "APP_RETRY",
    "BREAKER",
    "FRAMEWORK",
    "HTTP",
    "KINDS",
    "PATCH_TARGETS",
    "SDK",
    "PatchTarget",
    "Wrapper",
    "sdk_modules",
]


#: What a row's library is, as ``doctor`` names it ("openai SDK", "litellm framework").
SDK: Final = "SDK"
HTTP: Final = "HTTP client"
FRAMEWORK: Final = "framework"
BREAKER: Final = "circuit breaker"
APP_RETRY: Final = "retry library"
#: The kinds, in the order ``doctor`` reports them.
KINDS: Final = (SDK, HTTP, FRAMEWORK, BREAKER, APP_RETRY)


class PatchTarget(NamedTuple):
    """One callable to wrap, and when."""

    #: The distribution the module belongs to (``openai``, ``cerebras-cloud-sdk``, ``httpx``), for ``doctor``.
    library: str
    #: The module that holds the callable; the row is applied when this module is imported.
    module: str
    #: The callable's dotted path in the module: ``SyncAPIClient.request``.
    attribute: str
    #: Builds the wrapper for one instrumentation's telemetry.
    wrapper: Callable[[Telemetry], Wrapper]
    #: Skipped when the module has no such callable (a function only some releases have).
    optional: bool = False
    #: Whether the row is an SDK's call boundary (``doctor`` reports those per SDK).
    call_boundary: bool = False
    #: What the library is (`SDK`, `HTTP`, `FRAMEWORK`, `BREAKER`, `APP_RETRY`), for ``doctor``.
    kind: str = SDK


def _call_boundary(telemetry: Telemetry, *, row: SdkRow, is_async: bool) -> Wrapper:
    """`otel_aierrors._patches.calls.call_wrapper` with the row's adapter, both imported when the SDK's hook fires."""
    from otel_aierrors._patches.calls import call_wrapper
    from otel_aierrors._sdks.adapters import adapter_of

    return call_wrapper(telemetry, adapter=adapter_of(row), is_async=is_async)


def _extra(_telemetry: Telemetry, *, row: SdkRow, name: str) -> Wrapper:
    """An SDK's extra hook (it needs no telemetry: it reads the current call), imported when its hook fires."""
    from otel_aierrors._sdks.adapters import extra_patch

    return extra_patch(row, name)


#: (module, attribute path, wrapper's name in `otel_aierrors._patches.transport`): its
#: ``TRANSPORT_TARGETS``, named here so that building the table does not import the
#: attempt machinery (issue 28); a test holds the two equal.
TRANSPORT_ROWS: Final = (
    ("httpx", "Client.send", "traced_send"),
    ("httpx", "AsyncClient.send", "traced_async_send"),
    ("httpx2", "Client.send", "traced_send"),
    ("httpx2", "AsyncClient.send", "traced_async_send"),
)


def _transport(_telemetry: Telemetry, *, name: str) -> Wrapper:
    """A transport wrapper (it needs no telemetry: it reads the current call), imported when its hook fires."""
    from otel_aierrors._patches import transport

    wrapper: Wrapper = getattr(transport, name)
    return wrapper


#: (distribution, module, attribute path, wrapper factory's name in `otel_aierrors._patches.breakers`):
#: the application's circuit breakers, none of them a dependency, patched when it imports them.
BREAKER_ROWS: Final = (
    ("pybreaker", "pybreaker", "CircuitBreaker.call", "pybreaker_call"),
    ("pybreaker", "pybreaker", "CircuitBreakerState.call", "pybreaker_state_call"),
    ("pybreaker", "pybreaker", "CircuitClosedState.__init__", "pybreaker_state_init"),
    ("pybreaker", "pybreaker", "CircuitOpenState.__init__", "pybreaker_state_init"),
    ("pybreaker", "pybreaker", "CircuitHalfOpenState.__init__", "pybreaker_state_init"),
    ("aiobreaker", "aiobreaker.state", "CircuitBreakerBaseState.call", "aiobreaker_state_call"),
    ("aiobreaker", "aiobreaker.state", "CircuitBreakerBaseState.call_async", "aiobreaker_state_call_async"),
    ("aiobreaker", "aiobreaker.state", "CircuitClosedState.__init__", "aiobreaker_state_init"),
    ("aiobreaker", "aiobreaker.state", "CircuitOpenState.__init__", "aiobreaker_state_init"),
    ("aiobreaker", "aiobreaker.state", "CircuitHalfOpenState.__init__", "aiobreaker_state_init"),
    ("aiobreaker", "aiobreaker.circuitbreaker", "CircuitBreaker.call", "aiobreaker_call"),
    ("aiobreaker", "aiobreaker.circuitbreaker", "CircuitBreaker.call_async", "aiobreaker_call_async"),
    ("purgatory", "purgatory.domain.model", "Context.__enter__", "purgatory_enter"),
    ("purgatory", "purgatory.domain.model", "Context.__exit__", "purgatory_exit"),
    ("purgatory", "purgatory.domain.model", "Context.set_state", "purgatory_set_state"),
)
_BREAKERS: Final = "otel_aierrors._patches.breakers"

#: (distribution, module, attribute path, wrapper factory's name in `otel_aierrors._patches.app_retries`):
#: the application's retry libraries, neither a dependency, patched when it imports them. backoff's
#: decorators call the ``retry_*`` of these two modules by module attribute, at decoration time.
APP_RETRY_ROWS: Final = (
    ("tenacity", "tenacity", "Retrying.__call__", "tenacity_call"),
    ("tenacity", "tenacity", "AsyncRetrying.__call__", "tenacity_async_call"),
    ("backoff", "backoff._sync", "retry_exception", "backoff_sync_retry"),
    ("backoff", "backoff._sync", "retry_predicate", "backoff_sync_retry"),
    ("backoff", "backoff._async", "retry_exception", "backoff_async_retry"),
    ("backoff", "backoff._async", "retry_predicate", "backoff_async_retry"),
)
_APP_RETRIES: Final = "otel_aierrors._patches.app_retries"


def _named(telemetry: Telemetry, *, module: str, factory: str) -> Wrapper:
    """The wrapper ``module.factory(telemetry)`` builds, ``module`` imported when the hook fires (a framework's,
    a breaker library's or a retry library's import is under way)."""
    import importlib

    build: Callable[[Telemetry], Wrapper] = getattr(importlib.import_module(module), factory)
    return build(telemetry)


def _rows() -> tuple[PatchTarget, ...]:
    rows: list[PatchTarget] = []
    for row in SDK_ROWS:
        for module, attribute, is_async in row.targets:
            build = functools.partial(_call_boundary, row=row, is_async=is_async)
            rows.append(PatchTarget(row.distribution, module, attribute, build, call_boundary=True))
        for module, attribute, name in row.extra_patches:
            extra = functools.partial(_extra, row=row, name=name)
            rows.append(PatchTarget(row.distribution, module, attribute, extra, optional=True))
    for module, attribute, name in TRANSPORT_ROWS:
        rows.append(PatchTarget(module, module, attribute, functools.partial(_transport, name=name), kind=HTTP))
    for framework in FRAMEWORK_ROWS:
        build = functools.partial(_named, module=framework.factory_module, factory=framework.factory)
        rows.append(
            PatchTarget(
                framework.library, framework.module, framework.attribute, build, framework.optional, kind=FRAMEWORK
            )
        )
    for library, module, attribute, factory in BREAKER_ROWS:
        build = functools.partial(_named, module=_BREAKERS, factory=factory)
        rows.append(PatchTarget(library, module, attribute, build, kind=BREAKER))
    for library, module, attribute, factory in APP_RETRY_ROWS:
        build = functools.partial(_named, module=_APP_RETRIES, factory=factory)
        rows.append(PatchTarget(library, module, attribute, build, kind=APP_RETRY))
    return tuple(rows)


#: Every callable this package wraps: the SDKs' ``request()`` (their call
#: boundary), their extra hooks, ``send`` of the HTTP clients, the frameworks'
#: fallback, retry and re-ask entry points (`otel_aierrors._frameworks`), the
#: circuit breakers' passes and state changes (`otel_aierrors._patches.breakers`),
#: then the runs of tenacity and backoff (`otel_aierrors._patches.app_retries`).
PATCH_TARGETS: Final = _rows()


def sdk_modules() -> dict[str, str]:
    """The module of each SDK's call boundary, by distribution name, in table order."""
    return {target.library: target.module for target in PATCH_TARGETS if target.call_boundary}
