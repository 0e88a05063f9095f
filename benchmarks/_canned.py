"""Canned OpenAI responses and the in-process transport that serves them.

Owns everything the fake server would do, so that a benchmark measures the SDK and the
instrumentation and nothing else: no socket, no TLS, no JSON encoding per request.
Bodies are encoded once at import; only the tiny ``Response`` objects are built per
attempt, because httpx responses cannot be reused.

The transport is built against whichever httpx flavour the SDK in use is built on
(``httpx`` for openai 1.x/2.x and most vendor SDKs, ``httpx2`` for openai 3.x and
anthropic 2.x), found from the MRO of the SDK's ``DefaultHttpxClient`` so that peers
pinned to an older SDK work unchanged. Anthropic's Messages API gets its own bodies and
headers (``messages_reply``); every other SDK here speaks OpenAI's chat completions.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from types import ModuleType
from typing import Any, NamedTuple

__all__ = [
    "CHAT_MODEL",
    "REQUEST_ID",
    "STREAM_CHUNKS",
    "CannedReply",
    "chat_reply",
    "httpx_module",
    "make_transport",
    "messages_rate_limited_reply",
    "messages_reply",
    "rate_limited_reply",
    "stream_reply",
]

#: Model requested by every scenario; the canned bodies answer with a dated snapshot.
CHAT_MODEL = "gpt-4o-mini"
#: Number of ``chat.completion.chunk`` events in the streamed answer (before ``[DONE]``).
STREAM_CHUNKS = 50

#: The ``x-request-id`` every canned answer carries.
REQUEST_ID = "req_0123456789abcdef0123456789abcdef"

_RESPONSE_MODEL = "gpt-4o-mini-2024-07-18"
_CREATED = 1_732_000_000

#: Headers a real OpenAI answer carries; instrumentations parse some of them.
_COMMON_HEADERS: tuple[tuple[str, str], ...] = (
    ("x-request-id", REQUEST_ID),
    ("openai-organization", "org-bench"),
    ("openai-processing-ms", "312"),
    ("openai-version", "2020-10-01"),
    ("x-ratelimit-limit-requests", "10000"),
    ("x-ratelimit-limit-tokens", "30000000"),
    ("x-ratelimit-remaining-requests", "9999"),
    ("x-ratelimit-remaining-tokens", "29999990"),
    ("x-ratelimit-reset-requests", "6ms"),
    ("x-ratelimit-reset-tokens", "0s"),
)


class CannedReply(NamedTuple):
    """One HTTP answer: status, headers and the body split in network-sized chunks."""

    #: HTTP status code.
    status: int
    #: Response headers, including the content type.
    headers: tuple[tuple[str, str], ...]
    #: Body chunks; a stream yields them one by one, like a socket would.
    chunks: tuple[bytes, ...]


def _json_reply(status: int, payload: dict[str, Any], *extra: tuple[str, str]) -> CannedReply:
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = (("content-type", "application/json"), *_COMMON_HEADERS, *extra)
    return CannedReply(status, headers, (body,))


def chat_reply() -> CannedReply:
    """A successful non-streamed ``chat.completion``."""
    return _json_reply(
        200,
        {
            "id": "chatcmpl-bench0001",
            "object": "chat.completion",
            "created": _CREATED,
            "model": _RESPONSE_MODEL,
            "system_fingerprint": "fp_bench",
            "service_tier": "default",
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": "Hello! How can I help you today?",
                        "refusal": None,
                        "annotations": [],
                    },
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": 12,
                "completion_tokens": 9,
                "total_tokens": 21,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
            },
        },
    )


def rate_limited_reply() -> CannedReply:
    """A 429 as OpenAI sends it; the SDK retries it (its backoff sleep is patched out)."""
    return _json_reply(
        429,
        {
            "error": {
                "message": "Rate limit reached for gpt-4o-mini on requests per min (RPM).",
                "type": "requests",
                "param": None,
                "code": "rate_limit_exceeded",
            }
        },
        ("retry-after", "1"),
    )


def stream_reply(chunks: int = STREAM_CHUNKS) -> CannedReply:
    """A ``text/event-stream`` of ``chunks`` chat.completion.chunk events, then ``[DONE]``."""
    events: list[bytes] = []
    for index in range(chunks):
        delta: dict[str, Any] = {"content": f"tok{index} "}
        if index == 0:
            delta["role"] = "assistant"
        chunk = {
            "id": "chatcmpl-bench0002",
            "object": "chat.completion.chunk",
            "created": _CREATED,
            "model": _RESPONSE_MODEL,
            "system_fingerprint": "fp_bench",
            "service_tier": "default",
            "choices": [
                {
                    "index": 0,
                    "delta": delta,
                    "logprobs": None,
                    "finish_reason": "stop" if index == chunks - 1 else None,
                }
            ],
        }
        events.append(b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n")
    events.append(b"data: [DONE]\n\n")
    headers = (("content-type", "text/event-stream; charset=utf-8"), *_COMMON_HEADERS)
    return CannedReply(200, headers, tuple(events))


#: Headers a real Anthropic answer carries (RFC 3339 reset times).
_ANTHROPIC_HEADERS: tuple[tuple[str, str], ...] = (
    ("request-id", "req_011CbenchANTHROPIC0000001"),
    ("anthropic-organization-id", "00000000-0000-4000-8000-000000000000"),
    ("anthropic-ratelimit-requests-limit", "4000"),
    ("anthropic-ratelimit-requests-remaining", "3999"),
    ("anthropic-ratelimit-requests-reset", "2026-12-01T23:00:01Z"),
    ("anthropic-ratelimit-tokens-limit", "400000"),
    ("anthropic-ratelimit-tokens-remaining", "399990"),
    ("anthropic-ratelimit-tokens-reset", "2026-12-01T23:00:00Z"),
)


def messages_reply() -> CannedReply:
    """A successful non-streamed Anthropic ``message``."""
    body = {
        "id": "msg_01Bench0000000000000001",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5-20251001",
        "content": [{"type": "text", "text": "Hello! How can I help you today?"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 12,
            "output_tokens": 9,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }
    return CannedReply(
        200,
        (("content-type", "application/json"), *_ANTHROPIC_HEADERS),
        (json.dumps(body, separators=(",", ":")).encode(),),
    )


def messages_rate_limited_reply() -> CannedReply:
    """A 429 in Anthropic's error dialect; the SDK retries it (its backoff sleep is patched out)."""
    body = {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "Number of request tokens has exceeded your rate limit."},
        "request_id": "req_011CbenchANTHROPIC0000002",
    }
    headers = (("content-type", "application/json"), *_ANTHROPIC_HEADERS, ("retry-after", "1"))
    return CannedReply(429, headers, (json.dumps(body, separators=(",", ":")).encode(),))


def httpx_module(sdk_module: str = "openai") -> ModuleType:
    """The httpx flavour (``httpx`` or ``httpx2``) that an SDK's ``DefaultHttpxClient`` is built on."""
    import importlib

    sdk = importlib.import_module(sdk_module)
    for base in sdk.DefaultHttpxClient.__mro__:
        root = base.__module__.split(".")[0]
        if root.startswith("httpx"):
            return importlib.import_module(root)
    raise RuntimeError(f"cannot tell which httpx {sdk_module}.DefaultHttpxClient is built on")


def make_transport(
    script: Sequence[CannedReply],
    observer: Callable[[CannedReply], None] | None = None,
    sdk_module: str = "openai",
) -> Any:
    """Build a sync+async transport answering each attempt with the next reply of ``script``.

    The script cycles, so ``(429, 429, 200)`` serves every logical call the same three
    attempts as long as every call runs to completion (the SDK retries 429s twice by
    default). ``observer`` runs once per attempt, where a per-attempt hook would run; the
    "floor" variant uses it to emit its attempt span.
    """
    httpx = httpx_module(sdk_module)

    class _Body(httpx.SyncByteStream, httpx.AsyncByteStream):  # type: ignore[misc,name-defined]
        def __init__(self, chunks: tuple[bytes, ...]) -> None:
            self._chunks = chunks

        def __iter__(self) -> Iterator[bytes]:
            return iter(self._chunks)

        async def __aiter__(self) -> AsyncIterator[bytes]:
            for chunk in self._chunks:
                yield chunk

    class CannedTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):  # type: ignore[misc,name-defined]
        """Serves canned replies in process; no socket is ever opened."""

        def __init__(self) -> None:
            self._replies = itertools.cycle(script)

        def _respond(self, request: Any) -> Any:
            reply = next(self._replies)
            if observer is not None:
                observer(reply)
            return httpx.Response(
                reply.status, headers=list(reply.headers), stream=_Body(reply.chunks), request=request
            )

        def handle_request(self, request: Any) -> Any:
            request.read()
            return self._respond(request)

        async def handle_async_request(self, request: Any) -> Any:
            await request.aread()
            return self._respond(request)

    return CannedTransport()
