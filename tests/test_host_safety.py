"""The application behaves exactly as without the instrumentation (issue: never change the host).

Each test states a way the instrumentation could change what the application
sees, reads or waits for, and checks it does not, besides what is exported.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import openai
import pytest
import tenacity
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

import otel_aierrors
from otel_aierrors import _attempt, _call, _recording, _results, _streams, _taxonomy
from otel_aierrors._sdks import openai as openai_shapes
from otel_aierrors.chaos import ChaosServer
from tests.conftest import API_KEY, SDK, Telemetry

CHAT: dict[str, Any] = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


# --- raw and streaming responses of non-streamed requests ---------------------------------
def test_with_streaming_response_leaves_the_body_to_the_caller(chaos: ChaosServer, telemetry: Telemetry) -> None:
    with openai.OpenAI(base_url=chaos.base_url, api_key=API_KEY, max_retries=0) as client:
        with client.chat.completions.with_streaming_response.create(
            extra_headers={"x-chaos-script": "ok;finish_reason=length"}, **CHAT
        ) as response:
            assert response.is_closed is False  # nothing read or closed before the caller's block
            completion = response.parse()
        assert completion.choices[0].finish_reason == "length"

    call = telemetry.call_span()
    assert call.attributes["aierrors.outcome"] == "soft_failure"
    assert call.attributes["aierrors.soft_failure"] == "truncated"


async def test_async_with_streaming_response_awaits_nothing_it_does_not_own(
    chaos: ChaosServer, telemetry: Telemetry
) -> None:
    """pytest runs with warnings as errors: a never-awaited ``parse()`` coroutine would fail this test."""
    client = openai.AsyncOpenAI(base_url=chaos.base_url, api_key=API_KEY, max_retries=0)
    async with client, client.chat.completions.with_streaming_response.create(
        extra_headers={"x-chaos-script": "ok"}, **CHAT
    ) as response:
        assert response.is_closed is False
        completion = await response.parse()
    assert completion.choices[0].finish_reason == "stop"
    assert telemetry.call_span().attributes["aierrors.outcome"] == "ok"


def test_a_raw_response_nobody_parses_still_ends_its_call(chaos: ChaosServer, telemetry: Telemetry) -> None:
    with openai.OpenAI(base_url=chaos.base_url, api_key=API_KEY, max_retries=0) as client:
        raw = client.chat.completions.with_raw_response.create(extra_headers={"x-chaos-script": "ok"}, **CHAT)
        assert raw.headers["x-request-id"]
        del raw

    call = telemetry.call_span()  # ended from the finalizer queue
    assert call.attributes["aierrors.outcome"] == "ok"
    assert telemetry.count("aierrors.calls", aierrors__outcome="ok") == 1


def test_a_raw_response_is_timed_when_request_returned_not_when_parsed(
    chaos: ChaosServer, telemetry: Telemetry
) -> None:
    with openai.OpenAI(base_url=chaos.base_url, api_key=API_KEY, max_retries=0) as client:
        raw = client.chat.completions.with_raw_response.create(extra_headers={"x-chaos-script": "ok"}, **CHAT)
        time.sleep(0.3)
        raw.parse()

    call = telemetry.call_span()
    assert call.end_time is not None and call.start_time is not None
    assert (call.end_time - call.start_time) / 1e9 < 0.25


# --- operation names ----------------------------------------------------------------------
def test_an_absolute_url_is_named_by_its_path(chaos: ChaosServer, telemetry: Telemetry) -> None:
    with openai.OpenAI(base_url=chaos.base_url, api_key=API_KEY, max_retries=0) as client:
        client.get(f"{chaos.base_url}/models", cast_to=object)

    assert telemetry.call_span().attributes["gen_ai.operation.name"] == "models"


# --- application retries -------------------------------------------------------------------
def test_a_retried_function_without_an_ai_call_emits_nothing(telemetry: Telemetry) -> None:
    runs: list[int] = []

    @tenacity.retry(stop=tenacity.stop_after_attempt(3), wait=tenacity.wait_none())
    def query_database() -> str:
        runs.append(1)
        if len(runs) < 3:
            raise ConnectionError("database busy")
        return "rows"

    assert query_database() == "rows"
    assert len(runs) == 3
    assert telemetry.spans() == []


def test_a_retried_function_with_an_ai_call_gets_its_span_from_its_start(sdk: SDK, telemetry: Telemetry) -> None:
    @tenacity.retry(stop=tenacity.stop_after_attempt(2), wait=tenacity.wait_none())
    def ask() -> Any:
        time.sleep(0.05)
        return sdk.call(script="ok")

    ask()
    (retry,) = [span for span in telemetry.spans() if span.name == "retry ask"]
    call = telemetry.call_span()
    assert call.parent is not None and call.parent.span_id == retry.context.span_id
    assert call.start_time is not None and retry.start_time is not None
    assert (call.start_time - retry.start_time) / 1e9 >= 0.04  # the span covers the run, not just the call


# --- cancellation ---------------------------------------------------------------------------
async def test_a_call_the_application_cancels_is_cancelled_not_an_error(
    chaos: ChaosServer, telemetry: Telemetry
) -> None:
    async with openai.AsyncOpenAI(base_url=chaos.base_url, api_key=API_KEY, max_retries=0) as client:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(
                client.chat.completions.create(extra_headers={"x-chaos-script": "hang;seconds=3"}, **CHAT), 0.3
            )

    call = telemetry.call_span()
    assert call.attributes["aierrors.outcome"] == "cancelled"
    assert "aierrors.error.class" not in call.attributes
    assert telemetry.count("aierrors.calls", aierrors__outcome="cancelled") == 1
    assert telemetry.count("aierrors.calls", aierrors__outcome="error") == 0
    assert telemetry.count("aierrors.attempts", aierrors__outcome="cancelled") == 1


async def test_a_stream_the_application_stops_waiting_for_is_cancelled(
    chaos: ChaosServer, telemetry: Telemetry
) -> None:
    async with openai.AsyncOpenAI(base_url=chaos.base_url, api_key=API_KEY, max_retries=0) as client:
        stream = await client.chat.completions.create(
            stream=True, extra_headers={"x-chaos-script": "stream_stall;after=2;seconds=3"}, **CHAT
        )

        async def read_all() -> None:
            async for _ in stream:
                pass

        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(read_all(), 0.5)
        await stream.close()

    call = telemetry.call_span()
    assert call.attributes["aierrors.outcome"] == "cancelled"
    assert telemetry.count("aierrors.calls", aierrors__outcome="error") == 0


# --- internal errors --------------------------------------------------------------------------
#: Every step the instrumentation takes on its own, after the span started, that may fail.
INTERNAL_STEPS = [
    (_attempt, "read_headers"),
    (_attempt, "parse_error_body"),
    (_attempt, "header_attributes"),
    (_attempt, "provider_error_attributes"),
    (_call, "is_gateway_hop"),
    (_call, "add_exception_event"),
    (_recording.Telemetry, "summary_span_attributes"),
    (_recording.Telemetry, "record_attempt"),
    (_recording.Telemetry, "record_call"),
    (openai_shapes, "_summarize_choices"),
    (_results.StreamSummary, "to_summary"),
    (_streams, "error_facts"),
    (_taxonomy, "_class_from_tokens"),
]


@pytest.mark.parametrize(("owner", "step"), INTERNAL_STEPS, ids=[step for _, step in INTERNAL_STEPS])
@pytest.mark.parametrize("script", ["rate_limit;retry_after_ms=1,ok", "auth", "ok;chunks=3", "stream_error;after=2"])
def test_a_failing_internal_step_leaves_no_span_open_and_the_call_unchanged(
    sdk: SDK, telemetry: Telemetry, monkeypatch: pytest.MonkeyPatch, owner: Any, step: str, script: str
) -> None:
    def broken(*args: object, **kwargs: object) -> Any:
        raise RuntimeError(f"bug in {step}")

    monkeypatch.setattr(owner, step, broken)
    stream = script.startswith(("ok;chunks", "stream_error"))
    expected: type[BaseException] | None = openai.AuthenticationError if script == "auth" else None
    if stream:
        expected = openai.APIError if script.startswith("stream_error") else None
    try:
        result = sdk.call(script=script, stream=stream) if not stream else _consume(sdk, script)
    except BaseException as error:  # the application's own exception, unchanged
        assert expected is not None and isinstance(error, expected), error
    else:
        assert expected is None
        assert result is not None

    spans = telemetry.spans()
    assert len(telemetry.call_spans()) == 1
    assert all(span.end_time is not None for span in spans)
    call = telemetry.call_span()
    assert all(
        span.parent is not None and span.parent.span_id == call.context.span_id for span in telemetry.attempt_spans()
    )
    if step != "record_call":
        assert telemetry.count("aierrors.calls") == 1


def _consume(sdk: SDK, script: str) -> list[Any]:
    if sdk.mode == "sync":
        with openai.OpenAI(base_url=sdk.base_url, api_key=API_KEY, max_retries=0) as client:
            return list(client.chat.completions.create(stream=True, extra_headers={"x-chaos-script": script}, **CHAT))

    async def run() -> list[Any]:
        async with openai.AsyncOpenAI(base_url=sdk.base_url, api_key=API_KEY, max_retries=0) as client:
            stream = await client.chat.completions.create(stream=True, extra_headers={"x-chaos-script": script}, **CHAT)
            return [chunk async for chunk in stream]

    return asyncio.run(run())


def test_an_internal_error_is_logged_once_per_distinct_error(
    sdk: SDK, telemetry: Telemetry, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Distinct per run: the process remembers what it logged.
    first, second = f"first bug ({sdk.mode})", f"second bug ({sdk.mode})"
    messages = iter([first, first, second])

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError(next(messages))

    monkeypatch.setattr(_recording.Telemetry, "summary_span_attributes", broken)
    for _ in range(3):
        sdk.call(script="ok")

    logged = [record for record in caplog.records if record.name == "otel_aierrors"]
    assert [str(record.exc_info[1]) for record in logged if record.exc_info] == [first, second]


# --- sampling ----------------------------------------------------------------------------------
def test_an_unsampled_call_makes_no_attempt_span_and_still_counts_every_metric(chaos: ChaosServer) -> None:
    recorded = Telemetry()
    exporter = InMemorySpanExporter()
    unsampled = TracerProvider(sampler=ALWAYS_OFF)
    unsampled.add_span_processor(SimpleSpanProcessor(exporter))
    otel_aierrors.instrument(tracer_provider=unsampled, meter_provider=recorded.meter_provider)
    try:
        SDK("sync", chaos.base_url).call(script="rate_limit;retry_after_ms=1,ok;remaining_requests=7")
    finally:
        otel_aierrors.uninstrument()

    assert exporter.get_finished_spans() == ()
    assert recorded.count("aierrors.calls", aierrors__outcome="ok") == 1
    assert recorded.count("aierrors.attempts", aierrors__outcome="error", aierrors__error__class="rate_limit") == 1
    assert recorded.count("aierrors.attempts", aierrors__outcome="ok") == 1
    assert recorded.count("aierrors.attempt.duration") == 2
    assert recorded.count("aierrors.retry.backoff") == 1
    assert recorded.count("aierrors.server.retry_after") == 1
    assert recorded.count("gen_ai.client.operation.duration") == 1
    assert [p.value for p in recorded.points("aierrors.ratelimit.remaining")]
