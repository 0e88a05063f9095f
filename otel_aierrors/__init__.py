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

Every emitted name is listed in ``docs/telemetry.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

from otel_aierrors._instrumentation import INSTRUMENTATION
from otel_aierrors.version import __version__

if TYPE_CHECKING:
    from otel_aierrors._fallback import FallbackScope, awith_fallback, fallback_scope, with_fallback
    from otel_aierrors._instrumentor import AIErrorsInstrumentor
    from otel_aierrors._rejections import answer_check, reject
    from otel_aierrors._taxonomy import ErrorClass

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

#: The public names imported on first use (PEP 562), by module: ``import otel_aierrors``
#: loads only what `instrument` needs to register its hooks (issue 28).
_LAZY: Final = {
    "AIErrorsInstrumentor": "otel_aierrors._instrumentor",
    "ErrorClass": "otel_aierrors._taxonomy",
    "FallbackScope": "otel_aierrors._fallback",
    "awith_fallback": "otel_aierrors._fallback",
    "fallback_scope": "otel_aierrors._fallback",
    "with_fallback": "otel_aierrors._fallback",
    "answer_check": "otel_aierrors._rejections",
    "reject": "otel_aierrors._rejections",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


def instrument(**kwargs: Any) -> None:
    """Instrument the installed AI SDKs; see `AIErrorsInstrumentor` for the arguments.

    Registers the post-import hooks and imports nothing else: the recording
    machinery is loaded by the first hook that fires (an SDK's import).
    """
    INSTRUMENTATION.instrument(**kwargs)


def uninstrument() -> None:
    """Restore every patched callable."""
    INSTRUMENTATION.uninstrument()
