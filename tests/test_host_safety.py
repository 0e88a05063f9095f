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
    async with (
        client,
        client.chat.completions.with_streaming_response.create(
            extra_headers={"x-chaos-script": "ok"}, **CHAT
        ) as response,
    ):
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
    (_recording, "header_attributes"),
    (_recording, "provider_error_attributes"),
    (_call, "is_gateway_hop"),
    (_recording, "add_exception_event"),
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

    logged = [record.getMessage() for record in caplog.records if record.name == "otel_aierrors"]
    assert [next(m for m in (first, second) if m in message) for message in logged] == [first, second]


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
    assert recorded.count("aierrors.retry.backoff") >= 0.001  # the one wait, at least the 1 ms asked
    assert recorded.count("aierrors.server.retry_after") == 1
    assert recorded.count("gen_ai.client.operation.duration") == 1
    assert [p.value for p in recorded.points("aierrors.ratelimit.remaining")]


# --- bodies: read by the caller or the SDK, never by the instrumentation --------------------------
def test_entering_with_streaming_response_does_not_wait_for_a_slow_body(
    chaos: ChaosServer, telemetry: Telemetry
) -> None:
    with openai.OpenAI(base_url=chaos.base_url, api_key=API_KEY, max_retries=0) as client:
        started = time.monotonic()
        with client.chat.completions.with_streaming_response.create(
            extra_headers={"x-chaos-script": "ok;body_delay=1"}, **CHAT
        ) as response:
            entered = time.monotonic() - started
            assert response.is_closed is False
            response.parse()

    assert entered < 0.8  # the body arrives 1 s after the headers
    assert telemetry.call_span().attributes["aierrors.outcome"] == "ok"


def test_a_slow_error_body_of_a_streamed_request_does_not_delay_the_sdks_retry(
    chaos: ChaosServer, telemetry: Telemetry
) -> None:
    with openai.OpenAI(base_url=chaos.base_url, api_key=API_KEY, max_retries=1) as client:
        started = time.monotonic()
        stream = client.chat.completions.create(
            stream=True, extra_headers={"x-chaos-script": "overloaded;body_delay=1.5;retry_after_ms=10,ok"}, **CHAT
        )
        list(stream)
        elapsed = time.monotonic() - started

    assert elapsed < 1.2  # the SDK closes the 503 without reading its body, and so must we
    call = telemetry.call_span()
    assert call.attributes["aierrors.attempt.count"] == 2
    first, _ = telemetry.attempt_spans(call)
    assert first.attributes["aierrors.error.class"] == "overloaded"  # from the status: the body was never read


def test_a_broken_error_body_of_a_streamed_request_raises_what_the_sdk_raises(
    chaos: ChaosServer, telemetry: Telemetry
) -> None:
    with (
        openai.OpenAI(base_url=chaos.base_url, api_key=API_KEY, max_retries=0) as client,
        pytest.raises(Exception) as raised,
    ):
        client.chat.completions.create(
            stream=True, extra_headers={"x-chaos-script": "server_error;cut_body=10"}, **CHAT
        )

    assert not isinstance(raised.value, openai.APIStatusError)  # the SDK's own read of the body broke
    assert "StreamConsumed" not in type(raised.value).__name__
    assert telemetry.call_span().attributes["aierrors.outcome"] == "error"


# --- streams that stop without their end marker ----------------------------------------------------
@pytest.mark.parametrize("api", ["chat", "responses"])
def test_a_stream_cut_silently_after_three_chunks_is_interrupted(sdk: SDK, telemetry: Telemetry, api: str) -> None:
    chunks = _stream(sdk, api, "silent_cut;after=3")

    assert len(chunks) == 3  # the SDK raised nothing: the iteration simply ended
    call = telemetry.call_span()
    assert call.attributes["aierrors.outcome"] == "error"
    assert call.attributes["aierrors.error.class"] == "stream_interrupted"
    assert call.attributes["aierrors.stream.chunks"] == 3
    assert "error" in call.attributes["gen_ai.response.finish_reasons"]
    assert telemetry.count("aierrors.calls", aierrors__error__class="stream_interrupted") == 1


@pytest.mark.parametrize(
    ("api", "script", "params"),
    [
        ("chat", "ok;chunks=3", {}),
        ("chat", "ok;chunks=3;usage_chunk=1", {"stream_options": {"include_usage": True}}),
        ("chat", "ok;n=2", {"n": 2}),
        ("chat", "ok;tool_calls=2", {}),
        ("completions", "ok;chunks=3", {}),
        ("responses", "ok;chunks=3", {}),
    ],
    ids=["plain", "usage-chunk", "n=2", "tool-calls", "completions", "responses"],
)
def test_a_stream_that_ends_properly_is_not_interrupted(
    sdk: SDK, telemetry: Telemetry, api: str, script: str, params: dict[str, Any]
) -> None:
    _stream(sdk, api, script, **params)

    call = telemetry.call_span()
    assert call.attributes["aierrors.outcome"] in ("ok", "soft_failure")
    assert "error" not in call.attributes.get("gen_ai.response.finish_reasons", ())


def test_a_stream_with_two_choices_cut_before_the_second_finished_is_interrupted(
    sdk: SDK, telemetry: Telemetry
) -> None:
    _stream(sdk, "chat", "silent_cut;after=4;n=2", n=2)

    assert telemetry.call_span().attributes["aierrors.error.class"] == "stream_interrupted"


def _stream(sdk: SDK, api: str, script: str, **params: Any) -> list[Any]:
    headers = {"x-chaos-script": script}

    def create(client: Any) -> Any:
        if api == "responses":
            return client.responses.create(model="gpt-4o", input="hi", stream=True, extra_headers=headers, **params)
        if api == "completions":
            return client.completions.create(
                model="gpt-3.5-turbo-instruct", prompt="hi", stream=True, extra_headers=headers, **params
            )
        return client.chat.completions.create(stream=True, extra_headers=headers, **CHAT, **params)

    if sdk.mode == "sync":
        with openai.OpenAI(base_url=sdk.base_url, api_key=API_KEY, max_retries=0) as client:
            return list(create(client))

    async def run() -> list[Any]:
        async with openai.AsyncOpenAI(base_url=sdk.base_url, api_key=API_KEY, max_retries=0) as client:
            return [chunk async for chunk in await create(client)]

    return asyncio.run(run())


# --- conventions -------------------------------------------------------------------------------------
def test_the_latest_genai_conventions_replace_the_old_metric_names(
    chaos: ChaosServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "gen_ai_latest_experimental")
    recorded = Telemetry()
    otel_aierrors.instrument(tracer_provider=recorded.tracer_provider, meter_provider=recorded.meter_provider)
    try:
        SDK("sync", chaos.base_url).call(script="ok;input_tokens=7;output_tokens=5")
    finally:
        otel_aierrors.uninstrument()

    assert recorded.count("gen_ai.client.inference.duration") == 1
    assert recorded.count("gen_ai.client.operation.duration") == 0
    assert recorded.count("gen_ai.client.token.usage") == 0
    assert recorded.count("gen_ai.client.inference.usage.input_tokens") == 7
    assert recorded.count("gen_ai.client.inference.usage.output_tokens") == 5
    assert recorded.count("aierrors.calls", aierrors__outcome="ok") == 1
