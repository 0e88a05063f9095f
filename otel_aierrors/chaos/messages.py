"""Anthropic's Messages API (``POST /v1/messages``): the message object and its event stream.

Non-streamed, an :class:`~otel_aierrors.chaos.answer.Answer` becomes a
``message`` whose ``content`` holds a ``text`` block (or ``tool_use`` blocks),
with ``stop_reason`` (``end_turn``, ``max_tokens``, ``stop_sequence``,
``tool_use``, ``refusal``, ``pause_turn``) and ``usage`` (input, output,
cache-read and cache-creation tokens). Streamed, it becomes Anthropic's named
events::

    message_start, content_block_start, ping, content_block_delta...,
    content_block_stop, message_delta (stop_reason, usage), message_stop

A stream fails with ``event: error`` and ``{"type": "error", "error": {"type",
"message"}}``, which the ``anthropic`` SDK raises as an ``APIStatusError``; a
stream that ends before ``message_stop`` is the silent cut.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping

from .answer import Answer, split_text
from .dialects import ErrorSpec, render_error
from .exchange import ChaosRequest
from .payloads import tool_name
from .streams import StreamPlan, sse

__all__ = ["message_object", "messages_stream"]

_STOP_SEQUENCE = "\n\nHuman:"


def _stop_sequence(answer: Answer, request: ChaosRequest) -> str | None:
    if answer.anthropic_stop_reason() != "stop_sequence":
        return None
    asked = request.body.get("stop_sequences")
    if isinstance(asked, list) and asked and isinstance(asked[0], str):
        return asked[0]
    return _STOP_SEQUENCE


def _usage(answer: Answer, request: ChaosRequest, *, output_tokens: int | None = None) -> dict[str, object]:
    return {
        "input_tokens": answer.prompt_tokens(request),
        "output_tokens": answer.completion_tokens() if output_tokens is None else output_tokens,
        "cache_creation_input_tokens": answer.cache_creation_tokens,
        "cache_read_input_tokens": answer.cache_read_tokens,
    }


def _text(answer: Answer) -> str | None:
    """The text block's text: the refusal text for a refusal, None when there is no text block."""
    return answer.refusal if answer.refusal is not None else answer.content


def _tool_uses(answer: Answer, request: ChaosRequest) -> list[dict[str, object]]:
    return [
        {
            "type": "tool_use",
            "id": f"toolu_{uuid.uuid4().hex[:24]}",
            "name": tool_name(request, index),
            "input": {"location": "Paris"},
        }
        for index in range(answer.tool_calls)
    ]


def message_object(
    answer: Answer,
    request: ChaosRequest,
    *,
    message_id: str | None = None,
    started: bool = False,
) -> dict[str, object]:
    """Return a ``message`` object.

    Args:
        answer: What the model says.
        request: The request being answered.
        message_id: Keep one id across stream events.
        started: The ``message_start`` form: no content, no stop reason yet, one output token.
    """
    content: list[object] = []
    if not started:
        text = _text(answer)
        if answer.tool_calls:
            content = list(_tool_uses(answer, request))
        elif text is not None:
            content = [{"type": "text", "text": text}]
    return {
        "id": message_id or answer.id_for("msg_"),
        "type": "message",
        "role": "assistant",
        "model": answer.model_for(request),
        "content": content,
        "stop_reason": None if started else answer.anthropic_stop_reason(),
        "stop_sequence": None if started else _stop_sequence(answer, request),
        "usage": _usage(answer, request, output_tokens=1 if started else None),
    }


def messages_stream(answer: Answer, request: ChaosRequest, *, dialect: str = "anthropic") -> StreamPlan:
    """Plan a Messages API stream of named events.

    Args:
        answer: What the model says.
        request: The request being answered.
        dialect: Error-body dialect of the ``error`` event.
    """

    def event(kind: str, **fields: object) -> bytes:
        return sse({"type": kind, **fields}, event=kind)

    start = message_object(answer, request, started=True)
    head = [event("message_start", message=start)]
    deltas: list[bytes] = []
    tail: list[bytes] = []
    text = _text(answer)
    if answer.tool_calls:
        head.append(event("ping"))
        for index, block in enumerate(_tool_uses(answer, request)):
            opening = {**block, "input": {}}
            partial = json.dumps(block["input"])
            deltas.append(event("content_block_start", index=index, content_block=opening))
            delta = {"type": "input_json_delta", "partial_json": partial}
            deltas.append(event("content_block_delta", index=index, delta=delta))
            deltas.append(event("content_block_stop", index=index))
    elif text is not None:
        head.append(event("content_block_start", index=0, content_block={"type": "text", "text": ""}))
        head.append(event("ping"))
        for piece in split_text(text, answer.chunks):
            deltas.append(event("content_block_delta", index=0, delta={"type": "text_delta", "text": piece}))
        tail.append(event("content_block_stop", index=0))
    else:
        head.append(event("ping"))
    stop = {"stop_reason": answer.anthropic_stop_reason(), "stop_sequence": _stop_sequence(answer, request)}
    usage: Mapping[str, object] = _usage(answer, request)
    tail.append(event("message_delta", delta=stop, usage=dict(usage)))
    tail.append(event("message_stop"))

    def failure(spec: ErrorSpec, sent: int) -> tuple[bytes, ...]:
        return (sse(render_error(spec, dialect), event="error"),)

    return StreamPlan(tuple(head), tuple(deltas), tuple(tail), failure)
