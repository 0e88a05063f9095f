"""Failures the client does not see as errors, and bodies that take their time.

``silent_cut`` (a stream that ends cleanly with no terminal marker), scripted
usage chunks, ``n > 1`` and tool-call streams cut early, and the body pacing
parameters (``body_delay``, ``drip``, ``cut_body``) on answers and on error
bodies of streamed requests.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import openai
import pytest

from otel_aierrors.chaos import ChaosServer
from tests.conftest import HTTP  # httpx, or httpx2 beside openai 3.x

from .conftest import API_KEY, MESSAGES, Tagged

TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}]


def _chunks(server: ChaosServer, mode: str, method: str, **kwargs: Any) -> list[Any]:
    """Iterate a streamed call to its end through a sync or async client; returns what the SDK yielded."""
    options = {"base_url": server.base_url, "api_key": API_KEY, "max_retries": 0, "timeout": 5.0}
    path = method.split(".")
    if mode == "sync":
        with openai.OpenAI(**options) as client:
            target: Any = client
            for part in path:
                target = getattr(target, part)
            return list(target(stream=True, **kwargs))

    async def run() -> list[Any]:
        async with openai.AsyncOpenAI(**options) as client:
            target: Any = client
            for part in path:
                target = getattr(target, part)
            return [item async for item in await target(stream=True, **kwargs)]

    return asyncio.run(run())


def _chat(server: ChaosServer, mode: str, headers: dict[str, str], **kwargs: Any) -> list[Any]:
    """The chunks of one streamed chat completion."""
    kwargs = {"model": "gpt-4o", "messages": MESSAGES, "extra_headers": headers, **kwargs}
    return _chunks(server, mode, "chat.completions.create", **kwargs)


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class TestSilentCut:
    def test_chat_ends_after_three_chunks_with_no_finish_reason_and_no_error(
        self, chaos_server: ChaosServer, tagged: Tagged, mode: str
    ) -> None:
        chunks = _chat(chaos_server, mode, tagged.headers("silent_cut;after=3"))

        assert len(chunks) == 3
        assert all(choice.finish_reason is None for chunk in chunks for choice in chunk.choices)
        (record,) = tagged.wait(1)
        assert (record.fault, record.status, record.stream, record.client_closed) == ("silent_cut", 200, True, False)

    def test_completions_and_responses_end_without_their_markers(
        self, chaos_server: ChaosServer, tagged: Tagged, mode: str
    ) -> None:
        texts = _chunks(
            chaos_server,
            mode,
            "completions.create",
            model="gpt-3.5-turbo-instruct",
            prompt="hi",
            extra_headers=tagged.headers("silent_cut;after=3"),
        )
        events = _chunks(
            chaos_server,
            mode,
            "responses.create",
            model="gpt-4o",
            input="hi",
            extra_headers=tagged.headers("silent_cut;after=3"),
        )

        assert len(texts) == 3 and all(chunk.choices[0].finish_reason is None for chunk in texts)
        assert [event.type for event in events] == [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
        ]

    def test_n_choices_and_tool_call_streams_are_cut_the_same_way(
        self, chaos_server: ChaosServer, tagged: Tagged, mode: str
    ) -> None:
        several = _chat(chaos_server, mode, tagged.headers("silent_cut;after=5"), n=2)
        tools = _chat(chaos_server, mode, tagged.headers("silent_cut;after=2;tool_calls=2"), tools=TOOLS)

        assert [chunk.choices[0].index for chunk in several] == [0, 1, 0, 1, 0]
        assert all(chunk.choices[0].finish_reason is None for chunk in several + tools)
        assert tools[1].choices[0].delta.tool_calls[0].function.name == "lookup"

    def test_the_body_is_close_delimited_unless_chunked_framing_is_asked(self, chaos_server: ChaosServer) -> None:
        body = json.dumps({"model": "gpt-4o", "messages": MESSAGES, "stream": True})
        with HTTP.Client(base_url=chaos_server.base_url, timeout=5.0) as client:
            close = client.post("/chat/completions", content=body, headers={"x-chaos-script": "silent_cut;after=2"})
            chunked = client.post(
                "/chat/completions", content=body, headers={"x-chaos-script": "silent_cut;after=2;framing=chunked"}
            )

        assert "content-length" not in close.headers and "transfer-encoding" not in close.headers
        assert close.headers["connection"] == "close"
        assert chunked.headers["transfer-encoding"] == "chunked"
        for response in (close, chunked):
            assert response.text.count("data: ") == 2
            assert "[DONE]" not in response.text and '"finish_reason":"stop"' not in response.text


class TestUsageChunk:
    def test_usage_chunk_can_be_forced_or_dropped(self, chaos_server: ChaosServer, tagged: Tagged, mode: str) -> None:
        forced = _chat(chaos_server, mode, tagged.headers("ok;chunks=2;usage_chunk=1;output_tokens=4"))
        dropped = _chat(
            chaos_server, mode, tagged.headers("ok;chunks=2;usage_chunk=0"), stream_options={"include_usage": True}
        )

        assert forced[-1].choices == [] and forced[-1].usage.completion_tokens == 4
        assert forced[-2].choices[0].finish_reason == "stop"
        assert dropped[-1].choices[0].finish_reason == "stop" and dropped[-1].usage is None


def _timed_read(server: ChaosServer, script: str, *, stream: bool = False) -> tuple[float, float, HTTP.Response]:
    """Seconds until the headers, seconds until the whole body, and the response."""
    body = json.dumps({"model": "gpt-4o", "messages": MESSAGES, "stream": stream})
    with HTTP.Client(base_url=server.base_url, timeout=5.0) as client:
        started = time.monotonic()
        with client.stream("POST", "/chat/completions", content=body, headers={"x-chaos-script": script}) as response:
            headers_at = time.monotonic() - started
            response.read()
            return headers_at, time.monotonic() - started, response


class TestSlowBodies:
    def test_body_delay_holds_the_body_not_the_headers(self, chaos_server: ChaosServer) -> None:
        headers_at, body_at, response = _timed_read(chaos_server, "ok;body_delay=0.6")

        assert headers_at < 0.3 <= 0.6 <= body_at
        assert response.json()["choices"][0]["message"]["content"]

    def test_drip_sends_the_body_in_pieces(self, chaos_server: ChaosServer) -> None:
        pieces: list[bytes] = []
        body = json.dumps({"model": "gpt-4o", "messages": MESSAGES})
        with (
            HTTP.Client(base_url=chaos_server.base_url, timeout=5.0) as client,
            client.stream(
                "POST", "/chat/completions", content=body, headers={"x-chaos-script": "ok;drip=0.05;drip_pieces=8"}
            ) as response,
        ):
            started = time.monotonic()
            pieces.extend(response.iter_raw())
            elapsed = time.monotonic() - started

        assert len(pieces) >= 4 and elapsed >= 0.3
        assert json.loads(b"".join(pieces))["object"] == "chat.completion"

    def test_a_slow_error_body_on_a_streamed_request(self, chaos_server: ChaosServer, tagged: Tagged) -> None:
        headers_at, body_at, response = _timed_read(chaos_server, "overloaded;body_delay=0.5", stream=True)

        assert response.status_code == 503
        assert headers_at < 0.3 and body_at >= 0.5
        assert response.json()["error"]["code"] == "server_overloaded"

    def test_an_error_body_that_breaks_partway(self, chaos_server: ChaosServer, tagged: Tagged) -> None:
        body = json.dumps({"model": "gpt-4o", "messages": MESSAGES, "stream": True})
        with (
            HTTP.Client(base_url=chaos_server.base_url, timeout=5.0) as client,
            client.stream(
                "POST", "/chat/completions", content=body, headers=tagged.headers("server_error;cut_body=12")
            ) as response,
        ):
            assert response.status_code == 500
            declared = int(response.headers["content-length"])
            with pytest.raises(HTTP.RemoteProtocolError):
                response.read()

        assert declared > 12
        (record,) = tagged.wait(1)
        assert (record.fault, record.status) == ("server_error", 500)

    def test_the_sdk_sees_a_slow_error_body_as_late_as_it_reads_it(
        self, chaos_server: ChaosServer, tagged: Tagged
    ) -> None:
        started = time.monotonic()
        with (
            openai.OpenAI(base_url=chaos_server.base_url, api_key=API_KEY, max_retries=0) as client,
            pytest.raises(openai.InternalServerError) as raised,
        ):
            client.chat.completions.create(
                model="gpt-4o",
                messages=MESSAGES,
                stream=True,
                extra_headers=tagged.headers("server_error;drip=0.1;drip_pieces=4"),
            )

        assert time.monotonic() - started >= 0.3
        assert isinstance(raised.value.body, dict) and raised.value.body["type"] == "server_error"

    def test_with_streaming_response_enters_before_a_slow_body_arrives(
        self, chaos_server: ChaosServer, tagged: Tagged
    ) -> None:
        with openai.OpenAI(base_url=chaos_server.base_url, api_key=API_KEY, max_retries=0) as client:
            started = time.monotonic()
            with client.chat.completions.with_streaming_response.create(
                model="gpt-4o", messages=MESSAGES, extra_headers=tagged.headers("ok;body_delay=0.6")
            ) as response:
                entered = time.monotonic() - started
                assert not response.is_closed
                completion = response.parse()
            parsed = time.monotonic() - started

        assert entered < 0.3 and parsed >= 0.6
        assert completion.choices[0].finish_reason == "stop"

    def test_a_silent_cut_of_a_plain_request_is_half_a_body_ended_by_close(self, chaos_server: ChaosServer) -> None:
        body = json.dumps({"model": "gpt-4o", "messages": MESSAGES})
        with HTTP.Client(base_url=chaos_server.base_url, timeout=5.0) as client:
            response = client.post("/chat/completions", content=body, headers={"x-chaos-script": "silent_cut"})

        assert response.status_code == 200 and "content-length" not in response.headers
        assert response.text.startswith('{"id":"chatcmpl-')
        with pytest.raises(json.JSONDecodeError):
            response.json()
