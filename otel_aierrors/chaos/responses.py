"""OpenAI's Responses API (``POST /v1/responses``): the response object and its event stream.

Non-streamed, an :class:`~otel_aierrors.chaos.answer.Answer` becomes a
``response`` object whose ``status`` is ``completed`` or, for a length or
content-filter stop, ``incomplete`` with ``incomplete_details``. Streamed, it
becomes typed events with consistent ids and sequence numbers
(``response.created`` ... ``response.completed`` / ``response.incomplete``),
and a failure is an ``error`` event and/or ``response.failed``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping

from .answer import Answer, new_id, split_text
from .dialects import ErrorSpec
from .exchange import ChaosRequest
from .payloads import tool_name
from .streams import StreamPlan, sse

__all__ = ["response_message", "response_object", "response_output", "response_status", "responses_stream"]


def response_status(answer: Answer) -> tuple[str, dict[str, str] | None]:
    """Return a Responses API ``status`` and ``incomplete_details`` for the answer."""
    if answer.finish_reason == "length":
        return "incomplete", {"reason": "max_output_tokens"}
    if answer.finish_reason == "content_filter":
        return "incomplete", {"reason": "content_filter"}
    return "completed", None


def response_output(answer: Answer, request: ChaosRequest, message_id: str) -> list[object]:
    """Return the ``output`` items of a Responses API object."""
    if answer.tool_calls:
        return [
            {
                "type": "function_call",
                "id": f"fc_{uuid.uuid4().hex[:24]}",
                "call_id": f"call_{uuid.uuid4().hex[:24]}",
                "name": tool_name(request, index),
                "arguments": json.dumps({"location": "Paris"}),
                "status": "completed",
            }
            for index in range(answer.tool_calls)
        ]
    status, _ = response_status(answer)
    return [response_message(answer, message_id, status=status)]


def response_message(answer: Answer, message_id: str, *, status: str) -> dict[str, object]:
    """Return the assistant ``message`` output item of a Responses API object."""
    content: list[object] = []
    if answer.refusal is not None:
        content.append({"type": "refusal", "refusal": answer.refusal})
    else:
        content.append({"type": "output_text", "text": answer.content or "", "annotations": [], "logprobs": []})
    return {"type": "message", "id": message_id, "status": status, "role": "assistant", "content": content}


def response_object(
    answer: Answer,
    request: ChaosRequest,
    *,
    response_id: str | None = None,
    message_id: str | None = None,
    status: str | None = None,
    output: list[object] | None = None,
    error: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """Return a Responses API ``response`` object.

    Args:
        answer: What the model says.
        request: The request being answered.
        response_id: Keep one id across stream events.
        message_id: Keep one output item id across stream events.
        status: Override (``in_progress`` while streaming, ``failed`` on error).
        output: Override the output items (empty while streaming).
        error: The ``error`` object of a failed response.
    """
    final_status, incomplete = response_status(answer)
    message_id = message_id or new_id("msg_")
    usage = None
    if status is None or status in ("completed", "incomplete"):
        prompt = answer.prompt_tokens(request)
        completion = answer.completion_tokens()
        usage = {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt + completion,
        }
    status = status or final_status
    return {
        "id": response_id or answer.id_for("resp_"),
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "error": dict(error) if error is not None else None,
        "incomplete_details": incomplete if status == "incomplete" else None,
        "instructions": request.body.get("instructions"),
        "max_output_tokens": request.body.get("max_output_tokens"),
        "model": answer.model_for(request),
        "output": output if output is not None else response_output(answer, request, message_id),
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": usage,
        "user": None,
        "metadata": {},
    }


def responses_stream(answer: Answer, request: ChaosRequest, *, failure_events: str = "both") -> StreamPlan:
    """Plan a Responses API stream of typed events with consistent ids and sequence numbers.

    Args:
        answer: What the model says.
        request: The request being answered.
        failure_events: ``error``, ``failed`` (``response.failed``) or ``both``
            (``error`` then ``response.failed``), sent when the stream fails.
    """
    response_id = answer.id_for("resp_")
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
        for piece in split_text(text or "", answer.chunks):
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
