"""pydantic-ai's `FallbackModel`: one request is one ``fallback pydantic-ai`` scope, each model tried a hop.

Real pydantic-ai over the real openai SDK (``OpenAIChatModel`` on an
``OpenAIProvider`` whose ``AsyncOpenAI`` points at the chaos server, the SDK's
own retries off so each model makes one attempt), over HTTP on 127.0.0.1. The
primary model's client sends ``x-chaos-script: overloaded`` (a 503, class
``overloaded`` in `otel_aierrors._taxonomy`), the fallback's ``ok``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("pydantic_ai")

import openai
import wrapt
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode
from pydantic_ai import Agent
from pydantic_ai.models.fallback import FallbackModel
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

import otel_aierrors
from otel_aierrors.chaos import ChaosServer
from tests.conftest import Telemetry, assert_same_exception, raised

PRIMARY = "gpt-4o"
FALLBACK = "gpt-4o-mini"


class Models:
    """A `FallbackModel` (primary, fallback) over two new ``AsyncOpenAI`` clients, closed after the run.

    A client binds to the event loop that first uses it, so each run builds its own.
    """

    def __init__(self, chaos: ChaosServer, primary: str, fallback: str) -> None:
        tag = uuid.uuid4().hex
        self.clients = [
            openai.AsyncOpenAI(
                base_url=chaos.base_url,
                api_key="dummy",
                max_retries=0,
                default_headers={"x-chaos-script": script, "x-chaos-tag": tag},
            )
            for script in (primary, fallback)
        ]
        self.model = FallbackModel(
            *(
                OpenAIChatModel(name, provider=OpenAIProvider(openai_client=client))
                for name, client in zip((PRIMARY, FALLBACK), self.clients, strict=True)
            )
        )

    async def close(self) -> None:
        for client in self.clients:
            await client.close()


def run(
    chaos: ChaosServer, mode: str, primary: str = "overloaded", fallback: str = "ok", instrument: Any = None
) -> str:
    """One agent run over a `FallbackModel`: ``run_sync``, ``await run`` or ``run_stream``
    (which goes through ``request_stream``)."""
    models = Models(chaos, primary, fallback)
    agent = Agent(models.model)
    if instrument is not None:
        agent.instrument = instrument  # pydantic-ai's own OpenTelemetry spans
    if mode == "sync":
        # run_sync drives the thread's event loop; the test owns it, and closes it.
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            return str(agent.run_sync("hello").output)
        finally:
            loop.run_until_complete(models.close())
            asyncio.set_event_loop(None)
            loop.close()

    async def ask() -> str:
        try:
            if mode == "async":
                return str((await agent.run("hello")).output)
            async with agent.run_stream("hello") as result:
                return "".join([text async for text in result.stream_text(delta=True)])
        finally:
            await models.close()

    return asyncio.run(ask())


def plain(telemetry: Telemetry, make: Callable[[], object]) -> object:
    """What ``make()`` returns with the instrumentation off."""
    otel_aierrors.uninstrument()
    try:
        return make()
    finally:
        otel_aierrors.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)


def ours(telemetry: Telemetry) -> list[ReadableSpan]:
    return [span for span in telemetry.spans() if span.instrumentation_scope.name.startswith("otel_aierrors")]


def scope_span(telemetry: Telemetry) -> ReadableSpan:
    return telemetry.internal_span("fallback pydantic-ai")


def hops_under(telemetry: Telemetry, parent: ReadableSpan) -> list[ReadableSpan]:
    calls = [
        span
        for span in telemetry.call_spans()
        if "aierrors.fallback.hop" in span.attributes
        and span.parent is not None
        and span.parent.span_id == parent.context.span_id
    ]
    return sorted(calls, key=lambda span: span.attributes["aierrors.fallback.hop"])


MODES = ["sync", "async", "stream"]


@pytest.mark.parametrize("mode", MODES)
def test_fallback_model_after_a_503_on_the_primary_is_one_scope_with_hop_0_to_1_reason_overloaded(
    chaos: ChaosServer, telemetry: Telemetry, mode: str
) -> None:
    expected = plain(telemetry, lambda: run(chaos, mode))
    telemetry.exporter.clear()

    output = run(chaos, mode)

    assert output == expected
    scope = scope_span(telemetry)
    assert scope.attributes["aierrors.fallback.name"] == "pydantic-ai"
    assert scope.attributes["aierrors.outcome"] == "ok"
    assert scope.attributes["aierrors.fallback.hops"] == 2
    assert scope.attributes["aierrors.fallback.succeeded_hop"] == 1
    assert scope.status.status_code is StatusCode.UNSET
    primary, fallback = hops_under(telemetry, scope)
    assert primary.attributes["aierrors.fallback.hop"] == 0
    assert primary.attributes["gen_ai.request.model"] == PRIMARY
    assert primary.attributes["aierrors.outcome"] == "error"
    assert primary.attributes["aierrors.error.class"] == "overloaded"
    assert [a.attributes["http.response.status_code"] for a in telemetry.attempt_spans(primary)] == [503]
    assert "aierrors.fallback.kind" not in primary.attributes
    assert fallback.attributes["aierrors.fallback.hop"] == 1
    assert fallback.attributes["aierrors.fallback.kind"] == "model"
    assert fallback.attributes["aierrors.fallback.reason"] == "overloaded"
    assert fallback.attributes["aierrors.fallback.from_model"] == PRIMARY
    assert fallback.attributes["aierrors.fallback.to_model"] == FALLBACK
    assert fallback.attributes["aierrors.outcome"] == "ok"
    assert [a.attributes["http.response.status_code"] for a in telemetry.attempt_spans(fallback)] == [200]
    hop_points = [p for p in telemetry.points("aierrors.fallback.hops") if p.value]
    assert [(dict(p.attributes)["aierrors.fallback.reason"], p.value) for p in hop_points] == [("overloaded", 1)]


@pytest.mark.parametrize("mode", MODES)
def test_every_model_failing_raises_what_pydantic_ai_raises_and_the_scope_is_an_error(
    chaos: ChaosServer, telemetry: Telemetry, mode: str
) -> None:
    expected = telemetry.uninstrumented(lambda: run(chaos, mode, "overloaded", "server_error"))
    telemetry.exporter.clear()

    error = raised(lambda: run(chaos, mode, "overloaded", "server_error"))

    assert_same_exception(error, expected)
    scope = scope_span(telemetry)
    assert scope.attributes["aierrors.outcome"] == "error"
    assert scope.status.status_code is StatusCode.ERROR
    # pydantic-ai raises a FallbackExceptionGroup of every model's error: the last call's class.
    assert scope.attributes["aierrors.error.class"] == "server_error"
    assert "aierrors.fallback.succeeded_hop" not in scope.attributes
    primary, fallback = hops_under(telemetry, scope)
    assert primary.attributes["aierrors.error.class"] == "overloaded"
    assert fallback.attributes["aierrors.fallback.reason"] == "overloaded"
    assert fallback.attributes["aierrors.error.class"] == "server_error"


def test_a_primary_that_answers_is_hop_0_of_a_scope_without_a_hop(chaos: ChaosServer, telemetry: Telemetry) -> None:
    output = run(chaos, "sync", "ok", "ok")

    assert output == plain(telemetry, lambda: run(chaos, "sync", "ok", "ok"))
    scope = scope_span(telemetry)
    assert scope.attributes["aierrors.fallback.hops"] == 1
    assert scope.attributes["aierrors.fallback.succeeded_hop"] == 0
    (primary,) = hops_under(telemetry, scope)
    assert primary.attributes["gen_ai.request.model"] == PRIMARY
    assert "aierrors.fallback.reason" not in primary.attributes


def test_with_pydantic_ais_own_instrumentation_our_scope_nests_under_its_chat_span_without_duplicate_calls(
    chaos: ChaosServer, telemetry: Telemetry
) -> None:
    from pydantic_ai.models.instrumented import InstrumentationSettings

    settings = InstrumentationSettings(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    expected = plain(telemetry, lambda: run(chaos, "sync", instrument=settings))
    telemetry.exporter.clear()

    output = run(chaos, "sync", instrument=settings)

    assert output == expected
    scope = scope_span(telemetry)
    theirs = {span.context.span_id: span for span in telemetry.spans() if span not in ours(telemetry)}
    # pydantic-ai's ``chat`` span covers the whole FallbackModel request (named after the
    # model that answered); being current when the scope began, it is not taken as a call's.
    assert scope.parent is not None and scope.parent.span_id in theirs
    chat = theirs[scope.parent.span_id]
    assert chat.kind is SpanKind.CLIENT
    assert chat.name == f"chat {FALLBACK}"
    assert not any(key.startswith("aierrors.") for key in chat.attributes)
    # One call span of ours per SDK call, each with its attempt; no call of ours is duplicated.
    calls = [span for span in ours(telemetry) if span.name.startswith("chat ")]
    assert sorted(span.name for span in calls) == [f"chat {PRIMARY}", f"chat {FALLBACK}"]
    assert hops_under(telemetry, scope) == sorted(calls, key=lambda s: s.attributes["aierrors.fallback.hop"])
    assert [len(telemetry.attempt_spans(call)) for call in calls] == [1, 1]
    # The gen_ai.* metrics are pydantic-ai's (its request's token usage), not recorded twice;
    # the aierrors.* metrics are ours.
    genai_scopes = {
        scope_metrics.scope.name
        for resource_metrics in telemetry.reader.get_metrics_data().resource_metrics
        for scope_metrics in resource_metrics.scope_metrics
        for metric in scope_metrics.metrics
        if metric.name.startswith("gen_ai.")
    }
    assert genai_scopes == {"pydantic-ai"}
    assert telemetry.count("aierrors.calls") == 2


def test_uninstrument_restores_fallback_model_and_records_nothing(chaos: ChaosServer, telemetry: Telemetry) -> None:
    assert isinstance(vars(FallbackModel)["request"], wrapt.FunctionWrapper)
    assert isinstance(vars(FallbackModel)["request_stream"], wrapt.FunctionWrapper)
    otel_aierrors.uninstrument()
    try:
        assert not isinstance(vars(FallbackModel)["request"], wrapt.FunctionWrapper)
        assert not isinstance(vars(FallbackModel)["request_stream"], wrapt.FunctionWrapper)
        assert run(chaos, "stream")
        assert telemetry.spans() == []
    finally:
        otel_aierrors.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    assert isinstance(vars(FallbackModel)["request"], wrapt.FunctionWrapper)
