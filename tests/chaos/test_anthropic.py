"""Anthropic's Messages API at ``/v1/messages``, seen through the real ``anthropic`` SDK (sync and async)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest

from otel_aierrors.chaos import ChaosServer

from .conftest import Tagged

anthropic = pytest.importorskip("anthropic", reason="the anthropic SDK is not installed")

API_KEY = "sk-ant-api03-chaosTEST0123456789SECRET"
MODEL = "claude-sonnet-4-5"
MESSAGES = [{"role": "user", "content": "hello"}]
DEFAULT_TEXT = "Hello from the chaos server. Everything is fine this time."
TOOLS = [{"name": "lookup", "description": "look up", "input_schema": {"type": "object", "properties": {}}}]


class Claude:
    """Runs one Messages call through a fresh sync or async ``anthropic`` client (closed afterwards)."""

    def __init__(self, mode: str, server: ChaosServer) -> None:
        self.mode = mode
        self.server = server

    def run(self, use: Callable[[Any], Any], *, max_retries: int = 0) -> Any:
        """``use(client)`` for sync; for async ``use`` returns an awaitable."""
        options = {"base_url": self.server.url, "api_key": API_KEY, "max_retries": max_retries, "timeout": 5.0}
        if self.mode == "sync":
            with anthropic.Anthropic(**options) as client:
                return use(client)

        async def run() -> Any:
            async with anthropic.AsyncAnthropic(**options) as client:
                return await use(client)

        return asyncio.run(run())

    def create(self, headers: dict[str, str], *, max_retries: int = 0, **kwargs: Any) -> Any:
        """``messages.create`` with a default model, messages and max_tokens."""
        kwargs = {"model": MODEL, "max_tokens": 64, "messages": MESSAGES, "extra_headers": headers, **kwargs}
        return self.run(lambda client: client.messages.create(**kwargs), max_retries=max_retries)

    def events(self, headers: dict[str, str], **kwargs: Any) -> list[Any]:
        """``messages.create(stream=True)``, iterated to the end."""
        kwargs = {"model": MODEL, "max_tokens": 64, "messages": MESSAGES, "extra_headers": headers, **kwargs}
        if self.mode == "sync":
            return self.run(lambda client: list(client.messages.create(stream=True, **kwargs)))

        async def collect(client: Any) -> list[Any]:
            return [event async for event in await client.messages.create(stream=True, **kwargs)]

        return self.run(collect)

    def final_message(self, headers: dict[str, str], **kwargs: Any) -> Any:
        """The ``messages.stream()`` helper's accumulated final message."""
        kwargs = {"model": MODEL, "max_tokens": 64, "messages": MESSAGES, "extra_headers": headers, **kwargs}
        if self.mode == "sync":

            def use(client: Any) -> Any:
                with client.messages.stream(**kwargs) as stream:
                    return stream.get_final_message()

            return self.run(use)

        async def ause(client: Any) -> Any:
            async with client.messages.stream(**kwargs) as stream:
                return await stream.get_final_message()

        return self.run(ause)

    def error(self, headers: dict[str, str], *, stream: bool = False, **kwargs: Any) -> Any:
        """The exception the call raises."""
        try:
            if stream:
                self.events(headers, **kwargs)
            else:
                self.create(headers, **kwargs)
        except anthropic.AnthropicError as error:
            return error
        raise AssertionError("the call did not fail")


@pytest.fixture(params=["sync", "async"])
def claude(request: pytest.FixtureRequest, chaos_server: ChaosServer) -> Claude:
    return Claude(request.param, chaos_server)


def test_a_message_parses_with_usage_and_request_id(claude: Claude, tagged: Tagged) -> None:
    message = claude.create(tagged.headers("ok;input_tokens=11;output_tokens=7;cache_read_tokens=3"))

    assert (message.type, message.role, message.model) == ("message", "assistant", MODEL)
    assert message.id.startswith("msg_")
    assert [(block.type, block.text) for block in message.content] == [("text", DEFAULT_TEXT)]
    assert (message.stop_reason, message.stop_sequence) == ("end_turn", None)
    assert (message.usage.input_tokens, message.usage.output_tokens) == (11, 7)
    assert (message.usage.cache_read_input_tokens, message.usage.cache_creation_input_tokens) == (3, 0)
    (record,) = tagged.wait(1)
    assert re.fullmatch(r"req_[0-9a-f]{32}", message._request_id or "")
    assert (record.path, record.request_id, record.model) == ("/v1/messages", message._request_id, MODEL)


@pytest.mark.parametrize(
    ("step", "stop_reason"),
    [
        ("ok", "end_turn"),
        ("ok;finish_reason=length", "max_tokens"),
        ("ok;stop_reason=max_tokens", "max_tokens"),
        ("ok;stop_reason=stop_sequence", "stop_sequence"),
        ("ok;stop_reason=pause_turn", "pause_turn"),
        ("ok;refusal=I+cannot+help", "refusal"),
        ("ok;stop_reason=refusal", "refusal"),
    ],
)
def test_stop_reasons_are_scriptable_streamed_or_not(
    claude: Claude, tagged: Tagged, step: str, stop_reason: str
) -> None:
    plain = claude.create(tagged.headers(step))
    streamed = claude.final_message(tagged.headers(step))

    assert plain.stop_reason == streamed.stop_reason == stop_reason
    assert [block.text for block in plain.content] == [block.text for block in streamed.content]
    if stop_reason == "stop_sequence":
        assert plain.stop_sequence == streamed.stop_sequence == "\n\nHuman:"
    if step.startswith("ok;refusal"):
        assert plain.content[0].text == "I cannot help"


def test_tool_use_blocks_streamed_or_not(claude: Claude, tagged: Tagged) -> None:
    plain = claude.create(tagged.headers("ok;tool_calls=2"), tools=TOOLS)
    streamed = claude.final_message(tagged.headers("ok;tool_calls=2"), tools=TOOLS)

    for message in (plain, streamed):
        assert message.stop_reason == "tool_use"
        assert [(block.type, block.name, block.input) for block in message.content] == [
            ("tool_use", "lookup", {"location": "Paris"})
        ] * 2


def test_a_stream_has_anthropics_events_in_order(claude: Claude, tagged: Tagged) -> None:
    events = claude.events(tagged.headers("ok;chunks=3;output_tokens=9"))

    assert [event.type for event in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert "".join(event.delta.text for event in events if event.type == "content_block_delta") == DEFAULT_TEXT
    delta = events[-2]
    assert (delta.delta.stop_reason, delta.usage.output_tokens) == ("end_turn", 9)
    assert tagged.wait(1)[0].stream


ERRORS = [
    ("overloaded", 529, "OverloadedError", "overloaded_error", "Overloaded"),
    ("rate_limit", 429, "RateLimitError", "rate_limit_error", None),
    ("auth", 401, "AuthenticationError", "authentication_error", None),
    ("permission", 403, "PermissionDeniedError", "permission_error", None),
    ("not_found", 404, "NotFoundError", "not_found_error", None),
    ("invalid_request", 400, "BadRequestError", "invalid_request_error", None),
    ("context_length", 400, "BadRequestError", "invalid_request_error", None),
    ("payload_too_large", 413, "ContentTooLargeError", "request_too_large", None),
    ("server_error", 500, "InternalServerError", "api_error", None),
    ("quota", 429, "RateLimitError", "rate_limit_error", None),
    ("balance", 402, "PaymentRequiredError", "billing_error", None),
]


@pytest.mark.parametrize(("step", "status", "exception", "kind", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_are_anthropics(
    claude: Claude, tagged: Tagged, step: str, status: int, exception: str, kind: str, message: str | None
) -> None:
    error = claude.error(tagged.headers(step))

    assert type(error) is getattr(anthropic, exception)
    assert error.status_code == status
    assert error.body["type"] == "error"
    assert error.body["error"]["type"] == kind
    if message is not None:
        assert error.body["error"]["message"] == message
    assert error.response.headers["request-id"] == tagged.wait(1)[0].request_id
    assert "x-request-id" not in error.response.headers


def test_a_mid_stream_error_event_raises_with_its_body(claude: Claude, tagged: Tagged) -> None:
    error = claude.error(tagged.headers("stream_error;after=3"), stream=True)

    assert isinstance(error, anthropic.APIStatusError)
    assert error.body == {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    other = claude.error(tagged.headers("stream_error;after=2;type=api_error;message=boom"), stream=True)
    assert other.body == {"type": "error", "error": {"type": "api_error", "message": "boom"}}


def test_a_silent_cut_ends_without_message_stop_and_raises_nothing(claude: Claude, tagged: Tagged) -> None:
    events = claude.events(tagged.headers("silent_cut;after=4"))

    assert [event.type for event in events] == ["message_start", "content_block_start", "content_block_delta"]
    (record,) = tagged.wait(1)
    assert (record.fault, record.status, record.client_closed) == ("silent_cut", 200, False)


def test_ratelimit_headers_retry_after_and_request_id(claude: Claude, tagged: Tagged) -> None:
    error = claude.error(tagged.headers("rate_limit;retry_after=7"))

    headers = error.response.headers
    assert headers["retry-after"] == "7"
    assert headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert headers["anthropic-ratelimit-requests-limit"] == "60"
    reset = datetime.strptime(headers["anthropic-ratelimit-requests-reset"], "%Y-%m-%dT%H:%M:%SZ")
    assert 0 <= (reset.replace(tzinfo=timezone.utc) - datetime.now(timezone.utc)).total_seconds() <= 2
    names = {name for name in headers if name.startswith("anthropic-ratelimit-")}
    assert names == {
        f"anthropic-ratelimit-{kind}-{field}"
        for kind in ("requests", "tokens", "input-tokens", "output-tokens")
        for field in ("limit", "remaining", "reset")
    }
    assert not [name for name in headers if name.startswith("x-ratelimit-")]


def test_overloaded_three_times_is_retried_by_the_sdk(claude: Claude, tagged: Tagged) -> None:
    error = claude.error(tagged.headers("overloaded;retry_after_ms=1"), max_retries=2)

    assert type(error) is anthropic.OverloadedError
    assert [(r.status, r.retry_count) for r in tagged.wait(3)] == [(529, 0), (529, 1), (529, 2)]


def test_429_then_200(claude: Claude, tagged: Tagged) -> None:
    message = claude.create(tagged.headers("rate_limit;retry_after_ms=1", "ok"), max_retries=2)

    assert message.stop_reason == "end_turn"
    assert [r.status for r in tagged.wait(2)] == [429, 200]
