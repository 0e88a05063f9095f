"""The ``anthropic`` SDK: its error dialect, ``stop_reason``, Messages streams and its own span.

Real ``anthropic`` clients over real HTTP against the chaos server's
``/v1/messages``, sync and async. anthropic 2.x starts a CLIENT span of its own
for every call; inside an instrumented call it starts none, so a call still
has exactly one call span.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import otel_aierrors
from otel_aierrors.chaos import ChaosServer
from tests.conftest import API_KEY, Telemetry

anthropic = pytest.importorskip("anthropic")

MODEL = "claude-sonnet-4-5"
#: The instrumentation scope of the SDK's own spans (anthropic 2.x).
NATIVE_SCOPE = "com.anthropic.sdk.python"


class Messages:
    """Runs one Messages call through a fresh sync or async client."""

    def __init__(self, mode: str, chaos: ChaosServer) -> None:
        self.mode = mode
        self.base_url = chaos.url

    def run(self, use: Callable[[Any, dict[str, Any]], Any], script: str, **options: Any) -> Any:
        """``use(client.messages, kwargs)``, awaited for the async client; ``options`` go to the client."""
        options.setdefault("max_retries", 2)
        kwargs: dict[str, Any] = {
            "model": MODEL,
            "max_tokens": 64,
            "messages": [{"role": "user", "content": "hello"}],
            "extra_headers": {"x-chaos-script": script},
        }
        if self.mode == "sync":
            with anthropic.Anthropic(base_url=self.base_url, api_key=API_KEY, timeout=10.0, **options) as client:
                return use(client.messages, kwargs)

        async def run() -> Any:
            async with anthropic.AsyncAnthropic(
                base_url=self.base_url, api_key=API_KEY, timeout=10.0, **options
            ) as client:
                result = use(client.messages, kwargs)
                return await result if asyncio.iscoroutine(result) else result

        return asyncio.run(run())

    def create(self, script: str, **options: Any) -> Any:
        return self.run(lambda messages, kwargs: messages.create(**kwargs), script, **options)

    def consume_stream(self, script: str, **options: Any) -> list[str]:
        """``create(stream=True)`` read to its end; the event types seen."""

        def use(messages: Any, kwargs: dict[str, Any]) -> Any:
            if self.mode == "sync":
                with messages.create(stream=True, **kwargs) as stream:
                    return [event.type for event in stream]

            async def consume() -> list[str]:
                stream = await messages.create(stream=True, **kwargs)
                async with stream:
                    return [event.type async for event in stream]

            return consume()

        return self.run(use, script, **options)


@pytest.fixture(params=["sync", "async"])
def messages(request: pytest.FixtureRequest, chaos: ChaosServer) -> Messages:
    return Messages(request.param, chaos)


def test_529_overloaded_three_times_is_overloaded_retryable_with_three_attempts(
    messages: Messages, telemetry: Telemetry
) -> None:
    with pytest.raises(anthropic.APIStatusError) as raised:
        messages.create("overloaded;retry_after=0.01")

    assert raised.value.status_code == 529
    call = telemetry.call_span()
    assert call.attributes["gen_ai.provider.name"] == "anthropic"
    assert call.attributes["aierrors.outcome"] == "error"
    assert call.attributes["aierrors.error.class"] == "overloaded"
    assert call.attributes["error.type"] == "overloaded"
    assert call.attributes["aierrors.retryable"] is True
    assert call.attributes["aierrors.attempt.count"] == 3
    assert call.status.status_code is StatusCode.ERROR
    attempts = telemetry.attempt_spans(call)
    assert [a.attributes["http.response.status_code"] for a in attempts] == [529, 529, 529]
    assert [a.attributes["aierrors.error.class"] for a in attempts] == ["overloaded"] * 3
    assert telemetry.count("aierrors.calls", aierrors__error__class="overloaded", aierrors__retryable=True) == 1
    assert telemetry.count("aierrors.attempts", aierrors__error__class="overloaded") == 3


@pytest.mark.parametrize(
    ("fault", "status", "error_class", "retryable"),
    [
        ("invalid_request", 400, "invalid_request", False),
        ("auth", 401, "auth", False),
        ("permission", 403, "permission", False),
        ("not_found", 404, "not_found", False),
        ("payload_too_large", 413, "payload_too_large", False),
        ("rate_limit", 429, "rate_limit", True),
        ("server_error", 500, "server_error", True),
        ("overloaded", 529, "overloaded", True),
    ],
)
def test_anthropics_error_bodies_map_onto_the_taxonomy(
    messages: Messages, telemetry: Telemetry, fault: str, status: int, error_class: str, retryable: bool
) -> None:
    with pytest.raises(anthropic.APIStatusError) as raised:
        messages.create(fault, max_retries=0)

    assert raised.value.status_code == status
    assert raised.value.body["type"] == "error"  # Anthropic's own error body, not OpenAI's
    call = telemetry.call_span()
    assert call.attributes["aierrors.error.class"] == error_class
    assert call.attributes["aierrors.retryable"] is retryable
    assert telemetry.attempt_spans(call)[0].attributes["aierrors.error.class"] == error_class


def test_a_message_cut_at_max_tokens_is_the_truncated_soft_failure(messages: Messages, telemetry: Telemetry) -> None:
    message = messages.create("ok;finish_reason=length")

    assert message.stop_reason == "max_tokens"
    call = telemetry.call_span()
    assert call.attributes["aierrors.outcome"] == "soft_failure"
    assert call.attributes["aierrors.soft_failure"] == "truncated"
    assert call.attributes["gen_ai.response.finish_reasons"] == ("max_tokens",)
    assert call.attributes["gen_ai.usage.input_tokens"] == message.usage.input_tokens
    assert call.attributes["gen_ai.usage.output_tokens"] == message.usage.output_tokens
    assert call.status.status_code is StatusCode.UNSET
    assert telemetry.count("aierrors.calls", aierrors__outcome="soft_failure", aierrors__soft_failure="truncated") == 1


@pytest.mark.parametrize(
    ("script", "stop_reason", "soft_failure"),
    [("ok;finish_reason=length", "max_tokens", "truncated"), ("ok;refusal=I+cannot+help", "refusal", "refusal")],
)
def test_a_streamed_soft_failure_is_read_from_message_delta(
    messages: Messages, telemetry: Telemetry, script: str, stop_reason: str, soft_failure: str
) -> None:
    events = messages.consume_stream(script)

    assert events[-1] == "message_stop"
    call = telemetry.call_span()
    assert call.attributes["aierrors.outcome"] == "soft_failure"
    assert call.attributes["aierrors.soft_failure"] == soft_failure
    assert call.attributes["gen_ai.response.finish_reasons"] == (stop_reason,)
    assert telemetry.count("aierrors.calls", aierrors__soft_failure=soft_failure, aierrors__stream=True) == 1


def test_a_refused_message_is_the_refusal_soft_failure(messages: Messages, telemetry: Telemetry) -> None:
    message = messages.create("ok;refusal=I+cannot+help")

    assert message.stop_reason == "refusal"
    call = telemetry.call_span()
    assert call.attributes["aierrors.outcome"] == "soft_failure"
    assert call.attributes["aierrors.soft_failure"] == "refusal"


def test_an_end_turn_message_is_ok(messages: Messages, telemetry: Telemetry) -> None:
    message = messages.create("ok")

    assert message.stop_reason == "end_turn"
    call = telemetry.call_span()
    assert call.attributes["aierrors.outcome"] == "ok"
    assert call.attributes["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert call.attributes["gen_ai.response.id"] == message.id
    assert telemetry.count("aierrors.calls", aierrors__outcome="ok") == 1


def test_a_stream_ending_with_message_stop_is_ok(messages: Messages, telemetry: Telemetry) -> None:
    events = messages.consume_stream("ok")

    assert events[0] == "message_start"
    assert events[-1] == "message_stop"
    call = telemetry.call_span()
    assert call.attributes["aierrors.stream"] is True
    assert call.attributes["aierrors.outcome"] == "ok"
    assert call.attributes["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert call.attributes["aierrors.attempt.count"] == 1
    assert telemetry.count("aierrors.calls", aierrors__outcome="ok", aierrors__stream=True) == 1


def test_a_stream_that_ends_before_message_stop_is_stream_interrupted(messages: Messages, telemetry: Telemetry) -> None:
    events = messages.consume_stream("silent_cut;after=3")

    assert "message_stop" not in events  # the SDK raised nothing: only the missing end tells
    call = telemetry.call_span()
    assert call.attributes["aierrors.outcome"] == "error"
    assert call.attributes["aierrors.error.class"] == "stream_interrupted"
    assert call.status.status_code is StatusCode.ERROR
    assert telemetry.count("aierrors.calls", aierrors__error__class="stream_interrupted") == 1


def test_an_error_event_mid_stream_is_an_error_of_its_class(messages: Messages, telemetry: Telemetry) -> None:
    with pytest.raises(anthropic.APIStatusError):
        messages.consume_stream("stream_error;after=3;type=overloaded_error")

    call = telemetry.call_span()
    assert call.attributes["aierrors.outcome"] == "error"
    assert call.attributes["aierrors.error.class"] == "overloaded"
    assert telemetry.count("aierrors.calls", aierrors__error__class="overloaded") == 1


def test_the_stream_helper_is_one_call(messages: Messages, telemetry: Telemetry) -> None:
    def use(client_messages: Any, kwargs: dict[str, Any]) -> Any:
        if messages.mode == "sync":
            with client_messages.stream(**kwargs) as stream:
                return stream.get_final_message()

        async def consume() -> Any:
            async with client_messages.stream(**kwargs) as stream:
                return await stream.get_final_message()

        return consume()

    final = messages.run(use, "rate_limit;retry_after=0.01,ok")

    assert final.stop_reason == "end_turn"
    call = telemetry.call_span()
    assert call.attributes["aierrors.outcome"] == "ok"
    assert call.attributes["aierrors.attempt.count"] == 2
    assert [a.attributes.get("aierrors.error.class") for a in telemetry.attempt_spans(call)] == ["rate_limit", None]


def test_with_raw_response_is_summarized_from_the_parse(messages: Messages, telemetry: Telemetry) -> None:
    def use(client_messages: Any, kwargs: dict[str, Any]) -> Any:
        if messages.mode == "sync":
            return client_messages.with_raw_response.create(**kwargs).parse()

        async def parse() -> Any:
            raw = await client_messages.with_raw_response.create(**kwargs)
            parsed = raw.parse()  # a coroutine since anthropic 1.x
            return await parsed if inspect.isawaitable(parsed) else parsed

        return parse()

    message = messages.run(use, "ok;finish_reason=length")

    assert message.stop_reason == "max_tokens"
    call = telemetry.call_span()
    assert call.attributes["aierrors.soft_failure"] == "truncated"


# --- the SDK's own span ------------------------------------------------------------


#: anthropic 2.0 brought the SDK's own spans (and its ``open_telemetry`` client option).
native_spans = pytest.mark.skipif(
    not hasattr(importlib.import_module("anthropic._base_client"), "start_api_call_span"),
    reason="this anthropic release has no spans of its own",
)


def _native_tracing(provider: TracerProvider) -> dict[str, Any]:
    """The client option that turns the SDK's own spans on, into ``provider``."""
    return {"open_telemetry": {"tracer_provider": provider}}


@native_spans
def test_the_sdk_emits_its_own_call_span_when_not_instrumented(messages: Messages) -> None:
    """The premise of the next test: with this option the SDK's own span is exported."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    messages.create("rate_limit;retry_after=0.01,ok", **_native_tracing(provider))

    spans = exporter.get_finished_spans()
    assert [(s.name, s.kind, s.instrumentation_scope.name) for s in spans] == [
        ("anthropic.messages.create", SpanKind.CLIENT, NATIVE_SCOPE)
    ]


@native_spans
def test_with_the_sdks_own_tracing_on_a_call_has_exactly_one_call_span(
    messages: Messages, telemetry: Telemetry
) -> None:
    messages.create("rate_limit;retry_after=0.01,ok", **_native_tracing(telemetry.tracer_provider))

    call = telemetry.call_span()  # exactly one CLIENT call span
    assert call.instrumentation_scope.name == otel_aierrors.__name__
    assert call.attributes["aierrors.attempt.count"] == 2
    assert not [s for s in telemetry.spans() if s.instrumentation_scope.name == NATIVE_SCOPE]
    assert len(telemetry.attempt_spans(call)) == 2
    assert len(telemetry.spans()) == 3
    assert telemetry.count("aierrors.calls") == 1


@native_spans
def test_the_sdk_still_sends_a_traceparent_now_naming_our_call_span(messages: Messages, telemetry: Telemetry) -> None:
    sent: list[str | None] = []

    def record(request: Any) -> None:
        sent.append(request.headers.get("traceparent"))

    async def arecord(request: Any) -> None:
        record(request)

    if messages.mode == "sync":
        http_client = anthropic.DefaultHttpxClient(event_hooks={"request": [record]})
    else:
        http_client = anthropic.DefaultAsyncHttpxClient(event_hooks={"request": [arecord]})
    messages.create(
        "rate_limit;retry_after=0.01,ok", http_client=http_client, **_native_tracing(telemetry.tracer_provider)
    )

    call = telemetry.call_span()
    context = call.context
    assert [header.split("-")[1:3] if header else None for header in sent] == [
        [f"{context.trace_id:032x}", f"{context.span_id:016x}"]
    ] * 2
    assert len(telemetry.attempt_spans(call)) == 2


@native_spans
def test_after_uninstrument_the_sdks_own_span_is_back(messages: Messages) -> None:
    recorded = Telemetry()
    otel_aierrors.instrument(tracer_provider=recorded.tracer_provider, meter_provider=recorded.meter_provider)
    otel_aierrors.uninstrument()

    messages.create("ok", **_native_tracing(recorded.tracer_provider))

    assert [s.instrumentation_scope.name for s in recorded.spans()] == [NATIVE_SCOPE]
