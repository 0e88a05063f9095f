"""LiteLLM's own HTTP handler: its calls look exactly like the same calls through the SDK.

``litellm.completion(model="anthropic/...")`` translates the request itself and
sends it through ``HTTPHandler.post`` (no ``anthropic`` SDK involved); the same
Messages call through the real ``anthropic`` SDK against the same chaos server
is the reference: every call and attempt span attribute must be equal, but the
few listed in `EXCLUDED` with their reason. ``openai/...`` goes through the
``openai`` SDK, recorded once. Streams end once, with the SDK path's outcomes.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

import pytest
import wrapt
from opentelemetry.sdk.trace import ReadableSpan

import otel_aierrors
from otel_aierrors.chaos import ChaosServer, script_headers

from ..conftest import Telemetry, assert_same_exception, raised

litellm = pytest.importorskip("litellm", reason="litellm is not installed")
anthropic = pytest.importorskip("anthropic", reason="the anthropic SDK is not installed")
openai = pytest.importorskip("openai", reason="the openai SDK is not installed")

from litellm.llms.custom_httpx import http_handler  # noqa: E402

# LiteLLM imports provider modules lazily, on the first call; one of them (github_copilot) makes
# pydantic warn about its own ``ReadOnly`` TypedDict. LiteLLM's warning, not this package's.
# LiteLLM leaves a stream's response open once it has the finish reason (and on a mid-stream
# failure); the socket is closed by the garbage collector, with a ResourceWarning. Uninstrumented
# too: LiteLLM's leak, not this package's.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Items? .* using the `ReadOnly` qualifier:UserWarning"),
    pytest.mark.filterwarnings("ignore:unclosed:ResourceWarning"),
    pytest.mark.filterwarnings("ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in. <function _SelectorTransport.__del__:pytest.PytestUnraisableExceptionWarning"
    ),
]

MODEL: Final = "claude-sonnet-4-5"
MESSAGES: Final = [{"role": "user", "content": "hello"}]
API_KEY: Final = "sk-ant-api03-litellmTEST0123456789SECRET"

#: Attributes that must differ between two calls, each for its reason; everything else must be equal.
EXCLUDED: Final = frozenset(
    {
        # Ids the chaos server draws afresh for every response: two calls never share them.
        "gen_ai.response.id",
        "aierrors.request_id",
        # Seconds until the server's rate-limit window resets: read from the clock at each answer.
        "aierrors.ratelimit.reset_requests",
        "aierrors.ratelimit.reset_tokens",
        # Timings: how long a stream took to its first chunk is never the same twice.
        "gen_ai.response.time_to_first_chunk",
    }
)


#: On attempt spans only: the provider error the attempt read from the error body. The transport
#: hook reads a body only if the HTTP library already holds it (it never reads one itself). LiteLLM
#: sends a non-streamed request without ``stream``, so httpx has read the 429's body when ``send``
#: returns and the attempt names the error; anthropic 2.x sends streamed and reads the body after
#: ``send``: its attempt never sees it (its call span does not carry it either). Ours says more, and
#: what it says is checked on its own (`_assert_same_spans`).
ATTEMPT_BODY_ONLY: Final = frozenset({"aierrors.provider.error.type", "aierrors.provider.error.code"})


def _attributes(span: ReadableSpan, excluded: frozenset[str] = EXCLUDED) -> dict[str, Any]:
    return {key: value for key, value in (span.attributes or {}).items() if key not in excluded}


def _only_call(telemetry: Telemetry) -> tuple[ReadableSpan, list[ReadableSpan]]:
    call = telemetry.call_span()
    return call, telemetry.attempt_spans(call)


def _assert_same_spans(
    telemetry: Telemetry, make_litellm: Callable[[], object], make_sdk: Callable[[], object]
) -> None:
    """The LiteLLM call and the SDK call leave the same call span and attempt spans."""
    litellm_raised = raised(make_litellm)
    litellm_call, litellm_attempts = _only_call(telemetry)
    telemetry.exporter.clear()
    sdk_raised = raised(make_sdk)
    sdk_call, sdk_attempts = _only_call(telemetry)
    assert (litellm_raised is None) == (sdk_raised is None), (litellm_raised, sdk_raised)
    assert litellm_call.name == sdk_call.name
    assert litellm_call.status.status_code == sdk_call.status.status_code
    assert _attributes(litellm_call) == _attributes(sdk_call)
    assert len(litellm_attempts) == len(sdk_attempts) >= 1
    for ours, theirs in zip(litellm_attempts, sdk_attempts, strict=True):
        assert ours.name == theirs.name
        assert ours.status.status_code == theirs.status.status_code
        assert _attributes(ours, EXCLUDED | ATTEMPT_BODY_ONLY) == _attributes(theirs, EXCLUDED | ATTEMPT_BODY_ONLY)
        for name in ATTEMPT_BODY_ONLY & set(theirs.attributes or {}):
            assert (ours.attributes or {}).get(name) == (theirs.attributes or {})[name]


def _litellm_kwargs(server: ChaosServer, script: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": f"anthropic/{MODEL}",
        "api_base": server.url,
        "api_key": API_KEY,
        "messages": MESSAGES,
        "max_tokens": 64,
        "extra_headers": script_headers(script),
        **extra,
    }


def _sdk_create(server: ChaosServer, script: str) -> Any:
    with anthropic.Anthropic(base_url=server.url, api_key=API_KEY, max_retries=0, timeout=5.0) as client:
        return client.messages.create(
            model=MODEL, max_tokens=64, messages=MESSAGES, extra_headers=script_headers(script)
        )


def _sdk_stream(server: ChaosServer, script: str) -> list[Any]:
    with anthropic.Anthropic(base_url=server.url, api_key=API_KEY, max_retries=0, timeout=5.0) as client:
        stream = client.messages.create(
            model=MODEL, max_tokens=64, messages=MESSAGES, extra_headers=script_headers(script), stream=True
        )
        return list(stream)


def _comparable(response: Any) -> dict[str, Any]:
    """A LiteLLM response without what differs between two runs (the server's id, the clock)."""
    dumped: dict[str, Any] = response.model_dump()
    for key in ("id", "created"):
        dumped.pop(key, None)
    return dumped


def _delta(chunk: Any) -> tuple[Any, ...]:
    """What a streamed chunk says (its id and timestamp differ between two runs)."""
    choice = chunk.choices[0]
    return type(chunk), choice.delta.content, choice.finish_reason


def _collect_sync(server: ChaosServer, script: str) -> list[Any]:
    return list(litellm.completion(**_litellm_kwargs(server, script, stream=True)))


def _collect_async(server: ChaosServer, script: str) -> list[Any]:
    async def run() -> list[Any]:
        try:
            stream = await litellm.acompletion(**_litellm_kwargs(server, script, stream=True))
            return [chunk async for chunk in stream]
        finally:
            await _close_async_clients()

    return asyncio.run(run())


async def _close_async_clients() -> None:
    """Close LiteLLM's cached async clients before their event loop goes (they outlive it, open, else)."""
    await litellm.close_litellm_async_clients()
    litellm.in_memory_llm_clients_cache.flush_cache()


COLLECT: Final[Mapping[str, Callable[[ChaosServer, str], list[Any]]]] = {
    "sync": _collect_sync,
    "async": _collect_async,
}


@pytest.fixture(params=["sync", "async"])
def collect(request: pytest.FixtureRequest) -> Callable[[ChaosServer, str], list[Any]]:
    return COLLECT[request.param]


# --- the done-when: the same spans as the SDK -----------------------------------------------------------
def _acompletion(**kwargs: Any) -> Any:
    async def run() -> Any:
        try:
            return await litellm.acompletion(**kwargs)
        finally:
            await _close_async_clients()

    return asyncio.run(run())


@pytest.mark.parametrize("complete", [litellm.completion, _acompletion], ids=["sync", "async"])
def test_a_successful_anthropic_call_through_litellm_has_the_sdk_calls_spans(
    telemetry: Telemetry, chaos: ChaosServer, complete: Callable[..., Any]
) -> None:
    script = "ok;input_tokens=11;output_tokens=7;cache_read_tokens=3"
    _assert_same_spans(
        telemetry,
        lambda: complete(**_litellm_kwargs(chaos, script)),
        lambda: _sdk_create(chaos, script),
    )
    call = telemetry.call_span()
    assert call.attributes["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert call.attributes["gen_ai.usage.input_tokens"] == 11


def test_an_openai_compatible_call_through_litellms_handler_has_the_openai_sdk_calls_spans(
    telemetry: Telemetry, chaos: ChaosServer
) -> None:
    # ``mistral/`` is sent by LiteLLM's own handler in the OpenAI-compatible dialect (``openai/`` is not).
    script = "ok;input_tokens=5;output_tokens=4"
    key = "sk-proj-litellmTEST0123456789SECRET"

    def through_litellm() -> Any:
        return litellm.completion(
            model="mistral/mistral-small",
            api_base=f"{chaos.url}/v1",
            api_key=key,
            messages=MESSAGES,
            max_tokens=32,
            extra_headers=script_headers(script),
        )

    def through_sdk() -> Any:
        with openai.OpenAI(base_url=f"{chaos.url}/v1", api_key=key, max_retries=0) as client:
            return client.chat.completions.create(
                model="mistral-small", messages=MESSAGES, max_tokens=32, extra_headers=script_headers(script)
            )

    litellm_call = _compare_without_provider(telemetry, through_litellm, through_sdk)
    # LiteLLM knows the provider is Mistral; the openai SDK pointed at 127.0.0.1 can only say openai.
    assert litellm_call.attributes["gen_ai.provider.name"] == "mistral_ai"


def _compare_without_provider(
    telemetry: Telemetry, make_litellm: Callable[[], object], make_sdk: Callable[[], object]
) -> ReadableSpan:
    make_litellm()
    litellm_call, litellm_attempts = _only_call(telemetry)
    telemetry.exporter.clear()
    make_sdk()
    sdk_call, sdk_attempts = _only_call(telemetry)
    without = EXCLUDED | {"gen_ai.provider.name"}
    assert litellm_call.name == sdk_call.name
    assert _attributes(litellm_call, without) == _attributes(sdk_call, without)
    assert [_attributes(a) for a in litellm_attempts] == [_attributes(a) for a in sdk_attempts]
    return litellm_call


def test_a_rate_limited_anthropic_call_through_litellm_has_the_sdk_calls_spans(
    telemetry: Telemetry, chaos: ChaosServer
) -> None:
    # LiteLLM does not retry inside its handler: the call fails on its one attempt, as the SDK's with
    # max_retries=0 does (its retries of a 429 are the SDK's, not a second LiteLLM request).
    script = "rate_limit;retry_after=0.01"
    _assert_same_spans(
        telemetry,
        lambda: litellm.completion(**_litellm_kwargs(chaos, script)),
        lambda: _sdk_create(chaos, script),
    )
    call = telemetry.call_span()
    assert call.attributes["aierrors.error.class"] == "rate_limit"
    assert "SECRET" not in telemetry.exported_text()  # the API key LiteLLM sent is masked everywhere
    (attempt,) = telemetry.attempt_spans(call)
    assert attempt.attributes["aierrors.retry_after"] == 0.01


def test_a_server_error_with_its_body_through_litellm_has_the_sdk_calls_spans(
    telemetry: Telemetry, chaos: ChaosServer
) -> None:
    _assert_same_spans(
        telemetry,
        lambda: litellm.completion(**_litellm_kwargs(chaos, "overloaded;retry_after_ms=1")),
        lambda: _sdk_create(chaos, "overloaded;retry_after_ms=1"),
    )
    assert telemetry.call_span().attributes["aierrors.error.class"] == "overloaded"


def test_a_streamed_anthropic_call_through_litellm_has_the_sdk_streams_call_span(
    telemetry: Telemetry, chaos: ChaosServer
) -> None:
    # Token counts scripted: unscripted, the server counts the request's characters, and LiteLLM's
    # request is not the SDK's byte for byte.
    script = "ok;chunks=3;input_tokens=9;output_tokens=9"
    litellm_chunks = _collect_async(chaos, script)
    litellm_call, _ = _only_call(telemetry)
    telemetry.exporter.clear()
    _sdk_stream(chaos, script)
    sdk_call, _ = _only_call(telemetry)
    assert litellm_chunks[-1].choices[0].finish_reason == "stop"
    chunks = "aierrors.stream.chunks"
    assert _attributes(litellm_call, EXCLUDED | {chunks}) == _attributes(sdk_call, EXCLUDED | {chunks})
    # The events LiteLLM read: it stops at the finish reason, so `message_stop` is counted only when it
    # came in the same piece of the body as `message_delta` (how the bytes were cut on the way decides).
    assert litellm_call.attributes[chunks] in (sdk_call.attributes[chunks] - 1, sdk_call.attributes[chunks])
    assert litellm_call.attributes["aierrors.outcome"] == "ok"


# --- return values, exceptions, one call span ------------------------------------------------------
def test_results_and_exceptions_are_litellms_own(telemetry: Telemetry, chaos: ChaosServer) -> None:
    instrumented = litellm.completion(**_litellm_kwargs(chaos, "ok"))
    otel_aierrors.uninstrument()
    try:
        plain = litellm.completion(**_litellm_kwargs(chaos, "ok"))
    finally:
        otel_aierrors.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    assert type(instrumented) is type(plain)
    assert _comparable(instrumented) == _comparable(plain)

    def failing() -> object:
        return litellm.completion(**_litellm_kwargs(chaos, "rate_limit;retry_after=0.01"))

    assert_same_exception(raised(failing), telemetry.uninstrumented(failing))


def test_an_openai_call_through_litellm_is_recorded_once(telemetry: Telemetry, chaos: ChaosServer) -> None:
    response = litellm.completion(
        model="openai/gpt-4o-mini",
        api_base=f"{chaos.url}/v1",
        api_key="sk-proj-litellmTEST0123456789SECRET",
        messages=MESSAGES,
        extra_headers=script_headers("ok"),
    )
    assert response.choices[0].finish_reason == "stop"
    call = telemetry.call_span()  # exactly one call span
    assert call.attributes["gen_ai.provider.name"] == "openai"
    assert len(telemetry.attempt_spans(call)) == 1
    assert len(telemetry.attempt_spans()) == 1


def _posts() -> tuple[object, object]:
    # From the class dicts: ``AsyncHTTPHandler.post`` is decorated by LiteLLM (``functools.wraps``),
    # so it has a ``__wrapped__`` of its own; a wrapper of this package is a ``wrapt.FunctionWrapper``.
    return http_handler.HTTPHandler.__dict__["post"], http_handler.AsyncHTTPHandler.__dict__["post"]


def test_uninstrument_restores_the_handlers_post(telemetry: Telemetry) -> None:
    wrapped = _posts()
    assert all(isinstance(post, wrapt.FunctionWrapper) for post in wrapped)
    otel_aierrors.uninstrument()
    try:
        restored = _posts()
        assert not any(isinstance(post, wrapt.FunctionWrapper) for post in restored)
        assert restored == tuple(post.__wrapped__ for post in wrapped)  # type: ignore[attr-defined]
    finally:
        otel_aierrors.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)


# --- streams end once, with the SDK path's outcomes -------------------------------------------------
def test_a_stream_read_to_its_finish_reason_ends_ok_once(
    telemetry: Telemetry, chaos: ChaosServer, collect: Callable[[ChaosServer, str], list[Any]]
) -> None:
    chunks = collect(chaos, "ok;chunks=3")
    assert chunks[-1].choices[0].finish_reason == "stop"
    otel_aierrors.uninstrument()
    try:
        plain = collect(chaos, "ok;chunks=3")
    finally:
        otel_aierrors.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    assert [_delta(chunk) for chunk in chunks] == [_delta(chunk) for chunk in plain]
    call = telemetry.call_span()
    assert call.attributes["aierrors.outcome"] == "ok"
    assert call.attributes["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert call.attributes["aierrors.stream"] is True
    assert "aierrors.stream.abandoned" not in call.attributes
    assert len(telemetry.attempt_spans(call)) == 1


def test_a_silent_eof_is_an_interrupted_stream(
    telemetry: Telemetry, chaos: ChaosServer, collect: Callable[[ChaosServer, str], list[Any]]
) -> None:
    instrumented = raised(lambda: collect(chaos, "silent_cut;after=4"))
    call = telemetry.call_span()
    assert_same_exception(instrumented, telemetry.uninstrumented(lambda: collect(chaos, "silent_cut;after=4")))
    assert call.attributes["aierrors.outcome"] == "error"
    assert call.attributes["aierrors.error.class"] == "stream_interrupted"


def test_a_stream_cut_mid_body_is_an_interrupted_stream(
    telemetry: Telemetry, chaos: ChaosServer, collect: Callable[[ChaosServer, str], list[Any]]
) -> None:
    raised(lambda: collect(chaos, "stream_cut;after=4"))
    call = telemetry.call_span()
    assert call.attributes["aierrors.outcome"] == "error"
    assert call.attributes["aierrors.error.class"] == "stream_interrupted"


def test_an_error_event_mid_stream_is_classified_as_on_the_sdk_path(
    telemetry: Telemetry, chaos: ChaosServer, collect: Callable[[ChaosServer, str], list[Any]]
) -> None:
    script = "stream_error;after=3"
    raised(lambda: collect(chaos, script))
    ours = telemetry.call_span()
    telemetry.exporter.clear()
    raised(lambda: _sdk_stream(chaos, script))
    theirs = telemetry.call_span()
    assert ours.attributes["aierrors.outcome"] == theirs.attributes["aierrors.outcome"] == "error"
    assert ours.attributes["aierrors.error.class"] == theirs.attributes["aierrors.error.class"]


def test_an_abandoned_stream_ends_once_as_abandoned(telemetry: Telemetry, chaos: ChaosServer) -> None:
    def take_one() -> None:
        stream = litellm.completion(**_litellm_kwargs(chaos, "ok;chunks=6", stream=True))
        next(iter(stream))

    take_one()
    # LiteLLM's success-logging thread holds the dropped stream a moment, and the stream and its
    # logging object form a reference cycle: it is freed by a garbage collection, not at once.
    deadline = time.monotonic() + 10.0
    while not telemetry.call_spans() and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.1)
    call = telemetry.call_span()  # the drainer thread ends it within a second of the collection
    assert call.attributes["aierrors.stream.abandoned"] is True
    assert call.attributes["aierrors.outcome"] == "ok"
    assert len(telemetry.call_spans()) == 1


def _spans_left_open(telemetry: Telemetry) -> Iterator[str]:  # pragma: no cover - a helper for debugging
    yield from (span.name for span in telemetry.spans() if span.end_time is None)


def test_a_streamed_response_never_read_ends_its_call_as_abandoned_when_dropped(
    telemetry: Telemetry, chaos: ChaosServer
) -> None:
    handler = http_handler.HTTPHandler()
    try:
        body = '{"model": "claude-sonnet-4-5", "max_tokens": 64, "stream": true, "messages": []}'
        response = handler.post(
            f"{chaos.url}/v1/messages", data=body, headers=script_headers("ok;chunks=3"), stream=True
        )
        assert response.status_code == 200
        assert not telemetry.call_spans()  # open while the response lives
        response.close()
        del response
        gc.collect()
        call = telemetry.call_span()  # the drainer thread ends it within a second
    finally:
        handler.close()
    assert call.attributes["aierrors.stream.abandoned"] is True
    assert call.attributes["gen_ai.request.model"] == MODEL
    assert len(telemetry.attempt_spans(call)) == 1
