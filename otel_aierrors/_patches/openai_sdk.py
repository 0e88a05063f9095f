"""The OpenAI SDK: one call span per ``request()``, and how to read its results.

``SyncAPIClient.request`` / ``AsyncAPIClient.request`` in
``openai/_base_client.py`` is the single path every endpoint goes through
(chat completions, completions, embeddings, responses, images, models...), and
it holds the SDK's retry loop. Wrapping it gives one span per logical call;
the attempts inside it are seen by `otel_aierrors._patches.transport`. This is
the only module that knows the SDK's shapes, so that another SDK of the same
family needs only its own version of it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from otel_aierrors._recording import CallRecord, CallTarget, Telemetry, enter_call, exit_call
from otel_aierrors._results import ResponseSummary, StreamSummary, soft_failure_of
from otel_aierrors._safety import report_internal_error
from otel_aierrors._setup import ensure_configured
from otel_aierrors._streams import wrap_stream

__all__ = ["OPENAI_TARGETS", "call_target"]

#: Request paths to (GenAI operation name, summarizer key).
_OPERATIONS: Final[Mapping[str, str]] = {
    "chat/completions": "chat",
    "completions": "text_completion",
    "responses": "chat",
    "embeddings": "embeddings",
    "images/generations": "generate_content",
    "images/edits": "generate_content",
    "images/variations": "generate_content",
}

#: Hosts whose provider has a GenAI semantic-convention name; any other
#: OpenAI-compatible endpoint is reported as ``openai`` (the protocol), and its
#: ``server.address`` tells gateways apart.
_PROVIDERS_BY_HOST_SUFFIX: Final = (
    (".openai.azure.com", "azure.ai.openai"),
    ("api.deepseek.com", "deepseek"),
    ("api.groq.com", "groq"),
    ("api.x.ai", "x_ai"),
    ("api.mistral.ai", "mistral_ai"),
    ("api.perplexity.ai", "perplexity"),
    ("generativelanguage.googleapis.com", "gcp.gemini"),
    ("api.anthropic.com", "anthropic"),
)
_DEFAULT_PROVIDER: Final = "openai"


def provider_for_host(host: str) -> str:
    for suffix, provider in _PROVIDERS_BY_HOST_SUFFIX:
        if host.endswith(suffix):
            return provider
    return _DEFAULT_PROVIDER


_server_cache: dict[int, tuple[object, str, int | None, str]] = {}


def _server_of(base_url: Any) -> tuple[str, int | None, str]:
    """(address, port, provider) of a client's base URL, cached by URL object."""
    cached = _server_cache.get(id(base_url))
    if cached is not None and cached[0] is base_url:
        return cached[1], cached[2], cached[3]
    host = str(base_url.host)
    port = base_url.port or (443 if base_url.scheme == "https" else 80)
    provider = provider_for_host(host)
    if len(_server_cache) > 256:
        _server_cache.clear()
    _server_cache[id(base_url)] = (base_url, host, port, provider)
    return host, port, provider


def call_target(instance: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> CallTarget:
    options = args[1] if len(args) > 1 else kwargs["options"]
    path = str(options.url).lstrip("/")
    operation = _OPERATIONS.get(path) or path.split("/", 1)[0] or "unknown"
    json_data = options.json_data
    model = json_data.get("model") if isinstance(json_data, Mapping) else None
    address, port, provider = _server_of(instance.base_url)
    api_key = getattr(instance, "api_key", None)
    return CallTarget(
        operation=operation,
        provider=provider,
        request_model=model if isinstance(model, str) else None,
        server_address=address,
        server_port=port,
        stream=bool(kwargs.get("stream", False)),
        secrets=(api_key,) if isinstance(api_key, str) else (),
        http_client=getattr(instance, "_client", None),
    )


def _start_call(
    telemetry: Telemetry, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> CallRecord | None:
    try:
        ensure_configured()
        return telemetry.start_call(call_target(instance, args, kwargs))
    except Exception:
        report_internal_error("starting a call span")
        return None


def _end_with_exception(call: CallRecord, exception: BaseException) -> None:
    try:
        call.end_with_exception(exception)
    except Exception:
        report_internal_error("ending a failed call span")


def _end_with_result(call: CallRecord, result: Any, is_async: bool) -> Any:
    """End the call for a returned value, or hand a stream its span; never raises."""
    try:
        if call.target.stream:
            return wrap_stream(result, call, is_async, read_chunk)
        call.end_ok(summarize(result))
    except Exception:
        report_internal_error("ending a call span")
    return result


def request_wrapper(telemetry: Telemetry) -> Callable[..., Any]:
    def traced_request(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        call = _start_call(telemetry, instance, args, kwargs)
        if call is None:
            return wrapped(*args, **kwargs)
        token = enter_call(call)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exception:
            _end_with_exception(call, exception)
            raise
        finally:
            exit_call(token)
        return _end_with_result(call, result, is_async=False)

    return traced_request


def async_request_wrapper(telemetry: Telemetry) -> Callable[..., Any]:
    async def traced_request(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        call = _start_call(telemetry, instance, args, kwargs)
        if call is None:
            return await wrapped(*args, **kwargs)
        token = enter_call(call)
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as exception:
            _end_with_exception(call, exception)
            raise
        finally:
            exit_call(token)
        return _end_with_result(call, result, is_async=True)

    return traced_request


#: (module, attribute path, wrapper factory taking the `Telemetry`).
OPENAI_TARGETS: Final = (
    ("openai._base_client", "SyncAPIClient.request", request_wrapper),
    ("openai._base_client", "AsyncAPIClient.request", async_request_wrapper),
)


# --- reading results ------------------------------------------------------------
def summarize(result: Any) -> ResponseSummary | None:
    """Summarize a returned object of any endpoint; raw responses are parsed (cached by the SDK)."""
    if hasattr(result, "parse") and hasattr(result, "http_response"):
        # ``with_raw_response``: the SDK caches what parse() returns.
        result = result.parse()
    choices = getattr(result, "choices", None)
    if isinstance(choices, list):
        return _summarize_choices(result, choices)
    if getattr(result, "object", None) == "response":
        return _summarize_response_api(result)
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
        soft_failure=soft,
    )


#: Responses API ``incomplete_details.reason`` to chat-style finish reasons.
_INCOMPLETE_REASONS: Final = {"max_output_tokens": "length", "content_filter": "content_filter"}


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
            finish_reason = choice.finish_reason
            if finish_reason:
                summary.finish_reasons[choice.index] = str(finish_reason)
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
        final = _summarize_response_api(chunk.response)
        summary.response_id = final.response_id
        summary.response_model = final.response_model
        summary.finish_reasons = dict(enumerate(final.finish_reasons))
        summary.input_tokens = final.input_tokens
        summary.output_tokens = final.output_tokens
        summary.soft_failure = final.soft_failure
        if final.failed:
            summary.failed = True
            summary.failure_code = summary.failure_code or final.failure_code


_TERMINAL_RESPONSE_EVENTS: Final = frozenset({"response.completed", "response.incomplete", "response.failed"})


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
