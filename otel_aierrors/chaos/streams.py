"""Server-sent event bodies for the streaming routes.

A stream is planned as three runs of events plus a way to fail:

* ``head``: what precedes the content (the chat role chunk; the Responses
  API's ``response.created``, ``response.in_progress``,
  ``response.output_item.added``, ``response.content_part.added``);
* ``deltas``: one event per content chunk (or per tool-call piece);
* ``tail``: the clean ending (final chunk with ``finish_reason``, the usage
  chunk when ``stream_options.include_usage`` is true, ``data: [DONE]``; or
  ``response.output_text.done`` ... ``response.completed`` /
  ``response.incomplete``, which carry no ``[DONE]``);
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
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from .dialects import ErrorSpec, render_error
from .exchange import ChaosRequest, json_bytes
from .payloads import (
    Answer,
    chat_usage,
    new_id,
    response_message,
    response_object,
    response_output,
    response_status,
    tool_call,
)

__all__ = ["DONE", "StreamPlan", "chat_stream", "completion_stream", "decode_events", "responses_stream", "sse"]

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
        "id": new_id("chatcmpl-"),
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": answer.model_for(request),
        "system_fingerprint": "fp_chaos",
    }
    if request.include_usage:
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
        for piece in Answer(content=answer.refusal, chunks=answer.chunks).pieces():
            deltas += chunk({"refusal": piece})
    else:
        for piece in answer.pieces():
            deltas += chunk({"content": piece})
    tail = list(chunk({}, answer.finish_reason))
    if request.include_usage:
        tail.append(sse({**base, "choices": [], "usage": chat_usage(answer, request)}))
    tail.append(DONE)
    return StreamPlan(head, tuple(deltas), tuple(tail), _legacy_failure(dialect, named))


def completion_stream(
    answer: Answer, request: ChaosRequest, *, dialect: str = "openai", named: bool = True
) -> StreamPlan:
    """Plan a legacy ``text_completion`` stream (same arguments as :func:`chat_stream`)."""
    base: dict[str, object] = {
        "id": new_id("cmpl-"),
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
    if request.include_usage:
        usage = chat_usage(answer, request)
        keys = ("prompt_tokens", "completion_tokens", "total_tokens")
        tail.append(sse({**base, "choices": [], "usage": {key: usage[key] for key in keys}}))
    tail.append(DONE)
    return StreamPlan((), deltas, tuple(tail), _legacy_failure(dialect, named))


def responses_stream(answer: Answer, request: ChaosRequest, *, failure_events: str = "both") -> StreamPlan:
    """Plan a Responses API stream of typed events with consistent ids and sequence numbers.

    Args:
        answer: What the model says.
        request: The request being answered.
        failure_events: ``error``, ``failed`` (``response.failed``) or ``both``
            (``error`` then ``response.failed``), sent when the stream fails.
    """
    response_id = new_id("resp_")
    message_id = new_id("msg_")
    seq = iter(range(1 << 30))

    def event(kind: str, **fields: object) -> bytes:
        return sse({"type": kind, "sequence_number": next(seq), **fields}, event=kind)

    def snapshot(status: str, output: list[object] | None = None) -> dict[str, object]:
        return response_object(
            answer, request, response_id=response_id, message_id=message_id, status=status, output=output
        )

    head = [
        event("response.created", response=snapshot("in_progress", output=[])),
        event("response.in_progress", response=snapshot("in_progress", output=[])),
    ]
    deltas: list[bytes] = []
    tail: list[bytes] = []
    final_status, _ = response_status(answer)
    if answer.tool_calls:
        for index, item in enumerate(response_output(answer, request, message_id)):
            assert isinstance(item, dict)
            opening = {**item, "arguments": "", "status": "in_progress"}
            deltas.append(event("response.output_item.added", output_index=index, item=opening))
            ids = {"item_id": item["id"], "output_index": index}
            deltas.append(event("response.function_call_arguments.delta", **ids, delta=item["arguments"]))
            deltas.append(event("response.function_call_arguments.done", **ids, arguments=item["arguments"]))
            deltas.append(event("response.output_item.done", output_index=index, item=item))
    else:
        refusal = answer.refusal is not None
        empty_part = (
            {"type": "refusal", "refusal": ""} if refusal else {"type": "output_text", "text": "", "annotations": []}
        )
        opening = {"type": "message", "id": message_id, "status": "in_progress", "role": "assistant", "content": []}
        head.append(event("response.output_item.added", output_index=0, item=opening))
        ids = {"item_id": message_id, "output_index": 0, "content_index": 0}
        head.append(event("response.content_part.added", **ids, part=empty_part))
        text = answer.refusal if refusal else answer.content
        kind = "response.refusal" if refusal else "response.output_text"
        for piece in Answer(content=text, chunks=answer.chunks).pieces():
            extra: dict[str, object] = {} if refusal else {"logprobs": []}
            deltas.append(event(f"{kind}.delta", **ids, delta=piece, **extra))
        message = response_message(answer, message_id, status=final_status)
        content = message["content"]
        assert isinstance(content, list)
        if refusal:
            tail.append(event("response.refusal.done", **ids, refusal=answer.refusal))
        else:
            tail.append(event("response.output_text.done", **ids, text=answer.content or "", logprobs=[]))
        tail.append(event("response.content_part.done", **ids, part=content[0]))
        tail.append(event("response.output_item.done", output_index=0, item=message))
    done_kind = "response.completed" if final_status == "completed" else "response.incomplete"
    # Sequence numbers of the tail are fixed now; failures renumber from the cut point.
    tail.append(event(done_kind, response=snapshot(final_status)))

    def failure(spec: ErrorSpec, sent: int) -> tuple[bytes, ...]:
        numbers = iter(range(sent, 1 << 30))
        events: list[bytes] = []
        if failure_events in ("error", "both"):
            payload = {
                "type": "error",
                "sequence_number": next(numbers),
                "code": spec.code,
                "message": spec.message,
                "param": spec.param,
            }
            events.append(sse(payload, event="error"))
        if failure_events in ("failed", "both"):
            error = {"code": spec.code or "server_error", "message": spec.message}
            failed = response_object(
                answer,
                request,
                response_id=response_id,
                message_id=message_id,
                status="failed",
                output=[],
                error=error,
            )
            payload = {"type": "response.failed", "sequence_number": next(numbers), "response": failed}
            events.append(sse(payload, event="response.failed"))
        return tuple(events)

    return StreamPlan(tuple(head), tuple(deltas), tuple(tail), failure)


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
