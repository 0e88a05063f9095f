"""The one table of patch targets, read by `instrument`, `uninstrument` and ``doctor``.

Each row names the module that holds a callable, the callable's path in it
and how to build its wrapper for one instrumentation's telemetry. A row is
applied when its module is imported (`otel_aierrors._patches.on_import`), so
building the table imports no SDK and no HTTP library: it only reads
`otel_aierrors._sdks.SDK_ROWS` and the frameworks' rows, whose wrappers it
names instead of importing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from otel_aierrors._frameworks import FRAMEWORK_ROWS, FrameworkRow
from otel_aierrors._sdks import SDK_ROWS, SdkRow

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


def _framework(telemetry: Telemetry, *, row: FrameworkRow) -> Wrapper:
    """A framework's wrapper, its module imported when its hook fires (the framework is being imported)."""
    import importlib

    factory: Callable[[Telemetry], Wrapper] = getattr(importlib.import_module(row.factory_module), row.factory)
    return factory(telemetry)


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
        rows.append(PatchTarget(module, module, attribute, functools.partial(_transport, name=name)))
    for framework in FRAMEWORK_ROWS:
        build = functools.partial(_framework, row=framework)
        rows.append(PatchTarget(framework.library, framework.module, framework.attribute, build, framework.optional))
    return tuple(rows)


#: Every callable this package wraps: the SDKs' ``request()`` (their call
#: boundary), their extra hooks, ``send`` of the HTTP clients, then the
#: frameworks' fallback, retry and re-ask entry points (`otel_aierrors._frameworks`).
PATCH_TARGETS: Final = _rows()


def sdk_modules() -> dict[str, str]:
    """The module of each SDK's call boundary, by distribution name, in table order."""
    return {target.library: target.module for target in PATCH_TARGETS if target.call_boundary}
