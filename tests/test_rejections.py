"""Answers the application rejects: ``otel_aierrors.reject`` and ``answer_check`` after a real SDK call.

The chaos server answers valid JSON of the wrong shape (``ok;content=...``):
the application's own pydantic check refuses it, the provider saw a success.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import openai
import pydantic
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

import otel_aierrors
from otel_aierrors.chaos import ChaosServer, script_headers
from tests.conftest import API_KEY, Telemetry

MESSAGES: Any = [{"role": "user", "content": "Give me a city as JSON."}]
#: Valid JSON, the wrong shape: the application expects {"city": str, "population": int}.
WRONG_SHAPE = "ok;content=" + json.dumps({"town": "Paris"}).replace(",", "%2C")


class City(pydantic.BaseModel):
    city: str
    population: int


@pytest.fixture
def client(chaos: ChaosServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=chaos.base_url, api_key=API_KEY, max_retries=0, timeout=5.0) as sdk:
        yield sdk


def ask(client: openai.OpenAI, step: str = WRONG_SHAPE, model: str = "gpt-4o") -> Any:
    return client.chat.completions.create(model=model, messages=MESSAGES, extra_headers=script_headers(step))


def rejection_spans(telemetry: Telemetry) -> list[ReadableSpan]:
    return [s for s in telemetry.spans() if s.name.startswith("invalid_output")]


def test_reject_records_a_linked_invalid_output_span_and_a_count(telemetry: Telemetry, client: openai.OpenAI) -> None:
    result = ask(client)
    content = result.choices[0].message.content or ""
    assert json.loads(content) == {"town": "Paris"}  # valid JSON...
    with pytest.raises(pydantic.ValidationError):  # ...of the wrong shape
        City.model_validate_json(content)
    otel_aierrors.reject(result, reason="schema")

    call = telemetry.call_span()
    assert call.attributes["aierrors.outcome"] == "ok"  # the call itself stays what the provider did
    [span] = rejection_spans(telemetry)
    assert span.name == "invalid_output schema"
    assert span.kind is SpanKind.INTERNAL
    assert span.status.status_code is StatusCode.UNSET
    assert span.attributes["aierrors.soft_failure"] == "invalid_output"
    assert span.attributes["aierrors.rejection.reason"] == "schema"
    assert span.attributes["gen_ai.response.id"] == result.id
    assert [link.context.span_id for link in span.links] == [call.context.span_id]
    assert (
        telemetry.count(
            "aierrors.rejections",
            gen_ai__request__model="gpt-4o",
            aierrors__soft_failure="invalid_output",
            aierrors__rejection__reason="schema",
        )
        == 1
    )


def test_answer_check_rejects_on_an_exception_and_lets_it_through(telemetry: Telemetry, client: openai.OpenAI) -> None:
    result = ask(client)
    with pytest.raises(pydantic.ValidationError) as raised, otel_aierrors.answer_check(result, reason="schema"):
        City.model_validate_json(result.choices[0].message.content or "")
    assert type(raised.value) is pydantic.ValidationError

    good = ask(client, "ok;content=" + json.dumps({"city": "Paris", "population": 2}).replace(",", "%2C"))
    with otel_aierrors.answer_check(good, reason="schema"):
        City.model_validate_json(good.choices[0].message.content or "")

    assert len(rejection_spans(telemetry)) == 1
    assert telemetry.count("aierrors.rejections") == 1


def test_a_rejected_answer_makes_the_next_hop_reason_invalid_output(
    telemetry: Telemetry, client: openai.OpenAI
) -> None:
    with otel_aierrors.fallback_scope("city"):
        first = ask(client)
        otel_aierrors.reject(first, reason="schema")
        ask(client, "ok", model="gpt-4o-mini")

    calls = sorted(telemetry.call_spans(), key=lambda s: s.start_time or 0)
    assert calls[1].attributes["aierrors.fallback.reason"] == "invalid_output"
    assert telemetry.count("aierrors.fallback.hops", aierrors__fallback__reason="invalid_output") == 1


def test_reject_of_another_calls_answer_or_twice_records_once(telemetry: Telemetry, client: openai.OpenAI) -> None:
    older = ask(client)
    newer = ask(client)
    otel_aierrors.reject(older)  # not the last call's answer: nothing
    otel_aierrors.reject(newer, reason="parse")
    otel_aierrors.reject(newer, reason="parse")

    assert [s.attributes["aierrors.rejection.reason"] for s in rejection_spans(telemetry)] == ["parse"]


def test_reject_without_any_call_and_after_uninstrument_records_nothing(chaos: ChaosServer) -> None:
    otel_aierrors.reject(None)  # nothing to reject: no error

    recorded = Telemetry()
    otel_aierrors.instrument(tracer_provider=recorded.tracer_provider, meter_provider=recorded.meter_provider)
    try:
        with openai.OpenAI(base_url=chaos.base_url, api_key=API_KEY, max_retries=0) as client:
            result = ask(client)
    finally:
        otel_aierrors.uninstrument()
    otel_aierrors.reject(result)

    assert rejection_spans(recorded) == []
    assert recorded.points("aierrors.rejections") == []


def test_reject_in_an_asyncio_task_finds_the_call_of_that_task(telemetry: Telemetry, chaos: ChaosServer) -> None:
    async def run() -> None:
        async with openai.AsyncOpenAI(base_url=chaos.base_url, api_key=API_KEY, max_retries=0) as client:
            result = await client.chat.completions.create(
                model="gpt-4o", messages=MESSAGES, extra_headers=script_headers(WRONG_SHAPE)
            )
            otel_aierrors.reject(result, reason="guard")

    asyncio.run(run())
    [span] = rejection_spans(telemetry)
    assert span.attributes["aierrors.rejection.reason"] == "guard"
    assert span.links[0].context.span_id == telemetry.call_span().context.span_id
