"""`AIErrorsInstrumentor`: the contrib ``BaseInstrumentor`` face of the instrumentation.

``opentelemetry-instrument`` loads it through the ``opentelemetry_instrumentor``
entry point (``otel_aierrors:AIErrorsInstrumentor``), and applications that
use instrumentors call it as they call the others. It imports
``opentelemetry.instrumentation.instrumentor`` (with ``packaging`` and
``importlib.metadata`` for its dependency check), so ``otel_aierrors.instrument()``
does not go through it: both drive `otel_aierrors._instrumentation.INSTRUMENTATION`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from opentelemetry.instrumentation.dependencies import DependencyConflict
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from otel_aierrors._instrumentation import INSTRUMENTATION, dependency_conflict
from otel_aierrors.package import _instruments_any

__all__ = ["AIErrorsInstrumentor"]


class AIErrorsInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments every installed generated AI SDK: a span per call, a span per HTTP attempt, metrics.

    Nothing is imported: each SDK (and ``httpx`` / ``httpx2``) is patched when
    the application imports it, or at once if it already has.
    """

    @property
    def _is_instrumented_by_opentelemetry(self) -> bool:
        # The process's one state, also when ``otel_aierrors.instrument()`` changed it.
        return INSTRUMENTATION.instrumented

    @_is_instrumented_by_opentelemetry.setter
    def _is_instrumented_by_opentelemetry(self, _value: bool) -> None:
        """``BaseInstrumentor`` sets it after `_instrument` / `_uninstrument`, which set the state already."""

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments_any

    def _check_dependency_conflicts(self) -> DependencyConflict | None:
        # Any one installed SDK is enough (``_instruments_any``), whatever the
        # installed opentelemetry-instrumentation's own support for that.
        return dependency_conflict()

    def _instrument(self, **kwargs: Any) -> None:
        INSTRUMENTATION.start(check_dependencies=False, **kwargs)  # BaseInstrumentor checked them

    def _uninstrument(self, **kwargs: Any) -> None:
        INSTRUMENTATION.stop()

    def patch_status(self) -> tuple[frozenset[str], frozenset[str]]:
        """(modules patched now, modules watched) in this process; both empty when not instrumented."""
        return INSTRUMENTATION.patch_status()
