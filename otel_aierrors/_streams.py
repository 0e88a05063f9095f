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

The garbage collector runs anywhere, even inside the OpenTelemetry SDK while
it holds a lock; a finalizer therefore only appends to a queue (no lock, no
SDK call), drained at the next instrumented call and by a small daemon thread;
it notes the time it ran, which is when the call ends.
"""

from __future__ import annotations

import atexit
import inspect
import threading
import time
import weakref
from collections import deque
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

__all__ = ["drain_abandoned", "wrap_result"]


#: A stream cut or broken without a provider error saying more.
_INTERRUPTED: Final = Classification(ErrorClass.STREAM_INTERRUPTED, ErrorClass.STREAM_INTERRUPTED.retryable)


class _CallEnd:
    """Everything needed to end the call, and nothing that keeps the stream or response alive."""

    __slots__ = ("__weakref__", "call", "dropped_at", "finalizer", "handed_to_stream", "returned_at", "summary")

    def __init__(self, call: CallRecord, returned_at: float | None = None) -> None:
        self.call = call
        self.summary = StreamSummary()
        #: A raw response's ``parse()`` returned the stream, which now owns the call.
        self.handed_to_stream = False
        #: When ``request()`` returned a non-streamed raw response: the call's end time.
        self.returned_at = returned_at
        #: Ends the call if the proxy is garbage first (`_track`); detached once the call ends otherwise.
        self.finalizer: weakref.finalize[Any, Any] | None = None
        #: When the garbage collector took the proxy (perf counter, wall clock ns): the abandoned call's end.
        self.dropped_at: tuple[float, int] | None = None

    def untrack(self) -> None:
        """The proxy is done with: its finalizer has nothing left to do."""
        finalizer, self.finalizer = self.finalizer, None
        if finalizer is not None:
            finalizer.detach()
            _finalizers.discard(finalizer)

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


# --- the hand-off from finalizers ---------------------------------------------------
#: Ends queued by finalizers; ``deque.append`` takes no lock and runs no Python code.
_abandoned: deque[_CallEnd] = deque()
#: The finalizers of live proxies (so that at exit the still-live ones are ended too).
_finalizers: set[weakref.finalize[Any, Any]] = set()
_drainer: threading.Thread | None = None
#: Proxies tracked so far: while it moves, the drainer stays.
_tracked = 0
#: Seconds between two looks of the drainer thread at the queue.
DRAIN_INTERVAL: Final = 1.0


def _track(proxy: object, end: _CallEnd) -> None:
    """End ``end``'s call once ``proxy`` is garbage: queued by the finalizer, ended by a drain.

    A call that ends otherwise (the stream ran out, broke or was closed) detaches
    the finalizer (`_CallEnd.untrack`), so a drain only ever sees abandoned calls.
    """
    global _drainer, _tracked
    end.finalizer = weakref.finalize(proxy, _queue_abandoned, end)
    _finalizers.add(end.finalizer)
    _tracked += 1
    if _drainer is None or not _drainer.is_alive():
        _drainer = threading.Thread(target=_drain_while_tracking, name="otel-aierrors-drain", daemon=True)
        _drainer.start()


def _queue_abandoned(end: _CallEnd) -> None:
    """The finalizer: note when the proxy was dropped and queue its end (two clock reads, no lock)."""
    end.dropped_at = (time.perf_counter(), time.time_ns())
    _abandoned.append(end)


def drain_abandoned() -> None:
    """End the calls of proxies the garbage collector took; cheap when there are none."""
    if not _abandoned:  # the hot path: one check per call
        return
    while _abandoned:
        try:
            end = _abandoned.popleft()
        except IndexError:
            break
        _safely(end, end.abandoned, "ending an abandoned call")  # untracks the end: its finalizer leaves `_finalizers`


def _drain_while_tracking() -> None:
    # Bounded: stops after a look with nothing alive, nothing queued and nothing tracked since
    # the look before (so steady streaming traffic keeps one thread); `_track` restarts it.
    tracked_before = -1
    while True:
        time.sleep(DRAIN_INTERVAL)
        drain_abandoned()
        if not _abandoned and not _finalizers and _tracked == tracked_before:
            return
        tracked_before = _tracked


@atexit.register
def _end_all_at_exit() -> None:
    for finalizer in list(_finalizers):
        finalizer()
    drain_abandoned()


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
        _track(self, end)

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
        _track(self, end)

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
        _track(self, end)

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


def wrap_result(result: Any, call: CallRecord, adapter: SdkAdapter, is_async: bool) -> Any:
    """End ``call`` for what ``request()`` returned, or return ``result`` proxied to end it later."""
    kind = result_kind(result)
    if kind is ResultKind.STREAM:
        return (TracedAsyncStream if is_async else TracedStream)(result, _CallEnd(call), adapter.read_chunk)
    if kind is ResultKind.RAW_RESPONSE:
        returned_at = None if call.target.stream else time.perf_counter()
        raw_type = TracedAsyncRawResponse if inspect.iscoroutinefunction(result.parse) else TracedRawResponse
        return raw_type(result, _CallEnd(call, returned_at), adapter, is_async)
    summary = None
    try:
        summary = adapter.summarize(result)
    except Exception:
        call.fault("summarizing a call's result")
    call.end(summary)
    return result
