"""Beside another GenAI instrumentation: one call span per call, each ``gen_ai.*`` metric once.

These run where the other instrumentations are installed (CI's ``coexist``
environment); elsewhere they are skipped with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.trace import SpanKind

import otel_aierrors
from tests.conftest import SDK, Telemetry

OTHERS = {
    "genai-openai": "opentelemetry.instrumentation.genai.openai",
    "openllmetry": "opentelemetry.instrumentation.openai",
}


@pytest.fixture(params=sorted(OTHERS))
def beside(request: pytest.FixtureRequest) -> Iterator[Telemetry]:
    module = pytest.importorskip(OTHERS[request.param], reason=f"{request.param} is not installed here")
    recorded = Telemetry()
    other: Any = module.OpenAIInstrumentor()
    other.instrument(tracer_provider=recorded.tracer_provider, meter_provider=recorded.meter_provider)
    otel_aierrors.instrument(tracer_provider=recorded.tracer_provider, meter_provider=recorded.meter_provider)
    try:
        yield recorded
    finally:
        otel_aierrors.uninstrument()
        other.uninstrument()


@pytest.mark.parametrize("mode", ["sync"])
def test_one_call_span_with_our_attempts_under_it(beside: Telemetry, chaos: Any, mode: str) -> None:
    SDK(mode, chaos.base_url).call(script="rate_limit;retry_after_ms=1,ok")

    spans = beside.spans()
    calls = [
        span for span in spans if span.kind is SpanKind.CLIENT and "aierrors.attempt.number" not in span.attributes
    ]
    assert len(calls) == 1, [span.name for span in spans]
    (call,) = calls
    assert call.instrumentation_scope is not None and call.instrumentation_scope.name != "otel_aierrors"
    attempts = [span for span in spans if "aierrors.attempt.number" in span.attributes]
    assert [span.attributes["aierrors.error.class"] for span in attempts[:1]] == ["rate_limit"]
    assert len(attempts) == 2
    assert all(span.parent is not None and span.parent.span_id == call.context.span_id for span in attempts)
    assert call.attributes["aierrors.attempt.count"] == 2
    assert call.attributes["aierrors.outcome"] == "ok"


@pytest.mark.parametrize("mode", ["sync"])
def test_each_genai_metric_is_recorded_once(beside: Telemetry, chaos: Any, mode: str) -> None:
    SDK(mode, chaos.base_url).call(script="rate_limit;retry_after_ms=1,ok")

    data = beside.reader.get_metrics_data()
    scopes_by_metric: dict[str, list[str]] = {}
    for resource_metrics in data.resource_metrics if data else ():
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                scopes_by_metric.setdefault(metric.name, []).append(scope_metrics.scope.name)
    for name, scopes in scopes_by_metric.items():
        if name.startswith("gen_ai."):
            assert "otel_aierrors" not in scopes, (name, scopes)
    assert beside.count("aierrors.calls", aierrors__outcome="ok") == 1
    assert beside.count("aierrors.attempts") == 2


def test_own_mode_keeps_a_call_span_of_our_own(chaos: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    module = pytest.importorskip(OTHERS["genai-openai"], reason="genai-openai is not installed here")
    recorded = Telemetry()
    other: Any = module.OpenAIInstrumentor()
    other.instrument(tracer_provider=recorded.tracer_provider, meter_provider=recorded.meter_provider)
    otel_aierrors.instrument(
        tracer_provider=recorded.tracer_provider, meter_provider=recorded.meter_provider, call_spans="own"
    )
    try:
        SDK("sync", chaos.base_url).call(script="ok")
    finally:
        otel_aierrors.uninstrument()
        other.uninstrument()

    scopes = sorted(
        span.instrumentation_scope.name
        for span in recorded.spans()
        if span.kind is SpanKind.CLIENT
        and span.instrumentation_scope
        and "aierrors.attempt.number" not in span.attributes
    )
    assert len(scopes) == 2 and "otel_aierrors" in scopes
