"""One row of a framework's patch table, naming its wrapper without importing it."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["FrameworkRow"]


class FrameworkRow(NamedTuple):
    """A framework callable to wrap when its module is imported.

    The wrapper is ``getattr(import_module(factory_module), factory)(telemetry)``,
    resolved by the first hook that fires, so building the table imports nothing.
    """

    #: The distribution (``litellm``, ``pydantic-ai-slim``), for ``doctor``.
    library: str
    #: The module that holds the callable; the row is applied when it is imported.
    module: str
    #: The callable's dotted path in the module: ``Router.completion``.
    attribute: str
    #: The module of the wrapper factory: ``otel_aierrors._frameworks.litellm_hooks``.
    factory_module: str
    #: The factory's name there: called with the telemetry, returns a ``wrapt`` wrapper.
    factory: str
    #: Skipped when the module has no such callable (only some releases have it).
    optional: bool = False
