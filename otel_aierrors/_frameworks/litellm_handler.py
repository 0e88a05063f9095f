"""LiteLLM's own HTTP handler: a call per LLM request it sends without a vendor SDK.

For anthropic, groq, xai, deepseek, mistral, openrouter and most other
providers, LiteLLM translates the request itself and sends it through
``litellm.llms.custom_httpx.http_handler.HTTPHandler.post`` /
``AsyncHTTPHandler.post`` (an ``httpx`` client of its own), never through
``request()`` of a generated SDK. The call boundary here is that ``post``,
when its path is an LLM operation of a dialect this package reads (the
Anthropic Messages API, or the OpenAI-compatible chat, completions,
embeddings and Responses APIs): one ``post`` is one LLM request, and its
``send`` is the attempt `otel_aierrors._patches.transport` records under it.
Any other ``post`` (a token exchange, a file upload, a logging callback) and
any path of a dialect not read here (Gemini, Bedrock) passes through
untouched.

A ``post`` made while a call is already current (LiteLLM sent the request
through the ``openai`` SDK, whose ``request()`` opened it) is left alone: one
request, one call span.

What the call says is read as the SDK path reads it, with the SDK adapter of
the dialect (`otel_aierrors._sdks.adapters.ADAPTERS`): the request's JSON body gives
the model, ``stream`` and the ``gen_ai.request.*`` parameters; the response's
JSON body (already in memory: LiteLLM sends without ``stream``) the finish
reason and usage; a streamed response's server-sent events, read as LiteLLM
iterates ``iter_text()`` / ``aiter_text()``, the same through the adapter's
``read_chunk``, with the stream outcomes of `otel_aierrors._streams`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Final

import wrapt

from otel_aierrors._call import CallRecord
from otel_aierrors._context import CURRENT_CALL
from otel_aierrors._patches import Wrapper
from otel_aierrors._patches.calls import end_with_exception
from otel_aierrors._provider_errors import parse_error_body
from otel_aierrors._redaction import Credentials
from otel_aierrors._safety import report_internal_error
from otel_aierrors._sdks.adapters import ADAPTERS, SdkAdapter
from otel_aierrors._sdks.stainless import (
    operation_of,
    provider_for_host,
    request_facts,
    response_body_in_memory,
    server_of,
)
from otel_aierrors._streams import TracedAsyncStream, TracedStream, _CallEnd
from otel_aierrors._target import CallTarget
from otel_aierrors._taxonomy import ErrorClass, classify

if TYPE_CHECKING:
    from otel_aierrors._recording import Telemetry
    from otel_aierrors._results import StreamSummary

__all__ = ["async_handler_post", "handler_post"]


_OPENAI: Final = next(adapter for adapter in ADAPTERS if adapter.provider == "openai")
_ANTHROPIC: Final = next(adapter for adapter in ADAPTERS if adapter.provider == "anthropic")

#: Operations (from the request path) of the OpenAI-compatible dialect this package reads.
_OPENAI_OPERATIONS: Final = frozenset({"chat", "text_completion", "embeddings"})

#: LiteLLM's provider names to GenAI ``gen_ai.provider.name`` values, when the host says nothing.
_PROVIDERS: Final[Mapping[str, str]] = {
    "openai": "openai",
    "azure": "azure.ai.openai",
    "groq": "groq",
    "xai": "x_ai",
    "deepseek": "deepseek",
    "mistral": "mistral_ai",
    "perplexity": "perplexity",
    "anthropic": "anthropic",
}

#: Request bodies larger than this are not parsed for the model and parameters (images, long documents).
_MAX_BODY: Final = 1 << 20

#: Anthropic stream events the SDK does not yield to the caller (``error`` it raises).
_ANTHROPIC_SKIPPED: Final = frozenset({"ping", "error"})


class _View:
    """Attribute access over a parsed JSON object, for the adapters' ``getattr`` readers."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = data

    def __getattr__(self, name: str) -> Any:
        return _view(self._data.get(name))


def _view(value: Any) -> Any:
    if isinstance(value, Mapping):
        return _View(value)
    if isinstance(value, list):
        return [_view(item) for item in value]
    return value


#: Path endings of the dialects read here, whatever the prefix before them (``/v1``, a gateway's own).
_SUFFIXES: Final = (
    ("/messages", _ANTHROPIC, "chat"),
    ("/chat/completions", _OPENAI, "chat"),
    ("/responses", _OPENAI, "chat"),
    ("/embeddings", _OPENAI, "embeddings"),
)


def _dialect(operation: str, path: str) -> tuple[SdkAdapter, str] | None:
    """The adapter that reads a request to ``path``, and its operation; None for any other request."""
    for suffix, adapter, suffix_operation in _SUFFIXES:
        if path.endswith(suffix):
            return adapter, suffix_operation
    if operation in _OPENAI_OPERATIONS:
        return _OPENAI, operation
    return None


def _request_body(kwargs: Mapping[str, Any], args: tuple[Any, ...]) -> Mapping[str, Any] | None:
    body = kwargs.get("json")
    if body is None:
        body = kwargs["data"] if "data" in kwargs else (args[1] if len(args) > 1 else None)
        if body is None:
            body = kwargs.get("content")
    if isinstance(body, Mapping):
        return body
    if isinstance(body, (str, bytes)) and len(body) <= _MAX_BODY:
        try:
            parsed = json.loads(body)
        except ValueError:  # not JSON: a form, a signed binary body; the call is still recorded
            return None
        return parsed if isinstance(parsed, Mapping) else None
    return None


def _api_key(headers: Mapping[str, Any] | None) -> str | None:
    if not headers:
        return None
    for name, value in headers.items():
        lowered = str(name).lower()
        if lowered in ("x-api-key", "api-key") and isinstance(value, str):
            return value
        if lowered == "authorization" and isinstance(value, str):
            return value.removeprefix("Bearer ").strip()
    return None


def _start_call(
    telemetry: Telemetry, handler: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[CallRecord, SdkAdapter] | None:
    if CURRENT_CALL.get() is not None:  # sent through an SDK whose ``request()`` already opened the call
        return None
    try:
        import httpx

        url = httpx.URL(str(args[0] if args else kwargs["url"]))
        path = url.path
        # Which requests are calls is read from the path alone, before any body is parsed:
        # LiteLLM's other posts (token fetches, logging callbacks) cost one path check.
        dialect = _dialect(operation_of(path), path)
        if dialect is None:
            return None
        adapter, operation = dialect
        stream = bool(kwargs.get("stream", False))
        # The SDK path's own reader, over the body LiteLLM sends: the same model and parameters.
        body = _request_body(kwargs, args)
        facts = request_facts((None, SimpleNamespace(json_data=body, url=path)), {"stream": stream})
        default = adapter.provider
        if adapter is _OPENAI:
            logging_obj = kwargs.get("logging_obj")
            litellm_provider = getattr(logging_obj, "custom_llm_provider", None)
            default = _PROVIDERS.get(litellm_provider, default) if isinstance(litellm_provider, str) else default
        address, port = server_of(url)
        headers = kwargs.get("headers")
        target = CallTarget(
            operation,
            provider_for_host(address, default),
            facts.request_model,
            address,
            port,
            facts.stream,
            Credentials(_api_key(headers), headers if isinstance(headers, Mapping) else {}, {}, url),
            getattr(handler, "client", None),  # the httpx client whose ``send`` is the attempt
            facts.parameters,
        )
        return CallRecord(telemetry, target), adapter
    except Exception:
        report_internal_error("starting a LiteLLM handler call")
        return None


def _error_facts(exception: BaseException) -> tuple[int | None, Any]:
    """The status and body of the ``httpx.HTTPStatusError`` LiteLLM raises (body only if read)."""
    status = getattr(exception, "status_code", None)
    response = getattr(exception, "response", None)
    if not isinstance(status, int) and response is not None:
        status = getattr(response, "status_code", None)
    if not isinstance(status, int) or isinstance(status, bool):
        return None, None
    return status, response_body_in_memory(response)  # bytes: the taxonomy parses them


def _end_with_response(call: CallRecord, adapter: SdkAdapter, response: Any, is_async: bool) -> Any:
    """End a call whose response arrived, or return the streamed response proxied to end it later."""
    try:
        if call.target.stream:
            proxy = _TracedAsyncResponse(response) if is_async else _TracedResponse(response)
            proxy._self_call = call
            proxy._self_adapter = adapter
            # Until its body is read, the response itself ends the call if dropped (abandoned).
            proxy._self_end = _StreamEnd(call)
            proxy._self_end.track(proxy)
            return proxy
        summary = None
        try:
            content = response_body_in_memory(response)
            if content:
                parsed = json.loads(content)
                if isinstance(parsed, Mapping):
                    summary = adapter.summarize(_View(parsed))
        except Exception:
            call.fault("summarizing a LiteLLM handler call's response")
        call.end(summary)
    except Exception:
        call.abort("ending a LiteLLM handler call")
    return response


# --- streams ----------------------------------------------------------------------------
class _StreamEnd(_CallEnd):
    """The end of a streamed call LiteLLM reads: its finish reason, not the last byte, completes it.

    LiteLLM stops reading a stream once the finish reason arrived (its sync anthropic stream
    never reads ``message_stop``) and leaves the rest of the body to the garbage collector. That
    is LiteLLM's choice, not the application's: a stream dropped after every choice's finish
    reason ended as the answer did, not abandoned. One dropped before is abandoned, as on the
    SDK path.
    """

    __slots__ = ()

    def abandoned(self) -> None:
        summary = self.summary
        answered = bool(summary.finish_reasons) and summary.choice_indexes <= summary.finish_reasons.keys()
        if answered and not self.call.ended:
            summary.terminal = True
            self.stream_ended()
            return
        super().abandoned()


class _EventReader:
    """Server-sent events from the text chunks LiteLLM reads, each folded in as the SDK's stream would.

    The text arrives in arbitrary pieces; lines are joined across them. Each ``data:`` line is one
    event (as LiteLLM itself reads them). ``summary.chunks`` counts the events the SDK would have
    yielded (`otel_aierrors._streams` adds one per text piece, taken back here). The stream's end
    marker (``message_stop``, ``[DONE]``) ends the call at once: LiteLLM stops reading there and
    may never reach the end of the body.
    """

    __slots__ = ("adapter", "buffer", "end", "event")

    def __init__(self, end: _CallEnd, adapter: SdkAdapter) -> None:
        self.end = end
        self.adapter = adapter
        self.buffer = ""
        self.event: str | None = None

    def __call__(self, summary: StreamSummary, text: Any) -> None:
        summary.chunks -= 1  # the piece of text is not a chunk; its events are
        if not isinstance(text, str):
            return
        self.buffer += text
        *lines, self.buffer = self.buffer.split("\n")
        for line in lines:
            self._line(summary, line.rstrip("\r"))

    def _line(self, summary: StreamSummary, line: str) -> None:
        if not line:
            self.event = None
        elif line.startswith("data:"):
            self._event(summary, line[5:].strip())
        elif line.startswith("event:"):
            self.event = line[6:].strip()

    def _event(self, summary: StreamSummary, data: str) -> None:
        if data.startswith("[DONE]"):
            self._ended()
            return
        try:
            parsed = json.loads(data)
        except ValueError:  # not JSON: nothing the SDK would have yielded either
            return
        if not isinstance(parsed, Mapping):
            return
        event = self.event or parsed.get("type")
        if self.adapter is _ANTHROPIC:
            if event == "error":
                self._failed(parsed)
                return
            if event is None or event in _ANTHROPIC_SKIPPED:
                return
        summary.chunks += 1
        self.adapter.read_chunk(summary, _View(parsed))
        if summary.terminal:
            self._ended()

    def _ended(self) -> None:
        end = self.end
        if not end.call.ended:
            end.stream_ended()

    def _failed(self, body: Mapping[str, Any]) -> None:
        """An ``error`` event: the SDK raises it, LiteLLM raises it above this stream; the call fails now."""
        end = self.end
        call = end.call
        if call.ended:
            return
        end.untrack()
        classification = classify(provider_error=parse_error_body(body), default=ErrorClass.STREAM_INTERRUPTED)
        call.fail(classification, None, end._chunks(), end._interrupted_summary())


class _TracedResponse(wrapt.ObjectProxy[Any]):
    """A streamed ``httpx.Response`` whose ``iter_text()`` ends the call as the SDK stream would."""

    _self_call: CallRecord
    _self_adapter: SdkAdapter
    _self_end: _StreamEnd

    def iter_text(self, *args: Any, **kwargs: Any) -> Any:
        pieces = self.__wrapped__.iter_text(*args, **kwargs)
        try:
            self._self_end.untrack()  # the body's reader ends the call from now on
            end = _StreamEnd(self._self_call)
            return TracedStream(pieces, end, _EventReader(end, self._self_adapter))
        except Exception:
            self._self_call.abort("following a LiteLLM stream")
            return pieces


class _TracedAsyncResponse(wrapt.ObjectProxy[Any]):
    """The async twin of `_TracedResponse`: ``aiter_text()``."""

    _self_call: CallRecord
    _self_adapter: SdkAdapter
    _self_end: _StreamEnd

    def aiter_text(self, *args: Any, **kwargs: Any) -> Any:
        pieces = self.__wrapped__.aiter_text(*args, **kwargs)
        try:
            self._self_end.untrack()  # the body's reader ends the call from now on
            end = _StreamEnd(self._self_call)
            return TracedAsyncStream(pieces, end, _EventReader(end, self._self_adapter))
        except Exception:
            self._self_call.abort("following a LiteLLM stream")
            return pieces


# --- the wrappers ---------------------------------------------------------------------------
def handler_post(telemetry: Telemetry) -> Wrapper:
    """``HTTPHandler.post``: one LLM request LiteLLM sends itself."""

    def traced_post(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        started = _start_call(telemetry, instance, args, kwargs)
        if started is None:
            return wrapped(*args, **kwargs)
        call, adapter = started
        token = CURRENT_CALL.set(call)
        try:
            response = wrapped(*args, **kwargs)
        except BaseException as exception:
            end_with_exception(call, exception, _error_facts)
            raise
        finally:
            CURRENT_CALL.reset(token)
        return _end_with_response(call, adapter, response, is_async=False)

    return traced_post


def async_handler_post(telemetry: Telemetry) -> Wrapper:
    """``AsyncHTTPHandler.post``: the async twin of `handler_post`."""

    async def traced_async_post(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        started = _start_call(telemetry, instance, args, kwargs)
        if started is None:
            return await wrapped(*args, **kwargs)
        call, adapter = started
        token = CURRENT_CALL.set(call)
        try:
            response = await wrapped(*args, **kwargs)
        except BaseException as exception:
            end_with_exception(call, exception, _error_facts)
            raise
        finally:
            CURRENT_CALL.reset(token)
        return _end_with_response(call, adapter, response, is_async=True)

    return traced_async_post
