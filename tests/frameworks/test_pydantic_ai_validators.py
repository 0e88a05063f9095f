"""pydantic-ai's output retries: one agent run is one application retry, each output retry a rejection.

A real pydantic-ai ``Agent`` over the real openai SDK (``OpenAIChatModel``),
against the chaos server. The output tool's call comes back from the chaos
server as ``{"location": "Paris"}``; ``x-chaos-sequence`` gives each of
pydantic-ai's requests its own step for prompted (text) output.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

pydantic_ai = pytest.importorskip("pydantic_ai")

import openai  # noqa: E402
import pydantic  # noqa: E402
from opentelemetry.sdk.trace import ReadableSpan  # noqa: E402
from opentelemetry.trace import SpanKind, StatusCode  # noqa: E402
from pydantic_ai import Agent, ModelRetry, PromptedOutput  # noqa: E402
from pydantic_ai.exceptions import UnexpectedModelBehavior  # noqa: E402
from pydantic_ai.models.openai import OpenAIChatModel  # noqa: E402
from pydantic_ai.providers.openai import OpenAIProvider  # noqa: E402

from otel_aierrors.chaos import ChaosServer, script_headers  # noqa: E402
from tests.conftest import API_KEY, Telemetry, assert_same_exception, raised  # noqa: E402

#: The output tool's call the chaos server answers: ``{"location": "Paris"}`` for the first tool sent.
TOOL_CALL = "ok;tool_calls=1"
WRONG_SHAPE = "ok;content=" + json.dumps({"town": "Paris"}).replace(",", "%2C")
GOOD = "ok;content=" + json.dumps({"location": "Paris"}).replace(",", "%2C")


class Weather(pydantic.BaseModel):
    location: str


class Runner:
    """Runs an agent with ``run_sync`` or ``await run``, over a fresh client that sends ``steps``."""

    def __init__(self, mode: str, chaos: ChaosServer) -> None:
        self.mode = mode
        self.chaos = chaos

    def __call__(
        self, build: Callable[[OpenAIChatModel], Agent[None, Any]], *steps: str, instrument: Any = None
    ) -> Any:
        headers = script_headers(*steps, sequence=uuid.uuid4().hex)
        client = openai.AsyncOpenAI(
            base_url=self.chaos.base_url, api_key=API_KEY, max_retries=0, default_headers=headers
        )
        agent = build(OpenAIChatModel("gpt-4o", provider=OpenAIProvider(openai_client=client)))
        if instrument is not None:
            agent.instrument = instrument  # pydantic-ai's own OpenTelemetry spans
        if self.mode == "sync":
            # run_sync drives the thread's event loop; the test owns it, and closes it.
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                return agent.run_sync("Weather in Paris?").output
            finally:
                loop.run_until_complete(client.close())
                asyncio.set_event_loop(None)
                loop.close()

        async def ask() -> Any:
            try:
                return (await agent.run("Weather in Paris?")).output
            finally:
                await client.close()

        return asyncio.run(ask())


@pytest.fixture(params=["sync", "async"])
def run(request: pytest.FixtureRequest, chaos: ChaosServer) -> Runner:
    return Runner(request.param, chaos)


def rejecting(times: int | None, output_type: Any = Weather, retries: int = 2) -> Callable[[OpenAIChatModel], Any]:
    """An agent whose output validator raises ``ModelRetry`` ``times`` times (None: always), then accepts."""

    def build(model: OpenAIChatModel) -> Agent[None, Any]:
        agent = Agent(model, output_type=output_type, retries={"output": retries}, name="weather")
        seen: list[Weather] = []

        @agent.output_validator
        def check(output: Weather) -> Weather:
            seen.append(output)
            if times is None or len(seen) <= times:
                raise ModelRetry("Say which country too.")
            return output

        return agent

    return build


def retry_span(telemetry: Telemetry) -> ReadableSpan:
    return telemetry.internal_span("retry weather")


def under(telemetry: Telemetry, parent: ReadableSpan, spans: list[ReadableSpan]) -> list[ReadableSpan]:
    mine = [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]
    return sorted(mine, key=lambda s: s.start_time or 0)


def rejections(telemetry: Telemetry) -> list[ReadableSpan]:
    return [s for s in telemetry.spans() if s.name.startswith("invalid_output")]


def test_a_validator_rejecting_once_is_two_attempts_of_one_run_the_first_rejected(
    run: Runner, telemetry: Telemetry
) -> None:
    output = run(rejecting(1), TOOL_CALL)

    assert output == Weather(location="Paris")
    span = retry_span(telemetry)
    assert span.status.status_code is StatusCode.UNSET
    assert dict(span.attributes) == {"aierrors.app_retry.library": "pydantic-ai", "aierrors.app_retry.attempt": 2}
    first, second = under(telemetry, span, telemetry.call_spans())
    assert [c.attributes["aierrors.app_retry.attempt"] for c in (first, second)] == [1, 2]
    assert "aierrors.app_retry.reason" not in first.attributes
    assert second.attributes["aierrors.app_retry.reason"] == "invalid_output"
    [rejection] = under(telemetry, span, rejections(telemetry))
    assert rejection.name == "invalid_output validation"
    assert rejection.attributes["gen_ai.response.id"] == first.attributes["gen_ai.response.id"]
    assert [link.context.span_id for link in rejection.links] == [first.context.span_id]
    assert telemetry.count("aierrors.rejections", aierrors__rejection__reason="validation") == 1


def test_a_validator_rejecting_every_answer_raises_pydantic_ais_own_error_and_the_scope_is_invalid_output(
    run: Runner, telemetry: Telemetry
) -> None:
    error = raised(lambda: run(rejecting(None, retries=1), TOOL_CALL))
    plain = telemetry.uninstrumented(lambda: run(rejecting(None, retries=1), TOOL_CALL))

    assert isinstance(error, UnexpectedModelBehavior)
    assert_same_exception(error, plain)
    assert_same_exception(error.__cause__, plain.__cause__)
    span = retry_span(telemetry)
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "invalid_output"
    assert span.attributes["aierrors.soft_failure"] == "invalid_output"
    calls = under(telemetry, span, telemetry.call_spans())
    assert [c.attributes["aierrors.app_retry.attempt"] for c in calls] == [1, 2]
    rejected = [link.context.span_id for r in under(telemetry, span, rejections(telemetry)) for link in r.links]
    assert rejected == [c.context.span_id for c in calls]


def test_prompted_output_of_the_wrong_shape_is_rejected_as_schema(run: Runner, telemetry: Telemetry) -> None:
    output = run(rejecting(0, output_type=PromptedOutput(Weather)), WRONG_SHAPE, GOOD)

    assert output == Weather(location="Paris")
    span = retry_span(telemetry)
    first, second = under(telemetry, span, telemetry.call_spans())
    [rejection] = under(telemetry, span, rejections(telemetry))
    assert rejection.name == "invalid_output schema"
    assert [link.context.span_id for link in rejection.links] == [first.context.span_id]
    assert second.attributes["aierrors.app_retry.reason"] == "invalid_output"


def test_a_run_whose_answer_is_accepted_rejects_nothing(run: Runner, telemetry: Telemetry) -> None:
    assert run(rejecting(0), TOOL_CALL) == Weather(location="Paris")

    span = retry_span(telemetry)
    assert span.status.status_code is StatusCode.UNSET
    assert span.attributes["aierrors.app_retry.attempt"] == 1
    assert rejections(telemetry) == []
    assert telemetry.count("aierrors.rejections") == 0


def test_with_pydantic_ais_own_instrumentation_its_chat_spans_carry_the_attempts_and_the_rejection_links_to_one(
    run: Runner, telemetry: Telemetry
) -> None:
    from pydantic_ai.models.instrumented import InstrumentationSettings

    settings = InstrumentationSettings(tracer_provider=telemetry.tracer_provider)
    assert run(rejecting(1), TOOL_CALL, instrument=settings) == Weather(location="Paris")

    span = retry_span(telemetry)
    agent_span = next(s for s in telemetry.spans() if s.name == "invoke_agent weather")
    calls = sorted(
        (s for s in telemetry.spans() if s.kind is SpanKind.CLIENT and s.name == "chat gpt-4o"),
        key=lambda s: s.start_time or 0,
    )
    assert len(calls) == 2  # pydantic-ai's chat spans are the call spans: none duplicated
    assert all(c.parent is not None and c.parent.span_id == agent_span.context.span_id for c in calls)
    assert [c.attributes["aierrors.app_retry.attempt"] for c in calls] == [1, 2]
    assert calls[1].attributes["aierrors.app_retry.reason"] == "invalid_output"
    [rejection] = under(telemetry, span, rejections(telemetry))
    assert [link.context.span_id for link in rejection.links] == [calls[0].context.span_id]


def test_uninstrument_restores_the_agent_and_its_state(telemetry: Telemetry) -> None:
    from pydantic_ai._agent_graph import GraphAgentState
    from pydantic_ai.agent.abstract import AbstractAgent

    import otel_aierrors

    assert hasattr(AbstractAgent.run, "__wrapped__")  # wrapped while instrumented
    assert hasattr(GraphAgentState.__init__, "__wrapped__")
    otel_aierrors.uninstrument()
    try:
        assert not hasattr(AbstractAgent.run, "__wrapped__")
        assert not hasattr(GraphAgentState.__init__, "__wrapped__")
    finally:
        otel_aierrors.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
