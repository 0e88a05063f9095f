"""Streams complete, fail with an error event, get cut, stall, or are abandoned; sync and async.

What the SDK raises mid-stream differs by major version, because 3.x wraps
transport errors raised while iterating and 2.x does not:

* ``stream_error`` (an SSE event whose data has an ``error`` key): ``openai.APIError``
  on both;
* ``stream_cut``: ``openai.APIConnectionError`` on 3.x, ``httpx.RemoteProtocolError``
  on 2.x;
* ``stream_stall`` past the read timeout: ``openai.APITimeoutError`` on 3.x,
  ``httpx.ReadTimeout`` on 2.x.
"""

from __future__ import annotations

import importlib
from typing import Any

import openai
import pytest
from openai.types.responses import (
    ResponseCompletedEvent,
    ResponseCreatedEvent,
    ResponseErrorEvent,
    ResponseFailedEvent,
    ResponseIncompleteEvent,
    ResponseTextDeltaEvent,
)

from otel_aierrors.chaos import ChaosServer

from .conftest import API_KEY, MESSAGES, Tagged

SDK_MAJOR = int(openai.__version__.split(".")[0])
DEFAULT_TEXT = "Hello from the chaos server. Everything is fine this time."


def _transport(name: str) -> type[BaseException]:
    """The exception a cut (``RemoteProtocolError``) or stall (``ReadTimeout``) surfaces as."""
    if SDK_MAJOR >= 3:
        return openai.APIConnectionError if name == "RemoteProtocolError" else openai.APITimeoutError
    return getattr(importlib.import_module("httpx"), name)  # type: ignore[no-any-return]


CUT = _transport("RemoteProtocolError")
STALL = _transport("ReadTimeout")


class Consumer:
    """Collects chunks from a stream, sync or async, keeping what arrived before a failure."""

    def __init__(self) -> None:
        self.chunks: list[Any] = []

    def sync(self, server: ChaosServer, headers: dict[str, str], api: str = "chat", **kwargs: Any) -> list[Any]:
        with openai.OpenAI(
            base_url=server.base_url, api_key=API_KEY, max_retries=0, timeout=kwargs.pop("timeout", 5.0)
        ) as client:
            stream = _create(client, api, headers, kwargs)
            with stream:
                for chunk in stream:
                    self.chunks.append(chunk)
        return self.chunks

    async def async_(self, server: ChaosServer, headers: dict[str, str], api: str = "chat", **kwargs: Any) -> list[Any]:
        async with openai.AsyncOpenAI(
            base_url=server.base_url, api_key=API_KEY, max_retries=0, timeout=kwargs.pop("timeout", 5.0)
        ) as client:
            stream = await _create(client, api, headers, kwargs)
            async with stream:
                async for chunk in stream:
                    self.chunks.append(chunk)
        return self.chunks


def _create(client: Any, api: str, headers: dict[str, str], kwargs: dict[str, Any]) -> Any:
    if api == "chat":
        return client.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, stream=True, extra_headers=headers, **kwargs
        )
    if api == "completions":
        return client.completions.create(
            model="gpt-3.5-turbo-instruct", prompt="hi", stream=True, extra_headers=headers, **kwargs
        )
    return client.responses.create(model="gpt-4o", input="hello", stream=True, extra_headers=headers, **kwargs)


def _text(chunks: list[Any]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


class StreamCases:
    """One set of stream cases, run by a sync and an async subclass."""

    def consume(self, server: ChaosServer, headers: dict[str, str], api: str = "chat", **kwargs: Any) -> list[Any]:
        raise NotImplementedError

    def consume_into(self, consumer: Consumer, server: ChaosServer, headers: dict[str, str], **kwargs: Any) -> None:
        raise NotImplementedError

    def test_ok_streams_role_content_finish_usage_and_done(self, chaos_server: ChaosServer, tagged: Tagged) -> None:
        chunks = self.consume(chaos_server, tagged.headers("ok"), stream_options={"include_usage": True})

        assert chunks[0].choices[0].delta.role == "assistant"
        assert _text(chunks) == DEFAULT_TEXT
        assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) == 5
        assert chunks[-2].choices[0].finish_reason == "stop"
        assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0
        (record,) = tagged.wait(1)
        assert (record.status, record.stream, record.client_closed) == (200, True, False)

    def test_chunks_and_finish_reason_are_parameters(self, chaos_server: ChaosServer, tagged: Tagged) -> None:
        chunks = self.consume(chaos_server, tagged.headers("ok;chunks=3;finish_reason=length;model=gpt-4o-2024-08-06"))

        assert len(chunks) == 1 + 3 + 1
        assert chunks[-1].choices[0].finish_reason == "length"
        assert {c.model for c in chunks} == {"gpt-4o-2024-08-06"}
        assert all(c.usage is None for c in chunks)

    def test_content_filter_streams_no_content(self, chaos_server: ChaosServer, tagged: Tagged) -> None:
        chunks = self.consume(chaos_server, tagged.headers("ok;finish_reason=content_filter"))

        assert _text(chunks) == ""
        assert chunks[-1].choices[0].finish_reason == "content_filter"

    def test_tool_calls_stream_as_deltas(self, chaos_server: ChaosServer, tagged: Tagged) -> None:
        chunks = self.consume(chaos_server, tagged.headers("ok;tool_calls=1"))

        calls = [call for c in chunks if c.choices for call in (c.choices[0].delta.tool_calls or [])]
        assert calls[0].function.name == "get_weather" and calls[0].id.startswith("call_")
        assert "".join(call.function.arguments or "" for call in calls) == '{"location": "Paris"}'
        assert chunks[-1].choices[0].finish_reason == "tool_calls"

    @pytest.mark.parametrize("step", ["stream_error;after=2", "stream_error;after=2;named=0"])
    def test_stream_error_raises_api_error_after_the_chunks(
        self, chaos_server: ChaosServer, tagged: Tagged, step: str
    ) -> None:
        consumer = Consumer()
        with pytest.raises(openai.APIError) as caught:
            self.consume_into(consumer, chaos_server, tagged.headers(step))

        assert type(caught.value) is openai.APIError
        assert len(consumer.chunks) == 2
        assert caught.value.code == "server_error"
        assert caught.value.type == "server_error"
        assert caught.value.message == "The server had an error while processing your request. Sorry about that!"
        (record,) = tagged.wait(1)
        assert (record.status, record.fault, record.client_closed) == (200, "stream_error", False)

    def test_stream_error_code_type_and_dialect(self, chaos_server: ChaosServer, tagged: Tagged) -> None:
        consumer = Consumer()
        with pytest.raises(openai.APIError) as caught:
            self.consume_into(
                consumer,
                chaos_server,
                tagged.headers("stream_error;after=3;code=overloaded;type=overloaded_error;dialect=lemondata"),
            )

        assert len(consumer.chunks) == 3
        assert caught.value.code == "overloaded"
        assert isinstance(caught.value.body, dict) and caught.value.body["retryable"] is True

    def test_stream_cut_fails_the_iteration(self, chaos_server: ChaosServer, tagged: Tagged) -> None:
        consumer = Consumer()
        with pytest.raises(CUT):
            self.consume_into(consumer, chaos_server, tagged.headers("stream_cut;after=3"))

        assert len(consumer.chunks) == 3
        assert tagged.wait(1)[0].fault == "stream_cut"

    def test_stream_stall_times_out(self, chaos_server: ChaosServer, tagged: Tagged) -> None:
        consumer = Consumer()
        with pytest.raises(STALL):
            self.consume_into(consumer, chaos_server, tagged.headers("stream_stall;after=2;seconds=2"), timeout=0.2)

        assert len(consumer.chunks) == 2
        assert tagged.wait(1)[0].client_closed is True

    def test_legacy_completions_stream(self, chaos_server: ChaosServer, tagged: Tagged) -> None:
        chunks = self.consume(
            chaos_server, tagged.headers("ok;chunks=4"), api="completions", stream_options={"include_usage": True}
        )

        assert "".join(c.choices[0].text for c in chunks if c.choices) == DEFAULT_TEXT
        assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
        assert chunks[-1].usage.total_tokens > 0

    def test_responses_stream_events_parse_into_sdk_types(self, chaos_server: ChaosServer, tagged: Tagged) -> None:
        events = self.consume(chaos_server, tagged.headers("ok;chunks=3"), api="responses")

        assert isinstance(events[0], ResponseCreatedEvent)
        assert [e.sequence_number for e in events] == list(range(len(events)))
        deltas = [e for e in events if isinstance(e, ResponseTextDeltaEvent)]
        assert len(deltas) == 3 and "".join(d.delta for d in deltas) == DEFAULT_TEXT
        assert isinstance(events[-1], ResponseCompletedEvent)
        assert events[-1].response.output_text == DEFAULT_TEXT
        assert events[-1].response.usage.output_tokens > 0
        assert len({e.response.id for e in events if hasattr(e, "response")}) == 1

    def test_responses_stream_incomplete(self, chaos_server: ChaosServer, tagged: Tagged) -> None:
        events = self.consume(chaos_server, tagged.headers("ok;finish_reason=length"), api="responses")

        assert isinstance(events[-1], ResponseIncompleteEvent)
        assert events[-1].response.status == "incomplete"
        assert events[-1].response.incomplete_details.reason == "max_output_tokens"

    @pytest.mark.parametrize(
        ("mode", "types"),
        [
            ("both", [ResponseErrorEvent, ResponseFailedEvent]),
            ("error", [ResponseErrorEvent]),
            ("failed", [ResponseFailedEvent]),
        ],
    )
    def test_responses_stream_error_events_parse_without_raising(
        self, chaos_server: ChaosServer, tagged: Tagged, mode: str, types: list[type]
    ) -> None:
        events = self.consume(
            chaos_server, tagged.headers(f"stream_error;after=5;event={mode};code=server_error"), api="responses"
        )

        assert len(events) == 5 + len(types)
        assert [type(e) for e in events[5:]] == types
        if mode != "failed":
            assert events[5].code == "server_error" and events[5].message
        if mode != "error":
            failed = events[-1]
            assert failed.response.status == "failed"
            assert failed.response.error.code == "server_error"
        assert [e.sequence_number for e in events] == list(range(len(events)))


class TestSyncStreams(StreamCases):
    def consume(self, server: ChaosServer, headers: dict[str, str], api: str = "chat", **kwargs: Any) -> list[Any]:
        return Consumer().sync(server, headers, api, **kwargs)

    def consume_into(self, consumer: Consumer, server: ChaosServer, headers: dict[str, str], **kwargs: Any) -> None:
        consumer.sync(server, headers, **kwargs)


class TestAsyncStreams(StreamCases):
    def consume(self, server: ChaosServer, headers: dict[str, str], api: str = "chat", **kwargs: Any) -> list[Any]:
        import asyncio

        return asyncio.run(Consumer().async_(server, headers, api, **kwargs))

    def consume_into(self, consumer: Consumer, server: ChaosServer, headers: dict[str, str], **kwargs: Any) -> None:
        import asyncio

        asyncio.run(consumer.async_(server, headers, **kwargs))


class TestAbandonedStreams:
    def test_sync_client_that_stops_reading_is_seen_hanging_up(self, chaos_server: ChaosServer, tagged: Tagged) -> None:
        with openai.OpenAI(base_url=chaos_server.base_url, api_key=API_KEY, max_retries=0) as client:
            stream = client.chat.completions.create(
                model="gpt-4o",
                messages=MESSAGES,
                stream=True,
                extra_headers=tagged.headers("ok;chunks=50;chunk_delay=0.02"),
            )
            first = next(iter(stream))
            stream.close()

        assert first.choices[0].delta.role == "assistant"
        (record,) = tagged.wait(1)
        assert record.client_closed is True
        assert record.duration < 0.5
        assert chaos_server.wait_for(lambda: not chaos_server.is_open(record.connection_id))

    async def test_async_client_that_stops_reading_is_seen_hanging_up(
        self, aclient: openai.AsyncOpenAI, chaos_server: ChaosServer, tagged: Tagged
    ) -> None:
        stream = await aclient.chat.completions.create(
            model="gpt-4o",
            messages=MESSAGES,
            stream=True,
            extra_headers=tagged.headers("ok;chunks=50;chunk_delay=0.02"),
        )
        async for _ in stream:
            break
        await stream.close()

        (record,) = tagged.wait(1)
        assert record.client_closed is True

    def test_a_finished_stream_is_not_an_early_hang_up(self, chaos_server: ChaosServer, tagged: Tagged) -> None:
        with openai.OpenAI(base_url=chaos_server.base_url, api_key=API_KEY, max_retries=0) as client:
            list(
                client.chat.completions.create(
                    model="gpt-4o", messages=MESSAGES, stream=True, extra_headers=tagged.headers("ok;chunk_delay=0.01")
                )
            )

        (record,) = tagged.wait(1)
        assert record.client_closed is False
        assert chaos_server.wait_for(lambda: not chaos_server.is_open(record.connection_id))


class TestNativeAsync:
    async def test_async_stream_ok_and_helper(self, aclient: openai.AsyncOpenAI, tagged: Tagged) -> None:
        stream = await aclient.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, stream=True, extra_headers=tagged.headers("ok;content=hello+async")
        )
        text = ""
        async for chunk in stream:
            text += chunk.choices[0].delta.content or ""

        async with aclient.responses.stream(model="gpt-4o", input="hi", extra_headers=tagged.headers("ok")) as events:
            final = await events.get_final_response()

        assert text == "hello async"
        assert final.output_text == DEFAULT_TEXT

    async def test_async_stream_error(self, aclient: openai.AsyncOpenAI, tagged: Tagged) -> None:
        stream = await aclient.chat.completions.create(
            model="gpt-4o",
            messages=MESSAGES,
            stream=True,
            extra_headers=tagged.headers("stream_error;after=1;code=server_overloaded"),
        )
        with pytest.raises(openai.APIError) as caught:
            async for _ in stream:
                pass

        assert caught.value.code == "server_overloaded"


def test_the_sync_responses_helper_accumulates_the_final_response(chaos_server: ChaosServer, tagged: Tagged) -> None:
    with (
        openai.OpenAI(base_url=chaos_server.base_url, api_key=API_KEY, max_retries=0) as client,
        client.responses.stream(model="gpt-4o", input="hi", extra_headers=tagged.headers("ok;chunks=4")) as events,
    ):
        kinds = [event.type for event in events]
        final = events.get_final_response()

    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert final.output_text == DEFAULT_TEXT
