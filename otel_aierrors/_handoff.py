"""What finalizers hand off: noted where the garbage collector runs, done by a drain.

The garbage collector runs anywhere, even inside the OpenTelemetry SDK while it
holds a lock. A finalizer of ours therefore only notes the time and appends to a
queue (``deque.append``: no lock, no Python code of the SDK); the queue is drained
at the start of the next instrumented call and by a small daemon thread, which
stops by itself once nothing is tracked. At exit, every object still tracked is
finalized and the queue drained, so no call is left open.

One `Handoff` per instrumentation (its `Telemetry` holds it): what it tracked is
ended by it even after ``uninstrument()``, and a new instrumentation starts empty.
"""

from __future__ import annotations

import atexit
import threading
import time
import weakref
from collections import deque
from typing import Any, Final, Protocol

from otel_aierrors._safety import report_internal_error

__all__ = ["DRAIN_INTERVAL", "Dropped", "Handoff"]

#: Seconds between two looks of the drainer thread at the queue.
DRAIN_INTERVAL: Final = 1.0


class Dropped(Protocol):
    """What a finalizer hands off: told when its object was dropped, later, by a drain."""

    def dropped(self, at: tuple[float, int]) -> None:
        """``at``: when the garbage collector took the object (perf counter, wall clock ns)."""


class Handoff:
    """The finalizers of tracked objects, the queue they fill, and the thread that drains it."""

    def __init__(self, interval: float = DRAIN_INTERVAL) -> None:
        self._interval = interval
        #: What finalizers queued, with when they ran; read by `drain` (and its truthiness per call).
        self.queued: deque[tuple[Dropped, tuple[float, int]]] = deque()
        #: The finalizers of live tracked objects (so that at exit the still-live ones run too).
        self._finalizers: set[weakref.finalize[Any, Any]] = set()
        self._drainer: threading.Thread | None = None
        #: Objects tracked so far: while it moves, the drainer stays.
        self._tracked = 0
        self._lock = threading.Lock()  # starting the drainer and the exit hook, not the hot path
        self._at_exit = False

    def track(self, obj: object, owner: Dropped) -> weakref.finalize[Any, Any]:
        """Tell ``owner`` (by a drain) when ``obj`` is garbage; `forget` the returned finalizer
        once ``owner`` no longer needs to know."""
        finalizer = weakref.finalize(obj, self._queue, owner)
        self._finalizers.add(finalizer)
        self._tracked += 1
        if self._drainer is None or not self._drainer.is_alive():
            with self._lock:
                if self._drainer is None or not self._drainer.is_alive():
                    self._drainer = threading.Thread(target=self._drain_while_tracking, name="otel-aierrors-drain")
                    self._drainer.daemon = True
                    self._drainer.start()
                if not self._at_exit:  # registered once, weakly: the hand-off may go before the process
                    atexit.register(_finalize_all, weakref.ref(self))
                    self._at_exit = True
        return finalizer

    def forget(self, finalizer: weakref.finalize[Any, Any]) -> None:
        """The tracked object is done with: its finalizer has nothing left to do."""
        finalizer.detach()
        self._finalizers.discard(finalizer)

    def _queue(self, owner: Dropped) -> None:
        # The finalizer: two clock reads and an append, nothing that takes a lock.
        self.queued.append((owner, (time.perf_counter(), time.time_ns())))

    def drain(self) -> None:
        """Tell the owners of dropped objects; cheap when there are none."""
        queued = self.queued
        while queued:
            try:
                owner, at = queued.popleft()
            except IndexError:  # another thread drained it meanwhile
                break
            try:
                owner.dropped(at)
            except Exception:
                report_internal_error("ending an abandoned call")

    def finalize_all(self) -> None:
        """Run the finalizer of every object still tracked, then drain (at exit)."""
        for finalizer in list(self._finalizers):
            finalizer()
        self.drain()

    def _drain_while_tracking(self) -> None:
        # Bounded: stops after a look with nothing alive, nothing queued and nothing tracked since
        # the look before (so steady streaming traffic keeps one thread); `track` restarts it.
        tracked_before = -1
        while True:
            time.sleep(self._interval)
            self.drain()
            if not self.queued and not self._finalizers and self._tracked == tracked_before:
                return
            tracked_before = self._tracked


def _finalize_all(reference: weakref.ref[Handoff]) -> None:
    handoff = reference()
    if handoff is not None:
        handoff.finalize_all()
