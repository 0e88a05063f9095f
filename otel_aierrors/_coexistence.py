"""Living beside another instrumentation that already makes the call span.

The official ``opentelemetry-instrumentation-openai-v2`` / ``genai-openai``,
OpenLLMetry and OpenInference wrap the SDK's resource methods
(``chat.completions.create``), outside the ``request()`` this package wraps,
so their span is current when the call starts here. With two call spans per
call and the ``gen_ai.*`` metrics recorded twice, dashboards would count every
call twice. In ``attach`` mode the other instrumentation owns the call span
and the ``gen_ai.*`` metrics; this package adds the attempt spans under that
span, its ``aierrors.*`` attributes on it (while it records) and the
``aierrors.*`` metrics. ``auto`` (the default) attaches when the current span
is such a GenAI span; ``own`` always makes its own call span.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Final

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind

__all__ = ["CALL_SPAN_MODES", "ENV_CALL_SPANS", "call_span_mode", "host_call_span"]

CALL_SPAN_MODES: Final = ("auto", "own", "attach")
#: Chooses the mode when ``instrument(call_spans=...)`` does not.
ENV_CALL_SPANS: Final = "OTEL_AIERRORS_CALL_SPANS"

#: Attributes that mark a span as another GenAI instrumentation's call span:
#: the GenAI conventions (official instrumentations, OpenLLMetry, the anthropic
#: SDK's native spans) and OpenInference's span kind.
_GENAI_MARKERS: Final = ("gen_ai.operation.name", "gen_ai.system", "gen_ai.provider.name", "openinference.span.kind")


def call_span_mode(explicit: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The mode from ``instrument(call_spans=...)``, else the environment (default ``os.environ``), else ``auto``."""
    mode = (explicit or (os.environ if environ is None else environ).get(ENV_CALL_SPANS) or "auto").strip().lower()
    return mode if mode in CALL_SPAN_MODES else "auto"


def host_call_span(mode: str, context: Context | None = None) -> Span | None:
    """The other instrumentation's call span current in ``context`` (default: now), to attach to;
    None to make one's own."""
    if mode == "own":
        return None
    span = trace.get_current_span(context)
    if not span.is_recording():
        return None
    if mode == "attach":
        return span
    attributes = getattr(span, "attributes", None)
    if not isinstance(attributes, Mapping):
        return None
    if getattr(span, "kind", None) is not SpanKind.CLIENT and "openinference.span.kind" not in attributes:
        return None
    return span if any(marker in attributes for marker in _GENAI_MARKERS) else None


def is_own_attribute(name: str) -> bool:
    """Whether an attribute may be set on another instrumentation's span (only this package's own)."""
    return name.startswith("aierrors.")
