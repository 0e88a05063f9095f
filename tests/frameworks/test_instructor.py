"""Instructor's re-asks: one ``create(response_model=..., max_retries=N)`` is one application retry.

Real instructor (1.17, JSON mode) over the real openai SDK, against the chaos
server: ``x-chaos-sequence`` gives each of instructor's calls its own step
(instructor re-asks with the same headers, as a new SDK call), here valid
JSON of the wrong shape first and the right shape next.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest

instructor = pytest.importorskip("instructor")

import openai  # noqa: E402
import pydantic  # noqa: E402
from instructor.core.exceptions import InstructorRetryException  # noqa: E402
from opentelemetry.sdk.trace import ReadableSpan  # noqa: E402
from opentelemetry.trace import StatusCode  # noqa: E402

import otel_aierrors  # noqa: E402
from otel_aierrors.chaos import ChaosServer, script_headers  # noqa: E402
from tests.conftest import API_KEY, Telemetry, assert_same_exception, raised  # noqa: E402

MESSAGES: Any = [{"role": "user", "content": "Give me a city as JSON."}]
WRONG_SHAPE = "ok;content=" + json.dumps({"town": "Paris"}).replace(",", "%2C")
GOOD = "ok;content=" + json.dumps({"city": "Paris", "population": 2}).replace(",", "%2C")


class City(pydantic.BaseModel):
    city: str
    population: int


class Ask:
    """One instructor ``create`` through the sync or the async openai client, with a fresh sequence per run."""

    def __init__(self, mode: str, chaos: ChaosServer) -> None:
        self.mode = mode
        self.chaos = chaos

    def __call__(self, *steps: str, response_model: Any = City, max_retries: int = 2) -> Any:
        headers = script_headers(*steps, sequence=uuid.uuid4().hex)
        arguments: dict[str, Any] = {
            "model": "gpt-4o",
            "messages": MESSAGES,
            "response_model": response_model,
            "max_retries": max_retries,
            "extra_headers": headers,
        }
        options: dict[str, Any] = {"base_url": self.chaos.base_url, "api_key": API_KEY, "max_retries": 0}
        if self.mode == "sync":
            with openai.OpenAI(**options) as sdk:
                client = instructor.from_openai(sdk, mode=instructor.Mode.JSON)
                return client.chat.completions.create(**arguments)

        async def run() -> Any:
            async with openai.AsyncOpenAI(**options) as sdk:
                client = instructor.from_openai(sdk, mode=instructor.Mode.JSON)
                return await client.chat.completions.create(**arguments)

        return asyncio.run(run())


@pytest.fixture(params=["sync", "async"])
def ask(request: pytest.FixtureRequest, chaos: ChaosServer) -> Ask:
    return Ask(request.param, chaos)


def assert_same_instructor_exception(instrumented: BaseException | None, plain: BaseException | None) -> None:
    """Same class, same arguments, same message but for the response ids (the chaos server makes a new one
    per answer, and instructor's message quotes the failed completions), and the same cause."""
    assert plain is not None and instrumented is not None
    assert type(instrumented) is type(plain)
    assert instrumented.args == plain.args
    assert _without_ids(str(instrumented)) == _without_ids(str(plain))
    if plain.__cause__ is not None:
        assert_same_exception(instrumented.__cause__, plain.__cause__)


def _without_ids(message: str) -> str:
    return re.sub(r"\d+", "N", re.sub(r"chatcmpl-\w+", "chatcmpl-ID", message))


def retry_span(telemetry: Telemetry) -> ReadableSpan:
    return telemetry.internal_span("retry create")


def children(telemetry: Telemetry, parent: ReadableSpan, select: Callable[[ReadableSpan], bool]) -> list[ReadableSpan]:
    spans = [
        s
        for s in telemetry.spans()
        if select(s) and s.parent is not None and s.parent.span_id == parent.context.span_id
    ]
    return sorted(spans, key=lambda s: s.start_time or 0)


def calls_under(telemetry: Telemetry, parent: ReadableSpan) -> list[ReadableSpan]:
    call_ids = {s.context.span_id for s in telemetry.call_spans()}
    return children(telemetry, parent, lambda s: s.context.span_id in call_ids)


def rejections_under(telemetry: Telemetry, parent: ReadableSpan) -> list[ReadableSpan]:
    return children(telemetry, parent, lambda s: s.name.startswith("invalid_output"))


def test_a_wrong_shape_then_a_good_answer_is_one_scope_of_two_attempts_the_first_rejected(
    ask: Ask, telemetry: Telemetry
) -> None:
    city = ask(WRONG_SHAPE, GOOD)

    assert city.model_dump() == {"city": "Paris", "population": 2}
    span = retry_span(telemetry)
    assert span.status.status_code is StatusCode.UNSET
    assert dict(span.attributes) == {"aierrors.app_retry.library": "instructor", "aierrors.app_retry.attempt": 2}
    first, second = calls_under(telemetry, span)
    assert [c.attributes["aierrors.app_retry.attempt"] for c in (first, second)] == [1, 2]
    assert {c.attributes["aierrors.app_retry.library"] for c in (first, second)} == {"instructor"}
    assert [c.attributes["aierrors.outcome"] for c in (first, second)] == ["ok", "ok"]
    assert "aierrors.app_retry.reason" not in first.attributes
    assert second.attributes["aierrors.app_retry.reason"] == "invalid_output"
    [rejection] = rejections_under(telemetry, span)
    assert rejection.name == "invalid_output validation"
    assert rejection.attributes["aierrors.soft_failure"] == "invalid_output"
    assert rejection.attributes["gen_ai.response.id"] == first.attributes["gen_ai.response.id"]
    assert [link.context.span_id for link in rejection.links] == [first.context.span_id]
    assert telemetry.count("aierrors.rejections", aierrors__rejection__reason="validation") == 1


def test_every_answer_rejected_is_a_scope_error_invalid_output_and_instructors_own_exception(
    ask: Ask, telemetry: Telemetry
) -> None:
    error = raised(lambda: ask(WRONG_SHAPE, max_retries=1))
    plain = telemetry.uninstrumented(lambda: ask(WRONG_SHAPE, max_retries=1))

    assert isinstance(error, InstructorRetryException)
    assert_same_instructor_exception(error, plain)
    assert error.n_attempts == 2
    span = retry_span(telemetry)  # the uninstrumented run recorded nothing
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "invalid_output"
    assert span.attributes["aierrors.soft_failure"] == "invalid_output"
    assert span.attributes["aierrors.app_retry.attempt"] == 2
    calls = calls_under(telemetry, span)
    assert [c.attributes.get("aierrors.app_retry.reason") for c in calls] == [None, "invalid_output"]
    rejected = [link.context.span_id for r in rejections_under(telemetry, span) for link in r.links]
    assert rejected == [c.context.span_id for c in calls]
    assert telemetry.count("aierrors.rejections") == 2


def test_an_sdk_error_instructor_wraps_gives_the_scope_the_sdk_errors_class(ask: Ask, telemetry: Telemetry) -> None:
    error = raised(lambda: ask("server_error"))
    plain = telemetry.uninstrumented(lambda: ask("server_error"))

    assert_same_instructor_exception(error, plain)
    assert isinstance(error, InstructorRetryException)  # instructor wraps the SDK's error
    assert isinstance(error.__cause__, openai.InternalServerError)
    span = retry_span(telemetry)
    assert span.status.description == "server_error"
    assert "aierrors.soft_failure" not in span.attributes
    [call] = calls_under(telemetry, span)
    assert call.attributes["aierrors.error.class"] == "server_error"
    assert rejections_under(telemetry, span) == []


def test_the_answer_and_the_exception_are_the_uninstrumented_ones(ask: Ask, telemetry: Telemetry) -> None:
    assert ask(WRONG_SHAPE, GOOD).model_dump() == {"city": "Paris", "population": 2}
    otel_aierrors.uninstrument()
    try:
        assert ask(WRONG_SHAPE, GOOD).model_dump() == {"city": "Paris", "population": 2}
    finally:
        otel_aierrors.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)


def test_a_call_without_response_model_is_no_scope(ask: Ask, telemetry: Telemetry) -> None:
    completion = ask(GOOD, response_model=None)

    assert completion.choices[0].message.content
    assert [s.name for s in telemetry.spans() if s.name.startswith("retry")] == []
    assert "aierrors.app_retry.attempt" not in telemetry.call_span().attributes


def test_re_asks_inside_a_fallback_scope_are_retry_hops_after_invalid_output(ask: Ask, telemetry: Telemetry) -> None:
    with otel_aierrors.fallback_scope("city"):
        ask(WRONG_SHAPE, GOOD)

    first, second = sorted(telemetry.call_spans(), key=lambda s: s.start_time or 0)
    assert [first.attributes["aierrors.fallback.hop"], second.attributes["aierrors.fallback.hop"]] == [0, 1]
    assert second.attributes["aierrors.fallback.kind"] == "retry"
    assert second.attributes["aierrors.fallback.reason"] == "invalid_output"
    assert second.attributes["aierrors.app_retry.reason"] == "invalid_output"
    assert len([s for s in telemetry.spans() if s.name == "retry create"]) == 1


def test_uninstrument_restores_instructors_retry_functions(telemetry: Telemetry) -> None:
    from instructor.v2.core import patch, retry

    assert patch.retry_sync_v2 is not retry.retry_sync_v2  # wrapped while instrumented
    otel_aierrors.uninstrument()
    try:
        assert patch.retry_sync_v2 is retry.retry_sync_v2
        assert patch.retry_async_v2 is retry.retry_async_v2
    finally:
        otel_aierrors.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)


def test_instructors_own_tenacity_loop_is_no_second_scope_and_an_app_retry_around_it_nests(
    chaos: ChaosServer, telemetry: Telemetry
) -> None:
    import tenacity

    ask = Ask("sync", chaos)

    @tenacity.retry(stop=tenacity.stop_after_attempt(2), reraise=True)
    def city() -> Any:
        return ask(WRONG_SHAPE, GOOD)

    assert city().model_dump() == {"city": "Paris", "population": 2}

    retries = {s.name: s for s in telemetry.spans() if s.name.startswith("retry ")}
    assert sorted(retries) == ["retry city", "retry create"]  # tenacity's, instructor's; none for instructor's loop
    outer, inner = retries["retry city"], retries["retry create"]
    assert outer.attributes["aierrors.app_retry.library"] == "tenacity"
    assert inner.parent is not None and inner.parent.span_id == outer.context.span_id
    assert [c.attributes["aierrors.app_retry.library"] for c in calls_under(telemetry, inner)] == ["instructor"] * 2
