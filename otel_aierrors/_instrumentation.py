"""The instrumentation of this process: what ``instrument()`` starts and ``uninstrument()`` stops.

``otel_aierrors.instrument()`` must cost nothing until an SDK is used (issue
28): it reads its settings and registers the post-import hooks, and imports
neither an SDK nor the recording machinery (`otel_aierrors._recording`, the
call and attempt records, the metric API) nor
``opentelemetry.instrumentation.instrumentor``. Those are imported by the
first hook that fires, inside an import of an SDK or of ``httpx`` that
already costs far more. The contrib ``BaseInstrumentor`` is used only by
`otel_aierrors._instrumentor.AIErrorsInstrumentor` (the
``opentelemetry-instrument`` entry point, which has imported it already); both
drive the one `INSTRUMENTATION` of the process, so either can undo the other.

`Instrumentation.instrument` behaves as ``BaseInstrumentor.instrument`` does,
with one difference of timing: the dependency check (is any supported SDK
installed?) needs ``importlib.metadata`` and ``packaging``, so it runs at the
first hook instead; when it fails, that hook logs the same error and nothing
is patched.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from otel_aierrors import _setup
from otel_aierrors._patches.on_import import ImportPatcher
from otel_aierrors._patches.targets import PATCH_TARGETS
from otel_aierrors.version import __version__

if TYPE_CHECKING:
    from opentelemetry.instrumentation.dependencies import DependencyConflict

    from otel_aierrors._recording import Telemetry

__all__ = ["INSTRUMENTATION", "SCOPE_NAME", "Instrumentation", "dependency_conflict"]

#: The instrumentation scope of every span and metric (the package's name, as before the split).
SCOPE_NAME: Final = "otel_aierrors"
#: The instrumentor's name in ``BaseInstrumentor``'s messages.
_INSTRUMENTOR: Final = "AIErrorsInstrumentor"
#: ``BaseInstrumentor``'s logger: the already-instrumented warnings and the dependency error are logged there.
_base_logger = logging.getLogger("opentelemetry.instrumentation.instrumentor")


class _Settings(NamedTuple):
    """What ``instrument()`` read from its arguments and the environment, applied at the first hook."""

    tracer_provider: Any
    meter_provider: Any
    call_spans: str | None
    #: The environment at ``instrument()``: the ``OTEL_*`` settings are read as they were then.
    environ: Mapping[str, str]
    check_dependencies: bool
    #: The SDK set-up to make at the first call: pending only when no provider was given.
    auto_setup: _setup.AutoSetup


class Instrumentation:
    """Whether this process is instrumented, and the patcher of the modules it watches."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._patcher: ImportPatcher | None = None
        self._auto_setup = _setup.NO_AUTO_SETUP

    @property
    def instrumented(self) -> bool:
        return self._patcher is not None

    def instrument(self, **kwargs: Any) -> None:
        """``BaseInstrumentor.instrument``, without importing it; the dependency check runs at the first hook."""
        if self.instrumented:
            _base_logger.warning("Attempting to instrument while already instrumented")
            return
        check_dependencies = not kwargs.pop("skip_dep_check", False)
        kwargs.pop("raise_exception_on_conflict", None)  # asked only by auto-instrumentation, via BaseInstrumentor
        self.start(check_dependencies=check_dependencies, **kwargs)

    def uninstrument(self) -> None:
        """``BaseInstrumentor.uninstrument``, without importing it."""
        if not self.instrumented:
            _base_logger.warning("Attempting to uninstrument while already uninstrumented")
            return
        self.stop()

    def start(self, *, check_dependencies: bool, **kwargs: Any) -> None:
        """Read the settings, arm the SDK auto set-up and register the hooks; imports nothing else."""
        tracer_provider, meter_provider = kwargs.get("tracer_provider"), kwargs.get("meter_provider")
        environ = dict(os.environ)
        # Without providers, the SDK is set up at the first call, only if the application set none by then.
        no_providers = tracer_provider is None and meter_provider is None
        auto_setup = _setup.AutoSetup.armed(environ) if no_providers else _setup.NO_AUTO_SETUP
        settings = _Settings(
            tracer_provider,
            meter_provider,
            kwargs.get("call_spans"),
            environ,
            check_dependencies,
            auto_setup,
        )
        with self._lock:
            patcher = ImportPatcher(PATCH_TARGETS, build=lambda: _telemetry(settings))
            self._patcher, self._auto_setup = patcher, auto_setup
        patcher.start()

    def stop(self) -> None:
        """Unpatch everything; the hooks that have not fired will do nothing."""
        with self._lock:
            patcher, self._patcher = self._patcher, None
            auto_setup, self._auto_setup = self._auto_setup, _setup.NO_AUTO_SETUP
        auto_setup.disarm()
        if patcher is not None:
            telemetry = patcher.built_telemetry()
            if telemetry is not None:
                telemetry.enabled = False  # what reaches it later (a rejection of an earlier call) records nothing
            patcher.stop()

    def patch_status(self) -> tuple[frozenset[str], frozenset[str]]:
        """(modules patched now, modules watched) in this process; both empty when not instrumented."""
        patcher = self._patcher
        if patcher is None:
            return frozenset(), frozenset()
        return patcher.patched_modules(), patcher.watched_modules()


def dependency_conflict() -> DependencyConflict | None:
    """None when any one supported SDK is installed (``_instruments_any``), whatever contrib's own support for that."""
    from opentelemetry.instrumentation.dependencies import get_dependency_conflicts

    from otel_aierrors.package import _instruments_any

    conflicts = [get_dependency_conflicts([requirement]) for requirement in _instruments_any]
    return None if any(conflict is None for conflict in conflicts) else conflicts[0]


def _telemetry(settings: _Settings) -> Telemetry | None:
    """The telemetry of one instrumentation, built by its first hook; None when no supported SDK is installed."""
    if settings.check_dependencies:
        conflict = dependency_conflict()
        if conflict is not None:
            _base_logger.error(conflict._format_message(_INSTRUMENTOR))
            return None
    from opentelemetry import metrics, trace

    from otel_aierrors._coexistence import call_span_mode
    from otel_aierrors._genai_metrics import latest_conventions_opted_in
    from otel_aierrors._names import SCHEMA_URL
    from otel_aierrors._recording import Telemetry
    from otel_aierrors._redaction import content_capture_enabled

    settings.auto_setup.preload()  # the set-up's imports, now that an SDK is being imported, not at its first call
    tracer = trace.get_tracer(SCOPE_NAME, __version__, settings.tracer_provider, schema_url=SCHEMA_URL)
    meter = metrics.get_meter(SCOPE_NAME, __version__, settings.meter_provider, schema_url=SCHEMA_URL)
    return Telemetry(
        tracer,
        meter,
        call_span_mode(settings.call_spans, settings.environ),
        latest_genai=latest_conventions_opted_in(settings.environ),
        capture_content=content_capture_enabled(settings.environ),
        auto_setup=settings.auto_setup,
    )


#: The one instrumentation of the process, as ``BaseInstrumentor`` keeps one instance per class:
#: ``instrument()`` and ``AIErrorsInstrumentor()`` share it.
INSTRUMENTATION: Final = Instrumentation()
