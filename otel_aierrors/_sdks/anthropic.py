"""The Anthropic Messages API's shapes: ``Message`` and its stream events.

``stop_reason`` is the finish reason (``end_turn``, ``max_tokens``,
``stop_sequence``, ``tool_use``, ``refusal``, ``pause_turn``); a stream ends
with ``message_stop``. An ``error`` event is raised by the SDK itself, so it
reaches the stream proxy as an exception. Only attribute reads, never content.

The SDK's own span. anthropic 2.x starts a CLIENT span of its own for every
call (``anthropic.messages.create``, scope ``com.anthropic.sdk.python``, on by
default, from the global tracer provider or its ``open_telemetry`` option's),
inside ``request()``, after this package's call span started, and sends its
trace context with every attempt. Two CLIENT spans for one call would double
every call-level view, so inside an instrumented call `sdk_call_span` hands
the SDK, in place of a new span, a non-recording span with this package's call
span's context: the SDK records nothing on it (it checks ``is_recording()``
first) and still propagates, so the provider sees this call span as the
parent. Calls this package does not instrument, and the SDK's other spans
(tool runners), are the SDK's own as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from otel_aierrors._context import CURRENT_CALL
from otel_aierrors._results import SOFT_REFUSAL, SOFT_TRUNCATED, ResponseSummary, StreamSummary, soft_failure_of

__all__ = ["read_chunk", "sdk_call_span", "summarize"]

#: ``stop_reason`` values that are soft failures.
_SOFT: Final = {"max_tokens": SOFT_TRUNCATED, "refusal": SOFT_REFUSAL}


def summarize(result: Any) -> ResponseSummary | None:
    """Summarize a ``Message`` (anything else the SDK returns says nothing about failure)."""
    if getattr(result, "type", None) != "message":
        return None
    stop_reason = _text(getattr(result, "stop_reason", None))
    has_content = has_tool_call = False
    for block in getattr(result, "content", None) or ():
        block_type = getattr(block, "type", None)
        if block_type == "tool_use":
            has_tool_call = True
        elif getattr(block, "text", None):
            has_content = True
    summary = ResponseSummary(
        response_id=_text(getattr(result, "id", None)),
        response_model=_text(getattr(result, "model", None)),
        finish_reasons=(stop_reason,) if stop_reason else (),
        soft_failure=_soft_failure(stop_reason, has_content, has_tool_call),
    )
    _read_usage(summary, getattr(result, "usage", None))
    return summary


def read_chunk(summary: StreamSummary, event: Any) -> None:
    """Fold one stream event into the summary."""
    event_type = getattr(event, "type", None)
    if event_type == "content_block_delta":
        if not summary.saw_content:
            summary.saw_content = bool(getattr(getattr(event, "delta", None), "text", None))
    elif event_type == "content_block_start":
        if getattr(getattr(event, "content_block", None), "type", None) == "tool_use":
            summary.saw_tool_call = True
    elif event_type == "message_start":
        message = getattr(event, "message", None)
        summary.response_id = _text(getattr(message, "id", None))
        summary.response_model = _text(getattr(message, "model", None))
        _read_usage(summary, getattr(message, "usage", None))
    elif event_type == "message_delta":
        stop_reason = _text(getattr(getattr(event, "delta", None), "stop_reason", None))
        if stop_reason:
            summary.finish_reasons[0] = stop_reason
            summary.soft_failure = _soft_failure(stop_reason, summary.saw_content, summary.saw_tool_call)
        output = _int(getattr(getattr(event, "usage", None), "output_tokens", None))
        if output is not None:
            summary.output_tokens = output
    elif event_type == "message_stop":
        summary.terminal = True


def sdk_call_span(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``start_api_call_span`` that, inside an instrumented call, starts nothing: the call span is ours."""
    call = CURRENT_CALL.get()
    if call is None:
        return wrapped(*args, **kwargs)
    # Imported here: this module is loaded by ``instrument()``, which must not need ``opentelemetry.trace`` (issue 28).
    from opentelemetry.trace import NonRecordingSpan

    return NonRecordingSpan(call.span.get_span_context())


def _soft_failure(stop_reason: str | None, has_content: bool, has_tool_call: bool) -> str | None:
    soft = _SOFT.get(stop_reason or "")
    if soft is not None:
        return soft
    # ``end_turn`` with nothing in it is an empty answer, as ``stop`` is for chat.
    finish = "stop" if stop_reason in ("end_turn", "stop_sequence") else stop_reason
    return soft_failure_of(finish, has_content=has_content, has_tool_call=has_tool_call, has_refusal=False)


def _read_usage(summary: ResponseSummary | StreamSummary, usage: Any) -> None:
    if usage is None:
        return
    input_tokens = _int(getattr(usage, "input_tokens", None))
    if input_tokens is not None:
        summary.input_tokens = input_tokens
    output_tokens = _int(getattr(usage, "output_tokens", None))
    if output_tokens is not None:
        summary.output_tokens = output_tokens
    cache_read = _int(getattr(usage, "cache_read_input_tokens", None))
    if cache_read is not None:
        summary.cache_read_tokens = cache_read
    cache_creation = _int(getattr(usage, "cache_creation_input_tokens", None))
    if cache_creation is not None:
        summary.cache_creation_tokens = cache_creation


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
