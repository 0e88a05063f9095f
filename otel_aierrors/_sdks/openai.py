"""The OpenAI API's shapes: chat and legacy completions, Responses, images, embeddings.

Also what OpenAI-compatible SDKs (groq, together, cerebras, fireworks) return:
the same ``choices`` / ``usage`` shapes. Only attribute reads, never content.
"""

from __future__ import annotations

from typing import Any, Final

from otel_aierrors._results import ResponseSummary, StreamSummary, soft_failure_of

__all__ = ["read_chunk", "summarize"]


def summarize(result: Any) -> ResponseSummary | None:
    """Summarize what an endpoint returned (or a raw response's ``parse()``); never reads content."""
    choices = getattr(result, "choices", None)
    if isinstance(choices, list):
        return _summarize_choices(result, choices)
    kind = getattr(result, "object", None)
    if kind == "response":
        summary = _summarize_response_api(result)
        if getattr(result, "background", None) is True:
            # The object's type is the job kind, as for videos and batches ("response": _names.JOB_KIND_RESPONSE);
            # _names is not imported here, as it loads the semantic conventions at instrument().
            summary.job_kind, summary.job_id = kind, summary.response_id
            summary.job_status = _text(getattr(result, "status", None))
        return summary
    if kind in ("video", "batch"):
        return _summarize_job(result, kind)
    data = getattr(result, "data", None)
    if isinstance(data, list) and hasattr(result, "created") and not hasattr(result, "model"):
        # The images endpoints signal a filtered prompt with an empty data array.
        return ResponseSummary(soft_failure=None if data else "content_filter")
    usage = getattr(result, "usage", None)
    if usage is not None or hasattr(result, "model"):
        return ResponseSummary(
            response_model=_text(getattr(result, "model", None)),
            input_tokens=_int(getattr(usage, "prompt_tokens", None)),
        )
    return None


def _summarize_choices(result: Any, choices: list[Any]) -> ResponseSummary:
    reasons = tuple(str(choice.finish_reason) for choice in choices if getattr(choice, "finish_reason", None))
    soft = None
    if choices:
        first = choices[0]
        message = getattr(first, "message", None)
        if message is not None:
            content = getattr(message, "content", None)
            has_tool_call = bool(getattr(message, "tool_calls", None) or getattr(message, "function_call", None))
            has_refusal = bool(getattr(message, "refusal", None))
        else:  # legacy completions
            content = getattr(first, "text", None)
            has_tool_call = has_refusal = False
        soft = soft_failure_of(
            getattr(first, "finish_reason", None),
            has_content=bool(content),
            has_tool_call=has_tool_call,
            has_refusal=has_refusal,
        )
    usage = getattr(result, "usage", None)
    return ResponseSummary(
        response_id=_text(getattr(result, "id", None)),
        response_model=_text(getattr(result, "model", None)),
        finish_reasons=reasons,
        input_tokens=_int(getattr(usage, "prompt_tokens", None)),
        output_tokens=_int(getattr(usage, "completion_tokens", None)),
        cache_read_tokens=_detail(usage, "prompt_tokens_details", "cached_tokens"),
        reasoning_tokens=_detail(usage, "completion_tokens_details", "reasoning_tokens"),
        system_fingerprint=_text(getattr(result, "system_fingerprint", None)),
        service_tier=_text(getattr(result, "service_tier", None)),
        soft_failure=soft,
    )


#: Responses API ``incomplete_details.reason`` to chat-style finish reasons.
_INCOMPLETE_REASONS: Final = {"max_output_tokens": "length", "content_filter": "content_filter"}


def _summarize_job(result: Any, kind: str) -> ResponseSummary:
    """A video or batch job: its status, and the error code when it failed."""
    status = _text(getattr(result, "status", None))
    failed = status == "failed"
    code = None
    if kind == "video":
        code = _text(getattr(getattr(result, "error", None), "code", None))
    else:
        errors = getattr(getattr(result, "errors", None), "data", None)
        if isinstance(errors, list) and errors:
            code = _text(getattr(errors[0], "code", None))
    return ResponseSummary(
        response_model=_text(getattr(result, "model", None)) if kind == "video" else None,
        failed=failed,
        failure_code=code if failed else None,
        job_kind=kind,
        job_id=_text(getattr(result, "id", None)),
        job_status=status,
        job_failed_requests=_int(getattr(getattr(result, "request_counts", None), "failed", None)),
    )


def _summarize_response_api(result: Any) -> ResponseSummary:
    status = getattr(result, "status", None)
    finish = None
    if status == "completed":
        finish = "stop"
    elif status == "incomplete":
        details = getattr(result, "incomplete_details", None)
        reason = getattr(details, "reason", None)
        finish = _INCOMPLETE_REASONS.get(str(reason), str(reason) if reason else "incomplete")
    elif status:
        finish = str(status)
    has_content = has_tool_call = has_refusal = False
    for item in getattr(result, "output", None) or ():
        item_type = getattr(item, "type", None)
        if item_type == "function_call":
            has_tool_call = True
        for part in getattr(item, "content", None) or ():
            part_type = getattr(part, "type", None)
            if part_type == "refusal":
                has_refusal = True
            elif getattr(part, "text", None):
                has_content = True
    usage = getattr(result, "usage", None)
    failed = status == "failed"
    return ResponseSummary(
        failed=failed,
        failure_code=_text(getattr(getattr(result, "error", None), "code", None)) if failed else None,
        response_id=_text(getattr(result, "id", None)),
        response_model=_text(getattr(result, "model", None)),
        finish_reasons=(finish,) if finish else (),
        input_tokens=_int(getattr(usage, "input_tokens", None)),
        cache_read_tokens=_detail(usage, "input_tokens_details", "cached_tokens"),
        reasoning_tokens=_detail(usage, "output_tokens_details", "reasoning_tokens"),
        output_tokens=_int(getattr(usage, "output_tokens", None)),
        soft_failure=soft_failure_of(
            "tool_calls" if has_tool_call and finish == "stop" else finish,
            has_content=has_content,
            has_tool_call=has_tool_call,
            has_refusal=has_refusal,
        ),
    )


def read_chunk(summary: StreamSummary, chunk: Any) -> None:
    """Fold one streamed chunk (chat, completions or a Responses API event) into the summary."""
    choices = getattr(chunk, "choices", None)
    if choices is not None:
        if summary.response_id is None:
            summary.response_id = _text(getattr(chunk, "id", None))
            summary.response_model = _text(getattr(chunk, "model", None))
        for choice in choices:
            index = choice.index
            if index not in summary.choice_indexes:  # a test, not a call, on every chunk but the first
                summary.choice_indexes.add(index)
            finish_reason = choice.finish_reason
            if finish_reason:
                summary.finish_reasons[index] = str(finish_reason)
        if choices and not summary.saw_content:
            first = choices[0]
            delta = getattr(first, "delta", None)
            if delta is None:  # legacy completions chunk
                summary.saw_content = bool(getattr(first, "text", None))
            else:
                summary.saw_content = bool(delta.content)
                summary.saw_tool_call = summary.saw_tool_call or bool(
                    getattr(delta, "tool_calls", None) or getattr(delta, "function_call", None)
                )
                summary.saw_refusal = summary.saw_refusal or bool(getattr(delta, "refusal", None))
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            summary.input_tokens = _int(getattr(usage, "prompt_tokens", None))
            summary.cache_read_tokens = _detail(usage, "prompt_tokens_details", "cached_tokens")
            summary.reasoning_tokens = _detail(usage, "completion_tokens_details", "reasoning_tokens")
            summary.output_tokens = _int(getattr(usage, "completion_tokens", None))
        return
    event_type = getattr(chunk, "type", None)
    if event_type == "response.output_text.delta":
        summary.saw_content = True
    elif event_type == "error":
        # The SDK yields a Responses ``error`` event instead of raising it.
        summary.failed = True
        summary.failure_code = summary.failure_code or _text(getattr(chunk, "code", None))
    elif event_type in _TERMINAL_RESPONSE_EVENTS:
        summary.terminal = True
        final = _summarize_response_api(chunk.response)
        summary.response_id = final.response_id
        summary.response_model = final.response_model
        summary.finish_reasons = dict(enumerate(final.finish_reasons))
        summary.input_tokens = final.input_tokens
        summary.output_tokens = final.output_tokens
        summary.cache_read_tokens = final.cache_read_tokens
        summary.reasoning_tokens = final.reasoning_tokens
        summary.soft_failure = final.soft_failure
        if final.failed:
            summary.failed = True
            summary.failure_code = summary.failure_code or final.failure_code


_TERMINAL_RESPONSE_EVENTS: Final = frozenset({"response.completed", "response.incomplete", "response.failed"})


def _text(value: Any) -> str | None:
    # Exact types: cheaper than isinstance, and what a parsed JSON body holds.
    return value if type(value) is str and value else None


def _detail(usage: Any, details: str, name: str) -> int | None:
    """A count inside ``usage.<details>`` (``prompt_tokens_details.cached_tokens``...), when reported."""
    return _int(getattr(getattr(usage, details, None), name, None))


def _int(value: Any) -> int | None:
    return value if type(value) is int else None  # excludes bool, whose type is bool
