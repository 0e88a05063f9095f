"""Streams whose call span ends exactly once, however the stream ends.

A streamed call is not over when ``create()`` returns: the answer, its finish
reason, its usage and possibly its failure arrive chunk by chunk. The SDK's
stream object is wrapped in a proxy (``wrapt.ObjectProxy``, so ``isinstance``,
``response``, ``close()`` and the context-manager protocol behave as before)
that ends the call span

- when the stream is exhausted: ok or soft failure, from what the chunks said;
- when iterating raises: an error event in the stream, or a connection that
  dropped partway (``stream_interrupted``, with the number of chunks received);
- when the caller closes it, breaks out of it, never iterates it, or lets the
  garbage collector take it: marked abandoned. A ``weakref.finalize`` on the
  proxy does this without keeping the stream, or its connection, alive.

Per chunk the proxy does one callback that reads a few attributes; no span,
no allocation beyond the summary it keeps.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import wrapt

from otel_aierrors import _names as n
from otel_aierrors._recording import CallRecord
from otel_aierrors._results import StreamSummary
from otel_aierrors._safety import report_internal_error
from otel_aierrors._taxonomy import (
    Classification,
    ErrorClass,
    classification_of,
    classify_status,
    parse_error_body,
)

__all__ = ["ChunkReader", "wrap_stream"]

#: Reads one chunk into the summary (the SDK-specific part, see the patches).
ChunkReader = Callable[[StreamSummary, Any], None]


class _StreamState:
    """Everything needed to end the span, and nothing that keeps the stream alive."""

    __slots__ = ("__weakref__", "call", "handed_to_stream", "summary")

    def __init__(self, call: CallRecord) -> None:
        self.call = call
        self.summary = StreamSummary()
        #: A raw response's ``parse()`` returned the stream, which now owns the span.
        self.handed_to_stream = False

    def finish_ok(self) -> None:
        if self.call.ended:
            return
        try:
            self.call.end_ok(self.summary.to_summary(), {n.STREAM_CHUNKS: self.summary.chunks})
        except Exception:
            report_internal_error("ending a stream span")

    def finish_error(self, exception: BaseException) -> None:
        if self.call.ended:
            return
        try:
            self.call.end_error(
                _classify_stream_exception(exception),
                exception,
                {n.STREAM_CHUNKS: self.summary.chunks},
                self.summary.to_summary(),
            )
        except Exception:
            report_internal_error("ending a failed stream span")

    def finish_abandoned(self) -> None:
        if self.call.ended:
            return
        try:
            summary = self.summary.to_summary()
            if not summary.finish_reasons:
                summary.soft_failure = None
            self.call.end_ok(summary, {n.STREAM_CHUNKS: self.summary.chunks, n.STREAM_ABANDONED: True}, abandoned=True)
        except Exception:
            report_internal_error("ending an abandoned stream span")

    def finish_abandoned_unless_streaming(self) -> None:
        if not self.handed_to_stream:
            self.finish_abandoned()


def _classify_stream_exception(exception: BaseException) -> Classification:
    """An error event names its class (a mid-stream ``overloaded``); a broken connection does not."""
    body = getattr(exception, "body", None)
    if body is not None and getattr(exception, "status_code", None) is None:
        provider_error = parse_error_body({"error": body} if isinstance(body, dict) else body)
        if provider_error.code or provider_error.type:
            found = classify_status(None, provider_error)
            if found.error_class is not ErrorClass.UNKNOWN:
                return found
    return classification_of(ErrorClass.STREAM_INTERRUPTED)


class _EndsWhenClosed(wrapt.ObjectProxy[Any]):
    """Closing the proxied object, or leaving its ``with`` block, ends the span (if still open)."""

    _self_state: _StreamState

    def close(self) -> None:
        try:
            self.__wrapped__.close()
        finally:
            self._self_state.finish_abandoned()

    def __enter__(self) -> Any:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc_info)
        finally:
            self._self_state.finish_abandoned()


class _EndsWhenClosedAsync(wrapt.ObjectProxy[Any]):
    """The async twin of `_EndsWhenClosed`."""

    _self_state: _StreamState

    async def close(self) -> None:
        try:
            await self.__wrapped__.close()
        finally:
            self._self_state.finish_abandoned()

    async def __aenter__(self) -> Any:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc_info)
        finally:
            self._self_state.finish_abandoned()


class TracedStream(_EndsWhenClosed):
    """A sync SDK stream that ends its call span when it ends."""

    def __init__(self, wrapped: Any, state: _StreamState, read_chunk: ChunkReader) -> None:
        super().__init__(wrapped)
        self._self_state = state
        self._self_read_chunk = read_chunk
        weakref.finalize(self, state.finish_abandoned)

    def __iter__(self) -> TracedStream:
        return self

    def __next__(self) -> Any:
        state = self._self_state
        try:
            chunk = self.__wrapped__.__next__()
        except StopIteration:
            state.finish_ok()
            raise
        except BaseException as exception:
            if isinstance(exception, GeneratorExit):
                state.finish_abandoned()
            else:
                state.finish_error(exception)
            raise
        _read(state, self._self_read_chunk, chunk)
        return chunk


class TracedAsyncStream(_EndsWhenClosedAsync):
    """An async SDK stream that ends its call span when it ends."""

    def __init__(self, wrapped: Any, state: _StreamState, read_chunk: ChunkReader) -> None:
        super().__init__(wrapped)
        self._self_state = state
        self._self_read_chunk = read_chunk
        weakref.finalize(self, state.finish_abandoned)

    def __aiter__(self) -> TracedAsyncStream:
        return self

    async def __anext__(self) -> Any:
        state = self._self_state
        try:
            chunk = await self.__wrapped__.__anext__()
        except StopAsyncIteration:
            state.finish_ok()
            raise
        except BaseException as exception:
            if isinstance(exception, GeneratorExit):
                state.finish_abandoned()
            else:
                state.finish_error(exception)
            raise
        _read(state, self._self_read_chunk, chunk)
        return chunk


def _read(state: _StreamState, read_chunk: ChunkReader, chunk: Any) -> None:
    summary = state.summary
    try:
        if summary.chunks == 0:
            state.call.record_first_chunk()
        summary.chunks += 1
        read_chunk(summary, chunk)
    except Exception:
        report_internal_error("reading a stream chunk")


class _TracedRawResponse(wrapt.ObjectProxy[Any]):
    """``with_raw_response`` / ``with_streaming_response`` around a stream: the span
    follows the stream that ``parse()`` returns, or ends when the response is closed."""

    def __init__(self, wrapped: Any, state: _StreamState, read_chunk: ChunkReader, is_async: bool) -> None:
        super().__init__(wrapped)
        self._self_state = state
        self._self_read_chunk = read_chunk
        self._self_is_async = is_async
        weakref.finalize(self, state.finish_abandoned_unless_streaming)

    def _self_trace(self, parsed: Any) -> Any:
        if not _is_stream(parsed):
            return parsed
        self._self_state.handed_to_stream = True
        stream_type = TracedAsyncStream if self._self_is_async else TracedStream
        return stream_type(parsed, self._self_state, self._self_read_chunk)


class TracedRawResponse(_TracedRawResponse, _EndsWhenClosed):
    def parse(self, *args: Any, **kwargs: Any) -> Any:
        return self._self_trace(self.__wrapped__.parse(*args, **kwargs))


class TracedAsyncRawResponse(_TracedRawResponse, _EndsWhenClosedAsync):
    """The async ``with_streaming_response`` flavour, whose ``parse()`` is a coroutine."""

    async def parse(self, *args: Any, **kwargs: Any) -> Any:
        return self._self_trace(await self.__wrapped__.parse(*args, **kwargs))


def _is_stream(value: Any) -> bool:
    return hasattr(value, "response") and (hasattr(value, "__next__") or hasattr(value, "__anext__"))


def wrap_stream(result: Any, call: CallRecord, is_async: bool, read_chunk: ChunkReader) -> Any:
    """Return ``result`` traced: a stream, a raw response around one, or (not a stream) as is."""
    state = _StreamState(call)
    if _is_stream(result):
        return (TracedAsyncStream if is_async else TracedStream)(result, state, read_chunk)
    if hasattr(result, "parse") and hasattr(result, "http_response"):
        import inspect

        async_parse = inspect.iscoroutinefunction(result.parse)
        return (TracedAsyncRawResponse if async_parse else TracedRawResponse)(result, state, read_chunk, is_async)
    state.finish_ok()
    return result
