"""OpenTelemetry instrumentation that makes failures of AI APIs visible.

Usage
-----
.. code:: python

    import otel_aierrors

    otel_aierrors.instrument()          # once, at start-up

    client = openai.OpenAI()
    client.chat.completions.create(model="gpt-4o-mini", messages=[...])

Each SDK call becomes one CLIENT span (``chat gpt-4o-mini``) with one child span
per HTTP attempt, the SDK's own retries included, each tagged with a normalised
error class (`ErrorClass`), whether it is retryable, the ``Retry-After`` the
server asked for and the rate-limit headers. Streams keep their call span open
until they end. ``opentelemetry-instrument python app.py`` works too, through
the ``opentelemetry_instrumentor`` entry point.

``instrument()`` imports no SDK: each SDK (and ``httpx`` / ``httpx2``) is
patched when the application imports it, or at once if it already has
(`otel_aierrors._patches.on_import`); the telemetry is the same either way.

Configuration
-------------
``instrument(tracer_provider=..., meter_provider=...)`` like every contrib
instrumentor. Without them, telemetry goes to the global providers, also to
those the application sets after ``instrument()``. If none is set by the first
instrumented call, the SDK is set up then, by OpenTelemetry's own configurator,
from the standard ``OTEL_*`` variables (OTLP over http/protobuf by default; see
``otel_aierrors._setup``); ``OTEL_AIERRORS_AUTO_SETUP=false`` disables that.

``instrument(call_spans="auto"|"own"|"attach")`` (or ``OTEL_AIERRORS_CALL_SPANS``)
says whose call span it is when another GenAI instrumentation (the official
openai-v2 / genai-openai, OpenLLMetry, OpenInference) already makes one:
``auto`` (default) attaches to it, adding the attempts, the ``aierrors.*``
attributes and metrics, and leaving the ``gen_ai.*`` metrics to it; ``own``
always makes its own. ``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental``
switches the ``gen_ai.client.*`` metrics to the latest GenAI conventions, and
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`` lets provider error
messages (which may quote the prompt) be exported, redacted.

Rejected answers
----------------
An answer the application's own check refuses (the JSON does not parse, the
schema does not validate, a guard says no) is a soft failure the provider
cannot see: ``otel_aierrors.reject(result, reason="schema")`` after the check,
or ``with otel_aierrors.answer_check(result, reason="schema"): validate(result)``,
records it (an ``invalid_output`` span linked to the call, ``aierrors.rejections``)
and makes the next fallback hop's reason ``invalid_output``.

Circuit breakers
----------------
When ``pybreaker``, ``aiobreaker`` or ``purgatory`` is installed (none is a dependency),
their breakers are followed too: each state change is an
``aierrors.breaker.state_change`` event on the current span and a point of
``aierrors.breaker.status`` / ``aierrors.breaker.transitions``, and a call the
open breaker refused is a call span with outcome ``error`` and class
``circuit_open``, no attempt.

Every emitted name is listed in ``docs/telemetry.md``.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.instrumentation.dependencies import DependencyConflict, get_dependency_conflicts
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from otel_aierrors import _app_retries, _setup
from otel_aierrors._breakers import BreakerRecorder
from otel_aierrors._coexistence import call_span_mode
from otel_aierrors._fallback import FallbackScope, awith_fallback, fallback_scope, with_fallback
from otel_aierrors._genai_metrics import latest_conventions_opted_in
from otel_aierrors._names import SCHEMA_URL
from otel_aierrors._patches.breakers import BreakerPatches
from otel_aierrors._patches.on_import import ImportPatcher
from otel_aierrors._patches.targets import PATCH_TARGETS
from otel_aierrors._recording import Telemetry
from otel_aierrors._redaction import content_capture_enabled
from otel_aierrors._rejections import answer_check, reject
from otel_aierrors._taxonomy import ErrorClass
from otel_aierrors.package import _instruments_any
from otel_aierrors.version import __version__

__all__ = [
    "AIErrorsInstrumentor",
    "ErrorClass",
    "FallbackScope",
    "__version__",
    "answer_check",
    "awith_fallback",
    "fallback_scope",
    "instrument",
    "reject",
    "uninstrument",
    "with_fallback",
]


class AIErrorsInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments every installed generated AI SDK: a span per call, a span per HTTP attempt, metrics.

    Nothing is imported: each SDK (and ``httpx`` / ``httpx2``) is patched when
    the application imports it, or at once if it already has.
    """

    _patcher: ImportPatcher | None = None

    #: The circuit-breaker patches of the current instrumentation (see `otel_aierrors._patches.breakers`).
    _breakers: BreakerPatches | None = None
    #: The telemetry of the current instrumentation, disabled at `_uninstrument`.
    _telemetry: Telemetry | None = None

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments_any

    def _check_dependency_conflicts(self) -> DependencyConflict | None:
        # Any one installed SDK is enough (``_instruments_any``), whatever the
        # installed opentelemetry-instrumentation's own support for that.
        conflicts = [get_dependency_conflicts([requirement]) for requirement in _instruments_any]
        return None if any(conflict is None for conflict in conflicts) else conflicts[0]

    def _instrument(self, **kwargs: Any) -> None:
        tracer_provider = kwargs.get("tracer_provider")
        meter_provider = kwargs.get("meter_provider")
        if tracer_provider is None and meter_provider is None:
            _setup.arm()  # the SDK is set up at the first call, only if the application set none by then
        tracer = trace.get_tracer(__name__, __version__, tracer_provider, schema_url=SCHEMA_URL)
        meter = metrics.get_meter(__name__, __version__, meter_provider, schema_url=SCHEMA_URL)
        telemetry = Telemetry(
            tracer,
            meter,
            call_span_mode(kwargs.get("call_spans")),
            latest_genai=latest_conventions_opted_in(),
            capture_content=content_capture_enabled(),
        )
        self._patcher = ImportPatcher(PATCH_TARGETS, telemetry)
        self._patcher.start()
        _app_retries.install()
        # On the instrumentor (a singleton), so that `_uninstrument` finds what this call patched.
        self._breakers = BreakerPatches(BreakerRecorder(telemetry, meter))
        self._breakers.install()
        self._telemetry = telemetry

    def _uninstrument(self, **kwargs: Any) -> None:
        _setup.disarm()
        _app_retries.uninstall()
        patcher, self._patcher = self._patcher, None
        if patcher is not None:
            patcher.stop()
        if self._breakers is not None:
            self._breakers.uninstall()
            self._breakers = None
        if self._telemetry is not None:
            self._telemetry.enabled = False
            self._telemetry = None

    def patch_status(self) -> tuple[frozenset[str], frozenset[str]]:
        """(modules patched now, modules watched) in this process; both empty when not instrumented."""
        patcher = self._patcher
        if patcher is None:
            return frozenset(), frozenset()
        return patcher.patched_modules(), patcher.watched_modules()


def instrument(**kwargs: Any) -> None:
    """Instrument the installed AI SDKs; see `AIErrorsInstrumentor` for the arguments."""
    AIErrorsInstrumentor().instrument(**kwargs)


def uninstrument() -> None:
    """Restore every patched callable."""
    AIErrorsInstrumentor().uninstrument()
