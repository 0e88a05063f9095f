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

Configuration
-------------
``instrument(tracer_provider=..., meter_provider=...)`` like every contrib
instrumentor. Without them, telemetry goes to the global providers, also to
those the application sets after ``instrument()``. If none is set by the first
instrumented call, the SDK is set up then, by OpenTelemetry's own configurator,
from the standard ``OTEL_*`` variables (OTLP over http/protobuf by default; see
``otel_aierrors._setup``); ``OTEL_AIERRORS_AUTO_SETUP=false`` disables that.

Every emitted name is listed in ``docs/telemetry.md``.
"""

from __future__ import annotations

import importlib
from collections.abc import Collection
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from otel_aierrors import _app_retries, _fallback, _setup
from otel_aierrors._fallback import FallbackScope, awith_fallback, fallback_scope, with_fallback
from otel_aierrors._patches.openai_sdk import OPENAI_TARGETS
from otel_aierrors._patches.transport import TRANSPORT_TARGETS, importable
from otel_aierrors._recording import Telemetry
from otel_aierrors._taxonomy import ErrorClass
from otel_aierrors.package import _instruments
from otel_aierrors.version import __version__

__all__ = [
    "AIErrorsInstrumentor",
    "ErrorClass",
    "FallbackScope",
    "__version__",
    "awith_fallback",
    "fallback_scope",
    "instrument",
    "uninstrument",
    "with_fallback",
]

_SCHEMA_URL = "https://opentelemetry.io/schemas/1.37.0"


class AIErrorsInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments the OpenAI SDK: a span per call, a span per HTTP attempt, metrics."""

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _instrument(self, **kwargs: Any) -> None:
        tracer_provider = kwargs.get("tracer_provider")
        meter_provider = kwargs.get("meter_provider")
        if tracer_provider is None and meter_provider is None:
            _setup.arm()  # the SDK is set up at the first call, only if the application set none by then
        tracer = trace.get_tracer(__name__, __version__, tracer_provider, schema_url=_SCHEMA_URL)
        meter = metrics.get_meter(__name__, __version__, meter_provider, schema_url=_SCHEMA_URL)
        telemetry = Telemetry(tracer, meter)
        for module, name, factory in OPENAI_TARGETS:
            wrap_function_wrapper(module, name, factory(telemetry))
        for module, name, wrapper in TRANSPORT_TARGETS:
            if importable(module):
                wrap_function_wrapper(module, name, wrapper)
        _fallback.activate(telemetry)
        _app_retries.install()

    def _uninstrument(self, **kwargs: Any) -> None:
        _setup.disarm()
        _app_retries.uninstall()
        _fallback.deactivate()
        for module, name, _ in (*OPENAI_TARGETS, *TRANSPORT_TARGETS):
            if importable(module):
                owner_name, method = name.rsplit(".", 1)
                unwrap(getattr(importlib.import_module(module), owner_name), method)


def instrument(**kwargs: Any) -> None:
    """Instrument the installed AI SDKs; see `AIErrorsInstrumentor` for the arguments."""
    AIErrorsInstrumentor().instrument(**kwargs)


def uninstrument() -> None:
    """Restore every patched callable."""
    AIErrorsInstrumentor().uninstrument()
