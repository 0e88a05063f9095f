"""The one table of patch targets, read by `instrument`, `uninstrument` and ``doctor``.

Each row names the module that holds a callable, the callable's path in it
and how to build its wrapper for one instrumentation's telemetry. A row is
applied when its module is imported (`otel_aierrors._patches.on_import`), so
building the table imports no SDK and no HTTP library: it only reads
`otel_aierrors._sdks.ADAPTERS` and the transport wrappers.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from otel_aierrors._frameworks import FRAMEWORK_ROWS, FrameworkRow
from otel_aierrors._sdks import ADAPTERS, SdkAdapter

if TYPE_CHECKING:
    from otel_aierrors._recording import Telemetry

__all__ = ["PATCH_TARGETS", "PatchTarget", "Wrapper", "sdk_modules"]

#: A ``wrapt`` function wrapper: (wrapped, instance, args, kwargs) -> result.
Wrapper = Callable[[Callable[..., Any], Any, tuple[Any, ...], dict[str, Any]], Any]


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


def _fixed(wrapper: Wrapper) -> Callable[[Telemetry], Wrapper]:
    """A wrapper that needs no telemetry (the transport and the SDK-span hooks read the current call)."""

    def build(_telemetry: Telemetry) -> Wrapper:
        return wrapper

    return build


def _call_boundary(telemetry: Telemetry, *, adapter: SdkAdapter, is_async: bool) -> Wrapper:
    """`otel_aierrors._patches.calls.call_wrapper`, imported when the SDK's hook fires (it loads the call records)."""
    from otel_aierrors._patches.calls import call_wrapper

    return call_wrapper(telemetry, adapter=adapter, is_async=is_async)


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


def _framework(telemetry: Telemetry, *, row: FrameworkRow) -> Wrapper:
    """A framework's wrapper, its module imported when its hook fires (the framework is being imported)."""
    import importlib

    factory: Callable[[Telemetry], Wrapper] = getattr(importlib.import_module(row.factory_module), row.factory)
    return factory(telemetry)


def _distribution(adapter: SdkAdapter) -> str:
    return adapter.requirement.split()[0]


def _rows() -> tuple[PatchTarget, ...]:
    rows: list[PatchTarget] = []
    for adapter in ADAPTERS:
        for module, attribute, is_async in adapter.targets:
            build = functools.partial(_call_boundary, adapter=adapter, is_async=is_async)
            rows.append(PatchTarget(_distribution(adapter), module, attribute, build, call_boundary=True))
        for module, attribute, wrapper in adapter.extra_patches:
            rows.append(PatchTarget(_distribution(adapter), module, attribute, _fixed(wrapper), optional=True))
    for module, attribute, name in TRANSPORT_ROWS:
        rows.append(PatchTarget(module, module, attribute, functools.partial(_transport, name=name)))
    for row in FRAMEWORK_ROWS:
        build = functools.partial(_framework, row=row)
        rows.append(PatchTarget(row.library, row.module, row.attribute, build, optional=row.optional))
    return tuple(rows)


#: Every callable this package wraps: the SDKs' ``request()`` (their call
#: boundary), their extra hooks, ``send`` of the HTTP clients, then the
#: frameworks' fallback, retry and re-ask entry points (`otel_aierrors._frameworks`).
PATCH_TARGETS: Final = _rows()


def sdk_modules() -> dict[str, str]:
    """The module of each SDK's call boundary, by distribution name, in table order."""
    return {target.library: target.module for target in PATCH_TARGETS if target.call_boundary}
