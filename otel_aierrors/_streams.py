"""Calls that outlive ``request()``: streams and raw responses, ended exactly once.

A streamed call is not over when ``create()`` returns: the answer, its finish
reason, its usage and possibly its failure arrive chunk by chunk. A raw
response (``with_raw_response`` / ``with_streaming_response``) is summarized
from what the caller's own ``parse()`` returns, never by reading, parsing or
closing anything the caller did not. Both are wrapped in proxies
(``wrapt.ObjectProxy``: ``isinstance``, ``response``, ``close()`` and the
context-manager protocol behave as before) that end the call

- when a stream is exhausted: ok or soft failure, from what the chunks said;
  a stream that stops without its end marker (no finish reason, no
  ``response.completed``, no ``message_stop``) was cut by a proxy or gateway:
  ``stream_interrupted``, with the number of chunks received;
- when iterating raises: an error event in the stream, a connection that
  dropped partway, or the application's own cancellation (``cancelled``);
- when a raw response is parsed: summarized from the parsed value, timed at
  the moment ``request()`` returned;
- when the caller closes it, breaks out of it, never uses it, or lets the
  garbage collector take it: marked abandoned.

A proxy dropped unread is found by its finalizer, which only notes the time
and queues the call's end (`otel_aierrors._handoff`: the garbage collector runs
anywhere); the drain ends the call at that time, not at its own.
"""

from __future__ import annotations

import inspect
import time
import weakref
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, Final

import wrapt

from otel_aierrors import _names as n
from otel_aierrors._call import CallRecord
from otel_aierrors._provider_errors import parse_error_body
from otel_aierrors._recording import Attributes
from otel_aierrors._results import ResponseSummary, StreamSummary
from otel_aierrors._sdks.stainless import ResultKind, error_facts, result_kind
from otel_aierrors._taxonomy import Classification, ErrorClass, classify, is_cancellation

if TYPE_CHECKING:
    from otel_aierrors._sdks.adapters import ChunkReader, SdkAdapter

__all__ = ["wrap_result"]


#: A stream cut or broken without a provider error saying more.
_INTERRUPTED: Final = Classification(ErrorClass.STREAM_INTERRUPTED, ErrorClass.STREAM_INTERRUPTED.retryable)


class _CallEnd:
    """Everything needed to end the call, and nothing that keeps the stream or response alive."""

    __slots__ = ("call", "dropped_at", "finalizer", "handed_to_stream", "returned_at", "summary")

    def __init__(self, call: CallRecord, returned_at: float | None = None) -> None:
        self.call = call
        self.summary = StreamSummary()
        #: A raw response's ``parse()`` returned the stream, which now owns the call.
        self.handed_to_stream = False
        #: When ``request()`` returned a non-streamed raw response: the call's end time.
        self.returned_at = returned_at
        #: Ends the call if the proxy is garbage first (`track`); detached once the call ends otherwise.
        self.finalizer: weakref.finalize[Any, Any] | None = None
        #: When the garbage collector took the proxy (perf counter, wall clock ns): the abandoned call's end.
        self.dropped_at: tuple[float, int] | None = None

    def track(self, proxy: object) -> None:
        """End the call as abandoned once ``proxy`` is garbage (its instrumentation's hand-off tells `dropped`).

        A call that ends otherwise (the stream ran out, broke or was closed) detaches
        the finalizer (`untrack`), so only abandoned calls are ever handed off.
        """
        self.finalizer = self.call.telemetry.handoff.track(proxy, self)

    def untrack(self) -> None:
        """The proxy is done with: its finalizer has nothing left to do."""
        finalizer, self.finalizer = self.finalizer, None
        if finalizer is not None:
            self.call.telemetry.handoff.forget(finalizer)

    def dropped(self, at: tuple[float, int]) -> None:
        """The garbage collector took the proxy at ``at``: the call ends then, abandoned."""
        self.dropped_at = at
        _safely(self, self.abandoned, "ending an abandoned call")

    def stream_ended(self) -> None:
        self.untrack()
        call, summary = self.call, self.summary
        if call.ended:
            return
        chunks = self._chunks()
        try:
            complete = summary.failed or summary.is_complete()
            final = summary.to_summary()
        except Exception:
            call.fault("summarizing a stream")
            call.end(None, chunks)
            return
        if complete:
            call.end(final, chunks)
            return
        call.fail(_INTERRUPTED, None, chunks, self._interrupted_summary())

    def stream_failed(self, exception: BaseException) -> None:
        self.untrack()
        call = self.call
        if call.ended:
            return
        chunks = self._chunks()
        if is_cancellation(exception):
            call.cancel(chunks)
            return
        classification = _INTERRUPTED
        try:
            # An error event names its class (a mid-stream ``overloaded``); a broken connection does not.
            _status, body = error_facts(exception)
            classification = classify(provider_error=parse_error_body(body), default=ErrorClass.STREAM_INTERRUPTED)
        except Exception:
            call.fault("classifying a stream's failure")
        call.fail(classification, exception, chunks, self._interrupted_summary())

    def abandoned(self) -> None:
        self.untrack()
        call = self.call
        if call.ended or self.handed_to_stream:
            return
        if self.returned_at is not None:  # a non-streamed raw response nobody parsed
            call.end(None, end_time=self.returned_at)
            return
        summary = self._summary()
        if summary is not None and not summary.finish_reasons:
            summary.soft_failure = None
        dropped = self.dropped_at
        extra = {**self._chunks(), n.STREAM_ABANDONED: True}
        if dropped is None:  # closed, or left by ``break`` in a generator: now
            call.end(summary, extra, abandoned=True)
        else:  # when the application let go, not when the drain got to it
            call.end(summary, extra, abandoned=True, end_time=dropped[0], end_wall_ns=dropped[1])

    def _chunks(self) -> Attributes:
        """The chunk count as a span attribute, told to the call first (its metrics time the chunks)."""
        count = self.summary.chunks
        self.call.streamed(count)
        return {n.STREAM_CHUNKS: count}

    def _summary(self) -> ResponseSummary | None:
        try:
            return self.summary.to_summary()
        except Exception:
            self.call.fault("summarizing a stream")
            return None

    def _interrupted_summary(self) -> ResponseSummary | None:
        """The summary of a stream that broke: each unfinished choice says ``error``."""
        try:
            final = self.summary.to_summary()
            final.finish_reasons = self.summary.interrupted_reasons()
            final.soft_failure = None
        except Exception:
            self.call.fault("summarizing a broken stream")
            return None
        return final

    def parsed(self, value: Any, adapter: SdkAdapter) -> None:
        self.untrack()
        call = self.call
        if call.ended:
            return
        summary = None
        try:
            summary = adapter.summarize(value)
        except Exception:
            call.fault("summarizing a parsed raw response")
        call.end(summary, end_time=self.returned_at)


# --- proxies -------------------------------------------------------------------------
class _EndsWhenClosed(wrapt.ObjectProxy[Any]):
    """Closing the proxied object, or leaving its ``with`` block, ends the call (if still open)."""

    _self_end: _CallEnd

    def close(self) -> None:
        try:
            self.__wrapped__.close()
        finally:
            _safely(self._self_end, self._self_end.abandoned, "ending a closed stream's call")

    def __enter__(self) -> Any:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc_info)
        finally:
            _safely(self._self_end, self._self_end.abandoned, "ending a closed stream's call")


class _EndsWhenClosedAsync(wrapt.ObjectProxy[Any]):
    """The async twin of `_EndsWhenClosed`."""

    _self_end: _CallEnd

    async def close(self) -> None:
        try:
            await self.__wrapped__.close()
        finally:
            _safely(self._self_end, self._self_end.abandoned, "ending a closed stream's call")

    async def __aenter__(self) -> Any:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc_info)
        finally:
            _safely(self._self_end, self._self_end.abandoned, "ending a closed stream's call")


class TracedStream(_EndsWhenClosed):
    """A sync SDK stream that ends its call when it ends."""

    def __init__(self, wrapped: Any, end: _CallEnd, read_chunk: ChunkReader) -> None:
        super().__init__(wrapped)
        self._self_end = end
        self._self_read_chunk = read_chunk
        end.track(self)

    def __iter__(self) -> TracedStream:
        return self

    def __next__(self) -> Any:
        end = self._self_end
        try:
            chunk = self.__wrapped__.__next__()
        except StopIteration:
            _safely(end, end.stream_ended, "ending a stream's call")
            raise
        except GeneratorExit:
            _safely(end, end.abandoned, "ending an abandoned stream's call")
            raise
        except BaseException as exception:
            _safely(end, partial(end.stream_failed, exception), "ending a failed stream's call")
            raise
        _read(end, self._self_read_chunk, chunk)
        return chunk


class TracedAsyncStream(_EndsWhenClosedAsync):
    """An async SDK stream that ends its call when it ends."""

    def __init__(self, wrapped: Any, end: _CallEnd, read_chunk: ChunkReader) -> None:
        super().__init__(wrapped)
        self._self_end = end
        self._self_read_chunk = read_chunk
        end.track(self)

    def __aiter__(self) -> TracedAsyncStream:
        return self

    async def __anext__(self) -> Any:
        end = self._self_end
        try:
            chunk = await self.__wrapped__.__anext__()
        except StopAsyncIteration:
            _safely(end, end.stream_ended, "ending a stream's call")
            raise
        except GeneratorExit:
            _safely(end, end.abandoned, "ending an abandoned stream's call")
            raise
        except BaseException as exception:
            _safely(end, partial(end.stream_failed, exception), "ending a failed stream's call")
            raise
        _read(end, self._self_read_chunk, chunk)
        return chunk


def _read(end: _CallEnd, read_chunk: ChunkReader, chunk: Any) -> None:
    summary = end.summary
    try:
        if not summary.chunks:
            end.call.first_chunk()
        summary.chunks += 1
        read_chunk(summary, chunk)
    except Exception:
        end.call.fault("reading a stream chunk")


def _safely(end: _CallEnd, action: Callable[[], None], where: str) -> None:
    """Run one of ``end``'s ends; should it raise, the call is aborted: its span ends all the same."""
    try:
        action()
    except Exception:
        end.call.abort(where)


class _TracedRawResponse(wrapt.ObjectProxy[Any]):
    """A raw response: the call follows what ``parse()`` returns, or ends when the response is closed."""

    def __init__(self, wrapped: Any, end: _CallEnd, adapter: SdkAdapter, is_async: bool) -> None:
        super().__init__(wrapped)
        self._self_end = end
        self._self_adapter = adapter
        self._self_is_async = is_async
        end.track(self)

    def _self_follow(self, parsed: Any) -> Any:
        end = self._self_end
        try:
            if result_kind(parsed) is ResultKind.STREAM and not end.call.ended and not end.handed_to_stream:
                end.handed_to_stream = True
                end.untrack()
                stream_type = TracedAsyncStream if self._self_is_async else TracedStream
                return stream_type(parsed, _CallEnd(end.call), self._self_adapter.read_chunk)
            end.parsed(parsed, self._self_adapter)
        except Exception:
            end.call.abort("following a parsed raw response")
        return parsed


class TracedRawResponse(_TracedRawResponse, _EndsWhenClosed):
    def parse(self, *args: Any, **kwargs: Any) -> Any:
        return self._self_follow(self.__wrapped__.parse(*args, **kwargs))


class TracedAsyncRawResponse(_TracedRawResponse, _EndsWhenClosedAsync):
    """The async ``with_streaming_response`` flavour, whose ``parse()`` is a coroutine."""

    async def parse(self, *args: Any, **kwargs: Any) -> Any:
        return self._self_follow(await self.__wrapped__.parse(*args, **kwargs))


def wrap_result(result: Any, kind: ResultKind, call: CallRecord, adapter: SdkAdapter, is_async: bool) -> Any:
    """``result`` (a stream or a raw response, as ``kind`` says) proxied to end ``call`` later."""
    if kind is ResultKind.STREAM:
        return (TracedAsyncStream if is_async else TracedStream)(result, _CallEnd(call), adapter.read_chunk)
    returned_at = None if call.target.stream else time.perf_counter()
    raw_type = TracedAsyncRawResponse if inspect.iscoroutinefunction(result.parse) else TracedRawResponse
    return raw_type(result, _CallEnd(call, returned_at), adapter, is_async)
