"""Server-sent event bodies of chat and legacy completions, and the plan every stream follows.

A stream is planned as three runs of events plus a way to fail:

* ``head``: what precedes the content (the chat role chunk; the Responses
  API's ``response.created`` ... ``response.content_part.added``; Anthropic's
  ``message_start``, ``content_block_start`` and ``ping``);
* ``deltas``: one event per content chunk (or per tool-call piece);
* ``tail``: the clean ending (final chunk with ``finish_reason``, the usage
  chunk when ``stream_options.include_usage`` is true, ``data: [DONE]``; or
  ``response.output_text.done`` ... ``response.completed`` /
  ``response.incomplete``, which carry no ``[DONE]``; or Anthropic's
  ``content_block_stop``, ``message_delta``, ``message_stop``);
* ``failure(spec, sent)``: the events that replace the tail when the stream
  errors after ``sent`` events.

Partial streams count events from the very first one, head included (the chat
role chunk is chunk 1), because that is what a client counts: ``after=3``
means the SDK yields three chunks before the failure.

Chat and legacy completions fail with ``event: error`` followed by
``data: {"error": {...}}`` in the requested dialect (or the data line alone).
The openai SDK (2.x and 3.x, ``openai/_streaming.py``) raises ``openai.APIError``
for any event whose data has an ``error`` key, named or not. The Responses API
fails with an ``error`` event (``{"type": "error", "code", "message", "param",
"sequence_number"}``) and/or ``response.failed``; the SDK parses both into
its event types and does not raise, so consumers must look at event types.
The Responses plan is in :mod:`~otel_aierrors.chaos.responses`, Anthropic's in
:mod:`~otel_aierrors.chaos.messages`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from .answer import Answer, split_text
from .dialects import ErrorSpec, render_error
from .exchange import ChaosRequest, json_bytes
from .payloads import chat_usage, tool_call

__all__ = ["DONE", "StreamPlan", "chat_stream", "completion_stream", "decode_events", "sse"]

#: The chat and completions terminator.
DONE = b"data: [DONE]\n\n"


def sse(data: object, event: str | None = None) -> bytes:
    """Encode one server-sent event (compact JSON data, blank-line terminated)."""
    prefix = f"event: {event}\n" if event else ""
    return prefix.encode("utf-8") + b"data: " + json_bytes(data) + b"\n\n"


#: Builds the failure events from the error and the number of events already sent.
FailureBuilder = Callable[[ErrorSpec, int], tuple[bytes, ...]]


@dataclass(frozen=True)
class StreamPlan:
    """The events of one streamed answer, and how it fails part-way."""

    head: tuple[bytes, ...]
    deltas: tuple[bytes, ...]
    tail: tuple[bytes, ...]
    failure: FailureBuilder

    def complete(self) -> tuple[bytes, ...]:
        """All events of a stream that ends cleanly."""
        return self.head + self.deltas + self.tail

    def partial(self, after: int) -> tuple[bytes, ...]:
        """The first ``after`` events of the head and deltas (never the tail)."""
        return (self.head + self.deltas)[: max(after, 0)]

    def failure_point(self, after: int) -> int:
        """How many events :meth:`partial` really sends for ``after``."""
        return min(max(after, 0), len(self.head) + len(self.deltas))


def _legacy_failure(dialect: str, named: bool) -> FailureBuilder:
    def failure(spec: ErrorSpec, sent: int) -> tuple[bytes, ...]:
        return (sse(render_error(spec, dialect), event="error" if named else None),)

    return failure


def chat_stream(answer: Answer, request: ChaosRequest, *, dialect: str = "openai", named: bool = True) -> StreamPlan:
    """Plan a ``chat.completion.chunk`` stream.

    Args:
        answer: What the model says.
        request: The request (model, ``n``, ``stream_options``, tools).
        dialect: Error-body dialect of the failure event.
        named: Whether the failure event carries ``event: error``.
    """
    base: dict[str, object] = {
        "id": answer.id_for("chatcmpl-"),
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": answer.model_for(request),
        "system_fingerprint": "fp_chaos",
    }
    usage_chunk = answer.wants_usage_chunk(request)
    if usage_chunk:
        base["usage"] = None
    choices = range(answer.choices_for(request))

    def chunk(delta: dict[str, object], finish: str | None = None) -> tuple[bytes, ...]:
        return tuple(
            sse({**base, "choices": [{"index": i, "delta": delta, "logprobs": None, "finish_reason": finish}]})
            for i in choices
        )

    head = chunk({"role": "assistant", "content": "" if answer.content is not None else None, "refusal": None})
    deltas: list[bytes] = []
    if answer.tool_calls:
        for index in range(answer.tool_calls):
            call = tool_call(request, index)
            function = call["function"]
            assert isinstance(function, dict)
            opening = {**call, "index": index, "function": {"name": function["name"], "arguments": ""}}
            deltas += chunk({"tool_calls": [opening]})
            deltas += chunk({"tool_calls": [{"index": index, "function": {"arguments": function["arguments"]}}]})
    elif answer.refusal is not None:
        for piece in split_text(answer.refusal, answer.chunks):
            deltas += chunk({"refusal": piece})
    else:
        for piece in answer.pieces():
            deltas += chunk({"content": piece})
    tail = list(chunk({}, answer.finish_reason))
    if usage_chunk:
        tail.append(sse({**base, "choices": [], "usage": chat_usage(answer, request)}))
    tail.append(DONE)
    return StreamPlan(head, tuple(deltas), tuple(tail), _legacy_failure(dialect, named))


def completion_stream(
    answer: Answer, request: ChaosRequest, *, dialect: str = "openai", named: bool = True
) -> StreamPlan:
    """Plan a legacy ``text_completion`` stream (same arguments as :func:`chat_stream`)."""
    base: dict[str, object] = {
        "id": answer.id_for("cmpl-"),
        "object": "text_completion",
        "created": int(time.time()),
        "model": answer.model_for(request),
    }
    choices = range(answer.choices_for(request))

    def chunk(text: str, finish: str | None = None) -> tuple[bytes, ...]:
        return tuple(
            sse({**base, "choices": [{"text": text, "index": i, "logprobs": None, "finish_reason": finish}]})
            for i in choices
        )

    deltas = tuple(event for piece in answer.pieces() for event in chunk(piece))
    tail = list(chunk("", answer.finish_reason))
    if answer.wants_usage_chunk(request):
        usage = chat_usage(answer, request)
        keys = ("prompt_tokens", "completion_tokens", "total_tokens")
        tail.append(sse({**base, "choices": [], "usage": {key: usage[key] for key in keys}}))
    tail.append(DONE)
    return StreamPlan((), deltas, tuple(tail), _legacy_failure(dialect, named))


def decode_events(body: bytes) -> list[tuple[str | None, object]]:
    """Parse an SSE body back into ``(event, data)`` pairs (``[DONE]`` kept as a string).

    For tests and the demo; the openai SDK has its own decoder.
    """
    events: list[tuple[str | None, object]] = []
    for block in body.decode("utf-8").split("\n\n"):
        if not block.strip():
            continue
        name: str | None = None
        data: list[str] = []
        for line in block.split("\n"):
            field, _, value = line.partition(": ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
        text = "\n".join(data)
        events.append((name, text if text == "[DONE]" else json.loads(text)))
    return events
